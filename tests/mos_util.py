"""Helpers shared by the MOS tests: tiny HR images, a study on disk, rating tables."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from srgan_desktop.mos.design import Condition, StudyDesign, make_design, parse_condition
from srgan_desktop.mos.records import RatingRow
from srgan_desktop.mos.stimuli import find_sources
from srgan_desktop.mos.store import Study, create_study

REPO = Path(__file__).resolve().parent.parent
#: Source image names that would be easy to spot if a widget ever showed them.
IMAGE_NAMES = ("zebracrossing", "lighthouse", "parrotfeather")


def write_hr_images(folder: Path, names=IMAGE_NAMES, size: tuple[int, int] = (34, 41)) -> Path:
    """Smooth-ish random RGB images (not multiples of 4, so cropping is exercised)."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    for i, name in enumerate(names):
        base = rng.integers(0, 256, (size[0] // 4 + 1, size[1] // 4 + 1, 3), dtype=np.uint8)
        big = np.kron(base, np.ones((4, 4, 1), dtype=np.uint8))[:size[0], :size[1]]
        noise = rng.integers(-12, 13, big.shape)
        Image.fromarray(np.clip(big.astype(int) + noise + i, 0, 255).astype(np.uint8)).save(folder / f"{name}.png")
    return folder


def conditions(model_file: Path | None = None) -> list[Condition]:
    chosen = [parse_condition(c) for c in ("nearest", "bicubic", "reference")]
    if model_file is not None:
        chosen.append(parse_condition(f"tinynet={model_file}"))
    return chosen


def build_study(tmp: Path, model_file: Path | None = None, replicates: int = 1,
                calibration: int = 1, min_view_s: float = 0.0, seed: int = 11,
                name: str = "pilot study", **viewing) -> Study:
    """A study of 3 tiny images; ``viewing``: magnification, grey_s, instructions, break_every."""
    sources = find_sources(write_hr_images(tmp / "hr"))
    design = make_design(name, list(sources), conditions(model_file), replicates=replicates,
                         calibration=calibration, min_view_s=min_view_s, seed=seed, **viewing)
    return create_study(design, sources, tmp / "studies" / "pilot")


def rate_by_condition(study: Study, raters=("r1", "r2", "r3")) -> None:
    """Every rater rates every trial: nearest ≈ 1, bicubic ≈ 3, reference ≈ 5 (± 1 by position)."""
    for k, rater in enumerate(raters):
        session = study.start_session(rater)
        for trial in study.trials(session.id):
            base = {"nearest": 1, "bicubic": 3, "reference": 5}[trial.condition]
            study.record_rating(session.id, trial.position, max(1, base - (trial.position + k) % 2), 900)


def rated_study_folder(tmp: Path) -> Path:
    """The folder of a closed study of 3 images × 3 conditions rated by 3 raters."""
    with build_study(tmp, calibration=0) as study:
        rate_by_condition(study)
        return study.folder


def design_only(replicates: int = 2, seed: int = 5) -> StudyDesign:
    return make_design("d", ["a", "b", "c", "d"], conditions(), replicates=replicates, seed=seed)


def row(rater: str, image: str, condition: str, score: int, replicate: int = 0,
        trial_index: int = 0) -> RatingRow:
    return RatingRow(study="s", rater=rater, session=1, image=image, condition=condition,
                     score=score, response_ms=1000, trial_index=trial_index, replicate=replicate,
                     seed=1, app_version="test")


def shown_panel(qtbot, study: Study, rater: str = "", size: tuple[int, int] = (640, 520)):
    """A RatingPanel on ``study``, shown and active (so key presses reach it)."""
    from srgan_desktop.ui.mos_panel import RatingPanel

    panel = RatingPanel(study, rater=rater)
    qtbot.addWidget(panel)
    panel.resize(*size)
    with qtbot.waitExposed(panel):
        panel.show()
    with qtbot.waitActive(panel):
        panel.activateWindow()
    return panel


def subprocess_env() -> dict[str, str]:
    """The environment for a child Python that imports this checkout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    return env


PYTHON = sys.executable
