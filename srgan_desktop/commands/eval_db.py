"""``eval --db FILE``: the command line's front end of the one evaluation into a results database.

Everything that plans, computes and writes is :func:`srgan_desktop.core.evaluation.run_evaluation`
(the Results window's *Run evaluation…* calls the same function); this module only turns the
arguments into an :class:`~srgan_desktop.core.evaluation.EvalRequest`, draws the cells as one
tqdm bar on stderr (the run's ``progress``), and prints the table of this run's methods and
benchmarks from the database (``results`` prints the whole database) with
``cells: N cached, M computed``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from srgan_desktop.commands._common import TileProgress, write_json
from srgan_desktop.core.evaluation import EvalRequest, EvalSummary, run_evaluation

__all__ = ["request_from_args", "evaluate_db"]


def request_from_args(args: argparse.Namespace) -> EvalRequest:
    return EvalRequest(
        db=Path(args.db), benchmarks=tuple(Path(hr) for hr in args.hr), methods=tuple(args.methods),
        measures=tuple(args.metrics), scale=args.scale, lr=Path(args.lr) if args.lr else None,
        device=args.device, tile=args.tile, precision=args.precision, executor=args.executor,
        workers=args.workers, address=args.address, runtime=args.runtime, runtime_runs=args.runtime_runs,
        lpips_net=args.lpips_net, lpips_backbone=Path(args.lpips_backbone) if args.lpips_backbone else None)


def evaluate_db(args: argparse.Namespace) -> int:
    """Compute what the database lacks, then print this run's table from it."""
    from srgan_desktop.commands.results import report
    from srgan_desktop.core.results_db import ResultsDb

    request = request_from_args(args)
    bar = TileProgress(f"eval ({request.executor} ×{request.workers or 'auto'})",
                       enabled=not args.no_progress, unit="cell")
    try:
        done: EvalSummary = run_evaluation(request, progress=bar,
                                           log=lambda line: print(line, file=sys.stderr))
    finally:
        bar.close()
    with ResultsDb(request.db) as db:
        labels, datasets = list(done.labels), list(done.datasets)
        print(report(db, labels, datasets))
        if args.json:
            write_json(args.json, json.loads(report(db, labels, datasets, "json")))
    for label, reason in done.skipped:
        print(f"{label}: {reason}")
    print(f"\ncells: {done.cached} cached, {done.computed} computed ({done.images} images run) in {request.db}")
    return 0
