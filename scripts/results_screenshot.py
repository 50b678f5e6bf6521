#!/usr/bin/env python3
"""Render the Results window over a results database and write its screenshots.

    .venv/bin/srgan-desktop eval --hr ../shared/datasets/Set5 ../shared/datasets/Set14 \\
        -m bicubic srresnet srgan fast_x4 hr --db lab.db
    .venv/bin/python scripts/results_screenshot.py lab.db [--out docs/screenshots]

Writes ``results_window.png`` (the perception–distortion tab) and ``results_table.png`` (the
means, filtered to PSNR), offscreen, with the palette PNGs of ``scripts/screenshots.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "scripts"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    parser.add_argument("db")
    parser.add_argument("--out", default=str(REPO / "docs" / "screenshots"))
    args = parser.parse_args(argv)
    from PySide6.QtWidgets import QApplication

    from screenshots import _save
    from srgan_desktop.ui.results_window import ResultsWindow

    app = QApplication.instance() or QApplication([])
    window = ResultsWindow(args.db)
    window.resize(1000, 620)
    window.show()
    out = Path(args.out)
    window.tabs.setCurrentIndex(2)
    app.processEvents()
    print(out / "results_window.png", _save(window, out / "results_window.png"), "bytes")
    window.measure_box.setCurrentText("psnr")
    window.tabs.setCurrentIndex(0)
    app.processEvents()
    print(out / "results_table.png", _save(window, out / "results_table.png"), "bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
