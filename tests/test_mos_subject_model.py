"""The subject model (Li & Bampis) gives Netflix sureal's estimates and recovers known raters."""

from __future__ import annotations

import types

import numpy as np
import pytest

from mos_util import row
from srgan_desktop.mos.subject_model import fit_mle_co, score_array, subject_model

sureal_model = pytest.importorskip("sureal.subjective_model")
sureal_reader = pytest.importorskip("sureal.dataset_reader")


def simulate(seed: int, raters: int = 12, images: int = 6, reps: int = 1, missing: float = 0.0):
    """Integer 1–5 votes from known qualities, rater biases and inconsistencies."""
    rng = np.random.default_rng(seed)
    conditions = {"nearest": 1.4, "bicubic": 2.3, "srresnet": 3.0, "srgan": 3.7, "reference": 4.5}
    bias = rng.normal(0, 0.5, raters)
    bias[0] = 1.2                      # a lenient rater
    inconsistency = rng.uniform(0.2, 1.0, raters)
    inconsistency[1] = 2.0             # an erratic one
    rows = []
    for i in range(raters):
        for im in range(images):
            for cond, quality in conditions.items():
                for rep in range(reps):
                    if missing and rng.random() < missing:
                        continue
                    vote = quality + 0.3 * (im % 3 - 1) + bias[i] + inconsistency[i] * rng.normal()
                    rows.append(row(f"r{i:02d}", f"img{im}", cond, int(np.clip(np.rint(vote), 1, 5)), rep))
    return rows, list(conditions), bias, inconsistency


def sureal_fit(u: np.ndarray, stimuli, raters):
    """sureal's MLE_CO_AP2 (its default model) on the same votes, through its own dataset reader."""
    dis_videos = []
    for j, (image, cond) in enumerate(stimuli):
        votes = {}
        for i, rater in enumerate(raters):
            scores = [float(v) for v in u[j, i] if not np.isnan(v)]
            if scores:
                votes[rater] = scores if u.shape[2] > 1 else scores[0]
        dis_videos.append({"content_id": 0, "asset_id": j, "os": votes, "path": f"{image}-{cond}"})
    dataset = types.SimpleNamespace(dataset_name="sim", ref_videos=[{"content_id": 0, "content_name": "c",
                                                                     "path": "ref"}],
                                    dis_videos=dis_videos, ref_score=5.0)
    reader = sureal_reader.RawDatasetReader(dataset)
    model = sureal_model.MaximumLikelihoodEstimationModelContentObliviousAlternativeProjection2(reader)
    return model.run_modeling(), reader


@pytest.mark.parametrize("seed, reps, missing", [(1, 1, 0.0), (2, 2, 0.0), (3, 1, 0.1)])
def test_estimates_equal_sureals_on_simulated_votes(seed, reps, missing):
    rows, conditions, _, _ = simulate(seed, reps=reps, missing=missing)
    u, stimuli, raters = score_array(rows, conditions)
    ours = fit_mle_co(u)
    theirs, reader = sureal_fit(u, stimuli, raters)
    assert reader._get_list_observers() == raters
    np.testing.assert_allclose(ours["quality"], theirs["quality_scores"], atol=1e-7)
    np.testing.assert_allclose(ours["quality_se"], theirs["quality_scores_std"], atol=1e-7)
    np.testing.assert_allclose(ours["bias"], theirs["observer_bias"], atol=1e-7)
    np.testing.assert_allclose(ours["bias_se"], theirs["observer_bias_std"], atol=1e-7)
    np.testing.assert_allclose(ours["inconsistency"], theirs["observer_inconsistency"], atol=1e-7)
    np.testing.assert_allclose(ours["inconsistency_minus"], theirs["observer_inconsistency_ci95"][0], atol=1e-7)
    np.testing.assert_allclose(ours["inconsistency_plus"], theirs["observer_inconsistency_ci95"][1], atol=1e-7)


def test_the_model_finds_the_lenient_and_the_erratic_rater():
    rows, conditions, bias, inconsistency = simulate(5, raters=20, images=10)
    model = subject_model(rows, conditions)
    assert [c.condition for c in model.conditions] == conditions
    scores = [c.score for c in model.conditions]
    assert scores == sorted(scores) and all(c.ci_low < c.score < c.ci_high for c in model.conditions)
    by = {r.rater: r for r in model.raters}
    assert max(by.values(), key=lambda r: r.bias).rater == "r00"
    assert max(by.values(), key=lambda r: r.inconsistency).rater == "r01"
    assert by["r00"].bias_ci_low > 0.5 and by["r01"].inconsistency_ci_low > 1.0
    assert abs(sum(r.bias for r in model.raters)) < 1e-9       # biases are centred
    assert len(model.stimuli) == 10 * 5 and model.rounds > 1


def test_too_few_raters_fit_nothing_and_say_so():
    rows = [row("a", "i", "A", 2), row("b", "i", "A", 3), row("a", "i", "B", 4), row("b", "i", "B", 5)]
    model = subject_model(rows)
    assert model.note.startswith("too few ratings") and model.conditions == [] and model.raters == []
