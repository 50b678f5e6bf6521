"""The app's job pattern: :class:`WorkerJobs` implements ``compare.session.Jobs`` over the worker threads.

Rules: method batches go to the upscale worker (``ui/worker.py``); :meth:`WorkerJobs.report_to`
connects its signals to this object's slots (a QObject of the GUI thread, so they are queued and
the model is only ever changed on the GUI thread), which hand each report to the session (results,
failures, the end of a batch) or its model (start, tiles, progress, measures); any other job (decoding, preparing a mode, the
difference map, a re-measure) runs on the task worker and its ``done``/``failed`` callback runs
on the GUI thread.  Stale results are the session's business (its tickets), not this file's.

A job that can take long (rendering a study's stimuli, the metric ↔ MOS agreement) is started
with :meth:`WorkerJobs.start`: its function gets a :class:`CancelToken` and a ``report(done,
total)``; ``report`` reaches ``progress`` on the GUI thread; :meth:`WorkerJobs.cancel` sets
every token, the function stops at its next check (``token.raise_if_cancelled()``, or its own
``should_stop``) by raising :class:`Cancelled`, and ``cancelled`` runs instead of ``done``.
This is the one cancel of the app: the MOS editor, the MOS results window and the Results
window's evaluation use it as the comparison window does, never a thread class or a polled
future of their own.

Windows with no upscale runs (the MOS screens) make ``WorkerJobs()`` without threads: a task
thread is started for their first job and stopped when no job is left, so a closed dialog never
leaves a thread behind; :meth:`stop` cancels and joins it (at close).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from srgan_desktop.compare.model import MethodOutput, RunRequest
from srgan_desktop.compare.scores import Scores
from srgan_desktop.core.engine import CancelToken, Cancelled
from srgan_desktop.ui.image_pane import Raster
from srgan_desktop.ui.worker import UpscaleWorker, WorkerThread

__all__ = ["WorkerJobs", "Report"]

#: ``report(done, total)``, called from the worker thread by a cancellable job.
Report = Callable[[int, int], None]
_CANCELLED = object()


class WorkerJobs(QObject):
    """``submit`` a task, ``start`` a cancellable one, ``run`` a batch, ``cancel`` them, ``forget_models``."""

    _progressed = Signal(int, int, int)   # seq, done, total (emitted in the worker thread, queued here)

    def __init__(self, runs: WorkerThread | None = None, tasks: WorkerThread | None = None,
                 before_run: Callable[[], None] | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs, self.tasks, self._before_run = runs, None, before_run
        self._own_tasks = tasks is None
        self._seq = itertools.count(1)
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[str], None]]] = {}
        self._tokens: dict[int, CancelToken] = {}
        self._progress: dict[int, Callable[[int, int], None]] = {}
        self._progressed.connect(self._on_progress)
        if tasks is not None:
            self._attach(tasks)

    def _attach(self, tasks: WorkerThread) -> None:
        self.tasks = tasks
        tasks.worker.taskDone.connect(self._on_done)
        tasks.worker.taskFailed.connect(self._on_failed)

    def _task_worker(self) -> UpscaleWorker:
        if self.tasks is None:
            self._attach(WorkerThread(None, self, "job-worker"))
        return self.tasks.worker

    @property
    def busy(self) -> bool:
        """True while a task's callback is still to come."""
        return bool(self._callbacks)

    def submit(self, fn: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[str], None]) -> None:
        seq = next(self._seq)
        self._callbacks[seq] = (done, failed)
        self._task_worker().run_task(seq, fn)

    def start(self, fn: Callable[[CancelToken, Report], Any], done: Callable[[Any], None],
              failed: Callable[[str], None], progress: Callable[[int, int], None] | None = None,
              cancelled: Callable[[], None] | None = None) -> CancelToken:
        """Run ``fn(token, report)`` on the task worker; exactly one of ``done(value)``,
        ``failed(message)`` or ``cancelled()`` follows on the GUI thread."""
        seq = next(self._seq)
        token = CancelToken()

        def call() -> Any:
            try:
                return fn(token, lambda d, t: self._progressed.emit(seq, int(d), int(t)))
            except Cancelled:
                return _CANCELLED

        def finish(value: Any) -> None:
            if value is not _CANCELLED:
                done(value)
            elif cancelled is not None:
                cancelled()

        self._tokens[seq] = token
        if progress is not None:
            self._progress[seq] = progress
        self._callbacks[seq] = (finish, failed)
        self._task_worker().run_task(seq, call)
        return token

    def _on_progress(self, seq: int, done: int, total: int) -> None:
        report = self._progress.get(seq)
        if report is not None:
            report(done, total)

    def _on_done(self, seq: int, value: Any) -> None:
        callbacks = self._pop(seq)
        if callbacks is not None:
            callbacks[0](value)
        self._settle()

    def _on_failed(self, seq: int, message: str) -> None:
        callbacks = self._pop(seq)
        if callbacks is not None:
            callbacks[1](message)
        self._settle()

    def _pop(self, seq: int):
        self._tokens.pop(seq, None)
        self._progress.pop(seq, None)
        return self._callbacks.pop(seq, None)

    def _settle(self) -> None:
        """A task thread this object started is stopped when no job is left."""
        if self._own_tasks and self.tasks is not None and not self._callbacks:
            tasks, self.tasks = self.tasks, None
            tasks.stop()
            tasks.deleteLater()

    def run(self, batch: list[RunRequest]) -> None:
        if self._before_run is not None:
            self._before_run()
        self.runs.worker.submit(batch)

    def cancel(self) -> None:
        """Stop the running batch and every cancellable task (each within one of its steps)."""
        if self.runs is not None:
            self.runs.worker.cancel()
        for token in self._tokens.values():
            token.cancel()

    def stop(self) -> None:
        """Cancel everything and join a task thread this object started (a window closes)."""
        self.cancel()
        if self._own_tasks and self.tasks is not None:
            tasks, self.tasks = self.tasks, None
            tasks.stop()
            self._callbacks.clear()
            self._tokens.clear()
            self._progress.clear()

    def forget_models(self) -> None:
        self.runs.worker.forget_models()

    # ------------------------------------------------------------------ the run worker's reports
    def report_to(self, session: Any, keep: Callable[[MethodOutput, Raster], None]) -> None:
        """The run worker reports to ``session`` (a ComparisonSession); ``keep`` gets each result's raster."""
        self._session, self._keep = session, keep
        worker = self.runs.worker
        for signal, slot in ((worker.started, self._started), (worker.progress, self._progressed_tiles),
                             (worker.share, self._share), (worker.tile, self._tile),
                             (worker.finished, self._finished), (worker.scored, self._scored),
                             (worker.measuring, self._measuring), (worker.failed, self._failed),
                             (worker.cancelled, self._cancelled), (worker.idle, self._idle)):
            signal.connect(slot)

    def _started(self, request: RunRequest, device: str) -> None:
        self._session.model.on_started(request, device)

    def _progressed_tiles(self, request: RunRequest, done: int, total: int) -> None:
        self._session.model.on_progress(request, done, total)

    def _share(self, request: RunRequest, share: float) -> None:
        self._session.model.on_share(request, share)

    def _tile(self, request: RunRequest, box: tuple[int, int, int, int], pixels: Any) -> None:
        self._session.model.on_tile(request, box, pixels)

    def _finished(self, request: RunRequest, output: MethodOutput, raster: Raster) -> None:
        self._keep(output, raster)
        self._session.on_finished(request, output)

    def _scored(self, request: RunRequest, scores: Scores) -> None:
        self._session.model.set_scores(request, scores)

    def _measuring(self, request: RunRequest, name: str) -> None:
        self._session.model.on_measuring(request, name)

    def _failed(self, request: RunRequest, message: str) -> None:
        self._session.on_failed(request, message)

    def _cancelled(self, request: RunRequest) -> None:
        self._session.model.on_cancelled(request)

    def _idle(self, batch: list[RunRequest]) -> None:
        self._session.on_batch_over(batch)
