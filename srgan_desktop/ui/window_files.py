"""The comparison window's ways in: Open and samples, recent files, drag and drop, results made
elsewhere (a file or a folder) — a mixin of :class:`MainWindow`.

Rules: every way of opening goes through :meth:`open_path` (the session's one pending change); an
image dropped on a pane while an image is open is a result made elsewhere, dropped anywhere else
it is opened; result files and folders are added through the session, never by a view.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QFileDialog, QWidget

from srgan_desktop import paths
from srgan_desktop.compare import RunRequest
from srgan_desktop.compare.session import Kind
from srgan_desktop.core.images import IMAGE_SUFFIXES
from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.ui.image_pane import ImagePane

__all__ = ["FilesMixin", "image_filter"]


def image_filter() -> str:
    patterns = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
    return f"Images ({patterns});;All files (*)"



class FilesMixin:
    """Needs the window's ``session``, ``settings``, ``menus``, ``content``, ``_error`` and ``open_path``."""

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", self.settings.last_dir or str(Path.home()),
                                              image_filter())
        if path:
            self.open_path(path)

    def open_sample(self, name: str, mode: str) -> None:
        self.settings.sample_opened = True
        self.open_path(paths.samples_dir() / name, mode)

    def _rebuild_recent_menu(self) -> None:
        menu = self.menus.menus["recent"]
        menu.clear()
        files = self.settings.recent_files()
        for index, name in enumerate(files):
            act = menu.addAction(f"&{index + 1}  {Path(name).name}" if index < 9 else Path(name).name)
            act.setToolTip(name)
            act.triggered.connect(lambda _c=False, n=name: self.open_path(n))
        if files:
            menu.addSeparator()
            menu.addAction("Clear list").triggered.connect(self._clear_recent)
        menu.setEnabled(bool(files))

    def _clear_recent(self) -> None:
        self.settings.clear_recent()
        self._rebuild_recent_menu()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802
        if self._dropped_path(event) is not None:
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802
        """An image dropped on a pane, while an image is open, is a result made elsewhere (as
        File ▸ Add result image…); dropped anywhere else it is opened as the new input."""
        path = self._dropped_path(event)
        if path is None:
            return
        event.acceptProposedAction()
        if self.session.model.has_image and self._pane_at(event.position().toPoint()) is not None:
            self.add_result_file(path)
        else:
            self.open_path(path)

    def _pane_at(self, pos: QPoint) -> ImagePane | None:
        """The image pane under ``pos`` (window coordinates), if any."""
        widget = self.childAt(pos)
        while widget is not None and not isinstance(widget, ImagePane):
            widget = widget.parentWidget()
        return widget

    @staticmethod
    def _dropped_path(event: QDragEnterEvent | QDropEvent) -> Path | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES:
                return Path(url.toLocalFile())
        return None

    # ================================================================ results from files
    def add_result_dialog(self) -> None:
        if not self.session.model.has_image:
            self._error("No image", "Open the input image first (Ctrl+O), then add results made for it.")
            return
        path, _ = QFileDialog.getOpenFileName(self, "Add a result image", self.settings.last_dir or str(Path.home()),
                                              image_filter())
        if path:
            self.add_result_file(path)

    def add_result_file(self, path: str | Path, title: str | None = None) -> None:
        """Add an image made elsewhere as one more method (decoded off the GUI thread).

        The session's ``added`` event follows, or an error saying both sizes when it does not fit.
        """
        self.session.add_result_file(path, title)

    def _on_added(self, request: RunRequest) -> None:
        self.content.keep(request.known)
        self._refresh_key(request.key)

    def add_results_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Results folder (files named like the inputs)",
                                                  self.settings.last_dir)
        if folder:
            self.add_results_folder(folder)

    def add_results_folder(self, folder: str | Path, key: str | None = None) -> None:
        """Results made elsewhere, one file per input (``NAME.png``, ``NAME_x4.png``…): the open
        image gets its result now, every image opened later gets its own (browse image by image)."""
        self.session.add_results_folder(folder, key)

    def open_results_dialog(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open a results database", "",
                                              "Results database (*.db *.sqlite);;All files (*)")
        if name:
            self.open_results(name)

    def open_results(self, path: str | Path) -> QWidget | None:
        """The Results window of a database written by ``eval --db``; a double-click there
        opens that image here (simulate mode at its scale) and runs the methods measured on it."""
        from srgan_desktop.ui.results_window import ResultsWindow

        try:
            window = ResultsWindow(path, on_open=self.open_result_target, resolver=self.session.model.source.resolver,
                                   settings=self.session.settings)
        except SrganDesktopError as exc:
            self._error("Results", str(exc))
            return None
        window.setWindowFlag(Qt.WindowType.Window)
        window.show()
        # every open one is kept (one may be evaluating); a closed one has stopped its job
        self._results_windows = [w for w in getattr(self, "_results_windows", []) if w.isVisible()] + [window]
        return window

    def open_result_target(self, target) -> None:
        """Open ``target.hr_path`` as the reference and run the methods it was measured with."""
        wanted = set(target.methods)

        events = self.session.events

        def once(change: Any, *failure: str) -> None:  # committed(change) or failed(change, message)
            if change.kind is not Kind.OPEN:
                return
            events.disconnect("committed", once)
            events.disconnect("failed", once)
            if failure or change.path is None:
                return  # the open failed: the error is shown, nothing runs
            keys = [m.key for m in self.session.model.runnable() if m.key in wanted or m.title in wanted]
            if keys:
                self.run_methods(keys)

        events.connect("committed", once)
        events.connect("failed", once)
        self.open_path(target.hr_path, "simulate", target.scale)
