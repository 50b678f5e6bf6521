"""Reading ratings exports back (``srgan-desktop mos analyse FILE``): only regular files of a
bounded size, strict numbers, no truncated rows, no trial counted twice, and an analysis whose
memory is linear in repeated rows (issue 22 item 6)."""

from __future__ import annotations

import json
import os
import resource
import subprocess
from dataclasses import asdict, replace

import pytest

from mos_util import PYTHON, row, subprocess_env
from srgan_desktop.__main__ import main
from srgan_desktop.mos.ratings_file import write_csv, write_json
from srgan_desktop.mos.records import ROW_FIELDS


def export_rows(repeat_one_cell: int = 0):
    """3 raters × 2 images × 2 conditions × 2 replicates, each trial with its own index; rater
    r1 then repeats (i1, A) ``repeat_one_cell`` more times."""
    rows = []
    for rater in ("r1", "r2", "r3"):
        k = 0
        for rep in range(2):
            for image in ("i1", "i2"):
                for cond, base in (("A", 2), ("B", 4)):
                    score = base + (k + rep + len(rater)) % 2
                    rows.append(replace(row(rater, image, cond, score, rep, trial_index=k)))
                    k += 1
        if rater == "r1":
            rows += [row("r1", "i1", "A", 1 + n % 5, 2 + n, trial_index=k + n) for n in range(repeat_one_cell)]
    return rows


def analyse_cli(path, capsys, *extra):
    code = main(["mos", "analyse", str(path), *extra])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_an_export_analyses_like_the_study(tmp_path, capsys):
    rows = export_rows()
    write_csv(tmp_path / "r.csv", rows)
    write_json(tmp_path / "r.json", rows, {"name": "pilot", "conditions": [{"key": "B"}, {"key": "A"}]})
    code, out, _ = analyse_cli(tmp_path / "r.csv", capsys, "--json")
    assert code == 0
    document = json.loads(out)
    assert document["ratings"] == 24 and document["retest"]["pairs"] == 12
    code, out, _ = analyse_cli(tmp_path / "r.json", capsys)
    assert code == 0 and "Study 'pilot': 3 rater(s), 24 rating(s)" in out
    assert out.index("\nB ") < out.index("\nA ")      # the design's condition order


def _one_error_line(err: str, *needles: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("srgan-desktop: error: "), err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def _csv_with(tmp_path, column: str, value: str, at: int = 3):
    rows = export_rows()
    path = write_csv(tmp_path / "bad.csv", rows)
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[at].split(",")
    cells[ROW_FIELDS.index(column)] = value
    lines[at] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("column, value, reason", [
    ("score", "+3", "'+3' is not a whole number"),
    ("score", "\u0663", "is not a whole number"),            # Arabic-Indic three
    ("score", "\uff13", "is not a whole number"),            # full-width three
    ("score", "4.0", "is not a whole number"),
    ("score", " 4", "is not a whole number"),
    ("seed", "9" * 5000, "5,000 characters"),
    ("response_ms", "-250", "response_ms -250 is negative"),
    ("replicate", "-1", "replicate -1 is negative"),
])
def test_csv_cells_that_are_not_plain_numbers_are_refused(tmp_path, capsys, column, value, reason):
    path = _csv_with(tmp_path, column, value)
    code, out, err = analyse_cli(path, capsys)
    assert code == 2 and out == ""
    _one_error_line(err, "bad.csv line 4", reason)


def test_truncated_and_spliced_csv_rows_are_refused(tmp_path, capsys):
    path = write_csv(tmp_path / "cut.csv", export_rows())
    text = path.read_text(encoding="utf-8")
    lines = text.splitlines()
    # cut inside the last row: the optional trailing columns (sitting, station…) are gone
    path.write_text("\n".join(lines[:-1] + [lines[-1].rsplit(",", 3)[0]]) + "\n", encoding="utf-8")
    code, _, err = analyse_cli(path, capsys)
    assert code == 2
    _one_error_line(err, f"cut.csv line {len(lines)}", "fewer cells than the header")
    path.write_text("\n".join(lines[:3] + [lines[3] + ",extra"] + lines[4:]) + "\n", encoding="utf-8")
    code, _, err = analyse_cli(path, capsys)
    _one_error_line(err, "cut.csv line 4", "more cells than the header")


def test_two_exports_concatenated_are_refused_not_counted_twice(tmp_path, capsys):
    rows = export_rows()
    path = write_csv(tmp_path / "twice.csv", rows)
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines + lines[1:]) + "\n", encoding="utf-8")   # second copy, no header
    code, _, err = analyse_cli(path, capsys)
    assert code == 2
    _one_error_line(err, f"twice.csv line {len(lines) + 1}", "appears a second time", "line 2",
                    "concatenated")
    write_json(tmp_path / "twice.json", rows + rows)
    code, _, err = analyse_cli(tmp_path / "twice.json", capsys)
    _one_error_line(err, "twice.json rating 25", "appears a second time", "rating 1")


