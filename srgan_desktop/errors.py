"""The one base error of srgan-desktop.

Every error that means "this input, file or request cannot be used" derives from
:class:`SrganDesktopError` and carries a one-line message meant for the user.  A front end
(the command line, the window, the rating panel, the trainer) catches this one type and shows
its message; anything else is a bug and keeps its traceback.  Subclasses stay where their
module needs them (``ImageLoadError`` in ``core.images``, ``WeightsError`` in ``core.weights``…)
so callers can still tell the cases apart.

Qt-free and import-free: every layer may import it.
"""

from __future__ import annotations

__all__ = ["SrganDesktopError"]


class SrganDesktopError(Exception):
    """A user-facing failure: ``str(error)`` is one line that says what and why."""
