"""Benchmark folders: HR images and their LR inputs, loaded the way the SR literature does.

A benchmark is an HR folder, or a root holding ``HR/`` and ``LR_bicubic_x{scale}/`` (the layout
of the Set5/Set14 folders).  LR images come from an explicit folder, from the root's
``LR_bicubic_x{scale}/``, or are made from HR with the MATLAB-compatible bicubic.  HR images
are cropped to a multiple of the scale.  Used by ``srgan-desktop eval`` and by the trainer's
validation, so both report the same figures.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.core.images import IMAGE_SUFFIXES, load_image
from srgan_desktop.core.resize import downscale, imresize

__all__ = ["BenchmarkError", "Pair", "Dataset", "find_dataset", "reduced"]


class BenchmarkError(SrganDesktopError, ValueError):
    """A benchmark folder is missing, empty or inconsistent; the message says what."""


@dataclass
class Pair:
    """One test image: LR input and HR ground truth (cropped to a multiple of the scale)."""

    name: str
    lr: np.ndarray
    hr: np.ndarray


@dataclass
class Dataset:
    """A folder of HR images and where its LR inputs come from."""

    name: str
    hr_dir: Path
    root: Path | None = None         # a benchmark root (HR/ + LR_bicubic_xS/), if given as one
    lr_dir: Path | None = None       # --lr
    only: frozenset[str] | None = None  # keep only the images with these stems (a validation split)
    reduce: float = 1.0              # HR images first reduced by this factor (a trainer's --data-scale)
    _cache: dict[int, list[Pair]] = field(default_factory=dict, repr=False)

    def hr_files(self) -> list[Path]:
        return sorted(p for p in self.hr_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES
                      and (self.only is None or p.stem in self.only))

    def lr_source(self, scale: int) -> Path | None:
        """The LR folder used at ``scale``; None when LR is made from HR (always for reduced HR)."""
        if self.reduce != 1.0:
            return None
        if self.lr_dir is not None:
            return self.lr_dir
        if self.root is not None and (self.root / f"LR_bicubic_x{scale}").is_dir():
            return self.root / f"LR_bicubic_x{scale}"
        return None

    def pairs(self, scale: int) -> list[Pair]:
        if scale not in self._cache:
            lr_dir = self.lr_source(scale)
            self._cache[scale] = [_load_pair(path, lr_dir, scale, self.reduce) for path in self.hr_files()]
        return self._cache[scale]


def find_dataset(hr: str | Path, lr: str | Path | None = None,
                 only: frozenset[str] | None = None, reduce: float = 1.0) -> Dataset:
    """``hr`` is an HR folder or a benchmark root; raises :class:`BenchmarkError` if unusable.

    ``reduce`` < 1 first reduces every HR image by that factor with the MATLAB-compatible
    bicubic (the ground truth of a trainer's ``--data-scale`` photos); LR is then made from it."""
    if not 0.0 < reduce <= 1.0:
        raise BenchmarkError(f"reduce must lie in (0, 1], not {reduce}")
    if reduce != 1.0 and lr is not None:
        raise BenchmarkError("reduced HR images need LR made from them, not an LR folder")
    hr = Path(hr)
    if not hr.is_dir():
        raise BenchmarkError(f"{hr}: no such folder")
    lr_dir = Path(lr) if lr is not None else None
    if lr_dir is not None and not lr_dir.is_dir():
        raise BenchmarkError(f"{lr_dir}: no such folder")
    if (hr / "HR").is_dir():
        dataset = Dataset(hr.resolve().name, hr / "HR", root=hr, lr_dir=lr_dir, only=only, reduce=reduce)
    else:
        name = hr.resolve().parent.name if hr.resolve().name == "HR" else hr.resolve().name
        dataset = Dataset(name, hr, lr_dir=lr_dir, only=only, reduce=reduce)
    if not dataset.hr_files():
        raise BenchmarkError(f"{dataset.hr_dir}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
    return dataset


def reduced(rgb: np.ndarray, factor: float) -> np.ndarray:
    """``rgb`` reduced by ``factor`` with the MATLAB-compatible bicubic (itself when 1)."""
    return rgb if factor == 1.0 else imresize(rgb, scale=factor)


def _find_lr(lr_dir: Path, hr_path: Path, scale: int) -> Path:
    """The LR file for an HR file: same name, same stem with another suffix, or ``STEMx4``."""
    candidates = [lr_dir / hr_path.name]
    for stem in (hr_path.stem, f"{hr_path.stem}x{scale}"):
        candidates += [lr_dir / f"{stem}{suffix}" for suffix in sorted(IMAGE_SUFFIXES)]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise BenchmarkError(f"{lr_dir}: no LR image for {hr_path.name}")


def _load_pair(hr_path: Path, lr_dir: Path | None, scale: int, reduce: float = 1.0) -> Pair:
    hr = reduced(load_image(hr_path).rgb, reduce)
    hr = hr[: hr.shape[0] - hr.shape[0] % scale, : hr.shape[1] - hr.shape[1] % scale]  # crop_to_multiple without its error: the size check below says more
    smallest = 2 * scale + 11  # the border on both sides plus one 11×11 SSIM window
    if min(hr.shape[:2]) < smallest:
        raise BenchmarkError(f"{hr_path.name}: {hr.shape[1]}×{hr.shape[0]} is too small to evaluate at "
                           f"×{scale} (at least {smallest}×{smallest})")
    if lr_dir is None:
        lr = downscale(hr, scale)
    else:
        lr_path = _find_lr(lr_dir, hr_path, scale)
        lr = load_image(lr_path).rgb
        expected = (hr.shape[0] // scale, hr.shape[1] // scale)
        if lr.shape[:2] != expected:
            raise BenchmarkError(f"{lr_path.name}: LR is {lr.shape[1]}×{lr.shape[0]}, expected "
                               f"{expected[1]}×{expected[0]} (HR {hr.shape[1]}×{hr.shape[0]} / {scale})")
    return Pair(hr_path.stem, lr, hr)
