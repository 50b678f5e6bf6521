"""Visible region first: a real worker runs the tiles under the viewport first, every method in turn."""

from __future__ import annotations

import numpy as np
import pytest

from srgan_desktop.compare import BICUBIC_KEY, ComparisonModel, MethodInfo, MethodKind, ModelSource, RunRequest
from srgan_desktop.compare.tile_order import intersects
from srgan_desktop.core.engine import BicubicMethod, Upscaler
from srgan_desktop.ui.image_pane import Raster
from srgan_desktop.ui.worker import WorkerThread

pytestmark = pytest.mark.gui

VIEW = (0, 0, 20, 20)  # LR box on screen: the top-left corner of a 96×96 image


def _lr() -> np.ndarray:
    yy, xx = np.mgrid[0:96, 0:96].astype(np.float64)
    base = np.stack([128 + 90 * np.sin(xx / 6.0 + c) * np.cos(yy / 9.0 - c) for c in range(3)], axis=2)
    rng = np.random.default_rng(5)
    return np.clip(base + rng.normal(0, 8, base.shape), 0, 255).astype(np.uint8)


def _run_focused(qtbot, owner: WorkerThread, requests: list[RunRequest], idle: list) -> None:  # noqa: ANN001
    """Submit ``requests`` with the viewport on :data:`VIEW` and wait until the batch is over."""
    try:
        owner.worker.set_viewport(VIEW)
        owner.worker.submit(requests)
        qtbot.waitUntil(lambda: bool(idle), timeout=120_000)
    finally:
        owner.stop()


def _tiny_and_bicubic(lr: np.ndarray, model_file) -> list[RunRequest]:  # noqa: ANN001
    return [RunRequest(MethodInfo(key="tiny", title="tiny", scale=4, model=model_file), 4, lr, device="cpu", tile=48),
            RunRequest(MethodInfo(BICUBIC_KEY, "Bicubic", MethodKind.BICUBIC), 4, lr, device="cpu", tile=48)]


def _focused_worker():  # noqa: ANN202
    owner = WorkerThread()
    owner.worker.focus_tile = 16
    return owner, owner.worker


def test_visible_tiles_first_painted_progress_exact_and_same_image(qtbot, tiny_model_file):
    lr = _lr()
    requests = _tiny_and_bicubic(lr, tiny_model_file)
    owner, worker = _focused_worker()
    tiles, progress, started, finished, idle = [], [], [], {}, []
    worker.tile.connect(lambda req, box, px: tiles.append((req.key, tuple(box), px)))
    worker.progress.connect(lambda req, done, total: progress.append((req.key, done, total)))
    worker.started.connect(lambda req, _device: started.append((req.key, len(tiles))))
    worker.finished.connect(lambda req, output, raster: finished.__setitem__(req.key, (output, raster)))
    worker.idle.connect(lambda batch: idle.append(batch))
    _run_focused(qtbot, owner, requests, idle)

    assert sorted(finished) == [BICUBIC_KEY, "tiny"]
    assert [k for k, n in started] == ["tiny", BICUBIC_KEY] and all(n == 0 for _, n in started)
    hr_view = tuple(v * 4 for v in VIEW)
    # the first tiles: those under the viewport, one method then the other
    head = tiles[:8]
    assert [k for k, _, _ in head] == ["tiny", BICUBIC_KEY] * 4
    assert all(intersects(box, hr_view) for _, box, _ in head)
    assert not any(intersects(box, hr_view) for _, box, _ in tiles[8:])
    # then the rest, method by method
    assert [k for k, _, _ in tiles[8:]] == sorted((k for k, _, _ in tiles[8:]), key=["tiny", BICUBIC_KEY].index)
    for key, method in (("tiny", ModelSource(None).method(tiny_model_file)), (BICUBIC_KEY, BicubicMethod(4))):
        output, raster = finished[key]
        mine = [(box, px) for k, box, px in tiles if k == key]
        total = len(mine)
        assert total == output.tiles and total > 4  # the focused tile was split
        assert [(d, t) for k, d, t in progress if k == key] == [(n, total) for n in range(1, total + 1)]
        canvas = np.full_like(output.rgb, 128)
        for (y0, x0, y1, x1), px in mine:
            assert px.dtype == np.uint8
            canvas[y0:y1, x0:x1] = px
        assert np.array_equal(canvas, output.rgb)  # what was painted is the result
        assert raster.rgb is output.rgb
        whole = Upscaler(method, device="cpu", tile=48).upscale(lr).rgb
        assert np.array_equal(output.rgb, whole)


