"""The rating panel: what a rater sees during a MOS study, and nothing more.

Blindness is the point of this widget: no condition name, stimulus file name, study name or
image name is ever put into a widget's text, title, tooltip or accessible name.  The panel
only knows trial positions and stimulus *paths*, and it only hands pixels to the viewer.

Flow: rater ID → (calibration examples, once per rater) → trials in the rater's own random
order, each score committed to the study database before the next image is shown → thanks.
Pausing (or closing the window) keeps everything; entering the same ID resumes at the first
unrated trial.

Viewing conditions (ITU-T P.910), set in the study design and the same for every rater:

* :class:`StimulusView` (``ui/mos_stimulus.py``) shows a stimulus at a fixed integer magnification in *device* pixels:
  at 1 one image pixel covers one screen pixel whatever the device pixel ratio (a 1.25 DPR
  screen would otherwise scale a 288-px image to 360 px), at k every pixel is a k×k block.
  No fitting, zooming or panning: fitting to the window made the magnification depend on the
  image and the window (a 288-px image was shown at about 2.5×);
* the stimulus is centred on neutral mid-grey (128, 128, 128); ``grey_ms`` > 0 shows only
  that grey between two stimuli, with the scores locked;
* the panel refuses to start, saying why, when the screen cannot show the largest stimulus at
  that magnification, and it locks the scores while the window is too small to show all of it:
  the buttons are disabled and :data:`TOO_SMALL` is shown, both undone as soon as the window
  is large enough again (each view reports its resizes);
* every start or resume is a *sitting* recorded in the study with its display (screen size
  in device pixels, device pixel ratio, magnification, screen name) and its end;
* the rater instructions come from the study (editable); left empty, they are written by
  :func:`rater_instructions` from what this panel does for the design (no zoom or pan, the
  answers and keys of its buttons, paired or 1–5), and a break page appears every
  ``break_every`` trials.

In a paired-comparison study (``kind`` "pc") two stimuli of the same image are shown side by
side (both at the study's magnification), optionally with the original above them, and the
rater picks the better one: "Left is better" / "Right is better", or the keys ← → (or 1, 2).
"""

from __future__ import annotations

from PySide6.QtCore import QElapsedTimer, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton,
                               QSizePolicy, QStackedWidget, QVBoxLayout, QWidget)

from srgan_desktop.core.images import ImageLoadError, load_image
from srgan_desktop.mos.design import SCORE_LABELS, DesignError, StudyDesign
from srgan_desktop.mos.store import (Display, Session, SessionTrial, StoreError, Study,
                                     TrialAlreadyRated)
from srgan_desktop.ui.mos_stimulus import MID_GREY, StimulusView, placement, screen_problem

__all__ = ["RatingPanel", "StimulusView", "RATING_TITLE", "rater_instructions", "MID_GREY",
           "placement", "screen_problem"]

RATING_TITLE = "Image quality rating"

LOGIN, RATING, DONE, BREAK = 0, 1, 2, 3
#: Shown (with the answers locked) while the window cannot show the whole stimulus.
TOO_SMALL = ("The window is too small to show the whole image, so the answers are locked: make it "
             "larger (F11: full screen).")
#: Paired comparison: the two answers, recorded as 1 (left) and 2 (right).
PAIR_LABELS = {1: "Left is better", 2: "Right is better"}


def _seconds(ms: int) -> str:
    return f"{ms / 1000:g} second{'s' if ms != 1000 else ''}"


def rater_instructions(design: StudyDesign) -> str:
    """The built-in rater instructions, written from what the rating panel does for ``design``.

    Every sentence states a behaviour of this panel: the answers and keys are those of its
    buttons and shortcuts (:data:`SCORE_LABELS`, :data:`PAIR_LABELS`), the image is shown at
    the study's fixed magnification without zoom or pan, and the viewing time, grey screen,
    examples and breaks are said only when the design has them.  A paired-comparison study
    gets paired-comparison instructions, never the 1–5 ones."""
    if design.kind == "pc":
        shown = ("two versions of the same image side by side"
                 + (", with the original image above them for comparison" if design.show_reference else ""))
        left, right = PAIR_LABELS[1], PAIR_LABELS[2]
        lines = [f"You will see a series of pairs: {shown}. For each pair, choose the one whose "
                 f"quality is better.",
                 f"Click “{left}” or “{right}”, or press the arrow keys ← → "
                 f"(or 1, 2). You must choose one of the two, even when they look alike."]
    else:
        scale = "    ·    ".join(f"{k}  {v}" for k, v in SCORE_LABELS.items())
        lines = ["You will see a series of images, one at a time. Rate the quality of each image on "
                 f"a scale from 1 to {len(SCORE_LABELS)}:\n\n    {scale}\n",
                 f"Click a score or press the keys 1–{len(SCORE_LABELS)}."]
        if design.calibration_images:
            lines.append("First you will see examples of the lowest and the highest quality; "
                         "press “Next example” (or Enter) after each.")
    them = "them" if design.kind == "pc" else "it"
    lines.append(("The images are" if design.kind == "pc" else "The image is") +
                 f" shown at a fixed size and cannot be zoomed or moved; if the window is too small "
                 f"to show all of {them}, the answers are locked until you make it larger (F11: full "
                 f"screen).")
    if design.min_view_ms > 0:
        lines.append(f"The answers unlock after {_seconds(design.min_view_ms)} of viewing.")
    if design.grey_ms > 0:
        lines.append(f"A grey screen appears for {_seconds(design.grey_ms)} between images.")
    if design.break_every > 0:
        lines.append(f"You will be offered a short break every {design.break_every} images.")
    lines.append("There are no right or wrong answers; give your own impression. You can pause at "
                 "any time and continue later with the same ID.")
    return lines[0].rstrip() + "\n\n" + " ".join(lines[1:])


