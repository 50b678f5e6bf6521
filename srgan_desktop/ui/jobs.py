"""The app's job pattern: :class:`WorkerJobs` implements ``compare.session.Jobs`` over the worker threads.

Rules: method batches go to the upscale worker (``ui/worker.py``; its signals report to the
model through the window's queued slots); any other job (decoding, preparing a mode, the
difference map, a re-measure) runs on the task worker and its ``done``/``failed`` callback runs
on the GUI thread.  Stale results are the session's business (its tickets), not this file's.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject

from srgan_desktop.compare.model import RunRequest
from srgan_desktop.ui.worker import WorkerThread

__all__ = ["WorkerJobs"]


class WorkerJobs(QObject):
    """``submit`` a task, ``run`` a batch, ``cancel`` it, ``forget_models``."""

    def __init__(self, runs: WorkerThread, tasks: WorkerThread, before_run: Callable[[], None] | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runs, self.tasks, self._before_run = runs, tasks, before_run
        self._seq = itertools.count(1)
        self._callbacks: dict[int, tuple[Callable[[Any], None], Callable[[str], None]]] = {}
        tasks.worker.taskDone.connect(self._on_done)
        tasks.worker.taskFailed.connect(self._on_failed)

    def submit(self, fn: Callable[[], Any], done: Callable[[Any], None], failed: Callable[[str], None]) -> None:
        seq = next(self._seq)
        self._callbacks[seq] = (done, failed)
        self.tasks.worker.run_task(seq, fn)

    def _on_done(self, seq: int, value: Any) -> None:
        callbacks = self._callbacks.pop(seq, None)
        if callbacks is not None:
            callbacks[0](value)

    def _on_failed(self, seq: int, message: str) -> None:
        callbacks = self._callbacks.pop(seq, None)
        if callbacks is not None:
            callbacks[1](message)

    def run(self, batch: list[RunRequest]) -> None:
        if self._before_run is not None:
            self._before_run()
        self.runs.worker.submit(batch)

    def cancel(self) -> None:
        self.runs.worker.cancel()

    def forget_models(self) -> None:
        self.runs.worker.forget_models()
