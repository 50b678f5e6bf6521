"""``srgan-desktop eval``: PSNR / SSIM / texture ratio of each method on benchmark folders.

PSNR and SSIM on Y (BT.601) with a border of ``scale`` pixels, as in the SR literature; the
texture ratio is the high-frequency energy (above 1/4 Nyquist) of the result relative to
the HR image's (1 = as much texture as HR, < 1 smoother).  LR inputs come from ``--lr``, from
a benchmark root's ``LR_bicubic_x4/``, or are made from HR with the MATLAB-compatible bicubic.
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srgan_desktop import __version__
from srgan_desktop.commands._common import (CommandError, NoWeights, add_engine_options, guarded,
                                            load_method, write_json)
from srgan_desktop.core.engine import Method, Upscaler
from srgan_desktop.core.benchmarks import Dataset, Pair, find_dataset
from srgan_desktop.core.metrics import ImageScores, score

__all__ = ["add_parser", "run", "Dataset", "Pair", "ImageResult", "MethodResult", "DatasetResult",
           "find_dataset", "evaluate_method", "format_grid", "format_report", "DEFAULT_METHODS"]

DEFAULT_METHODS = ["bicubic", "srresnet", "srgan"]
NO_WEIGHTS = "no weights"
MADE_LR = "made from HR with the MATLAB-compatible bicubic"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "eval", help="PSNR/SSIM/texture of each method on benchmark folders (a table like the paper's)",
        description="Measure each method on HR folders: PSNR and SSIM on Y (BT.601), border = scale, "
                    "and the texture ratio (high-frequency energy above 1/4 Nyquist relative to HR). "
                    "Methods whose weights are missing are reported as 'no weights' and skipped.")
    parser.add_argument("--hr", nargs="+", required=True, metavar="DIR",
                        help="HR image folder(s), or benchmark roots holding HR/ and LR_bicubic_x4/")
    parser.add_argument("--lr", metavar="DIR",
                        help="LR images with the same file names as in --hr (one --hr only); default: "
                             "a benchmark root's LR_bicubic_x4/, else made from HR with the "
                             "MATLAB-compatible bicubic")
    parser.add_argument("-m", "--methods", nargs="+", default=DEFAULT_METHODS, metavar="METHOD",
                        help="bicubic, srresnet, srgan, user model names or weights files "
                             f"(default: {' '.join(DEFAULT_METHODS)})")
    parser.add_argument("--json", metavar="OUT", help="also write every figure (per image and mean) here")
    add_engine_options(parser, precision="fp32")  # figures to compare: full precision by default
    parser.add_argument("--summary", action="store_true", help="print only the table of means")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


# --- measuring ------------------------------------------------------------------------------

@dataclass
class ImageResult:
    name: str
    psnr: float
    ssim: float
    texture: float
    seconds: float

    @property
    def scores(self) -> ImageScores:
        return ImageScores(self.psnr, self.ssim, self.texture)


@dataclass
class MethodResult:
    method: str
    available: bool
    reason: str = ""
    scale: int = 4
    lr: str = ""
    device: str = ""
    images: list[ImageResult] = field(default_factory=list)

    @property
    def mean(self) -> ImageScores | None:
        if not self.images:
            return None
        return ImageScores(*(float(np.mean([getattr(r, k) for r in self.images]))
                             for k in ("psnr", "ssim", "texture")))

    def to_dict(self) -> dict:
        data: dict = {"method": self.method, "available": self.available}
        if not self.available:
            data["reason"] = self.reason
            return data
        mean = self.mean
        data.update(scale=self.scale, border=self.scale, lr=self.lr, device=self.device,
                    mean=None if mean is None else {"psnr": mean.psnr, "ssim": mean.ssim,
                                                    "texture": mean.texture},
                    seconds=sum(r.seconds for r in self.images),
                    images=[vars(r) for r in self.images])
        return data


@dataclass
class DatasetResult:
    name: str
    hr_dir: Path
    images: int
    methods: list[MethodResult]

    def to_dict(self) -> dict:
        return {"name": self.name, "hr": str(self.hr_dir), "images": self.images,
                "methods": [m.to_dict() for m in self.methods]}


def evaluate_method(upscaler: Upscaler, pairs: list[Pair], progress=None) -> list[ImageResult]:
    """Upscale every LR image and score it against its HR image (border = scale)."""
    scale = upscaler.method.scale
    results = []
    for pair in pairs:
        start = time.perf_counter()
        sr = upscaler.upscale(pair.lr).rgb
        seconds = time.perf_counter() - start
        if sr.shape != pair.hr.shape:
            raise CommandError(f"{pair.name}: {upscaler.method.name} gave {sr.shape[1]}×{sr.shape[0]}, "
                               f"HR is {pair.hr.shape[1]}×{pair.hr.shape[0]}")
        figures = score(sr, pair.hr, border=scale)
        results.append(ImageResult(pair.name, figures.psnr, figures.ssim, figures.texture, seconds))
        if progress is not None:
            progress.update(1)
    return results


# --- the table ------------------------------------------------------------------------------

CELL_WIDTH = 23
COLUMNS = f"{'PSNR':>7} {'SSIM':>6} {'texture':>8}"


def _cell(value: ImageScores | str | None) -> str:
    if isinstance(value, ImageScores):
        return f"{value.psnr:7.2f} {value.ssim:6.4f} {value.texture:8.3f}"
    return f"{value or '':<{CELL_WIDTH}}"[:CELL_WIDTH]


def format_grid(corner: str, groups: list[str], rows: list[tuple[str, list[ImageScores | str | None]]]
                ) -> str:
    """A text table: one row per label, one PSNR/SSIM/texture column group per ``groups`` entry
    (a string cell, e.g. "no weights", fills its group)."""
    label_width = max([len(corner)] + [len(label) for label, _ in rows])
    lines = [" " * label_width + " | " + " | ".join(g[:CELL_WIDTH].center(CELL_WIDTH) for g in groups),
             f"{corner:<{label_width}} | " + " | ".join(COLUMNS for _ in groups)]
    lines.append("-" * len(lines[1]))
    for label, cells in rows:
        lines.append(f"{label:<{label_width}} | " + " | ".join(_cell(c) for c in cells))
    return "\n".join(line.rstrip() for line in lines)


def format_report(results: list[DatasetResult], per_image: bool = True) -> str:
    """Per-image tables (images × methods) and the paper-style table of means (methods × sets)."""
    blocks = []
    if per_image:
        for ds in results:
            shown = [m for m in ds.methods if m.available]
            if not shown:
                continue
            names = [r.name for r in shown[0].images]
            rows = [(name, [m.images[i].scores for m in shown]) for i, name in enumerate(names)]
            blocks.append(format_grid(ds.name, [m.method for m in shown], rows))
    methods = list(dict.fromkeys(m.method for ds in results for m in ds.methods))
    rows = []
    for name in methods:
        cells: list[ImageScores | str | None] = []
        for ds in results:
            found = next((m for m in ds.methods if m.method == name), None)
            cells.append(None if found is None else (found.mean if found.available else NO_WEIGHTS))
        rows.append((name, cells))
    groups = [f"{ds.name} ({ds.images} images)" for ds in results]
    blocks.append(format_grid("mean ×4" if all(m.scale == 4 for ds in results for m in ds.methods)
                              else "mean", groups, rows))
    notes = ["PSNR (dB) and SSIM on Y (BT.601), border = scale; texture = high-frequency energy "
             "above 1/4 Nyquist relative to HR (1 = as much as HR)."]
    for ds in results:
        lr_notes = sorted({m.lr for m in ds.methods if m.available})
        if lr_notes:
            notes.append(f"{ds.name}: LR {'; '.join(lr_notes)}")
    reasons = {m.method: m.reason for ds in results for m in ds.methods if not m.available}
    notes += [f"{name}: {reason}" for name, reason in reasons.items()]
    return "\n\n".join(blocks) + "\n\n" + "\n".join(notes)


# --- the command ----------------------------------------------------------------------------

@dataclass
class _Candidate:
    spec: str
    method: Method | None
    reason: str = ""

    @property
    def label(self) -> str:
        return self.method.name if self.method is not None else self.spec


def _resolve(specs: list[str]) -> list[_Candidate]:
    candidates = []
    for spec in dict.fromkeys(specs):
        try:
            candidates.append(_Candidate(spec, load_method(spec)))
        except NoWeights as exc:
            candidates.append(_Candidate(spec, None, str(exc)))
    return candidates


def _progress(total: int, description: str, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="img", file=sys.stderr, leave=False,
                dynamic_ncols=True)


def _evaluate(args: argparse.Namespace) -> int:
    if args.lr is not None and len(args.hr) != 1:
        raise CommandError("--lr goes with exactly one --hr folder")
    datasets = [find_dataset(hr, args.lr) for hr in args.hr]
    candidates = _resolve(args.methods)
    results = []
    for dataset in datasets:
        rows = []
        for candidate in candidates:
            if candidate.method is None:
                rows.append(MethodResult(candidate.label, False, candidate.reason))
                continue
            method = candidate.method
            pairs = dataset.pairs(method.scale)
            lr_dir = dataset.lr_source(method.scale)
            upscaler = Upscaler(method, device=args.device, tile=args.tile, precision=args.precision)
            bar = _progress(len(pairs), f"{dataset.name} {method.name}", not args.no_progress)
            try:
                images = evaluate_method(upscaler, pairs, bar)
            finally:
                if bar is not None:
                    bar.close()
            rows.append(MethodResult(method.name, True, scale=method.scale, images=images,
                                     lr=f"from {lr_dir}" if lr_dir is not None else MADE_LR,
                                     device=f"{upscaler.device} {upscaler.precision}"))
        results.append(DatasetResult(dataset.name, dataset.hr_dir, len(dataset.hr_files()), rows))
    print(format_report(results, per_image=not args.summary))
    if args.json:
        path = write_json(args.json, {"version": __version__, "options": {
            "device": args.device, "tile": args.tile, "precision": args.precision},
            "datasets": [r.to_dict() for r in results]})
        print(f"\nwrote {path}")
    return 0


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: _evaluate(args))
