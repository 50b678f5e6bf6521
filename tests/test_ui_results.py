"""The Results window over a real results database (eval --db), with real widgets (pytest-qt)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from conftest import REPO
from srgan_desktop.__main__ import main
from srgan_desktop.compare.results_model import ResultsModel
from srgan_desktop.core.images import load_image, save_image
from srgan_desktop.core.results_db import ResultsDb, summary
from srgan_desktop.ui.results_window import ALL, ResultsWindow
from ui_events import window_event
from test_ui_window import RUN_TIMEOUT_MS, _registry, _window, messages  # noqa: F401 (a fixture)

pytestmark = pytest.mark.gui


@pytest.fixture
def results_db(tmp_path, tiny_model_file):
    """Two 200×200 crops (large enough for NIQE), bicubic and the tiny model, PSNR/SSIM/NIQE."""
    photo = load_image(REPO / "resources" / "samples" / "astronaut.png").rgb
    for name, (y, x) in {"a": (0, 0), "b": (250, 280)}.items():
        save_image(tmp_path / "Pair" / "HR" / f"{name}.png", photo[y:y + 200, x:x + 200])
    db = tmp_path / "lab.db"
    assert main(["eval", "--hr", str(tmp_path / "Pair"), "-m", "bicubic", str(tiny_model_file),
                 "--db", str(db), "--no-progress"]) == 0
    return db


def test_the_model_gives_the_means_the_plane_and_what_to_open(results_db, tmp_path):
    model = ResultsModel(results_db)
    with ResultsDb(results_db) as db:
        assert model.rows == summary(db)
    assert model.benchmarks == ["Pair"] and model.methods == ["bicubic", "tiny_x4"]
    assert model.measures == ["psnr", "ssim", "niqe"]
    plane = {p.method: p for p in model.plane()}
    means = {(r.method, r.measure): r.mean for r in model.rows}
    assert set(plane) == {"bicubic", "tiny_x4"}
    assert plane["bicubic"].distortion == means[("bicubic", "psnr")]
    assert plane["tiny_x4"].perception == means[("tiny_x4", "niqe")]
    methods, rows = model.images("Pair", "psnr")
    assert methods == ["bicubic", "tiny_x4"] and [image for image, _ in rows] == ["a", "b"]
    target = model.open_target("Pair", "b")
    assert target.hr_path == (tmp_path / "Pair" / "HR" / "b.png").resolve()
    assert (target.image, target.scale, target.methods) == ("b", 4, ("bicubic", "tiny_x4"))


def test_results_window_sorts_filters_plots_exports_and_opens_the_image(qtbot, tmp_path, results_db,
                                                                          tiny_model_file, messages):
    main_window = _window(qtbot, tmp_path, _registry(tmp_path, [tiny_model_file]))
    window = main_window.open_results(results_db)
    qtbot.addWidget(window)
    assert window.resolver is main_window.session.model.source.resolver                # Run evaluation… lists the app's models
    assert window.table.rowCount() == 6                           # 2 methods × 3 measures
    window.measure_box.setCurrentText("psnr")
    assert window.table.rowCount() == 2
    assert {window.table.item(i, 2).text() for i in range(2)} == {"psnr"}
    window.table.sortItems(4, Qt.SortOrder.DescendingOrder)        # by mean, as numbers
    means = [float(window.table.item(i, 4).text()) for i in range(2)]
    assert means == sorted(means, reverse=True)
    low, high = float(window.table.item(0, 5).text()), float(window.table.item(0, 6).text())
    assert low <= means[0] <= high
    window.benchmark_box.setCurrentText(ALL)
    assert window.images_table.rowCount() == 2 and window.images_table.columnCount() == 3

    assert {p.method for p in window.points} == {"bicubic", "tiny_x4"}
    png, svg = window.save_plot(tmp_path / "plane.png"), window.save_plot(tmp_path / "plane.svg")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and b"<svg" in svg.read_bytes()

    row = next(i for i in range(2) if window.images_table.item(i, 0).text() == "b")
    with window_event(qtbot, main_window, "idle", timeout=RUN_TIMEOUT_MS):
        window.images_table.cellDoubleClicked.emit(row, 1)        # opens b.png, runs both methods
    assert main_window.session.model.mode == "simulate" and main_window.session.model.scale == 4
    assert main_window.session.model.reference.shape == (200, 200, 3)
    assert {"bicubic", "tiny_x4"} <= set(main_window.session.model.results)
    second = main_window.open_results(results_db)                 # another one: the first (maybe evaluating) stays
    qtbot.addWidget(second)
    assert main_window._results_windows == [window, second]
    window.close()
    third = main_window.open_results(results_db)
    qtbot.addWidget(third)
    assert main_window._results_windows == [second, third]      # the closed one is let go
    assert not messages


def test_a_target_that_fails_to_open_runs_nothing_then_or_later(qtbot, tmp_path, results_db, tiny_model_file,
                                                                 messages):
    """Double-clicking a row whose HR file is gone shows the error; the next image opened by hand
    does not run the methods of that row."""
    from srgan_desktop.compare.results_model import OpenTarget

    main_window = _window(qtbot, tmp_path, _registry(tmp_path, [tiny_model_file]))
    gone = OpenTarget(tmp_path / "Pair" / "HR" / "gone.png", "gone", "Pair", 4, ("bicubic", "tiny_x4"))
    with window_event(qtbot, main_window, "failed", timeout=RUN_TIMEOUT_MS) as blocker:
        main_window.open_result_target(gone)
    assert "gone.png" in blocker.args[0] and messages
    with window_event(qtbot, main_window, "opened", timeout=RUN_TIMEOUT_MS):
        main_window.open_path(tmp_path / "Pair" / "HR" / "a.png")
    qtbot.wait(200)
    assert not main_window.session.model.results


@pytest.fixture
def two_image_bench(tmp_path):
    """A 2-image benchmark root: HR/ and LR_bicubic_x4/ made with the project's MATLAB bicubic."""
    from srgan_desktop.core.resize import downscale

    photo = load_image(REPO / "resources" / "samples" / "astronaut.png").rgb
    root = tmp_path / "Two"
    for name, (y, x) in {"p": (40, 60), "q": (300, 200)}.items():
        hr = photo[y:y + 64, x:x + 64]
        save_image(root / "HR" / f"{name}.png", hr)
        save_image(root / "LR_bicubic_x4" / f"{name}.png", downscale(hr, 4))
    return root


