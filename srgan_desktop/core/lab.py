"""Evaluation at lab scale: one image of one method as a task, run by an executor.

The evaluation into a results database (:mod:`srgan_desktop.core.evaluation`, behind ``eval --db``
and the Results window) turns what is not yet in the database
(:mod:`srgan_desktop.core.results_db`) into :class:`ImageTask` s — one method on one
image, with the measures still missing — and hands them to an executor; the *driver* writes
each :class:`ImageOutcome` into the database as it comes back, so workers never touch it.

Rules and reasons:

* A task carries everything it needs (the LR and HR pixels, the method as a :class:`MethodRef`),
  so a worker needs no access to the benchmark folders; a model is loaded once per worker
  (:class:`Worker` keeps it) through the one safe loader (:func:`~srgan_desktop.core.weights.load_model`).
* ``local`` with one worker runs in the driver's process.  ``local`` with ``N`` workers: ``N``
  spawned processes (spawn, not fork: a forked child of a process that has run OpenMP can
  hang), each with ``cores // N`` torch threads, so together they use the machine once.
* ``ray``: ``N`` actors (``ray.util.ActorPool``), each loading each model once; with CUDA each
  actor asks for one GPU (``num_gpus=1``), else ``cores // N`` CPUs.  The weights travel through
  Ray's object store (``ray.put`` once per model), so cluster nodes need srgan-desktop installed
  but not the weights files.  Without ``--address`` a local Ray is started (and stopped after).
* The same task gives the same figures whichever executor runs it (tested): workers run the
  same :meth:`Worker.run`.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["MethodRef", "WorkerOptions", "ImageTask", "ImageOutcome", "Worker", "run_tasks",
           "EXECUTORS", "HR", "machine_name", "device_text",
           "import_ray"]

EXECUTORS = ("local", "ray")
HR = "hr"  # the HR images themselves


def machine_name() -> str:
    """The CPU this runs on, e.g. ``AMD EPYC, 2 cores, avx2 (no native bf16)``."""
    from srgan_desktop.core.engine import cpu_description

    return cpu_description()


@dataclass(frozen=True)
class MethodRef:
    """A method as a worker rebuilds it: ``kind`` is bicubic | model | hr | results."""

    label: str
    kind: str
    scale: int
    sha: str = ""               # the method's content key; results: per image (in the task)
    path: str = ""              # the weights file (model) or the results folder
    card: dict | None = None
    blob: Any = None            # Ray: the object ref of the weights file's bytes


@dataclass(frozen=True)
class WorkerOptions:
    device: str = "auto"
    tile: int | None = None
    precision: str = "fp32"
    lpips_net: str | None = None        # set when ``lpips`` is measured
    lpips_backbone: str | None = None
    runtime_runs: int = 3
    threads: int | None = None          # torch threads of this worker (None: leave as is)


@dataclass
class ImageTask:
    index: int
    method: MethodRef
    dataset: str
    name: str
    lr: np.ndarray
    hr: np.ndarray
    hr_size: tuple[int, int] | None
    measures: tuple[str, ...]           # the measures still missing
    runtime: bool = False               # measure the NTIRE runtime too


@dataclass
class ImageOutcome:
    index: int
    values: dict[str, float | str]
    seconds: float
    device: str
    machine: str
    runtime: Any = None                 # RuntimeFigures
    flops: float | None = None


@dataclass
class Worker:
    """Runs tasks; keeps each method's :class:`Upscaler` (and LPIPS) for the next task."""

    options: WorkerOptions
    _upscalers: dict[tuple, Any] = field(default_factory=dict)
    _lpips: Any = None
    _machine: str = ""

    def __post_init__(self) -> None:
        if self.options.threads:
            import torch

            torch.set_num_threads(self.options.threads)
        self._machine = machine_name()

    def upscaler(self, ref: MethodRef):
        from srgan_desktop.core.engine import BicubicMethod, NetworkMethod, Upscaler
        from srgan_desktop.core.weights import load_model

        key = (ref.kind, ref.label, ref.sha, ref.scale)
        if key not in self._upscalers:
            if ref.kind == "bicubic":
                method = BicubicMethod(ref.scale)
            else:
                model, descriptor = load_model(self._weights_file(ref), card=ref.card, name=ref.label)
                method = NetworkMethod(model, descriptor)
            self._upscalers[key] = Upscaler(method, device=self.options.device, tile=self.options.tile,
                                            precision=self.options.precision)
        return self._upscalers[key]

    @staticmethod
    def _weights_file(ref: MethodRef) -> Path:
        path = Path(ref.path)
        if ref.blob is None:
            return path
        ray = import_ray()  # the weights came through Ray's object store: this node may not have the file
        folder = Path(tempfile.mkdtemp(prefix="srgan-weights-"))
        target = folder / path.name
        target.write_bytes(ray.get(ref.blob))
        return target

    def lpips(self):
        if self._lpips is None and self.options.lpips_net:
            from srgan_desktop.core.lpips_metric import load_lpips

            self._lpips = load_lpips(self.options.lpips_net, self.options.lpips_backbone)
        return self._lpips

    def run(self, task: ImageTask) -> ImageOutcome:
        from srgan_desktop.core.measures import measure

        ref = task.method
        upscaler = None
        start = time.perf_counter()
        if ref.kind in ("bicubic", "model"):
            upscaler = self.upscaler(ref)
            sr = upscaler.upscale(task.lr).rgb
            device = device_text(upscaler.device)
        elif ref.kind == "results":
            from srgan_desktop.core.external import Expected, ExternalResults

            sr = ExternalResults(ref.label, Path(ref.path), ref.scale).load(
                Expected(task.name, task.lr.shape[:2], task.hr_size))
            device = "none"
        else:
            sr, device = task.hr, "none"
        seconds = time.perf_counter() - start
        if sr.shape != task.hr.shape:
            from srgan_desktop.errors import SrganDesktopError

            raise SrganDesktopError(f"{task.name}: {ref.label} gave {sr.shape[1]}×{sr.shape[0]}, HR is "
                                    f"{task.hr.shape[1]}×{task.hr.shape[0]}")
        values = measure(sr, task.hr, task.measures, border=ref.scale, lpips=self.lpips()) if task.measures else {}
        outcome = ImageOutcome(task.index, values, seconds, device, self._machine)
        if task.runtime and upscaler is not None:
            from srgan_desktop.core.runtime import count_flops, measure_runtime

            outcome.runtime = measure_runtime(upscaler, task.lr, runs=self.options.runtime_runs)
            outcome.flops = count_flops(upscaler.method, *task.lr.shape[:2])
        return outcome


