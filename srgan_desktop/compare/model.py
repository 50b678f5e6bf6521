"""The comparison model: image, mode, scale, methods, statuses, run queue, result cache, scores.

Rules (each tested in tests/test_compare.py, without Qt):

* **Image and mode.** *upscale*: the opened image is the LR input.  *simulate*: the opened
  image is the ground truth, cropped to a multiple of the scale and reduced with the
  MATLAB-compatible bicubic; every result is scored against it.  :func:`prepare` does the heavy
  part (reduction, hashing) and is pure, so the window runs it off the GUI thread (a 4000×3000
  image: about a second of reduction on this 2-core machine); :meth:`ComparisonModel.apply`
  then commits it in one go.  All or nothing: a :func:`prepare` that fails changes nothing.
* **Scale.** The model compares at one scale (×4 by default, or the only scale the models
  offer).  Bicubic runs at any scale; a model at another scale is listed but not enabled, with
  the reason, until that scale is chosen.  The LR pane, read-out, exports and Simulate mode all
  use :attr:`ComparisonModel.scale`, never a constant.
* **Status.** Each method has a :class:`MethodState` with a :class:`Status` (never display
  text parsed back).  Progress is ``tiles_total == 0`` (indeterminate: the model loads or the
  first tile runs) until the first tile is done, then ``tiles_done / tiles_total``.
* **Run queue and cancel.** :meth:`request_runs` turns keys into :class:`RunRequest` batches for
  the worker, skipping disabled methods (with their reasons), results already there or cached,
  and methods already queued.  :meth:`cancel` marks every outstanding request cancelled (the
  worker's per-batch tokens stop the same ones); a method can be queued again right away.
  Results of a request made for another image, mode or scale are dropped when they arrive.
* **Partial canvas.** While a method runs tile by tile (the visible region first, see
  ``compare.tile_order``), each finished tile is pasted into ``partial[key]`` (the HR size,
  neutral grey where no tile ran yet) and ``tile`` is emitted with the key and the HR box; the
  pane shows the canvas at once.  :meth:`ComparisonModel.image_for` gives it while the method
  runs.  It is dropped when the method finishes, fails or is cancelled and when the image
  changes; it is never a result and never cached (the cache keeps finished images only).
* **Cache.** Results are kept per (LR hash, scale, method, device) in a size-bounded LRU of
  pixels (:class:`MethodOutput`), never Qt objects; scores per (that key, ground-truth hash).
* **Scores** are :class:`~srgan_desktop.compare.scores.Scores` records, computed in the worker
  and stored with :meth:`set_scores` (other measures are added to the same record).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path

import numpy as np

from srgan_desktop.compare.events import Events
from srgan_desktop.compare.methods import (BICUBIC_KEY, INPUT_KEY, MODELS_ERROR_KEY, REFERENCE_KEY, MethodKind, MethodInfo,
                                           ModelSource)
from srgan_desktop.compare.scores import Scores
from srgan_desktop.core.engine import UpscaleResult
from srgan_desktop.core.external import Expected, ExternalResults
from srgan_desktop.core.images import LoadedImage
from srgan_desktop.core.resize import downscale
from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.utils import crop_to_multiple

__all__ = ["MODES", "DEFAULT_SCALE", "SCALE_CHOICES", "CompareError", "Status", "MethodState", "MethodOutput",
           "Prepared", "RunRequest", "ComparisonModel", "prepare", "image_hash"]

MODES = ("upscale", "simulate")
DEFAULT_SCALE = 4
SCALE_CHOICES = (2, 3, 4, 8)


class CompareError(SrganDesktopError):
    """The comparison cannot do that (an unknown mode, a result of the wrong size…)."""


class Status(Enum):
    NOT_RUN = "not run"
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DISABLED = "disabled"   # unavailable, or made for another scale: ``message`` says why


@dataclass(frozen=True)
class MethodState:
    status: Status = Status.NOT_RUN
    tiles_done: int = 0
    tiles_total: int = 0     # 0 while running: indeterminate (loading, first tile)
    share: float = 0.0       # of the image done, where the engine knows more than whole tiles
    message: str = ""        # why it failed / is disabled
    device: str = ""

    @property
    def active(self) -> bool:
        return self.status in (Status.QUEUED, Status.RUNNING)


@dataclass(eq=False)
class MethodOutput:
    """A finished result: pixels and what it took (inference apart from loading the model).

    Compared and hashed by identity (views key their display copies by the result object).
    """

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    seconds: float = 0.0          # inference only
    load_seconds: float = 0.0     # loading the model (0 when it was loaded already)
    device: str = ""
    precision: str = ""
    tiles: int = 0

    @classmethod
    def from_upscale(cls, result: UpscaleResult, load_seconds: float = 0.0) -> MethodOutput:
        return cls(result.rgb, result.alpha, result.seconds, load_seconds, result.device, result.precision,
                   result.tiles)

    @property
    def nbytes(self) -> int:
        return int(self.rgb.nbytes + (self.alpha.nbytes if self.alpha is not None else 0))


@dataclass(frozen=True)
class Prepared:
    """An image made ready for a mode and scale (see :func:`prepare`)."""

    source: LoadedImage | None
    mode: str
    scale: int
    lr: np.ndarray | None = None
    lr_alpha: np.ndarray | None = None
    reference: np.ndarray | None = None
    lr_hash: str = ""
    reference_hash: str = ""


@dataclass
class RunRequest:
    """One method to run (or, with ``known``, only to score) on the current LR image."""

    spec: MethodInfo
    scale: int
    lr: np.ndarray
    alpha: np.ndarray | None = None
    reference: np.ndarray | None = None
    reference_hash: str = ""
    tag: str = ""                       # the LR hash it was made for
    device: str = "auto"
    tile: int | None = None
    known: MethodOutput | None = None   # already made (cache, file): only score it
    cancelled: bool = False

    @property
    def key(self) -> str:
        return self.spec.key


def image_hash(rgb: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(str(rgb.shape).encode())
    digest.update(np.ascontiguousarray(rgb).data)
    return digest.hexdigest()


def prepare(source: LoadedImage | None, mode: str, scale: int) -> Prepared:
    """The LR input (and in simulate mode the cropped ground truth) of ``source`` (slow, pure)."""
    if mode not in MODES:
        raise CompareError(f"unknown mode '{mode}' (use {' or '.join(MODES)})")
    if scale < 1:
        raise CompareError(f"the scale must be 1 or more, not {scale}")
    if source is None:
        return Prepared(None, mode, scale)
    rgb = source.rgb
    if mode == "simulate":
        try:
            reference = np.ascontiguousarray(crop_to_multiple(rgb, scale))
        except ValueError as exc:  # smaller than the scale
            raise CompareError(f"cannot simulate ×{scale}: {exc}") from exc
        lr, alpha = downscale(rgb, scale), None
    else:
        reference, lr, alpha = None, rgb, source.alpha
    lr_hash = image_hash(lr if alpha is None else np.dstack([lr, alpha]))
    return Prepared(source, mode, scale, lr, alpha, reference, lr_hash,
                    image_hash(reference) if reference is not None else "")


class _Cache:
    """LRU of results by bytes (at least the newest stays)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.items: OrderedDict[tuple, MethodOutput] = OrderedDict()
        self.scores: dict[tuple, Scores] = {}

    def get(self, key: tuple) -> MethodOutput | None:
        item = self.items.get(key)
        if item is not None:
            self.items.move_to_end(key)
        return item

    def put(self, key: tuple, value: MethodOutput) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > 1 and sum(v.nbytes for v in self.items.values()) > self.max_bytes:
            old, _ = self.items.popitem(last=False)
            self.scores = {k: v for k, v in self.scores.items() if k[0] != old}

    def clear(self) -> None:
        self.items.clear()
        self.scores.clear()

    def drop(self, keep: Callable[[tuple], bool]) -> None:
        """Forget the entries whose cache key ``keep`` refuses."""
        for key in [k for k in self.items if not keep(k)]:
            del self.items[key]
        self.scores = {k: v for k, v in self.scores.items() if keep(k[0])}


