"""The MOS Qt side, with real widgets offscreen: the blind rating panel, results, editor, window."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QAbstractButton, QLabel, QLineEdit, QProgressBar, QWidget

from mos_util import IMAGE_NAMES, build_study, shown_panel, write_hr_images
from srgan_desktop.core.images import load_image
from srgan_desktop.mos.ratings_file import read_csv
from srgan_desktop.mos.store import Study
from srgan_desktop.ui.mos_panel import (BREAK, DONE, LOGIN, MID_GREY, RATING, RATING_TITLE, RatingPanel,
                                        StimulusView, placement)

pytestmark = pytest.mark.gui


def visible_strings(root: QWidget) -> list[str]:
    """Every string a rater (or a screen reader) could get from the widget tree."""
    widgets = [root, root.window(), *root.findChildren(QWidget)]
    found = []
    for w in widgets:
        found += [w.windowTitle(), w.toolTip(), w.accessibleName(), w.accessibleDescription(),
                  w.statusTip(), w.whatsThis(), w.windowIconText()]
        if isinstance(w, (QLabel, QAbstractButton, QLineEdit)):
            found.append(w.text())
        if isinstance(w, QLineEdit):
            found.append(w.placeholderText())
        if isinstance(w, QProgressBar):
            found.append(w.text())
    return [s for s in found if s]


def forbidden_words(study: Study, extra: tuple[str, ...] = ()) -> set[str]:
    words = set(extra) | set(IMAGE_NAMES) | {study.name, study.folder.name, ".png", "stimuli"}
    for cond in study.design.conditions:
        words |= {cond.key, cond.label, cond.title}
        if cond.model:
            words.add(cond.model.rsplit("/", 1)[-1].rsplit(".", 1)[0])
    for stim in study.stimuli.values():
        words |= {stim.id, stim.file.rsplit("/", 1)[-1]}
    return {w.casefold() for w in words if w}


def assert_blind(panel: RatingPanel, words: set[str]) -> None:
    for text in visible_strings(panel):
        low = text.casefold()
        leaks = [w for w in words if w in low]
        assert not leaks, f"the rating panel shows {leaks!r} in {text!r}"


@pytest.fixture
def panel_for(qtbot):
    def make(study: Study, rater: str = "") -> RatingPanel:
        return shown_panel(qtbot, study, rater)
    return make


def shown_pixels_match(panel: RatingPanel, study: Study) -> bool:
    expected = load_image(study.stimulus_path(panel.trial.stimulus_id)).rgb
    return np.array_equal(panel.viewer.image(), expected)


def test_whole_session_is_blind_calibrated_paused_and_resumed(qtbot, tmp_path, tiny_model_file, panel_for):
    study = build_study(tmp_path, tiny_model_file, calibration=1)
    words = forbidden_words(study, extra=(tiny_model_file.stem,))
    panel = panel_for(study)
    assert panel.windowTitle() == RATING_TITLE and isinstance(panel.viewer, StimulusView)
    assert_blind(panel, words)

    qtbot.keyClicks(panel.rater_edit, "rater-07")
    qtbot.mouseClick(panel.start_button, Qt.MouseButton.LeftButton)
    # calibration: the anchors with their scores, never recorded
    anchors = []
    while panel._calibration:
        assert_blind(panel, words)
        anchors.append(panel.anchor_label.text())
        assert not any(b.isVisible() for b in panel.score_buttons)
        qtbot.mouseClick(panel.next_button, Qt.MouseButton.LeftButton)
    assert ["score 1" in anchors[0], "score 5" in anchors[1], len(anchors)] == [True, True, 2]
    session = study.find_session("rater-07")
    assert session.calibrated_at is not None and study.rows() == []

    total = session.total
    assert total == len(IMAGE_NAMES) * 4
    for k in range(total // 2):
        assert panel.page == RATING and panel.progress_label.text() == f"Image {k + 1} of {total}"
        assert shown_pixels_match(panel, study)
        assert_blind(panel, words)
        if k % 2:
            qtbot.keyClick(panel, Qt.Key.Key_4)
        else:
            qtbot.mouseClick(panel.score_buttons[1], Qt.MouseButton.LeftButton)
    assert [r.score for r in study.rows()] == [2, 4] * (total // 4) + [2] * (total // 2 % 2)

    qtbot.mouseClick(panel.pause_button, Qt.MouseButton.LeftButton)
    assert panel.page == LOGIN and f"{total // 2} of {total}" in panel.login_status.text()
    assert_blind(panel, words)

    # resume (as another window would): straight to the next unrated trial, no calibration
    qtbot.keyClicks(panel.rater_edit, "RATER-07")
    qtbot.keyClick(panel.rater_edit, Qt.Key.Key_Return)
    assert panel.page == RATING and not panel._calibration
    assert panel.trial.position == total // 2
    while panel.page == RATING:
        assert shown_pixels_match(panel, study)
        assert_blind(panel, words)
        assert panel.rate(5)
    assert panel.page == DONE
    assert_blind(panel, words)
    rows = study.rows()
    assert len(rows) == total and [r.trial_index for r in rows] == list(range(total))
    assert all(r.response_ms >= 0 for r in rows)
    study.close()


def test_minimum_viewing_time_locks_the_scores(qtbot, tmp_path, panel_for):
    study = build_study(tmp_path, calibration=0, min_view_s=0.4)
    panel = panel_for(study, rater="slow")
    panel.start()
    assert panel.page == RATING and not panel.scores_enabled()
    assert not any(b.isEnabled() for b in panel.score_buttons)
    assert not panel.rate(3)
    qtbot.keyClick(panel, Qt.Key.Key_3)
    assert study.rows() == []
    assert "look at the image" in panel.wait_label.text()
    qtbot.waitUntil(panel.scores_enabled, timeout=3000)
    assert panel.rate(3)
    assert study.rows()[0].response_ms >= 400
    assert not panel.scores_enabled()  # locked again for the next trial
    study.close()


def test_a_failed_write_is_reported_and_never_strands_the_rater(qtbot, tmp_path, panel_for, monkeypatch):
    from srgan_desktop.mos.store import StoreError

    study = build_study(tmp_path, calibration=1)
    panel = panel_for(study, rater="dora")

    def disk_full(*_args, **_kwargs):
        raise StoreError("the study could not be written (database or disk is full); nothing was saved")

    monkeypatch.setattr(study, "mark_calibrated", disk_full)
    panel.start()
    while panel._calibration:
        panel.next_example()
    assert panel.page == RATING and panel.trial is not None  # not stuck on the last example
    monkeypatch.setattr(study, "record_rating", disk_full)
    position = panel.trial.position
    assert not panel.rate(3)
    assert "could not be saved" in panel.status_label.text() and panel.trial.position == position
    study.close()


def test_two_windows_on_one_rater_never_double_record(qtbot, tmp_path, panel_for):
    first = build_study(tmp_path, calibration=0)
    second = Study.open(first.path)
    a, b = panel_for(first, rater="twin"), panel_for(second, rater="twin")
    a.start()
    b.start()
    assert a.trial.position == b.trial.position == 0
    assert a.rate(1)
    assert b.rate(5)          # trial 0 was taken: b moves on without recording it
    assert b.trial.position == 1
    rows = first.rows()
    assert [(r.trial_index, r.score) for r in rows] == [(0, 1)]
    second.close()
    first.close()


def test_results_view_tables_plots_and_export(qtbot, tmp_path):
    from srgan_desktop.ui.mos_results import ResultsView

    study = build_study(tmp_path, calibration=0, replicates=2)
    for k, rater in enumerate(("r1", "r2", "r3")):
        session = study.start_session(rater)
        for trial in study.trials(session.id):
            base = {"nearest": 1, "bicubic": 3, "reference": 5}[trial.condition]
            study.record_rating(session.id, trial.position, max(1, base - (trial.position + k) % 2), 900)
    view = ResultsView()
    qtbot.addWidget(view)
    view.show()
    view.set_study(study)
    table = view.summary_table
    assert table.rowCount() == 3
    assert [table.item(r, 0).text() for r in range(3)] == ["nearest", "bicubic", "reference"]
    assert table.item(0, 1).text() == str(3 * len(IMAGE_NAMES) * 2)
    assert view.pairwise_table.rowCount() == 3 and view.screening_table.rowCount() == 3
    assert view.distribution_plot.image.image.shape == (3, 5)
    assert view.rank_plot.bars.opts["height"][0] == pytest.approx(view.analysis.mean_ranks["nearest"])
    assert "Test–retest over" in view.retest_label.text()
    view.exclude_box.setChecked(True)  # nobody is flagged here: same numbers
    assert view.analysis.excluded == []
    path = view.export_to(tmp_path / "results.csv")
    assert read_csv(path) == study.rows()
    # 3 raters: warnings, the subject model beside MOS, bias/inconsistency per rater, per image
    assert "BT.500 screening cannot flag anyone" in view.warnings_label.text()
    assert view.summary_table.item(0, 7).text() != "–"          # model score
    assert view.screening_table.columnCount() == 11
    assert view.screening_table.item(0, 7).text().startswith(("+", "-"))   # bias
    assert view.image_table.rowCount() == 3 * len(IMAGE_NAMES)
    assert view.mos_plot.bars.opts["height"][2] > view.mos_plot.bars.opts["height"][0]
    # the metric agreement, in the background thread (waited for here)
    view.compute_agreement(wait=True, metrics=("psnr", "ssim", "niqe"), resamples=50)
    rows = {view.agreement_table.item(r, 0).text(): r for r in range(view.agreement_table.rowCount())}
    assert set(rows) == {"psnr", "ssim", "niqe"}
    assert view.agreement_table.item(rows["psnr"], 2).text() not in ("", "–")
    assert "too small for NIQE" in view.agreement_table.item(rows["niqe"], 8).text()
    assert len(view.agreement_plots["psnr"].points.data) == 6
    # every plot as PNG and as SVG
    saved = view.save_plots(tmp_path / "plots" / "pilot.png")
    assert len(saved) == 3 + 4 and all(p.stat().st_size > 1000 and p.suffix == ".png" for p in saved)
    svg = view.save_plots(tmp_path / "plots" / "pilot.svg")
    assert all(p.read_text(encoding="utf-8").lstrip().startswith("<?xml") for p in svg)
    import json
    document = json.loads(view.export_to(tmp_path / "all.json").read_text())
    assert document["analysis"]["agreement"]["metrics"][0]["metric"] == "psnr"
    study.close()


def test_editor_creates_a_study_with_the_engine(qtbot, tmp_path, tiny_model_file, monkeypatch):
    import shutil

    from srgan_desktop import paths
    from srgan_desktop.ui.mos_editor import StudyEditor

    resources = tmp_path / "resources"
    (resources / "weights").mkdir(parents=True)
    shutil.copy(paths.weights_dir() / "srgan_x4.json", resources / "weights")  # a card, no weights
    monkeypatch.setenv("SRGAN_DESKTOP_RESOURCES", str(resources))
    root = tmp_path / "studies"
    editor = StudyEditor(root=root)
    qtbot.addWidget(editor)
    assert not editor.condition_boxes["srgan"].isEnabled()  # its weights file is missing
    assert "unavailable" in editor.condition_boxes["srgan"].toolTip()
    editor.create()
    assert "name" in editor.message.text()  # nothing filled in yet
    editor.name_edit.setText("From the editor")
    editor.images_edit.setText(str(write_hr_images(tmp_path / "hr")))
    editor._scan_images()
    assert editor.images_label.text().startswith("3 image(s)")
    editor.condition_boxes["srresnet"].setChecked(False)
    editor.add_model(tiny_model_file)
    editor.replicate_spin.setValue(2)
    editor.min_view_spin.setValue(1.5)
    editor.seed_spin.setValue(42)
    editor.magnification_spin.setValue(2)
    editor.grey_spin.setValue(0.5)
    editor.break_spin.setValue(10)
    editor.instructions_edit.setPlainText("Judge the detail.")
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    for name in IMAGE_NAMES:   # results made elsewhere, named like the sources, HR-sized
        (theirs / f"{name}.png").write_bytes((tmp_path / "hr" / f"{name}.png").read_bytes())
    editor.add_results_folder(theirs, "mine")
    editor.device_edit.setText("cpu")
    with qtbot.waitSignal(editor.created, timeout=60_000) as created:
        editor.create()
    with Study.open(created.args[0]) as study:
        assert study.folder == root / "From-the-editor"
        assert study.design.condition_keys == ["nearest", "bicubic", "reference", "tiny_x4", "mine"]
        assert (study.design.replicates, study.design.min_view_ms, study.design.seed) == (2, 1500, 42)
        d = study.design
        assert (d.magnification, d.grey_ms, d.break_every, d.instructions, d.kind) == (
            2, 500, 10, "Judge the detail.", "acr")
        assert len(study.stimuli) == 3 * 5
        assert d.scale == 4  # the default
    editor.scale_combo.setCurrentIndex(editor.scale_combo.findData(2))
    assert editor.design().scale == 2  # a ×2 study; its ×4 tiny model is refused when rendering


def test_mos_window_lists_opens_and_starts_rating(qtbot, tmp_path):
    from srgan_desktop.ui.mos_window import open_mos_window

    build_study(tmp_path, calibration=0).close()
    window = open_mos_window(root=tmp_path / "studies")
    qtbot.addWidget(window)
    assert window.study_list.count() == 1
    window.study_list.setCurrentRow(0)
    assert window.study is not None and window.results.summary_table.rowCount() == 0
    assert "verified" in window.status.text()
    rating = window.start_rating(rater="w1")
    assert rating.windowTitle() == RATING_TITLE
    assert window.isMinimized()  # the results (which name methods) leave the screen
    rating.panel.start()
    assert rating.panel.rate(4)
    rating.panel.pause()
    assert window.results.summary_table.rowCount() == 1  # results refreshed on pause
    rating.toggle_full_screen()
    assert rating.isFullScreen()
    rating.close()
    qtbot.waitUntil(lambda: not window.rating_windows and not window.isMinimized())
    window.close()


def test_mos_rate_command_opens_the_rating_window(qtbot, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from srgan_desktop.__main__ import main
    from srgan_desktop.ui.mos_window import RatingWindow

    build_study(tmp_path, calibration=0).close()
    seen = []

    def look_and_quit() -> None:
        windows = [w for w in QApplication.topLevelWidgets()
                   if isinstance(w, RatingWindow) and w.isVisible()]
        seen.extend((w.windowTitle(), w.panel.rater_edit.text()) for w in windows)
        for w in windows:
            w.close()  # closing the last window ends app.exec(); an extra quit() would stay
            # pending and end the next test's event loop at once
        if not windows:
            QApplication.instance().exit(1)  # no rating window: end the app, the assert below fails

    QTimer.singleShot(300, look_and_quit)
    root = str(tmp_path / "studies")
    assert main(["mos", "rate", "pilot", "--root", root, "--rater", "cli-rater"]) == 0
    assert seen == [(RATING_TITLE, "cli-rater")]
    assert main(["mos", "rate", "missing", "--root", root]) == 2


def grab_array(widget: QWidget) -> np.ndarray:
    image = widget.grab().toImage().convertToFormat(widget.grab().toImage().Format.Format_RGB888)
    ptr = image.constBits()
    return np.frombuffer(ptr, np.uint8, image.sizeInBytes()).reshape(
        image.height(), image.bytesPerLine())[:, :image.width() * 3].reshape(image.height(), image.width(), 3).copy()


def test_placement_is_in_device_pixels_and_centred():
    # a 288-px image on a 1.25-DPR screen: 288 device pixels = 230.4 logical pixels, never 360
    rect = placement(800, 600, 1.25, 288, 200, 1)
    assert rect.width() * 1.25 == pytest.approx(288) and rect.height() * 1.25 == pytest.approx(200)
    assert (rect.left() * 1.25) == (1000 - 288) // 2 and rect.top() * 1.25 == (750 - 200) // 2
    rect = placement(800, 600, 2.0, 100, 50, 3)
    assert (rect.width() * 2, rect.height() * 2) == (300, 150)
    assert float(rect.left() * 2).is_integer() and float(rect.top() * 2).is_integer()


@pytest.mark.parametrize("magnification", [1, 3])
def test_stimuli_are_shown_at_a_fixed_magnification_on_mid_grey(qtbot, tmp_path, panel_for, magnification):
    study = build_study(tmp_path, calibration=0, magnification=magnification)
    panel = panel_for(study, rater="pixel")
    panel.start()
    assert panel.page == RATING
    view = panel.viewer
    assert view.devicePixelRatioF() == 1.0  # offscreen
    shot = grab_array(view)
    rect = view.shown_rect()
    expected = np.kron(load_image(study.stimulus_path(panel.trial.stimulus_id)).rgb,
                       np.ones((magnification, magnification, 1), dtype=np.uint8))
    top, left = int(rect.top()), int(rect.left())
    h, w = expected.shape[:2]
    np.testing.assert_array_equal(shot[top:top + h, left:left + w], expected)
    # centred (to the pixel) on mid-grey; the same magnification whatever the window size
    assert abs(left - (shot.shape[1] - w - left)) <= 1 and abs(top - (shot.shape[0] - h - top)) <= 1
    grey = np.array(MID_GREY, dtype=np.uint8)
    assert (shot[:top] == grey).all() and (shot[:, :left] == grey).all()
    assert (shot[top + h:] == grey).all() and (shot[:, left + w:] == grey).all()
    panel.resize(900, 700)
    qtbot.wait(20)
    assert view.shown_rect().width() == w
    sitting = study.sittings()[0]
    assert sitting.display.magnification == magnification and sitting.display.device_pixel_ratio == 1.0
    assert sitting.display.screen_width > 0
    study.close()


def test_grey_screen_between_stimuli_locks_the_scores(qtbot, tmp_path, panel_for):
    study = build_study(tmp_path, calibration=0, grey_s=0.3)
    panel = panel_for(study, rater="grey")
    panel.start()
    assert not panel.viewer.is_grey and panel.scores_enabled()  # no grey before the first image
    assert panel.rate(3)
    assert panel.viewer.is_grey and not panel.scores_enabled() and not panel.rate(4)
    shot = grab_array(panel.viewer)
    assert (shot == np.array(MID_GREY, dtype=np.uint8)).all()
    qtbot.waitUntil(panel.scores_enabled, timeout=3000)
    assert not panel.viewer.is_grey and shown_pixels_match(panel, study)
    assert len(study.rows()) == 1
    study.close()


def test_rating_refuses_to_start_on_a_screen_too_small(qtbot, tmp_path, panel_for):
    study = build_study(tmp_path, calibration=0, magnification=8)
    panel = panel_for(study, rater="tiny")
    display = panel.display()
    largest = panel.largest_stimulus()
    assert largest == (40, 32)
    # the offscreen screen is 800×600: 40 × 8 = 320 fits, so shrink what the panel is told
    panel.display = lambda: display.__class__(300, 200, 1.0, 8)
    panel.start()
    assert panel.page == LOGIN and "cannot show the largest image" in panel.login_status.text()
    assert "320×256" in panel.login_status.text() and study.sessions() == []
    study.close()


def test_instructions_break_prompt_and_sittings(qtbot, tmp_path, panel_for):
    study = build_study(tmp_path, calibration=0, instructions="Rate the sharpness only.",
                        break_every=4)
    panel = panel_for(study, rater="breaker")
    assert panel.instructions_label.text() == "Rate the sharpness only."
    panel.start()
    for _ in range(4):
        assert panel.rate(2)
    assert panel.page == BREAK and "4 of 9" in panel.break_label.text()
    assert not panel.rate(2) and len(study.rows()) == 4
    qtbot.keyClick(panel, Qt.Key.Key_Return)
    assert panel.page == RATING and panel.rate(3)
    panel.pause()
    panel.rater_edit.setText("breaker")
    panel.start()
    while panel.page in (RATING, BREAK):
        if panel.page == BREAK:
            panel.end_break()
        else:
            assert panel.rate(4)
    rows = study.rows()
    assert [r.sitting for r in rows] == [1] * 5 + [2] * 4
    sittings = study.sittings()
    assert [s.ratings for s in sittings] == [5, 4] and all(s.ended_at >= s.started_at for s in sittings)
    study.close()


def test_results_view_refuses_a_study_edited_outside_the_app(qtbot, tmp_path):
    import sqlite3

    from srgan_desktop.ui.mos_results import ResultsView

    study = build_study(tmp_path, calibration=0)
    session = study.start_session("r1")
    for trial in study.trials(session.id):
        study.record_rating(session.id, trial.position, 3, 900)
    raw = sqlite3.connect(study.path)
    image = raw.execute("SELECT MIN(image) FROM stimuli").fetchone()[0]
    for a, b in (("nearest", "#"), ("bicubic", "nearest"), ("#", "bicubic")):  # swap two conditions
        raw.execute("UPDATE stimuli SET condition = ? WHERE condition = ? AND image = ?", (b, a, image))
    raw.commit()
    raw.close()
    view = ResultsView()
    qtbot.addWidget(view)
    view.set_study(study)
    assert "Results refused" in view.heading.text() and "seal no longer matches" in view.heading.text()
    assert view.rows == [] and view.summary_table.rowCount() == 0
