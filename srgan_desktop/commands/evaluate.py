"""``srgan-desktop eval``: PSNR / SSIM / NIQE (and LPIPS, texture) of each method on benchmark folders.

``--metrics`` picks the measures (default ``psnr ssim niqe``; :mod:`srgan_desktop.core.measures`):
PSNR and SSIM on Y (BT.601), NIQE (no reference, lower = more natural), LPIPS (lower = closer;
its backbone weights come from ``--lpips-backbone`` or torchvision's cache and are never
downloaded — asked for without them, the command stops at once with the file to provide),
the texture ratio (high-frequency energy above 1/4 Nyquist relative to HR).  Every measure
leaves out a border of ``scale`` pixels, as in the SR literature.  The method ``hr`` scores the
HR images themselves: the reference row of a perceptual table (its NIQE is the target).
A measure that cannot run on an image (e.g. "too small for NIQE") gets its reason in the JSON
field and a short mark in the table, with the reason in the notes; the mean of a measure is a
number only when every image has it.

Scale comes from the models: each model is measured at its own scale (LR from ``--lr``, from a
benchmark root's ``LR_bicubic_x{scale}/``, or made from HR at that scale with the
MATLAB-compatible bicubic); ``bicubic``, ``hr`` and results folders take ``--scale``, else the
scale of the first model named, else 4.  ``KEY=DIR`` is a method whose results were made elsewhere
(:mod:`srgan_desktop.core.external`): every file is checked (name and size) before anything runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from srgan_desktop import __version__
from srgan_desktop.commands._common import CommandError, add_engine_options, guarded, positive_int, write_json
from srgan_desktop.core.engine import Upscaler
from srgan_desktop.core.evaluation import DEFAULT_METHODS as _DEFAULT_METHODS
from srgan_desktop.core.evaluation import EXECUTORS, hr_sizes, resolve_inputs
from srgan_desktop.core.external import Expected, ExternalResults
from srgan_desktop.core.benchmarks import Dataset, Pair, find_dataset
from srgan_desktop.core.lab import HR
from srgan_desktop.core.lpips_metric import LPIPS_NETS, LpipsModel
from srgan_desktop.core.measures import DEFAULT_MEASURES, MEASURES, is_number, measure, summarise

__all__ = ["add_parser", "run", "Dataset", "Pair", "ImageResult", "MethodResult", "DatasetResult",
           "find_dataset", "evaluate_method", "format_grid", "format_report", "DEFAULT_METHODS",
           "HR_METHOD"]

DEFAULT_METHODS = list(_DEFAULT_METHODS)
HR_METHOD = HR  # the HR images themselves: the reference row of a perceptual table
NO_WEIGHTS = "no weights"
MADE_LR = "made from HR with the MATLAB-compatible bicubic"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "eval", help="PSNR/SSIM/NIQE (LPIPS, texture) of each method on benchmark folders (a table like the paper's)",
        description="Measure each method on HR folders: PSNR and SSIM on Y (BT.601), NIQE (no "
                    "reference), optionally LPIPS and the texture ratio (high-frequency energy above "
                    "1/4 Nyquist relative to HR); border = scale. The method 'hr' scores the HR images "
                    "themselves. Methods whose weights are missing are reported as 'no weights' and skipped.")
    parser.add_argument("--hr", nargs="+", required=True, metavar="DIR",
                        help="HR image folder(s), or benchmark roots holding HR/ and LR_bicubic_xN/")
    parser.add_argument("--lr", metavar="DIR",
                        help="LR images with the same file names as in --hr (one --hr only); default: "
                             "a benchmark root's LR_bicubic_xN/ (N = the method's scale), else made "
                             "from HR with the MATLAB-compatible bicubic")
    parser.add_argument("-m", "--methods", nargs="+", default=DEFAULT_METHODS, metavar="METHOD",
                        help=f"bicubic, srresnet, srgan, user model names or weights files (any "
                             f"architecture spandrel loads), KEY=FILE (a model shown as KEY), KEY=DIR "
                             f"(results made elsewhere, named like the HR images), or {HR_METHOD} "
                             f"(the HR images themselves) (default: {' '.join(DEFAULT_METHODS)})")
    parser.add_argument("--scale", type=positive_int, metavar="N",
                        help="scale of bicubic, hr and KEY=DIR results (default: the first model's "
                             "scale, else 4); each model always runs at its own scale")
    parser.add_argument("--metrics", nargs="+", default=list(DEFAULT_MEASURES), metavar="NAME",
                        choices=list(MEASURES),
                        help=f"measures to report: {', '.join(MEASURES)} (default: {' '.join(DEFAULT_MEASURES)})")
    parser.add_argument("--lpips-backbone", metavar="PATH",
                        help="torchvision ImageNet state dict of the LPIPS backbone (default: torchvision's "
                             "cache, e.g. ~/.cache/torch/hub/checkpoints/alexnet-owt-7be5be79.pth); "
                             "never downloaded")
    parser.add_argument("--lpips-net", choices=sorted(LPIPS_NETS), default="alex",
                        help="LPIPS backbone: alex (AlexNet, the LPIPS default) or vgg (VGG16) "
                             "(default: %(default)s)")
    parser.add_argument("--json", metavar="OUT", help="also write every figure (per image and mean) here")
    lab = parser.add_argument_group(
        "results database", "store every figure in a SQLite database keyed by content; compute only "
                            "what is missing (srgan_desktop/core/evaluation.py)")
    lab.add_argument("--db", metavar="FILE", help="the results database (created if missing); "
                                                   "'srgan-desktop results FILE' prints it")
    lab.add_argument("--executor", choices=list(EXECUTORS), default="local",
                     help="with --db: local processes, or Ray actors (pip install "
                          "'srgan-desktop[cluster]') (default: %(default)s)")
    lab.add_argument("--workers", type=positive_int, default=None, metavar="N",
                     help="with --db: worker processes (local, each with cores/N threads) or Ray "
                          "actors (default: local 1; ray one per GPU, else one per CPU)")
    lab.add_argument("--address", metavar="auto|HOST:PORT",
                     help="with --executor ray: the cluster to join (default: start a local Ray)")
    lab.add_argument("--runtime", action="store_true",
                     help="with --db: also time each image as NTIRE does (warm-up, median of "
                          "--runtime-runs runs), peak memory, parameters and FLOPs")
    lab.add_argument("--runtime-runs", type=positive_int, default=3, metavar="N",
                     help="timed runs per image for --runtime (default: %(default)s)")
    add_engine_options(parser, precision="fp32")  # figures to compare: full precision by default
    parser.add_argument("--summary", action="store_true", help="print only the table of means")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


# --- measuring ------------------------------------------------------------------------------

Values = dict[str, float | str]  # measure → figure, or why it could not be computed


@dataclass
class ImageResult:
    name: str
    values: Values
    seconds: float

    def to_dict(self) -> dict:
        return {"name": self.name, **self.values, "seconds": self.seconds}


def mean_values(images: list[ImageResult], metrics: list[str]) -> Values:
    """Per measure: its aggregate over the images (the mean; the median for ``grid``, see
    ``MEASURES``), or — if some image lacks it — why not."""
    mean: Values = {}
    for name in metrics:
        column = [r.values.get(name) for r in images]
        missing = [v for v in column if not is_number(v)]
        if not missing:
            mean[name] = summarise(name, column)
        else:
            mean[name] = f"{len(column) - len(missing)} of {len(column)} images: {missing[0]}"
    return mean


@dataclass
class MethodResult:
    method: str
    available: bool
    reason: str = ""
    scale: int = 4
    lr: str = ""
    device: str = ""
    images: list[ImageResult] = field(default_factory=list)
    metrics: list[str] = field(default_factory=lambda: list(DEFAULT_MEASURES))

    @property
    def mean(self) -> Values | None:
        return mean_values(self.images, self.metrics) if self.images else None

    def to_dict(self) -> dict:
        data: dict = {"method": self.method, "available": self.available}
        if not self.available:
            data["reason"] = self.reason
            return data
        data.update(scale=self.scale, border=self.scale, lr=self.lr, device=self.device,
                    metrics=self.metrics, mean=self.mean,
                    seconds=sum(r.seconds for r in self.images),
                    images=[r.to_dict() for r in self.images])
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


def evaluate_method(upscaler: Upscaler | None, pairs: list[Pair], progress=None,
                    metrics: Sequence[str] = DEFAULT_MEASURES, scale: int | None = None,
                    lpips: LpipsModel | None = None, results: ExternalResults | None = None,
                    hr_sizes: dict[str, tuple[int, int]] | None = None) -> list[ImageResult]:
    """Upscale every LR image and measure it against its HR image (border = scale).

    ``upscaler=None`` measures the HR images themselves (the ``hr`` row; ``scale`` gives the
    border), or, with ``results``, the images of a results folder (``hr_sizes``: the uncropped
    HR sizes, which results may also have).
    """
    scale = upscaler.method.scale if upscaler is not None else (results.scale if results else scale or 4)
    images = []
    for pair in pairs:
        start = time.perf_counter()
        if upscaler is not None:
            sr = upscaler.upscale(pair.lr).rgb
        elif results is not None:
            sr = results.load(Expected(pair.name, pair.lr.shape[:2], (hr_sizes or {}).get(pair.name)))
        else:
            sr = pair.hr
        seconds = time.perf_counter() - start
        if sr.shape != pair.hr.shape:
            raise CommandError(f"{pair.name}: {upscaler.method.name} gave {sr.shape[1]}×{sr.shape[0]}, "
                               f"HR is {pair.hr.shape[1]}×{pair.hr.shape[0]}")
        values = measure(sr, pair.hr, metrics, border=scale, lpips=lpips)
        images.append(ImageResult(pair.name, values, seconds))
        if progress is not None:
            progress.update(1)
    return images


# --- the table ------------------------------------------------------------------------------

def _width(name: str) -> int:
    return max(len(MEASURES[name].title), MEASURES[name].digits + 3)


def _figure(name: str, value: float | str | None) -> str:
    width = _width(name)
    if is_number(value):
        return f"{value:{width}.{MEASURES[name].digits}f}"
    mark = "" if value is None else ("small" if "too small" in value else "n/a")
    return f"{mark:>{width}}"


def _cell(value: Values | str | None, metrics: Sequence[str], width: int) -> str:
    if isinstance(value, dict):
        return " ".join(_figure(name, value.get(name)) for name in metrics)
    return f"{value or '':<{width}}"[:width]


def format_grid(corner: str, groups: list[str], rows: list[tuple[str, list[Values | str | None]]],
                metrics: Sequence[str] = DEFAULT_MEASURES) -> str:
    """A text table: one row per label, one column group of ``metrics`` per ``groups`` entry
    (a string cell, e.g. "no weights", fills its group; a measure that could not run shows
    "small" or "n/a", the reason being in the notes)."""
    columns = " ".join(f"{MEASURES[name].title:>{_width(name)}}" for name in metrics)
    width = max(len(columns), 12)
    label_width = max([len(corner)] + [len(label) for label, _ in rows])
    lines = [" " * label_width + " | " + " | ".join(g[:width].center(width) for g in groups),
             f"{corner:<{label_width}} | " + " | ".join(f"{columns:>{width}}" for _ in groups)]
    lines.append("-" * len(lines[1]))
    for label, cells in rows:
        lines.append(f"{label:<{label_width}} | " + " | ".join(
            f"{_cell(c, metrics, width):>{width}}" for c in cells))
    return "\n".join(line.rstrip() for line in lines)


def format_report(results: list[DatasetResult], per_image: bool = True,
                  metrics: Sequence[str] = DEFAULT_MEASURES, lpips_note: str = "") -> str:
    """Per-image tables (images × methods) and the paper-style table of means (methods × sets)."""
    blocks = []
    if per_image:
        for ds in results:
            shown = [m for m in ds.methods if m.available]
            if not shown:
                continue
            names = [r.name for r in shown[0].images]
            rows = [(name, [m.images[i].values for m in shown]) for i, name in enumerate(names)]
            blocks.append(format_grid(ds.name, [m.method for m in shown], rows, metrics))
    methods = list(dict.fromkeys(m.method for ds in results for m in ds.methods))
    rows = []
    for name in methods:
        cells: list[Values | str | None] = []
        for ds in results:
            found = next((m for m in ds.methods if m.method == name), None)
            cells.append(None if found is None else (found.mean if found.available else NO_WEIGHTS))
        rows.append((name, cells))
    groups = [f"{ds.name} ({ds.images} images)" for ds in results]
    blocks.append(format_grid("mean ×4" if all(m.scale == 4 for ds in results for m in ds.methods)
                              else "mean", groups, rows, metrics))
    notes = [MEASURES[name].about + (f" ({lpips_note})" if name == "lpips" and lpips_note else "")
             for name in metrics]
    notes.append("Border = scale on every side; hr = the HR images themselves.")
    for ds in results:
        lr_notes = sorted({m.lr for m in ds.methods if m.available and m.method != HR_METHOD})
        if lr_notes:
            notes.append(f"{ds.name}: LR {'; '.join(lr_notes)}")
        for m in ds.methods:
            for r in m.images:
                notes += [f"{ds.name} {r.name} {m.method} {MEASURES[k].title}: {v}"
                          for k, v in r.values.items() if not is_number(v)]
    reasons = {m.method: m.reason for ds in results for m in ds.methods if not m.available}
    notes += [f"{name}: {reason}" for name, reason in reasons.items()]
    return "\n\n".join(blocks) + "\n\n" + "\n".join(notes)


# --- the command ----------------------------------------------------------------------------

def _progress(total: int, description: str, enabled: bool):
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc=description, unit="img", file=sys.stderr, leave=False,
                dynamic_ncols=True)


def _evaluate(args: argparse.Namespace) -> int:
    if args.db:
        from srgan_desktop.commands.eval_db import evaluate_db

        return evaluate_db(args)
    if args.executor != "local" or args.workers is not None or args.runtime:
        raise CommandError("--executor, --workers and --runtime go with --db FILE")
    inputs = resolve_inputs(args.hr, args.methods, args.metrics, args.scale, args.lr, args.lpips_net,
                            args.lpips_backbone)
    datasets, candidates, metrics, lpips, hr_scale = (inputs.datasets, inputs.candidates, inputs.measures,
                                                      inputs.lpips, inputs.hr_scale)
    lpips_note = f"{lpips.net}, backbone {lpips.backbone}" if lpips is not None else ""
    results = []
    for dataset in datasets:
        rows = []
        for candidate in candidates:
            if not candidate.runs:
                rows.append(MethodResult(candidate.label, False, candidate.reason))
                continue
            method, found = candidate.method, candidate.results
            scale = method.scale if method is not None else found.scale if found is not None else hr_scale
            pairs = dataset.pairs(scale)
            lr_dir = dataset.lr_source(scale)
            upscaler = None if method is None else Upscaler(method, device=args.device, tile=args.tile,
                                                            precision=args.precision)
            bar = _progress(len(pairs), f"{dataset.name} {candidate.label}", not args.no_progress)
            try:
                images = evaluate_method(upscaler, pairs, bar, metrics, scale=scale, lpips=lpips,
                                         results=found, hr_sizes=hr_sizes(dataset) if found else None)
            finally:
                if bar is not None:
                    bar.close()
            rows.append(MethodResult(
                candidate.label, True, scale=scale, images=images, metrics=metrics,
                lr=f"none (results from {found.folder})" if found is not None
                else "none (the HR images themselves)" if upscaler is None
                else f"from {lr_dir}" if lr_dir is not None else MADE_LR,
                device="" if upscaler is None else f"{upscaler.device} {upscaler.precision}"))
        results.append(DatasetResult(dataset.name, dataset.hr_dir, len(dataset.hr_files()), rows))
    print(format_report(results, per_image=not args.summary, metrics=metrics, lpips_note=lpips_note))
    if args.json:
        path = write_json(args.json, {"version": __version__, "options": {
            "device": args.device, "tile": args.tile, "precision": args.precision, "metrics": metrics,
            "lpips": {"net": lpips.net, "backbone": str(lpips.backbone)} if lpips is not None else None},
            "datasets": [r.to_dict() for r in results]})
        print(f"\nwrote {path}")
    return 0


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: _evaluate(args))
