#!/usr/bin/env python3
"""Frame time while panning synchronised panes (offscreen; no display needed).

Four :class:`~srgan_desktop.ui.image_pane.ImagePane` in a 2×2 :class:`PaneGrid`, each showing
a 4096×4096 RGB image (the size of a ×4 result of a 1024×1024 input).  Each frame pans the
first pane as a mouse drag would (the sync moves the other three), then repaints all four
canvases synchronously; the figure is the wall time of that, per frame.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/bench_gui.py [--size 4096] [--frames 60]

``--stock`` runs the same pans with pyqtgraph's stock ``ImageItem`` in four linked ViewBoxes,
for comparison.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402


def _images(size: int, count: int) -> list[np.ndarray]:
    """Photo-like 4096² images (a sample enlarged, plus noise so nothing is flat)."""
    import cv2

    from srgan_desktop import paths
    from srgan_desktop.core.images import load_image

    base = load_image(paths.samples_dir() / "astronaut.png").rgb
    big = cv2.resize(base, (size, size), interpolation=cv2.INTER_CUBIC)
    rng = np.random.default_rng(0)
    return [np.clip(big.astype(np.int16) + rng.integers(-8, 9, big.shape, dtype=np.int16), 0, 255)
            .astype(np.uint8) for _ in range(count)]


def _stats(times: list[float]) -> str:
    ms = sorted(t * 1000.0 for t in times)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    return (f"mean {statistics.fmean(ms):6.1f} ms  median {statistics.median(ms):6.1f} ms  "
            f"p95 {p95:6.1f} ms  max {ms[-1]:6.1f} ms  ({1000.0 / statistics.fmean(ms):5.0f} fps)")


def bench_panes(images: list[np.ndarray], frames: int, width: int, height: int) -> None:
    from PySide6.QtWidgets import QApplication

    from srgan_desktop.ui.image_pane import ViewState
    from srgan_desktop.ui.pane_grid import PaneGrid, ViewSync

    app = QApplication.instance() or QApplication([])
    sync = ViewSync()
    grid = PaneGrid(sync)
    grid.resize(width, height)
    grid.set_keys([f"m{i}" for i in range(len(images))])
    start = time.perf_counter()
    for pane, rgb in zip(grid.panes(), images, strict=True):
        pane.set_image(rgb, f"{rgb.shape[1]}×{rgb.shape[0]}")
    print(f"set_image of {len(images)} × {images[0].shape[1]}×{images[0].shape[0]}: "
          f"{(time.perf_counter() - start) * 1000:.0f} ms (RGB32 conversion, once per result)")
    grid.show()
    app.processEvents()
    panes = grid.panes()
    lead = panes[0]
    vw = lead.view_box.width()
    print(f"{len(panes)} panes of {vw:.0f}×{lead.view_box.height():.0f} px, {frames} frames per zoom")
    size = images[0].shape[0]
    for label, zoom, smooth in (("fit", None, False), ("25 %", 0.25, False), ("100 %", 1.0, False),
                                ("100 % smooth", 1.0, True), ("400 %", 4.0, False),
                                ("1600 %", 16.0, False), ("1600 % smooth", 16.0, True)):
        for pane in panes:
            pane.set_smooth(smooth)
        if zoom is None:
            sync.fit()
        else:
            sync.set_state(ViewState(size / 2, size / 2, zoom))
        for pane in panes:  # warm-up frame (builds the zoomed-out pyramid levels)
            pane.canvas.viewport().repaint()
        times = []
        step = 40.0 / lead.zoom()  # 40 screen pixels per frame, as a brisk drag
        for i in range(frames):
            direction = 1.0 if (i // 15) % 2 == 0 else -1.0
            t0 = time.perf_counter()
            lead.pan_by(direction * step, 0.5 * direction * step, user=True)
            for pane in panes:
                pane.canvas.viewport().repaint()
            times.append(time.perf_counter() - t0)
        assert all(p.view_range() == lead.view_range() for p in panes[1:]), "panes out of sync"
        print(f"  pan at {label:>14}: {_stats(times)}")
    grid.close()


def bench_stock(images: list[np.ndarray], frames: int, width: int, height: int) -> None:
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication, QGridLayout, QWidget

    app = QApplication.instance() or QApplication([])
    host = QWidget()
    host.resize(width, height)
    layout = QGridLayout(host)
    views, boxes = [], []
    for i, rgb in enumerate(images):
        view = pg.GraphicsView()
        box = pg.ViewBox(lockAspect=True, invertY=True)
        view.setCentralItem(box)
        box.addItem(pg.ImageItem(rgb, axisOrder="row-major"))
        if boxes:
            box.setXLink(boxes[0])
            box.setYLink(boxes[0])
        layout.addWidget(view, i // 2, i % 2)
        views.append(view)
        boxes.append(box)
    host.show()
    app.processEvents()
    size = images[0].shape[0]
    for label, span in (("fit", size), ("100 %", boxes[0].width()), ("1600 %", boxes[0].width() / 16)):
        boxes[0].setRange(pg.QtCore.QRectF(size / 2 - span / 2, size / 2 - span / 2, span, span), padding=0)
        for view in views:
            view.viewport().repaint()
        times = []
        for i in range(frames):
            direction = 1.0 if (i // 15) % 2 == 0 else -1.0
            step = boxes[0].viewRect().width() / boxes[0].width() * 40.0
            t0 = time.perf_counter()
            boxes[0].translateBy(x=direction * step, y=0.5 * direction * step)
            for view in views:
                view.viewport().repaint()
            times.append(time.perf_counter() - t0)
        print(f"  stock ImageItem pan at {label:>6}: {_stats(times)}")
    host.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="image side in pixels (default 4096)")
    parser.add_argument("--panes", type=int, default=4)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--window", default="1600x1000", help="grid size WxH (default 1600x1000)")
    parser.add_argument("--stock", action="store_true", help="also time pyqtgraph's stock ImageItem")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.window.lower().split("x"))
    images = _images(args.size, args.panes)
    print(f"platform {os.environ.get('QT_QPA_PLATFORM')}, {os.cpu_count()} CPU cores")
    bench_panes(images, args.frames, width, height)
    if args.stock:
        bench_stock(images, max(10, args.frames // 4), width, height)
    return 0


if __name__ == "__main__":
    sys.exit(main())
