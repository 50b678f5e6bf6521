"""Results made elsewhere as methods: ``KEY=DIR``, a folder of images named like the inputs.

A method that runs outside the app (a diffusion model, a paper's released outputs, another
program) takes part in ``eval`` tables, MOS studies and the window as a folder of its results:
``mine=results/`` means "the result for input ``baby.png`` is ``results/baby.*``" (any image
suffix; ``babyx4``/``baby_x4``/``baby_SR`` are accepted as well, after the usual benchmark
naming).  Results are checked before anything is measured:

* every input must have exactly one result (the message names the first input without one);
* its size must be the LR size × scale, or the HR size (which is then cropped to a multiple of
  the scale, as the HR itself is); the message names the first file of a wrong size, its size and
  the sizes it could have had.

Qt-free, torch-free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from srgan_desktop.core.images import IMAGE_SUFFIXES, load_image
from srgan_desktop.errors import SrganDesktopError

__all__ = ["ResultsError", "ExternalResults", "Expected"]


class ResultsError(SrganDesktopError, ValueError):
    """A results folder cannot stand for a method: missing file, wrong size, no folder."""


@dataclass(frozen=True)
class Expected:
    """What one result must be: the input's name (file stem), LR and HR sizes (rows, columns)."""

    name: str
    lr_size: tuple[int, int]
    hr_size: tuple[int, int] | None = None   # the uncropped ground truth, if there is one


@dataclass(frozen=True)
class ExternalResults:
    """A folder of results standing for the method ``key`` at ``scale``."""

    key: str
    folder: Path
    scale: int

    @classmethod
    def open(cls, key: str, folder: str | Path, scale: int) -> "ExternalResults":
        folder = Path(folder)
        if not folder.is_dir():
            raise ResultsError(f"{key}: {folder} is not a folder of results")
        if scale < 1:
            raise ResultsError(f"{key}: scale must be 1 or more, not {scale}")
        return cls(key, folder, scale)

    def path_for(self, name: str) -> Path:
        """The result file for the input called ``name`` (its file stem)."""
        stems = (name, f"{name}x{self.scale}", f"{name}_x{self.scale}", f"{name}_SR")
        found = [self.folder / f"{stem}{suffix}" for stem in stems for suffix in sorted(IMAGE_SUFFIXES)]
        found = [p for p in found if p.is_file()]
        if not found:
            raise ResultsError(f"{self.key}: no result for '{name}' in {self.folder} (expected "
                               f"{name}.png or another image named like the input)")
        return found[0]

    def sizes(self, item: Expected) -> tuple[tuple[int, int], ...]:
        """The sizes (rows, columns) a result for ``item`` may have."""
        h, w = item.lr_size
        allowed = [(h * self.scale, w * self.scale)]
        if item.hr_size is not None and tuple(item.hr_size) not in allowed:
            allowed.append(tuple(item.hr_size))
        return tuple(allowed)

    def load(self, item: Expected) -> np.ndarray:
        """The result for ``item`` as RGB uint8 of LR size × scale (an HR-sized one is cropped)."""
        path = self.path_for(item.name)
        rgb = load_image(path).rgb
        allowed = self.sizes(item)
        if tuple(rgb.shape[:2]) not in allowed:
            wanted = " or ".join(f"{w}×{h}" for h, w in allowed)
            raise ResultsError(f"{self.key}: {path.name} is {rgb.shape[1]}×{rgb.shape[0]}, expected "
                               f"{wanted} (LR {item.lr_size[1]}×{item.lr_size[0]} × {self.scale}"
                               + (" or the HR size)" if len(allowed) > 1 else ")"))
        h, w = item.lr_size[0] * self.scale, item.lr_size[1] * self.scale
        return np.ascontiguousarray(rgb[:h, :w])

    def check(self, items: Sequence[Expected]) -> None:
        """Refuse the folder unless every input has a result of an allowed size (reads them all;
        the error names the first mismatch)."""
        for item in items:
            self.load(item)
