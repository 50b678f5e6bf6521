"""The MOS studies window (experimenter side) and the separate rating window (rater side).

* :func:`open_mos_window` — what the main window's "MOS studies…" menu entry calls: a list of
  studies, New / Open / Rate / Check / Refresh, and the results of the selected study.  There is
  one studies window per parent and root: opening it again raises that window.  The list is
  read again from the studies folder on Refresh (either Refresh button) and whenever the window
  is activated, so a study made meanwhile (``srgan-desktop mos create``, another station) appears
  without a restart; the selected study stays selected and open.
* :class:`RatingWindow` — a top-level window with only the blind :class:`RatingPanel`; it
  opens its own connection to the study, so it can run beside the results or in another
  process (``srgan-desktop mos rate STUDY``, :func:`run_rating_app`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import shiboken6
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QFileDialog, QHBoxLayout, QLabel, QListWidget,
                               QListWidgetItem, QMainWindow, QMessageBox, QPushButton, QSplitter,
                               QVBoxLayout, QWidget)

from srgan_desktop.mos.store import StoreError, Study, list_studies, studies_root
from srgan_desktop.ui.mos_editor import StudyEditor
from srgan_desktop.ui.mos_panel import RATING_TITLE, RatingPanel
from srgan_desktop.ui.mos_results import ResultsView

__all__ = ["MosWindow", "RatingWindow", "open_mos_window", "run_rating_app"]

PATH_ROLE = Qt.ItemDataRole.UserRole


class RatingWindow(QMainWindow):
    """The rater's window: the rating panel and nothing that could name a method."""

    def __init__(self, study_path: Path, parent: QWidget | None = None, rater: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(RATING_TITLE)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        self.study = Study.open(study_path)
        self.panel = RatingPanel(self.study, rater=rater)
        self.setCentralWidget(self.panel)
        self.resize(1100, 850)
        full_screen = QShortcut(QKeySequence("F11"), self)
        full_screen.activated.connect(self.toggle_full_screen)

    def toggle_full_screen(self) -> None:
        """F11: full screen hides the desktop (and any results window) during a session."""
        if self.isFullScreen():
            self.showNormal()
        else:
            self.showFullScreen()

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt API)
        self.panel._stop_timers()  # every score is already committed: closing is a pause
        self.panel.end_sitting()
        self.study.close()
        super().closeEvent(event)