class RatingPanel(QWidget):
    """Runs one rater's session of ``study``; emits ``finished`` when every trial is rated."""

    finished = Signal()
    paused = Signal()

    def __init__(self, study: Study, parent: QWidget | None = None, rater: str = "") -> None:
        super().__init__(parent)
        self.study = study
        self.session: Session | None = None
        self.sitting: int | None = None
        self.trial: SessionTrial | None = None
        self._grey_timer = QTimer(self)
        self._grey_timer.setSingleShot(True)
        self._grey_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._grey_timer.timeout.connect(self._present)
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
        self.pages.addWidget(self._build_break())
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
        if self.study.design.kind == "pc":
            for key, score in (("Left", 1), ("Right", 2)):
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
        text = QLabel(self.study.design.instructions or rater_instructions(self.study.design))
        text.setWordWrap(True)
        self.instructions_label = text
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
        self.pause_button = QPushButton("Pause")
        self.pause_button.setAccessibleName("Pause and continue later")
        self.pause_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.pause_button.clicked.connect(self.pause)
        top = QHBoxLayout()
        top.addWidget(self.progress_label)
        top.addWidget(self.progress_bar, 1)
        top.addWidget(self.pause_button)

        design = self.study.design
        self.paired = design.kind == "pc"
        self.viewer = StimulusView(design.magnification)
        self.viewer.setAccessibleName("Left image" if self.paired else "Image to rate")
        self.viewer_b = StimulusView(design.magnification)
        self.viewer_b.setAccessibleName("Right image")
        self.reference_view = StimulusView(design.magnification)
        self.reference_view.setAccessibleName("Original image for comparison")
        self.views = [self.viewer] + ([self.viewer_b] if self.paired else [])
        if self.paired and design.show_reference:
            self.views.append(self.reference_view)
        for view in self.views:  # the lock follows the window's size at once, both ways
            view.resized.connect(self._apply_lock)

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
        for score, label in (PAIR_LABELS if self.paired else SCORE_LABELS).items():
            key = ("←" if score == 1 else "→") if self.paired else str(score)
            button = QPushButton(f"{key}\n{label}")
            button.setAccessibleName(f"Score {score}: {label}")
            button.setToolTip(f"{label} (key {key})")
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
        if self.paired:
            if design.show_reference:
                original = QLabel("Original (for comparison)")
                original.setAlignment(Qt.AlignmentFlag.AlignCenter)
                layout.addWidget(original)
                layout.addWidget(self.reference_view, 1)
            pair = QHBoxLayout()
            pair.addWidget(self.viewer, 1)
            pair.addWidget(self.viewer_b, 1)
            layout.addLayout(pair, 1)
        else:
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

    def _build_break(self) -> QWidget:
        page = QWidget()
        self.break_label = QLabel("")
        self.break_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.break_label.setWordWrap(True)
        self.continue_button = QPushButton("Continue")
        self.continue_button.setAccessibleName("Continue rating")
        self.continue_button.clicked.connect(self.end_break)
        layout = QVBoxLayout(page)
        layout.addStretch(1)
        layout.addWidget(self.break_label)
        layout.addWidget(self.continue_button, 0, Qt.AlignmentFlag.AlignHCenter)
        layout.addStretch(1)
        return page

    # ------------------------------------------------------------------ state
    @property
    def page(self) -> int:
        return self.pages.currentIndex()

    def scores_enabled(self) -> bool:
        return (self.page == RATING and self.trial is not None and self.score_buttons[0].isEnabled()
                and not self.viewer.is_grey)

    def display(self) -> Display:
        """The screen this panel is on, in device pixels, with the study's magnification."""
        screen = self.screen()
        dpr = float(screen.devicePixelRatio()) if screen is not None else 1.0
        size = screen.geometry().size() if screen is not None else None
        width = round(size.width() * dpr) if size is not None else 0
        height = round(size.height() * dpr) if size is not None else 0
        return Display(width, height, dpr, self.study.design.magnification,
                       screen.name() if screen is not None else "")

    def largest_stimulus(self) -> tuple[int, int]:
        """The largest image area (image pixels) a trial shows: one stimulus, or a pair side by
        side (with the original above it when shown)."""
        sizes = [(s.width, s.height) for s in self.study.stimuli.values()]
        width, height = (max(w for w, _ in sizes), max(h for _, h in sizes)) if sizes else (0, 0)
        if self.paired:
            return 2 * width, height * (2 if self.study.design.show_reference else 1)
        return width, height

    def start(self) -> None:
        """Begin or resume the session of the rater ID typed in (refused, with the reason,
        when this screen cannot show the study's largest stimulus at its magnification)."""
        display = self.display()
        problem = screen_problem(display.screen_width, display.screen_height,
                                 self.largest_stimulus(), display.magnification)
        if problem:
            self.login_status.setText(problem)
            return
        try:
            self.session = self.study.start_session(self.rater_edit.text())
            self.sitting = (None if self.session.complete
                            else self.study.begin_sitting(self.session.id, display))
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

    def end_sitting(self) -> None:
        """Record the end of the current sitting (pause, done, window closed)."""
        if self.sitting is not None:
            try:
                self.study.end_sitting(self.sitting)
            except StoreError:
                pass  # the last rating's time already bounds the sitting
            self.sitting = None

    def _to_login(self) -> None:
        self._stop_timers()
        self.end_sitting()
        self.session = None
        self.trial = None
        for view in (self.viewer, self.viewer_b, self.reference_view):
            view.clear()
        self.rater_edit.clear()
        self.login_status.setText("")
        self.pages.setCurrentIndex(LOGIN)
        self.rater_edit.setFocus()

    def _stop_timers(self) -> None:
        self._unlock.stop()
        self._countdown.stop()
        self._grey_timer.stop()

    def _show_image(self, path, view: StimulusView | None = None) -> bool:
        view = view or self.viewer
        try:
            rgb = load_image(path).rgb
        except ImageLoadError:
            self.status_label.setText("This image could not be loaded. Please tell the experimenter.")
            view.clear()
            return False
        view.set_image(rgb)
        return True

    def _fits(self) -> bool:
        return all(view.fits() for view in self.views)

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
        elif self.page == BREAK:
            self.end_break()
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
        every = self.study.design.break_every
        if every and session.rated and session.rated % every == 0 and self._break_due != session.rated:
            self._break_due = session.rated
            self.break_label.setText(f"Time for a short break: {session.rated} of {session.total} "
                                     f"images are rated.\n\nPress Continue when you are ready.")
            self.pages.setCurrentIndex(BREAK)
            return
        grey = self.study.design.grey_ms
        if grey > 0 and session.rated > 0:
            for view in self.views:
                view.show_grey()
            self._set_scores_enabled(False)
            self.wait_label.setText("")
            self._grey_timer.start(grey)
            return
        self._present()

    _break_due = -1

    def end_break(self) -> None:
        """Continue after a break page."""
        if self.page != BREAK or self.session is None:
            return
        self.pages.setCurrentIndex(RATING)
        self.setFocus()
        self._show_next_trial()

    def _present(self) -> None:
        """Show the current trial's stimulus and start its viewing time."""
        if self.trial is None:
            return
        shown = [(self.trial.stimulus_id, self.viewer)]
        if self.trial.stimulus_b:
            shown.append((self.trial.stimulus_b, self.viewer_b))
            if self.reference_view in self.views:
                reference = self.study.stimulus_for(self.trial.image, "reference")
                shown.append((reference.id, self.reference_view))
        if not all(self._show_image(self.study.stimulus_path(sid), view) for sid, view in shown):
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
        """Unlock (or lock) the answers as far as time and loading go; see :meth:`_apply_lock`."""
        self._unlocked = enabled
        self.wait_label.setText("" if enabled else "Please look at the image first…")
        self._apply_lock()

    _unlocked = False

    def _apply_lock(self) -> None:
        """The buttons are enabled only while the answers are unlocked *and* the whole stimulus
        fits; while it does not, the panel says so, and the message goes as soon as it fits."""
        shown = self.page == RATING and self.trial is not None
        fits = self._fits()
        for button in self.score_buttons:
            button.setEnabled(self._unlocked and fits)
        if shown and not fits:
            self.status_label.setText(TOO_SMALL)
        elif self.status_label.text() == TOO_SMALL:
            self.status_label.setText("")

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
        if self.paired and score not in PAIR_LABELS:
            return False
        if not self._fits():  # never rate a cropped stimulus
            self._apply_lock()
            return False
        response_ms = int(self._elapsed.elapsed())
        try:
            self.study.record_rating(self.session.id, self.trial.position, score, response_ms,
                                     sitting_id=self.sitting)
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
        self.end_sitting()
        self.trial = None
        for view in (self.viewer, self.viewer_b, self.reference_view):
            view.clear()
        total = self.session.total if self.session else 0
        self.done_label.setText(
            (f"All {total} images are already rated under this ID." if already else
             f"Thank you! You have rated all {total} images.") + "\n\nYou may close this window.")
        self.pages.setCurrentIndex(DONE)
        if not already:
            self.finished.emit()
