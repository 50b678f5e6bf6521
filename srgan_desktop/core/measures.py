"""Every image-quality measure by name, run the same way for each front end.

``srgan-desktop eval``, the comparison window and the MOS results all ask for measures by name
(``psnr``, ``ssim``, ``niqe``, ``lpips``, ``texture``, ``grid``) and get, per name, a number or — when
that measure cannot run on this image — a one-line reason (``"too small for NIQE: …"``,
``"no reference"``).  A measure that cannot run never raises and never becomes a NaN shown as
a number: the reason is what the table cell or JSON field shows.

* ``psnr``, ``ssim``, ``texture``, ``grid`` (:mod:`srgan_desktop.core.metrics`) and ``lpips``
  (:mod:`srgan_desktop.core.lpips_metric`) compare with the HR reference; ``niqe``
  (:mod:`srgan_desktop.core.niqe`) needs none.
* All of them leave out ``border`` pixels on each side (the scale, by the SR convention);
  ``grid`` looks at the lattice of ``scale`` (default: ``border``).
* A set of images is summarised by the mean of each measure, except ``grid``: its median, as
  one image whose HR spectrum is nearly empty at the lattice frequencies would rule a mean.
* LPIPS needs its network, loaded once by the caller (:func:`~srgan_desktop.core.lpips_metric.load_lpips`)
  and passed in; without it the ``lpips`` value is the reason given in ``lpips_unavailable``.

Qt-free.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from srgan_desktop.core.lpips_metric import LpipsModel
from srgan_desktop.core.metrics import grid_ratio, psnr, ssim, texture_ratio
from srgan_desktop.core.niqe import niqe
from srgan_desktop.errors import SrganDesktopError

__all__ = ["Measure", "MEASURES", "DEFAULT_MEASURES", "NO_REFERENCE", "measure", "is_number", "summarise"]

NO_REFERENCE = "no reference"


@dataclass(frozen=True)
class Measure:
    name: str
    title: str               # column header
    digits: int              # decimals shown
    needs_reference: bool
    lower_is_better: bool
    about: str               # one line for table notes
    aggregate: str = "mean"  # over a set of images: mean | median


MEASURES: dict[str, Measure] = {m.name: m for m in (
    Measure("psnr", "PSNR", 2, True, False, "PSNR (dB) on Y (BT.601)"),
    Measure("ssim", "SSIM", 4, True, False, "SSIM on Y (BT.601), 11×11 Gaussian window"),
    Measure("niqe", "NIQE", 2, False, True,
            "NIQE: no-reference naturalness (MATLAB niqe, LIVE pristine model), lower = more natural"),
    Measure("lpips", "LPIPS", 4, True, True, "LPIPS v0.1: learned distance to HR, lower = closer"),
    Measure("texture", "texture", 3, True, False,
            "texture = high-frequency energy above 1/4 Nyquist relative to HR (1 = as much as HR; "
            "a pixel-shuffle grid counts as texture too)"),
    Measure("grid", "grid", 2, True, True,
            "grid = energy at the sub-pixel lattice frequencies (k/s, l/s) relative to HR's (1 = as "
            "much as HR; more = a pixel-shuffle grid); median over images", aggregate="median"),
)}
DEFAULT_MEASURES = ("psnr", "ssim", "niqe")


def is_number(value: float | str | None) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def summarise(name: str, values: list[float]) -> float:
    """One figure for a set of images: the measure's aggregate (mean; median for ``grid``)."""
    return float(np.median(values) if MEASURES[name].aggregate == "median" else np.mean(values))


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def measure(result: np.ndarray, reference: np.ndarray | None, names: Iterable[str], *, border: int = 4,
            lpips: LpipsModel | None = None, lpips_unavailable: str = "no LPIPS weights",
            scale: int | None = None) -> dict[str, float | str]:
    """``{name: value or reason}`` for each measure in ``names`` (unknown names: ValueError)."""
    values: dict[str, float | str] = {}
    for name in names:
        if name not in MEASURES:
            raise ValueError(f"unknown measure '{name}' (use {', '.join(MEASURES)})")
        if MEASURES[name].needs_reference and reference is None:
            values[name] = NO_REFERENCE
            continue
        try:
            if name == "psnr":
                values[name] = psnr(result, reference, border)
            elif name == "ssim":
                values[name] = ssim(result, reference, border)
            elif name == "texture":
                values[name] = texture_ratio(result, reference, border)
            elif name == "grid":
                values[name] = grid_ratio(result, reference, scale or border or 4, border)
            elif name == "niqe":
                values[name] = niqe(result, border)
            elif lpips is None:
                values[name] = lpips_unavailable
            else:
                values[name] = lpips.distance(result, reference, border)
        except (SrganDesktopError, ValueError) as exc:  # too small, sizes differ, undefined
            values[name] = _reason(exc)
        if isinstance(values[name], float) and np.isnan(values[name]):
            values[name] = f"{MEASURES[name].title} undefined for this image (flat reference)"
    return values
