"""Render the MOS screenshots of ``docs/readme/mos.md`` offscreen.

    .venv/bin/python scripts/mos_screenshots.py [--out docs/screenshots]

Builds a throw-away study from crops of the bundled sample images (nearest, bicubic, SRResNet
when its weights are there, original HR), fills it with *simulated* ratings (12 raters around
the SRGAN paper's BSD100 MOS values, plus one erratic rater for BT.500 to flag) and saves:

* ``mos_editor.png``       the study editor;
* ``mos_calibration.png``  the rating panel showing a calibration anchor;
* ``mos_rating_panel.png`` the rating panel during a trial;
* ``mos_results.png``      the results view (MOS table, distribution and mean-rank plots);
* ``mos_raters.png``       BT.500 screening and test–retest;
* ``mos_paired_results.png`` the results of a paired-comparison study of the same conditions
  (simulated Bradley–Terry choices): scale values with intervals and the preference matrix.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

#: simulated means per condition (the paper's BSD100 MOS: NN 1.11, bicubic 1.47, SRResNet 2.98,
#: HR 4.32); the erratic rater answers at random.
SIMULATED = {"nearest": 1.11, "bicubic": 1.47, "srresnet": 2.98, "reference": 4.32}


def make_sources(folder: Path) -> dict[str, Path]:
    from srgan_desktop.core.images import load_image, save_image
    from srgan_desktop.paths import samples_dir

    folder.mkdir(parents=True, exist_ok=True)
    crops = {"astronaut_face": ("astronaut.png", 40, 150), "astronaut_flag": ("astronaut.png", 300, 20),
             "coffee_cup": ("coffee.png", 60, 200), "coffee_spoon": ("coffee.png", 250, 330)}
    sources = {}
    for name, (file, y, x) in crops.items():
        rgb = load_image(samples_dir() / file).rgb
        sources[name] = save_image(folder / f"{name}.png", rgb[y:y + 160, x:x + 160])
    return sources


def simulate(study, raters: int = 12, seed: int = 3) -> None:
    rng = np.random.default_rng(seed)
    for r in range(raters + 1):
        session = study.start_session(f"R{r + 1:02d}")
        study.mark_calibrated(session.id)
        for trial in study.trials(session.id):
            if r == raters:
                score = int(rng.integers(1, 6))
            else:
                score = int(np.clip(round(SIMULATED.get(trial.condition, 3.0) + rng.normal(0, 0.6)), 1, 5))
            study.record_rating(session.id, trial.position, score, int(rng.integers(1500, 6000)))


def simulate_pairs(study, raters: int = 12, seed: int = 5) -> None:
    """Choices from a Bradley–Terry model whose strengths follow the simulated MOS."""
    rng = np.random.default_rng(seed)
    strength = {c: 1.6 * (m - 3.0) for c, m in SIMULATED.items()}
    for r in range(raters):
        session = study.start_session(f"P{r + 1:02d}")
        for trial in study.trials(session.id):
            a, b = strength.get(trial.condition, 0.0), strength.get(trial.condition_b, 0.0)
            left = rng.random() < 1.0 / (1.0 + np.exp(b - a))
            study.record_rating(session.id, trial.position, 1 if left else 2, int(rng.integers(1500, 6000)))


def grab(widget, path: Path, width: int, height: int) -> None:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    widget.resize(width, height)
    widget.show()
    for _ in range(5):
        QApplication.processEvents()
    image = widget.grab().toImage()
    if image.width() > 900:
        image = image.scaledToWidth(900, Qt.TransformationMode.SmoothTransformation)
    image.save(str(path), "PNG")
    print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="mos-shots-"))
    os.environ["SRGAN_DESKTOP_DATA"] = str(scratch / "data")  # never touch the real user data

    from PySide6.QtWidgets import QApplication

    from srgan_desktop.mos.design import BUILTIN_CONDITIONS, make_design
    from srgan_desktop.mos.store import create_study
    from srgan_desktop.ui.mos_editor import StudyEditor, model_availability
    from srgan_desktop.ui.mos_panel import RatingPanel
    from srgan_desktop.ui.mos_results import ResultsView

    app = QApplication.instance() or QApplication(sys.argv[:1])
    sources = make_sources(scratch / "hr")
    missing = model_availability()
    conditions = [BUILTIN_CONDITIONS[k] for k in SIMULATED if k not in missing]
    design = make_design("Sample study (simulated ratings)", list(sources), conditions,
                         replicates=2, calibration=1, min_view_s=0.0, seed=2017)
    study = create_study(design, sources, scratch / "data" / "mos" / "sample", device="cpu")

    editor = StudyEditor(root=Path("~/.local/share/srgan-desktop/mos"))
    editor.name_edit.setText("BSD100 ×4 pilot")
    editor.images_edit.setText("~/datasets/BSD100/HR")
    editor.images_label.setText("100 image(s): 101085, 101087, 102061, 103070, 105025, 106024…")
    editor.replicate_spin.setValue(2)
    editor.min_view_spin.setValue(3.0)
    editor.seed_spin.setValue(2017)
    grab(editor, args.out / "mos_editor.png", 560, 640)

    panel = RatingPanel(study, rater="R01")
    panel.start()
    grab(panel, args.out / "mos_calibration.png", 820, 640)
    while panel._calibration:
        panel.next_example()
    grab(panel, args.out / "mos_rating_panel.png", 820, 640)
    panel.pause()

    simulate(study)
    results = ResultsView()
    results.set_study(study)
    grab(results, args.out / "mos_results.png", 1000, 640)
    results.tabs.setCurrentIndex(2)
    grab(results, args.out / "mos_raters.png", 1000, 520)

    paired = make_design("Paired comparison (simulated choices)", list(sources), conditions,
                         replicates=1, kind="pc", seed=2017)
    pc_study = create_study(paired, sources, scratch / "data" / "mos" / "paired", device="cpu")
    simulate_pairs(pc_study)
    results.set_study(pc_study)
    results.tabs.setCurrentIndex(0)
    grab(results, args.out / "mos_paired_results.png", 1000, 600)
    pc_study.close()
    study.close()
    for widget in (results, panel, editor):
        widget.close()
        widget.deleteLater()
    app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
