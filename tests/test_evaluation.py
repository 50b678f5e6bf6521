"""The one evaluation entry point (core/evaluation.py) without Qt: exact progress counts, cancel
between images, resume — real SQLite files, a real tiny model on tiny real images."""

from __future__ import annotations

import pytest

from srgan_desktop.core.engine import CancelToken, Cancelled
from srgan_desktop.core.evaluation import EvalRequest, run_evaluation
from srgan_desktop.errors import SrganDesktopError
from test_results_db import _bench, _eval, _figures, _tiny


@pytest.fixture
def request_for(tmp_path):
    bench = _bench(tmp_path / "Tiny", 3)
    model = _tiny(tmp_path / "tiny_x4.safetensors")

    def make(db: str, **more) -> EvalRequest:
        return EvalRequest(db=tmp_path / db, benchmarks=(bench,), methods=("bicubic", str(model)),
                           measures=("psnr", "ssim"), **more)

    return make


def test_progress_counts_cells_exactly_and_a_second_run_only_reads(request_for, capsys):
    calls, lines = [], []
    request = request_for("lab.db")
    done = run_evaluation(request, progress=lambda d, t: calls.append((d, t)), log=lines.append)
    # 2 methods × 3 images, 2 measures each: (0, 12) once planned, then one call per written image
    assert calls == [(0, 12), (2, 12), (4, 12), (6, 12), (8, 12), (10, 12), (12, 12)]
    assert (done.cached, done.computed, done.images) == (0, 12, 6)
    assert done.labels == ("bicubic", "tiny_x4") and done.datasets == ("Tiny",) and done.skipped == ()
    assert lines == ["cells: 0 cached, 12 to compute (6 images; executor local, 1 worker(s))"]
    first = _figures(request.db)
    assert len(first) == 12 and all(isinstance(v, float) for v in first.values())

    calls.clear()
    again = run_evaluation(request, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(0, 0)] and (again.cached, again.computed, again.images) == (12, 0, 0)
    # the command line goes through the same function: it finds everything stored too
    cached, computed, _ = _eval(capsys, "--hr", *request.benchmarks, "-m", *request.methods,
                                "--metrics", *request.measures, "--db", request.db)
    assert (cached, computed) == (12, 0) and _figures(request.db) == first


def test_a_cancel_after_the_first_image_keeps_it_and_a_second_run_completes_identically(request_for):
    whole = request_for("whole.db")
    run_evaluation(whole)
    cut = request_for("cut.db")
    token, calls = CancelToken(), []

    def progress(done: int, total: int) -> None:
        calls.append((done, total))
        if done > 0:
            token.cancel()               # as the window's Cancel does, while the first image is written

    with pytest.raises(Cancelled):
        run_evaluation(cut, progress=progress, token=token)
    assert calls == [(0, 12), (2, 12)]   # stopped between images: the second never ran
    kept = _figures(cut.db)
    assert len(kept) == 2 and all(kept[k] == _figures(whole.db)[k] for k in kept)

    resumed = run_evaluation(cut)
    assert (resumed.cached, resumed.computed, resumed.images) == (2, 10, 5)
    assert _figures(cut.db) == _figures(whole.db)


def test_a_cancel_before_anything_ran_writes_no_cell(request_for):
    token = CancelToken()
    token.cancel()
    request = request_for("none.db")
    with pytest.raises(Cancelled):
        run_evaluation(request, token=token)
    assert _figures(request.db) == {}


@pytest.mark.parametrize("change, words", [
    ({"measures": ("psnr", "sharpness")}, "unknown measure 'sharpness'"),
    ({"executor": "slurm"}, "unknown executor 'slurm'"),
    ({"methods": ()}, "at least one benchmark folder, one method and one measure"),
])
def test_a_bad_request_is_one_line_of_the_base_error(request_for, change, words):
    import dataclasses

    request = dataclasses.replace(request_for("bad.db"), **change)
    with pytest.raises(SrganDesktopError) as error:
        run_evaluation(request)
    assert words in str(error.value) and "\n" not in str(error.value)


def test_a_missing_benchmark_folder_names_it(request_for, tmp_path):
    import dataclasses

    request = dataclasses.replace(request_for("bad.db"), benchmarks=(tmp_path / "nowhere",))
    with pytest.raises(SrganDesktopError, match="nowhere: no such folder"):
        run_evaluation(request)


@pytest.mark.slow  # two spawned worker processes each import torch
def test_a_cancel_with_two_worker_processes_drops_the_queued_images_and_a_resume_matches(request_for):
    whole = run_evaluation(request_for("whole.db"))
    cut = request_for("cut.db", workers=2)
    token, calls = CancelToken(), []

    def progress(done: int, total: int) -> None:
        calls.append(done)
        if done > 0:
            token.cancel()

    with pytest.raises(Cancelled):
        run_evaluation(cut, progress=progress, token=token)
    assert calls == [0, 2]                           # nothing written after the cancel
    assert len(_figures(cut.db)) == 2
    resumed = run_evaluation(cut)
    assert (resumed.cached, resumed.computed) == (2, whole.computed - 2)
    assert _figures(cut.db) == _figures(request_for("whole.db").db)
