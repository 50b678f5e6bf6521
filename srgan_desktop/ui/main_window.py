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
  :func:`action_table`.
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PySide6.QtCore import QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFileDialog, QLabel, QMainWindow, QMenu,
                               QMessageBox, QProgressBar, QStackedWidget, QToolButton, QWidget)

from srgan_desktop import paths
from srgan_desktop.compare import (INPUT_KEY, MODES, REFERENCE_KEY, ComparisonModel, MethodKind,
                                   MethodOutput, ModelSource, Prepared, RunRequest, Scores, Status)
from srgan_desktop.compare import perceptual
from srgan_desktop.compare.session import Change, ComparisonSession
from srgan_desktop.core.images import IMAGE_SUFFIXES, ImageSaveError, save_image
from srgan_desktop.core.lpips_metric import lpips_missing
from srgan_desktop.core.models import ModelResolver
from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.ui.difference_view import DifferenceView
from srgan_desktop.ui.figures import Crop, ExportResult, crop_scene, export_view
from srgan_desktop.ui.flicker_view import FlickerView
from srgan_desktop.ui.image_pane import ZOOM_PRESETS, ImagePane, Raster
from srgan_desktop.ui.metrics_panel import MetricsPanel, MetricsRow
from srgan_desktop.ui.pane_grid import PaneContent, PaneGrid, ViewSync
from srgan_desktop.ui.partial_view import PartialRasters, visible_lr_box
from srgan_desktop.ui.settings import AppSettings
from srgan_desktop.ui.swipe_view import SwipeView
from srgan_desktop.ui.jobs import WorkerJobs
from srgan_desktop.ui.worker import WorkerThread, device_name

__all__ = ["MainWindow", "VIEW_MODES", "DEVICES", "device_available", "ActionSpec", "action_table"]

VIEW_MODES = ("grid", "swipe", "flicker", "difference")
DEVICES = (("auto", "Auto"), ("cuda", "CUDA"), ("mps", "MPS"), ("cpu", "CPU"))
MODE_TITLES = {"upscale": "Upscale (image is the LR input)",
               "simulate": "Simulate from HR (image is the ground truth)"}
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


def _image_filter() -> str:
    patterns = " ".join(f"*{s}" for s in sorted(IMAGE_SUFFIXES))
    return f"Images ({patterns});;All files (*)"


# ==================================================================== actions
@dataclass(frozen=True)
class ActionSpec:
    """One row of the action table: a menu entry, its shortcut(s) and what it calls.

    ``name`` ``-`` is a separator; ``submenu=True`` makes an (empty, filled later) submenu;
    ``slot`` is a window method name called with ``arg`` when it is not None.
    """

    name: str
    text: str = ""
    slot: str = ""
    menu: str = ""
    keys: tuple[str, ...] = ()
    checkable: bool = False
    tip: str = ""
    group: str = ""
    arg: Any = None
    submenu: bool = False
    icon_text: str = ""


def _sep(menu: str) -> ActionSpec:
    return ActionSpec("-", menu=menu)


