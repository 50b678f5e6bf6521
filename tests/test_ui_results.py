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
    with qtbot.waitSignal(main_window.runIdle, timeout=RUN_TIMEOUT_MS):
        window.images_table.cellDoubleClicked.emit(row, 1)        # opens b.png, runs both methods
    assert main_window.session.model.mode == "simulate" and main_window.session.model.scale == 4
    assert main_window.session.model.reference.shape == (200, 200, 3)
    assert {"bicubic", "tiny_x4"} <= set(main_window.session.model.results)
    assert not messages
