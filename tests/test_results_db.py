"""eval --db: a content-keyed SQLite results database, resumable after SIGKILL; results; executors.

Real SQLite files, real subprocesses (killed with SIGKILL), real models on tiny images, and a
real local Ray cluster."""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from srgan_desktop.__main__ import main
from srgan_desktop.core.images import load_image, save_image
from srgan_desktop.core.results_db import ResultsDb, ResultsDbError, summary

from conftest import REPO, make_tiny_generator


def _bench(folder: Path, count: int, side: int = 64) -> Path:
    """A benchmark root of ``count`` crops of the sample photo (HR/ only: LR made from HR)."""
    photo = load_image(REPO / "resources" / "samples" / "astronaut.png").rgb
    for i in range(count):
        y, x = (37 * i) % (512 - side), (91 * i) % (512 - side)
        save_image(folder / "HR" / f"im{i:02d}.png", photo[y:y + side, x:x + side])
    return folder


def _tiny(path: Path, seed: int = 0) -> Path:
    from srgan_desktop.core.weights import save_model

    return save_model(make_tiny_generator(seed=seed), path, {"name": "tiny_x4", "variant": "srresnet-mse"})


def _eval(capsys, *args: object) -> tuple[int, int, str]:
    assert main(["eval", *map(str, args), "--no-progress"]) == 0
    out = capsys.readouterr().out
    found = re.search(r"cells: (\d+) cached, (\d+) computed", out)
    assert found, out
    return int(found[1]), int(found[2]), out


def _figures(db_path: Path) -> dict[tuple, float | None]:
    """(label, dataset, image, measure) → value, through the names (entries) to the cells."""
    with sqlite3.connect(db_path) as conn:
        rows = conn.execute(
            "SELECT e.label, e.dataset, e.image, c.measure, c.value FROM entries e JOIN cells c ON "
            "c.method_sha = e.method_sha AND c.hr_sha = e.hr_sha AND c.lr_sha = e.lr_sha AND "
            "c.scale = e.scale AND c.precision = e.precision").fetchall()
    return {tuple(r[:4]): r[4] for r in rows}


@pytest.fixture
def bench(tmp_path) -> Path:
    return _bench(tmp_path / "Tiny", 3)


def test_a_second_run_computes_nothing_and_changed_weights_or_images_are_new_keys(tmp_path, bench, capsys):
    model = _tiny(tmp_path / "tiny_x4.safetensors")
    db = tmp_path / "results.db"
    args = ("--hr", bench, "-m", "bicubic", model, "--metrics", "psnr", "ssim", "--db", db)
    assert _eval(capsys, *args)[:2] == (0, 12)     # 2 methods × 3 images × 2 measures
    first, original = _figures(db), model.read_bytes()
    assert len(first) == 12 and all(isinstance(v, float) for v in first.values())
    assert _eval(capsys, *args)[:2] == (12, 0)
    assert _figures(db) == first

    _tiny(model, seed=1)                           # retrained: same name, new weights
    cached, computed, _ = _eval(capsys, *args)
    assert (cached, computed) == (6, 6)            # bicubic from the database, tiny again
    changed = _figures(db)
    assert all(changed[k] == first[k] for k in first if k[0] == "bicubic")
    assert any(changed[k] != first[k] for k in first if k[0] == "tiny_x4")

    hr = load_image(bench / "HR" / "im01.png").rgb.copy()
    hr[10, 10] = 255 - hr[10, 10]                  # one pixel of one image
    save_image(bench / "HR" / "im01.png", hr)
    assert _eval(capsys, *args)[:2] == (8, 4)      # that image only, for both methods

    model.write_bytes(original)                    # back to the first weights file: found again
    assert _eval(capsys, *args)[:2] == (10, 2)     # only the changed image is new for them
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema").fetchone()[0] == 1
        machine, device = conn.execute("SELECT machine, device FROM cells WHERE method_sha != 'bicubic'").fetchone()
    assert machine and device == "cpu"


def test_a_results_folder_is_keyed_by_each_result_image(tmp_path, bench, capsys):
    from srgan_desktop.core.resize import downscale, imresize

    results = tmp_path / "mine"
    for path in sorted((bench / "HR").iterdir()):
        lr = downscale(load_image(path).rgb, 4)
        save_image(results / path.name, imresize(lr, output_shape=(lr.shape[0] * 4, lr.shape[1] * 4)))
    db = tmp_path / "results.db"
    args = ("--hr", bench, "-m", f"mine={results}/", "hr", "--metrics", "psnr", "--db", db)
    assert _eval(capsys, *args)[:2] == (0, 6)
    edited = load_image(results / "im02.png").rgb.copy()
    edited[5, 5] = 0
    save_image(results / "im02.png", edited)
    assert _eval(capsys, *args)[:2] == (5, 1)      # that result image only
    figures = _figures(db)
    assert figures[("hr", "Tiny", "im00", "psnr")] == float("inf")
    assert 20 < figures[("mine", "Tiny", "im00", "psnr")] < 60


