"""What each pane of the comparison window shows: the rasters behind the session's images.

Rules: the LR input and the ground truth get their rasters (with the zoomed-out pyramid levels,
:func:`prepare_rasters`) in the preparing job, off the GUI thread, until the longer side is under
:data:`PREBUILD_SIDE`; a finished result keeps the raster the worker built for it (weakly, by
its output, so a forgotten result frees it); a running method shows its partial canvas
(``ui/partial_view.py``); a method with no image shows its status words
(:func:`~srgan_desktop.compare.views.status_text`); before any image, what is being opened.  The
titles are :func:`~srgan_desktop.compare.views.pane_title`.
"""

from __future__ import annotations

import weakref

import numpy as np

from srgan_desktop.compare import INPUT_KEY, REFERENCE_KEY, MethodOutput, Prepared
from srgan_desktop.compare.session import ComparisonSession
from srgan_desktop.compare.views import pane_title, status_text
from srgan_desktop.ui.image_pane import Raster
from srgan_desktop.ui.pane_grid import PaneContent
from srgan_desktop.ui.partial_view import PartialRasters

__all__ = ["PaneContents", "prepare_rasters", "PREBUILD_SIDE"]

#: Pyramid levels are built off the GUI thread until the image's longer side is under this.
PREBUILD_SIDE = 256


def _prebuild(raster: Raster) -> Raster:
    """Build the zoomed-out pyramid levels now (in the task thread), not at the first paint."""
    level, side = 0, max(raster.width, raster.height)
    while side > PREBUILD_SIDE:
        level, side = level + 1, side // 2
    raster.level(level)
    return raster


def prepare_rasters(prepared: Prepared) -> tuple[Raster | None, Raster | None]:
    """(task thread) The LR and ground-truth rasters, with their pyramids."""
    lr = _prebuild(Raster(prepared.lr)) if prepared.lr is not None else None
    ref = _prebuild(Raster(prepared.reference)) if prepared.reference is not None else None
    return lr, ref


class PaneContents:
    """The rasters of the session's images and :meth:`content` of any pane key."""

    def __init__(self, session: ComparisonSession) -> None:
        self.session, self.model = session, session.model
        self.input: Raster | None = None
        self.reference: Raster | None = None
        self._rasters: weakref.WeakKeyDictionary[MethodOutput, Raster] = weakref.WeakKeyDictionary()
        self.partials = PartialRasters(self.model)  # running methods' tiles, painted as they arrive
        session.events.connect("prepared", self._on_prepared)

    def _on_prepared(self, _prepared: Prepared, rasters: tuple[Raster | None, Raster | None]) -> None:
        self.input, self.reference = rasters

    def keep(self, output: MethodOutput, raster: Raster | None = None) -> None:
        """Remember the raster of a result (made now from its pixels when none is given)."""
        self._rasters[output] = raster if raster is not None else Raster(output.rgb)

    def raster_of(self, output: MethodOutput) -> Raster:
        raster = self._rasters.get(output)
        if raster is None or raster.rgb is not output.rgb:
            raster = Raster(output.rgb)
            self._rasters[output] = raster
        return raster

    def content(self, key: str) -> PaneContent:
        """What the pane for ``key`` shows now (used by the grid, swipe and flicker views)."""
        model = self.model
        title = pane_title(model, key)
        if not model.has_image:
            pending = self.session.pending
            return PaneContent(title, message=pending.text if pending else "Open an image (Ctrl+O) or drop one here")
        if key == INPUT_KEY:
            return PaneContent(title, self.input, model.scale)
        if key == REFERENCE_KEY:
            return PaneContent(title, self.reference)
        done = model.results.get(key)
        if done is not None:
            return PaneContent(title, self.raster_of(done))
        partial = self.partials.raster(key)
        if partial is not None:
            return PaneContent(title, partial)
        try:
            model.method(key)
        except KeyError:
            return PaneContent(title, message="")
        return PaneContent(title, message=status_text(model.state(key)))

    def scene_source(self, key: str) -> tuple[np.ndarray, int] | None:
        """The full image behind ``key`` and its scene units per pixel (the LR: the scale)."""
        rgb = self.model.image_for(key)
        return None if rgb is None else (rgb, self.model.display_scale(key))

