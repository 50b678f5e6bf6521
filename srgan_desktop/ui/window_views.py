"""The comparison window's view commands: view mode, zoom, layout toggles, the active pane — a mixin
of :class:`MainWindow`.

Rules: the four view modes (grid, swipe, flicker, difference) share one synchronised view, so a
zoom or pan in one is kept in the others; the zoom label and box show the zoom actually drawn in
the pane on screen (after its layout); the row layout, smooth magnification, crosshair,
amplification and view mode are settings, restored at the next launch (an unknown value is the
default); Ctrl+S saves the *active* pane: the clicked one in the grid, the one shown in flicker,
the left side of swipe and difference, else the last result.
"""

from __future__ import annotations

from srgan_desktop.compare import INPUT_KEY
from srgan_desktop.compare.views import zoom_text
from srgan_desktop.ui.image_pane import ImagePane

__all__ = ["ViewsMixin", "VIEW_MODES"]

VIEW_MODES = ("grid", "swipe", "flicker", "difference")


class ViewsMixin:
    """Needs the window's ``session``, ``settings``, ``menus``, ``stack``, ``sync`` and the four views."""

    def _restore_views(self) -> None:
        settings = self.settings
        self.action("row").setChecked(settings.arrangement == "row")
        self.grid.set_arrangement(settings.arrangement if settings.arrangement in ("grid", "row") else "grid")
        self.action("smooth").setChecked(settings.smooth)
        self._toggle_smooth()
        self.action("crosshair").setChecked(settings.crosshair)
        self._toggle_crosshair()
        self.difference.set_amplification(max(1, min(16, settings.amplification)))

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

    def choose_zoom(self, zoom: float) -> None:
        """The zoom box: a zoom, or 0 for fit."""
        if zoom <= 0:
            self.fit()
        else:
            self.set_zoom(zoom)

    def _update_zoom_label(self) -> None:
        """The zoom drawn in the pane on screen (after its layout), in the label and the box."""
        shown = [p for p in self.visible_panes() if p.isVisible() and p.image() is not None]
        zoom = shown[0].screen_zoom() if shown else None
        self.menus.zoom_label.setText(zoom_text(zoom))
        self.menus.zoom_combo.show_zoom(zoom, self.sync.is_fit())

    def _toggle_row(self) -> None:
        arrangement = "row" if self.action("row").isChecked() else "grid"
        self.settings.arrangement = arrangement
        self.grid.set_arrangement(arrangement)

    def _toggle_smooth(self) -> None:
        smooth = self.action("smooth").isChecked()
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
        model = self.session.model
        if self._active_key and model.image_for(self._active_key) is not None:
            return self._active_key
        done = [k for k in self.grid.keys() if k in model.results]
        return done[-1] if done else INPUT_KEY

    def _on_difference_settings(self) -> None:
        self.settings.amplification = int(self.difference.amplification.value())
