"""Which tile runs next: the visible region first, every method in turn (no Qt).

When a comparison pane is zoomed in, what the user looks at should appear first, in every
compared method, rather than the whole of the first method before anything of the second.
:class:`TileOrder` holds, per request key, the LR core boxes of its tiles and which are done;
the worker asks :meth:`TileOrder.next` before each tile.  Rules:

1. **Visible first, methods in turn.**  The tiles not yet run that intersect the viewport come
   first, one tile per method, round-robin in submission order (so every pane fills at the same
   pace); within a method, the tile nearest the viewport centre first.
2. **Then the rest**, method by method in submission order (a method finishes, gets scored and
   is cached as early as possible), nearest the viewport centre first.
3. **No viewport** (``None``: not zoomed in, the whole image is visible): no tile is visible;
   each method's tiles run in their own order (the engine's), method by method.
4. **The viewport is re-read at every call**, so panning or zooming re-orders the tiles still
   waiting; what ran stays run.  The worker also has the engine cut the waiting tiles under a
   new viewport into small ones (``TiledJob.refocus``) and hands the new boxes over
   (:meth:`set_boxes`), so the newly visible region comes as quickly as the first one did.

The GUI thread calls :meth:`set_viewport` while the worker thread calls the rest, so every
method takes one lock.  The order changes which tile runs when, never the image: the engine's
tiles are independent (see :class:`srgan_desktop.core.engine.TiledJob`).
"""

from __future__ import annotations

import math
import threading
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

__all__ = ["Box", "TileOrder", "intersects", "lr_viewport"]

Box = tuple[int, int, int, int]  # (y0, x0, y1, x1) LR pixels, end exclusive


def intersects(a: Box, b: Box) -> bool:
    """Whether two boxes share at least one pixel."""
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def lr_viewport(left: float, top: float, right: float, bottom: float, scale: int,
                lr_shape: tuple[int, ...]) -> Box | None:
    """The LR box a pane shows, from its visible scene rectangle; None when it shows it all.

    Scene units are pixels of an image shown at scale 1 (the results); the LR input is shown
    ×``scale``, so an LR pixel covers ``scale`` units.  The box is widened to whole pixels and
    cut to the image; a view that shows the whole image (or none of it) is ``None``: there is
    no region to prefer.
    """
    height, width = int(lr_shape[0]), int(lr_shape[1])
    s = max(1, int(scale))
    y0 = max(0, math.floor(top / s))
    x0 = max(0, math.floor(left / s))
    y1 = min(height, math.ceil(bottom / s))
    x1 = min(width, math.ceil(right / s))
    if y1 <= y0 or x1 <= x0:
        return None
    if (y0, x0, y1, x1) == (0, 0, height, width):
        return None
    return (y0, x0, y1, x1)


@dataclass
class _Entry:
    boxes: list[Box]
    done: set[int] = field(default_factory=set)


class TileOrder:
    """Per key, the tiles' LR core boxes and which ran; :meth:`next` says which tile is next."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[Hashable, _Entry] = {}   # insertion order = submission order
        self._viewport: Box | None = None
        self._last_visible: Hashable | None = None   # the key served last in the visible round

    # ------------------------------------------------------------ any thread
    def set_viewport(self, box: Box | None) -> None:
        """The LR region on screen (None: the whole image, or not known)."""
        with self._lock:
            self._viewport = None if box is None else tuple(int(v) for v in box)  # type: ignore[assignment]

    def viewport(self) -> Box | None:
        with self._lock:
            return self._viewport

    def add(self, key: Hashable, boxes: Sequence[Box]) -> None:
        """Schedule ``key``'s tiles (its core boxes, in the engine's index order)."""
        with self._lock:
            self._entries[key] = _Entry([tuple(int(v) for v in b) for b in boxes])  # type: ignore[misc]

    def set_boxes(self, key: Hashable, boxes: Sequence[Box]) -> None:
        """``key``'s tiles after the engine cut some of the waiting ones (a pan: the indices of
        the tiles that ran are unchanged, new ones come after); what ran stays run."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.boxes = [tuple(int(v) for v in b) for b in boxes]  # type: ignore[misc]

    def remove(self, key: Hashable) -> None:
        with self._lock:
            self._entries.pop(key, None)
            if self._last_visible == key:
                self._last_visible = None

    def done(self, key: Hashable, index: int) -> None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                entry.done.add(index)

    def remaining(self, key: Hashable) -> int:
        with self._lock:
            entry = self._entries.get(key)
            return 0 if entry is None else len(entry.boxes) - len(entry.done)

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._entries)

    def next(self) -> tuple[Hashable, int] | None:
        """The (key, tile index) to run now, or None when every tile ran (rules: module docstring)."""
        with self._lock:
            view = self._viewport
            keys = list(self._entries)
            if view is not None:
                visible = {k: self._waiting(k, view, only_visible=True) for k in keys}
                candidates = [k for k in keys if visible[k]]
                if candidates:
                    key = self._turn(keys, candidates)
                    self._last_visible = key
                    return key, visible[key][0]
            for key in keys:
                waiting = self._waiting(key, view, only_visible=False)
                if waiting:
                    return key, waiting[0]
            return None

    # ------------------------------------------------------------ internals (lock held)
    def _waiting(self, key: Hashable, view: Box | None, only_visible: bool) -> list[int]:
        entry = self._entries[key]
        indices = [i for i in range(len(entry.boxes)) if i not in entry.done]
        if view is None:
            return indices
        if only_visible:
            indices = [i for i in indices if intersects(entry.boxes[i], view)]
        cy, cx = (view[0] + view[2]) / 2.0, (view[1] + view[3]) / 2.0

        def distance(i: int) -> tuple[float, int]:
            y0, x0, y1, x1 = entry.boxes[i]
            return ((y0 + y1) / 2.0 - cy) ** 2 + ((x0 + x1) / 2.0 - cx) ** 2, i

        return sorted(indices, key=distance)

    def _turn(self, keys: list[Hashable], candidates: list[Hashable]) -> Hashable:
        """The first candidate after the key served last (submission order, cyclic)."""
        if self._last_visible not in keys:
            return candidates[0]
        start = keys.index(self._last_visible) + 1
        for key in keys[start:] + keys[:start]:
            if key in candidates:
                return key
        return candidates[0]