def action_table() -> list[ActionSpec]:
    """Every action of the window, in menu order (the toolbar picks from it by name)."""
    t: list[ActionSpec] = [
        ActionSpec("open", "&Open…", "open_dialog", "&File", ("Ctrl+O",), tip="Open an image"),
        ActionSpec("recent", "Open &recent", menu="&File", submenu=True),
        ActionSpec("samples", "Open sa&mple", menu="&File", submenu=True),
        ActionSpec("add_result", "Add result &image…", "add_result_dialog", "&File", ("Ctrl+I",),
                   tip="Add an image made elsewhere as one more method (LR × scale, or HR size in Simulate)"),
        ActionSpec("add_results_folder", "Add results &folder…", "add_results_folder_dialog", "&File",
                   tip="A folder of results made elsewhere, named like the inputs: every image you open "
                       "gets its result from it"),
        _sep("&File"),
        ActionSpec("save", "&Save result…", "save_dialog", "&File", ("Ctrl+S",),
                   tip="Save the active pane's image at full resolution"),
        ActionSpec("save_all", "Save &all results…", "save_all_dialog", "&File", ("Ctrl+Shift+S",),
                   tip="Save every result at full resolution into a folder"),
        ActionSpec("export", "&Export view…", "export_dialog", "&File", ("Ctrl+E",),
                   tip="Save the visible region of every pane and a labelled figure"),
        _sep("&File"),
        ActionSpec("quit", "&Quit", "close", "&File", ("Ctrl+Q",)),
    ]
    for index, mode in enumerate(MODES):
        t.append(ActionSpec(f"mode_{mode}", MODE_TITLES[mode], "set_mode", "&Compare", (f"Ctrl+{index + 1}",),
                            checkable=True, group="mode", arg=mode))
    t += [
        ActionSpec("scales", "&Scale", menu="&Compare", submenu=True),
        _sep("&Compare"),
        ActionSpec("run_all", "&Run all", "run_all", "&Compare", ("Ctrl+R",),
                   tip="Run every available method on the image"),
        ActionSpec("run_one", "Run &one", menu="&Compare", submenu=True),
        ActionSpec("cancel", "&Cancel", "cancel", "&Compare", ("Esc",), tip="Stop the running method"),
        _sep("&Compare"),
        ActionSpec("devices", "&Device", menu="&Compare", submenu=True),
        ActionSpec("auto_run", "Run all after opening", "_toggle_auto_run", "&Compare", checkable=True),
        ActionSpec("clear_cache", "Clear result cache", "_clear_cache", "&Compare"),
        ActionSpec("lpips_backbone", "LPIPS &backbone weights…", "choose_lpips_backbone", "&Compare",
                   tip="The torchvision ImageNet AlexNet state dict LPIPS uses (never downloaded)"),
        ActionSpec("manage_models", "&Manage…", "manage_models", "&Models",
                   tip="List, add and remove models; each file's error is shown"),
    ]
    for mode, text, key in (("grid", "&Grid (all panes)", "G"), ("swipe", "&Swipe", "W"),
                            ("flicker", "&Flicker (keys 1…N)", "K"), ("difference", "&Difference map", "D")):
        t.append(ActionSpec(f"view_{mode}", text, "set_view_mode", "&View", (key,), checkable=True,
                            group="view", arg=mode, icon_text=mode.capitalize()))
    t += [
        ActionSpec("row", "One &row (1×N)", "_toggle_row", "&View", ("L",), checkable=True),
        _sep("&View"),
        ActionSpec("fit", "&Fit", "fit", "&View", ("F",), tip="Show the whole image"),
        ActionSpec("zoom_in", "Zoom &in", "zoom_by", "&View", ("+", "=", "Ctrl++"), arg=2 ** 0.5),
        ActionSpec("zoom_out", "Zoom &out", "zoom_by", "&View", ("-", "Ctrl+-"), arg=2 ** -0.5),
        ActionSpec("zoom_100", "&100 %", "set_zoom", "&View", ("Ctrl+0",), arg=1.0),
    ]
    t += [ActionSpec(f"zoom_{int(z * 100)}", f"{int(z * 100)} %", "set_zoom", "&View", arg=z)
          for z in ZOOM_PRESETS[1:]]
    t += [
        _sep("&View"),
        ActionSpec("realign", "Re-&align panes", "realign", "&View", ("A",),
                   tip="Undo Shift-drags: every pane shows the same region again"),
        ActionSpec("smooth", "&Smooth magnification", "_toggle_smooth", "&View", ("S",), checkable=True,
                   tip="Bilinear instead of nearest-neighbour when zoomed in"),
        ActionSpec("crosshair", "&Crosshair", "_toggle_crosshair", "&View", ("C",), checkable=True),
        ActionSpec("metrics_dock", menu="&View"),  # the dock's own toggle action goes here
    ]
    t += [ActionSpec(f"flicker_{n}", f"Flicker to pane {n}", "flicker_to", "", (str(n),), arg=n - 1)
          for n in range(1, 10)]
    t += [ActionSpec("mos", "&MOS studies…", "open_mos_studies", "&Studies"),
          ActionSpec("results_db", "Evaluation &results…", "open_results_dialog", "&Studies",
                     tip="A results database written by 'srgan-desktop eval --db'"),
          ActionSpec("help", "Keys and mouse…", "_show_help", "&Help")]
    return t