def _json_export(tmp_path, mutate) -> object:
    path = write_json(tmp_path / "bad.json", export_rows())
    document = json.loads(path.read_text(encoding="utf-8"))
    text = mutate(document)
    path.write_text(text if isinstance(text, str) else json.dumps(document), encoding="utf-8")
    return path


def _set(field, value):
    def mutate(document):
        document["ratings"][2][field] = value
    return mutate


@pytest.mark.parametrize("mutate, needles", [
    (_set("score", "4"), ("bad.json rating 3", "score '4' is not a whole number")),
    (_set("score", 4.0), ("bad.json rating 3", "score 4.0 is not a whole number")),
    (_set("score", True), ("bad.json rating 3", "score True is not a whole number")),
    (_set("response_ms", -5), ("bad.json rating 3", "response_ms -5 is negative")),
    (_set("rater", 7), ("bad.json rating 3", "rater 7 is not text")),
    (lambda d: json.dumps(d).replace('"score": 2', '"score": Infinity', 1), ("bad.json", "Infinity")),
    (lambda d: json.dumps(d).replace('"score": 2', '"score": NaN', 1), ("bad.json", "NaN")),
    (lambda d: json.dumps(d).replace('"score": 2', '"score": 1e400', 1), ("bad.json", "1e400 is not a finite")),
    (lambda d: json.dumps(d).replace('"score": 2', '"score": ' + "7" * 5000, 1),
     ("bad.json", "5,000 digits")),
    (lambda d: json.dumps(d)[:-1] + ', "x": ' + "[" * 100_000 + "]" * 100_000 + "}",
     ("bad.json", "nested too deeply")),
    (lambda d: json.dumps(d)[: len(json.dumps(d)) // 2], ("could not read", "bad.json")),
    (lambda d: d["ratings"][2].pop("image") and None, ("bad.json rating 3", "missing column(s) image")),
])
def test_json_values_that_are_not_what_an_export_writes_are_refused(tmp_path, capsys, mutate, needles):
    path = _json_export(tmp_path, mutate)
    code, out, err = analyse_cli(path, capsys)
    assert code == 2 and out == ""
    _one_error_line(err, *needles)


def _run_cli(args, timeout=60, memory: int | None = None):
    def limit():
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    env = {**subprocess_env(), "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    return subprocess.run([PYTHON, "-m", "srgan_desktop", "mos", *args], capture_output=True,
                          text=True, env=env, timeout=timeout, preexec_fn=limit)


def test_a_fifo_a_device_and_a_folder_are_refused_at_once(tmp_path):
    """A FIFO with no writer used to block forever and /dev/zero to fill memory: now each is one
    line at once (the subprocess has a timeout, so a hang fails the test)."""
    fifo = tmp_path / "ratings.csv"
    os.mkfifo(fifo)
    targets = [(fifo, "a FIFO"), (tmp_path, "a folder")]
    if os.path.exists("/dev/zero"):
        targets.append(("/dev/zero", "a character device"))
    for target, kind in targets:
        done = _run_cli(["analyse", str(target)], memory=2 << 30)
        assert done.returncode == 2 and done.stdout == ""
        _one_error_line(done.stderr, str(target), f"is not a regular file ({kind})")


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path, capsys, monkeypatch):
    import srgan_desktop.mos.ratings_file as ratings_file

    path = write_csv(tmp_path / "big.csv", export_rows())
    monkeypatch.setattr(ratings_file, "MAX_IMPORT_BYTES", path.stat().st_size - 1)
    code, _, err = analyse_cli(path, capsys)
    assert code == 2
    _one_error_line(err, "big.csv", "more than a ratings export")


@pytest.mark.slow
def test_thousands_of_repeats_of_one_cell_analyse_in_linear_memory(tmp_path):
    """30,000 repeats of one (rater, image, condition) gave 450 million test–retest pairs (4.9 GB);
    the analysis now runs under a 1.5 GB address-space limit."""
    path = write_csv(tmp_path / "repeats.csv", export_rows(repeat_one_cell=30_000))
    done = _run_cli(["analyse", str(path), "--json"], timeout=600, memory=1536 << 20)
    assert done.returncode == 0, done.stderr[-2000:]
    document = json.loads(done.stdout)
    assert document["ratings"] == 24 + 30_000
    # r1's (i1, A) cell has 30,002 repeats: 30,002 · 30,001 / 2 pairs, the other 11 cells one each
    assert document["retest"]["pairs"] == 30_002 * 30_001 // 2 + 11