def test_cancel_stops_within_one_tile_and_cancels_every_unfinished_request(qtbot, tiny_model_file):
    lr = _lr()
    requests = [RunRequest(MethodInfo(key=k, title=k, scale=4, model=tiny_model_file), 4, lr, device="cpu", tile=48)
                for k in ("one", "two")]
    owner = WorkerThread()
    worker = owner.worker
    worker.focus_tile = 16
    tiles, cancelled, finished, idle = [], [], [], []

    def on_tile(req, box, px):  # noqa: ANN001
        tiles.append(req.key)
        if len(tiles) == 3:
            worker.cancel()

    worker.tile.connect(on_tile)
    worker.cancelled.connect(lambda req: cancelled.append(req.key))
    worker.finished.connect(lambda req, *_: finished.append(req.key))
    worker.idle.connect(lambda batch: idle.append(batch))
    _run_focused(qtbot, owner, requests, idle)
    assert finished == [] and sorted(cancelled) == ["one", "two"]
    assert len(tiles) <= 4  # the tile running when cancel came, at most


def test_model_paints_worker_tiles_into_a_shared_raster(qtbot):
    model = ComparisonModel()
    from srgan_desktop.core.images import LoadedImage

    model.open(LoadedImage(_lr()[:24, :24].copy(), None, None))
    batch, _ = model.request_runs([BICUBIC_KEY])
    job = Upscaler(BicubicMethod(4)).job(batch[0].lr, tile=8)
    box, px = job.run_tile(0)
    model.on_tile(batch[0], box, np.clip(np.round(px * 255), 0, 255).astype(np.uint8))
    raster = Raster(model.image_for(BICUBIC_KEY))
    raster.level(2)  # a pyramid level exists
    box, px = job.run_tile(4)
    model.on_tile(batch[0], box, np.clip(np.round(px * 255), 0, 255).astype(np.uint8))
    raster.refresh(box)
    assert raster.rgb is model.partial[BICUBIC_KEY]
    image, level = raster.level(0)
    assert level == 0 and len(raster._levels) == 1
    bgra = image._keep
    y0, x0, y1, x1 = box
    assert np.array_equal(bgra[y0:y1, x0:x1, 2::-1], model.partial[BICUBIC_KEY][y0:y1, x0:x1])


def test_a_pan_cuts_the_new_visible_region_into_small_tiles_that_come_first(qtbot, tiny_model_file):
    """Panned to the opposite corner after the first tile (in the worker thread, so the timing
    is exact): the tiles under the new view come next, every method in turn, each cut at the
    view's edges into focus tiles; progress stays exact while its total grows; same image."""
    from PySide6.QtCore import Qt

    lr = _lr()
    new_view = (76, 76, 96, 96)
    requests = _tiny_and_bicubic(lr, tiny_model_file)
    owner, worker = _focused_worker()
    tiles, progress, finished, idle = [], [], {}, []

    def on_tile(req, box, px):  # noqa: ANN001 - runs in the worker thread (direct connection)
        tiles.append((req.key, tuple(box)))
        if len(tiles) == 1:
            worker.set_viewport(new_view)

    worker.tile.connect(on_tile, Qt.ConnectionType.DirectConnection)
    worker.progress.connect(lambda req, done, total: progress.append((req.key, done, total)))
    worker.finished.connect(lambda req, output, raster: finished.__setitem__(req.key, output))
    worker.idle.connect(lambda batch: idle.append(batch))
    _run_focused(qtbot, owner, requests, idle)

    hr_new = tuple(v * 4 for v in new_view)
    after = tiles[1:]
    under = [i for i, (_, box) in enumerate(after) if intersects(box, hr_new)]
    assert under == list(range(len(under))) and len(under) >= 4   # the new view's tiles first
    assert [k for k, _ in after[:4]] == [BICUBIC_KEY, "tiny"] * 2 or [k for k, _ in after[:4]] == ["tiny", BICUBIC_KEY] * 2
    for _, (y0, x0, y1, x1) in after[:len(under)]:
        assert y1 - y0 <= 64 and x1 - x0 <= 64                     # focus tiles (16 LR px)
        assert hr_new[0] <= y0 and hr_new[1] <= x0                 # cut at the view's edges
    for key, method in (("tiny", ModelSource(None).method(tiny_model_file)), (BICUBIC_KEY, BicubicMethod(4))):
        mine = [(d, t) for k, d, t in progress if k == key]
        assert [d for d, _ in mine] == list(range(1, len(mine) + 1))
        assert mine[-1] == (finished[key].tiles, finished[key].tiles)
        assert [t for _, t in mine] == sorted(t for _, t in mine)   # the total only grows
        if key == tiles[0][0]:
            assert mine[0][1] < mine[-1][1]                         # it grew at the pan
        assert np.array_equal(finished[key].rgb, Upscaler(method, device="cpu", tile=48).upscale(lr).rgb)
