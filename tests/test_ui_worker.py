"""The QThread worker alone: per-batch cancel tokens, and stop() joining the thread."""

from __future__ import annotations

import numpy as np
import pytest

from srgan_desktop.compare import MethodInfo, RunRequest
from srgan_desktop.ui.worker import WorkerThread

pytestmark = pytest.mark.gui


def _job(tiny_model_file, key: str, tile: int) -> RunRequest:
    lr = np.random.default_rng(3).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    return RunRequest(MethodInfo(key=key, title=key, scale=4, model=tiny_model_file), 4, lr, device="cpu",
                      tile=tile)


def test_cancel_reaches_queued_batches_but_not_later_ones(qtbot, tiny_model_file):
    owner = WorkerThread()
    worker = owner.worker
    finished, cancelled, idle = [], [], []
    worker.finished.connect(lambda job, _result, _raster: finished.append(job.key))
    worker.cancelled.connect(lambda job: cancelled.append(job.key))
    # connected before the first submit: a cancelled batch may be over before any later line runs
    worker.idle.connect(lambda batch: idle.append([job.key for job in batch]))
    try:
        worker.submit([_job(tiny_model_file, "first", tile=8)])   # 36 tiles
        worker.submit([_job(tiny_model_file, "second", tile=8)])  # queued behind it
        worker.cancel()                                           # both are before the cancel
        worker.submit([_job(tiny_model_file, "third", tile=0)])  # after the cancel: runs
        qtbot.waitUntil(lambda: len(idle) == 3, timeout=60_000)
        assert idle == [["first"], ["second"], ["third"]]
        assert finished == ["third"]
        assert sorted(cancelled) == ["first", "second"]
    finally:
        owner.stop()
    assert owner.thread.isFinished()


def test_a_one_tile_run_reports_its_share_and_the_status_bar_says_the_per_cent(qtbot, tiny_model_file):
    """A photo that runs as one staged tile: the worker emits how much is done inside it, the
    model keeps it, and the status bar shows a per cent over a real bar instead of 'running…'."""
    from srgan_desktop.compare.model import MethodState, Status
    from srgan_desktop.compare.views import progress_text

    owner = WorkerThread()
    worker = owner.worker
    shares, progress, idle = [], [], []
    worker.share.connect(lambda _job, share: shares.append(share))
    worker.progress.connect(lambda _job, done, total: progress.append((done, total)))
    worker.idle.connect(lambda batch: idle.append(batch))
    lr = np.random.default_rng(3).integers(0, 256, (300, 300, 3), dtype=np.uint8)  # 16 windows
    try:
        worker.submit([RunRequest(MethodInfo(key="tiny", title="tiny", scale=4, model=tiny_model_file), 4, lr,
                                  device="cpu")])
        qtbot.waitUntil(lambda: len(idle) == 1, timeout=120_000)
    finally:
        owner.stop()
    assert progress == [(1, 1)]                       # one tile: the tile count alone says nothing
    assert len(shares) >= 10 and shares == sorted(shares) and shares[-1] == pytest.approx(1.0)
    text, bar = progress_text("Tiny", MethodState(Status.RUNNING, 0, 1, share=0.25), 12.0)
    assert text == "Tiny: 25% 12 s" and bar == (250, 1000)
    assert progress_text("Tiny", MethodState(Status.RUNNING), 3.0) == ("Tiny: running… 3 s", None)
