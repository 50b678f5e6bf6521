"""The comparison window: open an image, run every method, compare them pixel for pixel.

The window only arranges things; the work is elsewhere: state and cache in
:mod:`~srgan_desktop.ui.session`, the engine on a QThread in :mod:`~srgan_desktop.ui.worker`,
the synchronised panes in :mod:`~srgan_desktop.ui.pane_grid`, the swipe, flicker and
difference modes in their own modules, and export in :mod:`~srgan_desktop.ui.export`.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (QComboBox, QDockWidget, QFileDialog, QLabel, QMainWindow,
                               QMessageBox, QProgressBar, QStackedWidget, QToolButton, QWidget)

from srgan_desktop import paths
from srgan_desktop.core.images import IMAGE_SUFFIXES, ImageLoadError, ImageSaveError, load_image, save_image
from srgan_desktop.core.weights import ModelRegistry
from srgan_desktop.ui.difference_view import DifferenceView
from srgan_desktop.ui.export import Crop, ExportResult, crop_scene, export_view
from srgan_desktop.ui.flicker_view import FlickerView
from srgan_desktop.ui.image_pane import ZOOM_PRESETS, ImagePane, Raster
from srgan_desktop.ui.metrics_panel import MetricsPanel, MetricsRow
from srgan_desktop.ui.pane_grid import PaneContent, PaneGrid, ViewSync
from srgan_desktop.ui.session import INPUT_KEY, MODES, REFERENCE_KEY, SCALE, ComparisonSession
from srgan_desktop.ui.settings import AppSettings
from srgan_desktop.ui.swipe_view import SwipeView
from srgan_desktop.ui.worker import Job, WorkerThread, device_name

__all__ = ["MainWindow", "VIEW_MODES", "DEVICES", "device_available"]

VIEW_MODES = ("grid", "swipe", "flicker", "difference")
DEVICES = (("auto", "Auto"), ("cuda", "CUDA"), ("mps", "MPS"), ("cpu", "CPU"))
MODE_TITLES = {"upscale": "Upscale (image is the LR input)",
               "simulate": "Simulate from HR (image is the ground truth)"}
SAMPLE = "astronaut_lr.png"
_QUEUED, _RUNNING = "Queued…", "Running…"


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


class MainWindow(QMainWindow):
    """Bicubic, SRResNet and SRGAN side by side, with synchronised views."""

    imageOpened = Signal(str)
    resultReady = Signal(str)   # a method key whose result arrived
    runIdle = Signal()          # the worker finished a batch (done, failed or cancelled)

    def __init__(self, settings: AppSettings | None = None, registry: ModelRegistry | None = None,
                 *, open_sample: bool = True, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings or AppSettings()
        self.registry = registry or ModelRegistry(paths.weights_dir(), paths.user_models_dir())
        self.session = ComparisonSession(self.registry)
        if self.settings.mode in MODES:
            self.session.mode = self.settings.mode
        self._input_raster: Raster | None = None
        self._reference_raster: Raster | None = None
        self._enlarged_input: np.ndarray | None = None
        self._notes: dict[str, str] = {}
        self._busy = False
        self._cancel_requested = False
        self._pending: list[Job] = []
        self._batch: list[Job] = []
        self._active_key = ""
        self._difference_dirty = True

        self.setWindowTitle("SRGAN Desktop")
        self.setObjectName("mainWindow")
        self.setAcceptDrops(True)
        self.resize(1280, 820)

        self.sync = ViewSync(self)
        self.grid = PaneGrid(self.sync)
        self.flicker = FlickerView(self.sync, self.pane_content)
        self.swipe = SwipeView(self.sync, self.pane_content)
        self.difference = DifferenceView(self.sync, self.scene_array, self._title_of)
        self.stack = QStackedWidget(self)
        for widget in (self.grid, self.swipe, self.flicker, self.difference):
            self.stack.addWidget(widget)
        self.setCentralWidget(self.stack)
        self.grid.paneActivated.connect(self._set_active)
        self.flicker.currentChanged.connect(self._set_active)
        self.sync.cursorMoved.connect(self._on_cursor)
        self.sync.cursorLeft.connect(lambda: self._cursor_label.setText(""))
        self.sync.viewChanged.connect(self._update_zoom_label)
        self.difference.settingsChanged.connect(self._on_difference_settings)

        self.metrics = MetricsPanel(self)
        self.metrics_dock = QDockWidget("Metrics", self)
        self.metrics_dock.setObjectName("metricsDock")
        self.metrics_dock.setWidget(self.metrics)
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, self.metrics_dock)

        self._worker = WorkerThread(self.registry, self)
        worker = self._worker.worker
        worker.started.connect(self._on_started)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        worker.idle.connect(self._on_idle)

        self._build_actions()
        self._build_menus()
        self._build_toolbar()
        self._build_status_bar()
        self._restore_settings()
        if self.settings.window_state is None:
            self.resizeDocks([self.metrics_dock], [130], Qt.Orientation.Vertical)
        self._rebuild_panes()
        if open_sample and not self.settings.sample_opened:
            self.open_sample(SAMPLE, "upscale")

    # ================================================================ building
    def _action(self, text: str, slot, shortcut: QKeySequence | str | None = None,  # noqa: ANN001
                checkable: bool = False, tip: str = "") -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
        action.setCheckable(checkable)
        if tip:
            action.setStatusTip(tip)
            action.setToolTip(f"{tip} ({action.shortcut().toString()})" if shortcut else tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even when the action is in no visible menu
        return action

    def _build_actions(self) -> None:
        s = QKeySequence.StandardKey
        self.act_open = self._action("&Open…", self.open_dialog, QKeySequence(s.Open), tip="Open an image")
        self.act_save = self._action("&Save result…", self.save_dialog, QKeySequence(s.Save),
                                     tip="Save the active pane's image at full resolution")
        self.act_save_all = self._action("Save &all results…", self.save_all_dialog, "Ctrl+Shift+S",
                                         tip="Save every result at full resolution into a folder")
        self.act_export = self._action("&Export view…", self.export_dialog, "Ctrl+E",
                                       tip="Save the visible region of every pane and a labelled figure")
        self.act_quit = self._action("&Quit", self.close, QKeySequence(s.Quit))
        self.act_run_all = self._action("&Run all", self.run_all, "Ctrl+R",
                                        tip="Run every available method on the image")
        self.act_cancel = self._action("&Cancel", self.cancel, "Esc", tip="Stop the running method")
        self.act_cancel.setEnabled(False)
        self.act_clear_cache = self._action("Clear result cache", self._clear_cache)
        self.act_auto_run = self._action("Run all after opening", self._toggle_auto_run, checkable=True)
        self.act_auto_run.setChecked(self.settings.auto_run)

        self.mode_group = QActionGroup(self)
        self.act_modes: dict[str, QAction] = {}
        for index, mode in enumerate(MODES):
            act = self._action(MODE_TITLES[mode], lambda _c=False, m=mode: self.set_mode(m),
                               f"Ctrl+{index + 1}", checkable=True)
            self.mode_group.addAction(act)
            self.act_modes[mode] = act
        self.act_modes[self.session.mode].setChecked(True)

        self.view_group = QActionGroup(self)
        self.act_views: dict[str, QAction] = {}
        for mode, text, key in (("grid", "&Grid (all panes)", "G"), ("swipe", "&Swipe", "W"),
                                ("flicker", "&Flicker (keys 1…N)", "K"), ("difference", "&Difference map", "D")):
            act = self._action(text, lambda _c=False, m=mode: self.set_view_mode(m), key, checkable=True)
            act.setIconText(mode.capitalize())
            self.view_group.addAction(act)
            self.act_views[mode] = act
        self.act_row = self._action("One &row (1×N)", self._toggle_row, "L", checkable=True)

        self.act_fit = self._action("&Fit", self.fit, "F", tip="Show the whole image")
        self.act_zoom_in = self._action("Zoom &in", lambda: self.sync.zoom_by(2 ** 0.5), "+")
        self.act_zoom_in.setShortcuts([QKeySequence("+"), QKeySequence("="), QKeySequence(s.ZoomIn)])
        self.act_zoom_out = self._action("Zoom &out", lambda: self.sync.zoom_by(2 ** -0.5), "-")
        self.act_zoom_out.setShortcuts([QKeySequence("-"), QKeySequence(s.ZoomOut)])
        self.act_zoom_100 = self._action("&100 %", lambda: self.set_zoom(1.0), "Ctrl+0")
        self.act_zoom_presets = [self._action(f"{int(z * 100)} %", lambda _c=False, z=z: self.set_zoom(z))
                                 for z in ZOOM_PRESETS[1:]]
        self.act_realign = self._action("Re-&align panes", self.realign, "A",
                                        tip="Undo Shift-drags: every pane shows the same region again")
        self.act_smooth = self._action("&Smooth magnification", self._toggle_smooth, "S", checkable=True,
                                       tip="Bilinear instead of nearest-neighbour when zoomed in")
        self.act_crosshair = self._action("&Crosshair", self._toggle_crosshair, "C", checkable=True)
        self.act_flicker = [self._action(f"Flicker to pane {n}", lambda _c=False, i=n - 1: self.flicker_to(i),
                                         str(n)) for n in range(1, 10)]

        self.device_group = QActionGroup(self)
        self.act_devices: dict[str, QAction] = {}
        for name, title in DEVICES:
            ok = device_available(name)
            label = title if name != "auto" else f"Auto ({device_name('auto')})"
            act = self._action(label if ok else f"{title} (not available)",
                               lambda _c=False, n=name: self.set_device(n), checkable=True)
            act.setEnabled(ok)
            self.device_group.addAction(act)
            self.act_devices[name] = act

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        file_menu.addAction(self.act_open)
        self.recent_menu = file_menu.addMenu("Open &recent")
        samples = file_menu.addMenu("Open sa&mple")
        for name, mode, text in ((SAMPLE, "upscale", "Astronaut 128×128 (upscale)"),
                                 ("astronaut.png", "simulate", "Astronaut 512×512 (simulate from HR)"),
                                 ("coffee.png", "simulate", "Coffee 600×400 (simulate from HR)")):
            act = samples.addAction(text)
            act.triggered.connect(lambda _c=False, n=name, m=mode: self.open_sample(n, m))
        file_menu.addSeparator()
        for act in (self.act_save, self.act_save_all, self.act_export):
            file_menu.addAction(act)
        file_menu.addSeparator()
        file_menu.addAction(self.act_quit)
        self._rebuild_recent_menu()

        compare = bar.addMenu("&Compare")
        for act in self.act_modes.values():
            compare.addAction(act)
        compare.addSeparator()
        compare.addAction(self.act_run_all)
        self.run_menu = compare.addMenu("Run &one")
        compare.addAction(self.act_cancel)
        compare.addSeparator()
        device_menu = compare.addMenu("&Device")
        for act in self.act_devices.values():
            device_menu.addAction(act)
        self.device_menu = device_menu
        compare.addAction(self.act_auto_run)
        compare.addAction(self.act_clear_cache)

        view = bar.addMenu("&View")
        for act in self.act_views.values():
            view.addAction(act)
        view.addAction(self.act_row)
        view.addSeparator()
        for act in (self.act_fit, self.act_zoom_in, self.act_zoom_out, self.act_zoom_100, *self.act_zoom_presets):
            view.addAction(act)
        view.addSeparator()
        for act in (self.act_realign, self.act_smooth, self.act_crosshair):
            view.addAction(act)
        view.addAction(self.metrics_dock.toggleViewAction())

        studies = bar.addMenu("&Studies")
        studies.addAction("&MOS studies…").triggered.connect(self.open_mos_studies)

        help_menu = bar.addMenu("&Help")
        help_menu.addAction("Keys and mouse…").triggered.connect(self._show_help)

    def open_mos_studies(self) -> QWidget:
        """Open the MOS studies window (design, rating panel, results)."""
        from srgan_desktop.ui.mos_window import open_mos_window

        self._mos_window = open_mos_window(self)
        return self._mos_window

    def _build_toolbar(self) -> None:
        tools = self.addToolBar("Main")
        tools.setObjectName("mainToolbar")
        tools.addAction(self.act_open)
        tools.addAction(self.act_run_all)
        tools.addAction(self.act_cancel)
        tools.addSeparator()
        self.mode_combo = QComboBox(self)
        self.mode_combo.setObjectName("modeCombo")
        for mode in MODES:
            self.mode_combo.addItem("Upscale" if mode == "upscale" else "Simulate from HR", mode)
        self.mode_combo.setToolTip("Upscale: the image is the LR input. Simulate: the image is the "
                                   "ground truth, reduced ×4 with MATLAB bicubic, then super-resolved.")
        self.mode_combo.setCurrentIndex(MODES.index(self.session.mode))
        self.mode_combo.activated.connect(lambda i: self.set_mode(MODES[i]))
        tools.addWidget(self.mode_combo)
        self.device_button = QToolButton(self)
        self.device_button.setObjectName("deviceButton")
        self.device_button.setMenu(self.device_menu)
        self.device_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.device_button.setToolTip("Device the networks run on")
        tools.addWidget(self.device_button)
        tools.addSeparator()
        for act in self.act_views.values():
            tools.addAction(act)
        tools.addSeparator()
        self.zoom_combo = QComboBox(self)
        self.zoom_combo.setObjectName("zoomCombo")
        self.zoom_combo.addItem("Fit", 0.0)
        for z in ZOOM_PRESETS:
            self.zoom_combo.addItem(f"{int(z * 100)} %", z)
        self.zoom_combo.activated.connect(self._on_zoom_preset)
        tools.addWidget(self.zoom_combo)
        self.zoom_label = QLabel("")
        self.zoom_label.setMinimumWidth(70)
        tools.addWidget(self.zoom_label)
        tools.addAction(self.act_realign)
        tools.addAction(self.act_smooth)

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self._cursor_label = QLabel("")
        self._cursor_label.setObjectName("cursorLabel")
        self._times_label = QLabel("")
        self._times_label.setObjectName("timesLabel")
        self._device_label = QLabel("")
        self._device_label.setObjectName("deviceLabel")
        self._progress = QProgressBar()
        self._progress.setMaximumWidth(180)
        self._progress.setTextVisible(True)
        self._progress.hide()
        self._cancel_button = QToolButton()
        self._cancel_button.setDefaultAction(self.act_cancel)
        self._cancel_button.hide()
        for widget in (self._cursor_label, self._times_label, self._progress, self._cancel_button,
                       self._device_label):
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
        self.act_crosshair.setChecked(self.settings.crosshair)
        self._toggle_crosshair()
        self.difference.set_amplification(max(1, min(16, self.settings.amplification)))
        self.set_view_mode(self.settings.view_mode if self.settings.view_mode in VIEW_MODES else "grid")

    # ================================================================ content
    def _title_of(self, key: str) -> str:
        try:
            return self.session.title(key)
        except KeyError:
            return key

    def pane_title(self, key: str) -> str:
        """A pane's title: the method, then PSNR/SSIM against the ground truth when known."""
        title = self._title_of(key)
        if key == INPUT_KEY and self.session.lr is not None:
            h, w = self.session.lr.shape[:2]
            return f"{title} · {w}×{h}"
        text = self.session.score_text(key)
        return f"{title} — {text}" if text else title

    def pane_content(self, key: str) -> PaneContent:
        """What the pane for ``key`` shows now (used by the grid, swipe and flicker views)."""
        title = self.pane_title(key)
        if not self.session.has_image:
            return PaneContent(title, message="Open an image (Ctrl+O) or drop one here")
        if key == INPUT_KEY:
            return PaneContent(title, self._input_raster, SCALE)
        if key == REFERENCE_KEY:
            return PaneContent(title, self._reference_raster)
        done = self.session.results.get(key)
        if done is not None:
            raster = done.display if isinstance(done.display, Raster) else Raster(done.result.rgb)
            done.display = raster
            return PaneContent(title, raster)
        try:
            info = self.session.method(key)
        except KeyError:
            return PaneContent(title, message="")
        if not info.available:
            return PaneContent(title, message=f"Unavailable: {info.reason}")
        return PaneContent(title, message=self._notes.get(key, "Not run yet — Run all: Ctrl+R"))

    def scene_array(self, key: str) -> np.ndarray | None:
        """The full image behind ``key`` at one pixel per scene unit (the LR enlarged ×4)."""
        if key == INPUT_KEY:
            if self.session.lr is None:
                return None
            if self._enlarged_input is None:
                self._enlarged_input = np.repeat(np.repeat(self.session.lr, SCALE, axis=0), SCALE, axis=1)
            return self._enlarged_input
        return self.session.image_for(key)

    def _choices(self) -> list[tuple[str, str]]:
        return [(key, self._title_of(key)) for key in self.session.pane_keys()]

    def _rebuild_panes(self) -> None:
        """Re-create the panes for the current methods and mode."""
        keys = self.session.pane_keys()
        self.grid.set_keys(keys)
        choices = self._choices()
        self.flicker.set_choices(choices)
        self.swipe.set_choices(choices)
        methods = [(k, t) for k, t in choices if k not in (INPUT_KEY, REFERENCE_KEY)]
        refs = ([(REFERENCE_KEY, self._title_of(REFERENCE_KEY))] if REFERENCE_KEY in keys else []) + \
            [(k, t) for k, t in choices if k != REFERENCE_KEY]
        self.difference.set_choices(methods, refs)
        self.run_menu.clear()
        for info in self.session.methods():
            act = self.run_menu.addAction(info.title if info.available else f"{info.title} (unavailable)")
            act.setEnabled(info.available)
            if not info.available:
                act.setToolTip(info.reason)
            act.triggered.connect(lambda _c=False, k=info.key: self.run_method(k))
        self.refresh_views()

    def refresh_views(self, keys: list[str] | None = None) -> None:
        """Show the current content in every view (only ``keys`` when given)."""
        for key in keys or self.grid.keys():
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

    def _update_metrics(self) -> None:
        rows = []
        times = []
        for info in self.session.methods():
            done = self.session.results.get(info.key)
            note = "" if info.available else "unavailable"
            if done is None:
                rows.append(MetricsRow(info.title, note=self._notes.get(info.key, note).rstrip("…")))
                continue
            scores = done.scores
            rows.append(MetricsRow(info.title, scores.psnr if scores else None, scores.ssim if scores else None,
                                   done.result.seconds, done.result.device))
            times.append(f"{info.title} {done.result.seconds:.2f} s")
        self.metrics.set_rows(rows)
        self._times_label.setText(" · ".join(times))

    # ================================================================ opening
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", self.settings.last_dir or str(Path.home()),
                                              _image_filter())
        if path:
            self.open_path(path)

    def open_sample(self, name: str, mode: str) -> bool:
        self.settings.sample_opened = True
        return self.open_path(paths.samples_dir() / name, mode)

    def open_path(self, path: str | Path, mode: str | None = None) -> bool:
        """Open an image (dialog, drop, command line, recent files); False if it failed."""
        path = Path(path)
        try:
            loaded = load_image(path)
            self._stop_all()
            self.session.open(loaded, mode or self.session.mode)
        except (ImageLoadError, ValueError) as exc:
            self._error("Cannot open the image", str(exc))
            return False
        self._after_image_changed()
        self.settings.mode = self.session.mode
        self.settings.add_recent(path)
        self.settings.last_dir = str(path.resolve().parent)
        self._rebuild_recent_menu()
        self.setWindowTitle(f"{path.name} — SRGAN Desktop")
        self.statusBar().showMessage(f"Opened {path.name} ({loaded.width}×{loaded.height})", 5000)
        self.imageOpened.emit(str(path))
        if self.settings.auto_run:
            self.run_all()
        return True

    def _after_image_changed(self) -> None:
        self._sync_mode_controls()
        self._notes.clear()
        self._enlarged_input = None
        self._input_raster = Raster(self.session.lr) if self.session.lr is not None else None
        self._reference_raster = Raster(self.session.reference) if self.session.reference is not None else None
        self._rebuild_panes()
        self.sync.fit()
        for key in self.grid.keys():  # results known from the cache appear at once
            if key not in (INPUT_KEY, REFERENCE_KEY):
                self.session.use_cached(key, device_name(self.settings.device))
        self.refresh_views()

    def set_mode(self, mode: str) -> None:
        """``upscale`` (image = LR input) or ``simulate`` (image = ground truth)."""
        if mode not in MODES:
            raise ValueError(mode)
        self.settings.mode = mode
        if mode == self.session.mode and self.session.has_image:
            self._sync_mode_controls()
            return
        self._stop_all()
        try:
            self.session.set_mode(mode)
        except ValueError as exc:  # e.g. Simulate on an image under 4 px: the session is unchanged
            self._error("Cannot use this mode", str(exc))
            self.settings.mode = self.session.mode
            self._sync_mode_controls()
            return
        self._after_image_changed()
        if self.session.has_image and self.settings.auto_run:
            self.run_all()

    def _sync_mode_controls(self) -> None:
        self.act_modes[self.session.mode].setChecked(True)
        self.mode_combo.setCurrentIndex(MODES.index(self.session.mode))

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
        path = self._dropped_path(event)
        if path is not None:
            event.acceptProposedAction()
            self.open_path(path)

    @staticmethod
    def _dropped_path(event: QDragEnterEvent | QDropEvent) -> Path | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES:
                return Path(url.toLocalFile())
        return None

    # ================================================================ running
    def is_busy(self) -> bool:
        return self._busy

    def worker_alive(self) -> bool:
        """The worker thread runs (a failed job must never end it)."""
        return self._worker.thread.isRunning()

    def run_all(self) -> None:
        self.run_methods([m.key for m in self.session.available_methods()])

    def run_method(self, key: str) -> None:
        self.run_methods([key])

    def run_methods(self, keys: list[str]) -> None:
        """Run the given methods (cached results are reused; the rest go to the worker)."""
        if not self.session.has_image:
            self.statusBar().showMessage("Open an image first (Ctrl+O)", 5000)
            return
        device = self.settings.device
        resolved = device_name(device)
        tile = self.settings.tile or None
        queued = {j.key for j in self._pending}
        if not self._cancel_requested:
            queued |= {j.key for j in self._batch if self._current(j)}
        jobs = []
        for key in keys:
            info = self.session.method(key)
            if not info.available:
                self.statusBar().showMessage(f"{info.title}: {info.reason}", 8000)
                continue
            if self.session.use_cached(key, resolved) is not None or key in queued:
                continue
            known = self.session.cached(key, resolved)
            self._notes[key] = _QUEUED
            jobs.append(Job(info, self.session.lr, device, tile, self.session.reference,  # type: ignore[arg-type]
                            alpha=self.session.lr_alpha, tag=self.session.lr_hash,
                            reference_hash=self.session.reference_hash,
                            known=known.result if known is not None else None))
        self.refresh_views()
        if jobs:
            self._pending.extend(jobs)
            self._start_next()

    def _start_next(self) -> None:
        if self._busy or not self._pending:
            return
        self._batch, self._pending = self._pending, []
        self._busy = True
        self._cancel_requested = False
        self.act_cancel.setEnabled(True)
        self._progress.setRange(0, 0)
        self._progress.show()
        self._cancel_button.show()
        self._worker.worker.submit(self._batch)

    def cancel(self) -> None:
        """Stop the running method within one tile; earlier results stay."""
        if not self._busy and not self._pending:
            return
        self._pending.clear()
        if self._busy:
            self._cancel_requested = True
            self._worker.worker.cancel()
            self.statusBar().showMessage("Cancelling…")

    def _stop_all(self) -> None:
        """Before the image changes: drop queued work and cancel the running job."""
        self._pending.clear()
        if self._busy:
            self._cancel_requested = True
            self._worker.worker.cancel()

    def _current(self, job: Job) -> bool:
        return job.tag == self.session.lr_hash

    def _on_started(self, job: Job, device: str) -> None:
        self._device_label.setText(f"Device: {device}")
        if not self._current(job):
            return
        title = self._title_of(job.key)
        self._notes[job.key] = _RUNNING
        self.statusBar().showMessage(f"Running {title} on {device}…")
        self._progress.setFormat(f"{title} %p %")
        self.refresh_views([job.key])

    def _on_progress(self, job: Job, done: int, total: int) -> None:
        if not self._current(job):
            return
        self._progress.setRange(0, total)
        self._progress.setValue(done)
        self._notes[job.key] = f"Running… {done}/{total} tiles"
        if job.key in self.grid.keys():
            self.grid.pane(job.key).set_message(self._notes[job.key])

    def _on_finished(self, job: Job, done) -> None:  # noqa: ANN001
        if not self._current(job):
            return
        self.session.store(job.key, done.result.device, done)
        self._notes.pop(job.key, None)
        self.refresh_views([job.key])
        self.statusBar().showMessage(
            f"{self._title_of(job.key)}: {done.result.seconds:.2f} s on {done.result.device}", 8000)
        self.resultReady.emit(job.key)

    def _on_failed(self, job: Job, message: str) -> None:
        if not self._current(job):
            return
        title = self._title_of(job.key)
        self._notes[job.key] = f"Failed: {message}"
        self.refresh_views([job.key])
        self._error(f"{title} failed", message)

    def _on_cancelled(self, job: Job) -> None:
        if self._current(job):
            self._notes[job.key] = "Cancelled — Ctrl+R runs it again"
            self.statusBar().showMessage(f"{self._title_of(job.key)} cancelled", 5000)

    def _on_idle(self) -> None:
        for job in self._batch:
            if self._notes.get(job.key, "").startswith((_QUEUED, "Running")):
                self._notes[job.key] = "Cancelled — Ctrl+R runs it again" if self._cancel_requested else ""
        self._batch = []
        self._busy = False
        self._cancel_requested = False
        self._progress.hide()
        self._cancel_button.hide()
        self.act_cancel.setEnabled(bool(self._pending))
        self.refresh_views()
        self.runIdle.emit()
        self._start_next()

    def set_device(self, name: str) -> None:
        if name not in dict(DEVICES) or not device_available(name):
            return
        self.settings.device = name
        self.act_devices[name].setChecked(True)
        resolved = device_name(name)
        self.device_button.setText(f"Device: {dict(DEVICES)[name]}")
        self._device_label.setText(f"Device: {resolved}" + (" (auto)" if name == "auto" else ""))

    def _clear_cache(self) -> None:
        self.session.clear_cache()
        self.statusBar().showMessage("Result cache cleared", 3000)

    def _toggle_auto_run(self) -> None:
        self.settings.auto_run = self.act_auto_run.isChecked()

    # ================================================================ viewing
    def view_mode(self) -> str:
        return VIEW_MODES[self.stack.currentIndex()]

    def set_view_mode(self, mode: str) -> None:
        """``grid``, ``swipe``, ``flicker`` or ``difference``."""
        if mode not in VIEW_MODES:
            raise ValueError(mode)
        self.stack.setCurrentIndex(VIEW_MODES.index(mode))
        self.act_views[mode].setChecked(True)
        self.settings.view_mode = mode
        if mode == "difference" and self._difference_dirty:
            self._refresh_difference()
        for pane in self.visible_panes():
            self.sync.sync_pane(pane)

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
        zoom = self.sync.zoom()
        self.zoom_label.setText("" if zoom is None else f"{zoom * 100:.0f} %")
        index = 0 if self.sync.is_fit() else -1
        for i in range(1, self.zoom_combo.count()):
            if zoom is not None and abs(float(self.zoom_combo.itemData(i)) - zoom) < 1e-6:
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
        on = self.act_crosshair.isChecked()
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
        if self._active_key and self.session.image_for(self._active_key) is not None:
            return self._active_key
        done = [k for k in self.grid.keys() if k in self.session.results]
        return done[-1] if done else INPUT_KEY

    def _on_cursor(self, x: float, y: float) -> None:
        if self.session.lr is None:
            return
        h, w = self.session.lr.shape[:2]
        if 0 <= x < w * SCALE and 0 <= y < h * SCALE:
            ix, iy = math.floor(x), math.floor(y)
            self._cursor_label.setText(f"x {ix}  y {iy}  (LR {ix // SCALE}, {iy // SCALE})")
        else:
            self._cursor_label.setText("")

    def _on_difference_settings(self) -> None:
        self.settings.amplification = int(self.difference.amplification.value())

    # ================================================================ saving
    def save_dialog(self) -> None:
        key = self.active_key()
        if self.session.image_for(key) is None:
            self._error("Nothing to save", "Run a method first (Ctrl+R).")
            return
        stem = self._stem()
        start = str(Path(self.settings.last_dir or Path.home()) / f"{stem}_{key}.png")
        path, _ = QFileDialog.getSaveFileName(self, f"Save {self._title_of(key)}", start,
                                              "PNG (*.png);;TIFF (*.tif *.tiff);;WebP (*.webp);;JPEG (*.jpg)")
        if path:
            self.save_result(key, path)

    def save_result(self, key: str, path: str | Path) -> Path | None:
        """Save the full-resolution image behind ``key`` (alpha kept); None on failure."""
        rgb = self.session.image_for(key)
        if rgb is None:
            self._error("Nothing to save", f"{self._title_of(key)} has no image yet.")
            return None
        done = self.session.results.get(key)
        alpha = done.result.alpha if done is not None else None
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
            for key in self.session.results:
                self.save_result(key, Path(folder) / f"{self._stem()}_{key}_x{SCALE}.png")

    def export_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the view to", self.settings.last_dir)
        if folder:
            self.export_view(folder)

    def _stem(self) -> str:
        source = self.session.source
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
        if bounds is None or self.session.lr is None:
            self._error("Nothing to export", "Open an image and show part of it first.")
            return None
        height, width = (s * SCALE for s in self.session.lr.shape[:2])
        crops = []
        for key in self.grid.keys():
            rgb = self.session.image_for(key)
            if rgb is None:
                continue
            dx, dy = self.sync.offset(self.grid.pane(key))
            x0, y0 = max(0, bounds[0] + round(dx)), max(0, bounds[1] + round(dy))
            x1, y1 = min(width, bounds[2] + round(dx)), min(height, bounds[3] + round(dy))
            if x1 <= x0 or y1 <= y0:
                continue
            crop = crop_scene(rgb, (x0, y0, x1, y1), self.session.display_scale(key))
            caption = self.session.score_text(key) if key not in (INPUT_KEY, REFERENCE_KEY) else ""
            crops.append(Crop(key, self._title_of(key), crop, caption))
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
    def _error(self, title: str, text: str) -> None:
        """Tell the user (message box + status bar); the window keeps running."""
        self.statusBar().showMessage(f"{title}: {text}", 10000)
        QMessageBox.warning(self, title, text)

    def _show_help(self) -> None:
        QMessageBox.information(self, "Keys and mouse", HELP_TEXT)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802
        self.settings.geometry = self.saveGeometry()
        self.settings.window_state = self.saveState()
        self.settings.sync()
        self._pending.clear()
        self._worker.stop()
        super().closeEvent(event)


HELP_TEXT = """\
Mouse: wheel zooms around the cursor, left-drag pans. Every pane shows the same region.
Shift + drag pans one pane alone, to fix a misalignment (zoom stays shared); A re-aligns.

Ctrl+O open · Ctrl+S save the active pane · Ctrl+Shift+S save all · Ctrl+E export view
Ctrl+R run all · Esc cancel · Ctrl+1 upscale mode · Ctrl+2 simulate-from-HR mode
F fit · + / − zoom · Ctrl+0 100 % · 1…9 flicker between panes
G grid · W swipe · K flicker · D difference map · L one row · S smooth · C crosshair
"""