def _run_from_dialog(qtbot, window: ResultsWindow, bench, methods: list[str]) -> None:
    qtbot.mouseClick(window.run_button, Qt.MouseButton.LeftButton)
    dialog = window.eval_dialog
    assert dialog is not None and dialog.isVisible()
    if not dialog.benchmarks:
        dialog.add_benchmark(bench)
    dialog.check_methods(methods)
    dialog.check_measures(["psnr", "ssim"])
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    assert not dialog.isVisible() and window.busy


def test_run_evaluation_fills_a_new_database_with_the_bar_counting_cells(qtbot, tmp_path, two_image_bench,
                                                                         tiny_model_file, messages):
    window = ResultsWindow(tmp_path / "new.db", resolver=_registry(tmp_path, [tiny_model_file]))
    qtbot.addWidget(window)
    window.show()
    assert window.table.rowCount() == 0 and (tmp_path / "new.db").exists()   # created empty
    seen: list[tuple[int, int]] = []
    window.progress.valueChanged.connect(lambda value: seen.append((value, window.progress.maximum())))
    _run_from_dialog(qtbot, window, two_image_bench, ["bicubic", "tiny_x4"])
    assert not window.run_button.isEnabled() and window.cancel_button.isVisible()
    qtbot.waitUntil(lambda: not window.busy, timeout=RUN_TIMEOUT_MS)
    # 2 methods × 2 images × 2 measures = 8 cells, counted image by image up to the total
    assert window.progress.maximum() == 8 and window.progress.value() == 8
    assert [v for v, m in seen if m == 8 and v > 0] == [2, 4, 6, 8]
    assert window.status.text() == "cells: 0 cached, 8 computed (4 images run)"
    assert window.table.rowCount() == 4                                   # 2 methods × 2 measures
    assert {window.table.item(i, 0).text() for i in range(4)} == {"bicubic", "tiny_x4"}
    assert window.benchmark_box.findText("Two") >= 0 and window.measure_box.findText("ssim") >= 0
    assert window.run_button.isEnabled() and not window.cancel_button.isVisible()
    with ResultsDb(tmp_path / "new.db") as db:
        assert {r.dataset for r in summary(db)} == {"Two"} and len(db.cells()) == 8
    assert not messages