class MosWindow(QMainWindow):
    """Studies on the left, the selected study's results on the right."""

    def __init__(self, parent: QWidget | None = None, root: Path | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("MOS studies — srgan-desktop")
        self.root = root or studies_root()
        self.study: Study | None = None
        self.rating_windows: list[RatingWindow] = []
        self._outside: list[Path] = []  # studies opened from outside the root (kept on refresh)

        self.study_list = QListWidget()
        self.study_list.currentItemChanged.connect(self._on_selected)
        self.study_list.itemDoubleClicked.connect(lambda _item: self.start_rating())
        buttons = QHBoxLayout()
        for text, slot in (("New…", self.new_study), ("Open…", self._open_dialog),
                           ("Rate…", self.start_rating), ("Check", self.check_study),
                           ("Refresh", lambda: self.refresh_list())):
            button = QPushButton(text)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(QLabel(f"Studies in {self.root}"))
        left_layout.addWidget(self.study_list, 1)
        left_layout.addLayout(buttons)
        left_layout.addWidget(self.status)
        self.results = ResultsView()
        self.results.refresh_button.clicked.connect(lambda: self.refresh_list())
        splitter = QSplitter()
        splitter.addWidget(left)
        splitter.addWidget(self.results)
        splitter.setSizes([300, 900])
        self.setCentralWidget(splitter)
        self.resize(1300, 800)
        self.refresh_list()

    # ---------------------------------------------------------------- studies
    def refresh_list(self, select: Path | None = None) -> None:
        """List the studies in the root folder again (and those opened from elsewhere); the
        selected one stays selected without being reopened, unless ``select`` names another."""
        current = self.selected_path()
        self.study_list.blockSignals(True)
        self.study_list.clear()
        for info in list_studies(self.root):
            text = info.name if not info.error else f"{info.name} (damaged)"
            if not info.error:
                text += f"\n  {info.raters} rater(s), {info.ratings} rating(s)"
            self._add_item(text, Path(info.path), info.error or str(info.path.parent))
        for path in self._outside:
            if self._row_of(path) is None:
                self._add_item(f"{path.parent.name}\n  {path.parent}", path, str(path.parent))
        row = self._row_of(current) if current is not None else None
        if row is not None:
            self.study_list.setCurrentRow(row)
        self.study_list.blockSignals(False)
        if select is not None:
            self.add_study(select)
        elif current is not None and row is None:  # the selected study is gone
            self._on_selected()

    def _add_item(self, text: str, path: Path, tip: str) -> QListWidgetItem:
        item = QListWidgetItem(text)
        item.setData(PATH_ROLE, str(path))
        item.setToolTip(tip)
        self.study_list.addItem(item)
        return item

    def _row_of(self, path: Path) -> int | None:
        for row in range(self.study_list.count()):
            if Path(self.study_list.item(row).data(PATH_ROLE)) == path:
                return row
        return None

    def changeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt API)
        super().changeEvent(event)
        if event.type() == QEvent.Type.ActivationChange and self.isActiveWindow():
            self.refresh_list()  # a study made meanwhile on the command line appears

    def add_study(self, path: Path) -> None:
        """Select the study at ``path`` (listing it first if it lives outside the root)."""
        path = Path(path)
        path = path / "study.sqlite" if path.is_dir() else path
        row = self._row_of(path)
        if row is not None:
            self.study_list.setCurrentRow(row)
            return
        if path not in self._outside:
            self._outside.append(path)
        self.study_list.setCurrentItem(self._add_item(f"{path.parent.name}\n  {path.parent}", path,
                                                      str(path.parent)))

    def selected_path(self) -> Path | None:
        item = self.study_list.currentItem()
        return Path(item.data(PATH_ROLE)) if item is not None else None

    def _on_selected(self, *_args) -> None:
        self.open_study(self.selected_path())

    def open_study(self, path: Path | None) -> Study | None:
        """Open (and verify) ``path`` and show its results; problems go to the status line."""
        self.results.stop_jobs()  # an agreement job reads the study about to be closed
        if self.study is not None:
            self.study.close()
            self.study = None
        if path is not None:
            try:
                self.study = Study.open(path)
                self.status.setText(f"{self.study.name}: {len(self.study.stimuli)} stimuli verified")
            except StoreError as exc:
                self.status.setText(str(exc))
        self.results.set_study(self.study)
        return self.study

    def _open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open a MOS study", str(self.root),
                                              "MOS study (study.sqlite)")
        if path:
            self.add_study(Path(path))

    def new_study(self) -> StudyEditor:
        editor = StudyEditor(self, root=self.root)
        editor.created.connect(lambda path: self.refresh_list(select=path))
        editor.show()
        return editor

    def check_study(self) -> None:
        path = self.selected_path()
        if path is None:
            return
        try:
            with Study.open(path) as study:
                QMessageBox.information(self, "Study check", f"'{study.name}' is intact: database ok, "
                                        f"{len(study.stimuli)} stimuli match their SHA-256.")
        except StoreError as exc:
            QMessageBox.warning(self, "Study check", str(exc))

    def start_rating(self, rater: str = "") -> RatingWindow | None:
        """Open a rating window on the selected study (its own connection, its own window)."""
        path = self.selected_path()
        if path is None:
            self.status.setText("Select a study to rate first.")
            return None
        try:
            window = RatingWindow(path, rater=rater)
        except StoreError as exc:
            QMessageBox.warning(self, "Cannot start rating", str(exc))
            return None
        window.panel.finished.connect(self.results.reload)
        window.panel.paused.connect(self.results.reload)
        window.destroyed.connect(lambda _=None, w=window: self._forget(w))
        self.rating_windows.append(window)
        self.showMinimized()  # the results name the methods: keep them out of the rater's sight
        window.show()
        return window

    def _forget(self, window: RatingWindow) -> None:
        if window in self.rating_windows:
            self.rating_windows.remove(window)
        if not self.rating_windows:
            self.showNormal()

    def closeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt API)
        self.results.stop_jobs()  # the agreement job reads the study: stop it before closing it
        if self.study is not None:
            self.study.close()
            self.study = None
        super().closeEvent(event)


def open_mos_window(parent: QWidget | None = None, root: Path | None = None) -> MosWindow:
    """Show the MOS studies window (for the main window's menu): the one already made for this
    parent and root is raised (and its list read again), else a new one is made."""
    root = root or studies_root()
    window = next((w for w in QApplication.topLevelWidgets()
                   if isinstance(w, MosWindow) and shiboken6.isValid(w) and w.parent() is parent
                   and w.root == root), None)
    if window is None:
        window = MosWindow(parent, root=root)
    else:
        window.refresh_list()
    if window.isMinimized():
        window.showNormal()
    window.show()
    window.raise_()
    window.activateWindow()
    return window


def run_rating_app(study_path: Path, rater: str = "") -> int:
    """``srgan-desktop mos rate``: a Qt application with one rating window."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    try:
        window = RatingWindow(Path(study_path), rater=rater)
    except StoreError as exc:
        print(f"srgan-desktop: error: {exc}", file=sys.stderr)
        return 2
    window.show()
    return int(app.exec())
