"""The one measure registry: self-describing entries, border = scale everywhere.

The comparison window's scores (compare.scores.compute_scores, the worker passes the model's
scale as the border) and ``eval`` (commands.evaluate.evaluate_method, border = the upscaler's
scale) must give the same figures at ×2 and ×4 — the window used a fixed 4-px border before.
"""

from __future__ import annotations

import numpy as np
import pytest

from srgan_desktop.commands.evaluate import evaluate_method
from srgan_desktop.compare.scores import compute_scores
from srgan_desktop.core.benchmarks import Pair
from srgan_desktop.core.engine import BicubicMethod, Upscaler
from srgan_desktop.core.measures import MEASURES, WINDOW_EXTRAS, measure
from srgan_desktop.ui.metrics_panel import EXTRA_COLUMNS


def test_entries_describe_themselves():
    for entry in MEASURES.values():
        assert entry.version and callable(entry.compute) and entry.aggregate in ("mean", "median")
    assert MEASURES["niqe"].lower_is_better and not MEASURES["niqe"].needs_reference
    assert MEASURES["lpips"].needs_weights and not MEASURES["psnr"].needs_weights
    assert [key for key, _h, _f in EXTRA_COLUMNS] == list(WINDOW_EXTRAS)
    assert dict((k, h) for k, h, _f in EXTRA_COLUMNS) == {n: MEASURES[n].title for n in WINDOW_EXTRAS}


def test_border_is_required():
    image = np.zeros((32, 32, 3), np.uint8)
    with pytest.raises(TypeError):
        measure(image, image, ["psnr"])  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        compute_scores(image, image)  # type: ignore[call-arg]


@pytest.mark.parametrize("scale", [2, 4])
def test_window_scores_equal_eval(scale):
    rng = np.random.default_rng(scale)
    hr = (rng.random((48, 56, 3)) * 255).astype(np.uint8)
    hr[:, :, 1] = np.linspace(0, 255, 56, dtype=np.uint8)[None, :]
    upscaler = Upscaler(BicubicMethod(scale), device="cpu")
    lr = hr[::scale, ::scale].copy()
    [row] = evaluate_method(upscaler, [Pair("x", lr, hr)], metrics=["psnr", "ssim", "texture"])
    window = compute_scores(upscaler.upscale(lr).rgb, hr, "h", border=scale)
    assert window.psnr == pytest.approx(row.values["psnr"], abs=1e-9)
    assert window.ssim == pytest.approx(row.values["ssim"], abs=1e-9)
    assert window.texture == pytest.approx(row.values["texture"], abs=1e-9)
    fixed4 = compute_scores(upscaler.upscale(lr).rgb, hr, "h", border=4)
    if scale != 4:  # the old fixed border really differs at ×2
        assert fixed4.psnr != pytest.approx(row.values["psnr"], abs=1e-9)
