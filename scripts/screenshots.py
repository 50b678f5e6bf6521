#!/usr/bin/env python3
"""Render the comparison window with real results and write ``docs/screenshots/*.png``.

Runs offscreen (no display needed) or under ``xvfb-run`` (set ``QT_QPA_PLATFORM=xcb``):

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots] [--image resources/samples/astronaut.png]

The image is opened in *Simulate from HR* mode, every available method runs with the
bundled weights, and three views are captured: the grid, swipe and the difference map.
Models without weights are reported (and shown as unavailable in the window).  PNGs are
reduced to a 256-colour palette so each stays well under 300 KB.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

MAX_BYTES = 300 * 1024


def _save(widget, path: Path) -> int:  # noqa: ANN001
    """Grab ``widget`` and write it as a palette PNG; returns the file size."""
    import numpy as np
    from PIL import Image

    image = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB888)
    width, height = image.width(), image.height()
    data = np.frombuffer(image.constBits(), np.uint8).reshape(height, image.bytesPerLine())
    rgb = data[:, :width * 3].reshape(height, width, 3)
    picture = Image.fromarray(rgb, "RGB")
    for colours in (256, 128, 64):
        quantised = picture.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        quantised.save(path, optimize=True)
        if path.stat().st_size <= MAX_BYTES:
            break
    return path.stat().st_size


def _wait(app, window, seconds: float) -> None:  # noqa: ANN001
    """Until the image is prepared, every method ran and the difference map is up to date."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and (window.is_busy() or window.is_preparing()
                                           or window._jobs.busy):
        app.processEvents()
        time.sleep(0.02)
    for _ in range(5):
        app.processEvents()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    parser.add_argument("--image", type=Path, default=REPO / "resources" / "samples" / "astronaut.png")
    parser.add_argument("--size", default="1280x800", help="window size WxH")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds to wait for the models")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    from srgan_desktop.ui.image_pane import ViewState
    from srgan_desktop.ui.main_window import MainWindow
    from srgan_desktop.compare import REFERENCE_KEY
    from srgan_desktop.ui.settings import AppSettings

    app = QApplication.instance() or QApplication([sys.argv[0]])
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        settings = AppSettings(Path(tmp) / "settings.ini")
        settings.auto_run = True
        settings.sample_opened = True
        window = MainWindow(settings)
        width, height = (int(v) for v in args.size.lower().split("x"))
        window.resize(width, height)
        window.show()
        for info in window.session.model.methods():
            state = "weights found" if info.available else f"NOT AVAILABLE ({info.reason})"
            print(f"{info.title}: {state}")
        start = time.monotonic()
        window.open_path(args.image, "simulate")
        _wait(app, window, args.timeout)
        if not window.session.model.has_image:
            print(f"could not open {args.image}", file=sys.stderr)
            return 1
        print(f"ran {', '.join(window.session.model.results)} in {time.monotonic() - start:.1f} s")
        for key in window.session.model.results:
            scores = window.session.model.scores(key)
            print(f"  {window._title_of(key)}: {(scores.text() if scores else '') or 'no scores'}")

        # the grid, zoomed into texture (the astronaut's face and badge area at 200 %)
        h, w = window.session.model.reference.shape[:2]
        window.set_view_mode("grid")
        window.sync.set_state(ViewState(w * 0.47, h * 0.36, 2.0))
        app.processEvents()
        written = {"main_grid.png": _save(window, args.out / "main_grid.png")}

        methods = [k for k in window.session.model.results]
        best = methods[-1] if methods else "bicubic"
        window.set_view_mode("swipe")
        window.swipe.set_pair("bicubic", best if best != "bicubic" else REFERENCE_KEY)
        window.swipe.set_divider_fraction(0.5)
        window.sync.set_state(ViewState(w * 0.47, h * 0.36, 3.0))
        app.processEvents()
        written["swipe.png"] = _save(window, args.out / "swipe.png")

        window.set_view_mode("difference")
        window.difference.set_pair(best, REFERENCE_KEY)
        window.difference.set_amplification(4)
        window.sync.set_state(ViewState(w * 0.5, h * 0.5, 1.3))
        _wait(app, window, 60)
        written["difference.png"] = _save(window, args.out / "difference.png")
        window.close()
    for name, size in written.items():
        print(f"wrote {args.out / name} ({size / 1024:.0f} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
