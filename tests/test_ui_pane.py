"""ImagePane, ViewSync/PaneGrid, the difference map and export, on small synthetic images."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QRectF, Qt

from srgan_desktop.core.images import load_image
from srgan_desktop.ui.difference_view import ColorScaleBar, difference_map
from srgan_desktop.ui.figures import Crop, composite_figure, crop_scene, export_view
from srgan_desktop.ui.image_pane import ImagePane, ViewState
from srgan_desktop.ui.pane_grid import PaneGrid, ViewSync, grid_shape
from ui_events import drag, hover, wheel

pytestmark = pytest.mark.gui


def _image(h: int = 48, w: int = 64, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _same(a: QRectF, b: QRectF, tol: float = 1e-6) -> bool:
    return all(abs(x - y) <= tol for x, y in zip(a.getRect(), b.getRect(), strict=True))


@pytest.fixture
def pane(qtbot) -> ImagePane:
    widget = ImagePane(title="test")
    qtbot.addWidget(widget)
    widget.resize(400, 300)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_pane_fit_zoom_pan_and_readout(pane):
    img = _image()
    pane.set_image(img, "noise", scale=4)  # 64×48 px shown as 256×192 scene units
    assert pane.title() == "noise" and pane.scene_size() == (256.0, 192.0)
    rect = pane.view_range()
    assert rect.contains(QRectF(0, 0, 256, 192)) and pane.is_fit()
    pane.set_view_state(ViewState(100.0, 60.0, 2.0))
    rect = pane.view_range()
    assert rect.center().x() == pytest.approx(100.0) and rect.center().y() == pytest.approx(60.0)
    w, _h = pane.canvas.viewport().width(), pane.canvas.viewport().height()
    assert rect.width() == pytest.approx(pane.view_box.width() / 2.0)
    assert w > 0 and not pane.is_fit()
    pane.pan_by(8, -4)
    assert pane.view_range().center().x() == pytest.approx(108.0)
    pane.zoom_by(2.0)
    assert pane.zoom() == pytest.approx(4.0)
    # pixel (25, 12) of the LR image covers scene [100, 104) × [48, 52)
    assert pane.pixel_at(101.5, 49.0) == tuple(int(v) for v in img[12, 25])
    pane.set_crosshair(101.5, 49.0)
    assert pane.crosshair() == (101.5, 49.0)
    assert "(25, 12)" in pane.readout() and f"{img[12, 25, 0]:3d}" in pane.readout()
    assert pane.pixel_at(-1, 5) is None
    crop = pane.visible_crop((100, 48, 108, 56))
    assert crop.shape == (8, 8, 3)
    assert (crop[:4, :4] == img[12, 25]).all() and (crop[4:, 4:] == img[13, 26]).all()
    pane.set_smooth(True)
    assert pane.smooth()
    pane.set_image(None)
    pane.set_message("no weights yet")
    assert pane.image() is None and pane.message() == "no weights yet"


def test_pane_paints_visible_part_only(pane):
    img = np.zeros((40, 40, 3), np.uint8)
    img[:, 20:] = (255, 0, 0)
    pane.set_image(img)
    pane.set_view_state(ViewState(30.0, 20.0, 8.0))  # right half, red, at 800 %
    grab = pane.canvas.grab().toImage()
    color = grab.pixelColor(grab.width() // 2, grab.height() // 2)
    assert (color.red(), color.green(), color.blue()) == (255, 0, 0)
    pane.fit()
    grab = pane.canvas.grab().toImage()  # zoomed out through the pyramid: still the image
    left = grab.pixelColor(grab.width() // 2 - 20, grab.height() // 2)
    assert left.red() < 30


@pytest.fixture
def grid(qtbot):
    sync = ViewSync()
    widget = PaneGrid(sync)
    qtbot.addWidget(widget)
    widget.resize(908, 320)  # three 300-px panes (4 px spacing): equal sizes, equal rectangles
    widget.set_arrangement("row")
    widget.set_keys(["a", "b", "c"])
    for i, p in enumerate(widget.panes()):
        p.set_image(_image(seed=i))
    widget.show()
    qtbot.waitExposed(widget)
    return widget


def test_sync_wheel_and_drag_move_every_pane(grid):
    a, b, c = grid.panes()
    assert _same(a.view_range(), b.view_range()) and _same(b.view_range(), c.view_range())
    viewport = a.canvas.viewport()
    wheel(viewport, (viewport.width() / 3, viewport.height() / 2), 3)
    assert a.zoom() > 1.5
    assert _same(a.view_range(), b.view_range()) and _same(a.view_range(), c.view_range())
    before = a.view_range()
    drag(viewport, (150, 150), (110, 120))
    after = a.view_range()
    # dragged 40 px left and 30 px up: the view moved right and down by that many units
    assert after.center().x() - before.center().x() == pytest.approx(40 / a.zoom(), rel=0.15)
    assert after.center().y() - before.center().y() == pytest.approx(30 / a.zoom(), rel=0.15)
    assert _same(after, b.view_range()) and _same(after, c.view_range())


def test_shift_drag_moves_one_pane_and_realign_restores(grid):
    a, b, c = grid.panes()
    grid.sync.set_state(ViewState(32.0, 24.0, 4.0))
    start_b = b.view_range()
    drag(b.canvas.viewport(), (150, 150), (130, 150), Qt.KeyboardModifier.ShiftModifier)
    moved = b.view_range()
    assert moved.center().x() == pytest.approx(start_b.center().x() + 20 / 4.0, abs=0.3)
    assert _same(a.view_range(), start_b) and _same(c.view_range(), start_b)
    assert not grid.sync.is_aligned()
    # a synced pan keeps b's private offset
    drag(a.canvas.viewport(), (150, 150), (150, 110))
    dx = b.view_range().center().x() - a.view_range().center().x()
    assert dx == pytest.approx(5.0, abs=0.3)
    assert _same(a.view_range(), c.view_range())
    # crosshair: same group point in a and c, shifted by the offset in b
    hover(a.canvas.viewport(), (100, 100))
    ax, ay = a.crosshair()
    assert c.crosshair() == (ax, ay)
    assert b.crosshair()[0] == pytest.approx(ax + dx, abs=1e-6)
    grid.sync.realign()
    assert grid.sync.is_aligned()
    assert _same(a.view_range(), b.view_range()) and _same(a.view_range(), c.view_range())


def test_grid_shapes_and_arrangement(grid):
    assert grid_shape(5, "grid") == (2, 3) and grid_shape(4, "grid") == (2, 2)
    assert grid_shape(5, "row") == (1, 5) and grid_shape(0, "grid") == (0, 0)
    grid.set_keys(["a", "c", "d"])
    assert grid.keys() == ["a", "c", "d"] and len(grid.sync.panes()) == 3
    grid.set_arrangement("grid")
    assert grid.arrangement() == "grid"


def test_difference_map_and_scale_bar(qtbot):
    a = np.full((8, 8, 3), 100, np.uint8)
    b = a.copy()
    b[0, 0] = (110, 100, 100)  # mean |Δ| = 10/3
    rgb, mean, peak = difference_map(a, b, 16)
    assert rgb.shape == (8, 8, 3) and peak == pytest.approx(10 / 3)
    assert mean == pytest.approx(10 / 3 / 64)
    assert not (rgb[0, 0] == rgb[1, 1]).all()  # the changed pixel stands out
    with pytest.raises(ValueError):
        difference_map(a, b[:4], 1)
    bar = ColorScaleBar()
    qtbot.addWidget(bar)
    bar.set_amplification(8)
    labels = dict((pos, text) for pos, text in bar.labels())
    assert labels[1.0] == "32" and labels[0.0] == "0"


def test_export_crops_and_figure(tmp_path):
    lr = _image(8, 8)
    crops = [Crop("input", "LR input", crop_scene(lr, (4, 4, 20, 12), 4)),
             Crop("srgan", "SRGAN", _image(8, 16, 1), "26.02 dB / 0.7397")]
    assert crops[0].rgb.shape == (8, 16, 3)
    figure = composite_figure(crops, min_height=64)
    assert figure.shape[1] > 2 * 16 * 8 and figure.shape[0] > 64
    result = export_view(tmp_path, "My image", crops)
    assert [p.name for p in result.crops] == ["my_image_01_input.png", "my_image_02_srgan.png"]
    assert result.figure.name == "my_image_comparison.png"
    assert (load_image(result.crops[1]).rgb == crops[1].rgb).all()


def test_many_signal_emissions_do_not_abort_python():
    """PySide6 6.12's emit() drops a reference to True each time; ui.qt_fixes guards it."""
    import sys

    from PySide6.QtCore import QObject, Signal

    from srgan_desktop.ui.qt_fixes import protect_bool_refcounts

    class Emitter(QObject):
        ping = Signal(object)

    protect_bool_refcounts()
    emitter = Emitter()
    before = sys.getrefcount(True)
    for _ in range(20_000):  # a long pan session's worth; aborts Python 3.11 without the guard
        emitter.ping.emit(1)
    assert sys.getrefcount(True) > 0 and before > 0
