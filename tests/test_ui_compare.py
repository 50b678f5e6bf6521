"""The window around the comparison model: scale, results from files, models, and the defects a new user hit."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QMessageBox

from srgan_desktop import paths
from srgan_desktop.compare import INPUT_KEY, REFERENCE_KEY, Status
from srgan_desktop.core.arch import SRResNet
from srgan_desktop.core.images import load_image, save_image
from srgan_desktop.core.weights import save_model
from srgan_desktop.ui.app import create_window, parse_args
from srgan_desktop.ui.image_pane import ViewState
from test_ui_window import (RUN_TIMEOUT_MS, _open, _photo, _registry, _run_all, _set_mode, _window,  # noqa: F401
                            messages, window)
from ui_events import drag, hover, window_event

pytestmark = pytest.mark.gui


@pytest.fixture
def x2_file(tmp_path) -> Path:
    """A randomly initialised SRResNet ×2 (2 blocks), as a user would drop it in."""
    torch.manual_seed(0)
    return save_model(SRResNet(num_blocks=2, scale=2).eval(), tmp_path / "x2" / "tiny_x2.safetensors",
                      {"name": "tiny_x2", "title": "Tiny ×2"})


def test_progress_is_busy_until_the_first_tile_then_counts_tiles(qtbot, tmp_path, tiny_model_file):
    window = _window(qtbot, tmp_path, _registry(tmp_path, [tiny_model_file]), tile=8)
    _open(qtbot, window, tmp_path, _photo(24, 24, seed=7))  # 9 tiles of 8 px
    seen: list[tuple[Status, int, int, str, bool]] = []

    def record(key: str) -> None:
        if key == "tiny_x4":
            state = window.session.model.state(key)
            seen.append((state.status, window.status_view.progress.bar.minimum(), window.status_view.progress.bar.maximum(),
                         window.status_view.progress.label.text(), window.status_view.progress.bar.isTextVisible()))

    window.session.model.events.connect("status", record)
    with window_event(qtbot, window, "idle", timeout=RUN_TIMEOUT_MS):
        window.run_method("tiny_x4")
    running = [s for s in seen if s[0] is Status.RUNNING]
    first, counted = running[0], [s for s in running if s[2] and s[3].endswith("tiles")]
    assert (first[1], first[2]) == (0, 0) and re.fullmatch(r"Tiny test model: running… \d+ s", first[3])  # busy
    # inside the first tile, before any tile count: the engine's share of the image, on a real bar
    shares = [s for s in running[:running.index(counted[0])] if s[2]]
    assert all(s[2] == 1000 and re.fullmatch(r"Tiny test model: \d+% \d+ s", s[3]) for s in shares)
    assert counted and counted[0][2] == 9 and counted[0][3] == "Tiny test model: 1/9 tiles"
    assert counted[-1][3] == "Tiny test model: 9/9 tiles"
    assert not any(s[4] for s in seen)  # the text is a label beside the bar, never clipped inside it
    output = window.session.model.results["tiny_x4"]
    assert output.load_seconds > 0 and output.seconds > 0  # loading is timed apart from inference
    row = [window.metrics.cell_text(r, 0) for r in range(window.metrics.rowCount())].index("Tiny test model")
    headers = [window.metrics.horizontalHeaderItem(c).text() for c in range(window.metrics.columnCount())]
    load_col, time_col = headers.index("Load (s)"), headers.index("Time (s)")
    assert window.metrics.cell_text(row, load_col) == f"{output.load_seconds:.2f}"
    assert window.metrics.cell_text(row, time_col) == f"{output.seconds:.2f}"


def test_zoom_box_shows_the_real_zoom_at_launch(qtbot, tmp_path, tiny_model_file):
    image = save_image(tmp_path / "launch.png", _photo(300, 400))
    window = create_window(parse_args([str(image), "--no-run", "--settings", str(tmp_path / "s.ini")]))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.session.model.has_image, timeout=RUN_TIMEOUT_MS)
    qtbot.wait(50)
    pane = window.grid.pane(INPUT_KEY)
    assert window.sync.is_fit()
    assert window.menus.zoom_label.text() == f"{pane.zoom() * 100:.0f} %" and window.menus.zoom_combo.currentText() == "Fit"


def test_simulate_difference_defaults_to_the_ground_truth(qtbot, window, tmp_path):
    _open(qtbot, window, tmp_path, _photo(40, 32, seed=5))  # upscale first: references are LR and methods
    window.set_view_mode("difference")
    _set_mode(qtbot, window, "simulate")
    assert window.difference.pair() == ("tiny_x4", REFERENCE_KEY)


def test_realign_moves_every_crosshair_back(qtbot, window, tmp_path):
    _open(qtbot, window, tmp_path, _photo(16, 16))
    _run_all(qtbot, window)
    lr, other = window.grid.pane(INPUT_KEY), window.grid.pane("bicubic")
    viewport = lr.canvas.viewport()
    drag(viewport, (120, 100), (90, 100), Qt.KeyboardModifier.ShiftModifier)  # the LR pane alone
    hover(other.canvas.viewport(), (80, 80))
    dx, _dy = window.sync.offset(lr)
    assert dx and lr.crosshair()[0] == pytest.approx(other.crosshair()[0] + dx)
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_A)
    assert lr.crosshair() == other.crosshair()  # without moving the mouse


def test_swipe_readout_says_which_side_it_reads(qtbot, window, tmp_path):
    _open(qtbot, window, tmp_path, _photo(40, 32, seed=5), "hr.png", mode="simulate")
    _run_all(qtbot, window)
    window.set_view_mode("swipe")
    window.swipe.set_pair("bicubic", REFERENCE_KEY)
    window.swipe.set_divider_fraction(0.5)
    divider = float(window.swipe.divider.value())
    window.sync.set_state(ViewState(divider, 20.0, 4.0))
    pane = window.swipe.pane
    pane.set_crosshair(divider - 2.5, 20.5)
    x = int(divider - 2.5)
    left = window.session.model.image_for("bicubic")[20, x]
    assert pane.readout().startswith("◀ Bicubic") and f"RGB {left[0]:3d} {left[1]:3d} {left[2]:3d}" in pane.readout()
    pane.set_crosshair(divider + 2.5, 20.5)
    right = window.session.model.reference[20, int(divider + 2.5)]
    assert "HR ground truth ▶" in pane.readout() and f"RGB {right[0]:3d} {right[1]:3d} {right[2]:3d}" in pane.readout()


def test_bad_file_on_the_command_line_shows_its_error_over_the_window(qtbot, tmp_path, monkeypatch):
    shown: list[tuple[bool, str]] = []

    def record(parent, title, text, *args, **kwargs):  # noqa: ANN001, ANN202
        shown.append((parent is not None and parent.isVisible(), text))
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "warning", staticmethod(record))
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    window = create_window(parse_args([str(bad), "--settings", str(tmp_path / "s.ini")]))
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: not window.is_preparing(), timeout=RUN_TIMEOUT_MS)
    qtbot.wait(20)
    assert shown == []  # not over an empty screen
    window.show()
    qtbot.waitUntil(lambda: bool(shown), timeout=5000)
    assert shown[0][0] and "broken.png" in shown[0][1]


def test_compare_at_the_scale_of_a_x2_model(qtbot, tmp_path, tiny_model_file, x2_file):
    window = _window(qtbot, tmp_path, _registry(tmp_path, [tiny_model_file, x2_file]))
    assert window.session.model.scale == 4
    _open(qtbot, window, tmp_path, _photo(20, 24, seed=3), "hr.png", mode="simulate")
    message = window.grid.pane("tiny_x2").message()
    assert message.startswith("Unavailable: a ×2 model") and "Compare ▸ Scale" in message
    scale_items = {a.text().split()[0]: a for a in window.menus.menus["scales"].actions()}
    assert scale_items["×4"].isChecked()
    with window_event(qtbot, window, "changed", timeout=RUN_TIMEOUT_MS):
        scale_items["×2"].trigger()
    assert window.session.model.scale == 2 and window.session.model.lr.shape == (10, 12, 3)
    assert window.grid.pane("tiny_x4").message().startswith("Unavailable: a ×4 model")
    _run_all(qtbot, window)
    assert set(window.session.model.results) == {"bicubic", "tiny_x2"}
    assert window.session.model.results["tiny_x2"].rgb.shape == (20, 24, 3) == window.session.model.reference.shape
    assert window.session.model.scores("tiny_x2").psnr is not None
    input_pane = window.grid.pane(INPUT_KEY)
    assert input_pane.image_scale() == 2 and input_pane.scene_size() == (24.0, 20.0)
    window.sync._on_cursor(9.5, 7.5)
    assert window.status_view.cursor.text().startswith("x 9  y 7  (LR 4, 3)")
    window.sync.set_state(ViewState(12.0, 10.0, 8.0))
    result = window.export_view(tmp_path / "export")
    crops = {p.name.split("_", 2)[-1]: load_image(p).rgb for p in result.crops}
    bounds = window.export_bounds()
    lr_crop = crops["input.png"]
    assert lr_crop.shape == crops["tiny_x2.png"].shape  # every pane aligned at the true scale
    assert (lr_crop[0, 0] == window.session.model.lr[bounds[1] // 2, bounds[0] // 2]).all()
    saved = window.save_all(tmp_path / "all")
    assert sorted(p.name for p in saved) == ["hr_bicubic_x2.png", "hr_tiny_x2.png"]  # the scale once (issue 21, 14)


def test_add_result_image_from_a_file(qtbot, window, tmp_path, messages):
    _open(qtbot, window, tmp_path, _photo(40, 32, seed=5), "hr.png", mode="simulate")
    wrong = save_image(tmp_path / "wrong.png", _photo(12, 12))
    window.add_result_file(wrong)
    qtbot.waitUntil(lambda: bool(messages), timeout=RUN_TIMEOUT_MS)
    assert messages[-1][0] == "Cannot add the result" and "12×12" in messages[-1][1] and "32×40" in messages[-1][1]
    made = _photo(40, 32, seed=9)
    path = save_image(tmp_path / "esrgan_out.png", made)
    with window_event(qtbot, window, "scores", timeout=RUN_TIMEOUT_MS):
        window.add_result_file(path)
    key = "file:esrgan_out"
    assert key in window.grid.keys() and (window.grid.pane(key).image() == made).all()
    assert window.session.model.scores(key).psnr is not None and "dB" in window.grid.pane(key).title()
    titles = [window.metrics.cell_text(r, 0) for r in range(window.metrics.rowCount())]
    assert "esrgan_out" in titles
    with qtbot.waitSignal(window.difference.shown, timeout=RUN_TIMEOUT_MS):
        window.set_view_mode("difference")
        window.difference.set_pair(key, REFERENCE_KEY)
    assert window.difference.pane.image() is not None
    window.set_view_mode("swipe")
    window.swipe.set_pair(key, REFERENCE_KEY)
    assert window.swipe.pane.image() is window.session.model.image_for(key)


def _drop(window, path: Path, where) -> None:  # noqa: ANN001
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    window.dropEvent(QDropEvent(QPointF(where), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                                Qt.KeyboardModifier.NoModifier))


def test_an_image_dropped_on_a_pane_is_a_result_elsewhere_it_opens(qtbot, window, tmp_path):
    _open(qtbot, window, tmp_path, _photo(10, 8, seed=2))
    window.resize(900, 700)
    window.show()
    qtbot.waitExposed(window)
    made = _photo(40, 32, seed=4)
    path = save_image(tmp_path / "diffusion_out.png", made)
    pane = window.grid.pane(INPUT_KEY)
    on_pane = pane.mapTo(window, pane.rect().center())
    with window_event(qtbot, window, "result", timeout=RUN_TIMEOUT_MS):
        _drop(window, path, on_pane)
    assert (window.grid.pane("file:diffusion_out").image() == made).all()
    assert window.session.model.image.path.name != "diffusion_out.png"  # the input stayed
    other = save_image(tmp_path / "next_input.png", _photo(6, 6, seed=8))
    menu_bar = window.menuBar().geometry().center()  # not a pane: opens the file
    with window_event(qtbot, window, "opened", timeout=RUN_TIMEOUT_MS):
        _drop(window, other, menu_bar)
    assert window.session.model.image.path == other


def test_manage_models_adds_removes_and_shows_errors(qtbot, window, tmp_path, x2_file, messages):
    junk = tmp_path / "junk_x4.pth"
    junk.write_bytes(b"not a checkpoint")
    _open(qtbot, window, tmp_path, _photo(12, 12))
    dialog = window.manage_models()
    qtbot.addWidget(dialog)
    names = [dialog.cell_text(r, 0) for r in range(dialog.table.rowCount())]
    assert "Tiny test model" in names
    dialog.add_files([x2_file, junk])
    assert "tiny_x2" in window.grid.keys()  # no restart
    assert messages and "junk_x4.pth" in messages[-1][1]  # refused with its error, nothing copied
    assert not (paths.user_models_dir() / "junk_x4.pth").exists()
    (paths.user_models_dir() / "junk_x4.pth").write_bytes(b"put there by hand")
    window.models_changed()
    assert "junk_x4" in window.grid.keys()
    rows = {dialog.cell_text(r, 0): r for r in range(dialog.table.rowCount())}
    assert dialog.cell_text(rows["Tiny ×2"], 1) == "×2" and "2 blocks" in dialog.cell_text(rows["Tiny ×2"], 2)
    assert "junk_x4.pth" in dialog.cell_text(rows["junk_x4"], 4)
    qtbot.waitUntil(lambda: window.grid.pane("junk_x4").message().startswith("Unavailable:"))  # a new pane shows
    dialog.remove(paths.user_models_dir() / "tiny_x2.safetensors")
    assert "tiny_x2" not in window.grid.keys()
    assert not (paths.user_models_dir() / "tiny_x2.safetensors").exists()
    dialog.close()


def test_mode_and_scale_chosen_while_opening_apply_to_the_file(qtbot, window, tmp_path):
    path = save_image(tmp_path / "hr.png", _photo(40, 32))
    with window_event(qtbot, window, "opened", timeout=RUN_TIMEOUT_MS):
        window.open_path(path, "upscale")
        window.set_mode("simulate")  # before the file is decoded
        window.set_scale(2)
    qtbot.waitUntil(lambda: not window.is_preparing(), timeout=RUN_TIMEOUT_MS)
    assert window.session.model.mode == "simulate" and window.session.model.scale == 2
    assert window.session.model.reference.shape == (40, 32, 3) and window.session.model.lr.shape == (20, 16, 3)
    assert window.settings.scale == 2 and window.settings.mode == "simulate"


def test_results_folder_follows_the_images_opened(qtbot, window, tmp_path, messages):
    inputs, folder = tmp_path / "inputs", tmp_path / "esrgan"
    inputs.mkdir()
    folder.mkdir()
    first, second = _photo(10, 12, seed=1), _photo(8, 8, seed=2)
    for name, lr in (("one", first), ("two", second)):
        save_image(inputs / f"{name}.png", lr)
    save_image(folder / "one_x4.png", _photo(40, 48, seed=3))
    save_image(folder / "two.png", _photo(30, 30, seed=4))  # wrong size: 8×8 × 4 is 32×32
    with window_event(qtbot, window, "opened", timeout=RUN_TIMEOUT_MS):
        window.open_path(inputs / "one.png", "upscale")
    with window_event(qtbot, window, "result", timeout=RUN_TIMEOUT_MS):
        window.add_results_folder(folder)
    assert "file:esrgan" in window.grid.keys() and window.session.model.method("file:esrgan").title == "esrgan"
    assert window.session.model.image_for("file:esrgan").shape == (40, 48, 3)
    with window_event(qtbot, window, "opened", timeout=RUN_TIMEOUT_MS):
        window.open_path(inputs / "two.png", "upscale")  # the next image: its result is checked too
    qtbot.waitUntil(lambda: "two.png is 30×30" in window.statusBar().currentMessage(), timeout=RUN_TIMEOUT_MS)
    assert "file:esrgan" not in window.grid.keys() and not messages