def device_text(device) -> str:
    if device.type == "cuda":
        import torch

        return f"{device} {torch.cuda.get_device_name(device)}"
    return str(device)


# --- executors ------------------------------------------------------------------------------

def run_tasks(tasks: Sequence[ImageTask], options: WorkerOptions, executor: str = "local",
              workers: int = 1, address: str | None = None) -> Iterator[ImageOutcome]:
    """Every task's outcome, in the order they finish (``workers`` 0 on Ray: one actor per GPU,
    else per CPU)."""
    if not tasks:
        return iter(())
    if executor == "ray":
        return _ray(tasks, options, workers, address)
    if workers <= 1:
        worker = Worker(options)
        return (worker.run(task) for task in tasks)
    return _processes(tasks, options, workers)


_WORKER: Worker | None = None


def _init_process(options: WorkerOptions) -> None:
    global _WORKER
    _WORKER = Worker(options)


def _run_in_process(task: ImageTask) -> ImageOutcome:
    assert _WORKER is not None
    return _WORKER.run(task)


def _threads_each(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // workers)


def _processes(tasks: Sequence[ImageTask], options: WorkerOptions, workers: int) -> Iterator[ImageOutcome]:
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    options = dataclasses.replace(options, threads=options.threads or _threads_each(workers))
    pending = list(reversed(tasks))
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_init_process, initargs=(options,)) as pool:
        running = set()
        try:
            while pending or running:
                while pending and len(running) < 2 * workers:  # a few queued: no idle worker, little memory
                    running.add(pool.submit(_run_in_process, pending.pop()))
                done, running = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:  # closed early (a cancel): drop what has not started, wait only for what runs
            for future in running:
                future.cancel()


def import_ray():
    """Ray, or a one-line refusal.  Imported by name at run time: Ray is the optional
    ``[cluster]`` extra, never part of the frozen desktop app (srgan-desktop.spec excludes it),
    where ``--executor ray`` is then this refusal, not a crash."""
    try:
        return importlib.import_module("ray")
    except ImportError as exc:
        from srgan_desktop.errors import SrganDesktopError

        raise SrganDesktopError("--executor ray needs Ray, which is not installed: "
                                "pip install 'srgan-desktop[cluster]'") from exc


class _RayWorker:
    """The body of a Ray actor: one :class:`Worker`."""

    def __init__(self, options: WorkerOptions) -> None:
        self.worker = Worker(options)

    def run(self, task: ImageTask) -> ImageOutcome:
        return self.worker.run(task)


def _ray(tasks: Sequence[ImageTask], options: WorkerOptions, workers: int,
         address: str | None) -> Iterator[ImageOutcome]:
    ray = import_ray()
    from_util = importlib.import_module("ray.util")
    started = not ray.is_initialized()
    if started:
        ray.init(address=address, include_dashboard=False, log_to_driver=False) if address else \
            ray.init(include_dashboard=False, log_to_driver=False)
    try:
        resources = ray.cluster_resources()
        cpus, gpus = int(resources.get("CPU", 1)), int(resources.get("GPU", 0))
        use_gpu = gpus > 0 and options.device != "cpu"
        actors = workers if workers >= 1 else (gpus if use_gpu else max(1, cpus))
        threads = max(1, cpus // actors)
        actor_class = ray.remote(num_cpus=1 if use_gpu else threads, num_gpus=1 if use_gpu else 0)(_RayWorker)
        pool = from_util.ActorPool([actor_class.remote(dataclasses.replace(options, threads=options.threads or threads))
                          for _ in range(actors)])
        blobs: dict[str, Any] = {}
        shipped = []
        for task in tasks:  # the weights go once into the object store, not once per task
            ref = task.method
            if ref.kind == "model" and ref.path:
                if ref.path not in blobs:
                    blobs[ref.path] = ray.put(Path(ref.path).read_bytes())
                task = dataclasses.replace(task, method=dataclasses.replace(ref, blob=blobs[ref.path]))
            shipped.append(task)
        yield from pool.map_unordered(lambda actor, task: actor.run.remote(task), shipped)
    finally:
        if started:
            ray.shutdown()