def test_cancel_keeps_the_database_and_running_again_finishes_it(qtbot, tmp_path, two_image_bench,
                                                                  tiny_model_file, messages):
    window = ResultsWindow(tmp_path / "lab.db", resolver=_registry(tmp_path, [tiny_model_file]))
    qtbot.addWidget(window)
    window.show()
    _run_from_dialog(qtbot, window, two_image_bench, ["bicubic", "tiny_x4"])
    qtbot.mouseClick(window.cancel_button, Qt.MouseButton.LeftButton)   # while it plans: before any image
    qtbot.waitUntil(lambda: not window.busy, timeout=RUN_TIMEOUT_MS)
    assert window.status.text().startswith("Cancelled: 0 of 8 cells written")
    assert window.last_summary is None and window.table.rowCount() == 0
    with ResultsDb(tmp_path / "lab.db") as db:
        assert db.cells() == []

    _run_from_dialog(qtbot, window, two_image_bench, ["bicubic", "tiny_x4"])  # the last choices come back
    qtbot.waitUntil(lambda: not window.busy, timeout=RUN_TIMEOUT_MS)
    assert window.status.text() == "cells: 0 cached, 8 computed (4 images run)"
    assert window.progress.value() == window.progress.maximum() == 8 and window.table.rowCount() == 4

    _run_from_dialog(qtbot, window, two_image_bench, ["bicubic", "tiny_x4", "hr"])  # only hr is new
    qtbot.waitUntil(lambda: not window.busy, timeout=RUN_TIMEOUT_MS)
    assert window.status.text() == "cells: 8 cached, 4 computed (2 images run)"
    assert window.table.rowCount() == 6 and not messages


def test_a_failed_evaluation_is_one_line_under_the_bar(qtbot, tmp_path, tiny_model_file, messages):
    window = ResultsWindow(tmp_path / "lab.db", resolver=_registry(tmp_path, [tiny_model_file]))
    qtbot.addWidget(window)
    empty = tmp_path / "Empty"
    empty.mkdir()
    _run_from_dialog(qtbot, window, empty, ["bicubic"])
    qtbot.waitUntil(lambda: not window.busy, timeout=RUN_TIMEOUT_MS)
    text = window.status.text()
    assert text.startswith("Evaluation failed: ") and "Empty: no images" in text and "\n" not in text
    assert window.run_button.isEnabled() and not window.progress.isVisible() and not messages


def test_open_and_new_database_switch_the_window(qtbot, tmp_path, results_db, monkeypatch, messages):
    from PySide6.QtWidgets import QFileDialog

    window = ResultsWindow(tmp_path / "empty.db")
    qtbot.addWidget(window)
    assert window.table.rowCount() == 0
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(results_db), "")))
    qtbot.mouseClick(window.open_button, Qt.MouseButton.LeftButton)
    assert window.windowTitle() == "Results — lab.db" and window.table.rowCount() == 6
    fresh = tmp_path / "fresh" / "other.db"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(fresh), "")))
    qtbot.mouseClick(window.new_button, Qt.MouseButton.LeftButton)
    assert fresh.exists() and window.table.rowCount() == 0 and window.benchmark_box.count() == 1
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(lambda *a, **k: (str(junk), "")))
    qtbot.mouseClick(window.open_button, Qt.MouseButton.LeftButton)
    assert len(messages) == 1 and "junk.db" in messages[0][1] and "not a results database" in messages[0][1]
    assert window.model.path == fresh                                    # still the last good one


def test_the_dialog_lists_the_app_models_and_runs_only_with_something_of_each(qtbot, tmp_path, tiny_model_file):
    window = ResultsWindow(tmp_path / "lab.db", resolver=_registry(tmp_path, [tiny_model_file]))
    qtbot.addWidget(window)
    dialog = window.run_evaluation_dialog()
    specs = [dialog.method_list.item(i).data(Qt.ItemDataRole.UserRole) for i in range(dialog.method_list.count())]
    assert specs == ["bicubic", "hr", "tiny_x4"]
    assert dialog.request(tmp_path / "lab.db").measures == ("psnr", "ssim", "niqe")  # the registry's defaults
    dialog.check_methods([])
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and dialog.message.text() == "Choose a benchmark folder and a method."
    assert not window.busy
    dialog.reject()


def test_an_evaluation_from_the_window_uses_the_sessions_lpips_backbone(qtbot, tmp_path, tiny_model_file,
                                                                       two_image_bench):
    """The backbone file chosen in the comparison window is the one the evaluation's LPIPS loads
    (a missing file stops the run at once, under the bar, naming it)."""
    from srgan_desktop.compare.session import SessionSettings

    settings = SessionSettings(lpips_net="alex", lpips_backbone=str(tmp_path / "alexnet_missing.pth"))
    window = ResultsWindow(tmp_path / "lab.db", resolver=_registry(tmp_path, [tiny_model_file]), settings=settings)
    qtbot.addWidget(window)
    dialog = window.run_evaluation_dialog()
    dialog.add_benchmark(two_image_bench)
    dialog.check_measures(["psnr", "lpips"])
    with qtbot.waitSignal(dialog.accepted):
        qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    assert window.last_request.lpips_backbone == tmp_path / "alexnet_missing.pth"
    assert window.last_request.lpips_net == "alex"
    qtbot.waitUntil(lambda: not window.busy, timeout=RUN_TIMEOUT_MS)
    assert "alexnet_missing.pth" in window.status.text()
