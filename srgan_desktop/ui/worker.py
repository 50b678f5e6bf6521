"""The background worker: runs the core engine (and any slow task) on a QThread, reports by signals.

:class:`UpscaleWorker` lives in its own :class:`QThread` (see :class:`WorkerThread`).  The GUI
asks for work with :meth:`UpscaleWorker.submit` (a queued call: the GUI never waits) and
stops it with :meth:`UpscaleWorker.cancel` (thread-safe: it sets the engine's
:class:`CancelToken`, checked between tiles).  Each batch has its own token, so a cancel
reaches every batch submitted before it and none submitted after it: this is the one queue
and the one cancel rule (the comparison model in ``srgan_desktop.compare`` decides what to
submit; the window keeps no second queue).

For a model run: the model is loaded (and warmed up with one 16×16 forward, which is where
the first run's one-time costs of the device go) in the worker thread and kept for the next
run; that time is reported apart from inference (:attr:`MethodOutput.load_seconds`).  The
result arrives with a ready-to-draw :class:`~srgan_desktop.ui.image_pane.Raster`, then its
scores (``scored``), so the GUI thread does no heavy work.

**Visible region first.**  While a pane is zoomed in, the window tells the worker what LR box
is on screen (:meth:`UpscaleWorker.set_viewport`, thread-safe, called at every pan or zoom).
A batch that starts with a viewport loads every network first, makes one
:class:`~srgan_desktop.core.engine.TiledJob` per request (split finer under the viewport) and
runs the tiles in the order of :class:`~srgan_desktop.compare.tile_order.TileOrder`: the
visible tiles of every method in turn, then the rest; the order is re-read before each tile,
so panning re-orders what waits, and the waiting tiles under a new viewport are cut into
small ones first (``TiledJob.refocus``; the total of ``progress`` grows).  Each tile is sent at once (``tile``: request, HR box, uint8
pixels) with exact ``progress``; cancel is checked before each tile; a request whose last tile
is done is finished and scored as in the sequential path, and its image is the same as a
whole-image run (the engine's tiles are independent).  Without a viewport the batch runs
request after request, as :meth:`Upscaler.upscale` does (which also retries CUDA OOM with a
halved tile; a tiled job that runs out of GPU memory falls back to it).

:meth:`UpscaleWorker.run_task` runs any other slow function (decoding a file, the Simulate
mode reduction, a difference map) the same way: ``taskDone(tag, value)`` or
``taskFailed(tag, message)``.  The window keeps a second :class:`WorkerThread` for these, so
opening an image never waits behind a 30-second model run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

import torch

from srgan_desktop.compare import MethodOutput, ModelSource, RunRequest, compute_scores
from srgan_desktop.compare.tile_order import Box, TileOrder
from srgan_desktop.core.engine import (FOCUS_TILE, BicubicMethod, CancelToken, Cancelled, Method, TiledJob,
                                       Upscaler, UpscaleError, resolve_device)
from srgan_desktop.core.images import LoadedImage
from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.ui.image_pane import Raster

__all__ = ["UpscaleWorker", "WorkerThread", "device_name", "user_message"]

_log = logging.getLogger(__name__)


def device_name(device: str) -> str:
    """The device ``auto``/``cpu``/``cuda``/``mps`` resolves to here (``cpu`` if unavailable)."""
    try:
        return str(resolve_device(device))
    except UpscaleError:
        return "cpu"


def user_message(exc: BaseException) -> str:
    """One line for the user about a failure in the worker."""
    if isinstance(exc, SrganDesktopError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory: try a smaller image, a smaller tile or another device"
    text = str(exc).strip() or type(exc).__name__
    if "out of memory" in text.lower():
        return f"out of memory: {text.splitlines()[0]}"
    return f"{type(exc).__name__}: {text.splitlines()[0]}"


class UpscaleWorker(QObject):
    """Runs requests one after the other; emits per-tile progress, results, scores and failures."""

    started = Signal(object, str)           # RunRequest, device it runs on
    progress = Signal(object, int, int)     # RunRequest, tiles done, tiles in all
    share = Signal(object, float)           # RunRequest, share of the image done inside its tiles
    tile = Signal(object, object, object)   # RunRequest, HR box (y0, x0, y1, x1), uint8 pixels of it
    finished = Signal(object, object, object)  # RunRequest, MethodOutput, Raster
    scored = Signal(object, object)         # RunRequest, Scores
    measuring = Signal(object, str)         # RunRequest, the measure computed now (before scored)
    failed = Signal(object, str)            # RunRequest, message for the user
    cancelled = Signal(object)              # RunRequest
    idle = Signal(object)                   # the batch (list of RunRequest) is over
    taskDone = Signal(object, object)       # tag, value
    taskFailed = Signal(object, str)        # tag, message
    _submit = Signal(object)
    _task = Signal(object)

    def __init__(self, models: ModelSource | None = None) -> None:
        super().__init__()
        self.models = models or ModelSource(None)
        self._loaded: dict[str, Method] = {}
        self._lock = threading.Lock()
        self._tokens: list[CancelToken] = []  # one per submitted batch not yet over
        self._order = TileOrder()             # holds the viewport; the running batch's tiles
        #: the side of the small tiles under the viewport (the engine's FOCUS_TILE)
        self.focus_tile = FOCUS_TILE
        #: after a pan or zoom, cut the waiting tiles under the new viewport (TiledJob.refocus);
        #: False only re-orders them (scripts/bench_gui.py --viewport --no-recut, its A/B)
        self.recut_on_pan = True
        self._submit.connect(self._run_batch)
        self._task.connect(self._run_task)

    # ------------------------------------------------------------ GUI thread
    def submit(self, requests: list[RunRequest]) -> None:
        """Queue a batch (returns at once; runs in the worker's thread)."""
        token = CancelToken()
        with self._lock:
            self._tokens.append(token)
        self._submit.emit((list(requests), token))

    def cancel(self) -> None:
        """Stop the running request within one tile and drop the queued ones (thread-safe)."""
        with self._lock:
            for token in self._tokens:
                token.cancel()

    def set_viewport(self, box: Box | None) -> None:
        """The LR box on screen (None: the whole image is visible); thread-safe, re-read per tile."""
        self._order.set_viewport(box)

    def forget_models(self) -> None:
        """Drop loaded models (the model folder changed); takes effect on the next run."""
        with self._lock:
            self._loaded = {}

    def run_task(self, tag: object, fn: Callable[[], Any]) -> None:
        """Run ``fn()`` in the worker's thread; ``taskDone(tag, value)`` or ``taskFailed(tag, msg)``."""
        self._task.emit((tag, fn))

    # --------------------------------------------------------- worker thread
    @Slot(object)
    def _run_task(self, item: tuple[object, Callable[[], Any]]) -> None:
        tag, fn = item
        try:
            value = fn()
        except Exception as exc:  # noqa: BLE001 — every failure must reach the user, not kill the thread
            if not isinstance(exc, SrganDesktopError):
                _log.exception("task %r failed", tag)
            self.taskFailed.emit(tag, user_message(exc))
            return
        self.taskDone.emit(tag, value)

    @Slot(object)
    def _run_batch(self, batch: tuple[list[RunRequest], CancelToken]) -> None:
        requests, token = batch
        try:
            if self._order.viewport() is not None:
                self._run_tiled(requests, token)
                return
            for index, request in enumerate(requests):
                if token.cancelled:
                    for rest in requests[index:]:
                        self.cancelled.emit(rest)
                    break
                if not self._run_one(request, token):
                    for rest in requests[index + 1:]:
                        self.cancelled.emit(rest)
                    break
        finally:
            with self._lock:
                self._tokens.remove(token)
            self.idle.emit(requests)

    def _run_one(self, request: RunRequest, token: CancelToken) -> bool:
        """Run one request; False when the batch must stop (cancelled)."""
        try:
            if request.known is not None:
                self._score(request, request.known.rgb)
            else:
                # started comes first: the window shows "busy" while the model loads
                self.started.emit(request, self._device_of(request))
                upscaler, load_seconds = self._prepare(request)
                self._upscale_whole(request, upscaler, load_seconds, token)
        except Cancelled:
            self.cancelled.emit(request)
            return False
        except Exception as exc:  # noqa: BLE001 — every failure must reach the user, not kill the thread
            _log.exception("%s failed", request.key)
            self.failed.emit(request, user_message(exc))
        return True

    def _share_reporter(self, request: RunRequest) -> Callable[[float], None]:
        """Emits ``share`` at most once per whole per cent (a staged photo has ~100 windows)."""
        last = [-1]

        def report(share: float) -> None:
            percent = int(share * 100)
            if percent != last[0]:
                last[0] = percent
                self.share.emit(request, share)
        return report

    @staticmethod
    def _device_of(request: RunRequest) -> str:
        return "cpu" if request.spec.is_bicubic else str(resolve_device(request.device))

    def _upscale_whole(self, request: RunRequest, upscaler: Upscaler, load_seconds: float,
                       token: CancelToken) -> None:
        """The request through :meth:`Upscaler.upscale` (in order; CUDA OOM halves the tile)."""
        result = upscaler.upscale(self._source(request), cancel=token,
                                  progress=lambda d, t: self.progress.emit(request, d, t),
                                  fraction=self._share_reporter(request))
        self._deliver(request, MethodOutput.from_upscale(result, load_seconds))

    def _prepare(self, request: RunRequest) -> tuple[Upscaler, float]:
        """The request's upscaler (its network loaded) and the seconds loading took now."""
        load_seconds = 0.0
        if request.spec.is_bicubic:
            method: Method = BicubicMethod(request.scale)
        else:
            method, load_seconds = self._network(request)
        if method.scale != request.scale:
            raise UpscaleError(f"{request.spec.title} enlarges ×{method.scale}; "
                               f"the comparison is at ×{request.scale}")
        return Upscaler(method, device=request.device, tile=request.tile), load_seconds

    @staticmethod
    def _source(request: RunRequest) -> np.ndarray | LoadedImage:
        return request.lr if request.alpha is None else LoadedImage(request.lr, request.alpha)

    def _deliver(self, request: RunRequest, output: MethodOutput) -> None:
        self.finished.emit(request, output, Raster(output.rgb))
        self._score(request, output.rgb)

    def _score(self, request: RunRequest, rgb: np.ndarray) -> None:
        self.scored.emit(request, compute_scores(rgb, request.reference, request.reference_hash, border=request.scale,
                                                 on_measure=lambda name: self.measuring.emit(request, name)))

    def _run_tiled(self, requests: list[RunRequest], token: CancelToken) -> None:
        """The batch tile by tile, visible region first (rules: the module docstring)."""
        focus = self._order.viewport()
        jobs: dict[int, tuple[RunRequest, Upscaler, TiledJob, float]] = {}
        reports: dict[int, Callable[[float], None]] = {}   # one per request: its per-cent throttle
        pending: list[RunRequest] = []   # not yet finished, failed or cancelled
        try:
            for n, request in enumerate(requests):
                if token.cancelled:
                    pending.extend(requests[n:])
                    raise Cancelled()
                if request.known is not None:   # only scored, as in the sequential path
                    self._run_one(request, token)
                    continue
                try:
                    self.started.emit(request, self._device_of(request))
                    upscaler, load_seconds = self._prepare(request)
                    job = upscaler.job(self._source(request), focus=focus, focus_tile=self.focus_tile)
                except Exception as exc:  # noqa: BLE001 — every failure must reach the user
                    _log.exception("%s failed", request.key)
                    self.failed.emit(request, user_message(exc))
                    continue
                jobs[n] = (request, upscaler, job, load_seconds)
                reports[n] = self._share_reporter(request)
                pending.append(request)
                self._order.add(n, [core for core, _window in job.boxes])
            while True:
                view = self._order.viewport()
                if view is not None and view != focus and self.recut_on_pan:  # panned or zoomed
                    focus = view
                    for n, (_request, _upscaler, job, _seconds) in jobs.items():
                        if n in self._order.keys() and job.refocus(view, self.focus_tile):
                            self._order.set_boxes(n, [core for core, _window in job.boxes])
                if (item := self._order.next()) is None:
                    break
                n, index = item
                request, upscaler, job, load_seconds = jobs[n]
                token.raise_if_cancelled()
                try:
                    def step(share: float, report: Callable[[float], None] = reports[n]) -> None:
                        token.raise_if_cancelled()
                        report(share)

                    box, pixels = job.run_tile(index, step)
                except torch.cuda.OutOfMemoryError:
                    torch.cuda.empty_cache()
                    self._order.remove(n)
                    pending.remove(request)
                    self._fallback(request, upscaler, load_seconds, token)
                    continue
                except Exception as exc:  # noqa: BLE001
                    _log.exception("%s failed", request.key)
                    self._order.remove(n)
                    pending.remove(request)
                    self.failed.emit(request, user_message(exc))
                    continue
                self._order.done(n, index)
                self.tile.emit(request, box, np.clip(np.round(pixels * 255.0), 0, 255).astype(np.uint8))
                self.progress.emit(request, job.done, len(job.boxes))
                if job.done == len(job.boxes):
                    self._order.remove(n)
                    pending.remove(request)
                    try:
                        self._deliver(request, MethodOutput.from_upscale(job.finish(), load_seconds))
                    except Exception as exc:  # noqa: BLE001
                        _log.exception("%s failed", request.key)
                        self.failed.emit(request, user_message(exc))
        except Cancelled:
            for request in pending:
                self.cancelled.emit(request)
        finally:
            for n in jobs:
                self._order.remove(n)

    def _fallback(self, request: RunRequest, upscaler: Upscaler, load_seconds: float,
                  token: CancelToken) -> None:
        """Out of GPU memory in a tiled job: the whole request through ``upscale`` (halves the tile).

        Raises Cancelled (the batch stops) like a tile would."""
        try:
            self._upscale_whole(request, upscaler, load_seconds, token)
        except Cancelled:
            self.cancelled.emit(request)
            raise
        except Exception as exc:  # noqa: BLE001
            _log.exception("%s failed", request.key)
            self.failed.emit(request, user_message(exc))

    def _network(self, request: RunRequest) -> tuple[Method, float]:
        """The loaded model (and the seconds it took to load and warm up now; 0 when kept)."""
        ref = str(request.spec.model)
        with self._lock:
            cached = self._loaded.get(ref)
        if cached is not None:
            return cached, 0.0
        start = time.perf_counter()
        method = self.models.method(request.spec.model if request.spec.model is not None else ref)
        warm = Upscaler(method, device=request.device, tile=0)
        warm.upscale(np.zeros((16, 16, 3), np.uint8))  # first forward: the device's one-time set-up
        with self._lock:
            self._loaded[ref] = method
        return method, time.perf_counter() - start


class WorkerThread(QObject):
    """Owns the QThread and the worker moved to it; ``stop()`` cancels and joins."""

    def __init__(self, models: ModelSource | None = None, parent: QObject | None = None,
                 name: str = "upscale-worker") -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName(name)
        self.worker = UpscaleWorker(models)
        self.worker.moveToThread(self.thread)
        self.thread.start()

    def stop(self) -> None:
        """Cancel the work, end the thread's event loop and wait for it (at window close).

        The engine stops between tiles, so this waits for at most the tile in progress: a
        QThread destroyed while it runs would abort the program.
        """
        self.worker.cancel()
        self.thread.quit()
        self.thread.wait()
