"""The comparison session: the rules of opening, re-preparing and running, without Qt.

A :class:`ComparisonSession` owns the :class:`~srgan_desktop.compare.model.ComparisonModel`,
the settings that change results (mode, scale, device, tile, auto-run) and a :class:`Jobs`
(the one way work leaves the calling thread).  The window only shows it (napari's pattern: a
small model whose changes are events, views built from it, actions that take it).

Rules (each tested in tests/test_session.py with a synchronous fake :class:`Jobs`):

* **One pending change.**  Open, mode and scale are one typed :class:`Change`; a new one
  supersedes the one awaited (its late result is dropped).  A mode or scale chosen while a file
  is still opening re-opens that file in the new mode/scale.  The change's :class:`Kind` gives
  the error title, so a failed scale change is never reported as "Cannot open the image".
* **Settings follow the model.**  ``settings.mode`` and ``settings.scale`` are written only when
  a change is committed (:meth:`ComparisonModel.apply`); a change that fails leaves both, and
  so the Mode and Scale menus, as they were (a failed Simulate ×8 keeps the old scale).
* **One ticket.**  Every job whose result depends on the open image carries a :class:`Ticket`
  (image hash, reference hash, sequence of its lane); a result whose ticket is no longer current
  is dropped.  This replaces separate checks of the pending change, the difference sequence,
  a captured LR hash and a captured reference hash.
* **On commit:** cached results appear at once, each results folder gives the new image its own
  result, and with auto-run every runnable method is queued.
* **Result files and folders** are added through the session (event ``folders``), never by
  appending to ``model.result_folders`` from a view.
* **LPIPS re-measure** (a new backbone): the results already there are measured again as a job;
  values arrive only for the reference they were measured against.
* **Models changed:** runs are stopped, loaded models forgotten, the methods listed again.
* **Output size guard:** a run (Run all, Run one, auto-run after opening) that would make results
  above ``settings.max_output_mp`` megapixels each asks ``confirm`` first, with the memory they
  need (:func:`~srgan_desktop.compare.views.output_estimate`); refused, nothing runs.
* **Clear result cache** forgets the cache *and* the open image's results, so Run all / Run one
  run again (with new times); **Run again** re-makes one method on the open image.
* **Worker reports** (:meth:`on_finished`, :meth:`on_failed`, :meth:`on_batch_over`): a result
  still wanted is kept and its time told (``message``, then ``finished``); a failure is reported
  once (``error``, titled "<method> failed") unless the run was cancelled or superseded; a
  method that starts running, or is cancelled, is said in the status line.
* **Restoring settings** (:meth:`restore`): a saved device that is unknown or not available here
  becomes ``auto``; a saved mode that is unknown, or a scale no method offers, is the model's.
* **LPIPS backbone** (:meth:`set_lpips_backbone`): the file is kept in the settings, the measures
  installed again with it (an unknown net falls back to alex), the results re-measured.

Events (besides the model's own): ``preparing`` (text, or "" when nothing is pending),
``message`` (text, seconds: a passing status line), ``error`` (title, text), ``device`` (name,
resolved), ``folders`` (the list of result folders changed), ``committed`` (the :class:`Change`,
after the model applied it), ``failed`` (the change, the message: nothing changed), ``added`` (a :class:`RunRequest` with a known result: a file result arrived),
``prepared`` (the :class:`Prepared`, the extra made with it in the job, just before commit),
``finished`` (key: a method's result was kept), ``idle`` (a batch is over).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

from srgan_desktop.compare import perceptual
from srgan_desktop.compare.events import Events
from srgan_desktop.compare.model import MODES, ComparisonModel, MethodOutput, Prepared, RunRequest, Status, prepare
from srgan_desktop.compare.views import DEFAULT_OUTPUT_LIMIT_MP, finished_text, output_estimate, title_of
from srgan_desktop.core.external import ExternalResults
from srgan_desktop.core.images import LoadedImage, load_image
from srgan_desktop.errors import SrganDesktopError

__all__ = ["SESSION_EVENTS", "DEVICES", "Kind", "Change", "Ticket", "Jobs", "SessionSettings", "ComparisonSession"]

SESSION_EVENTS = ("preparing", "message", "error", "device", "folders", "committed", "failed", "added", "prepared",
                  "finished", "idle")
#: The devices one can choose (name, title); ``auto`` resolves to the best one available.
DEVICES = (("auto", "Auto"), ("cuda", "CUDA"), ("mps", "MPS"), ("cpu", "CPU"))


class Kind(Enum):
    """What a pending change does; its value is the title of the error when it fails."""

    OPEN = "Cannot open the image"
    MODE = "Cannot use this mode"
    SCALE = "Cannot use this scale"


@dataclass(frozen=True)
class Change:
    """An open, mode or scale change awaited from a job."""

    kind: Kind
    mode: str
    scale: int
    path: Path | None = None

    @property
    def text(self) -> str:
        if self.kind is Kind.OPEN:
            return f"Opening {self.path.name if self.path else 'image'}…"
        if self.kind is Kind.SCALE:
            return f"Preparing ×{self.scale}…"
        return "Preparing Simulate mode…" if self.mode == "simulate" else "Preparing Upscale mode…"


@dataclass(frozen=True)
class Ticket:
    """What a job's result was made for: ``None`` hashes are not checked; ``lane`` "" has no sequence."""

    lr_hash: str | None
    reference_hash: str | None
    lane: str = ""
    seq: int = 0


