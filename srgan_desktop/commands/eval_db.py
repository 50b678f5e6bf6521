"""``eval --db FILE``: evaluation into the results database, resumable, on any executor.

The driver (this module) plans and stores; executors (:mod:`srgan_desktop.core.lab`) compute.

1. Every (method, image) gets its content key (:mod:`srgan_desktop.core.results_db`): the
   SHA-256 of the weights file (of the result image for ``KEY=DIR``; ``bicubic``/``hr``), of
   the HR and LR pixels, the scale, the precision the engine will run at, each measure's name
   and version.
2. What is stored is not computed again: the run says how many cells were cached and computed.
   An image whose measures are all stored only gets its name recorded.
3. The rest become tasks, one per (method, image); each outcome is written in one transaction
   as it comes back, so a killed run loses at most the images in flight.
4. Then the table of means with 95 % intervals of what this run asked for (``results`` prints
   the whole database).

``--runtime`` adds NTIRE-style timing (:mod:`srgan_desktop.core.runtime`) for every model and
bicubic image not yet timed on this device and machine, and each model's parameters and FLOPs.
Precision ``auto`` is resolved on the driver's device: on a Ray cluster whose workers have
other devices, give ``--precision`` explicitly, so the key says what really ran.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from srgan_desktop.core.benchmarks import Dataset
from srgan_desktop.core.lab import (HR, ImageTask, MethodRef, WorkerOptions, device_text, import_ray,
                                    machine_name, run_tasks)
from srgan_desktop.core.measures import MEASURES, is_number
from srgan_desktop.core.results_db import (Cell, CellKey, Entry, ModelCost, ResultsDb, Runtime,
                                           file_sha, pixels_sha)

__all__ = ["evaluate_into_db", "measure_version", "Plan"]

NO_PRECISION = "n/a"  # hr and results folders: nothing ran


def measure_version(name: str, lpips=None) -> str:
    """The measure's registry version; LPIPS adds its network and backbone file."""
    version = MEASURES[name].version
    if name == "lpips" and lpips is not None:
        version += f"+{lpips.net}:{file_sha(lpips.backbone)[:16]}"
    return version


@dataclass
class Plan:
    tasks: list[ImageTask]
    keys: dict[int, tuple[Entry, dict[str, CellKey]]]  # task index → its name and cell keys
    cached: int
    to_compute: int
    cached_entries: list[Entry]


def _method_ref(candidate, scale: int) -> MethodRef:
    if candidate.hr:
        return MethodRef(HR, "hr", scale, "hr")
    if candidate.results is not None:
        return MethodRef(candidate.label, "results", candidate.results.scale, "",
                         str(candidate.results.folder))
    method = candidate.method
    if not method.uses_torch:  # the built-in bicubic
        return MethodRef(candidate.label, "bicubic", method.scale, "bicubic")
    path = method.descriptor.path  # its SHA-256 was taken when it loaded
    return MethodRef(candidate.label, "model", method.scale, method.descriptor.sha256, str(path),
                     method.descriptor.card or None)


def _precision(candidate, args: argparse.Namespace) -> str:
    if candidate.method is None:
        return NO_PRECISION
    from srgan_desktop.core.engine import Upscaler

    return Upscaler(candidate.method, device=args.device, tile=args.tile, precision=args.precision).precision


def _runtime_key(db: ResultsDb, ref: MethodRef, lr_sha: str, precision: str, device: str, machine: str) -> bool:
    return ref.kind in ("bicubic", "model") and not db.has_runtime(ref.sha, lr_sha, precision, device, machine)


