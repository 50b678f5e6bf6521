"""``srgan-desktop results DB``: the table of a results database (``eval --db``).

Models × benchmarks × measures: per cell the mean over the benchmark's images and its 95 %
interval (Student's t, ``scipy.stats.t.interval``), ``mean [lo, hi]``; a measure that some
image could not have shows ``n/a`` with the reason in the notes.  With runtimes stored
(``eval --runtime``), a second table: per model, benchmark and device the mean of the per-image
median time with its interval, the largest per-image peak memory, parameters and FLOPs.
``--json`` / ``--csv`` print the same rows as JSON or CSV instead (one row per cell).

Qt-free and torch-free: reading a database does not load torch.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Sequence

from srgan_desktop.commands._common import CommandError, guarded, jsonable
from srgan_desktop.core.measures import MEASURES
from srgan_desktop.core.results_db import (ResultsDb, RuntimeRow, SummaryRow, runtime_summary,
                                           summary)

__all__ = ["add_parser", "run", "format_summary", "format_runtimes", "rows_csv"]

def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "results", help="the table of a results database (eval --db): means and 95 % intervals",
        description="Print models × benchmarks × measures of a results database written by "
                    "'eval --db': the mean over each benchmark's images and its 95 %% t interval, "
                    "and the NTIRE-style runtimes if 'eval --runtime' stored any.")
    parser.add_argument("db", metavar="DB", help="the results database (SQLite)")
    form = parser.add_mutually_exclusive_group()
    form.add_argument("--json", action="store_true", help="print the rows as JSON")
    form.add_argument("--csv", action="store_true", help="print the rows as CSV")
    return parser


def _figure(measure: str, value: float | None) -> str:
    return "n/a" if value is None else f"{value:.{MEASURES[measure].digits if measure in MEASURES else 4}f}"


def _cell(row: SummaryRow) -> str:
    if row.mean is None:
        return "n/a"
    if row.lo is None:
        return _figure(row.measure, row.mean)
    return (f"{_figure(row.measure, row.mean)} [{_figure(row.measure, row.lo)}, "
            f"{_figure(row.measure, row.hi)}]")


def _method(row: SummaryRow | RuntimeRow) -> str:
    return row.method if row.precision in ("fp32", "n/a") else f"{row.method} {row.precision}"


def format_summary(rows: Sequence[SummaryRow]) -> str:
    """One block per benchmark: methods down, measures across, ``mean [95 % interval]``."""
    blocks, notes = [], []
    for dataset in dict.fromkeys(r.dataset for r in rows):
        mine = [r for r in rows if r.dataset == dataset]
        measures = list(dict.fromkeys(r.measure for r in mine))
        methods = list(dict.fromkeys(_method(r) for r in mine))
        table = {(_method(r), r.measure): r for r in mine}
        images = max(r.images for r in mine)
        cells = [[_cell(table[(m, k)]) if (m, k) in table else "" for k in measures] for m in methods]
        widths = [max([len(k.upper())] + [len(row[i]) for row in cells]) for i, k in enumerate(measures)]
        label = max([len(dataset)] + [len(m) for m in methods])
        lines = [f"{dataset} ({images} images), mean [95 % interval]",
                 f"{'':<{label}} | " + " | ".join(f"{k.upper():>{w}}" for k, w in zip(measures, widths))]
        lines.append("-" * len(lines[1]))
        lines += [f"{m:<{label}} | " + " | ".join(f"{c:>{w}}" for c, w in zip(row, widths))
                  for m, row in zip(methods, cells)]
        blocks.append("\n".join(lines))
        notes += [f"{dataset} {r.method} {r.measure}: {r.images - r.numbers} of {r.images} images: "
                  f"{r.reason}" for r in mine if r.reason]
    return "\n\n".join(blocks) + ("\n\n" + "\n".join(notes) if notes else "")


def _mib(value: int | None) -> str:
    return "n/a" if value is None else f"{value / 2 ** 20:.0f} MiB"


def format_runtimes(rows: Sequence[RuntimeRow]) -> str:
    """Per method, benchmark and device: s/image (median of runs, mean over images [95 %])."""
    if not rows:
        return ""
    header = ["method", "benchmark", "device", "images", "s/image [95 %]", "peak mem",
              "params", "GFLOPs@256²", "GFLOPs/image"]
    body = []
    for r in rows:
        interval = f" [{r.lo:.3f}, {r.hi:.3f}]" if r.lo is not None else ""
        body.append([_method(r), r.dataset, r.device, str(r.images), f"{r.median_s:.3f}{interval}",
                     _mib(r.peak_bytes), "n/a" if r.params is None else f"{r.params:,}",
                     "n/a" if r.flops_256 is None else f"{r.flops_256 / 1e9:.1f}",
                     "n/a" if r.flops_per_image is None else f"{r.flops_per_image / 1e9:.1f}"])
    widths = [max(len(h), *(len(b[i]) for b in body)) for i, h in enumerate(header)]
    lines = ["Runtime (NTIRE: median of runs after a warm-up; " + rows[0].machine + ")",
             " | ".join(f"{h:<{w}}" for h, w in zip(header, widths))]
    lines.append("-" * len(lines[1]))
    lines += [" | ".join(f"{c:<{w}}" for c, w in zip(b, widths)).rstrip() for b in body]
    return "\n".join(lines)


def rows_csv(rows: Sequence[SummaryRow], runtimes: Sequence[RuntimeRow]) -> str:
    out = io.StringIO()
    fields = list(SummaryRow.__dataclass_fields__)
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["table", *fields])
    for r in rows:
        writer.writerow(["measures", *(getattr(r, f) for f in fields)])
    if runtimes:
        fields = list(RuntimeRow.__dataclass_fields__)
        writer.writerow(["table", *fields])
        for r in runtimes:
            writer.writerow(["runtime", *(getattr(r, f) for f in fields)])
    return out.getvalue()


def report(db: ResultsDb, labels: Sequence[str] | None = None, datasets: Sequence[str] | None = None,
           form: str = "text") -> str:
    rows, runtimes = summary(db, labels, datasets), runtime_summary(db, labels, datasets)
    if form == "json":
        return json.dumps(jsonable({"measures": [r.to_dict() for r in rows],
                                    "runtime": [r.to_dict() for r in runtimes]}), indent=2)
    if form == "csv":
        return rows_csv(rows, runtimes).rstrip("\n")
    text = format_summary(rows) if rows else "no results stored"
    timing = format_runtimes(runtimes)
    return text + ("\n\n" + timing if timing else "")


def _results(args: argparse.Namespace) -> int:
    from pathlib import Path

    if not Path(args.db).is_file():
        raise CommandError(f"{args.db}: no such results database")
    with ResultsDb(args.db) as db:
        print(report(db, form="json" if args.json else "csv" if args.csv else "text"))
    return 0


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: _results(args))
