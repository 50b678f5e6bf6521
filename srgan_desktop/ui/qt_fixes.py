"""Work-arounds for defects of the Qt binding that would otherwise crash the app.

**PySide6 6.12.0: ``SignalInstance.emit()`` returns ``True`` without a new reference.**
Every signal emitted from Python (pyqtgraph emits several per pan or zoom step) takes one
reference from ``True``.  On Python 3.12+ ``True`` is immortal and nothing happens; on
Python 3.11 its count reaches zero after a few thousand emissions and the interpreter
aborts with ``Fatal Python error: bool_dealloc``.  :func:`protect_bool_refcounts` detects
the defect at start-up (8 emissions of a probe signal) and, only then, gives ``True`` a
reserve of 2**40 references so it can never be freed, which is what Python 3.12 does for
every interpreter.  Remove this module once the binding is fixed.
"""

from __future__ import annotations

import ctypes
import sys

__all__ = ["signal_emit_leaks_true", "protect_bool_refcounts"]

_RESERVE = 1 << 40
_applied = False


def signal_emit_leaks_true(probes: int = 8) -> bool:
    """True when emitting a signal from Python takes references from ``True``."""
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal()

    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(probes):
        probe.ping.emit()
    return before - sys.getrefcount(True) >= probes


def protect_bool_refcounts() -> bool:
    """Apply the reserve if this binding needs it; True when it was applied (now or before)."""
    global _applied
    if _applied:
        return True
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return False
    if not signal_emit_leaks_true():
        return False
    # ob_refcnt is the first field of every object in a (non-debug) CPython 3.11 build.
    ctypes.c_ssize_t.from_address(id(True)).value += _RESERVE
    _applied = True
    return True