TOOLBAR = ("open", "run_all", "cancel", "|", "@mode_combo", "@device_button", "|", "view_grid", "view_swipe",
           "view_flicker", "view_difference", "|", "@zoom_combo", "@zoom_label", "realign", "smooth")


def _status_text(state, title: str) -> str:  # noqa: ANN001 — a compare.MethodState
    """What a pane says in place of an image, for a method's state."""
    if state.status is Status.QUEUED:
        return "Queued…"
    if state.status is Status.RUNNING:
        if not state.tiles_total:
            return "Running… (loading, first tile)"
        return f"Running… {state.tiles_done}/{state.tiles_total} tiles"
    if state.status is Status.FAILED:
        return f"Failed: {state.message}"
    if state.status is Status.CANCELLED:
        return "Cancelled — Ctrl+R runs it again"
    if state.status is Status.DISABLED:
        return f"Unavailable: {state.message}"
    return "Not run yet — Run all: Ctrl+R"


_NOTES = {Status.QUEUED: "queued", Status.RUNNING: "running", Status.FAILED: "failed",
          Status.CANCELLED: "cancelled", Status.DISABLED: "unavailable", Status.NOT_RUN: "", Status.DONE: ""}


def _prebuild(raster: Raster) -> Raster:
    """Build the zoomed-out pyramid levels now (in the task thread), not at the first paint."""
    level, side = 0, max(raster.width, raster.height)
    while side > PREBUILD_SIDE:
        level, side = level + 1, side // 2
    raster.level(level)
    return raster


