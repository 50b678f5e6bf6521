"""Metric ↔ MOS agreement: correlations against hand-computed values and scipy, the VQEG
logistic, bootstrap intervals over images, and per-stimulus metrics of a real study."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from mos_util import build_study, rate_by_condition
from srgan_desktop.mos.agreement import (StimulusMetrics, agreement, correlations, fit_logistic4,
                                         logistic4, stimulus_metrics)
from srgan_desktop.mos.stats import analyse


def test_rank_correlations_by_hand():
    x = [1, 2, 3, 4, 5, 6]
    y = [1, 3, 2, 5, 4, 6]
    # d = 0, −1, 1, −1, 1, 0 → Σd² = 4 → ρ = 1 − 6·4 / (6·35) = 0.885714
    # 15 pairs, 2 discordant ((2,3), (4,5)) → τ = (13 − 2) / 15 = 0.733333
    groups = ["a", "a", "b", "b", "c", "c"]
    v = correlations(x, y, groups, resamples=50)
    assert v[0] == pytest.approx(0.885714, abs=1e-6) and v[3] == pytest.approx(11 / 15)
    assert v[1] <= v[0] <= v[2] or math.isnan(v[1])


def test_the_vqeg_logistic_is_recovered_and_plcc_is_pearson_of_the_fit():
    rng = np.random.default_rng(0)
    x = np.linspace(20, 34, 40)                       # PSNR-like
    beta = (4.6, 1.2, 27.0, 1.5)
    y = logistic4(x, *beta) + rng.normal(0, 0.05, x.size)
    fitted = fit_logistic4(x, y)
    assert fitted == pytest.approx(beta, rel=0.05)
    groups = [f"img{k // 4}" for k in range(x.size)]
    v = correlations(x, y, groups, resamples=100)
    expected_plcc = sps.pearsonr(logistic4(x, *fit_logistic4(x, y)), y)[0]
    assert v[6] == pytest.approx(expected_plcc, abs=1e-9) and v[6] > 0.99
    assert v[0] == pytest.approx(sps.spearmanr(x, y)[0]) and v[3] == pytest.approx(sps.kendalltau(x, y)[0])
    assert v[7] <= v[6] <= v[8] and v[7] > 0.95
    # a lower-is-better metric: the fit decreases, the correlations are negative
    d = correlations(-x, y, groups, resamples=50)
    assert d[0] < -0.99 and d[6] > 0.99   # PLCC of the fitted (monotone) mapping is positive


def test_agreement_says_too_few_and_keeps_reasons():
    cells = [StimulusMetrics("i1", "a", 3, 2.0, {"psnr": 25.0, "niqe": "too small for NIQE: 32×40"}),
             StimulusMetrics("i1", "b", 3, 4.0, {"psnr": 30.0, "niqe": "too small for NIQE: 32×40"}),
             StimulusMetrics("i1", "reference", 3, 4.8, {"psnr": math.inf, "niqe": 3.0})]
    result = agreement(cells, ["psnr", "niqe"])
    psnr, niqe = result.metrics
    assert psnr.stimuli == 2 and psnr.note.startswith("too few ratings") and math.isnan(psnr.srocc)
    assert "too small for NIQE" in niqe.note


def test_metrics_of_a_real_study(tmp_path):
    with build_study(tmp_path, calibration=0) as study:
        rate_by_condition(study)
        analysis = analyse(study.rows(), study.design.condition_keys)
        cells = stimulus_metrics(study, analysis.per_image, ["psnr", "ssim", "niqe", "lpips"])
        assert len(cells) == 9
        by = {(c.image, c.condition): c for c in cells}
        near = by[("lighthouse", "nearest")]
        assert isinstance(near.values["psnr"], float) and 5 < near.values["psnr"] < 60
        assert by[("lighthouse", "reference")].values["ssim"] == pytest.approx(1.0)
        assert "too small for NIQE" in near.values["niqe"]
        assert near.values["lpips"] == "no LPIPS weights"
        assert (study.folder / "metrics_cache.json").is_file()
        again = stimulus_metrics(study, analysis.per_image, ["psnr", "ssim", "niqe", "lpips"])
        assert [c.values for c in again] == [c.values for c in cells]
        result = agreement(cells, ["psnr", "ssim"], resamples=50)
        assert [m.metric for m in result.metrics] == ["psnr", "ssim"]
        # 6 non-reference stimuli from 3 images: enough to fit; intervals come from the bootstrap
        assert result.metrics[0].stimuli == 6 and result.metrics[0].note == ""
        assert -1 <= result.metrics[0].srocc <= 1


def test_summary_and_export_carry_the_agreement(tmp_path, capsys):
    import json

    from srgan_desktop.__main__ import main

    with build_study(tmp_path, calibration=0) as study:
        rate_by_condition(study)
        folder = study.folder
    assert main(["mos", "summary", str(folder), "--metrics", "psnr", "lpips", "--resamples", "50"]) == 0
    out = capsys.readouterr().out
    assert "Metric ↔ MOS agreement" in out and "psnr" in out
    assert "lpips" in out and "LPIPS: no ImageNet alexnet weights" in out   # says why, the rest runs
    assert main(["mos", "export", str(folder), "--json", str(tmp_path / "a.json"), "--per-image",
                 str(tmp_path / "p.csv"), "--metrics", "psnr", "ssim", "--resamples", "50"]) == 0
    document = json.loads((tmp_path / "a.json").read_text())
    assert [m["metric"] for m in document["analysis"]["agreement"]["metrics"]] == ["psnr", "ssim"]
    header = (tmp_path / "p.csv").read_text().splitlines()[0]
    assert header.endswith(",image,psnr,ssim")
