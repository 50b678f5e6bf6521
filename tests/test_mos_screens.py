"""The MOS screens as a new user met them (issue 21): real widgets offscreen, real studies on disk.

Each test does what the user did (read the welcome page, shrink the rating window, create a study
on the command line while the studies window is open, open a paired-comparison study's results)
and checks what the screen then shows."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication

from mos_util import build_study, shown_panel, write_hr_images
from srgan_desktop.mos.design import SCORE_LABELS, make_design, parse_condition
from srgan_desktop.mos.stimuli import find_sources
from srgan_desktop.mos.store import Display, Study, create_study
from srgan_desktop.ui.mos_panel import PAIR_LABELS, RATING

pytestmark = pytest.mark.gui

CONDS = ("nearest", "bicubic", "reference")


def pc_study(tmp_path, raters=(), show_reference: bool = False, **kw) -> Study:
    """A paired-comparison study of the 3 tiny images; each rater prefers reference > bicubic > nearest."""
    sources = find_sources(write_hr_images(tmp_path / "hr"))
    design = make_design("pc screens", list(sources), [parse_condition(c) for c in CONDS], kind="pc",
                         seed=5, show_reference=show_reference, **kw)
    study = create_study(design, sources, tmp_path / "studies" / "pc")
    rank = {c: k for k, c in enumerate(CONDS)}
    for rater in raters:   # each in a sitting at a 1920×1080 screen, as the rating window records it
        session = study.start_session(rater)
        sitting = study.begin_sitting(session.id, Display(1920, 1080, 1.0, 1))
        for t in study.trials(session.id):
            study.record_rating(session.id, t.position, 1 if rank[t.condition] > rank[t.condition_b] else 2, 300,
                                sitting_id=sitting)
        study.end_sitting(sitting)
    return study


def wheel_and_drag(qtbot, view) -> None:
    """What a rater tries on the image: the mouse wheel, then a drag."""
    centre = QPointF(view.width() / 2, view.height() / 2)
    event = QWheelEvent(centre, view.mapToGlobal(centre), QPoint(0, 0), QPoint(0, 240),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase,
                        False)
    QApplication.sendEvent(view, event)
    qtbot.mousePress(view, Qt.MouseButton.LeftButton, pos=centre.toPoint())
    qtbot.mouseMove(view, centre.toPoint() + QPoint(30, 20))
    qtbot.mouseRelease(view, Qt.MouseButton.LeftButton, pos=centre.toPoint() + QPoint(30, 20))


# ------------------------------------------------------------------ defect 2: instructions
def test_acr_welcome_page_says_what_the_rating_window_does(qtbot, tmp_path):
    study = build_study(tmp_path, calibration=1, min_view_s=0.0)
    panel = shown_panel(qtbot, study, "w1", (900, 700))
    text = panel.instructions_label.text()
    assert "zoom (mouse wheel)" not in text and "You may zoom" not in text
    assert "cannot be zoomed or moved" in text
    assert all(label in text for label in SCORE_LABELS.values())
    assert "Next example" in text            # the study has calibration examples
    panel.start()
    panel.next_example()
    panel.next_example()
    assert panel.page == RATING and panel.trial is not None
    # what the text says is true: wheel and drag leave the image where it is, at its size
    before = panel.viewer.shown_rect()
    wheel_and_drag(qtbot, panel.viewer)
    assert panel.viewer.shown_rect() == before
    study.close()


def test_paired_study_shows_paired_instructions(qtbot, tmp_path):
    study = pc_study(tmp_path, show_reference=True, min_view_s=1.0)
    panel = shown_panel(qtbot, study, "p1", (900, 700))
    text = panel.instructions_label.text()
    buttons = [b.text().split("\n")[1] for b in panel.score_buttons]
    assert buttons == list(PAIR_LABELS.values())
    assert all(label in text for label in buttons) and "←" in text and "→" in text
    assert "1 to 5" not in text and not any(label in text for label in SCORE_LABELS.values())
    assert "original" in text and "1 second" in text
    assert "You may zoom" not in text
    study.close()


def test_instructions_written_by_the_experimenter_are_kept(qtbot, tmp_path):
    study = pc_study(tmp_path, instructions="Pick the sharper one.")
    panel = shown_panel(qtbot, study, "p1")
    assert panel.instructions_label.text() == "Pick the sharper one."
    study.close()


# ------------------------------------------------------- defect 3: a window smaller than the stimulus
def test_too_small_window_locks_visibly_and_unlocks_when_enlarged(qtbot, tmp_path):
    study = build_study(tmp_path, calibration=0, magnification=8)   # 40×32 → 320×256 on screen
    panel = shown_panel(qtbot, study, "small", (900, 700))
    panel.start()
    assert panel.page == RATING and all(b.isEnabled() for b in panel.score_buttons)
    panel.resize(400, 300)
    qtbot.waitUntil(lambda: not panel.viewer.fits())
    # the buttons do not look enabled while clicks are refused, and the panel says why
    assert not any(b.isEnabled() for b in panel.score_buttons)
    assert "too small" in panel.status_label.text() and panel.status_label.isVisible()
    qtbot.mouseClick(panel.score_buttons[3], Qt.MouseButton.LeftButton)
    qtbot.keyClick(panel, Qt.Key.Key_4)
    assert study.rows() == []
    # enlarged again: the message goes and the first click counts
    panel.resize(900, 700)
    qtbot.waitUntil(panel.viewer.fits)
    assert panel.status_label.text() == "" and all(b.isEnabled() for b in panel.score_buttons)
    qtbot.mouseClick(panel.score_buttons[3], Qt.MouseButton.LeftButton)
    assert [r.score for r in study.rows()] == [4]
    study.close()


# ------------------------------------------------- defect 12: the studies window and the command line
def cli_create(root, images, name: str) -> None:
    import subprocess

    from mos_util import PYTHON, subprocess_env

    done = subprocess.run([PYTHON, "-m", "srgan_desktop", "mos", "create", name, "--images", str(images),
                           "--conditions", "nearest,bicubic", "--calibration", "0", "--root", str(root)],
                          env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr


def list_names(window) -> list[str]:
    return [window.study_list.item(r).text().split("\n")[0] for r in range(window.study_list.count())]


@pytest.mark.slow
def test_studies_window_shows_studies_made_on_the_command_line(qtbot, tmp_path):
    from PySide6.QtWidgets import QPushButton, QWidget

    from srgan_desktop.ui.mos_window import MosWindow, open_mos_window

    build_study(tmp_path, calibration=0, name="first").close()
    root = tmp_path / "studies"
    window = open_mos_window(root=root)
    qtbot.addWidget(window)
    qtbot.waitExposed(window)
    assert list_names(window) == ["first"]
    window.study_list.setCurrentRow(0)
    opened = window.study
    # made on the command line while the window is open; the user presses Refresh
    cli_create(root, tmp_path / "hr", "from cli")
    refresh = [b for b in window.findChildren(QPushButton) if b.text() == "Refresh" and b.isEnabled()]
    assert refresh
    qtbot.mouseClick(refresh[0], Qt.MouseButton.LeftButton)
    assert sorted(list_names(window)) == ["first", "from cli"]
    assert window.study is opened and window.selected_path() == opened.path   # still selected, not reopened
    # another one, then the user comes back to the window: it is listed on activation
    cli_create(root, tmp_path / "hr", "second from cli")
    other = QWidget()
    qtbot.addWidget(other)
    other.show()
    with qtbot.waitActive(other):
        other.activateWindow()
    window.activateWindow()
    qtbot.waitUntil(lambda: len(list_names(window)) == 3)
    # opening it again raises the same window instead of a second one
    again = open_mos_window(root=root)
    assert again is window
    assert sum(isinstance(w, MosWindow) and w.root == root for w in QApplication.topLevelWidgets()) == 1
    window.close()



# ------------------------------------------------------------- defect 8: paired-comparison results
def all_plots(view):
    import pyqtgraph as pg

    return view.findChildren(pg.PlotWidget)


def test_paired_results_have_a_preference_matrix_and_no_empty_screens(qtbot, tmp_path):
    import numpy as np

    from srgan_desktop.mos.paired import analyse_pairs
    from srgan_desktop.ui.mos_results import ResultsView

    study = pc_study(tmp_path, raters=("a", "b", "c"))
    view = ResultsView()
    qtbot.addWidget(view)
    view.resize(1000, 640)
    view.show()
    qtbot.waitExposed(view)
    view.set_study(study)
    # the preference matrix the README promises: row preferred to column, with counts
    matrix = view.preference_table
    assert matrix.isVisible()
    names = [matrix.horizontalHeaderItem(c).text() for c in range(matrix.columnCount())]
    assert sorted(names) == sorted(CONDS) and matrix.rowCount() == 3
    assert [matrix.verticalHeaderItem(r).text() for r in range(3)] == names
    wins = analyse_pairs(study.rows(), list(CONDS)).wins
    cell = matrix.item(names.index("reference"), names.index("nearest")).text()
    assert cell.startswith(f"{wins['reference']['nearest']} of 9")
    assert matrix.item(names.index("nearest"), names.index("reference")).text().startswith("0 of 9")
    # no blank, unlabelled columns in the summary
    table = view.summary_table
    for c in range(table.columnCount()):
        assert table.horizontalHeaderItem(c).text()
        assert all(table.item(r, c).text() for r in range(table.rowCount()))
    # every tab shown has content; the score-only ones are hidden, and a note says so
    for index in range(view.tabs.count()):
        page = view.tabs.widget(index)
        if view.tabs.isTabVisible(index):
            tables = [page] if hasattr(page, "rowCount") else page.findChildren(type(table))
            assert any(t.rowCount() for t in tables), view.tabs.tabText(index)
    hidden = [view.tabs.tabText(i) for i in range(view.tabs.count()) if not view.tabs.isTabVisible(i)]
    assert {"Pairwise tests", "Raters", "Per image"} <= set(hidden)
    assert view.pair_note.isVisible() and "paired" in view.pair_note.text().lower()
    assert all(h in view.pair_note.text() for h in ("Pairwise tests", "rater screening", "per image"))
    # no "(x0.001)" axes, and every bar and interval inside its chart
    for plot in all_plots(view):
        for axis in ("left", "bottom"):
            assert plot.getAxis(axis).autoSIPrefixScale == 1.0
            assert "(x" not in plot.getAxis(axis).labelString()
    bars = view.mos_plot.bars.opts
    low, high = view.mos_plot.viewRange()[1]
    heights = np.asarray(bars["height"], dtype=float)
    assert min(heights.min(), 0) >= low and max(heights.max(), 0) <= high
    errors = view.mos_plot.errors.opts
    if errors["y"] is not None and len(errors["y"]):
        assert (errors["y"] - errors["height"] / 2 >= low).all() and (errors["y"] + errors["height"] / 2 <= high).all()
    # back to a score study: its columns, plots and tabs come back
    acr = build_study(tmp_path / "acr", calibration=0)
    view.set_study(acr)
    assert table.columnCount() == 9 and all(view.tabs.isTabVisible(i) for i in range(view.tabs.count()))
    assert not view.pair_note.isVisible() and not matrix.isVisible()
    acr.close()
    study.close()


# ------------------------------------------------------------- defect 14: the results window's parts
def test_results_window_does_not_widen_for_a_long_study_name(qtbot, tmp_path):
    from mos_util import rate_by_condition
    from srgan_desktop.ui.mos_window import MosWindow

    study = build_study(tmp_path, calibration=0,
                        name="A very long study name for the x4 pilot with twelve raters and two stations")
    rate_by_condition(study)
    study.close()
    window = MosWindow(root=tmp_path / "studies")
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    width = window.width()
    window.study_list.setCurrentRow(0)
    qtbot.wait(1)                       # the layout settles (not timed: one event loop pass)
    assert window.width() == width and window.results.minimumSizeHint().width() <= 900
    assert "A very long study name" in window.results.heading.text()
    window.close()


# ------------------------------------------------ defect 9: zero-width subject-model intervals
def test_zero_width_model_intervals_say_too_few(qtbot, tmp_path):
    import re
    import subprocess

    from mos_util import PYTHON, subprocess_env
    from srgan_desktop.ui.mos_results import ResultsView

    study = build_study(tmp_path, calibration=0)
    scores = {"r1": {"nearest": 1, "bicubic": 3, "reference": 5},   # uses 1–5, exactly the same each time
              "r2": {"nearest": 2, "bicubic": 3, "reference": 4}, "r3": {"nearest": 1, "bicubic": 2, "reference": 5}}
    for rater, by_condition in scores.items():
        session = study.start_session(rater)
        for k, t in enumerate(study.trials(session.id)):
            study.record_rating(session.id, t.position, by_condition[t.condition] - (rater == "r2" and k % 3 == 0), 500)
    view = ResultsView()
    qtbot.addWidget(view)
    view.set_study(study)
    same = re.compile(r"^\[(\S+), \1\]$")
    cells = [view.summary_table.item(r, c).text() for r in range(view.summary_table.rowCount())
             for c in range(view.summary_table.columnCount())]
    cells += [view.screening_table.item(r, c).text() for r in range(view.screening_table.rowCount())
              for c in range(view.screening_table.columnCount())]
    assert not [c for c in cells if same.match(c)]
    r1 = next(r for r in range(view.screening_table.rowCount()) if view.screening_table.item(r, 0).text() == "r1")
    assert view.screening_table.item(r1, 8).text() == "too few"        # bias 95% CI
    assert view.screening_table.item(r1, 10).text() == "too few"       # inconsistency 95% CI
    folder = study.folder
    study.close()
    out = subprocess.run([PYTHON, "-m", "srgan_desktop", "mos", "summary", str(folder)], env=subprocess_env(),
                         capture_output=True, text=True, timeout=300).stdout
    line = next(l for l in out.splitlines() if l.startswith("r1 ") and "too few" in l)
    assert line.count("too few") == 2 and not re.search(r"\[(\S+), \1\]", out)


def test_summary_json_has_null_not_nan_strings(qtbot, tmp_path):
    import json
    import subprocess

    from mos_util import PYTHON, subprocess_env
    from srgan_desktop.ui.mos_results import ResultsView

    study = build_study(tmp_path, calibration=0)
    session = study.start_session("only")                 # one rater: every CI is withheld
    for t in study.trials(session.id):
        study.record_rating(session.id, t.position, 3, 500)
    view = ResultsView()
    qtbot.addWidget(view)
    view.set_study(study)
    document = json.loads(view.export_to(tmp_path / "out" / "all.json").read_text())
    first = document["analysis"]["summary"][0]
    assert first["ci_low"] is None and first["ci_high"] is None
    assert '"nan"' not in json.dumps(document)
    folder = study.folder
    study.close()
    out = subprocess.run([PYTHON, "-m", "srgan_desktop", "mos", "summary", str(folder), "--json"],
                         env=subprocess_env(), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["summary"][0]["ci_low"] is None and '"nan"' not in out.stdout
    # a paired study's export carries its scale values and preferences, with null for a withheld CI
    pc = pc_study(tmp_path / "pc", raters=("a",))
    view.set_study(pc)
    document = json.loads(view.export_to(tmp_path / "out" / "pc.json").read_text())
    assert document["analysis"]["scale"][0]["ci_low"] is None and document["analysis"]["wins"]
    pc.close()


def test_bar_labels_never_overlap(qtbot):
    from PySide6.QtGui import QFontMetrics

    from srgan_desktop.ui.mos_results import MosBarPlot

    names = [f"a_rather_long_condition_name_{k}" for k in range(6)]
    plot = MosBarPlot()
    qtbot.addWidget(plot)
    plot.resize(360, 300)
    plot.show()
    qtbot.waitExposed(plot)
    plot.set_data(names, [1, 2, 3, 4, 5, 3], [0.5] * 6, [1.5] * 6)
    axis = plot.getAxis("bottom")
    labels = [text for _, text in axis._tickLevels[0]]
    metrics = QFontMetrics(axis.style.get("tickFont") or plot.font())
    left, right = plot.getViewBox().viewRange()[0]
    slot = plot.getViewBox().width() / (right - left)        # pixels between two bars' centres
    assert all(metrics.horizontalAdvance(t) <= slot for t in labels)
    assert all(t.endswith("…") for t in labels) and all(n in plot.toolTip() for n in names)


def test_save_plots_defaults_to_the_study_folder(qtbot, tmp_path, monkeypatch):
    from pathlib import Path

    from PySide6.QtWidgets import QFileDialog

    from mos_util import rate_by_condition
    from srgan_desktop.ui.mos_results import ResultsView

    monkeypatch.chdir(tmp_path)
    study = build_study(tmp_path, calibration=0)
    rate_by_condition(study)
    view = ResultsView()
    qtbot.addWidget(view)
    view.show()
    view.set_study(study)
    asked = []

    def answer(parent, title, default, filters):  # the user accepts the default name
        asked.append(default)
        return default, filters.split(";;")[0]

    monkeypatch.setattr(QFileDialog, "getSaveFileName", staticmethod(answer))
    qtbot.mouseClick(view.plots_button, Qt.MouseButton.LeftButton)
    assert Path(asked[0]).parent == study.folder
    assert sorted(p.name for p in study.folder.glob("pilot_*.png")) == [
        "pilot_distribution.png", "pilot_mean_rank.png", "pilot_mos_ci.png"]
    assert not list(tmp_path.glob("*.png"))                  # nothing in the working directory
    study.close()


# ---------------------------------------------- issue 20 item 2: the MOS jobs use WorkerJobs, with cancel
class Gate:
    """Holds the worker thread inside a step until the test has pressed Cancel."""

    def __init__(self, real, hold_at: int) -> None:
        import threading

        self.real, self.hold_at, self.calls = real, hold_at, 0
        self.reached, self.open = threading.Event(), threading.Event()

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls == self.hold_at:
            self.reached.set()
            self.open.wait(60)        # a safety net only: the test opens it right after Cancel
        return self.real(*args, **kwargs)


def test_cancel_stops_rendering_a_study(qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QDialogButtonBox

    import srgan_desktop.mos.stimuli as stimuli
    from srgan_desktop.ui.jobs import WorkerJobs
    from srgan_desktop.ui.mos_editor import StudyEditor

    gate = Gate(stimuli.save_image, hold_at=2)
    monkeypatch.setattr(stimuli, "save_image", gate)
    root = tmp_path / "studies"
    editor = StudyEditor(root=root)
    qtbot.addWidget(editor)
    assert isinstance(editor.jobs, WorkerJobs)
    editor.name_edit.setText("to cancel")
    editor.images_edit.setText(str(write_hr_images(tmp_path / "hr")))
    for key, box in editor.condition_boxes.items():
        box.setChecked(key in CONDS)
    editor.device_edit.setText("cpu")
    editor.show()
    qtbot.mouseClick(editor.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(gate.reached.is_set)
    assert editor.busy and not editor.create_button.isEnabled()
    qtbot.mouseClick(editor.buttons.button(QDialogButtonBox.StandardButton.Cancel), Qt.MouseButton.LeftButton)
    gate.open.set()
    qtbot.waitUntil(lambda: not editor.busy)
    assert "Cancelled" in editor.message.text() and editor.isVisible()
    assert gate.calls == 2 < 3 * len(CONDS)                  # it stopped after the stimulus in hand
    assert not root.exists() or not any(root.iterdir())     # nothing created, no scratch folder left
    assert editor.create_button.isEnabled() and editor.jobs.tasks is None   # its thread is gone
    editor.close()


def test_cancel_stops_the_metric_agreement(qtbot, tmp_path, monkeypatch):
    import srgan_desktop.core.measures as measures
    from mos_util import rate_by_condition
    from srgan_desktop.ui.mos_results import ResultsView

    study = build_study(tmp_path, calibration=0)
    rate_by_condition(study)
    import srgan_desktop.core.lpips_metric as lpips_metric

    monkeypatch.setattr(lpips_metric, "lpips_missing", lambda *a, **k: "no LPIPS weights here")  # fast
    gate = Gate(measures.measure, hold_at=1)
    monkeypatch.setattr(measures, "measure", gate)
    view = ResultsView()
    qtbot.addWidget(view)
    view.show()
    view.set_study(study)
    view.tabs.setCurrentIndex(next(i for i in range(view.tabs.count()) if view.tabs.tabText(i) == "Metrics"))
    qtbot.mouseClick(view.agreement_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: gate.reached.is_set() or not view.jobs.busy, timeout=60_000)
    assert gate.reached.is_set(), view.agreement_status.text()
    assert view.jobs.busy and view.agreement_cancel.isVisible() and not view.agreement_button.isEnabled()
    qtbot.mouseClick(view.agreement_cancel, Qt.MouseButton.LeftButton)
    gate.open.set()
    qtbot.waitUntil(lambda: not view.jobs.busy)
    assert gate.calls == 1 < len(study.stimuli)              # one stimulus measured, then it stopped
    assert view.agreement is None and view.agreement_table.rowCount() == 0
    assert "Cancelled" in view.agreement_status.text()
    assert view.agreement_button.isEnabled() and not view.agreement_cancel.isVisible()
    assert view.jobs.tasks is None
    # and it still runs to the end when not cancelled
    monkeypatch.setattr(measures, "measure", gate.real)
    view.compute_agreement(wait=True, metrics=("psnr",), resamples=20)
    assert view.agreement is not None and view.agreement_table.rowCount() == 1
    study.close()
