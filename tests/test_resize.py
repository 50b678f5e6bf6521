"""MATLAB-compatible bicubic: it must reproduce the benchmarks' own LR images."""

from __future__ import annotations

import numpy as np
import pytest

from srgan_desktop.core.images import load_image
from srgan_desktop.core.metrics import psnr
from srgan_desktop.core.resize import cubic, downscale, imresize, upscale


def _pairs(datasets, name):
    for hr_path in sorted((datasets / name / "HR").glob("*.png")):
        yield (load_image(hr_path).rgb,
               load_image(datasets / name / "LR_bicubic_x4" / hr_path.name).rgb)


def test_downscale_reproduces_the_benchmark_lr_images(datasets):
    same = total = worst = 0
    for name in ("Set5", "Set14"):
        for hr, lr in _pairs(datasets, name):
            ours = downscale(hr, 4)
            assert ours.shape == lr.shape and ours.dtype == np.uint8
            diff = np.abs(ours.astype(np.int16) - lr.astype(np.int16))
            same += int((diff == 0).sum())
            total += diff.size
            worst = max(worst, int(diff.max()))
    assert total > 0
    assert same / total >= 0.999, f"only {100 * same / total:.3f} % of values identical"
    assert worst <= 1


def test_bicubic_baseline_on_set5(datasets):
    scores = []
    for hr, lr in _pairs(datasets, "Set5"):
        hr = hr[: hr.shape[0] // 4 * 4, : hr.shape[1] // 4 * 4]
        scores.append(psnr(upscale(lr, 4), hr, border=4))
    assert len(scores) == 5
    assert np.mean(scores) == pytest.approx(28.42, abs=0.05)


def test_kernel_is_keys_with_a_minus_half():
    x = np.array([0.0, 0.5, 1.0, 1.5, 2.0, 2.5])
    assert np.allclose(cubic(x), [1.0, 0.5625, 0.0, -0.0625, 0.0, 0.0])
    assert np.allclose(cubic(-x), cubic(x))


def test_shapes_and_dtypes():
    rng = np.random.default_rng(0)
    img = rng.integers(0, 256, (37, 50, 3), dtype=np.uint8)
    up = upscale(img, 4)
    assert up.shape == (148, 200, 3) and up.dtype == np.uint8
    down = downscale(img, 4)  # cropped to 36 × 48 first
    assert down.shape == (9, 12, 3) and down.dtype == np.uint8
    assert imresize(img, scale=0.5).shape == (19, 25, 3)  # MATLAB rounds the size up
    assert imresize(img, output_shape=(10, 7)).shape == (10, 7, 3)
    gray = imresize(img[..., 0], scale=2)
    assert gray.shape == (74, 100) and gray.dtype == np.uint8
    mid = (img // 2 + 64).astype(np.uint8)  # no overshoot past 0 or 255, so nothing is clipped
    as_float = imresize(mid.astype(np.float32) / 255, scale=2)
    assert as_float.dtype == np.float64
    # the uint8 path is the float path rounded after each pass: at most a rounding step apart
    gap = np.abs(as_float * 255 - upscale(mid, 2).astype(np.float64))
    assert gap.max() <= 1.5 and gap.mean() < 0.5


def test_constant_images_stay_constant():
    flat = np.full((9, 11, 3), 77, dtype=np.uint8)
    assert (upscale(flat, 4) == 77).all()
    assert (downscale(np.full((16, 20), 200, dtype=np.uint8), 4) == 200).all()
    assert np.allclose(imresize(np.full((5, 6), 0.25), scale=3), 0.25)


def test_linear_ramps_are_reproduced_inside_the_image():
    ramp = np.tile(np.arange(12, dtype=np.float64), (6, 1))  # value = column index
    out = imresize(ramp, output_shape=(6, 48))
    # MATLAB's mapping: output column j (1-based) samples input x = j/4 + 0.375 (1-based)
    expected = np.arange(1, 49) / 4 + 0.375 - 1
    inside = slice(8, 40)
    assert np.allclose(out[:, inside], expected[inside], atol=1e-9)


def test_mirror_symmetry():
    rng = np.random.default_rng(1)
    img = rng.integers(0, 256, (13, 17, 3), dtype=np.uint8)
    assert np.array_equal(upscale(img[:, ::-1], 4), upscale(img, 4)[:, ::-1])
    assert np.array_equal(downscale(img[:12, :16][::-1], 4), downscale(img[:12, :16], 4)[::-1])


def test_one_pixel_images():
    pixel = np.array([[[10, 20, 30]]], dtype=np.uint8)
    assert (upscale(pixel, 4) == pixel).all()


@pytest.mark.parametrize("call", [
    lambda: imresize(np.zeros((0, 4)), scale=2),
    lambda: imresize(np.zeros((2, 2, 3, 1)), scale=2),
    lambda: imresize(np.zeros((4, 4)), scale=0),
    lambda: imresize(np.zeros((4, 4))),
    lambda: downscale(np.zeros((3, 8), dtype=np.uint8), 4),
])
def test_bad_arguments_raise_value_error(call):
    with pytest.raises(ValueError):
        call()