class Jobs(Protocol):
    """Work off the calling thread; callbacks come back on it (the GUI thread in the window)."""

    def submit(self, fn: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[str], None]) -> None:
        """Run ``fn``; then ``done(value)`` or ``failed(message)``."""

    def run(self, batch: list[RunRequest]) -> None:
        """Run a batch of method requests (the worker reports to the model)."""

    def cancel(self) -> None:
        """Stop the running batch within one tile."""

    def forget_models(self) -> None:
        """Drop loaded models (the model folder changed)."""


@dataclass
class SessionSettings:
    """The settings that change results (AppSettings has the same attributes, and more)."""

    mode: str = "upscale"
    scale: int = 4
    device: str = "auto"
    tile: int = 0
    auto_run: bool = False
    #: megapixels per result above which a run asks first (0: never ask)
    max_output_mp: int = DEFAULT_OUTPUT_LIMIT_MP
    lpips_net: str = "alex"
    lpips_backbone: str = ""


@dataclass
class _Awaited:
    change: Change
    seq: int


@dataclass
class ComparisonSession:
    model: ComparisonModel
    jobs: Jobs
    settings: Any = field(default_factory=SessionSettings)
    resolve_device: Callable[[str], str] = lambda name: "cpu" if name == "auto" else name
    device_available: Callable[[str], bool] = lambda name: True
    #: made in the job with each prepared change (the window's rasters); given to ``prepared``
    extra: Callable[[Prepared], Any] = lambda prepared: None
    load: Callable[[Path], LoadedImage] = load_image
    #: asks the user (title, question) before a large run; True = go on
    confirm: Callable[[str, str], bool] = lambda _title, _text: True

    def __post_init__(self) -> None:
        self.events = Events(SESSION_EVENTS)
        self._pending: _Awaited | None = None
        self._lanes: dict[str, int] = {}
        self.model.events.connect("image", self._on_image)
        self.model.events.connect("status", self._on_status)

    def restore(self) -> None:
        """Use the saved device, mode and scale where they are valid here (before an image is open)."""
        device = self.settings.device
        self.set_device(device if device in dict(DEVICES) and self.device_available(device) else "auto")
        mode = self.settings.mode if self.settings.mode in MODES else self.model.mode
        scale = self.settings.scale if self.settings.scale in self.model.scale_choices() else self.model.scale
        if (mode, scale) != (self.model.mode, self.model.scale):
            self.model.apply(Prepared(None, mode, scale))

    # ------------------------------------------------------------------ tickets
    def ticket(self, lane: str = "", *, image: bool = True) -> Ticket:
        """A ticket for a job started now; a named ``lane`` makes earlier tickets of it stale."""
        seq = 0
        if lane:
            seq = self._lanes[lane] = self._lanes.get(lane, 0) + 1
        if not image:
            return Ticket(None, None, lane, seq)
        return Ticket(self.model.lr_hash, self.model.reference_hash, lane, seq)

    def current(self, ticket: Ticket) -> bool:
        if ticket.lane and self._lanes.get(ticket.lane) != ticket.seq:
            return False
        if ticket.lr_hash is not None and ticket.lr_hash != self.model.lr_hash:
            return False
        return ticket.reference_hash is None or ticket.reference_hash == self.model.reference_hash

    def submit(self, fn: Callable[[], Any], done: Callable[[Any], None],
               failed: Callable[[str], None] | None = None, *, lane: str = "", image: bool = True) -> Ticket:
        """Run ``fn`` as a job; ``done``/``failed`` are called only while its ticket is current."""
        ticket = self.ticket(lane, image=image)

        def on_done(value: Any) -> None:
            if self.current(ticket):
                done(value)

        def on_failed(message: str) -> None:
            if self.current(ticket) and failed is not None:
                failed(message)

        self.jobs.submit(fn, on_done, on_failed)
        return ticket

    # ------------------------------------------------------------------ the pending change
    @property
    def pending(self) -> Change | None:
        return self._pending.change if self._pending else None

    @property
    def preparing(self) -> bool:
        return self._pending is not None

    def open(self, path: str | Path, mode: str | None = None, scale: int | None = None) -> None:
        self._start(Change(Kind.OPEN, mode or self.model.mode, scale or self.model.scale, Path(path)))

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(mode)
        self._change(Kind.MODE, mode, self.pending.scale if self._opening() else self.model.scale)

    def set_scale(self, scale: int) -> None:
        self._change(Kind.SCALE, self.pending.mode if self._opening() else self.model.mode, scale)

    def _opening(self) -> bool:
        return self._pending is not None and self._pending.change.kind is Kind.OPEN

    def _change(self, kind: Kind, mode: str, scale: int) -> None:
        if self._opening():  # still opening a file: open it in this mode/at this scale
            self._start(dataclasses.replace(self._pending.change, mode=mode, scale=scale))
            return
        if not self.model.has_image:
            if (mode, scale) != (self.model.mode, self.model.scale):
                self.model.apply(Prepared(None, mode, scale))
            self._commit_settings()
            return
        if (mode, scale) == (self.model.mode, self.model.scale) and not self.preparing:
            return
        self._start(Change(kind, mode, scale))

    def _start(self, change: Change) -> None:
        if self.model.stop_all():
            self.jobs.cancel()
        image = self.model.image
        load, extra = self.load, self.extra

        def work() -> tuple[Prepared, Any]:
            source = load(change.path) if change.kind is Kind.OPEN else image
            prepared = prepare(source, change.mode, change.scale)
            return prepared, extra(prepared)

        ticket = self.ticket("prepare", image=False)
        self._pending = _Awaited(change, ticket.seq)
        self.events.emit("preparing", change.text)

        def done(value: tuple[Prepared, Any]) -> None:
            if self.current(ticket):
                self._commit(change, *value)

        def failed(message: str) -> None:
            if self.current(ticket):
                self._failed(change, message)

        self.jobs.submit(work, done, failed)

    def _commit(self, change: Change, prepared: Prepared, extra: Any) -> None:
        self._pending = None
        if self.model.stop_all():
            self.jobs.cancel()
        self.events.emit("prepared", prepared, extra)
        self.model.apply(prepared)  # "image" → cached results and folder results (_on_image)
        self._commit_settings()
        self.events.emit("preparing", "")
        self.events.emit("committed", change)
        if self.settings.auto_run:
            self.run_all()

    def _failed(self, change: Change, message: str) -> None:
        self._pending = None
        self.events.emit("preparing", "")
        self.events.emit("failed", change, message)

    def _commit_settings(self) -> None:
        self.settings.mode, self.settings.scale = self.model.mode, self.model.scale

    def _on_image(self) -> None:
        self.use_cached()
        self._load_folders(self.model.result_folders, quiet=True)

    # ------------------------------------------------------------------ running
    @property
    def device(self) -> str:
        return self.settings.device

    def set_device(self, name: str) -> bool:
        if not self.device_available(name):
            return False
        self.settings.device = name
        self.events.emit("device", name, self.resolve_device(name))
        return True

    def set_auto_run(self, on: bool) -> None:
        self.settings.auto_run = bool(on)

    def use_cached(self) -> None:
        """Results known from the cache appear at once (their scores may follow from the jobs)."""
        keys = [m.key for m in self.model.runnable()]
        batch, _skipped = self.model.request_runs(keys, self.device, self.resolve_device(self.device),
                                                  cached_only=True)
        if batch:
            self.jobs.run(batch)

    def run_all(self) -> None:
        self.run([m.key for m in self.model.runnable()])

    def run(self, keys: list[str]) -> list[RunRequest]:
        """Queue ``keys`` (cached results reused, disabled ones skipped with the last reason shown)."""
        if not self.model.has_image:
            self.events.emit("message", "Open an image first (Ctrl+O)", 5)
            return []
        if not self._size_allowed(keys):
            return []
        batch, skipped = self.model.request_runs(keys, self.device, self.resolve_device(self.device),
                                                 self.settings.tile or None)
        for title, reason in skipped[-1:]:
            self.events.emit("message", f"{title}: {reason}", 8)
        if batch:
            self.jobs.run(batch)
        return batch

    def _size_allowed(self, keys: list[str]) -> bool:
        """Results above the size limit are made only when the user says so (issue 21, defect 15)."""
        limit = getattr(self.settings, "max_output_mp", DEFAULT_OUTPUT_LIMIT_MP)
        estimate = output_estimate(self.model, keys, self.resolve_device(self.device))
        if not limit or estimate is None or estimate.megapixels <= limit:
            return True
        if self.confirm("Large results", estimate.question(limit)):
            return True
        self.events.emit("message", f"Not run: {estimate.width}×{estimate.height} results are above the "
                                    f"{limit} MP limit (Compare ▸ Output size limit…)", 10)
        return False

    def clear_cache(self) -> None:
        """Compare ▸ Clear result cache: nothing made so far is reused; Run all runs every method again."""
        forgotten = self.model.clear_cache()
        more = f"; {len(forgotten)} result{'s' if len(forgotten) != 1 else ''} of this image forgotten" if forgotten else ""
        self.events.emit("message", f"Result cache cleared{more}: Run all (Ctrl+R) runs again", 8)

    def run_again(self, keys: list[str]) -> list[RunRequest]:
        """Compare ▸ Run again: make ``keys`` anew on the open image (their results and cached copies are dropped)."""
        if not self.model.has_image:
            return self.run(keys)
        self.model.forget(keys)
        return self.run(keys)

    # ------------------------------------------------------------------ the worker's reports
    def on_finished(self, request: RunRequest, output: MethodOutput) -> bool:
        """A result from the worker: kept while still wanted, then its time is told."""
        if not self.model.on_finished(request, output):
            return False
        self.events.emit("message", finished_text(title_of(self.model, request.key), output), 8)
        self.events.emit("finished", request.key)
        return True

    def on_failed(self, request: RunRequest, message: str) -> None:
        """A run failed: reported once, unless it was cancelled or superseded meanwhile."""
        if self.model.state(request.key).active and not request.cancelled:
            self.model.on_failed(request, message)
            self.events.emit("error", f"{title_of(self.model, request.key)} failed", message)

    def on_batch_over(self, batch: list[RunRequest]) -> None:
        self.model.on_batch_over(batch)
        self.events.emit("idle")

    def _on_status(self, key: str) -> None:
        state = self.model.state(key)
        if state.status is Status.RUNNING and not state.tiles_total:
            self.events.emit("message", f"Running {title_of(self.model, key)} on {state.device}…", 0)
        elif state.status is Status.CANCELLED:
            self.events.emit("message", f"{title_of(self.model, key)} cancelled", 5)

    def cancel(self) -> bool:
        if self.model.cancel():
            self.jobs.cancel()
            self.events.emit("message", "Cancelling…", 0)
            return True
        return False

    def models_changed(self) -> None:
        """The model folder changed: stop, forget loaded models, list them again, no restart."""
        if self.model.stop_all():
            self.jobs.cancel()
        self.jobs.forget_models()
        self.model.refresh_methods()

    # ------------------------------------------------------------------ results made elsewhere
    def add_result_file(self, path: str | Path, title: str | None = None) -> None:
        path = Path(path)
        label, load = title or path.stem, self.load

        def done(loaded: LoadedImage) -> None:
            try:
                request = self.model.add_file_result(label, loaded.rgb, loaded.alpha, path)
            except SrganDesktopError as exc:
                self.events.emit("error", "Cannot add the result", str(exc))
                return
            self._added(request)

        self.submit(lambda: load(path), done, lambda message: self.events.emit("error", "Cannot add the result",
                                                                               message))

    def add_results_folder(self, folder: str | Path, key: str | None = None) -> bool:
        """Results made elsewhere, one file per input: the open image gets its result now, every
        image opened later its own."""
        folder = Path(folder)
        try:
            results = ExternalResults.open(key or folder.name, folder, self.model.scale)
        except SrganDesktopError as exc:
            self.events.emit("error", "Cannot use the folder", str(exc))
            return False
        self.model.result_folders.append(results)
        self.events.emit("folders")
        self._load_folders([results], quiet=False)
        return True

    def _load_folders(self, folders: list[ExternalResults], quiet: bool) -> None:
        item = self.model.expected_result()
        if item is None or not folders:
            return
        for results in folders:
            results = dataclasses.replace(results, scale=self.model.scale)

            def failed(message: str) -> None:
                if quiet:
                    self.events.emit("message", message, 10)
                else:
                    self.events.emit("error", "Cannot add the result", message)

            def done(rgb: Any, results: ExternalResults = results) -> None:
                try:
                    request = self.model.add_file_result(results.key, rgb, None, results.path_for(item.name),
                                                         name=results.key)
                except SrganDesktopError as exc:
                    failed(str(exc))
                    return
                self._added(request)

            self.submit(lambda results=results: results.load(item), done, failed)

    def _added(self, request: RunRequest) -> None:
        self.events.emit("added", request)
        self.jobs.run([request])  # its scores, in the worker

    # ------------------------------------------------------------------ measures
    def set_lpips_backbone(self, path: str | Path) -> str | None:
        """LPIPS uses ``path`` from now on; the results there are measured again.  Returns why
        LPIPS still cannot run, if so."""
        self.settings.lpips_backbone = str(path)
        reason = perceptual.install_settings(self.settings)
        self.events.emit("message", f"LPIPS: {reason}" if reason else f"LPIPS backbone: {path}", 10)
        self.remeasure(perceptual.lpips_score)
        return reason

    def remeasure(self, measure: Callable[[Any, Any, int], float], name: str = "lpips") -> bool:
        """Measure the results already there again (a new LPIPS backbone); False if nothing to do.

        ``measure(result, reference, border)`` with border = the scale, as everywhere."""
        reference, border = self.model.reference, self.model.scale
        results = {key: output.rgb for key, output in self.model.results.items()}
        if reference is None or not results:
            return False

        def measure_all() -> dict[str, float | str]:
            values: dict[str, float | str] = {}
            for key, rgb in results.items():
                try:
                    values[key] = measure(rgb, reference, border)
                except Exception as exc:  # noqa: BLE001 — shown as the cell's reason
                    values[key] = f"unavailable: {' '.join(str(exc).split())}"
            return values

        def done(values: dict[str, float | str]) -> None:
            for key, value in values.items():
                self.model.update_scores(key, **{name: value})

        self.submit(measure_all, done, lambda message: self.events.emit("message", f"LPIPS: {message}", 10))
        return True
