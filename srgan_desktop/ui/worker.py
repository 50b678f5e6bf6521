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

from srgan_desktop.compare import MethodOutput, ModelSource, RunRequest, compute_scores
from srgan_desktop.core.engine import (BicubicMethod, CancelToken, Cancelled, Method, Upscaler,
                                       UpscaleError, resolve_device)
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
    finished = Signal(object, object, object)  # RunRequest, MethodOutput, Raster
    scored = Signal(object, object)         # RunRequest, Scores
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
                output = request.known
            else:
                load_seconds = 0.0
                # started comes first: the window shows "busy" while the model loads
                self.started.emit(request, "cpu" if request.spec.is_bicubic else str(resolve_device(request.device)))
                if request.spec.is_bicubic:
                    method = BicubicMethod(request.scale)
                else:
                    method, load_seconds = self._network(request)
                upscaler = Upscaler(method, device=request.device, tile=request.tile)
                if method.scale != request.scale:
                    raise UpscaleError(f"{request.spec.title} enlarges ×{method.scale}; "
                                       f"the comparison is at ×{request.scale}")
                source = request.lr if request.alpha is None else LoadedImage(request.lr, request.alpha)
                result = upscaler.upscale(source, cancel=token,
                                          progress=lambda d, t: self.progress.emit(request, d, t))
                output = MethodOutput.from_upscale(result, load_seconds)
                self.finished.emit(request, output, Raster(output.rgb))
            self.scored.emit(request, compute_scores(output.rgb, request.reference, request.reference_hash))
        except Cancelled:
            self.cancelled.emit(request)
            return False
        except Exception as exc:  # noqa: BLE001 — every failure must reach the user, not kill the thread
            _log.exception("%s failed", request.key)
            self.failed.emit(request, user_message(exc))
        return True

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
