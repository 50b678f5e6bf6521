#!/usr/bin/env python3
"""Frame time while panning synchronised panes (offscreen; no display needed).

Four :class:`~srgan_desktop.ui.image_pane.ImagePane` in a 2×2 :class:`PaneGrid`, each showing
a 4096×4096 RGB image (the size of a ×4 result of a 1024×1024 input).  Each frame pans the
first pane as a mouse drag would (the sync moves the other three), then repaints all four
canvases synchronously; the figure is the wall time of that, per frame.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/bench_gui.py [--size 4096] [--frames 60]

``--stock`` runs the same pans with pyqtgraph's stock ``ImageItem`` in four linked ViewBoxes,
for comparison.

``--stall`` measures how long the comparison window's event loop stalls: a 5 ms QTimer counts
the longest gap between its ticks while a 4000×3000 PNG is opened in Upscale mode (auto-run
off), then while the window switches to Simulate mode, each until the panes are painted.  It
also says how much of that gap the GUI thread spent computing (``time.thread_time``; the rest
is waiting for a CPU on a busy machine), the gap of an idle window for comparison, and
whether the progress indication was on screen meanwhile.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/bench_gui.py --stall [--stall-size 4000x3000]

``--viewport`` opens a 1200×900 photo at 200 % on its top-left corner, runs SRResNet and prints
the seconds from Run to the first tile painted in its pane and to the whole visible region.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/bench_gui.py --viewport [--timing-size 1200x900] [--zoom 2] [--no-recut]

It then pans to the opposite corner and prints the seconds until that region is painted
(``--no-recut``: the worker only re-orders the waiting tiles instead of cutting them).

``--timing`` runs SRResNet on one 1200×900 image three ways, one after the other: the engine
alone in this process, the window (offscreen; its worker thread), and ``srgan-desktop upscale``
in a subprocess; it prints each time with the machine's load average, so a busy machine shows.

    QT_QPA_PLATFORM=offscreen .venv/bin/python scripts/bench_gui.py --timing [--timing-size 1200x900]
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


def _photo_png(folder: Path, width: int, height: int) -> Path:
    """A photo-like PNG of that size (the astronaut sample enlarged, plus noise)."""
    import cv2

    from srgan_desktop import paths
    from srgan_desktop.core.images import load_image, save_image

    base = load_image(paths.samples_dir() / "astronaut.png").rgb
    big = cv2.resize(base, (width, height), interpolation=cv2.INTER_CUBIC)
    noise = np.random.default_rng(0).integers(-6, 7, big.shape, dtype=np.int16)
    return save_image(folder / f"photo_{width}x{height}.png",
                      np.clip(big.astype(np.int16) + noise, 0, 255).astype(np.uint8))


def _window(folder: Path):  # noqa: ANN202 — a MainWindow, built for both the old and new window
    from PySide6.QtWidgets import QApplication

    from srgan_desktop.ui.main_window import MainWindow
    from srgan_desktop.ui.settings import AppSettings

    QApplication.instance() or QApplication([])
    settings = AppSettings(folder / "settings.ini")
    settings.auto_run = False
    settings.sample_opened = True
    window = MainWindow(settings, open_sample=False)
    window.resize(1280, 820)
    window.show()
    return window


def _state(window):  # noqa: ANN001, ANN202 — the comparison model: window.session.model since issue 20,
    # window.model before it, window.session before issue 13 (the bench compares revisions)
    model = getattr(window, "model", None)
    return model if model is not None else getattr(window.session, "model", window.session)


def _measure_stall(label: str, action, done, idle_ms: int = 0) -> None:  # noqa: ANN001
    """Run ``action()``; until ``done()`` and 300 ms more, record the 5 ms timer's ticks."""
    from PySide6.QtCore import QTimer
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    window = [w for w in QApplication.topLevelWidgets() if w.objectName() == "mainWindow"][0]
    progress = getattr(window, "_progress", None)
    ticks: list[float] = []
    cpu: list[float] = []  # the GUI thread's own CPU time at each tick
    shown = []
    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(lambda: (ticks.append(time.perf_counter()), cpu.append(time.thread_time()),
                                   shown.append(bool(progress is not None and progress.isVisible()))))
    timer.start()
    QTest.qWait(100)
    start = time.perf_counter()
    action()
    while not done():
        QTest.qWait(5)
        if time.perf_counter() - start > 120:
            raise SystemExit(f"{label}: not done after 120 s")
    finished = time.perf_counter()
    QTest.qWait(300 + idle_ms)  # the panes paint the new images
    for pane in window.grid.panes():
        pane.canvas.viewport().repaint()
    ticks.append(time.perf_counter())
    cpu.append(time.thread_time())
    timer.stop()
    first = next(i for i, t in enumerate(ticks) if t >= start - 0.05)
    gaps = np.diff(ticks[first:]) * 1000.0
    worst = int(np.argmax(gaps))
    busy = (cpu[first + worst + 1] - cpu[first + worst]) * 1000.0
    at = (ticks[first + worst] - start) * 1000.0
    print(f"  {label:<34} longest event-loop gap {gaps.max():5.0f} ms at +{at:.0f} ms, of which the GUI "
          f"thread computed {busy:3.0f} ms   (ready after {(finished - start) * 1000:.0f} ms; progress shown: "
          f"{'yes' if any(shown) else 'no'})")


