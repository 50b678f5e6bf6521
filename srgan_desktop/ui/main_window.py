"""The comparison window: layout and wiring around the Qt-free comparison model.

The state and every rule of the comparison (image, mode, scale, methods, statuses, run queue,
cancel, cache, scores) live in :class:`srgan_desktop.compare.ComparisonModel`; this window
lays widgets out, turns the model's events into widget updates, and hands slow work to
threads:

* one :class:`~srgan_desktop.ui.worker.WorkerThread` runs the methods (one queue, per-batch
  cancel tokens), another runs short tasks: decoding a file, the Simulate mode reduction,
  building the pane rasters, the difference map.  Measured with ``scripts/bench_gui.py
  --stall`` (4000×3000 PNG, offscreen): the longest event-loop gap while opening it in
  Upscale mode and while switching to Simulate mode is reported there (it was 2,088 ms and
  1,430 ms when this work ran on the GUI thread);
* the menus, toolbar, shortcuts and the key list of Help all come from one table,
  :func:`~srgan_desktop.ui.actions.action_table` (``ui/actions.py``);
* what the views say (no result, zoom, file names, progress, the output size guard) is decided
  in the Qt-free :mod:`srgan_desktop.compare.views`; the status-bar progress is
  ``ui/progress.py``, the zoom box ``ui/zoom_box.py``, saving and export ``ui/window_saving.py``,
  opening, recent files, drag and drop and results made elsewhere ``ui/window_files.py``.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFileDialog, QInputDialog, QLabel, QMainWindow, QMenu,
                               QMessageBox, QStackedWidget, QToolButton, QWidget)

from srgan_desktop import paths
from srgan_desktop.compare import (INPUT_KEY, MODES, REFERENCE_KEY, ComparisonModel, MethodKind,
                                   MethodOutput, ModelSource, Prepared, RunRequest, Scores, Status)
from srgan_desktop.compare import perceptual
from srgan_desktop.compare.session import Change, ComparisonSession
from srgan_desktop.compare.views import NOTES, default_pair, no_result, status_text, zoom_text
from srgan_desktop.core.lpips_metric import lpips_missing
from srgan_desktop.core.models import ModelResolver
from srgan_desktop.ui.difference_view import DifferenceView
from srgan_desktop.ui.flicker_view import FlickerView
from srgan_desktop.ui.image_pane import ImagePane, Raster
from srgan_desktop.ui.metrics_panel import MetricsPanel, MetricsRow
from srgan_desktop.ui.pane_grid import PaneContent, PaneGrid, ViewSync
from srgan_desktop.ui.progress import ProgressDisplay
from srgan_desktop.ui.partial_view import PartialRasters, visible_lr_box
from srgan_desktop.ui.actions import TOOLBAR, ActionSpec, about_html, action_table, help_html
from srgan_desktop.ui.settings import AppSettings
from srgan_desktop.ui.swipe_view import SwipeView
from srgan_desktop.ui.window_files import FilesMixin
from srgan_desktop.ui.window_saving import SavingMixin
from srgan_desktop.ui.zoom_box import ZoomBox
from srgan_desktop.ui.jobs import WorkerJobs
from srgan_desktop.ui.worker import WorkerThread, device_name

__all__ = ["MainWindow", "VIEW_MODES", "DEVICES", "device_available", "ActionSpec", "action_table"]

VIEW_MODES = ("grid", "swipe", "flicker", "difference")
DEVICES = (("auto", "Auto"), ("cuda", "CUDA"), ("mps", "MPS"), ("cpu", "CPU"))
SAMPLE = "astronaut_lr.png"
SAMPLES = ((SAMPLE, "upscale", "Astronaut 128×128 (upscale)"),
           ("astronaut.png", "simulate", "Astronaut 512×512 (simulate from HR)"),
           ("coffee.png", "simulate", "Coffee 600×400 (simulate from HR)"))
#: Pyramid levels are built off the GUI thread until the image's longer side is under this.
PREBUILD_SIDE = 256


def device_available(name: str) -> bool:
    if name == "cuda":
        return bool(torch.cuda.is_available())
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        return bool(mps and mps.is_available())
    return True


def _prebuild(raster: Raster) -> Raster:
    """Build the zoomed-out pyramid levels now (in the task thread), not at the first paint."""
    level, side = 0, max(raster.width, raster.height)
    while side > PREBUILD_SIDE:
        level, side = level + 1, side // 2
    raster.level(level)
    return raster


class MainWindow(SavingMixin, FilesMixin, QMainWindow):
    """Bicubic, SRResNet, SRGAN and any other model side by side, with synchronised views."""

    imageOpened = Signal(str)     # a file was opened (after its preparation finished)
    imageChanged = Signal()       # image, mode or scale applied
    prepareFailed = Signal(str)   # opening / switching failed (the message shown)
    resultReady = Signal(str)     # a method key whose result arrived
    scoresReady = Signal(str)     # a method key whose scores arrived
    runIdle = Signal()            # the worker finished a batch (done, failed or cancelled)
    differenceReady = Signal()    # the difference map on screen is up to date

    def __init__(self, settings: AppSettings | None = None, registry: ModelResolver | None = None,
                 *, open_sample: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or AppSettings()
        self._install_measures()
        self.registry = registry or ModelResolver(paths.weights_dir(), paths.user_models_dir())
        self.models = ModelSource(self.registry)
        self.model = ComparisonModel(self.models)
        self._input_raster: Raster | None = None
        self._reference_raster: Raster | None = None
        self._rasters: weakref.WeakKeyDictionary[MethodOutput, Raster] = weakref.WeakKeyDictionary()
        self._partials = PartialRasters(self.model)  # running methods' tiles, painted as they arrive
        self._active_key = ""
        self._difference_dirty = True
        self._deferred_errors: list[tuple[str, str]] = []
        self._actions: dict[str, QAction] = {}
        self._menus: dict[str, QMenu] = {}

        self.setWindowTitle("SRGAN Desktop")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.resize(1280, 820)

        self.sync = ViewSync(self)
        self.grid = PaneGrid(self.sync)
        self.flicker = FlickerView(self.sync, self.pane_content)
        note = lambda key: no_result(self.model, key)  # noqa: E731
        self.swipe = SwipeView(self.sync, self.pane_content, note=note, default=lambda: default_pair(self.model))
        self.difference = DifferenceView(self.sync, self.scene_source, self._title_of, runner=self._run_difference,
                                         note=note)
        self.stack = QStackedWidget(self)
        for widget in (self.grid, self.swipe, self.flicker, self.difference):
            self.stack.addWidget(widget)
        self.setCentralWidget(self.stack)
        self.grid.paneActivated.connect(self._set_active)
        self.flicker.currentChanged.connect(self._set_active)
        self.sync.cursorMoved.connect(self._on_cursor)
        self.sync.cursorLeft.connect(lambda: self._cursor_label.setText(""))
        self.sync.viewChanged.connect(self._update_zoom_label)
        self.sync.paneViewChanged.connect(self._update_zoom_label)  # a fit pane re-fitted (dock, layout)
        self.sync.viewChanged.connect(self._send_viewport)
        self.difference.settingsChanged.connect(self._on_difference_settings)

        self.metrics = MetricsPanel(self)
        self.metrics_dock = QDockWidget("Metrics", self)
        self.metrics_dock.setObjectName("metricsDock")
        self.metrics_dock.setWidget(self.metrics)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.metrics_dock)

        self._worker = WorkerThread(self.models, self)
        worker = self._worker.worker
        # Slots of this window (a QObject of the GUI thread): queued, so the model is only
        # ever changed on the GUI thread (a plain Python callable would run in the worker's).
        worker.started.connect(self._on_started)
        worker.progress.connect(self._on_progress)
        worker.share.connect(self._on_share)
        worker.tile.connect(self._on_tile)
        worker.finished.connect(self._on_finished)
        worker.scored.connect(self._on_scored)
        worker.measuring.connect(self._on_measuring)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.idle.connect(self._on_idle)
        self._tasks = WorkerThread(None, self, "task-worker")
        self._jobs = WorkerJobs(self._worker, self._tasks, self._send_viewport, self)

        for name, slot in {"image": self._on_model_image, "methods": self._on_model_methods,
                           "status": self._on_model_status, "result": self._on_model_result,
                           "scores": self._on_model_scores, "busy": self._on_model_busy,
                           "tile": self._on_model_tile, "measuring": lambda _key: self._show_progress()}.items():
            self.model.events.connect(name, slot)
        # after the window's own listeners: panes are rebuilt before cached results arrive
        self.session = ComparisonSession(self.model, self._jobs, self.settings, device_name, device_available,
                                         extra=self._prepare_rasters, confirm=self._confirm)
        for name, slot in {"preparing": self._on_preparing, "prepared": self._on_prepared,
                           "committed": self._on_committed, "failed": self._on_failed_change, "error": self._error,
                           "message": lambda text, seconds: self.statusBar().showMessage(text, int(seconds * 1000)),
                           "added": self._on_added, "device": self._on_device}.items():
            self.session.events.connect(name, slot)

        self._build_actions()
        self._build_status_bar()
        self._build_toolbar()
        self._restore_settings()
        if self.settings.window_state is None:
            self.resizeDocks([self.metrics_dock], [130], Qt.Orientation.Vertical)
        self._rebuild_panes()
        if open_sample and not self.settings.sample_opened:
            self.open_sample(SAMPLE, "upscale")

    # ================================================================ building
    def action(self, name: str) -> QAction:
        return self._actions[name]

    def _make_action(self, spec: ActionSpec) -> QAction:
        action = QAction(spec.text, self)
        if spec.keys:
            action.setShortcuts([QKeySequence(k) for k in spec.keys])
        action.setCheckable(spec.checkable)
        if spec.icon_text:
            action.setIconText(spec.icon_text)
        if spec.tip:
            action.setStatusTip(spec.tip)
            action.setToolTip(f"{spec.tip} ({spec.keys[0]})" if spec.keys else spec.tip)
        slot = getattr(self, spec.slot)
        if spec.arg is not None:
            action.triggered.connect(lambda _c=False, f=slot, a=spec.arg: f(a))
        else:
            action.triggered.connect(lambda _c=False, f=slot: f())
        self.addAction(action)  # shortcuts work even when the action is in no visible menu
        return action

    def _build_actions(self) -> None:
        bar = self.menuBar()
        groups: dict[str, QActionGroup] = {}
        for spec in action_table():
            menu = None
            if spec.menu:
                if spec.menu not in self._menus:
                    self._menus[spec.menu] = bar.addMenu(spec.menu)
                menu = self._menus[spec.menu]
            if spec.name == "-":
                menu.addSeparator()
                continue
            if spec.name == "metrics_dock":
                menu.addAction(self.metrics_dock.toggleViewAction())
                continue
            if spec.submenu:
                self._menus[spec.name] = menu.addMenu(spec.text)
                continue
            action = self._make_action(spec)
            if spec.group:
                groups.setdefault(spec.group, QActionGroup(self)).addAction(action)
            if menu is not None:
                menu.addAction(action)
            self._actions[spec.name] = action
        # compatibility names used by tests and the screenshot script
        self.act_row, self.act_smooth, self.act_cancel = self.action("row"), self.action("smooth"), self.action("cancel")
        self.act_cancel.setEnabled(False)
        self.action("auto_run").setChecked(self.settings.auto_run)
        self.action(f"mode_{self.model.mode}").setChecked(True)
        self.recent_menu, self.run_menu, self.scale_menu = (self._menus["recent"], self._menus["run_one"],
                                                            self._menus["scales"])
        for name, mode, text in SAMPLES:
            act = self._menus["samples"].addAction(text)
            act.triggered.connect(lambda _c=False, n=name, m=mode: self.open_sample(n, m))
        self.device_group = QActionGroup(self)
        self.act_devices: dict[str, QAction] = {}
        for name, title in DEVICES:
            ok = device_available(name)
            label = title if name != "auto" else f"Auto ({device_name('auto')})"
            act = self._menus["devices"].addAction(label if ok else f"{title} (not available)")
            act.setCheckable(True)
            act.setEnabled(ok)
            act.triggered.connect(lambda _c=False, n=name: self.set_device(n))
            self.device_group.addAction(act)
            self.act_devices[name] = act
        self.device_menu = self._menus["devices"]
        self._rebuild_recent_menu()

    def _build_toolbar(self) -> None:
        tools = self.addToolBar("Main")
        tools.setObjectName("mainToolbar")
        self.mode_combo = QComboBox(self)
        self.mode_combo.setObjectName("modeCombo")
        for mode in MODES:
            self.mode_combo.addItem("Upscale" if mode == "upscale" else "Simulate from HR", mode)
        self.mode_combo.setToolTip("Upscale: the image is the LR input. Simulate: the image is the ground "
                                   "truth, reduced by the scale with MATLAB bicubic, then super-resolved.")
        self.mode_combo.setCurrentIndex(MODES.index(self.model.mode))
        self.mode_combo.activated.connect(lambda i: self.set_mode(MODES[i]))
        self.device_button = QToolButton(self)
        self.device_button.setObjectName("deviceButton")
        self.device_button.setMenu(self.device_menu)
        self.device_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.device_button.setToolTip("Device the networks run on")
        self.zoom_combo = ZoomBox(self)
        self.zoom_combo.zoomChosen.connect(self._on_zoom_chosen)
        self.zoom_label = QLabel("")
        self.zoom_label.setObjectName("zoomLabel")
        self.zoom_label.setMinimumWidth(70)
        widgets = {"@mode_combo": self.mode_combo, "@device_button": self.device_button,
                   "@zoom_combo": self.zoom_combo, "@zoom_label": self.zoom_label}
        for name in TOOLBAR:
            if name == "|":
                tools.addSeparator()
            elif name in widgets:
                tools.addWidget(widgets[name])
            else:
                tools.addAction(self.action(name))

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self._cursor_label = QLabel("")
        self._cursor_label.setObjectName("cursorLabel")
        self._times_label = QLabel("")
        self._times_label.setObjectName("timesLabel")
        self._device_label = QLabel("")
        self._device_label.setObjectName("deviceLabel")
        self.progress = ProgressDisplay(self.session, self.act_cancel, self._title_of)
        self._progress, self._progress_label, self._cancel_button = self.progress.bar, self.progress.label, \
            self.progress.cancel_button
        for widget in (self._cursor_label, self._times_label, *self.progress.widgets, self._device_label):
            status.addPermanentWidget(widget)

    def _restore_settings(self) -> None:
        if self.settings.geometry is not None:
            self.restoreGeometry(self.settings.geometry)
        if self.settings.window_state is not None:
            self.restoreState(self.settings.window_state)
        device = self.settings.device if self.settings.device in dict(DEVICES) else "auto"
        if not device_available(device):
            device = "auto"
        self.set_device(device)
        self.act_row.setChecked(self.settings.arrangement == "row")
        self.grid.set_arrangement(self.settings.arrangement if self.settings.arrangement in ("grid", "row")
                                  else "grid")
        self.act_smooth.setChecked(self.settings.smooth)
        self._toggle_smooth()
        self.action("crosshair").setChecked(self.settings.crosshair)
        self._toggle_crosshair()
        self.difference.set_amplification(max(1, min(16, self.settings.amplification)))
        scale = self.settings.scale if self.settings.scale in self.model.scale_choices() else self.model.scale
        if (self.settings.mode in MODES and self.settings.mode != self.model.mode) or scale != self.model.scale:
            mode = self.settings.mode if self.settings.mode in MODES else self.model.mode
            self.model.apply(Prepared(None, mode, scale))
        self._sync_mode_controls()
        self.set_view_mode(self.settings.view_mode if self.settings.view_mode in VIEW_MODES else "grid")

    # ================================================================ threads
    def _run_task(self, fn: Callable[[], Any], done: Callable[[Any], None],
                  failed: Callable[[str], None]) -> None:
        """Run ``fn`` on the task thread; ``done(value)`` or ``failed(message)`` on the GUI thread."""
        self._jobs.submit(fn, done, failed)

    def is_preparing(self) -> bool:
        """An image, mode or scale is being prepared on the task thread."""
        return self.session.preparing

    def _show_progress(self) -> None:
        self.progress.update()

    # ================================================================ model events
    def _on_model_image(self) -> None:
        self._sync_mode_controls()
        self._rebuild_panes()
        self.sync.fit()

    def _on_model_methods(self) -> None:
        self._rebuild_panes()

    def _on_model_status(self, key: str) -> None:
        state = self.model.state(key)
        if key in self.grid.keys() and key not in self.model.results:
            painting = self.model.image_for(key) is not None  # its tiles are on screen: no note over them
            self.grid.pane(key).set_message("" if painting else status_text(state))
        if state.status is Status.RUNNING:
            if not state.tiles_total:
                self._device_label.setText(f"Device: {state.device}")
                self.statusBar().showMessage(f"Running {self._title_of(key)} on {state.device}…")
            self._show_progress()
            if state.tiles_total:
                return  # per-tile: only the pane message and the bar change
        elif state.status is Status.CANCELLED:
            self.statusBar().showMessage(f"{self._title_of(key)} cancelled", 5000)
        self._refresh_key(key)

    def _on_model_result(self, key: str) -> None:
        self._refresh_key(key)

    def _on_model_scores(self, key: str) -> None:
        self._refresh_key(key)
        self.scoresReady.emit(key)

    def _on_model_tile(self, key: str, box: tuple[int, int, int, int]) -> None:
        raster, new = self._partials.on_tile(key, box)
        if new:
            self._refresh_key(key)  # the pane shows the partial canvas from now on
        elif raster is not None:
            self._partials.repaint(raster, self.findChildren(ImagePane))

    def _send_viewport(self) -> None:
        """Tell the worker which LR region is on screen (its tiles run first)."""
        self._worker.worker.set_viewport(visible_lr_box(self.sync, self.model))

    def _on_model_busy(self, busy: bool) -> None:
        self.act_cancel.setEnabled(busy)
        self._show_progress()

    def _refresh_key(self, key: str) -> None:
        self.refresh_views([key])

    # ================================================================ worker signals
    def _on_started(self, request: RunRequest, device: str) -> None:
        self.model.on_started(request, device)

    def _on_progress(self, request: RunRequest, done: int, total: int) -> None:
        self.model.on_progress(request, done, total)

    def _on_share(self, request: RunRequest, share: float) -> None:
        self.model.on_share(request, share)

    def _on_tile(self, request: RunRequest, box: tuple[int, int, int, int], pixels: np.ndarray) -> None:
        self.model.on_tile(request, box, pixels)

    def _on_cancelled(self, request: RunRequest) -> None:
        self.model.on_cancelled(request)

    def _on_finished(self, request: RunRequest, output: MethodOutput, raster: Raster) -> None:
        self._rasters[output] = raster
        if self.model.on_finished(request, output):
            load = f" (+ {output.load_seconds:.2f} s loading the model)" if output.load_seconds else ""
            self.statusBar().showMessage(
                f"{self._title_of(request.key)}: {output.seconds:.2f} s on {output.device}{load}", 8000)
            self.resultReady.emit(request.key)

    def _on_measuring(self, request: RunRequest, name: str) -> None:
        self.model.on_measuring(request, name)

    def _on_scored(self, request: RunRequest, scores: Scores) -> None:
        self.model.set_scores(request, scores)

    def _on_failed(self, request: RunRequest, message: str) -> None:
        if self.model.state(request.key).active and not request.cancelled:
            self.model.on_failed(request, message)
            self._error(f"{self._title_of(request.key)} failed", message)

    def _on_idle(self, batch: list[RunRequest]) -> None:
        self.model.on_batch_over(batch)
        self._show_progress()
        self.runIdle.emit()

    # ================================================================ content
    def _title_of(self, key: str) -> str:
        try:
            return self.model.title(key)
        except KeyError:
            return key

    def pane_title(self, key: str) -> str:
        """A pane's title: the method, then PSNR/SSIM against the ground truth when known."""
        title = self._title_of(key)
        if key == INPUT_KEY and self.model.lr is not None:
            h, w = self.model.lr.shape[:2]
            return f"{title} · {w}×{h}"
        scores = self.model.scores(key)
        text = scores.text() if scores is not None else ""
        return f"{title} — {text}" if text else title

    def raster_of(self, output: MethodOutput) -> Raster:
        raster = self._rasters.get(output)
        if raster is None or raster.rgb is not output.rgb:
            raster = Raster(output.rgb)
            self._rasters[output] = raster
        return raster

    def pane_content(self, key: str) -> PaneContent:
        """What the pane for ``key`` shows now (used by the grid, swipe and flicker views)."""
        title = self.pane_title(key)
        if not self.model.has_image:
            text = self.session.pending.text if self.session.preparing else "Open an image (Ctrl+O) or drop one here"
            return PaneContent(title, message=text)
        if key == INPUT_KEY:
            return PaneContent(title, self._input_raster, self.model.scale)
        if key == REFERENCE_KEY:
            return PaneContent(title, self._reference_raster)
        done = self.model.results.get(key)
        if done is not None:
            return PaneContent(title, self.raster_of(done))
        partial = self._partials.raster(key)
        if partial is not None:
            return PaneContent(title, partial)
        try:
            self.model.method(key)
        except KeyError:
            return PaneContent(title, message="")
        return PaneContent(title, message=status_text(self.model.state(key)))

    def scene_source(self, key: str) -> tuple[np.ndarray, int] | None:
        """The full image behind ``key`` and its scene units per pixel (the LR: the scale)."""
        rgb = self.model.image_for(key)
        return None if rgb is None else (rgb, self.model.display_scale(key))

    def scene_array(self, key: str) -> np.ndarray | None:
        """The full image behind ``key`` at one pixel per scene unit (slow for the LR input)."""
        source = self.scene_source(key)
        if source is None:
            return None
        rgb, scale = source
        return rgb if scale == 1 else np.repeat(np.repeat(rgb, scale, axis=0), scale, axis=1)

    def _choices(self) -> list[tuple[str, str]]:
        return [(key, self._title_of(key)) for key in self.model.pane_keys()]

    def _rebuild_panes(self) -> None:
        """Re-create the panes for the current methods, mode and scale."""
        keys = self.model.pane_keys()
        self.grid.set_keys(keys)
        choices = self._choices()
        self.flicker.set_choices(choices)
        self.swipe.set_choices(choices)
        methods = [(k, t) for k, t in choices if k not in (INPUT_KEY, REFERENCE_KEY)]
        refs = ([(REFERENCE_KEY, self._title_of(REFERENCE_KEY))] if REFERENCE_KEY in keys else []) + \
            [(k, t) for k, t in choices if k != REFERENCE_KEY]
        self.difference.set_choices(methods, refs)
        for menu, slot in ((self.run_menu, self.run_method), (self._menus["run_again"], self.run_again)):
            menu.clear()
            for spec in self.model.methods():
                if spec.kind is MethodKind.FILE:
                    continue
                reason = self.model.disabled_reason(spec.key)
                act = menu.addAction(spec.title if not reason else f"{spec.title} (unavailable)")
                act.setEnabled(not reason)
                act.setToolTip(reason)
                act.triggered.connect(lambda _c=False, k=spec.key, f=slot: f(k))
            menu.setToolTipsVisible(True)
        self._rebuild_scale_menu()
        self.refresh_views()

    def _rebuild_scale_menu(self) -> None:
        self.scale_menu.clear()
        group = QActionGroup(self.scale_menu)
        models = self.model.model_scales()
        for scale in self.model.scale_choices():
            names = [m.title for m in self.model.methods() if m.kind is MethodKind.MODEL and m.scale == scale]
            act = self.scale_menu.addAction(f"×{scale}" + (f"  ({', '.join(names)})" if names else
                                                           "  (bicubic only)" if scale not in models else ""))
            act.setCheckable(True)
            act.setChecked(scale == self.model.scale)
            act.triggered.connect(lambda _c=False, s=scale: self.set_scale(s))
            group.addAction(act)

    def refresh_views(self, keys: list[str] | None = None) -> None:
        """Show the current content in every view (only ``keys`` when given)."""
        for key in self.grid.keys() if keys is None else keys:
            if key in self.grid.keys():
                self.pane_content(key).apply_to(self.grid.pane(key))
        self.flicker.refresh()
        self.swipe.refresh()
        self._difference_dirty = True
        if self.view_mode() == "difference":
            self._refresh_difference()
        self._update_metrics()

    def _refresh_difference(self) -> None:
        self._difference_dirty = False
        self.difference.refresh()

    def _run_difference(self, fn: Callable[[], Any], done: Callable[[Any], None]) -> None:
        """The difference view's slow part, on the task thread (its result is dropped if stale)."""
        def finish(value: Any) -> None:
            done(value)
            self.differenceReady.emit()

        self.session.submit(fn, finish, lambda message: self.statusBar().showMessage(f"Difference: {message}", 8000),
                            lane="difference")

    def _update_metrics(self) -> None:
        rows = []
        times = []
        for spec in self.model.methods():
            done = self.model.results.get(spec.key)
            if done is None:
                state = self.model.state(spec.key)
                note = NOTES[state.status]
                if state.status is Status.RUNNING and state.tiles_total:
                    note = f"running {state.tiles_done}/{state.tiles_total}"
                rows.append(MetricsRow(spec.title, note=note))
                continue
            scores = self.model.scores(spec.key)
            file = spec.kind is MethodKind.FILE
            rows.append(MetricsRow(spec.title, scores.psnr if scores else None, scores.ssim if scores else None,
                                   None if file else done.seconds, done.device,
                                   note="from file" if file else "",
                                   load_seconds=None if file else done.load_seconds,
                                   extra=dict(scores.extra) if scores else {}))
            if not file:
                times.append(f"{spec.title} {done.seconds:.2f} s")
        self.metrics.set_rows(rows)
        self._times_label.setText(" · ".join(times))

    # ================================================================ opening
    def open_path(self, path: str | Path, mode: str | None = None, scale: int | None = None) -> None:
        """Open an image (dialog, drop, command line, recent files) without blocking the window.

        Decoding, the Simulate mode reduction and the pane rasters are made on the task thread;
        ``imageOpened`` (or ``prepareFailed``, with the error shown) follows.
        """
        self.session.open(path, mode, scale)

    @staticmethod
    def _prepare_rasters(prepared: Prepared) -> tuple[Raster | None, Raster | None]:
        """(task thread) The LR and ground-truth rasters, with their pyramids."""
        lr = _prebuild(Raster(prepared.lr)) if prepared.lr is not None else None
        ref = _prebuild(Raster(prepared.reference)) if prepared.reference is not None else None
        return lr, ref

    def _on_preparing(self, text: str) -> None:
        if text:
            self.statusBar().showMessage(text)
        self._show_progress()
        if not self.model.has_image:
            self.refresh_views()

    def _on_prepared(self, _prepared: Prepared, rasters: tuple[Raster | None, Raster | None]) -> None:
        self._input_raster, self._reference_raster = rasters

    def _on_committed(self, change: Change) -> None:
        self.imageChanged.emit()
        if change.path is None:
            self.statusBar().clearMessage()
            return
        path = change.path
        self.settings.add_recent(path)
        self.settings.last_dir = str(path.resolve().parent)
        self._rebuild_recent_menu()
        self.setWindowTitle(f"{path.name} — SRGAN Desktop")
        image = self.model.image
        self.statusBar().showMessage(f"Opened {path.name} ({image.width}×{image.height})", 5000)
        self.imageOpened.emit(str(path))

    def _on_failed_change(self, change: Change, message: str) -> None:
        """Nothing changed: the Mode and Scale controls show the model's again."""
        self._sync_mode_controls()
        self._rebuild_scale_menu()
        self.refresh_views()
        self._error(change.kind.value, message)
        self.prepareFailed.emit(message)

    def set_mode(self, mode: str) -> None:
        """``upscale`` (image = LR input) or ``simulate`` (image = ground truth), prepared off the GUI thread."""
        self.session.set_mode(mode)
        if not self.session.preparing:
            self._sync_mode_controls()

    def set_scale(self, scale: int) -> None:
        """Compare at ×``scale`` (Compare ▸ Scale): models at other scales are disabled."""
        self.session.set_scale(scale)

    def _sync_mode_controls(self) -> None:
        self.action(f"mode_{self.model.mode}").setChecked(True)
        self.mode_combo.setCurrentIndex(MODES.index(self.model.mode))

    # ================================================================ measures
    def _install_measures(self) -> str | None:
        """NIQE and LPIPS join the scores (computed in the worker); returns why LPIPS cannot run."""
        try:
            return perceptual.install(self.settings.lpips_net, self.settings.lpips_backbone)
        except ValueError:  # an unknown net in a hand-edited settings file
            self.settings.lpips_net = "alex"
            return perceptual.install("alex", self.settings.lpips_backbone)

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
        self.settings.lpips_backbone = str(path)
        reason = self._install_measures()
        self.statusBar().showMessage(f"LPIPS: {reason}" if reason else f"LPIPS backbone: {path}", 10000)
        self.session.remeasure(perceptual.lpips_score)
        return reason

    # ================================================================ models
    def manage_models(self) -> QWidget:
        """Models ▸ Manage…: the list of models, add (also by drag and drop), remove, each error."""
        from srgan_desktop.ui.models_dialog import ModelsDialog

        dialog = ModelsDialog(self.model, self.models, self.models_changed, self)
        dialog.show()
        self._models_dialog = dialog
        return dialog

    def models_changed(self) -> None:
        """The model folder changed: forget loaded models, list them again, no restart."""
        self.session.models_changed()

    # ================================================================ running
    def is_busy(self) -> bool:
        return self.model.busy

    def worker_alive(self) -> bool:
        """The worker thread runs (a failed job must never end it)."""
        return self._worker.thread.isRunning()

    def run_all(self) -> None:
        self.run_methods([m.key for m in self.model.runnable()])

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

    def _on_device(self, name: str, resolved: str) -> None:
        self.act_devices[name].setChecked(True)
        self.device_button.setText(f"Device: {dict(DEVICES)[name]}")
        self._device_label.setText(f"Device: {resolved}" + (" (auto)" if name == "auto" else ""))

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

    # ================================================================ viewing
    def view_mode(self) -> str:
        return VIEW_MODES[self.stack.currentIndex()]

    def set_view_mode(self, mode: str) -> None:
        """``grid``, ``swipe``, ``flicker`` or ``difference``."""
        if mode not in VIEW_MODES:
            raise ValueError(mode)
        self.stack.setCurrentIndex(VIEW_MODES.index(mode))
        self.action(f"view_{mode}").setChecked(True)
        self.settings.view_mode = mode
        if mode == "difference" and self._difference_dirty:
            self._refresh_difference()
        for pane in self.visible_panes():
            self.sync.sync_pane(pane)
        self._update_zoom_label()

    def visible_panes(self) -> list[ImagePane]:
        mode = self.view_mode()
        if mode == "grid":
            return self.grid.panes()
        return [{"swipe": self.swipe.pane, "flicker": self.flicker.pane,
                 "difference": self.difference.pane}[mode]]

    def flicker_to(self, index: int) -> None:
        """Keys 1…N: show pane ``index`` (0-based) alone, in the large flicker pane."""
        if self.view_mode() != "flicker":
            self.set_view_mode("flicker")
        self.flicker.show_index(index)

    def fit(self) -> None:
        self.sync.fit()
        self._update_zoom_label()

    def zoom_by(self, factor: float) -> None:
        self.sync.zoom_by(factor)

    def set_zoom(self, zoom: float) -> None:
        self.sync.set_zoom(zoom)
        self._update_zoom_label()

    def realign(self) -> None:
        self.sync.realign()
        self.statusBar().showMessage("Panes re-aligned", 3000)

    def _on_zoom_chosen(self, zoom: float) -> None:
        if zoom <= 0:
            self.fit()
        else:
            self.set_zoom(zoom)

    def _update_zoom_label(self) -> None:
        """The zoom drawn in the pane on screen (after its layout), in the label and the box."""
        shown = [p for p in self.visible_panes() if p.isVisible() and p.image() is not None]
        zoom = shown[0].screen_zoom() if shown else None
        self.zoom_label.setText(zoom_text(zoom))
        self.zoom_combo.show_zoom(zoom, self.sync.is_fit())

    def _toggle_row(self) -> None:
        arrangement = "row" if self.act_row.isChecked() else "grid"
        self.settings.arrangement = arrangement
        self.grid.set_arrangement(arrangement)

    def _toggle_smooth(self) -> None:
        smooth = self.act_smooth.isChecked()
        self.settings.smooth = smooth
        for pane in self.grid.panes() + [self.flicker.pane, self.difference.pane]:
            pane.set_smooth(smooth)
        self.swipe.set_smooth(smooth)

    def _toggle_crosshair(self) -> None:
        on = self.action("crosshair").isChecked()
        self.settings.crosshair = on
        self.sync.set_crosshair_enabled(on)

    def _set_active(self, key: str) -> None:
        self._active_key = key

    def active_key(self) -> str:
        """The pane Ctrl+S saves: the clicked pane, the flicker/swipe/difference choice, else the last result."""
        mode = self.view_mode()
        if mode == "flicker" and self.flicker.current_key():
            return self.flicker.current_key()
        if mode == "swipe":
            return self.swipe.pair()[0]
        if mode == "difference":
            return self.difference.pair()[0]
        if self._active_key and self.model.image_for(self._active_key) is not None:
            return self._active_key
        done = [k for k in self.grid.keys() if k in self.model.results]
        return done[-1] if done else INPUT_KEY

    def _on_cursor(self, x: float, y: float) -> None:
        if self.model.lr is None:
            return
        h, w = self.model.lr.shape[:2]
        s = self.model.scale
        if 0 <= x < w * s and 0 <= y < h * s:
            ix, iy = math.floor(x), math.floor(y)
            self._cursor_label.setText(f"x {ix}  y {iy}  (LR {ix // s}, {iy // s})")
        else:
            self._cursor_label.setText("")

    def _on_difference_settings(self) -> None:
        self.settings.amplification = int(self.difference.amplification.value())

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
        self.model.stop_all()
        self._worker.stop()
        self._tasks.stop()
        super().closeEvent(event)
