"""Plain observer callbacks: the comparison model says what changed, its views listen.

Qt-free on purpose (the model is tested without Qt).  Callbacks run synchronously, in the
thread that changed the model: the window only changes it on the GUI thread (the worker's
results come back through queued Qt signals first), so a view callback may touch widgets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import Any

__all__ = ["Events", "EVENT_NAMES"]

#: ``image`` (image, mode or scale changed: panes are rebuilt), ``methods`` (the list of methods
#: changed), ``status`` (key: a method's status or progress), ``result`` (key: its pixels
#: arrived), ``scores`` (key), ``busy`` (bool: work is queued or running, or not), ``tile`` (key,
#: HR box: a tile of a running method was pasted into its partial canvas), ``measuring`` (key: the
#: measure its result is measured with now changed, or its measures are over).
EVENT_NAMES = ("image", "methods", "status", "result", "scores", "busy", "tile", "measuring")


class Events:
    """``connect(name, callback)`` for one of ``names``; ``emit(name, *args)`` calls every callback of ``name``."""

    def __init__(self, names: tuple[str, ...] = EVENT_NAMES) -> None:
        self.names = names
        self._callbacks: dict[str, list[Callable[..., Any]]] = defaultdict(list)

    def connect(self, name: str, callback: Callable[..., Any]) -> None:
        if name not in self.names:
            raise ValueError(f"unknown event '{name}' (known: {', '.join(self.names)})")
        self._callbacks[name].append(callback)

    def disconnect(self, name: str, callback: Callable[..., Any]) -> None:
        if callback in self._callbacks.get(name, []):
            self._callbacks[name].remove(callback)

    def emit(self, name: str, *args: Any) -> None:
        for callback in list(self._callbacks.get(name, [])):
            callback(*args)
