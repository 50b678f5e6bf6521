"""The cores (core, mos, commands, compare, trainer) must never import Qt: checked in a fresh interpreter."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import srgan_desktop
import trainer

QT_FREE = ["srgan_desktop.core", "srgan_desktop.mos", "srgan_desktop.commands", "srgan_desktop.compare", "trainer"]


def _modules() -> list[str]:
    names = ["srgan_desktop.paths", "srgan_desktop.__main__"]
    for package in (srgan_desktop, trainer):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if any(info.name == p or info.name.startswith(p + ".") for p in QT_FREE):
                names.append(info.name)
    return names


def test_cores_import_no_qt():
    modules = _modules()
    assert "srgan_desktop.core.engine" in modules and "trainer.loop" in modules
    assert "srgan_desktop.compare.model" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('PySide6', 'PyQt5', 'PyQt6', 'pyqtgraph', 'shiboken6'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"Qt imported by the cores: {out.stdout.strip()}"
