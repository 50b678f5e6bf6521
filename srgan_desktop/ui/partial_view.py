"""Painting a method's tiles as they arrive, and telling the worker what is on screen.

The comparison model keeps, per running method, a partial canvas (``ComparisonModel.partial``)
into which every finished tile is pasted.  :class:`PartialRasters` keeps one
:class:`~srgan_desktop.ui.image_pane.Raster` per canvas, built on the canvas itself (shared,
not copied), so a new tile costs the conversion of that tile only (:meth:`Raster.refresh`)
and a repaint of the panes that show it.  :func:`visible_lr_box` turns the synchronised panes'
visible region into the LR box the worker runs first (None: the whole image is visible).
"""

from __future__ import annotations

from collections.abc import Iterable

from srgan_desktop.compare import ComparisonModel
from srgan_desktop.compare.tile_order import Box, lr_viewport
from srgan_desktop.ui.image_pane import ImagePane, Raster
from srgan_desktop.ui.pane_grid import ViewSync

__all__ = ["PartialRasters", "visible_lr_box"]


class PartialRasters:
    """The rasters of the model's partial canvases, by method key."""

    def __init__(self, model: ComparisonModel) -> None:
        self.model = model
        self._rasters: dict[str, Raster] = {}

    def raster(self, key: str) -> Raster | None:
        """The raster of ``key``'s partial canvas while it runs (None: none; a stale one is dropped)."""
        canvas = self.model.image_for(key)
        if canvas is None or canvas is not self.model.partial.get(key):
            self._rasters.pop(key, None)
            return None
        raster = self._rasters.get(key)
        if raster is None or raster.rgb is not canvas:
            raster = Raster(canvas)  # shares the canvas
            self._rasters[key] = raster
        return raster

    def on_tile(self, key: str, box: Box) -> tuple[Raster | None, bool]:
        """After a tile was pasted: the raster (converted again there) and whether it is new."""
        old = self._rasters.get(key)
        raster = self.raster(key)
        if raster is None:
            return None, False
        if raster is old:
            raster.refresh(box)
            return raster, False
        return raster, True

    @staticmethod
    def repaint(raster: Raster, panes: Iterable[ImagePane]) -> None:
        """Repaint the panes that show ``raster``."""
        for pane in panes:
            if pane.image() is raster.rgb:
                pane.raster_item.update()


def visible_lr_box(sync: ViewSync, model: ComparisonModel) -> Box | None:
    """The LR box the synchronised panes show (None: fit mode, no image, or all of it)."""
    if model.lr is None or sync.is_fit():
        return None
    pane = sync.reference_pane()
    if pane is None:
        return None
    rect = pane.view_range()
    dx, dy = sync.offset(pane)
    return lr_viewport(rect.left() - dx, rect.top() - dy, rect.right() - dx, rect.bottom() - dy,
                       model.scale, model.lr.shape)
