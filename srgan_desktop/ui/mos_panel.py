"""The rating panel: what a rater sees during a MOS study, and nothing more.

Blindness is the point of this widget: no condition name, stimulus file name, study name or
image name is ever put into a widget's text, title, tooltip or accessible name.  The panel
only knows trial positions and stimulus *paths*, and it only hands pixels to the viewer.

Flow: rater ID → (calibration examples, once per rater) → trials in the rater's own random
order, each score committed to the study database before the next image is shown → thanks.
Pausing (or closing the window) keeps everything; entering the same ID resumes at the first
unrated trial.
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
                               QSizePolicy, QStackedWidget, QVBoxLayout, QWidget)

from srgan_desktop.core.images import ImageLoadError, load_image
from srgan_desktop.mos.design import SCORE_LABELS, DesignError
from srgan_desktop.mos.store import Session, SessionTrial, StoreError, Study, TrialAlreadyRated
from srgan_desktop.ui.image_pane import ImagePane

__all__ = ["RatingPanel", "RATING_TITLE", "INSTRUCTIONS"]

RATING_TITLE = "Image quality rating"
INSTRUCTIONS = (
    "You will see a series of images, one at a time. Rate the quality of each image on a scale "
    "from 1 to 5:\n\n"
    "    1  Bad    ·    2  Poor    ·    3  Fair    ·    4  Good    ·    5  Excellent\n\n"
    "Click a score or press the keys 1–5. You may zoom (mouse wheel) and pan (drag) the image. "
    "There are no right or wrong answers; give your own impression. You can pause at any time "
    "and continue later with the same ID.")

LOGIN, RATING, DONE = 0, 1, 2


class RatingPanel(QWidget):
    """Runs one rater's session of ``study``; emits ``finished`` when every trial is rated."""

    finished = Signal()
    paused = Signal()

    def __init__(self, study: Study, parent: QWidget | None = None, rater: str = "") -> None:
        super().__init__(parent)
        self.study = study
        self.session: Session | None = None
        self.trial: SessionTrial | None = None
        self._calibration: list[tuple[int, object]] = []
        self._calibration_index = 0
        self._elapsed = QElapsedTimer()
        self._unlock = QTimer(self)
        self._unlock.setSingleShot(True)
        self._unlock.setTimerType(Qt.TimerType.PreciseTimer)
        self._unlock.timeout.connect(self._enable_scores)
        self._countdown = QTimer(self)
        self._countdown.setInterval(250)
        self._countdown.timeout.connect(self._update_wait)
        self.setWindowTitle(RATING_TITLE)
        self.setAccessibleName(RATING_TITLE)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)

        self.pages = QStackedWidget()
        self.pages.addWidget(self._build_login(rater))
        self.pages.addWidget(self._build_rating())
        self.pages.addWidget(self._build_done())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)

        self._shortcuts = []
        for score in range(1, 6):
            for key in (str(score), f"Num+{score}"):
                shortcut = QShortcut(QKeySequence(key), self)
                shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
                shortcut.activated.connect(lambda s=score: self.rate(s))
                self._shortcuts.append(shortcut)
        for key in ("Return", "Enter", "Space"):
            shortcut = QShortcut(QKeySequence(key), self)
            shortcut.setContext(Qt.ShortcutContext.WindowShortcut)
            shortcut.activated.connect(self._confirm_key)
            self._shortcuts.append(shortcut)

    # ------------------------------------------------------------------ pages
    def _build_login(self, rater: str) -> QWidget:
        page = QWidget()
        title = QLabel(RATING_TITLE)
        font = QFont(title.font())
        font.setPointSize(font.pointSize() + 6)
        font.setBold(True)
        title.setFont(font)
        text = QLabel(INSTRUCTIONS)
        text.setWordWrap(True)
        self.rater_edit = QLineEdit(rater)
        self.rater_edit.setPlaceholderText("Your rater ID")
        self.rater_edit.setAccessibleName("Rater ID")
        self.rater_edit.setMaxLength(64)
        self.rater_edit.returnPressed.connect(self.start)
        self.start_button = QPushButton("Start")
        self.start_button.setAccessibleName("Start rating")
        self.start_button.clicked.connect(self.start)
        self.login_status = QLabel("")
        self.login_status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(QLabel("Rater ID:"))
        row.addWidget(self.rater_edit, 1)
        row.addWidget(self.start_button)
        box = QVBoxLayout()
        box.addStretch(1)
        box.addWidget(title)
        box.addSpacing(12)
        box.addWidget(text)
        box.addSpacing(12)
        box.addLayout(row)
        box.addWidget(self.login_status)
        box.addStretch(2)
        outer = QHBoxLayout(page)
        outer.addStretch(1)
        outer.addLayout(box, 3)
        outer.addStretch(1)
        return page

    def _build_rating(self) -> QWidget:
        page = QWidget()
        self.progress_label = QLabel("")
        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(False)
        self.progress_bar.setAccessibleName("Progress")
        self.progress_bar.setMaximumHeight(10)
        self.fit_button = QPushButton("Fit image")
        self.fit_button.setAccessibleName("Fit the image to the window")
        self.fit_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.pause_button = QPushButton("Pause")
        self.pause_button.setAccessibleName("Pause and continue later")
        self.pause_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.pause_button.clicked.connect(self.pause)
        top = QHBoxLayout()
        top.addWidget(self.progress_label)
        top.addWidget(self.progress_bar, 1)
        top.addWidget(self.fit_button)
        top.addWidget(self.pause_button)

        self.viewer = ImagePane(show_title=False, show_readout=False)
        self.viewer.setAccessibleName("Image to rate")
        self.viewer.set_crosshair_enabled(False)
        self.fit_button.clicked.connect(self.viewer.fit)

        self.anchor_label = QLabel("")
        self.anchor_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        big = QFont(self.anchor_label.font())
        big.setPointSize(big.pointSize() + 3)
        big.setBold(True)
        self.anchor_label.setFont(big)
        self.next_button = QPushButton("Next example")
        self.next_button.setAccessibleName("Next example")
        self.next_button.clicked.connect(self.next_example)

        self.score_buttons: list[QPushButton] = []
        scores = QHBoxLayout()
        for score, label in SCORE_LABELS.items():
            button = QPushButton(f"{score}\n{label}")
            button.setAccessibleName(f"Score {score}: {label}")
            button.setToolTip(f"{label} (key {score})")
            button.setMinimumHeight(56)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            button.clicked.connect(lambda _=False, s=score: self.rate(s))
            self.score_buttons.append(button)
            scores.addWidget(button)
        self.wait_label = QLabel("")
        self.wait_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status_label = QLabel("")
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        layout = QVBoxLayout(page)
        layout.addLayout(top)
        layout.addWidget(self.viewer, 1)
        layout.addWidget(self.anchor_label)
        layout.addWidget(self.next_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addLayout(scores)
        layout.addWidget(self.wait_label)
        layout.addWidget(self.status_label)
        return page

    def _build_done(self) -> QWidget:
        page = QWidget()
        self.done_label = QLabel("")
        self.done_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.done_label.setWordWrap(True)
        again = QPushButton("Next rater")
        again.setAccessibleName("Next rater")
        again.clicked.connect(self._to_login)
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(self.done_label)
        layout.addWidget(again, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        return page

    # ------------------------------------------------------------------ state
    @property
    def page(self) -> int:
        return self.pages.currentIndex()

    def scores_enabled(self) -> bool:
        return self.page == RATING and self.trial is not None and self.score_buttons[0].isEnabled()

    def start(self) -> None:
        """Begin or resume the session of the rater ID typed in."""
        try:
            self.session = self.study.start_session(self.rater_edit.text())
        except (DesignError, StoreError) as exc:
            self.login_status.setText(str(exc))
            return
        self.login_status.setText("")
        if self.session.complete:
            self._show_done(already=True)
            return
        self.pages.setCurrentIndex(RATING)
        self.setFocus()  # keys 1–5 reach the panel, not the hidden ID field
        if self.session.calibrated_at is None and self.study.design.calibration_images:
            self._calibration = list(enumerate(self.study.calibration()))
            self._calibration_index = 0
            self._show_example()
        else:
            self._show_next_trial()

    def pause(self) -> None:
        """Stop here; every score given so far is already saved."""
        self._stop_timers()
        self.trial = None
        session = self.study.session(self.session.id) if self.session else None
        self._to_login()
        if session is not None:
            self.login_status.setText(
                f"Paused after {session.rated} of {session.total} images. Enter your ID and press "
                f"Start to continue where you stopped.")
        self.paused.emit()

    def _to_login(self) -> None:
        self._stop_timers()
        self.session = None
        self.trial = None
        self.viewer.clear()
        self.rater_edit.clear()
        self.login_status.setText("")
        self.pages.setCurrentIndex(LOGIN)
        self.rater_edit.setFocus()

    def _stop_timers(self) -> None:
        self._unlock.stop()
        self._countdown.stop()

    def _show_image(self, path) -> bool:
        try:
            rgb = load_image(path).rgb
        except ImageLoadError:
            self.status_label.setText("This image could not be loaded. Please tell the experimenter.")
            self.viewer.clear()
            return False
        self.viewer.set_image(rgb)
        self.viewer.fit()
        return True

    # ------------------------------------------------------------ calibration
    def _show_example(self) -> None:
        index, (example, path) = self._calibration[self._calibration_index]
        total = len(self._calibration)
        self.trial = None
        self.progress_label.setText(f"Example {index + 1} of {total}")
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(index)
        label = SCORE_LABELS[example.score]
        quality = "the lowest" if example.score == 1 else "the highest"
        self.anchor_label.setText(f"This image is an example of score {example.score} ({label}): "
                                  f"{quality} quality you will see.")
        self._set_mode(calibrating=True)
        self._show_image(path)

    def next_example(self) -> None:
        if self.page != RATING or not self._calibration:
            return
        self._calibration_index += 1
        if self._calibration_index < len(self._calibration):
            self._show_example()
            return
        self._calibration = []
        if self.session is not None:
            try:
                self.study.mark_calibrated(self.session.id)
            except StoreError:
                pass  # not recorded: the examples are shown again on resume; the trials go on
        self._show_next_trial()

    def _confirm_key(self) -> None:
        """Return/Enter/Space: start from the ID field, or go on to the next example."""
        if self.page == LOGIN:
            self.start()
        elif self._calibration:
            self.next_example()

    # ----------------------------------------------------------------- trials
    def _set_mode(self, calibrating: bool) -> None:
        self.anchor_label.setVisible(calibrating)
        self.next_button.setVisible(calibrating)
        for button in self.score_buttons:
            button.setVisible(not calibrating)
        self.wait_label.setVisible(not calibrating)
        self.status_label.setText("")

    def _show_next_trial(self) -> None:
        assert self.session is not None
        self._stop_timers()
        session = self.study.session(self.session.id)
        self.trial = self.study.next_trial(session.id)
        if self.trial is None:
            self._show_done(already=False)
            return
        self.progress_label.setText(f"Image {session.rated + 1} of {session.total}")
        self.progress_bar.setRange(0, session.total)
        self.progress_bar.setValue(session.rated)
        self._set_mode(calibrating=False)
        if not self._show_image(self.study.stimulus_path(self.trial.stimulus_id)):
            self._set_scores_enabled(False)
            return
        self._elapsed.start()
        wait = self.study.design.min_view_ms
        self._set_scores_enabled(wait <= 0)
        if wait > 0:
            self._unlock.start(wait)
            self._countdown.start()
            self._update_wait()

    def _set_scores_enabled(self, enabled: bool) -> None:
        for button in self.score_buttons:
            button.setEnabled(enabled)
        self.wait_label.setText("" if enabled else "Please look at the image first…")

    def _viewing_left_ms(self) -> int:
        return max(0, self.study.design.min_view_ms - int(self._elapsed.elapsed()))

    def _enable_scores(self) -> None:
        left = self._viewing_left_ms()
        if left > 0:  # a timer may fire a little early: never unlock before the time is up
            self._unlock.start(left)
            return
        self._countdown.stop()
        self._set_scores_enabled(True)

    def _update_wait(self) -> None:
        left = self._viewing_left_ms()
        self.wait_label.setText(f"Please look at the image first… ({(left + 999) // 1000} s)")

    def rate(self, score: int) -> bool:
        """Record ``score`` for the current trial (ignored while scoring is locked)."""
        if (not self.scores_enabled() or self.trial is None or self.session is None
                or self._viewing_left_ms() > 0):
            return False
        response_ms = int(self._elapsed.elapsed())
        try:
            self.study.record_rating(self.session.id, self.trial.position, score, response_ms)
        except TrialAlreadyRated:
            pass  # another window recorded it first: just move on
        except StoreError as exc:
            self.status_label.setText(f"Your score could not be saved ({exc}). Please tell the "
                                      f"experimenter.")
            return False
        self._show_next_trial()
        return True

    def _show_done(self, already: bool) -> None:
        self._stop_timers()
        self.trial = None
        self.viewer.clear()
        total = self.session.total if self.session else 0
        self.done_label.setText(
            (f"All {total} images are already rated under this ID." if already else
             f"Thank you! You have rated all {total} images.") + "\n\nYou may close this window.")
        self.pages.setCurrentIndex(DONE)
        if not already:
            self.finished.emit()
