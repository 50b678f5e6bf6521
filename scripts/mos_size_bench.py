"""Size benchmark of a MOS study the SRGAN paper's size: 26 raters × 1,428 trials (119 images ×
12 conditions), simulated, then timed: ``mos summary`` (a fresh process, as a user runs it),
``mos check``, and the results window (offscreen) opening the study.

    .venv/bin/python scripts/mos_size_bench.py [--keep DIR]

Stimuli are small (32×32) so that making them takes seconds; the database holds the paper's
number of ratings, each inserted as a link of its rater's hash chain (one transaction per
rater instead of one per rating, which only the simulation needs).  Prints the figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from srgan_desktop.mos.design import make_design, parse_condition  # noqa: E402
from srgan_desktop.mos.stimuli import find_sources  # noqa: E402
from srgan_desktop.mos.store import Study, _transaction, create_study  # noqa: E402

RATERS, IMAGES = 26, 119
OTHERS = ["srcnn", "selfexsr", "drcn", "espcn", "srresnet_mse", "srresnet_vgg22", "srgan_mse",
          "srgan_vgg22", "srgan_vgg54"]          # 9 result folders + nearest, bicubic, HR = 12


def make(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    hr = folder / "hr"
    hr.mkdir(parents=True)
    for k in range(IMAGES):
        Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(hr / f"img{k:03d}.png")
    conditions = [parse_condition(c) for c in ("nearest", "bicubic", "reference")]
    for name in OTHERS:
        out = folder / name
        out.mkdir()
        for k in range(IMAGES):
            Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(out / f"img{k:03d}.png")
        conditions.append(parse_condition(f"{name}={out}"))
    sources = find_sources(hr)
    design = make_design("paper size", list(sources), conditions, calibration=0, seed=2017)
    t = time.perf_counter()
    with create_study(design, sources, folder / "study") as study:
        print(f"created {len(study.stimuli)} stimuli in {time.perf_counter() - t:.1f} s")
        quality = {c.key: q for c, q in zip(conditions, np.linspace(1.3, 4.6, len(conditions)))}
        t = time.perf_counter()
        for r in range(RATERS):
            session = study.start_session(f"rater{r:02d}")
            bias, noise = rng.normal(0, 0.4), rng.uniform(0.4, 1.0)
            with _transaction(study._conn) as conn:
                for trial in study.trials(session.id):
                    score = int(np.clip(np.rint(quality[trial.condition] + bias + noise * rng.normal()), 1, 5))
                    Study._insert_rating(conn, session.id, trial.position, score,
                                         int(rng.integers(800, 6000)), f"2026-01-01T00:00:{r:02d}",
                                         "bench", None)
        print(f"recorded {RATERS} × {len(study.trials(session.id))} = {len(study.rows())} ratings "
              f"in {time.perf_counter() - t:.1f} s")
    return folder / "study"


def timed(args: list[str]) -> str:
    """Wall and CPU seconds of a fresh ``python -m srgan_desktop ARGS`` (CPU time is what the
    command costs on an idle machine; wall time also counts waiting for a busy CPU)."""
    env = dict(os.environ, PYTHONPATH=str(REPO))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "srgan_desktop", *args], capture_output=True,
                          text=True, env=env)
    seconds = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed: {done.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return f"{seconds:6.2f} s wall, {cpu:6.2f} s CPU"


def clock():
    return time.perf_counter(), time.process_time()


def since(start) -> str:
    return f"{time.perf_counter() - start[0]:.2f} s wall, {time.process_time() - start[1]:.2f} s CPU"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, default=None, help="make the study here and keep it")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="mos-size-"))
    study = make(folder) if not (folder / "study").is_dir() else folder / "study"
    print(f"study: {study}")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"python -m srgan_desktop --version (start-up): {timed(['--version'])}")
    empty = Path(tempfile.mkdtemp(prefix="mos-empty-"))
    print(f"mos list of an empty root (start-up cost):   {timed(['mos', 'list', '--root', str(empty)])}")
    print(f"mos summary (fresh process):                 {timed(['mos', 'summary', str(study)])}")
    print(f"mos summary --json (fresh process):          {timed(['mos', 'summary', str(study), '--json'])}")
    print(f"mos check (fresh process):                   {timed(['mos', 'check', str(study)])}")

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from srgan_desktop.ui.mos_results import ResultsView

    app = QApplication.instance() or QApplication([])
    t = clock()
    with Study.open(study) as opened:
        t_open = since(t)
        view = ResultsView()
        view.show()
        t = clock()
        view.set_study(opened)
        app.processEvents()
        t_view = since(t)
        t = clock()
        view.compute_agreement(wait=True, metrics=("psnr", "ssim"), resamples=200)
        t_agree = since(t)
        t = clock()
        view.compute_agreement(wait=True, metrics=("psnr", "ssim"), resamples=200)
        t_agree2 = since(t)
        view.close()
    print(f"results window: open + verify 1,428 stimuli: {t_open}")
    print(f"results window: analysis + tables + plots:   {t_view}")
    print(f"metric agreement (psnr, ssim; 200 resamples): {t_agree} first, {t_agree2} with the "
          f"metric cache")


if __name__ == "__main__":
    main()
