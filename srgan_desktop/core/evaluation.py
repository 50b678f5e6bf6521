"""The one evaluation into a results database: an :class:`EvalRequest` run by :func:`run_evaluation`.

``eval --db`` (:mod:`srgan_desktop.commands.eval_db`) and the Results window's *Run evaluation…*
(:mod:`srgan_desktop.ui.results_window`) both build an :class:`EvalRequest` and call
:func:`run_evaluation`; there is no second copy of the planning or the writing.  The front ends
differ only in the ``progress(done, total)`` they pass (a tqdm bar; the window's progress bar,
through the app's job pattern) and in whether they can cancel.

1. **Inputs** (:func:`resolve_inputs`, shared with the plain ``eval``): the benchmark folders,
   the methods (models through the one model resolver; ``bicubic``; ``hr``, the HR images
   themselves; ``KEY=DIR`` results made elsewhere, every file checked before anything runs),
   the measures of the one registry (:data:`~srgan_desktop.core.measures.MEASURES`) and LPIPS's
   network when asked for.  A known model without weights is skipped with its reason.
2. **Plan** (:func:`plan`): every (method, image) gets its content key
   (:mod:`srgan_desktop.core.results_db`): the SHA-256 of the weights file (of the result image
   for ``KEY=DIR``; ``bicubic``/``hr``), of the HR and LR pixels, the scale, the precision the
   engine will run at, each measure's name and version.  What is stored is not computed again;
   an image whose measures are all stored only gets its name recorded.
3. **Run**: the rest become tasks, one per (method, image), for an executor
   (:mod:`srgan_desktop.core.lab`); each outcome is written in one transaction as it comes
   back, so a killed run loses at most the images in flight.  ``progress(done, total)`` counts
   *cells* of this run: ``(0, total)`` once planned, then after every written image.
4. **Cancel** (``token``, a :class:`~srgan_desktop.core.engine.CancelToken`): checked once
   planned and after every written image; it raises
   :class:`~srgan_desktop.core.engine.Cancelled`, so what was written stays and a later run
   with the same request computes only the rest.

``runtime`` adds NTIRE-style timing (:mod:`srgan_desktop.core.runtime`) for every model and
bicubic image not yet timed on this device and machine, and each model's parameters and FLOPs.
Precision ``auto`` is resolved on the driver's device: on a Ray cluster whose workers have
other devices, give the precision explicitly, so the key says what really ran.

Qt-free.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srgan_desktop.core.benchmarks import Dataset, find_dataset
from srgan_desktop.core.external import Expected, ExternalResults
from srgan_desktop.core.lab import (EXECUTORS, HR, ImageTask, MethodRef, WorkerOptions, device_text,
                                    import_ray, machine_name, run_tasks)
from srgan_desktop.core.measures import DEFAULT_MEASURES, MEASURES, is_number
from srgan_desktop.core.models import ModelResolver, NoWeights, default_resolver, parse_method
from srgan_desktop.core.results_db import (Cell, CellKey, Entry, ModelCost, ResultsDb, Runtime,
                                           file_sha, pixels_sha)
from srgan_desktop.errors import SrganDesktopError

if TYPE_CHECKING:
    from srgan_desktop.core.engine import CancelToken, Method
    from srgan_desktop.core.lpips_metric import LpipsModel

__all__ = ["EvalRequest", "EvalSummary", "EvalError", "Candidate", "Inputs", "Plan", "Progress", "resolve_inputs",
           "resolve_methods", "check_results", "hr_sizes", "plan", "run_evaluation",
           "measure_version", "EXECUTORS", "DEFAULT_METHODS", "NO_PRECISION"]

DEFAULT_METHODS = ("bicubic", "srresnet", "srgan")
NO_PRECISION = "n/a"  # hr and results folders: nothing ran

#: ``progress(done, total)``: cells written by this run out of the cells it has to compute.
Progress = Callable[[int, int], None]


class EvalError(SrganDesktopError):
    """The request cannot run as given (an unknown measure or executor, ``lr`` with several folders)."""


@dataclass(frozen=True)
class EvalRequest:
    """What to evaluate into which database, and how."""

    db: Path
    benchmarks: tuple[Path, ...]                 # HR folders or benchmark roots (HR/, LR_bicubic_xN/)
    methods: tuple[str, ...] = DEFAULT_METHODS   # bicubic, hr, model names or files, KEY=FILE, KEY=DIR
    measures: tuple[str, ...] = DEFAULT_MEASURES
    scale: int | None = None                     # of bicubic, hr and KEY=DIR (default: first model's, else 4)
    lr: Path | None = None                       # LR images for the one benchmark (default: found or made)
    device: str = "auto"
    tile: int | None = None
    precision: str = "fp32"                      # figures to compare: full precision by default
    executor: str = "local"
    workers: int | None = None                   # local: 1; ray: one per GPU, else per CPU
    address: str | None = None                   # ray: the cluster to join (default: a local Ray)
    runtime: bool = False
    runtime_runs: int = 3
    lpips_net: str = "alex"
    lpips_backbone: Path | None = None


@dataclass(frozen=True)
class EvalSummary:
    """What a run did: cells found stored, cells computed, images run; the methods and
    benchmarks it was about (for the table of this run) and the methods skipped, with why."""

    db: Path
    cached: int
    computed: int
    images: int
    labels: tuple[str, ...]
    datasets: tuple[str, ...]
    skipped: tuple[tuple[str, str], ...] = ()


# --- inputs ---------------------------------------------------------------------------------

@dataclass
class Candidate:
    """One ``-m`` entry resolved: a method to run, the HR images, a results folder, or a model
    without weights (``reason``)."""

    spec: str
    method: Method | None
    reason: str = ""
    hr: bool = False                          # the HR images themselves
    results: ExternalResults | None = None    # KEY=DIR

    @property
    def label(self) -> str:
        if self.results is not None:
            return self.results.key
        return self.method.name if self.method is not None else self.spec

    @property
    def runs(self) -> bool:
        return self.method is not None or self.hr or self.results is not None


def resolve_methods(specs: Sequence[str], scale: int | None,
                    resolver: ModelResolver | None = None) -> list[Candidate]:
    """Models first (their scale is the default of the others), then bicubic, hr and results."""
    resolver = resolver or default_resolver()
    specs = list(dict.fromkeys(specs))
    parsed = {spec: (None if spec.lower() == HR else parse_method(spec)) for spec in specs}
    models: dict[str, Candidate] = {}
    for spec in specs:
        if parsed[spec] is not None and parsed[spec].kind == "model":
            try:
                models[spec] = Candidate(spec, resolver.method(spec))
            except NoWeights as exc:
                models[spec] = Candidate(spec, None, str(exc))
    scale = scale or next((c.method.scale for c in models.values() if c.method is not None), 4)
    candidates = []
    for spec in specs:
        kind = parsed[spec].kind if parsed[spec] is not None else HR
        if kind == "model":
            candidates.append(models[spec])
        elif kind == HR:
            candidates.append(Candidate(HR, None, hr=True))
        elif kind == "bicubic":
            candidates.append(Candidate(spec, resolver.method(spec, scale=scale)))
        else:
            candidates.append(Candidate(spec, None, results=ExternalResults.open(
                parsed[spec].key, parsed[spec].target, scale)))
    return candidates


def hr_sizes(dataset: Dataset) -> dict[str, tuple[int, int]]:
    """The uncropped HR size (rows, columns) of every image, from the file headers."""
    from PIL import Image

    sizes = {}
    for path in dataset.hr_files():
        with Image.open(path) as image:
            sizes[path.stem] = (image.height, image.width)
    return sizes


def check_results(datasets: Sequence[Dataset], candidates: Sequence[Candidate]) -> None:
    """Every results folder has a result of the right size for every image, before anything runs."""
    for candidate in candidates:
        if candidate.results is None:
            continue
        for dataset in datasets:
            sizes = hr_sizes(dataset)
            candidate.results.check([Expected(p.name, p.lr.shape[:2], sizes.get(p.name))
                                     for p in dataset.pairs(candidate.results.scale)])


@dataclass
class Inputs:
    datasets: list[Dataset]
    candidates: list[Candidate]
    measures: list[str]
    lpips: LpipsModel | None
    hr_scale: int                               # of bicubic, hr and results folders

    @property
    def skipped(self) -> tuple[tuple[str, str], ...]:
        return tuple((c.label, c.reason) for c in self.candidates if not c.runs)


def resolve_inputs(benchmarks: Sequence[str | Path], methods: Sequence[str], measures: Sequence[str],
                   scale: int | None = None, lr: str | Path | None = None, lpips_net: str = "alex",
                   lpips_backbone: str | Path | None = None,
                   resolver: ModelResolver | None = None) -> Inputs:
    """Folders, methods, measures and LPIPS, each checked before anything runs (one-line errors)."""
    if lr is not None and len(benchmarks) != 1:
        raise EvalError("--lr goes with exactly one --hr folder")
    if not benchmarks or not methods or not measures:
        raise EvalError("an evaluation needs at least one benchmark folder, one method and one measure")
    unknown = [name for name in measures if name not in MEASURES]
    if unknown:
        raise EvalError(f"unknown measure {unknown[0]!r} (known: {', '.join(MEASURES)})")
    datasets = [find_dataset(hr, lr) for hr in benchmarks]
    candidates = resolve_methods(methods, scale, resolver)
    check_results(datasets, candidates)
    names = list(dict.fromkeys(measures))
    lpips = None
    if "lpips" in names:  # before any upscaling: missing weights stop the run at once
        from srgan_desktop.core.lpips_metric import load_lpips

        lpips = load_lpips(lpips_net, lpips_backbone)
    hr_scale = scale or next((c.method.scale for c in candidates if c.method is not None), 4)
    return Inputs(datasets, candidates, names, lpips, hr_scale)


# --- planning -------------------------------------------------------------------------------

def measure_version(name: str, lpips: LpipsModel | None = None) -> str:
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
    cached_entries: list[Entry] = field(default_factory=list)


def _method_ref(candidate: Candidate, scale: int) -> MethodRef:
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


def _precision(candidate: Candidate, request: EvalRequest) -> str:
    if candidate.method is None:
        return NO_PRECISION
    from srgan_desktop.core.engine import Upscaler

    return Upscaler(candidate.method, device=request.device, tile=request.tile,
                    precision=request.precision).precision


def _needs_runtime(db: ResultsDb, ref: MethodRef, lr_sha: str, precision: str, device: str,
                   machine: str) -> bool:
    return ref.kind in ("bicubic", "model") and not db.has_runtime(ref.sha, lr_sha, precision, device, machine)


def plan(db: ResultsDb, inputs: Inputs, request: EvalRequest) -> Plan:
    """The tasks of what ``db`` lacks for ``inputs``, and the count of what it has."""
    from srgan_desktop.core.engine import resolve_device

    versions = {name: measure_version(name, inputs.lpips) for name in inputs.measures}
    machine = machine_name()
    device = device_text(resolve_device(request.device))
    work = Plan([], {}, 0, 0)
    hashes: dict[int, str] = {}

    def sha(array) -> str:
        if id(array) not in hashes:
            hashes[id(array)] = pixels_sha(array)
        return hashes[id(array)]

    for dataset in inputs.datasets:
        sizes = None
        paths = {path.stem: str(path.resolve()) for path in dataset.hr_files()}
        for candidate in inputs.candidates:
            if not candidate.runs:
                continue  # no weights: in the summary's ``skipped``
            scale = (candidate.method.scale if candidate.method is not None else
                     candidate.results.scale if candidate.results is not None else inputs.hr_scale)
            ref = _method_ref(candidate, scale)
            precision = _precision(candidate, request)
            for pair in dataset.pairs(scale):
                hr_size = None
                method_sha = ref.sha
                if ref.kind == "results":
                    sizes = sizes if sizes is not None else hr_sizes(dataset)
                    hr_size = sizes.get(pair.name)
                    method_sha = file_sha(candidate.results.path_for(pair.name))
                entry = Entry(ref.label, dataset.name, pair.name, scale, precision, method_sha,
                              sha(pair.hr), sha(pair.lr), paths.get(pair.name, ""))
                cell_keys = {name: CellKey(method_sha, entry.hr_sha, entry.lr_sha, scale, precision,
                                           name, versions[name]) for name in inputs.measures}
                stored = db.stored(cell_keys.values())
                missing = tuple(name for name, key in cell_keys.items() if key not in stored)
                runtime = request.runtime and _needs_runtime(db, ref, entry.lr_sha, precision, device, machine)
                work.cached += len(stored)
                if not missing and not runtime:
                    work.cached_entries.append(entry)
                    continue
                work.to_compute += len(missing)
                index = len(work.tasks)
                work.tasks.append(ImageTask(index, ref, dataset.name, pair.name, pair.lr, pair.hr, hr_size,
                                            missing, runtime))
                work.keys[index] = (entry, {name: cell_keys[name] for name in missing})
    return work


# --- writing --------------------------------------------------------------------------------

def _store_costs(db: ResultsDb, candidates: Sequence[Candidate]) -> None:
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


def _cells(keys: dict[str, CellKey], outcome) -> list[Cell]:
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


def _workers(request: EvalRequest) -> int:
    """Local: 1 by default (the driver's process); Ray: 0 = one actor per GPU, else per CPU."""
    return request.workers or (1 if request.executor == "local" else 0)


def run_evaluation(request: EvalRequest, progress: Progress | None = None, token: CancelToken | None = None,
                   log: Callable[[str], None] | None = None,
                   resolver: ModelResolver | None = None) -> EvalSummary:
    """Compute what ``request.db`` lacks for ``request`` and write it, one finished image at a time.

    ``progress(done, total)`` counts this run's cells; ``token`` cancels between images
    (:class:`~srgan_desktop.core.engine.Cancelled`; what was written stays); ``log`` gets the
    one line of the plan ("cells: N cached, M to compute …"); ``resolver`` finds the models
    (default: this installation's)."""
    if request.executor not in EXECUTORS:
        raise EvalError(f"unknown executor {request.executor!r} (known: {', '.join(EXECUTORS)})")
    if request.executor == "ray":
        import_ray()  # before any work: a refusal at once where Ray is not installed
    inputs = resolve_inputs(request.benchmarks, request.methods, request.measures, request.scale,
                            request.lr, request.lpips_net, request.lpips_backbone, resolver)
    workers = _workers(request)
    with ResultsDb(request.db) as db:
        work = plan(db, inputs, request)
        if work.cached_entries:
            db.put_entries(work.cached_entries)
        if request.runtime:
            _store_costs(db, inputs.candidates)
        if log is not None:
            log(f"cells: {work.cached} cached, {work.to_compute} to compute ({len(work.tasks)} images; "
                f"executor {request.executor}, {workers or 'one per GPU/CPU'} worker(s))")
        if progress is not None:
            progress(0, work.to_compute)
        if token is not None:
            token.raise_if_cancelled()
        computed = 0
        outcomes = run_tasks(work.tasks, _worker_options(request, inputs.lpips), request.executor,
                             workers, request.address)
        try:
            for outcome in outcomes:
                entry, keys = work.keys[outcome.index]
                db.write_image([entry], _cells(keys, outcome), _runtime_row(entry, outcome))
                computed += len(keys)
                if progress is not None:
                    progress(computed, work.to_compute)
                if token is not None:
                    token.raise_if_cancelled()
        finally:
            close = getattr(outcomes, "close", None)
            if close is not None:
                close()  # stops the executor: queued images are dropped, not computed
    return EvalSummary(Path(request.db), work.cached, computed, len(work.tasks),
                       tuple(c.label for c in inputs.candidates), tuple(d.name for d in inputs.datasets),
                       inputs.skipped)


def _worker_options(request: EvalRequest, lpips: Any) -> WorkerOptions:
    return WorkerOptions(device=request.device, tile=request.tile, precision=request.precision,
                         lpips_net=lpips.net if lpips is not None else None,
                         lpips_backbone=str(lpips.backbone) if lpips is not None else None,
                         runtime_runs=request.runtime_runs)
