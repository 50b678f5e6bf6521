"""The scores of one result: PSNR/SSIM/texture against the ground truth, plus extra measures.

:class:`Scores` is the record the comparison keeps per method.  ``extra`` holds any further
measure by name (``niqe``, ``lpips``…): a float, or a string ``"unavailable: reason"`` when it
cannot be computed here (no weights, image too small).  Extra measures plug in with
:func:`register_scorer`; :func:`compute_scores` runs them all and is called by the window's
worker thread after a result is made (never on the GUI thread), then the model's
:meth:`~srgan_desktop.compare.model.ComparisonModel.set_scores` stores the record and emits
``scores``.  A scorer that raises gives ``"unavailable: <its message>"``, never a crash.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from srgan_desktop.core.metrics import score

__all__ = ["Scores", "Scorer", "register_scorer", "unregister_scorer", "scorers", "compute_scores",
           "SCORE_BORDER"]

SCORE_BORDER = 4  # pixels left out at each edge, as the SR benchmarks do


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
    fn: Callable[[np.ndarray, np.ndarray | None], float]  # (result, reference or None) -> value
    needs_reference: bool = False


_SCORERS: dict[str, Scorer] = {}


def register_scorer(name: str, fn: Callable[[np.ndarray, np.ndarray | None], float],
                    needs_reference: bool = False) -> None:
    """Add an extra measure (e.g. ``register_scorer("niqe", lambda sr, _ref: niqe(sr, 4))``)."""
    _SCORERS[name] = Scorer(name, fn, needs_reference)


def unregister_scorer(name: str) -> None:
    _SCORERS.pop(name, None)


def scorers() -> list[Scorer]:
    return list(_SCORERS.values())


def compute_scores(result: np.ndarray, reference: np.ndarray | None, reference_hash: str = "",
                   border: int = SCORE_BORDER) -> Scores:
    """Every measure of ``result`` (slow: call it off the GUI thread)."""
    psnr = ssim = texture = None
    if reference is not None and reference.shape == result.shape:
        try:
            base = score(result, reference, border=border)
            psnr, ssim, texture = base.psnr, base.ssim, base.texture
        except ValueError:  # too small for SSIM's window: the result still stands
            pass
    extra: dict[str, float | str] = {}
    for scorer in scorers():
        if scorer.needs_reference and (reference is None or reference.shape != result.shape):
            continue
        try:
            extra[scorer.name] = float(scorer.fn(result, reference))
        except Exception as exc:  # noqa: BLE001 — a measure that cannot run says why
            extra[scorer.name] = f"unavailable: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}"
    return Scores(psnr, ssim, texture, extra, reference_hash if reference is not None else "")
