"""Paired comparison: a balanced schedule with random sides, choices in the store, the rating
panel (blind, ← →, the original shown), and Bradley–Terry scale values fitted by choix."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from itertools import combinations

import numpy as np
import pytest
from PySide6.QtCore import Qt

from mos_util import IMAGE_NAMES, row, shown_panel, write_hr_images
from srgan_desktop.__main__ import main
from srgan_desktop.mos.design import DesignError, make_design, parse_condition, rater_seed, trial_order
from srgan_desktop.mos.paired import analyse_pairs, preferences
from srgan_desktop.mos.stimuli import find_sources
from srgan_desktop.mos.store import StoreError, Study, create_study

CONDS = ("nearest", "bicubic", "reference")


def pc_design(images=("a", "b", "c", "d"), replicates=1, **kw):
    return make_design("pc", list(images), [parse_condition(c) for c in CONDS],
                       replicates=replicates, kind="pc", seed=3, **kw)


def test_schedule_is_balanced_with_random_sides():
    design = pc_design(replicates=2)
    assert design.calibration_images == []
    orders = [trial_order(design, rater_seed(design.seed, f"r{k}")) for k in range(40)]
    for order in orders:
        pairs = Counter((t.image, frozenset((t.condition, t.condition_b)), t.replicate) for t in order)
        assert len(order) == 4 * 3 * 2 and set(pairs.values()) == {1}   # every pair once per replicate
    lefts = Counter(t.condition for order in orders for t in order)
    # sides at random: each condition is on the left about half of its 2 × 4 × 2 × 40 appearances
    assert all(abs(lefts[c] / (4 * 2 * 2 * 40) - 0.5) < 0.08 for c in CONDS)
    assert orders[0] != orders[1]
    with pytest.raises(DesignError, match="two conditions"):
        make_design("x", ["a"], [parse_condition("bicubic")], kind="pc")


def test_bradley_terry_scale_values_with_intervals():
    rng = np.random.default_rng(0)
    strength = {"nearest": -1.5, "bicubic": 0.0, "srgan": 1.5}
    rows = []
    for r in range(8):
        for image in range(6):
            for a, b in combinations(strength, 2):
                p = 1 / (1 + np.exp(strength[b] - strength[a]))
                choice = 1 if rng.random() < p else 2     # 1: a (left) preferred
                rows.append(replace(row(f"r{r}", f"i{image}", a, choice), condition_b=b))
    result = analyse_pairs(rows, list(strength), resamples=200)
    values = {v.condition: v for v in result.scale}
    assert values["nearest"].value < values["bicubic"].value < values["srgan"].value
    assert abs(sum(v.value for v in result.scale)) < 1e-9
    assert all(v.ci_low <= v.value <= v.ci_high for v in result.scale)
    assert values["srgan"].ci_low > values["nearest"].ci_high
    assert result.comparisons == 8 * 6 * 3 and result.raters == 8
    assert sum(v.comparisons for v in result.scale) == 2 * result.comparisons
    # too few raters: values, but no intervals
    few = analyse_pairs([r for r in rows if r.rater in ("r0", "r1")], list(strength))
    assert any("too few ratings" in w for w in few.warnings) and np.isnan(few.scale[0].ci_low)
    with pytest.raises(ValueError, match="not a paired-comparison choice"):
        preferences([row("r", "i", "a", 3)])


@pytest.mark.gui
def test_paired_rating_panel_store_and_summary(qtbot, tmp_path, capsys):
    from srgan_desktop.ui.mos_panel import RATING

    sources = find_sources(write_hr_images(tmp_path / "hr"))
    design = make_design("pc study", list(sources), [parse_condition(c) for c in CONDS],
                         kind="pc", show_reference=True, seed=4)
    study = create_study(design, sources, tmp_path / "pc")
    panel = shown_panel(qtbot, study, "p1", (700, 600))
    assert [b.text().split("\n")[1] for b in panel.score_buttons] == ["Left is better", "Right is better"]
    panel.start()
    assert panel.page == RATING
    trial = panel.trial
    assert trial.condition_b and trial.condition != trial.condition_b
    left = study.stimulus_path(trial.stimulus_id)
    from srgan_desktop.core.images import load_image
    assert np.array_equal(panel.viewer.image(), load_image(left).rgb)
    assert np.array_equal(panel.viewer_b.image(), load_image(study.stimulus_path(trial.stimulus_b)).rgb)
    reference = study.stimulus_for(trial.image, "reference")
    assert np.array_equal(panel.reference_view.image(), load_image(study.stimulus_path(reference.id)).rgb)
    assert not panel.rate(4)                        # only left or right
    qtbot.keyClick(panel, Qt.Key.Key_Right)
    assert [r.score for r in study.rows()] == [2]
    while panel.page == RATING:
        assert panel.rate(1 if panel.trial.condition == "reference" else 2)
    rows = study.rows()
    assert len(rows) == len(IMAGE_NAMES) * 3 and all(r.condition_b for r in rows)
    with pytest.raises(StoreError, match="1 \\(left\\) or 2"):
        session = study.start_session("p2")
        study.record_rating(session.id, 0, 3, 100)
    for rater in ("p2", "p3"):
        session = study.start_session(rater)
        for t in study.trials(session.id):
            study.record_rating(session.id, t.position, 1 if t.condition == "reference" else 2, 300)
    assert study.verify_chain() == []
    folder = study.folder
    study.close()
    assert main(["mos", "summary", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "Bradley–Terry scale values" in out
    lines = [l for l in out.splitlines() if l.startswith(("reference", "bicubic", "nearest"))]
    assert lines[0].startswith("reference")        # preferred by everyone
    assert main(["mos", "export", str(folder), "--json", str(tmp_path / "pc.json")]) == 0
    import json
    document = json.loads((tmp_path / "pc.json").read_text())
    assert document["analysis"]["scale"][0]["condition"] in CONDS
    assert document["ratings"][0]["condition_b"]


@pytest.mark.gui
def test_results_view_shows_scale_values(qtbot, tmp_path):
    from srgan_desktop.ui.mos_results import ResultsView

    sources = find_sources(write_hr_images(tmp_path / "hr"))
    design = make_design("pc view", list(sources), [parse_condition(c) for c in CONDS], kind="pc", seed=5)
    with create_study(design, sources, tmp_path / "pc") as study:
        for rater in ("a", "b", "c"):
            session = study.start_session(rater)
            for t in study.trials(session.id):
                study.record_rating(session.id, t.position, 1 if t.condition == "reference" else 2, 300)
        view = ResultsView()
        qtbot.addWidget(view)
        view.set_study(study)
        table = view.summary_table
        headers = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
        column = headers.index("BT scale value")
        assert table.rowCount() == 3
        first = [table.item(r, 0).text() for r in range(3)]
        values = {table.item(r, 0).text(): float(table.item(r, column).text()) for r in range(3)}
        assert max(values, key=values.get) == "reference" and set(first) == set(CONDS)
