"""``srgan-desktop``'s dispatch: subcommands, --version, and window options going to the GUI."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO
from srgan_desktop import __version__
from srgan_desktop.__main__ import main


def test_version_needs_no_parsers(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"srgan-desktop {__version__}"


@pytest.mark.slow
def test_window_options_without_an_image_open_the_gui():
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "srgan_desktop", "--device", "cpu", "--no-run",
                           "--quit-after", "300"], capture_output=True, text=True, cwd=REPO, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "invalid choice" not in done.stderr


def test_version_in_a_fresh_interpreter_does_not_import_torch():
    code = "import sys; from srgan_desktop.__main__ import main; main(['--version']); print('torch' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.stdout.split() == ["srgan-desktop", __version__, "False"]
