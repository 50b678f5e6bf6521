"""A full disk (issue 22 item 7), simulated portably: the command runs in a subprocess whose
file-size limit (``RLIMIT_FSIZE``) is below what it must write, with ``SIGXFSZ`` ignored, so the
write fails with an OSError (EFBIG) exactly as a full disk fails it with ENOSPC.  Each command
must refuse in one line, leave no ``.part`` file or folder and no empty file, change no file
that was there, and never call an intact study "damaged"."""

from __future__ import annotations

import hashlib
import json
import os
import resource
import signal
import subprocess

import pytest

from mos_util import PYTHON, rated_study_folder, subprocess_env, write_hr_images

pytestmark = pytest.mark.slow


def run_full(args, limit: int, timeout: int = 300) -> subprocess.CompletedProcess:
    """``srgan-desktop ARGS`` unable to write any file past ``limit`` bytes."""
    def full_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    env = {**subprocess_env(), "PYTHONDONTWRITEBYTECODE": "1", "OMP_NUM_THREADS": "1"}
    return subprocess.run([PYTHON, "-m", "srgan_desktop", *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout, preexec_fn=full_disk)


def snapshot(folder) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) → SHA-256 of its bytes; SQLite's own
    ``-shm``/``-wal`` side files are left out (an empty WAL and its index, which SQLite
    creates on open and may be unable to remove when the disk is full)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()
            and not p.name.endswith(("-shm", "-wal"))}


def one_line(done: subprocess.CompletedProcess, *needles: str) -> str:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and lines[0].startswith("srgan-desktop: error: "), \
        done.stderr[-3000:]
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    return rated_study_folder(tmp_path_factory.mktemp("fulldisk"))


def test_models_add_on_a_full_disk_adds_nothing_and_changes_nothing(tmp_path, tiny_model_file, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("SRGAN_DESKTOP_DATA", str(data))    # the subprocesses inherit it
    first = subprocess.run([PYTHON, "-m", "srgan_desktop", "models", "add", tiny_model_file, "--name", "kept"],
                           capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert first.returncode == 0, first.stderr
    before = snapshot(data)
    assert any(name.endswith("kept.safetensors") for name in before)
    done = run_full(["models", "add", tiny_model_file, "--name", "second"], limit=10_000)
    one_line(done, "could not add tiny_x4.safetensors", "File too large", "nothing was added")
    assert snapshot(data) == before                          # no .part file, no card, no 0 bytes


def test_mos_station_on_a_full_disk_leaves_no_part_folder(study, tmp_path):
    before = snapshot(study)
    out = tmp_path / "stations" / "pc1"
    # 40 kB: SQLite's 32 kB shared-memory file fits, the station database (92 kB) does not
    done = run_full(["mos", "station", study, out, "--name", "pc1"], limit=40_000)
    one_line(done, f"cannot make the station copy {out}")
    assert not out.exists() and list(out.parent.iterdir()) == []
    assert snapshot(study) == before


def test_eval_json_on_a_full_disk_leaves_no_empty_file(tmp_path):
    hr = write_hr_images(tmp_path / "hr", size=(64, 64))
    existing = tmp_path / "kept.json"
    existing.write_text('{"old": true}\n', encoding="utf-8")
    for target in (tmp_path / "new.json", existing):
        done = run_full(["eval", "--hr", hr, "-m", "bicubic", "--metrics", "psnr", "--json", target,
                         "--no-progress", "--device", "cpu"], limit=200)
        one_line(done, f"could not write {target}", "File too large")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hr", "kept.json"]
    assert json.loads(existing.read_text(encoding="utf-8")) == {"old": True}


@pytest.mark.parametrize("command", [["check"], ["summary"], ["export", "--csv", "OUT"]])
def test_an_intact_study_on_a_full_disk_is_not_called_damaged(study, tmp_path, command):
    before = snapshot(study)
    args = [str(tmp_path / "out.csv") if a == "OUT" else a for a in command]
    # 1 kB: SQLite cannot even size its shared-memory file
    done = run_full(["mos", args[0], study, *args[1:]], limit=1_000)
    line = one_line(done, "could not read or write", "the disk may be full", "this is not damage")
    assert "damaged" not in line
    assert snapshot(study) == before and not (tmp_path / "out.csv").exists()
    listing = run_full(["mos", "list", "--root", study.parent], limit=1_000)
    assert listing.returncode == 0 and "not damage" in listing.stdout and "damaged" not in listing.stdout
