"""Export targets (issue 22 item 8): a device node or FIFO is never replaced by a regular file,
and two options naming one file are refused before anything is written."""

from __future__ import annotations

import os
import stat

import pytest

from mos_util import rated_study_folder
from srgan_desktop.__main__ import main
from srgan_desktop.utils import NotARegularFile, atomic_write


@pytest.fixture(scope="module")
def study_folder(tmp_path_factory):
    return rated_study_folder(tmp_path_factory.mktemp("targets"))


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("srgan-desktop: error: mos export: "), err
    return err[0]


def test_the_same_file_for_two_exports_is_refused(study_folder, tmp_path, capsys):
    target = tmp_path / "out.json"
    target.write_text("keep me", encoding="utf-8")
    assert main(["mos", "export", str(study_folder), "--csv", str(target), "--json", str(target)]) == 2
    line = _one_line(capsys)
    assert "--csv and --json both name" in line and str(target) in line
    assert target.read_text(encoding="utf-8") == "keep me"
    # the same file under two spellings
    other = tmp_path / "sub" / ".." / "out.json"
    (tmp_path / "sub").mkdir()
    assert main(["mos", "export", str(study_folder), "--sittings", str(target), "--per-image", str(other)]) == 2
    assert "--sittings and --per-image both name" in _one_line(capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json", "sub"]


def _special_files(tmp_path):
    fifo = tmp_path / "fifo.csv"
    os.mkfifo(fifo)
    yield fifo, stat.S_ISFIFO
    device = tmp_path / "null.csv"
    try:
        os.mknod(device, 0o666 | stat.S_IFCHR, os.makedev(1, 3))   # a /dev/null of our own
    except (PermissionError, OSError):
        return
    yield device, stat.S_ISCHR


def test_a_fifo_or_a_device_node_is_never_replaced(study_folder, tmp_path, capsys):
    for special, is_kind in _special_files(tmp_path):
        for option in ("--csv", "--json", "--sittings", "--per-image"):
            assert main(["mos", "export", str(study_folder), option, str(special)]) == 2
            line = _one_line(capsys)
            assert f"{option} {special}: it is a" in line and "never replaced" in line
            assert is_kind(os.lstat(special).st_mode)
        with pytest.raises(NotARegularFile):
            atomic_write(special, "x")
        assert is_kind(os.lstat(special).st_mode)
        assert not (tmp_path / f".{special.name}.part").exists()


def test_eval_style_json_writes_refuse_a_fifo(tmp_path):
    from srgan_desktop.commands._common import CommandError, write_json

    fifo = tmp_path / "figures.json"
    os.mkfifo(fifo)
    with pytest.raises(CommandError, match="figures.json: it is a FIFO, not a regular file"):
        write_json(fifo, {"a": 1})
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