def test_results_prints_means_with_t_intervals_as_text_json_and_csv(tmp_path, bench, capsys):
    db = tmp_path / "results.db"
    _eval(capsys, "--hr", bench, "-m", "bicubic", "--metrics", "psnr", "--db", db)
    psnrs = [v for k, v in _figures(db).items() if k[3] == "psnr"]
    lo, hi = stats.t.interval(0.95, len(psnrs) - 1, loc=np.mean(psnrs), scale=stats.sem(psnrs))

    assert main(["results", str(db), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (row,) = data["measures"]
    assert (row["method"], row["dataset"], row["measure"], row["images"]) == ("bicubic", "Tiny", "psnr", 3)
    assert row["mean"] == pytest.approx(np.mean(psnrs)) and (row["lo"], row["hi"]) == pytest.approx((lo, hi))

    assert main(["results", str(db)]) == 0
    text = capsys.readouterr().out
    assert f"{np.mean(psnrs):.2f} [{lo:.2f}, {hi:.2f}]" in text and "Tiny (3 images)" in text

    assert main(["results", str(db), "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("table,method,dataset,measure") and lines[1].startswith("measures,bicubic,Tiny,psnr")

    code = ("import sys; from srgan_desktop.__main__ import main; main(['results', sys.argv[1]]); "
            "print('torch loaded' if 'torch' in sys.modules else 'torch-free')")
    done = subprocess.run([sys.executable, "-c", code, str(db)], cwd=REPO, capture_output=True, text=True,
                          env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert done.stdout.strip().endswith("torch-free"), done.stdout + done.stderr


def test_a_newer_schema_or_a_non_database_is_one_line(tmp_path, capsys):
    db = tmp_path / "new.db"
    ResultsDb(db).close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE schema SET version = 99")
    with pytest.raises(ResultsDbError, match="schema version 99"):
        ResultsDb(db)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 100)
    assert main(["results", str(junk)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "junk.db" in err[0] and "not a results database" in err[0]
    assert main(["results", str(tmp_path / "missing.db")]) == 2


def _count_images(db: Path) -> int:
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            return conn.execute("SELECT COUNT(*) FROM entries").fetchone()[0]
    except sqlite3.OperationalError:  # not created yet
        return 0


@pytest.mark.slow
def test_sigkill_mid_run_loses_at_most_the_image_in_flight_and_a_restart_finishes(tmp_path):
    bench = _bench(tmp_path / "Kill", 12, side=128)
    model = _tiny(tmp_path / "tiny_x4.safetensors")
    images = 2 * 12

    def command(db: Path) -> list[str]:
        return [sys.executable, "-m", "srgan_desktop", "eval", "--hr", str(bench), "-m", "bicubic",
                str(model), "--db", str(db), "--no-progress"]

    env = dict(os.environ, PYTHONPATH=str(REPO))
    whole = tmp_path / "whole.db"
    done = subprocess.run(command(whole), cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"cells: 0 cached, {images * 3} computed" in done.stdout

    killed = tmp_path / "killed.db"
    process = subprocess.Popen(command(killed), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        while _count_images(killed) == 0 and process.poll() is None:
            time.sleep(0.02)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    stored = _count_images(killed)
    assert 0 < stored < images                       # killed mid-run, with images kept
    with sqlite3.connect(killed) as conn:            # whole images only: 3 cells per stored image
        assert conn.execute("SELECT COUNT(*) FROM cells").fetchone()[0] == 3 * stored

    resumed = subprocess.run(command(killed), cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    assert f"cells: {3 * stored} cached, {3 * (images - stored)} computed" in resumed.stdout
    assert _figures(killed) == _figures(whole)

    third = subprocess.run(command(killed), cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert f"cells: {3 * images} cached, 0 computed" in third.stdout
    assert third.stdout.split("cells:")[0] == resumed.stdout.split("cells:")[0]  # the same table


# --- runtime as NTIRE measures it --------------------------------------------------------------

@pytest.mark.slow  # torch.utils.flop_counter imports torch._dynamo (~15 s here)
def test_runtime_is_stored_once_per_image_with_params_flops_and_peak_memory(tmp_path, bench, capsys):
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from srgan_desktop.core.weights import load_model

    model = _tiny(tmp_path / "tiny_x4.safetensors")
    db = tmp_path / "results.db"
    args = ("--hr", bench, "-m", "bicubic", model, "--metrics", "psnr", "--db", db, "--runtime",
            "--runtime-runs", "2")
    _, _, out = _eval(capsys, *args)
    assert "Runtime (NTIRE" in out and "tiny_x4" in out.split("Runtime")[1]
    with ResultsDb(db) as store:
        runtimes = store.runtimes()
        costs = store.model_costs()
    assert len(runtimes) == 6                       # 2 methods × 3 images
    for r in runtimes:
        assert (r.warmup, r.runs, r.device) == (1, 2, "cpu") and 0 < r.min_s <= r.median_s
    assert all(r.peak_bytes is not None for r in runtimes)   # Linux: VmHWM reset per run
    (cost,) = costs.values()
    network, _ = load_model(model)
    assert cost.params == sum(p.numel() for p in network.parameters())
    with torch.no_grad(), FlopCounterMode(display=False) as counter:  # a real forward, not meta
        network(torch.rand(1, 3, 256, 256))
    assert cost.flops_256 == counter.get_total_flops()
    flops = {r.flops for r in runtimes if r.flops is not None}
    assert len(flops) == 1                          # the tiny model on three 16×16 LR images
    _eval(capsys, *args)
    with ResultsDb(db) as store:                    # timed once per device and machine
        assert len(store.runtimes()) == 6
    assert main(["results", str(db), "--json"]) == 0
    timing = {r["method"]: r for r in json.loads(capsys.readouterr().out)["runtime"]}
    assert timing["tiny_x4"]["params"] == cost.params and timing["tiny_x4"]["images"] == 3
    assert timing["bicubic"]["params"] is None


# --- executors --------------------------------------------------------------------------------

@pytest.mark.slow
def test_two_worker_processes_give_the_same_figures_as_one(tmp_path, bench, capsys):
    model = _tiny(tmp_path / "tiny_x4.safetensors")
    for workers in (1, 2):
        cached, computed, _ = _eval(capsys, "--hr", bench, "-m", "bicubic", model, "--metrics", "psnr",
                                    "ssim", "--db", tmp_path / f"w{workers}.db", "--workers", workers)
        assert (cached, computed) == (0, 12)
    assert _figures(tmp_path / "w1.db") == _figures(tmp_path / "w2.db")


def test_the_ray_executor_without_ray_is_one_line_naming_the_extra(tmp_path, bench):
    """As in the frozen app, which leaves Ray out: a refusal, no traceback."""
    code = ("import sys; sys.modules['ray'] = None; from srgan_desktop.__main__ import main; "
            "sys.exit(main(sys.argv[1:]))")
    done = subprocess.run([sys.executable, "-c", code, "eval", "--hr", str(bench), "-m", "bicubic",
                           "--metrics", "psnr", "--db", str(tmp_path / "r.db"), "--executor", "ray",
                           "--no-progress"], cwd=REPO, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("srgan-desktop: error:")]
    assert lines == ["srgan-desktop: error: --executor ray needs Ray, which is not installed: "
                     "pip install 'srgan-desktop[cluster]'"] and "Traceback" not in done.stderr


@pytest.fixture
def local_ray(monkeypatch):
    ray = pytest.importorskip("ray")  # in the test and cluster extras: skipped only where not installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_the_ray_executor_on_a_real_local_cluster_gives_the_same_figures_as_local(tmp_path, bench, capsys,
                                                                                   local_ray):
    model = _tiny(tmp_path / "tiny_x4.safetensors")
    args = ("--hr", bench, "-m", "bicubic", model, "hr", "--metrics", "psnr", "ssim", "niqe")
    assert _eval(capsys, *args, "--db", tmp_path / "local.db")[:2] == (0, 27)
    assert _eval(capsys, *args, "--db", tmp_path / "ray.db", "--executor", "ray", "--workers", "2")[:2] == (0, 27)
    assert local_ray.is_initialized()                # the driver used the cluster it found, left it up
    assert _figures(tmp_path / "ray.db") == _figures(tmp_path / "local.db")
    with sqlite3.connect(tmp_path / "ray.db") as conn:  # written by the driver, stamped by the actors
        assert conn.execute("SELECT COUNT(DISTINCT machine) FROM cells").fetchone()[0] == 1
    assert _eval(capsys, *args, "--db", tmp_path / "ray.db", "--executor", "ray")[:2] == (27, 0)
