"""Long-format CSV/JSON exports round-trip, and the ``srgan-desktop mos`` command line."""

from __future__ import annotations

import json
import subprocess

import pytest

from mos_util import IMAGE_NAMES, PYTHON, REPO, build_study, subprocess_env, write_hr_images
from srgan_desktop.__main__ import main
from srgan_desktop.mos.ratings_file import ExportError, read_csv, read_json, write_csv, write_json
from srgan_desktop.mos.records import ROW_FIELDS
from srgan_desktop.mos.stats import analyse
from srgan_desktop.mos.store import Study, open_study

SCORES = {"nearest": 1, "bicubic": 2, "reference": 5, "tiny_x4": 2}


def rate_all(study: Study, raters=("r1", "r2", "r3", "Zoë, the \"careful\" one")) -> None:
    for k, rater in enumerate(raters):
        session = study.start_session(rater)
        for trial in study.trials(session.id):
            score = min(5, max(1, SCORES[trial.condition] + (trial.position + k) % 3 - 1))
            study.record_rating(session.id, trial.position, score, 500 + 7 * trial.position)


def test_csv_and_json_round_trip(tmp_path):
    with build_study(tmp_path, replicates=2, name='pilot, "quoted"') as study:
        rate_all(study)
        rows = study.rows()
        design = study.design.to_dict()
    assert len(rows) == 4 * len(IMAGE_NAMES) * 3 * 2
    assert {r.seed for r in rows if r.rater == "r1"} == {rows[0].seed}

    csv_path = write_csv(tmp_path / "out" / "ratings.csv", rows)
    assert csv_path.read_text(encoding="utf-8").splitlines()[0].split(",") == ROW_FIELDS
    assert read_csv(csv_path) == rows

    json_path = write_json(tmp_path / "ratings.json", rows, design)
    study_back, rows_back = read_json(json_path)
    assert rows_back == rows and study_back == design
    # re-analysis of an import equals the analysis of the database
    assert analyse(rows_back).summary == analyse(rows).summary


def test_bad_imports_are_refused(tmp_path):
    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("study,rater\nx,y\n")
    with pytest.raises(ExportError, match="missing column"):
        read_csv(bad_csv)
    not_ours = tmp_path / "other.json"
    not_ours.write_text(json.dumps({"format": "something else"}))
    with pytest.raises(ExportError, match="not an srgan-desktop MOS"):
        read_json(not_ours)
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ExportError):
        read_json(broken)
    for document in ({"format": "srgan-desktop-mos-ratings"},  # no ratings: was a KeyError
                     {"format": "srgan-desktop-mos-ratings", "version": "x", "ratings": []},
                     {"format": "srgan-desktop-mos-ratings", "ratings": [1, 2]},
                     {"format": "srgan-desktop-mos-ratings", "ratings": {}}):
        broken.write_text(json.dumps(document))
        with pytest.raises(ExportError):
            read_json(broken)


def test_cli_in_process(tmp_path, capsys):
    root = tmp_path / "studies"
    hr = write_hr_images(tmp_path / "hr")
    assert main(["mos", "create", "CLI study", "--images", str(hr), "--conditions", "nn,bicubic,hr",
                 "--replicates", "2", "--calibration", "1", "--min-view", "0.5", "--seed", "3",
                 "--root", str(root)]) == 0
    assert "3 images × 3 conditions" in capsys.readouterr().out
    with open_study("CLI study", root=root) as study:
        assert study.design.min_view_ms == 500 and study.design.seed == 3
        rate_all(study)
    assert main(["mos", "list", "--root", str(root)]) == 0
    assert "CLI study: 4 rater(s) (4 complete), 72 rating(s)" in capsys.readouterr().out
    assert main(["mos", "summary", "CLI study", "--root", str(root), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [s["condition"] for s in summary["summary"]] == ["nearest", "bicubic", "reference"]
    assert summary["retest"]["pairs"] == 4 * 9
    assert main(["mos", "export", str(root / "CLI-study"), "--csv", str(tmp_path / "a.csv")]) == 0
    assert len(read_csv(tmp_path / "a.csv")) == 72
    assert main(["mos", "export", "CLI study", "--root", str(root)]) == 2
    database = root / "CLI-study" / "study.sqlite"
    before = database.read_bytes()
    assert main(["mos", "export", "CLI study", "--root", str(root), "--csv", str(database)]) == 2
    assert "inside the study folder" in capsys.readouterr().err
    assert database.read_bytes() == before
    assert main(["mos", "check", "no such study", "--root", str(root)]) == 2
    assert "no study 'no such study'" in capsys.readouterr().err
    assert main(["mos", "create", "x", "--images", str(hr), "--conditions", "lanczos",
                 "--root", str(root)]) == 2
    assert "unknown condition 'lanczos'" in capsys.readouterr().err


@pytest.mark.slow
def test_cli_subprocesses_create_summary_and_detect_tampering(tmp_path, tiny_model_file):
    root = tmp_path / "studies"
    hr = write_hr_images(tmp_path / "hr")
    env = subprocess_env()

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([PYTHON, "-m", "srgan_desktop", "mos", *args, "--root", str(root)],
                              capture_output=True, text=True, env=env, cwd=REPO, timeout=120)

    made = cli("create", "sub", "--images", str(hr), "--conditions", "nearest,reference",
               "--model", str(tiny_model_file), "--seed", "9")
    assert made.returncode == 0, made.stderr
    assert "(nearest, reference, tiny_x4)" in made.stdout
    with open_study("sub", root=root) as study:
        rate_all(study, raters=("a", "b"))
    summary = cli("summary", "sub")
    assert summary.returncode == 0, summary.stderr
    assert "Study 'sub': 2 rater(s), 18 rating(s)" in summary.stdout
    assert "BT.500 observer screening" in summary.stdout

    stimulus = next((root / "sub" / "stimuli").iterdir())
    stimulus.write_bytes(stimulus.read_bytes() + b"\0")
    check = cli("check", "sub")
    assert check.returncode == 2 and "SHA-256 differs" in check.stderr


def test_cli_create_reports_unwritable_places_and_a_full_disk_in_one_line(tmp_path, capsys,
                                                                           monkeypatch):
    hr = write_hr_images(tmp_path / "hr")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["mos", "create", "x", "--images", str(hr), "--conditions", "nn,hr",
                 "--out", str(blocker / "study")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("srgan-desktop: error: cannot create a study in") and "Traceback" not in err

    import srgan_desktop.mos.stimuli as stimuli_module
    from srgan_desktop.core.images import ImageSaveError

    def full_disk(path, *args, **kwargs):
        raise ImageSaveError(f"could not write {path}: No space left on device")

    monkeypatch.setattr(stimuli_module, "save_image", full_disk)
    out = tmp_path / "studies" / "full"
    assert main(["mos", "create", "x", "--images", str(hr), "--conditions", "nn,hr",
                 "--out", str(out)]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert not out.exists() and list((tmp_path / "studies").iterdir()) == []  # no scratch left