class ComparisonModel:
    """What is open, what can run on it, what runs, and what is known (no Qt)."""

    def __init__(self, source: ModelSource | None = None, cache_bytes: int = 2048 * 1024 * 1024) -> None:
        self.events = Events()
        self.source = source or ModelSource(None)
        self._prepared = Prepared(None, "upscale", DEFAULT_SCALE)
        self._scale_chosen = False
        self._models: list[MethodInfo] = []
        self._files: list[MethodInfo] = []
        self.results: dict[str, MethodOutput] = {}
        self._scores: dict[str, Scores] = {}
        self._states: dict[str, MethodState] = {}
        self._outstanding: list[RunRequest] = []
        self._cache = _Cache(cache_bytes)
        #: per running method, its HR canvas of the tiles done so far (grey elsewhere)
        self.partial: dict[str, np.ndarray] = {}
        #: per method whose measures run now, the measure (the worker says before each)
        self.measuring: dict[str, str] = {}
        #: folders of results made elsewhere (``KEY=DIR``): each image opened gets its result from each
        self.result_folders: list[ExternalResults] = []
        self.refresh_methods()

    # ================================================================ state
    # The committed Prepared, read-only (it changes only in apply()).
    image = property(lambda self: self._prepared.source, doc="The opened image (LoadedImage) or None.")
    mode = property(lambda self: self._prepared.mode, doc="upscale or simulate.")
    scale = property(lambda self: self._prepared.scale, doc="The compared scale.")
    lr = property(lambda self: self._prepared.lr, doc="The LR input (H, W, 3) uint8, or None.")
    lr_alpha = property(lambda self: self._prepared.lr_alpha, doc="Its transparency (upscale mode), or None.")
    reference = property(lambda self: self._prepared.reference, doc="The ground truth (simulate mode), or None.")
    lr_hash = property(lambda self: self._prepared.lr_hash)
    reference_hash = property(lambda self: self._prepared.reference_hash)

    @property
    def has_image(self) -> bool:
        return self._prepared.lr is not None

    # ================================================================ methods
    def refresh_methods(self) -> list[MethodInfo]:
        """Read the models again (after the model folder changed); emits ``methods``."""
        self._models = self.source.methods()
        if not self._scale_chosen and not self.has_image:
            self._prepared = replace(self._prepared, scale=self.default_scale())
        for spec in self._models:  # a removed model leaves no result behind
            self._states.pop(spec.key, None)
        known = {m.key for m in self.methods()}
        self.results = {k: v for k, v in self.results.items() if k in known}
        self._reset_states(keep_results=True)
        self.events.emit("methods")
        return self.methods()

    def methods(self) -> list[MethodInfo]:
        """Bicubic, every model (enabled or not), then results read from files."""
        return [MethodInfo(BICUBIC_KEY, "Bicubic", MethodKind.BICUBIC)] + self._models + self._files

    def method(self, key: str) -> MethodInfo:
        for spec in self.methods():
            if spec.key == key:
                return spec
        raise KeyError(key)

    def model_scales(self) -> list[int]:
        return sorted({m.scale for m in self._models if m.available and m.scale is not None})

    def default_scale(self) -> int:
        """×4, unless the models offer exactly one other scale (then that one)."""
        scales = self.model_scales()
        if not scales or DEFAULT_SCALE in scales:
            return DEFAULT_SCALE
        return scales[0] if len(scales) == 1 else min(scales, key=lambda s: abs(s - DEFAULT_SCALE))

    def scale_choices(self) -> list[int]:
        return sorted(set(SCALE_CHOICES) | set(self.model_scales()))

    def disabled_reason(self, key: str) -> str:
        """Why ``key`` cannot run now ("" when it can)."""
        spec = self.method(key)
        if not spec.available:
            return spec.reason or "not available"
        if not spec.runs_at(self.scale):
            return f"a ×{spec.scale} model; the window compares at ×{self.scale} (Compare ▸ Scale ▸ ×{spec.scale})"
        return ""

    def is_enabled(self, key: str) -> bool:
        return not self.disabled_reason(key)

    def runnable(self) -> list[MethodInfo]:
        return [m for m in self.methods() if m.kind is not MethodKind.FILE and self.is_enabled(m.key)]

    # ================================================================ image
    def open(self, image: LoadedImage, mode: str | None = None) -> None:
        """Use ``image`` (LR input or ground truth by ``mode``), synchronously (tests, small images)."""
        self.apply(prepare(image, mode or self.mode, self.scale))

    def set_mode(self, mode: str) -> None:
        self.apply(prepare(self.image, mode, self.scale))

    def set_scale(self, scale: int) -> None:
        self._scale_chosen = True
        self.apply(prepare(self.image, self.mode, scale))

    def apply(self, prepared: Prepared) -> None:
        """Commit a prepared image/mode/scale: results, statuses and files are cleared; emits ``image``."""
        if prepared.scale != self.scale:
            self._scale_chosen = True
        self.stop_all()
        self._prepared = prepared
        self.results, self._scores, self._files = {}, {}, []
        self.partial = {}
        self._reset_states(keep_results=False)
        self.events.emit("image")

    def _reset_states(self, keep_results: bool) -> None:
        states = {}
        for spec in self.methods():
            reason = self.disabled_reason(spec.key)
            old = self._states.get(spec.key)
            if reason:
                states[spec.key] = MethodState(Status.DISABLED, message=reason)
            elif keep_results and spec.key in self.results:
                states[spec.key] = MethodState(Status.DONE, device=self.results[spec.key].device)
            elif keep_results and old is not None and old.status is not Status.DISABLED:
                states[spec.key] = old
            else:
                states[spec.key] = MethodState()
        self._states = states

    def pane_keys(self) -> list[str]:
        """The panes, in order: LR input, every method, then the ground truth (simulate mode)."""
        keys = [INPUT_KEY] + [m.key for m in self.methods() if m.key != MODELS_ERROR_KEY]
        if self.reference is not None:
            keys.append(REFERENCE_KEY)
        return keys

    def title(self, key: str) -> str:
        if key == INPUT_KEY:
            return f"LR input (nearest ×{self.scale})"
        if key == REFERENCE_KEY:
            return "HR ground truth"
        return self.method(key).title

    def image_for(self, key: str) -> np.ndarray | None:
        """The full-resolution array behind a pane (the LR at its own size)."""
        if key == INPUT_KEY:
            return self.lr
        if key == REFERENCE_KEY:
            return self.reference
        done = self.results.get(key)
        if done is not None:
            return done.rgb
        partial = self.partial.get(key)
        return partial if partial is not None and self.state(key).active else None

    def display_scale(self, key: str) -> int:
        """Scene units per pixel of a pane's image: the LR input is shown ×scale, the rest ×1."""
        return self.scale if key == INPUT_KEY else 1

    def expected_shape(self) -> tuple[int, int] | None:
        """(height, width) every result must have: LR × scale (= the ground truth in simulate mode)."""
        if self.lr is None:
            return None
        return self.lr.shape[0] * self.scale, self.lr.shape[1] * self.scale

    # ================================================================ statuses
    def state(self, key: str) -> MethodState:
        if key in self._states:
            return self._states[key]
        reason = self.disabled_reason(key)
        return MethodState(Status.DISABLED, message=reason) if reason else MethodState()

    def _set_state(self, key: str, state: MethodState) -> None:
        self._states[key] = state
        self.events.emit("status", key)

    @property
    def busy(self) -> bool:
        return bool(self._outstanding)

    def active_request(self) -> str:
        """The key of the method running now ("" when none)."""
        for key, state in self._states.items():
            if state.status is Status.RUNNING:
                return key
        return ""

    # ================================================================ runs
    def _cache_key(self, key: str, device: str) -> tuple:
        return (self.lr_hash, self.scale, key, "cpu" if key == BICUBIC_KEY else device)

    def _request(self, spec: MethodInfo, device: str, tile: int | None,
                 known: MethodOutput | None = None) -> RunRequest:
        assert self.lr is not None
        return RunRequest(spec, self.scale, self.lr, self.lr_alpha, self.reference, self.reference_hash,
                          self.lr_hash, device, tile, known)

    def request_runs(self, keys: list[str], device: str = "auto", resolved: str = "cpu",
                     tile: int | None = None, cached_only: bool = False
                     ) -> tuple[list[RunRequest], list[tuple[str, str]]]:
        """The requests to give the worker as one batch, and the (title, reason) of those skipped.

        Cached results are taken at once (status DONE, ``result`` emitted); when their scores
        for the current ground truth are not known, a score-only request goes to the worker.
        """
        if not self.has_image:
            return [], []
        queued = {r.key for r in self._outstanding if not r.cancelled and self._current(r)}
        batch, skipped = [], []
        for key in keys:
            spec = self.method(key)
            reason = self.disabled_reason(key)
            if reason:
                skipped.append((spec.title, reason))
                continue
            if key in self.results or key in queued:
                continue
            cached = self._cache.get(self._cache_key(key, resolved))
            if cached is not None:
                self.results[key] = cached
                self._set_state(key, MethodState(Status.DONE, device=cached.device))
                self.events.emit("result", key)
                known = self._cache.scores.get((self._cache_key(key, resolved), self.reference_hash))
                if known is not None:
                    self._scores[key] = known
                    self.events.emit("scores", key)
                else:
                    batch.append(self._request(spec, device, tile, known=cached))
                continue
            if cached_only or spec.kind is MethodKind.FILE:
                continue
            batch.append(self._request(spec, device, tile))
            self._set_state(key, MethodState(Status.QUEUED))
        if batch:
            was_busy = self.busy
            self._outstanding.extend(batch)
            if not was_busy:
                self.events.emit("busy", True)
        return batch, skipped

    def _current(self, request: RunRequest) -> bool:
        return (request.tag == self.lr_hash and request.scale == self.scale
                and request.reference_hash == self.reference_hash)

    def _live(self, request: RunRequest) -> bool:
        return self._current(request) and not request.cancelled

    def on_started(self, request: RunRequest, device: str) -> None:
        if self._live(request) and request.known is None:
            self._set_state(request.key, MethodState(Status.RUNNING, device=device))

    def on_progress(self, request: RunRequest, done: int, total: int) -> None:
        if self._live(request):
            self._set_state(request.key, MethodState(Status.RUNNING, done, total,
                                                     device=self.state(request.key).device))

    def on_share(self, request: RunRequest, share: float) -> None:
        """How much of the image is done inside its tiles (the engine's staged windows), 0–1."""
        if self._live(request):
            state = self.state(request.key)
            if state.status is Status.RUNNING:
                self._set_state(request.key, replace(state, share=min(1.0, max(0.0, share))))

    def on_tile(self, request: RunRequest, box: tuple[int, int, int, int], pixels: np.ndarray) -> bool:
        """Paste a finished tile (HR box, uint8 pixels) into the method's partial canvas; emits ``tile``."""
        if not self._live(request) or request.known is not None:
            return False
        shape = self.expected_shape()
        if shape is None:
            return False
        key = request.key
        canvas = self.partial.get(key)
        if canvas is None or canvas.shape[:2] != shape:
            canvas = np.full((shape[0], shape[1], 3), 128, dtype=np.uint8)
            self.partial[key] = canvas
        y0, x0, y1, x1 = (int(v) for v in box)
        canvas[y0:y1, x0:x1] = pixels
        self.events.emit("tile", key, (y0, x0, y1, x1))
        return True

    def on_finished(self, request: RunRequest, output: MethodOutput) -> bool:
        """Store a result made for the current image (False: it was stale and is dropped)."""
        if not self._current(request):
            return False
        if request.known is None:
            self.partial.pop(request.key, None)
        self._cache.put(self._cache_key(request.key, output.device), output)
        if request.known is None or request.key not in self.results:
            self.results[request.key] = output
            self._set_state(request.key, MethodState(Status.DONE, device=output.device))
            self.events.emit("result", request.key)
        return True

    def on_measuring(self, request: RunRequest, name: str) -> None:
        """The worker measures ``name`` of ``request``'s result now; emits ``measuring``."""
        if self._current(request) and not request.cancelled:
            self.measuring[request.key] = name
            self.events.emit("measuring", request.key)

    def set_scores(self, request: RunRequest, scores: Scores) -> bool:
        """Store scores computed (in the worker) for ``request``'s result; emits ``scores``."""
        if self.measuring.pop(request.key, None) is not None:
            self.events.emit("measuring", request.key)
        if not self._current(request) or request.key not in self.results:
            return False
        output = self.results[request.key]
        old = self._scores.get(request.key)
        if old is not None and old.reference_hash == scores.reference_hash:
            scores = replace(scores, extra={**old.extra, **scores.extra})
        self._scores[request.key] = scores
        if request.spec.kind is not MethodKind.FILE:
            self._cache.scores[(self._cache_key(request.key, output.device), self.reference_hash)] = scores
        self.events.emit("scores", request.key)
        return True

    def update_scores(self, key: str, **values: float | str) -> None:
        """Add measures (e.g. ``niqe=3.1`` or ``lpips="unavailable: no weights"``) to ``key``'s record."""
        if key not in self.results:
            return
        base = self._scores.get(key) or Scores(reference_hash=self.reference_hash)
        self._scores[key] = base.merged(**values)
        self.events.emit("scores", key)

    def scores(self, key: str) -> Scores | None:
        return self._scores.get(key)

    def on_failed(self, request: RunRequest, message: str) -> None:
        if self._live(request):
            self.partial.pop(request.key, None)
            self._set_state(request.key, MethodState(Status.FAILED, message=message))

    def _requeued(self, request: RunRequest) -> bool:
        """Another live request for the same method is outstanding (queued again after a cancel)."""
        return any(r is not request and r.key == request.key and self._live(r) for r in self._outstanding)

    def on_cancelled(self, request: RunRequest) -> None:
        if self._current(request) and self.state(request.key).active and not self._requeued(request):
            self.partial.pop(request.key, None)
            self._set_state(request.key, MethodState(Status.CANCELLED))

    def on_batch_over(self, batch: list[RunRequest]) -> None:
        """The worker finished a batch: what it never reached is cancelled (or was never run)."""
        ids = {id(r) for r in batch}
        self._outstanding = [r for r in self._outstanding if id(r) not in ids]
        for request in batch:
            self.measuring.pop(request.key, None)
        for request in batch:
            if self._current(request) and self.state(request.key).active and not self._requeued(request):
                self.partial.pop(request.key, None)
                self._set_state(request.key, MethodState(Status.CANCELLED if request.cancelled else Status.NOT_RUN))
        if not self._outstanding:
            self.events.emit("busy", False)

    def cancel(self) -> bool:
        """Stop everything queued or running (the caller cancels the worker when this is True)."""
        return self.stop_all()

    def stop_all(self) -> bool:
        live = [r for r in self._outstanding if not r.cancelled]
        for request in live:
            request.cancelled = True
        return bool(live)

    # ================================================================ cache
    def cached(self, key: str, device: str) -> MethodOutput | None:
        return self._cache.get(self._cache_key(key, device))

    def clear_cache(self) -> list[str]:
        """Forget every kept result: the cache, and the open image's results (runs in flight go on).

        Run all / Run one then run again, and their times are measured again (issue 21, defect 4).
        Results read from files stay (they were not made here).  Returns the keys forgotten.
        """
        self._cache.clear()
        return self.forget([m.key for m in self.methods()])

    def forget(self, keys: list[str]) -> list[str]:
        """Drop the open image's results (and cached copies) of ``keys`` that are done, so they run again."""
        forgotten = []
        for key in keys:
            spec = self.method(key)
            if spec.kind is MethodKind.FILE or self.state(key).active:
                continue
            self._cache.drop(lambda k, key=key: not (k[0] == self.lr_hash and k[1] == self.scale and k[2] == key))
            if key in self.results or self.state(key).status in (Status.FAILED, Status.CANCELLED):
                self.results.pop(key, None)
                self._scores.pop(key, None)
                self.partial.pop(key, None)
                reason = self.disabled_reason(key)
                forgotten.append(key)
                self._set_state(key, MethodState(Status.DISABLED, message=reason) if reason else MethodState())
        return forgotten

    # ================================================================ files
    def add_file_result(self, title: str, rgb: np.ndarray, alpha: np.ndarray | None = None,
                        path: Path | None = None, name: str | None = None) -> RunRequest:
        """A result made elsewhere, as one more method; returns its score-only request.

        Its size must be LR × scale (in simulate mode: the ground truth's), else
        :class:`CompareError` says both sizes and nothing changes.
        """
        expected = self.expected_shape()
        if expected is None:
            raise CompareError("open an image first: a result is compared with an input")
        if rgb.shape[:2] != expected:
            what = "the ground truth" if self.mode == "simulate" else f"the LR input × {self.scale}"
            raise CompareError(f"{title} is {rgb.shape[1]}×{rgb.shape[0]}; {what} is "
                               f"{expected[1]}×{expected[0]}")
        used = {m.key for m in self.methods()}
        base = "file:" + (name or (path.stem if path is not None else title))
        key, n = base, 2
        while key in used:
            key, n = f"{base}#{n}", n + 1
        spec = MethodInfo(key, title, MethodKind.FILE, self.scale, path=path)
        self._files.append(spec)
        output = MethodOutput(np.ascontiguousarray(rgb), alpha, device="file")
        self.results[key] = output
        self._states[key] = MethodState(Status.DONE, device="file")
        self.events.emit("methods")
        request = self._request(spec, "cpu", None, known=output)
        return request

    def expected_result(self) -> Expected | None:
        """What a result read from a results folder must be, for the open image (None: no file name)."""
        image = self.image
        if image is None or image.path is None or self.lr is None:
            return None
        hr = tuple(image.rgb.shape[:2]) if self.mode == "simulate" else None
        return Expected(image.path.stem, tuple(self.lr.shape[:2]), hr)  # type: ignore[arg-type]

    def remove_file_result(self, key: str) -> None:
        self._files = [m for m in self._files if m.key != key]
        self.results.pop(key, None)
        self._scores.pop(key, None)
        self._states.pop(key, None)
        self.events.emit("methods")