def plan(db: ResultsDb, datasets: list[Dataset], candidates: list, metrics: list[str],
         args: argparse.Namespace, hr_scale: int, lpips=None) -> Plan:
    from srgan_desktop.commands.evaluate import _hr_sizes
    from srgan_desktop.core.engine import resolve_device

    versions = {name: measure_version(name, lpips) for name in metrics}
    machine = machine_name()
    device = device_text(resolve_device(args.device))
    tasks, keys, cached_entries = [], {}, []
    cached = to_compute = 0
    hashes: dict[int, str] = {}

    def sha(array) -> str:
        if id(array) not in hashes:
            hashes[id(array)] = pixels_sha(array)
        return hashes[id(array)]

    for dataset in datasets:
        sizes = None
        paths = {path.stem: str(path.resolve()) for path in dataset.hr_files()}
        for candidate in candidates:
            if candidate.method is None and not candidate.hr and candidate.results is None:
                continue  # no weights: reported by the caller
            scale = (candidate.method.scale if candidate.method is not None else
                     candidate.results.scale if candidate.results is not None else hr_scale)
            ref = _method_ref(candidate, scale)
            precision = _precision(candidate, args)
            for pair in dataset.pairs(scale):
                hr_size = None
                method_sha = ref.sha
                if ref.kind == "results":
                    sizes = sizes if sizes is not None else _hr_sizes(dataset)
                    hr_size = sizes.get(pair.name)
                    method_sha = file_sha(candidate.results.path_for(pair.name))
                entry = Entry(ref.label, dataset.name, pair.name, scale, precision, method_sha,
                              sha(pair.hr), sha(pair.lr), paths.get(pair.name, ""))
                cell_keys = {name: CellKey(method_sha, entry.hr_sha, entry.lr_sha, scale, precision,
                                           name, versions[name]) for name in metrics}
                stored = db.stored(cell_keys.values())
                missing = tuple(name for name, key in cell_keys.items() if key not in stored)
                runtime = bool(getattr(args, "runtime", False)) and _runtime_key(
                    db, ref, entry.lr_sha, precision, device, machine)
                cached += len(stored)
                if not missing and not runtime:
                    cached_entries.append(entry)
                    continue
                to_compute += len(missing)
                index = len(tasks)
                tasks.append(ImageTask(index, ref, dataset.name,
                                       pair.name, pair.lr, pair.hr, hr_size, missing, runtime))
                keys[index] = (entry, {name: cell_keys[name] for name in missing})
    return Plan(tasks, keys, cached, to_compute, cached_entries)


def _store_costs(db: ResultsDb, candidates: list) -> None:
    """Parameters and FLOPs (256×256 LR) of every model, once per weights file."""
    from srgan_desktop.core.runtime import count_flops, count_params

    known = db.model_costs()
    for candidate in candidates:
        method = candidate.method
        if method is None or not method.uses_torch:
            continue
        sha = method.descriptor.sha256
        if sha not in known:
            db.put_model_cost(ModelCost(sha, candidate.label, count_params(method), count_flops(method)))


def _cells(entry: Entry, keys: dict[str, CellKey], outcome) -> list[Cell]:
    cells = []
    for name, key in keys.items():
        value = outcome.values.get(name)
        cells.append(Cell(key, float(value) if is_number(value) else None,
                          None if is_number(value) else str(value), outcome.seconds, outcome.device,
                          outcome.machine))
    return cells


def _runtime_row(entry: Entry, outcome) -> Runtime | None:
    figures = outcome.runtime
    if figures is None:
        return None
    return Runtime(entry.method_sha, entry.lr_sha, entry.precision, outcome.device, outcome.machine,
                   figures.warmup, figures.runs, figures.median_s, figures.min_s, figures.peak_bytes,
                   outcome.flops)


def evaluate_into_db(args: argparse.Namespace, datasets: list[Dataset], candidates: list,
                     metrics: list[str], hr_scale: int, lpips=None) -> tuple[int, int, int]:
    """Run what is missing into ``args.db``; returns (cells cached, cells computed, images run)."""
    workers = args.workers or (1 if args.executor == "local" else 0)  # ray: 0 = one per GPU, else per CPU
    if args.executor == "ray":
        import_ray()  # before any work: a refusal at once where Ray is not installed
    with ResultsDb(args.db) as db:
        work = plan(db, datasets, candidates, metrics, args, hr_scale, lpips)
        if work.cached_entries:
            db.put_entries(work.cached_entries)
        if getattr(args, "runtime", False):
            _store_costs(db, candidates)
        print(f"cells: {work.cached} cached, {work.to_compute} to compute "
              f"({len(work.tasks)} images; executor {args.executor}, "
              f"{workers or 'one per GPU/CPU'} worker(s))",
              file=sys.stderr)
        options = WorkerOptions(device=args.device, tile=args.tile, precision=args.precision,
                                lpips_net=lpips.net if lpips is not None else None,
                                lpips_backbone=str(lpips.backbone) if lpips is not None else None,
                                runtime_runs=getattr(args, "runtime_runs", 3))
        bar = None
        if not args.no_progress and work.tasks:
            from tqdm import tqdm

            bar = tqdm(total=work.to_compute, desc=f"eval ({args.executor} ×{workers or 'auto'})",
                       unit="cell", file=sys.stderr, dynamic_ncols=True, leave=False)
        computed = 0
        try:
            for outcome in run_tasks(work.tasks, options, args.executor, workers, args.address):
                entry, keys = work.keys[outcome.index]
                db.write_image([entry], _cells(entry, keys, outcome), _runtime_row(entry, outcome))
                computed += len(keys)
                if bar is not None:
                    bar.update(len(keys))
        finally:
            if bar is not None:
                bar.close()
    return work.cached, computed, len(work.tasks)