class MainWindow(QMainWindow):
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
        self.swipe = SwipeView(self.sync, self.pane_content)
        self.difference = DifferenceView(self.sync, self.scene_source, self._title_of, runner=self._run_difference)
        self.stack = QStackedWidget(self)
        for widget in (self.grid, self.swipe, self.flicker, self.difference):
            self.stack.addWidget(widget)
        self.setCentralWidget(self.stack)
        self.grid.paneActivated.connect(self._set_active)
        self.flicker.currentChanged.connect(self._set_active)
        self.sync.cursorMoved.connect(self._on_cursor)
        self.sync.cursorLeft.connect(lambda: self._cursor_label.setText(""))
        self.sync.viewChanged.connect(self._update_zoom_label)
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
        worker.tile.connect(self._on_tile)
        worker.finished.connect(self._on_finished)
        worker.scored.connect(self._on_scored)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.idle.connect(self._on_idle)
        self._tasks = WorkerThread(None, self, "task-worker")
        self._jobs = WorkerJobs(self._worker, self._tasks, self._send_viewport, self)

        for name, slot in {"image": self._on_model_image, "methods": self._on_model_methods,
                           "status": self._on_model_status, "result": self._on_model_result,
                           "scores": self._on_model_scores, "busy": self._on_model_busy,
                           "tile": self._on_model_tile}.items():
            self.model.events.connect(name, slot)
        # after the window's own listeners: panes are rebuilt before cached results arrive
        self.session = ComparisonSession(self.model, self._jobs, self.settings, device_name, device_available,
                                         extra=self._prepare_rasters)
        for name, slot in {"preparing": self._on_preparing, "prepared": self._on_prepared,
                           "committed": self._on_committed, "failed": self._on_failed_change, "error": self._error,
                           "message": lambda text, seconds: self.statusBar().showMessage(text, int(seconds * 1000)),
                           "added": self._on_added, "device": self._on_device}.items():
            self.session.events.connect(name, slot)

        self._build_status_bar()
        self._build_actions()
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
        self.zoom_combo = QComboBox(self)
        self.zoom_combo.setObjectName("zoomCombo")
        self.zoom_combo.addItem("Fit", 0.0)
        for z in ZOOM_PRESETS:
            self.zoom_combo.addItem(f"{int(z * 100)} %", z)
        self.zoom_combo.activated.connect(self._on_zoom_preset)
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
        self._progress_label = QLabel("")  # the text beside the bar: never clipped by the bar's width
        self._progress_label.setObjectName("progressLabel")
        self._progress = QProgressBar()
        self._progress.setObjectName("progressBar")
        self._progress.setFixedWidth(140)
        self._progress.setTextVisible(False)
        self._progress.hide()
        self._progress_label.hide()
        self._cancel_button = QToolButton()
        self._cancel_button.hide()
        for widget in (self._cursor_label, self._times_label, self._progress_label, self._progress,
                       self._cancel_button, self._device_label):
            status.addPermanentWidget(widget)

    def _restore_settings(self) -> None:
        self._cancel_button.setDefaultAction(self.act_cancel)
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
        """The status bar's bar and text: a preparation, else the running method, else hidden."""
        if self.session.preparing:
            self._progress.setRange(0, 0)
            text = self.session.pending.text
        else:
            key = self.model.active_request()
            if not key and not self.model.busy:
                self._progress.hide()
                self._progress_label.hide()
                self._cancel_button.hide()
                return
            state = self.model.state(key) if key else None
            if state is None or not state.tiles_total:
                self._progress.setRange(0, 0)  # busy: the model loads or its first tile runs
                text = f"{self._title_of(key)}: starting…" if key else "Queued…"
            else:
                self._progress.setRange(0, state.tiles_total)
                self._progress.setValue(state.tiles_done)
                text = f"{self._title_of(key)}: {state.tiles_done}/{state.tiles_total} tiles"
            self._cancel_button.show()
        self._progress_label.setText(text)
        self._progress_label.show()
        self._progress.show()

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
            self.grid.pane(key).set_message("" if painting else _status_text(state, self._title_of(key)))
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
        return PaneContent(title, message=_status_text(self.model.state(key), title))

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
        self.run_menu.clear()
        for spec in self.model.methods():
            if spec.kind is MethodKind.FILE:
                continue
            reason = self.model.disabled_reason(spec.key)
            act = self.run_menu.addAction(spec.title if not reason else f"{spec.title} (unavailable)")
            act.setEnabled(not reason)
            act.setToolTip(reason)
            act.triggered.connect(lambda _c=False, k=spec.key: self.run_method(k))
        self.run_menu.setToolTipsVisible(True)
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
                note = _NOTES[state.status]
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
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", self.settings.last_dir or str(Path.home()),
                                              _image_filter())
        if path:
            self.open_path(path)

    def open_sample(self, name: str, mode: str) -> None:
        self.settings.sample_opened = True
        self.open_path(paths.samples_dir() / name, mode)

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

    def _rebuild_recent_menu(self) -> None:
        self.recent_menu.clear()
        files = self.settings.recent_files()
        for index, name in enumerate(files):
            act = self.recent_menu.addAction(f"&{index + 1}  {Path(name).name}" if index < 9 else Path(name).name)
            act.setToolTip(name)
            act.triggered.connect(lambda _c=False, n=name: self.open_path(n))
        if files:
            self.recent_menu.addSeparator()
            self.recent_menu.addAction("Clear list").triggered.connect(self._clear_recent)
        self.recent_menu.setEnabled(bool(files))

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
        if self.model.has_image and self._pane_at(event.position().toPoint()) is not None:
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
        if not self.model.has_image:
            self._error("No image", "Open the input image first (Ctrl+O), then add results made for it.")
            return
        path, _ = QFileDialog.getOpenFileName(self, "Add a result image", self.settings.last_dir or str(Path.home()),
                                              _image_filter())
        if path:
            self.add_result_file(path)

    def add_result_file(self, path: str | Path, title: str | None = None) -> None:
        """Add an image made elsewhere as one more method (decoded off the GUI thread).

        ``resultReady(key)`` follows, or an error saying both sizes when it does not fit.
        """
        self.session.add_result_file(path, title)

    def _on_added(self, request: RunRequest) -> None:
        self._rasters[request.known] = Raster(request.known.rgb)
        self._refresh_key(request.key)
        self.resultReady.emit(request.key)

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

    def add_results_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Results folder (files named like the inputs)",
                                                  self.settings.last_dir)
        if folder:
            self.add_results_folder(folder)

    def add_results_folder(self, folder: str | Path, key: str | None = None) -> None:
        """Results made elsewhere, one file per input (``NAME.png``, ``NAME_x4.png``…): the open
        image gets its result now, every image opened later gets its own (browse image by image)."""
        self.session.add_results_folder(folder, key)

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

    def _clear_cache(self) -> None:
        self.model.clear_cache()
        self.statusBar().showMessage("Result cache cleared", 3000)

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

    def _on_zoom_preset(self, index: int) -> None:
        zoom = float(self.zoom_combo.itemData(index))
        if zoom <= 0:
            self.fit()
        else:
            self.set_zoom(zoom)

    def _update_zoom_label(self) -> None:
        """The zoom of the panes on screen (in fit mode: the visible pane's, after its layout)."""
        visible = [p for p in self.visible_panes() if p.isVisible() and p.image() is not None]
        if self.sync.is_fit() and visible:
            zoom = visible[0].zoom()
        else:
            zoom = self.sync.zoom()
        self.zoom_label.setText("" if zoom is None else f"{zoom * 100:.0f} %")
        index = 0 if self.sync.is_fit() else -1
        for i in range(1, self.zoom_combo.count()):
            if not self.sync.is_fit() and zoom is not None and abs(float(self.zoom_combo.itemData(i)) - zoom) < 1e-6:
                index = i
        self.zoom_combo.setCurrentIndex(index)

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
        for pane in self.sync.panes():
            pane.set_crosshair_enabled(on)

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

    # ================================================================ saving
    def save_dialog(self) -> None:
        key = self.active_key()
        if self.model.image_for(key) is None:
            self._error("Nothing to save", "Run a method first (Ctrl+R).")
            return
        start = str(Path(self.settings.last_dir or Path.home()) / f"{self._stem()}_{self._file_key(key)}.png")
        path, _ = QFileDialog.getSaveFileName(self, f"Save {self._title_of(key)}", start,
                                              "PNG (*.png);;TIFF (*.tif *.tiff);;WebP (*.webp);;JPEG (*.jpg)")
        if path:
            self.save_result(key, path)

    @staticmethod
    def _file_key(key: str) -> str:
        return key.replace(":", "_").replace("#", "_")

    def save_result(self, key: str, path: str | Path) -> Path | None:
        """Save the full-resolution image behind ``key`` (alpha kept); None on failure."""
        rgb = self.model.image_for(key)
        if rgb is None:
            self._error("Nothing to save", f"{self._title_of(key)} has no image yet.")
            return None
        done = self.model.results.get(key)
        alpha = done.alpha if done is not None else None
        try:
            written = save_image(path, rgb, alpha)
        except ImageSaveError as exc:
            self._error("Cannot save", str(exc))
            return None
        self.statusBar().showMessage(f"Saved {written}", 5000)
        return written

    def save_all_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save all results to", self.settings.last_dir)
        if folder:
            self.save_all(folder)

    def save_all(self, folder: str | Path) -> list[Path]:
        """Every result as ``STEM_KEY_xSCALE.png`` in ``folder``."""
        written = []
        for key in list(self.model.results):
            path = self.save_result(key, Path(folder) / f"{self._stem()}_{self._file_key(key)}_x{self.model.scale}.png")
            if path is not None:
                written.append(path)
        return written

    def export_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the view to", self.settings.last_dir)
        if folder:
            self.export_view(folder)

    def _stem(self) -> str:
        source = self.model.image
        return source.path.stem if source is not None and source.path is not None else "image"

    def export_bounds(self) -> tuple[int, int, int, int] | None:
        """The group's visible region (scene units), from the pane on screen."""
        for pane in self.visible_panes():
            bounds = pane.visible_bounds()
            if bounds is not None:
                dx, dy = self.sync.offset(pane)
                return (round(bounds[0] - dx), round(bounds[1] - dy),
                        round(bounds[2] - dx), round(bounds[3] - dy))
        return None

    def export_view(self, folder: str | Path) -> ExportResult | None:
        """Save the visible region of every pane as PNGs and as one labelled figure."""
        bounds = self.export_bounds()
        if bounds is None or self.model.lr is None:
            self._error("Nothing to export", "Open an image and show part of it first.")
            return None
        height, width = self.model.expected_shape()  # type: ignore[misc]
        crops = []
        for key in self.grid.keys():
            rgb = self.model.image_for(key)
            if rgb is None:
                continue
            dx, dy = self.sync.offset(self.grid.pane(key))
            x0, y0 = max(0, bounds[0] + round(dx)), max(0, bounds[1] + round(dy))
            x1, y1 = min(width, bounds[2] + round(dx)), min(height, bounds[3] + round(dy))
            if x1 <= x0 or y1 <= y0:
                continue
            crop = crop_scene(rgb, (x0, y0, x1, y1), self.model.display_scale(key))
            scores = self.model.scores(key)
            caption = scores.text() if scores is not None and key not in (INPUT_KEY, REFERENCE_KEY) else ""
            crops.append(Crop(self._file_key(key), self._title_of(key), crop, caption))
        diff = self.difference.pane.image()
        if self.view_mode() == "difference" and diff is not None:
            crops.append(Crop("difference", self.difference.pane.title(), crop_scene(diff, bounds)))
        if not crops:
            self._error("Nothing to export", "No pane shows an image yet.")
            return None
        try:
            result = export_view(folder, self._stem(), crops)
        except ImageSaveError as exc:
            self._error("Cannot export", str(exc))
            return None
        self.statusBar().showMessage(f"Exported {len(result.crops)} crops and {result.figure.name}", 8000)
        return result

    # ================================================================ misc
    def open_mos_studies(self) -> QWidget:
        """Open the MOS studies window (design, rating panel, results)."""
        from srgan_desktop.ui.mos_window import open_mos_window

        self._mos_window = open_mos_window(self)
        return self._mos_window

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
            window = ResultsWindow(path, on_open=self.open_result_target)
        except SrganDesktopError as exc:
            self._error("Results", str(exc))
            return None
        window.setWindowFlag(Qt.WindowType.Window)
        window.show()
        self._results_window = window
        return window

    def open_result_target(self, target) -> None:
        """Open ``target.hr_path`` as the reference and run the methods it was measured with."""
        wanted = set(target.methods)

        def run_measured(_path: str) -> None:
            self.imageOpened.disconnect(run_measured)
            keys = [m.key for m in self.model.runnable() if m.key in wanted or m.title in wanted]
            if keys:
                self.run_methods(keys)

        self.imageOpened.connect(run_measured)
        self.open_path(target.hr_path, "simulate", target.scale)

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

    def _show_help(self) -> None:
        QMessageBox.information(self, "Keys and mouse", help_text())

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.settings.geometry = self.saveGeometry()
        self.settings.window_state = self.saveState()
        self.settings.sync()
        self.model.stop_all()
        self._worker.stop()
        self._tasks.stop()
        super().closeEvent(event)


MOUSE_HELP = """\
Mouse: wheel zooms around the cursor, left-drag pans. Every pane shows the same region.
Shift + drag pans one pane alone, to fix a misalignment (zoom stays shared); A re-aligns.
"""


def help_text() -> str:
    """The mouse help and every shortcut of the action table."""
    lines = [MOUSE_HELP]
    for spec in action_table():
        if spec.keys and not spec.name.startswith("flicker_"):
            lines.append(f"{' / '.join(spec.keys):<16} {spec.text.replace('&', '')}")
    lines.append(f"{'1 … 9':<16} Flicker between panes")
    return "\n".join(lines)