def bench_stall(size: str) -> None:
    import tempfile

    width, height = (int(v) for v in size.lower().split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        os.environ["SRGAN_DESKTOP_DATA"] = str(folder / "data")
        png = _photo_png(folder, width, height)
        window = _window(folder)
        from PySide6.QtTest import QTest

        QTest.qWait(300)
        print(f"event-loop stalls, {width}×{height} PNG ({png.stat().st_size / 1e6:.1f} MB), auto-run off "
              f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores):")
        _measure_stall("nothing (the machine's own noise)", lambda: None, lambda: True, idle_ms=3000)
        model = lambda: _state(window)  # noqa: E731
        preparing = lambda: bool(getattr(window, "is_preparing", lambda: False)())  # noqa: E731
        _measure_stall("open in Upscale mode", lambda: window.open_path(png, "upscale"),
                       lambda: model().has_image and not preparing())
        _measure_stall("switch to Simulate mode", lambda: window.set_mode("simulate"),
                       lambda: model().mode == "simulate" and model().reference is not None and not preparing())
        window.close()


def bench_timing(size: str, model_name: str) -> None:
    """A model on one image: the engine alone, the window's worker, the ``upscale`` command.

    Besides wall time it prints CPU seconds (this process's, or the child's for the command):
    on a machine busy with other work the wall times of runs made one after the other differ
    with the load, while the CPU seconds a run needs do not; equal CPU seconds mean the window
    adds no work of its own.
    """
    import resource
    import subprocess
    import tempfile

    from PySide6.QtTest import QTest

    from srgan_desktop.core.engine import Upscaler
    from srgan_desktop.core.images import load_image
    from srgan_desktop.core.models import default_resolver

    width, height = (int(v) for v in size.lower().split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        png = _photo_png(folder, width, height)
        rgb = load_image(png).rgb
        print(f"{model_name} on {width}×{height}, CPU, torch threads {__import__('torch').get_num_threads()}:",
              flush=True)

        load = os.getloadavg()[0]
        method = default_resolver().method(model_name)
        Upscaler(method, device="cpu").upscale(np.zeros((16, 16, 3), np.uint8))  # warm-up, as the window does
        cpu = time.process_time()
        result = Upscaler(method, device="cpu").upscale(rgb)
        print(f"  engine in this process : {result.seconds:7.1f} s wall, {time.process_time() - cpu:7.1f} CPU-s "
              f"({result.tiles} tiles of {result.tile}; load average {load:.1f})", flush=True)

        load = os.getloadavg()[0]
        window = _window(folder)
        window.set_device("cpu")
        window.open_path(png, "upscale")
        while not (_state(window).has_image and not window.is_preparing()):
            QTest.qWait(20)
        key = _model_key(_state(window), model_name)
        cpu, start = time.process_time(), time.perf_counter()
        window.run_method(key)
        while key not in _state(window).results:
            QTest.qWait(50)
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu
        out = _state(window).results[key]
        print(f"  window (worker thread) : {out.seconds:7.1f} s wall, {cpu:7.1f} CPU-s from Run to result, "
              f"whole process (+ {out.load_seconds:.2f} s loading and warm-up, shown apart; {wall:.1f} s "
              f"wall from Run to result; load average {load:.1f})", flush=True)
        window.close()

        load = os.getloadavg()[0]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "srgan_desktop", "upscale", str(png), "-m", model_name,
                        "-o", str(folder / "out.png"), "--device", "cpu", "--no-progress"], check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        child_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        print(f"  srgan-desktop upscale  : {time.perf_counter() - start:7.1f} s wall, {child_cpu:7.1f} CPU-s, "
              f"whole command (start-up, load, inference, save; load average {load:.1f})", flush=True)


def _model_key(model, name: str) -> str:
    """The method ``name`` at the window's scale (``srresnet`` → ``srresnet_x4`` at ×4, not the
    ×2 model, which the window lists but does not run at ×4)."""
    keys = [m.key for m in model.methods()]
    for key in (name, f"{name}_x{model.scale}"):
        if key in keys:
            return key
    raise SystemExit(f"no method {name!r} at ×{model.scale} (have: {', '.join(keys)})")


def bench_viewport(size: str, model_name: str, zoom: float, recut: bool = True) -> None:
    """Viewport first: a photo at ``zoom`` on its top-left corner, Run, and the times from Run to
    the first tile painted in the model's pane and to the whole visible region painted; then a
    pan to the opposite corner and the time from it to that region painted (``recut``: the
    worker cuts the waiting tiles under the new view; False, the A/B of ``--no-recut``: only
    re-orders them); then to the finished image (the window's ``tile`` events, in the GUI
    thread, after the pane's)."""
    from PySide6.QtTest import QTest

    from srgan_desktop.core.engine import cpu_description
    from srgan_desktop.ui.image_pane import ViewState
    from srgan_desktop.ui.partial_view import visible_lr_box

    import tempfile

    width, height = (int(v) for v in size.lower().split("x"))
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        png = _photo_png(folder, width, height)
        window = _window(folder)
        window.set_device("cpu")
        window.open_path(png, "upscale")
        model = _state(window)
        while not (model.has_image and not window.is_preparing()):
            QTest.qWait(20)
        key = _model_key(model, model_name)
        s = model.scale  # the model is loaded after Run, as in a fresh window: its load time counts
        pane = window.grid.pane(key) if key in window.grid.keys() else window.sync.reference_pane()
        view_w, view_h = pane.width() / zoom, pane.height() / zoom
        window.sync.set_state(ViewState(view_w / 2, view_h / 2, zoom))
        QTest.qWait(50)
        box = visible_lr_box(window.sync, model)
        if box is None:
            raise SystemExit("the viewport covers the whole image: use a larger image or zoom")
        y0, x0, y1, x1 = (v * s for v in box)
        seen = np.zeros((y1 - y0, x1 - x0), bool)
        times: dict[str, float] = {}
        panned: dict[str, object] = {}
        window._worker.worker.recut_on_pan = recut
        start = time.perf_counter()

        def pan() -> None:  # to the bottom-right corner, as a drag would
            window.sync.set_state(ViewState(width * s - view_w / 2, height * s - view_h / 2, zoom))
            QTest.qWait(0)
            new = visible_lr_box(window.sync, model)
            panned["box"] = tuple(v * s for v in new)
            by0, bx0, by1, bx1 = panned["box"]
            panned["seen"] = np.zeros((by1 - by0, bx1 - bx0), bool)
            times["pan"] = time.perf_counter() - start

        def on_tile(tile_key: str, hr: tuple[int, int, int, int]) -> None:
            if tile_key != key:
                return
            now = time.perf_counter() - start
            if "first" not in times:
                print(f"  first visible tile painted : {now:6.2f} s after Run", flush=True)
            times.setdefault("first", now)
            ty0, tx0, ty1, tx1 = hr
            seen[max(0, ty0 - y0):max(0, ty1 - y0), max(0, tx0 - x0):max(0, tx1 - x0)] = True
            if seen.all() and "visible" not in times:
                times["visible"] = now
                print(f"  whole visible region       : {now:6.2f} s after Run", flush=True)
                QTimer.singleShot(0, pan)
            if "box" in panned and "panned" not in times:
                by0, bx0, by1, bx1 = panned["box"]
                panned["seen"][max(0, ty0 - by0):max(0, ty1 - by0), max(0, tx0 - bx0):max(0, tx1 - bx0)] = True
                if panned["seen"].all():
                    times["panned"] = now
                    print(f"  panned region painted      : {now - times['pan']:6.2f} s after the pan", flush=True)

        from PySide6.QtCore import QEventLoop, QTimer

        loop = QEventLoop()  # wait in the event loop, not by polling (qWait's sleeps cost CPU)
        model.events.connect("tile", on_tile)
        model.events.connect("result", lambda k: loop.quit() if k == key else None)
        gui_cpu = time.thread_time()
        profile = None
        if os.environ.get("BENCH_GUI_PROFILE"):
            import cProfile
            import pstats

            profile = cProfile.Profile()
            profile.enable()

            def dump() -> None:  # the GUI thread's first 15 s after Run, by own time
                profile.disable()
                pstats.Stats(profile).sort_stats("tottime").print_stats(15)

            QTimer.singleShot(15000, dump)
        window.run_method(key)
        if key not in model.results:
            loop.exec()
        total = time.perf_counter() - start
        gui_cpu = time.thread_time() - gui_cpu

        state = model.results[key]
        print(f"{model_name}, {width}×{height} LR at {100 * zoom:.0f} % on its top-left corner "
              f"(visible LR box {box}, pane {pane.width()}×{pane.height()}), on {cpu_description()}, "
              f"torch threads {__import__('torch').get_num_threads()}, load average {os.getloadavg()[0]:.1f}:")
        print(f"  first visible tile painted : {times.get('first', float('nan')):6.2f} s after Run")
        print(f"  whole visible region       : {times.get('visible', float('nan')):6.2f} s after Run")
        print(f"  after a pan to the opposite corner, that region painted: "
              f"{times.get('panned', float('nan')) - times.get('pan', float('nan')):6.2f} s after the pan "
              f"({'waiting tiles there cut into focus tiles' if recut else '--no-recut: only re-ordered'})")
        print(f"  whole image                : {total:6.2f} s after Run ({state.tiles} tiles, "
              f"{state.seconds:.1f} s of inference; the GUI thread used {gui_cpu:.1f} CPU-s meanwhile)")
        window.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096, help="image side in pixels (default 4096)")
    parser.add_argument("--panes", type=int, default=4)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--window", default="1600x1000", help="grid size WxH (default 1600x1000)")
    parser.add_argument("--stock", action="store_true", help="also time pyqtgraph's stock ImageItem")
    parser.add_argument("--stall", action="store_true", help="only the window's event-loop stalls")
    parser.add_argument("--stall-size", default="4000x3000", help="image for --stall (default 4000x3000)")
    parser.add_argument("--timing", action="store_true", help="only window vs engine vs upscale command")
    parser.add_argument("--timing-size", default="1200x900", help="image for --timing (default 1200x900)")
    parser.add_argument("--timing-model", default="srresnet", help="model for --timing (default srresnet)")
    parser.add_argument("--viewport", action="store_true",
                        help="only viewport first: --timing-size photo at --zoom on a corner, Run, "
                             "time to the first visible tile and to the whole visible region")
    parser.add_argument("--no-recut", action="store_true",
                        help="--viewport's A/B: after the pan only re-order the waiting tiles, do not cut them")
    parser.add_argument("--zoom", type=float, default=2.0, help="zoom for --viewport (default 2.0 = 200 %%)")
    args = parser.parse_args(argv)
    if args.stall:
        bench_stall(args.stall_size)
        return 0
    if args.viewport:
        bench_viewport(args.timing_size, args.timing_model, args.zoom, recut=not args.no_recut)
        return 0
    if args.timing:
        bench_timing(args.timing_size, args.timing_model)
        return 0
    width, height = (int(v) for v in args.window.lower().split("x"))
    images = _images(args.size, args.panes)
    print(f"platform {os.environ.get('QT_QPA_PLATFORM')}, {os.cpu_count()} CPU cores")
    bench_panes(images, args.frames, width, height)
    if args.stock:
        bench_stock(images, max(10, args.frames // 4), width, height)
    return 0


if __name__ == "__main__":
    sys.exit(main())
