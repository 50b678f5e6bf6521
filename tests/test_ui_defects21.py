"""Issue 21: the comparison window's defects, each driven as the user met it (real widgets, tiny real models)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from srgan_desktop import paths
from srgan_desktop.compare import INPUT_KEY
from srgan_desktop.ui.image_pane import ViewState
from srgan_desktop.ui.main_window import MainWindow
from srgan_desktop.ui.settings import AppSettings
from test_ui_compare import x2_file  # noqa: F401
from test_ui_window import RUN_TIMEOUT_MS, _open, _photo, _registry, _run_all, _window, messages, window  # noqa: F401
from ui_events import hover, window_event

pytestmark = pytest.mark.gui


def _broken_model() -> Path:
    users = paths.user_models_dir()
    users.mkdir(parents=True, exist_ok=True)
    path = users / "zz_broken_x4.safetensors"  # sorts last: the old default picked the last pane
    path.write_bytes(b"not a safetensors file at all" * 4)
    return path


def _canvas_rgb(pane, sx: float, sy: float) -> tuple[int, int, int]:
    """The colour drawn on screen at scene point (sx, sy)."""
    from PySide6.QtCore import QPointF

    point = pane.canvas.mapFromScene(pane.view_box.mapViewToScene(QPointF(sx, sy)))
    colour = pane.canvas.viewport().grab().toImage().pixelColor(point.x(), point.y())
    return colour.red(), colour.green(), colour.blue()


# ------------------------------------------------------------------ defect 1
def test_swipe_never_shows_another_methods_pixels_under_a_x2_models_name(qtbot, tmp_path, tiny_model_file,
                                                                          x2_file):
    window = _window(qtbot, tmp_path, _registry(tmp_path, [tiny_model_file, x2_file]))
    _open(qtbot, window, tmp_path, _photo(24, 32, seed=4))
    _run_all(qtbot, window)
    assert window.session.model.scale == 4 and "tiny_x2" not in window.session.model.results
    window.set_view_mode("swipe")
    qtbot.wait(20)
    window.swipe.set_pair("bicubic", "tiny_x2")
    window.sync.set_state(ViewState(64.0, 48.0, 2.0))  # the 128×96 result, centred
    window.swipe.set_divider_fraction(0.5)
    pane = window.swipe.pane
    # the right side is the placeholder with its note, not Bicubic's pixels
    right_note = window.swipe.note_labels[1]
    assert right_note.isVisible() and right_note.text().startswith("no result: a ×2 model")
    assert _canvas_rgb(pane, 96.5, 48.5) == (48, 48, 48)
    assert _canvas_rgb(pane, 32.5, 48.5) == tuple(window.session.model.results["bicubic"].rgb[48, 32])  # Bicubic, left
    # the read-out names the ×2 model and gives no value
    divider = float(window.swipe.divider.value())
    pane.set_crosshair(divider + 3.5, 10.5)
    assert pane.readout().startswith("Tiny ×2 ▶") and "no value" in pane.readout() and "RGB" not in pane.readout()
    pane.set_crosshair(divider - 3.5, 10.5)
    assert pane.readout().startswith("◀ Bicubic") and "RGB" in pane.readout()
    # and the other way round: the unavailable method on the left
    window.swipe.set_pair("tiny_x2", "bicubic")
    assert window.swipe.note_labels[0].isVisible() and not window.swipe.note_labels[1].isVisible()
    assert _canvas_rgb(pane, 32.5, 48.5) == (48, 48, 48)
    assert _canvas_rgb(pane, 96.5, 48.5) == tuple(window.session.model.results["bicubic"].rgb[48, 96])
    pane.set_crosshair(divider - 3.5, 10.5)
    assert "no value" in pane.readout() and pane.readout().startswith("◀ Tiny ×2")


def test_difference_and_grid_readout_say_no_result(qtbot, tmp_path, tiny_model_file, x2_file):
    window = _window(qtbot, tmp_path, _registry(tmp_path, [tiny_model_file, x2_file]))
    _open(qtbot, window, tmp_path, _photo(24, 32, seed=4))
    _run_all(qtbot, window)
    window.set_view_mode("difference")
    window.difference.method_combo.set_key("tiny_x2")
    window.difference.refresh()
    assert "no result: a ×2 model" in window.difference.pane.message()
    assert window.difference.pane.image() is None
    window.set_view_mode("grid")
    qtbot.wait(20)
    window.sync.set_state(ViewState(40.0, 40.0, 2.0))
    window.sync._on_cursor(40.5, 40.5)
    assert window.grid.pane("tiny_x2").readout() == "no value"
    assert "RGB" in window.grid.pane("bicubic").readout()


def test_after_a_relaunch_swipe_does_not_pick_a_broken_model(qtbot, tmp_path, tiny_model_file):
    registry = _registry(tmp_path, [tiny_model_file])
    _broken_model()
    settings = AppSettings(tmp_path / "settings.ini")
    settings.view_mode = "swipe"
    settings.auto_run = False
    settings.sync()
    window = MainWindow(AppSettings(tmp_path / "settings.ini"), registry, open_sample=False)
    qtbot.addWidget(window)
    window.show()
    assert "zz_broken_x4" in window.session.model.pane_keys() and window.view_mode() == "swipe"
    assert "zz_broken_x4" not in window.swipe.pair()
    _open(qtbot, window, tmp_path, _photo(16, 16))
    assert window.swipe.pair() == ("bicubic", "tiny_x4")
    _run_all(qtbot, window)
    assert window.swipe.side_notes() == ("", "") and window.swipe.pane.image() is window.session.model.results["bicubic"].rgb


# ------------------------------------------------------------------ defect 4
def _menu_action(window, menu: str, text: str):  # noqa: ANN001, ANN202
    return next(a for a in window.menus.menus[menu].actions() if a.text() == text)


def test_clear_cache_then_run_all_and_run_again_really_run(qtbot, window, tmp_path):
    _open(qtbot, window, tmp_path, _photo(16, 16))
    _run_all(qtbot, window)
    first = window.session.model.results["tiny_x4"]
    window.action("clear_cache").trigger()
    assert "tiny_x4" not in window.session.model.results and window.status_view.times.text() == ""
    assert window.grid.pane("tiny_x4").message().startswith("Not run yet")
    with window_event(qtbot, window, "idle", timeout=RUN_TIMEOUT_MS):
        window.action("run_all").trigger()
    second = window.session.model.results["tiny_x4"]
    assert second is not first and "Tiny test model" in window.status_view.times.text()
    with window_event(qtbot, window, "result", timeout=RUN_TIMEOUT_MS) as blocker:
        _menu_action(window, "run_again", "Tiny test model").trigger()
    assert blocker.args == ["tiny_x4"] and window.session.model.results["tiny_x4"] is not second


# ------------------------------------------------------------------ defect 5
def test_relaunch_with_crosshair_off_draws_none_and_c_turns_it_on_at_once(qtbot, tmp_path, tiny_model_file):
    registry = _registry(tmp_path, [tiny_model_file])
    first = _window(qtbot, tmp_path, registry)
    first.action("crosshair").trigger()  # the user turns it off, then quits
    assert not first.settings.crosshair
    first.close()
    window = _window(qtbot, tmp_path, registry)  # the same settings file
    _open(qtbot, window, tmp_path, _photo(16, 16))
    assert not window.action("crosshair").isChecked()
    viewport = window.grid.pane(INPUT_KEY).canvas.viewport()
    hover(viewport, (viewport.width() / 2, viewport.height() / 2))
    assert window.status_view.cursor.text().startswith("x ")  # the mouse is over the image
    assert all(p.crosshair() is None for p in window.sync.panes())  # the menu says off: none drawn
    window.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_C)  # one press
    assert window.action("crosshair").isChecked()
    hover(viewport, (viewport.width() / 2 + 3, viewport.height() / 2))
    assert all(p.crosshair() is not None for p in window.grid.panes())


# ------------------------------------------------------------------ defect 6
def _real_zoom(pane) -> float:  # noqa: ANN001
    """Screen pixels per scene unit, measured from what the view shows."""
    return pane.view_box.rect().width() / pane.view_box.viewRect().width()


def test_zoom_label_and_box_show_the_real_zoom_after_layout_changes(qtbot, tmp_path, tiny_model_file):
    registry = _registry(tmp_path, [tiny_model_file])
    settings = AppSettings(tmp_path / "settings.ini")
    settings.view_mode = "swipe"  # relaunch in swipe
    settings.sync()
    window = _window(qtbot, tmp_path, registry)
    _open(qtbot, window, tmp_path, _photo(60, 80, seed=2))
    _run_all(qtbot, window)
    pane = window.swipe.pane
    qtbot.waitUntil(lambda: window.menus.zoom_label.text() == f"{_real_zoom(pane) * 100:.0f} %", timeout=2000)
    # the metrics dock grows: the fit panes shrink, the label follows (no window resize, no zoom command)
    before = window.menus.zoom_label.text()
    window.resizeDocks([window.metrics_dock], [420], Qt.Orientation.Vertical)
    qtbot.waitUntil(lambda: abs(_real_zoom(pane) * 100 - float(before.split()[0])) > 2, timeout=2000)
    qtbot.wait(20)
    assert window.menus.zoom_label.text() == f"{_real_zoom(pane) * 100:.0f} %"
    assert window.menus.zoom_combo.currentText() == "Fit"
    # a zoom that is no preset: the box shows it instead of going blank, and a typed zoom applies
    window.zoom_by(2 ** 0.5)
    assert window.menus.zoom_combo.currentText() == window.menus.zoom_label.text() == f"{_real_zoom(pane) * 100:.0f} %"
    window.menus.zoom_combo.lineEdit().setText("250 %")
    qtbot.keyClick(window.menus.zoom_combo.lineEdit(), Qt.Key.Key_Return)
    assert _real_zoom(pane) == pytest.approx(2.5, rel=1e-3) and window.menus.zoom_label.text() == "250 %"


# ------------------------------------------------------------------ defect 15
def test_upscale_with_auto_run_asks_before_large_results(qtbot, tmp_path, tiny_model_file, monkeypatch):
    from PySide6.QtWidgets import QInputDialog, QMessageBox

    asked: list[str] = []
    answer = [QMessageBox.StandardButton.No]

    def question(_parent, _title, text, *args, **kwargs):  # noqa: ANN001, ANN202
        asked.append(text)
        return answer[0]

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    monkeypatch.setattr(QInputDialog, "getInt", staticmethod(lambda *args, **kwargs: (1, True)))
    window = _window(qtbot, tmp_path, _registry(tmp_path, [tiny_model_file]))
    window.action("output_limit").trigger()  # the user sets the limit to 1 MP
    assert window.settings.max_output_mp == 1
    window.action("auto_run").trigger()
    assert window.settings.auto_run
    _open(qtbot, window, tmp_path, _photo(300, 260))  # ×4: 1040×1200, 1.2 MP per result
    assert len(asked) == 1 and "1040×1200" in asked[0] and "network needs about" in asked[0] and "MiB" in asked[0]
    assert not window.is_busy() and window.session.model.results == {}  # No: nothing runs
    answer[0] = QMessageBox.StandardButton.Yes
    window.run_method("bicubic")
    qtbot.waitUntil(lambda: "bicubic" in window.session.model.results, timeout=RUN_TIMEOUT_MS)
    assert len(asked) == 2


# ------------------------------------------------------------------ defect 13
def test_one_tile_run_says_running_with_seconds_then_measuring(qtbot, window, tmp_path):
    import re

    _open(qtbot, window, tmp_path, _photo(40, 32, seed=5), "hr.png", mode="simulate")  # one tile, a ground truth
    seen: list[tuple[str, str]] = []
    record = lambda key: seen.append((key, window.status_view.progress.label.text()))  # noqa: E731
    window.session.model.events.connect("status", record)
    window.session.model.events.connect("measuring", record)
    with window_event(qtbot, window, "idle", timeout=RUN_TIMEOUT_MS):
        window.run_method("tiny_x4")
    texts = [t for k, t in seen if k == "tiny_x4"]
    assert not any("starting" in t for t in texts)
    assert any(re.fullmatch(r"Tiny test model: running… \d+ s", t) for t in texts)
    assert "Tiny test model: measuring PSNR/SSIM…" in texts  # the bar is full, the measures run: said so
    assert not window.status_view.progress.label.isVisible()  # over: hidden


# ------------------------------------------------------------------ defect 10
def test_metrics_tab_scatter_shows_the_stimuli_the_table_counts(qtbot, tmp_path):
    from mos_util import build_study, rate_by_condition
    from srgan_desktop.ui.mos_results import ResultsView

    study = build_study(tmp_path, calibration=0, replicates=1)
    rate_by_condition(study)
    view = ResultsView()
    qtbot.addWidget(view)
    view.set_study(study)
    view.compute_agreement(wait=True, metrics=("ssim", "psnr"), resamples=20)
    table = view.agreement_table
    counted = {table.item(r, 0).text(): int(table.item(r, 1).text()) for r in range(table.rowCount())}
    for metric in ("ssim", "psnr"):
        xs = [float(p.pos().x()) for p in view.agreement_plots[metric].points.points()]
        assert len(xs) == counted[metric] == 6  # 3 images × nearest, bicubic: no HR reference point
    assert max(float(p.pos().x()) for p in view.agreement_plots["ssim"].points.points()) < 1.0


# ------------------------------------------------------------------ defect 7
@pytest.mark.parametrize("glyph", ["×", "−"])
def test_exported_figure_labels_draw_times_and_minus_not_missing_glyph_boxes(qtbot, glyph):
    from PySide6.QtGui import QRawFont

    from srgan_desktop.ui.figures import Crop, composite_figure, font_path

    assert font_path().is_file() and (font_path().parent / "LICENSE_DejaVu.txt").is_file()
    raw = QRawFont(str(font_path()), 18)
    assert raw.isValid() and raw.supportsCharacter(ord(glyph)) and not raw.supportsCharacter(0xE000)
    rgb = np.full((20, 20, 3), 128, np.uint8)
    drawn = composite_figure([Crop("lr", f"LR input (nearest {glyph}4)", rgb)])
    missing = composite_figure([Crop("lr", "LR input (nearest \ue0004)", rgb)])  # a character no font here has
    assert drawn.shape == missing.shape and not np.array_equal(drawn, missing)  # not the missing-glyph box


# ------------------------------------------------------------------ defect 14 (window parts)
def test_save_all_names_files_like_save_result_and_lists_them_all(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    _open(qtbot, window, tmp_path, _photo(12, 12), "img_001.png")
    _run_all(qtbot, window)
    offered: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        staticmethod(lambda _p, _t, start, *a, **k: offered.append(start) or ("", "")))
    window.grid.paneActivated.emit("tiny_x4")
    window.action("save").trigger()  # Save result offers its name
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(tmp_path / "all")))
    window.action("save_all").trigger()
    names = sorted(p.name for p in (tmp_path / "all").iterdir())
    assert Path(offered[0]).name in names and names == ["img_001_bicubic_x4.png", "img_001_tiny_x4.png"]
    status = window.statusBar().currentMessage()
    assert "2 results" in status and all(name in status for name in names)


def test_titles_in_one_row_wrap_instead_of_being_clipped(qtbot, window, tmp_path):
    from PySide6.QtGui import QFontMetrics

    _open(qtbot, window, tmp_path, _photo(40, 32, seed=5), "hr.png", mode="simulate")
    _run_all(qtbot, window)
    window.resize(700, 600)
    window.action("row").trigger()  # 1×N: narrow panes, long titles ("Tiny test model — 31.20 dB / 0.8812")
    qtbot.wait(50)
    for pane in window.grid.panes():
        label = pane.findChild(type(window.menus.zoom_label), "paneTitle")
        box = label.contentsRect()
        flags = int(label.alignment()) | (int(Qt.TextFlag.TextWordWrap) if label.wordWrap() else 0)
        needed = QFontMetrics(label.font()).boundingRect(box, flags, label.text())
        assert needed.width() <= box.width() and needed.height() <= box.height(), label.text()


def test_help_lists_the_keys_in_a_table_and_there_is_an_about(qtbot, window):
    from PySide6.QtGui import QTextDocument

    from srgan_desktop import __version__
    from srgan_desktop.ui.actions import help_rows

    help_menu = window.menus.menus["&Help"]
    texts = [a.text() for a in help_menu.actions()]
    assert any(t.startswith("&About") for t in texts)
    next(a for a in help_menu.actions() if a.text() == "Keys and mouse…").trigger()
    box = window.findChild(type(window.show_help()), "helpBox")
    document = QTextDocument()
    document.setHtml(box.text())
    tables = [f for f in document.rootFrame().childFrames() if f.__class__.__name__ == "QTextTable"]
    assert len(tables) == 1 and tables[0].columns() == 2 and tables[0].rows() == len(help_rows())
    cell = tables[0].cellAt(0, 0).firstCursorPosition().block().text()
    assert cell == "Ctrl+O"  # keys in their own column: aligned whatever the font
    about = window.show_about()
    assert __version__ in about.text()
