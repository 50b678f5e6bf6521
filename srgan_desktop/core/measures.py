"""Every image-quality measure by name, run the same way for each front end.

``srgan-desktop eval``, the comparison window and the MOS results all ask for measures by name
(``psnr``, ``ssim``, ``niqe``, ``lpips``, ``texture``, ``grid``, ``grid_level``, ``colour_cast``) and get, per name, a number or — when
that measure cannot run on this image — a one-line reason (``"too small for NIQE: …"``,
``"no reference"``).  A measure that cannot run never raises and never becomes a NaN shown as
a number: the reason is what the table cell or JSON field shows.

* ``psnr``, ``ssim``, ``texture``, ``grid``, ``colour_cast`` (:mod:`srgan_desktop.core.metrics`) and ``lpips``
  (:mod:`srgan_desktop.core.lpips_metric`) compare with the HR reference; ``niqe``
  (:mod:`srgan_desktop.core.niqe`) and ``grid_level`` (the grid's amplitude in 8-bit levels,
  for where ``grid``'s ratio is ill-conditioned: ×2, whose lattice is the Nyquist frequency)
  need none.
* **One registry** (:data:`MEASURES`), self-describing entries in the manner of spandrel's
  architecture registry and BasicSR's metric registry: name, version (part of a stored result's
  key: a changed formula is a new version), whether it needs the reference, whether lower is
  better, whether it needs weights, and how to compute it (:attr:`Measure.compute`).  ``eval``,
  the comparison window's scores (:mod:`srgan_desktop.compare.scores`) and its table columns
  (:mod:`srgan_desktop.ui.metrics_panel`) and the MOS agreement all read this one registry.
* All of them leave out ``border`` pixels on each side — a **required** argument, the scale
  everywhere (BasicSR's ``crop_border``), so the window and ``eval`` give the same figure at
  every scale; ``grid`` looks at the lattice of ``scale`` (default: ``border``).
* A set of images is summarised by the mean of each measure, except ``grid``: its median, as
  one image whose HR spectrum is nearly empty at the lattice frequencies would rule a mean.
* LPIPS needs its network, loaded once by the caller (:func:`~srgan_desktop.core.lpips_metric.load_lpips`)
  and passed in; without it the ``lpips`` value is the reason given in ``lpips_unavailable``.

Qt-free.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from srgan_desktop.core.metrics import colour_cast, grid_level, grid_ratio, psnr, ssim, texture_ratio
from srgan_desktop.core.niqe import niqe
from srgan_desktop.errors import SrganDesktopError

if TYPE_CHECKING:  # the registry itself stays torch-free (``results`` reads it without torch)
    from srgan_desktop.core.lpips_metric import LpipsModel

__all__ = ["Measure", "MeasureInput", "WINDOW_EXTRAS", "MEASURES", "DEFAULT_MEASURES", "NO_REFERENCE", "measure", "is_number", "summarise"]

NO_REFERENCE = "no reference"


@dataclass(frozen=True)
class MeasureInput:
    """What a measure's ``compute`` gets: the result, its reference (None = none), the border."""

    result: np.ndarray
    reference: np.ndarray | None
    border: int
    scale: int
    lpips: LpipsModel | None = None


@dataclass(frozen=True)
class Measure:
    name: str
    version: str             # bumped when the formula changes (stored results are keyed by it)
    title: str               # column header
    digits: int              # decimals shown
    needs_reference: bool
    lower_is_better: bool
    needs_weights: bool      # a network the caller loads (LPIPS); without it: the caller's reason
    compute: Callable[[MeasureInput], float]
    about: str               # one line for table notes
    aggregate: str = "mean"  # over a set of images: mean | median


def _lpips(m: MeasureInput) -> float:
    assert m.lpips is not None  # measure() gives the reason before calling without weights
    return m.lpips.distance(m.result, m.reference, m.border)


MEASURES: dict[str, Measure] = {m.name: m for m in (
    Measure("psnr", "1", "PSNR", 2, True, False, False,
            lambda m: psnr(m.result, m.reference, m.border), "PSNR (dB) on Y (BT.601)"),
    Measure("ssim", "1", "SSIM", 4, True, False, False,
            lambda m: ssim(m.result, m.reference, m.border), "SSIM on Y (BT.601), 11×11 Gaussian window"),
    Measure("niqe", "1", "NIQE", 2, False, True, False, lambda m: niqe(m.result, m.border),
            "NIQE: no-reference naturalness (MATLAB niqe, LIVE pristine model), lower = more natural"),
    Measure("lpips", "0.1", "LPIPS", 4, True, True, True, _lpips,
            "LPIPS v0.1: learned distance to HR, lower = closer"),
    Measure("texture", "1", "texture", 3, True, False, False,
            lambda m: texture_ratio(m.result, m.reference, m.border),
            "texture = high-frequency energy above 1/4 Nyquist relative to HR (1 = as much as HR; "
            "a pixel-shuffle grid counts as texture too)"),
    Measure("grid", "1", "grid", 2, True, True, False,
            lambda m: grid_ratio(m.result, m.reference, m.scale, m.border),
            "grid = energy at the sub-pixel lattice frequencies (k/s, l/s) relative to HR's (1 = as "
            "much as HR; more = a pixel-shuffle grid); median over images", aggregate="median"),
    Measure("grid_level", "1", "grid lvl", 2, False, True, False,
            lambda m: grid_level(m.result, m.scale, m.border),
            "grid lvl = RMS amplitude at those lattice frequencies in 8-bit levels of Y (1 = one "
            "step; says how large a grid is where HR has almost none, as at x2)"),
    Measure("colour_cast", "1", "colour cast", 2, True, True, False,
            lambda m: colour_cast(m.result, m.reference, m.border),
            "colour cast = the largest shift of an R, G or B mean against HR, in 8-bit levels (a "
            "colour change that the Y measures and NIQE do not see)"),
)}
#: the measures the comparison window's table shows after PSNR and SSIM (its extra columns)
WINDOW_EXTRAS = ("niqe", "lpips")
DEFAULT_MEASURES = ("psnr", "ssim", "niqe")


def is_number(value: float | str | None) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def summarise(name: str, values: list[float]) -> float:
    """One figure for a set of images: the measure's aggregate (mean; median for ``grid``)."""
    return float(np.median(values) if MEASURES[name].aggregate == "median" else np.mean(values))


def _reason(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def measure(result: np.ndarray, reference: np.ndarray | None, names: Iterable[str], *, border: int,
            lpips: LpipsModel | None = None, lpips_unavailable: str = "no LPIPS weights",
            scale: int | None = None) -> dict[str, float | str]:
    """``{name: value or reason}`` for each measure in ``names`` (unknown names: ValueError).

    ``border`` is required: the scale, by the SR convention (never a fixed constant)."""
    values: dict[str, float | str] = {}
    for name in names:
        if name not in MEASURES:
            raise ValueError(f"unknown measure '{name}' (use {', '.join(MEASURES)})")
        entry = MEASURES[name]
        if entry.needs_reference and reference is None:
            values[name] = NO_REFERENCE
            continue
        if entry.needs_weights and lpips is None:
            values[name] = lpips_unavailable
            continue
        try:
            values[name] = float(entry.compute(MeasureInput(result, reference, border, scale or border or 4, lpips)))
        except (SrganDesktopError, ValueError) as exc:  # too small, sizes differ, undefined
            values[name] = _reason(exc)
        if isinstance(values[name], float) and np.isnan(values[name]):
            values[name] = f"{entry.title} undefined for this image (flat reference)"
    return values
