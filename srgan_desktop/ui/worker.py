"""The background worker: runs the core engine on a QThread and reports through signals.

:class:`UpscaleWorker` lives in its own :class:`QThread` (see :class:`WorkerThread`).  The GUI
asks for work with :meth:`UpscaleWorker.submit` (a queued call: the GUI never waits) and
stops it with :meth:`UpscaleWorker.cancel` (thread-safe: it sets the engine's
:class:`CancelToken`, which is checked between tiles).  Models are loaded in the worker
thread and kept for the next run; results arrive with their scores and a ready-to-draw
:class:`~srgan_desktop.ui.image_pane.Raster`, so the GUI thread does no heavy work.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
import numpy as np
from PySide6.QtCore import QObject, QThread, Signal, Slot

from srgan_desktop.core.engine import (BicubicMethod, CancelToken, Cancelled, NetworkMethod,
                                       Upscaler, UpscaleError, UpscaleResult, resolve_device)
from srgan_desktop.core.images import ImageLoadError, LoadedImage
from srgan_desktop.core.metrics import score
from srgan_desktop.core.weights import ModelRegistry, WeightsError, load_model
from srgan_desktop.ui.image_pane import Raster
from srgan_desktop.ui.session import SCORE_BORDER, MethodInfo, MethodResult

__all__ = ["Job", "UpscaleWorker", "WorkerThread", "device_name"]

_log = logging.getLogger(__name__)


@dataclass
class Job:
    """One method to run on one LR image."""

    method: MethodInfo
    lr: np.ndarray
    device: str = "auto"
    tile: int | None = None
    reference: np.ndarray | None = None
    alpha: np.ndarray | None = None  # transparency of the LR input, upscaled with bicubic
    tag: str = ""  # which image it belongs to (the session's LR hash): stale results are dropped
    reference_hash: str = ""
    known: UpscaleResult | None = None  # already computed (cache): only score it

    @property
    def key(self) -> str:
        return self.method.key


def device_name(device: str) -> str:
    """The device ``auto``/``cpu``/``cuda``/``mps`` resolves to here (``cpu`` if unavailable)."""
    try:
        return str(resolve_device(device))
    except UpscaleError:
        return "cpu"


def _user_message(exc: BaseException) -> str:
    if isinstance(exc, (WeightsError, UpscaleError, ImageLoadError)):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory: try a smaller image, a smaller tile or another device"
    text = str(exc).strip() or type(exc).__name__
    if "out of memory" in text.lower():
        return f"out of memory: {text.splitlines()[0]}"
    return f"{type(exc).__name__}: {text.splitlines()[0]}"


class UpscaleWorker(QObject):
    """Runs jobs one after the other; emits per-tile progress, results and failures."""

    started = Signal(object, str)         # Job, device it runs on
    progress = Signal(object, int, int)   # Job, tiles done, tiles in all
    finished = Signal(object, object)     # Job, MethodResult
    failed = Signal(object, str)          # Job, message for the user
    cancelled = Signal(object)            # Job
    idle = Signal()                       # the submitted batch is over (done, failed or cancelled)
    _submit = Signal(object)

    def __init__(self, registry: ModelRegistry | None = None) -> None:
        super().__init__()
        self.registry = registry
        self._models: dict[str, NetworkMethod] = {}
        self._lock = threading.Lock()
        self._tokens: list[CancelToken] = []  # one per submitted batch not yet over
        self._submit.connect(self._run_batch)

    # ------------------------------------------------------------ GUI thread
    def submit(self, jobs: list[Job]) -> None:
        """Queue ``jobs`` (returns at once; runs in the worker's thread).

        Each batch carries its own cancel token, so a :meth:`cancel` reaches every batch
        submitted before it (running or still queued) and none submitted after it.
        """
        token = CancelToken()
        with self._lock:
            self._tokens.append(token)
        self._submit.emit((list(jobs), token))

    def cancel(self) -> None:
        """Stop the running job within one tile and drop the queued ones (thread-safe)."""
        with self._lock:
            for token in self._tokens:
                token.cancel()

    def forget_models(self) -> None:
        """Drop loaded models (e.g. after the model folder changed); takes effect on next run."""
        with self._lock:
            self._models = {}

    # --------------------------------------------------------- worker thread
    @Slot(object)
    def _run_batch(self, batch: tuple[list[Job], CancelToken]) -> None:
        jobs, token = batch
        try:
            for job in jobs:
                if token.cancelled:
                    self.cancelled.emit(job)
                    break
                if not self._run_one(job, token):
                    break
        finally:
            with self._lock:
                self._tokens.remove(token)
            self.idle.emit()

    def _run_one(self, job: Job, token: CancelToken) -> bool:
        """Run one job; False when the batch must stop (cancelled)."""
        try:
            if job.known is not None:
                result = job.known
                self.started.emit(job, result.device)
            else:
                method = BicubicMethod() if job.method.is_bicubic else self._network(job.method)
                upscaler = Upscaler(method, device=job.device, tile=job.tile)
                self.started.emit(job, str(upscaler.device))
                source = job.lr if job.alpha is None else LoadedImage(job.lr, job.alpha)
                result = upscaler.upscale(source, progress=lambda d, t: self.progress.emit(job, d, t),
                                          cancel=token)
            scores = None
            if job.reference is not None and job.reference.shape == result.rgb.shape:
                try:
                    scores = score(result.rgb, job.reference, border=SCORE_BORDER)
                except ValueError:  # too small to score (SSIM's window): the result still stands
                    scores = None
            done = MethodResult(result=result, scores=scores, display=Raster(result.rgb),
                                reference_hash=job.reference_hash)
        except Cancelled:
            self.cancelled.emit(job)
            return False
        except Exception as exc:  # noqa: BLE001 — every failure must reach the user, not kill the thread
            _log.exception("%s failed", job.key)
            self.failed.emit(job, _user_message(exc))
            return True
        self.finished.emit(job, done)
        return True

    def _network(self, info: MethodInfo) -> NetworkMethod:
        ref = str(info.model)
        with self._lock:
            cached = self._models.get(ref)
        if cached is not None:
            return cached
        if self.registry is not None:
            model, descriptor = self.registry.load(ref)  # a name, or a weights path
        else:
            model, descriptor = load_model(ref)
        method = NetworkMethod(model, descriptor)
        with self._lock:
            self._models[ref] = method
        return method


class WorkerThread(QObject):
    """Owns the QThread and the worker moved to it; ``stop()`` cancels and joins."""

    def __init__(self, registry: ModelRegistry | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.thread = QThread()
        self.thread.setObjectName("upscale-worker")
        self.worker = UpscaleWorker(registry)
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
