"""The Results window's model, without Qt: a results database (``eval --db``) as tables and points.

* **The table of means** (:meth:`ResultsModel.table`): one row per method × benchmark × measure
  with the 95 % interval (Student's t over the images, :func:`srgan_desktop.core.results_db.summary`),
  filtered by benchmark and measure; sorting is the view's.
* **Per image** (:meth:`ResultsModel.images`): the figures of each image of a benchmark, one
  column per method, for one measure.
* **The perception–distortion plane** (Blau & Michaeli, CVPR 2018; :meth:`ResultsModel.plane`):
  each method a point per benchmark at (mean PSNR, mean NIQE) — distortion against perceptual
  quality; a method lacking either mean on a benchmark has no point there.
* **What to open** (:meth:`ResultsModel.open_target`): an image of a benchmark (given, else its
  first), where its HR file was, its scale and the methods measured on it, for the comparison
  window (simulate mode: the HR image is the reference).

Reads the database once per :meth:`reload`; Qt-free and torch-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from srgan_desktop.core.results_db import (ImageValue, ResultsDb, RuntimeRow, SummaryRow, image_values,
                                           runtime_summary, summarise_values)

__all__ = ["ResultsModel", "PlanePoint", "OpenTarget", "DISTORTION", "PERCEPTION"]

DISTORTION, PERCEPTION = "psnr", "niqe"


@dataclass(frozen=True)
class PlanePoint:
    method: str
    dataset: str
    distortion: float   # mean PSNR (dB), higher = less distortion
    perception: float   # mean NIQE, lower = more natural


@dataclass(frozen=True)
class OpenTarget:
    """An image to open in the comparison window, with the methods measured on it."""

    hr_path: Path
    image: str
    dataset: str
    scale: int
    methods: tuple[str, ...]


class ResultsModel:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.values: list[ImageValue] = []
        self.rows: list[SummaryRow] = []
        self.runtimes: list[RuntimeRow] = []
        self.reload()

    def reload(self) -> None:
        with ResultsDb(self.path) as db:
            self.values = image_values(db)
            self.runtimes = runtime_summary(db)
        self.rows = summarise_values(self.values)

    @property
    def benchmarks(self) -> list[str]:
        return list(dict.fromkeys(r.dataset for r in self.rows))

    @property
    def measures(self) -> list[str]:
        return list(dict.fromkeys(r.measure for r in self.rows))

    @property
    def methods(self) -> list[str]:
        return list(dict.fromkeys(r.method for r in self.rows))

    def table(self, benchmark: str | None = None, measure: str | None = None) -> list[SummaryRow]:
        """The rows of means, filtered (None = all)."""
        return [r for r in self.rows if (benchmark is None or r.dataset == benchmark)
                and (measure is None or r.measure == measure)]

    def images(self, benchmark: str, measure: str) -> tuple[list[str], list[tuple[str, list[float | str | None]]]]:
        """(methods, [(image, [value or reason per method])]) for one benchmark and measure."""
        mine = [v for v in self.values if v.dataset == benchmark and v.measure == measure]
        methods = list(dict.fromkeys(v.method for v in mine))
        by_image: dict[str, dict[str, float | str | None]] = {}
        for v in mine:
            by_image.setdefault(v.image, {})[v.method] = v.value if v.value is not None else v.reason
        return methods, [(image, [cells.get(m) for m in methods]) for image, cells in by_image.items()]

    def plane(self, distortion: str = DISTORTION, perception: str = PERCEPTION) -> list[PlanePoint]:
        means = {(r.method, r.dataset, r.measure): r.mean for r in self.rows}
        points = []
        for r in self.rows:
            if r.measure != distortion:
                continue
            x, y = r.mean, means.get((r.method, r.dataset, perception))
            if x is not None and y is not None and abs(x) != float("inf"):
                points.append(PlanePoint(r.method, r.dataset, x, y))
        return points

    def reference_perception(self, benchmark: str, perception: str = PERCEPTION) -> float | None:
        """The mean ``perception`` figure of the HR images themselves (method ``hr``), if stored."""
        return next((r.mean for r in self.rows if r.method == "hr" and r.dataset == benchmark
                     and r.measure == perception), None)

    def open_target(self, benchmark: str, image: str | None = None) -> OpenTarget | None:
        """The image (default: the benchmark's first) with every method measured on it; None
        when the database does not know where its HR file was."""
        mine = [v for v in self.values if v.dataset == benchmark and (image is None or v.image == image)]
        if not mine or not mine[0].hr_path:
            return None
        first = mine[0]
        methods = tuple(dict.fromkeys(v.method for v in mine if v.image == first.image))
        return OpenTarget(Path(first.hr_path), first.image, benchmark, first.scale, methods)
