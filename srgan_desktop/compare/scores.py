"""The scores of one result: PSNR/SSIM/texture against the ground truth, plus extra measures.

:class:`Scores` is the record the comparison keeps per method.  ``extra`` holds any further
measure by name (``niqe``, ``lpips``…): a float, or a string ``"unavailable: reason"`` when it
cannot be computed here (no weights, image too small).  Every figure comes from the one measure
registry (:data:`srgan_desktop.core.measures.MEASURES`, the same code as ``eval``), with
``border`` a required argument — the comparison's scale, as ``eval`` and the MOS agreement use —
so the window's PSNR at ×2 and ×4 equals ``eval``'s (tests/test_measure_registry.py).  The
registry's :data:`~srgan_desktop.core.measures.WINDOW_EXTRAS` (NIQE, LPIPS) are computed once
:mod:`srgan_desktop.compare.perceptual` has enabled them; further ad-hoc measures (tests,
plug-ins) plug in with :func:`register_scorer`.  :func:`compute_scores` runs them all and is called by the window's
worker thread after a result is made (never on the GUI thread), then the model's
:meth:`~srgan_desktop.compare.model.ComparisonModel.set_scores` stores the record and emits
``scores``.  A scorer that raises gives ``"unavailable: <its message>"``, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from srgan_desktop.core.measures import measure

__all__ = ["Scores", "Scorer", "register_scorer", "unregister_scorer", "scorers", "compute_scores"]


@dataclass(frozen=True)
class Scores:
    """One result's figures.  Reference-based ones are None without a ground truth."""

    psnr: float | None = None
    ssim: float | None = None
    texture: float | None = None
    extra: dict[str, float | str] = field(default_factory=dict)
    reference_hash: str = ""  # the ground truth they were measured against ("" = none)

    def merged(self, **values: float | str) -> Scores:
        return replace(self, extra={**self.extra, **values})

    def value(self, name: str) -> float | str | None:
        if name in ("psnr", "ssim", "texture"):
            return getattr(self, name)
        return self.extra.get(name)

    def text(self) -> str:
        """``"31.20 dB / 0.8812"`` (pane titles, export captions); "" without a reference."""
        if self.psnr is None or self.ssim is None:
            return ""
        return f"{self.psnr:.2f} dB / {self.ssim:.4f}"


@dataclass(frozen=True)
class Scorer:
    name: str
    fn: Callable[[np.ndarray, np.ndarray | None, int], float]  # (result, reference or None, border)
    needs_reference: bool = False


_SCORERS: dict[str, Scorer] = {}


def register_scorer(name: str, fn: Callable[[np.ndarray, np.ndarray | None, int], float],
                    needs_reference: bool = False) -> None:
    """Add an extra measure (e.g. ``register_scorer("mean", lambda sr, _ref, _border: sr.mean())``)."""
    _SCORERS[name] = Scorer(name, fn, needs_reference)


def unregister_scorer(name: str) -> None:
    _SCORERS.pop(name, None)


def scorers() -> list[Scorer]:
    return list(_SCORERS.values())


def compute_scores(result: np.ndarray, reference: np.ndarray | None, reference_hash: str = "", *,
                   border: int, on_measure: Callable[[str], None] | None = None) -> Scores:
    """Every measure of ``result``, ``border`` = the scale (slow: call it off the GUI thread).

    ``on_measure(name)`` is called before each measure (``psnr`` for PSNR/SSIM/texture): the
    window says "measuring <measure>…" while they run."""
    tell = on_measure or (lambda _name: None)
    psnr = ssim = texture = None
    if reference is not None and reference.shape == result.shape:
        tell("psnr")
        base = measure(result, reference, ("psnr", "ssim", "texture"), border=border)
        if all(isinstance(v, float) for v in base.values()):  # too small for SSIM: no base figures
            psnr, ssim, texture = (float(base[k]) for k in ("psnr", "ssim", "texture"))
    extra: dict[str, float | str] = {}
    for scorer in scorers():
        if scorer.needs_reference and (reference is None or reference.shape != result.shape):
            continue
        try:
            tell(scorer.name)
            extra[scorer.name] = float(scorer.fn(result, reference, border))
        except Exception as exc:  # noqa: BLE001 — a measure that cannot run says why
            extra[scorer.name] = f"unavailable: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    return Scores(psnr, ssim, texture, extra, reference_hash if reference is not None else "")
