"""The comparison window: layout and wiring around the Qt-free comparison session.

Every rule of the comparison lives without Qt in :mod:`srgan_desktop.compare`: the
:class:`~srgan_desktop.compare.session.ComparisonSession` (``window.session``, the window's one
entry point: its ``model`` is the :class:`~srgan_desktop.compare.ComparisonModel`, whose
``source`` is the ModelSource over the model resolver) decides what happens when (opening, mode,
scale, runs, the worker's reports, settings), the model holds the state, and
:mod:`srgan_desktop.compare.views` says what the views say.  This window lays widgets out and
turns events into widget updates; each piece is a view built from the session (napari's pattern):

* menus, toolbar and shortcuts: ``ui/menus.py``, from the action table ``ui/actions.py``;
* the status bar (read-out, times, progress, device): ``ui/status_view.py`` and ``ui/progress.py``;
* what each pane shows (rasters, partial tiles, status words): ``ui/pane_contents.py``;
* view mode, zoom and layout toggles: ``ui/window_views.py``; saving and export
  ``ui/window_saving.py``; opening, recent files, drag and drop, results made elsewhere
  ``ui/window_files.py``;
* slow work leaves the GUI thread through the one job pattern, ``ui/jobs.py``: one
  :class:`~srgan_desktop.ui.worker.WorkerThread` runs the methods, another the short tasks
  (decoding, the Simulate mode reduction, the pane rasters, the difference map).  Measured with
  ``scripts/bench_gui.py --stall`` (4000×3000 PNG, offscreen): the longest event-loop gap while
  opening it and switching to Simulate mode is reported there (2,088 ms and 1,430 ms when this
  work ran on the GUI thread).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction, QCloseEvent
from PySide6.QtWidgets import QDockWidget, QFileDialog, QInputDialog, QMainWindow, QMessageBox, QStackedWidget, QWidget

from srgan_desktop import paths
from srgan_desktop.compare import ComparisonModel, ModelSource, Status
from srgan_desktop.compare import perceptual
from srgan_desktop.compare.session import DEVICES, Change, ComparisonSession
from srgan_desktop.compare.views import default_pair, metrics_rows, no_result, pane_choices, status_text, title_of
from srgan_desktop.core.engine import device_available
from srgan_desktop.core.lpips_metric import lpips_missing
from srgan_desktop.core.models import ModelResolver
from srgan_desktop.ui.actions import about_html, help_html
from srgan_desktop.ui.difference_view import DifferenceView
from srgan_desktop.ui.flicker_view import FlickerView
from srgan_desktop.ui.image_pane import ImagePane
from srgan_desktop.ui.jobs import WorkerJobs
from srgan_desktop.ui.menus import SAMPLE, WindowMenus
from srgan_desktop.ui.metrics_panel import MetricsPanel
from srgan_desktop.ui.pane_contents import PaneContents, prepare_rasters
from srgan_desktop.ui.pane_grid import PaneGrid, ViewSync
from srgan_desktop.ui.partial_view import visible_lr_box
from srgan_desktop.ui.settings import AppSettings
from srgan_desktop.ui.status_view import StatusView
from srgan_desktop.ui.swipe_view import SwipeView
from srgan_desktop.ui.window_files import FilesMixin
from srgan_desktop.ui.window_saving import SavingMixin
from srgan_desktop.ui.window_views import VIEW_MODES, ViewsMixin
from srgan_desktop.ui.worker import WorkerThread, device_name

__all__ = ["MainWindow", "VIEW_MODES"]


class MainWindow(ViewsMixin, SavingMixin, FilesMixin, QMainWindow):
    """Bicubic, SRResNet, SRGAN and any other model side by side, with synchronised views."""

    # No window signals: what happens is the session's and the model's events (``session.events``,
    # ``session.model.events``; compare/session.py, compare/model.py) — listen there.

    def __init__(self, settings: AppSettings | None = None, resolver: ModelResolver | None = None,
                 *, open_sample: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or AppSettings()
        perceptual.install_settings(self.settings)  # NIQE and LPIPS join the scores (computed in the worker)
        resolver = resolver or ModelResolver(paths.weights_dir(), paths.user_models_dir())
        model = ComparisonModel(ModelSource(resolver))
        self._active_key = ""
        self._difference_dirty = True
        self._deferred_errors: list[tuple[str, str]] = []

        self.setWindowTitle("SRGAN Desktop")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.resize(1280, 820)

        self._worker = WorkerThread(model.source, self)
        self._tasks = WorkerThread(None, self, "task-worker")
        self._jobs = WorkerJobs(self._worker, self._tasks, self._send_viewport, self)
        for name, slot in {"image": self._on_model_image, "methods": self._rebuild_panes,
                           "status": self._on_model_status, "result": self._refresh_key,
                           "scores": self._on_model_scores, "busy": self._on_model_busy,
                           "tile": self._on_model_tile, "measuring": lambda _key: self._show_progress()}.items():
            model.events.connect(name, slot)
        # after the window's own listeners: panes are rebuilt before cached results arrive
        self.session = ComparisonSession(model, self._jobs, self.settings, device_name, device_available,
                                         extra=prepare_rasters, confirm=self._confirm)
        self.content = PaneContents(self.session)
        self._jobs.report_to(self.session, self.content.keep)
        for name, slot in {"preparing": self._on_preparing, "committed": self._on_committed,
                           "error": self._error, "added": self._on_added,
                           "idle": self._show_progress}.items():
            self.session.events.connect(name, slot)
        self._build_views()
        self.metrics = MetricsPanel(self)
        self.metrics_dock = QDockWidget("Metrics", self)
        self.metrics_dock.setObjectName("metricsDock")
        self.metrics_dock.setWidget(self.metrics)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.metrics_dock)
        self.menus = WindowMenus(self, self.session, self.metrics_dock.toggleViewAction())
        self.status_view = StatusView(self.statusBar(), self.session, self.action("cancel"),
                                      lambda key: title_of(self.session.model, key))
        self.session.events.connect("failed", self._on_failed_change)  # after the menus went back
        self._rebuild_recent_menu()

        if self.settings.geometry is not None:
            self.restoreGeometry(self.settings.geometry)
        if self.settings.window_state is not None:
            self.restoreState(self.settings.window_state)
        else:
            self.resizeDocks([self.metrics_dock], [130], Qt.Orientation.Vertical)
        self._restore_views()
        self.session.restore()
        self.menus.sync_mode()
        self.set_view_mode(self.settings.view_mode if self.settings.view_mode in VIEW_MODES else "grid")
        self._rebuild_panes()
        if open_sample and not self.settings.sample_opened:
            self.open_sample(SAMPLE, "upscale")

    def _build_views(self) -> None:
        """The four view modes over one synchronised view, in a stack."""
        model, contents = self.session.model, self.content
        self.sync = ViewSync(self)
        self.grid = PaneGrid(self.sync)
        self.flicker = FlickerView(self.sync, contents.content)
        note = lambda key: no_result(model, key)  # noqa: E731
        self.swipe = SwipeView(self.sync, contents.content, note=note, default=lambda: default_pair(model))
        self.difference = DifferenceView(self.sync, contents.scene_source, self._title_of,
                                         runner=self._run_difference, note=note)
        self.stack = QStackedWidget(self)
        for widget in (self.grid, self.swipe, self.flicker, self.difference):
            self.stack.addWidget(widget)
        self.setCentralWidget(self.stack)
        self.grid.paneActivated.connect(self._set_active)
        self.flicker.currentChanged.connect(self._set_active)
        self.sync.cursorMoved.connect(lambda x, y: self.status_view.show_cursor(x, y))
        self.sync.cursorLeft.connect(lambda: self.status_view.clear_cursor())
        self.sync.viewChanged.connect(self._update_zoom_label)
        self.sync.paneViewChanged.connect(self._update_zoom_label)  # a fit pane re-fitted (dock, layout)
        self.sync.viewChanged.connect(self._send_viewport)
        self.difference.settingsChanged.connect(self._on_difference_settings)

    def action(self, name: str) -> QAction:
        return self.menus.action(name)

    def is_preparing(self) -> bool:
        """An image, mode or scale is being prepared on the task thread."""
        return self.session.preparing

    def _show_progress(self) -> None:
        self.status_view.progress.update()

    # ================================================================ model events
    def _on_model_image(self) -> None:
        self._rebuild_panes()
        self.sync.fit()

    def _on_model_status(self, key: str) -> None:
        model = self.session.model
        state = model.state(key)
        if key in self.grid.keys() and key not in model.results:
            painting = model.image_for(key) is not None  # its tiles are on screen: no note over them
            self.grid.pane(key).set_message("" if painting else status_text(state))
        if state.status is Status.RUNNING:
            self._show_progress()
            if state.tiles_total:
                return  # per-tile: only the pane message and the bar change
        self._refresh_key(key)

    def _on_model_scores(self, key: str) -> None:
        self._refresh_key(key)

    def _on_model_tile(self, key: str, box: tuple[int, int, int, int]) -> None:
        raster, new = self.content.partials.on_tile(key, box)
        if new:
            self._refresh_key(key)  # the pane shows the partial canvas from now on
        elif raster is not None:
            self.content.partials.repaint(raster, self.findChildren(ImagePane))

    def _send_viewport(self) -> None:
        """Tell the worker which LR region is on screen (its tiles run first)."""
        self._worker.worker.set_viewport(visible_lr_box(self.sync, self.session.model))

    def _on_model_busy(self, busy: bool) -> None:
        self.action("cancel").setEnabled(busy)
        self._show_progress()

    def _refresh_key(self, key: str) -> None:
        self.refresh_views([key])

    # ================================================================ content
    def _title_of(self, key: str) -> str:
        return title_of(self.session.model, key)

    def _rebuild_panes(self) -> None:
        """Re-create the panes for the current methods, mode and scale."""
        self.grid.set_keys(self.session.model.pane_keys())
        choices = pane_choices(self.session.model)
        self.flicker.set_choices(choices.panes)
        self.swipe.set_choices(choices.panes)
        self.difference.set_choices(choices.methods, choices.references)
        self.refresh_views()

    def refresh_views(self, keys: list[str] | None = None) -> None:
        """Show the current content in every view (only ``keys`` when given)."""
        for key in self.grid.keys() if keys is None else keys:
            if key in self.grid.keys():
                self.content.content(key).apply_to(self.grid.pane(key))
        self.flicker.refresh()
        self.swipe.refresh()
        self._difference_dirty = True
        if self.view_mode() == "difference":
            self._refresh_difference()
        rows, times = metrics_rows(self.session.model)
        self.metrics.set_rows(rows)
        self.status_view.times.setText(times)

    def _refresh_difference(self) -> None:
        self._difference_dirty = False
        self.difference.refresh()

    def _run_difference(self, fn: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """The difference view's slow part, on the task thread (its result is dropped if stale)."""
        self.session.submit(fn, done, lambda message: self.statusBar().showMessage(f"Difference: {message}", 8000),
                            lane="difference")

    # ================================================================ opening
    def open_path(self, path: str | Path, mode: str | None = None, scale: int | None = None) -> None:
        """Open an image (dialog, drop, command line, recent files) without blocking the window.

        Decoding, the Simulate mode reduction and the pane rasters are made on the task thread;
        The session's ``committed`` event (or ``failed``, with the error shown) follows.
        """
        self.session.open(path, mode, scale)

    def _on_preparing(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text)
        self._show_progress()
        if not self.session.model.has_image:
            self.refresh_views()

    def _on_committed(self, change: Change) -> None:
        if change.path is None:
            self.statusBar().clearMessage()
            return
        path = change.path
        self.settings.add_recent(path)
        self.settings.last_dir = str(path.resolve().parent)
        self._rebuild_recent_menu()
        self.setWindowTitle(f"{path.name} — SRGAN Desktop")
        image = self.session.model.image
        self.statusBar().showMessage(f"Opened {path.name} ({image.width}×{image.height})", 5000)

    def _on_failed_change(self, change: Change, message: str) -> None:
        """Nothing changed (the Mode and Scale menus show the model's again: ``ui/menus.py``)."""
        self.refresh_views()
        self._error(change.kind.value, message)

    def set_mode(self, mode: str) -> None:
        """``upscale`` (image = LR input) or ``simulate`` (image = ground truth), prepared off the GUI thread."""
        self.session.set_mode(mode)
        if not self.session.preparing:
            self.menus.sync_mode()

    def set_scale(self, scale: int) -> None:
        """Compare at ×``scale`` (Compare ▸ Scale): models at other scales are disabled."""
        self.session.set_scale(scale)

    # ================================================================ measures
    def choose_lpips_backbone(self, path: str | None = None) -> str | None:
        """Compare ▸ LPIPS backbone weights…: the file LPIPS uses from now on; the results already
        there are measured again on the task thread.  Returns why LPIPS still cannot run, if so."""
        if path is None:
            path, _ = QFileDialog.getOpenFileName(
                self, "LPIPS backbone: torchvision ImageNet AlexNet state dict",
                str(Path(self.settings.lpips_backbone).parent) if self.settings.lpips_backbone else str(Path.home()),
                "PyTorch state dict (*.pth *.pt);;All files (*)")
            if not path:
                return lpips_missing(self.settings.lpips_net, self.settings.lpips_backbone or None)
        return self.session.set_lpips_backbone(path)

    # ================================================================ models
    def manage_models(self) -> QWidget:
        """Models ▸ Manage…: the list of models, add (also by drag and drop), remove, each error."""
        from srgan_desktop.ui.models_dialog import ModelsDialog

        model = self.session.model
        dialog = ModelsDialog(model, model.source, self.models_changed, self)
        dialog.show()
        self._models_dialog = dialog
        return dialog

    def models_changed(self) -> None:
        """The model folder changed: forget loaded models, list them again, no restart."""
        self.session.models_changed()

    # ================================================================ running
    def is_busy(self) -> bool:
        return self.session.model.busy

    def worker_alive(self) -> bool:
        """The worker thread runs (a failed job must never end it)."""
        return self._worker.thread.isRunning()

    def run_all(self) -> None:
        self.run_methods([m.key for m in self.session.model.runnable()])

    def run_method(self, key: str) -> None:
        self.run_methods([key])

    def run_methods(self, keys: list[str]) -> None:
        """Run the given methods (cached results are reused; the rest go to the worker)."""
        self.session.run(keys)

    def cancel(self) -> None:
        """Stop the running method within one tile; earlier results stay."""
        self.session.cancel()

    def set_device(self, name: str) -> None:
        if name in dict(DEVICES):
            self.session.set_device(name)

    def clear_cache(self) -> None:
        """Compare ▸ Clear result cache: the open image's results go too, so Run all runs again."""
        self.session.clear_cache()

    def run_again(self, key: str) -> None:
        """Compare ▸ Run again on this image: make ``key`` anew (not from the cache)."""
        self.session.run_again([key])

    def _confirm(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def choose_output_limit(self, megapixels: int | None = None) -> int:
        """Compare ▸ Output size limit…: megapixels per result above which a run asks first (0: never)."""
        if megapixels is None:
            value, ok = QInputDialog.getInt(self, "Output size limit", "Ask before results larger than (MP, 0 = never):",
                                            int(self.settings.max_output_mp), 0, 1_000_000)
            if not ok:
                return int(self.settings.max_output_mp)
            megapixels = value
        self.settings.max_output_mp = int(megapixels)
        self.statusBar().showMessage(f"Output size limit: {megapixels} MP per result", 5000)
        return int(megapixels)

    def _toggle_auto_run(self) -> None:
        self.session.set_auto_run(self.action("auto_run").isChecked())

    # ================================================================ misc
    def open_mos_studies(self) -> QWidget:
        """Open the MOS studies window (design, rating panel, results)."""
        from srgan_desktop.ui.mos_window import open_mos_window

        self._mos_window = open_mos_window(self)
        return self._mos_window

    def _error(self, title: str, text: str) -> None:
        """Tell the user (message box over the window + status bar); the window keeps running.

        Before the window is on screen (a bad file on the command line) the box waits until
        it is shown, so it appears over the window instead of over an empty screen.
        """
        self.statusBar().showMessage(f"{title}: {text}", 10000)
        if not self.isVisible():
            self._deferred_errors.append((title, text))
            return
        QMessageBox.warning(self, title, text)

    def showEvent(self, event) -> None:  # noqa: ANN001, N802
        super().showEvent(event)
        if self._deferred_errors:
            QTimer.singleShot(0, self._show_deferred_errors)
        QTimer.singleShot(0, self._update_zoom_label)  # after the first layout: the real fit zoom

    def _show_deferred_errors(self) -> None:
        errors, self._deferred_errors = self._deferred_errors, []
        for title, text in errors:
            QMessageBox.warning(self, title, text)

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802
        super().resizeEvent(event)
        QTimer.singleShot(0, self._update_zoom_label)

    def show_help(self) -> QMessageBox:
        """Help ▸ Keys and mouse: a two-column table of every shortcut (from the action table)."""
        return self._info("Keys and mouse", help_html(), "helpBox")

    def show_about(self) -> QMessageBox:
        return self._info("About SRGAN Desktop", about_html(), "aboutBox")

    def _info(self, title: str, html: str, name: str) -> QMessageBox:
        box = QMessageBox(QMessageBox.Icon.Information, title, html, QMessageBox.StandardButton.Ok, self)
        box.setObjectName(name)
        box.setTextFormat(Qt.TextFormat.RichText)
        box.open()
        return box

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.settings.geometry = self.saveGeometry()
        self.settings.window_state = self.saveState()
        self.settings.sync()
        self.session.model.stop_all()
        self._worker.stop()
        self._tasks.stop()
        super().closeEvent(event)
