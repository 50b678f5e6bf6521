"""The comparison window's menus, toolbar and shortcuts, built from the action table (``ui/actions.py``).

Rules: every action comes from :func:`~srgan_desktop.ui.actions.action_table` (its ``slot`` is a
method of the window, called with ``arg``), so the menus, the toolbar, the shortcuts and Help ▸
Keys cannot disagree.  The menus that show the session's state follow its events, as napari's
views follow their model: Mode (the menu and the toolbar's box) after every committed or failed
change, Scale and Run one / Run again when the methods, mode or scale change (their entries are
:func:`~srgan_desktop.compare.views.scale_menu_entries` and
:func:`~srgan_desktop.compare.views.run_menu_entries`), Device when the device is chosen.  A
device that is not available here is listed, disabled.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QComboBox, QLabel, QMainWindow, QMenu, QToolButton

from srgan_desktop.compare import MODES
from srgan_desktop.compare.session import DEVICES, ComparisonSession
from srgan_desktop.compare.views import run_menu_entries, scale_menu_entries
from srgan_desktop.core.engine import device_available
from srgan_desktop.ui.actions import TOOLBAR, ActionSpec, action_table
from srgan_desktop.ui.worker import device_name
from srgan_desktop.ui.zoom_box import ZoomBox

__all__ = ["WindowMenus", "SAMPLES", "SAMPLE"]

SAMPLE = "astronaut_lr.png"
#: File ▸ Open sample: (file in resources/samples, mode it opens in, menu text)
SAMPLES = ((SAMPLE, "upscale", "Astronaut 128×128 (upscale)"),
           ("astronaut.png", "simulate", "Astronaut 512×512 (simulate from HR)"),
           ("coffee.png", "simulate", "Coffee 600×400 (simulate from HR)"))


class WindowMenus:
    """The window's actions by name, its menus by name, the toolbar and its widgets."""

    def __init__(self, window: QMainWindow, session: ComparisonSession, dock_toggle: QAction) -> None:
        self.window, self.session = window, session
        self.actions: dict[str, QAction] = {}
        self.menus: dict[str, QMenu] = {}
        self.devices: dict[str, QAction] = {}
        self._build(dock_toggle)
        self._build_devices()
        self._build_toolbar()
        self.action("cancel").setEnabled(False)
        self.action("auto_run").setChecked(bool(session.settings.auto_run))
        model = session.model
        for name in ("image", "methods"):
            model.events.connect(name, self.rebuild)
        model.events.connect("image", self.sync_mode)
        session.events.connect("failed", lambda _change, _message: (self.sync_mode(), self.rebuild_scales()))
        session.events.connect("device", self._on_device)
        self.rebuild()
        self.sync_mode()

    def action(self, name: str) -> QAction:
        return self.actions[name]

    def _make_action(self, spec: ActionSpec) -> QAction:
        action = QAction(spec.text, self.window)
        if spec.keys:
            action.setShortcuts([QKeySequence(k) for k in spec.keys])
        action.setCheckable(spec.checkable)
        if spec.icon_text:
            action.setIconText(spec.icon_text)
        if spec.tip:
            action.setStatusTip(spec.tip)
            action.setToolTip(f"{spec.tip} ({spec.keys[0]})" if spec.keys else spec.tip)
        slot = getattr(self.window, spec.slot)
        if spec.arg is not None:
            action.triggered.connect(lambda _c=False, f=slot, a=spec.arg: f(a))
        else:
            action.triggered.connect(lambda _c=False, f=slot: f())
        self.window.addAction(action)  # shortcuts work even when the action is in no visible menu
        return action

    def _build(self, dock_toggle: QAction) -> None:
        bar = self.window.menuBar()
        groups: dict[str, QActionGroup] = {}
        for spec in action_table():
            menu = None
            if spec.menu:
                if spec.menu not in self.menus:
                    self.menus[spec.menu] = bar.addMenu(spec.menu)
                menu = self.menus[spec.menu]
            if spec.name == "-":
                menu.addSeparator()
            elif spec.name == "metrics_dock":
                menu.addAction(dock_toggle)
            elif spec.submenu:
                self.menus[spec.name] = menu.addMenu(spec.text)
            else:
                action = self._make_action(spec)
                if spec.group:
                    groups.setdefault(spec.group, QActionGroup(self.window)).addAction(action)
                if menu is not None:
                    menu.addAction(action)
                self.actions[spec.name] = action
        for name, mode, text in SAMPLES:
            act = self.menus["samples"].addAction(text)
            act.triggered.connect(lambda _c=False, n=name, m=mode: self.window.open_sample(n, m))

    def _build_devices(self) -> None:
        group = QActionGroup(self.window)
        for name, title in DEVICES:
            ok = device_available(name)
            label = title if name != "auto" else f"Auto ({device_name('auto')})"
            act = self.menus["devices"].addAction(label if ok else f"{title} (not available)")
            act.setCheckable(True)
            act.setEnabled(ok)
            act.triggered.connect(lambda _c=False, n=name: self.window.set_device(n))
            group.addAction(act)
            self.devices[name] = act

    def _build_toolbar(self) -> None:
        window = self.window
        tools = window.addToolBar("Main")
        tools.setObjectName("mainToolbar")
        self.mode_combo = QComboBox(window)
        self.mode_combo.setObjectName("modeCombo")
        for mode in MODES:
            self.mode_combo.addItem("Upscale" if mode == "upscale" else "Simulate from HR", mode)
        self.mode_combo.setToolTip("Upscale: the image is the LR input. Simulate: the image is the ground "
                                   "truth, reduced by the scale with MATLAB bicubic, then super-resolved.")
        self.mode_combo.activated.connect(lambda i: window.set_mode(MODES[i]))
        self.device_button = QToolButton(window)
        self.device_button.setObjectName("deviceButton")
        self.device_button.setMenu(self.menus["devices"])
        self.device_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.device_button.setToolTip("Device the networks run on")
        self.zoom_combo = ZoomBox(window)
        self.zoom_combo.zoomChosen.connect(window.choose_zoom)
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

    # ------------------------------------------------------------------ following the session
    def sync_mode(self) -> None:
        """The Mode menu and box show the model's mode (after a change, or one that failed)."""
        mode = self.session.model.mode
        self.action(f"mode_{mode}").setChecked(True)
        self.mode_combo.setCurrentIndex(MODES.index(mode))

    def _on_device(self, name: str, _resolved: str) -> None:
        self.devices[name].setChecked(True)
        self.device_button.setText(f"Device: {dict(DEVICES)[name]}")

    def rebuild(self) -> None:
        """Run one, Run again and Scale for the current methods, mode and scale."""
        model = self.session.model
        for menu, slot in ((self.menus["run_one"], self.window.run_method),
                           (self.menus["run_again"], self.window.run_again)):
            menu.clear()
            for key, text, reason in run_menu_entries(model):
                act = menu.addAction(text)
                act.setEnabled(not reason)
                act.setToolTip(reason)
                act.triggered.connect(lambda _c=False, k=key, f=slot: f(k))
            menu.setToolTipsVisible(True)
        self.rebuild_scales()

    def rebuild_scales(self) -> None:
        menu = self.menus["scales"]
        menu.clear()
        group = QActionGroup(menu)
        for scale, text in scale_menu_entries(self.session.model):
            act = menu.addAction(text)
            act.setCheckable(True)
            act.setChecked(scale == self.session.model.scale)
            act.triggered.connect(lambda _c=False, s=scale, f=self.window.set_scale: f(s))
            group.addAction(act)

