"""PSNR/SSIM as the SR literature computes them (checked against scikit-image), and texture."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from srgan_desktop.core.metrics import (ImageScores, high_frequency_share, psnr, rgb_to_y, score, ssim,
                                        texture_ratio)


def _photo_like(h: int = 64, w: int = 72, seed: int = 0) -> np.ndarray:
    """Smooth shapes plus fine texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([120 + 80 * np.sin(xx / 6.0), 120 + 70 * np.cos(yy / 5.0),
                     100 + 60 * np.sin((xx - yy) / 8.0)], axis=-1)
    return np.clip(base + rng.normal(0, 20, (h, w, 3)), 0, 255).astype(np.uint8)


def _distorted(img: np.ndarray, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    blurred = cv2.GaussianBlur(img, (5, 5), 1.0).astype(np.float64)
    return np.clip(blurred + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)


def _y_cropped(img: np.ndarray, border: int) -> np.ndarray:
    return rgb_to_y(img)[border:-border, border:-border]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_psnr_and_ssim_agree_with_scikit_image(seed):
    hr = _photo_like(seed=seed)
    sr = _distorted(hr, seed=seed + 10)
    ya, yb = _y_cropped(sr, 4), _y_cropped(hr, 4)
    ref_psnr = peak_signal_noise_ratio(yb, ya, data_range=255)
    ref_ssim = structural_similarity(yb, ya, gaussian_weights=True, sigma=1.5,
                                     use_sample_covariance=False, data_range=255)
    assert psnr(sr, hr, border=4) == pytest.approx(ref_psnr, abs=0.01)
    assert ssim(sr, hr, border=4) == pytest.approx(ref_ssim, abs=0.001)
    assert 15 < ref_psnr < 40 and 0.3 < ref_ssim < 0.99  # a meaningful comparison, not a corner case


def test_identical_images():
    img = _photo_like()
    assert psnr(img, img) == math.inf
    assert ssim(img, img) == pytest.approx(1.0, abs=1e-12)
    assert texture_ratio(img, img) == pytest.approx(1.0, abs=1e-12)
    figures = score(img, img)
    assert isinstance(figures, ImageScores) and figures.psnr == math.inf


def test_psnr_of_a_known_error():
    a = np.full((20, 20, 3), 100, np.uint8)
    b = a.copy()
    b[..., 1] = 110  # ΔY = 128.553 · 10/255 everywhere
    expected = 10 * math.log10(255 ** 2 / (128.553 * 10 / 255) ** 2)
    assert psnr(b, a, border=4) == pytest.approx(expected, abs=1e-9)


def test_luma_is_bt601():
    assert rgb_to_y(np.zeros((1, 1, 3), np.uint8))[0, 0] == pytest.approx(16.0)
    assert rgb_to_y(np.full((1, 1, 3), 255, np.uint8))[0, 0] == pytest.approx(235.0)
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4)
    assert np.array_equal(rgb_to_y(gray), gray.astype(np.float64))


def test_border_is_removed():
    hr = _photo_like()
    sr = hr.copy()
    sr[:4] = 0  # damage only inside the border
    assert psnr(sr, hr, border=4) == math.inf
    assert psnr(sr, hr, border=0) < 30


def test_texture_ratio_is_below_one_when_blurred_above_one_when_noisy():
    hr = _photo_like(96, 96)
    blurred = cv2.GaussianBlur(hr, (9, 9), 2.0)
    noisy = np.clip(hr + np.random.default_rng(5).normal(0, 40, hr.shape), 0, 255).astype(np.uint8)
    assert texture_ratio(hr, hr) == 1.0
    assert texture_ratio(blurred, hr) < 0.5
    assert texture_ratio(noisy, hr) > 1.0
    assert 0.0 < high_frequency_share(hr) < 1.0
    assert high_frequency_share(np.full((32, 32, 3), 9, np.uint8)) == 0.0


def test_size_mismatch_and_tiny_images_are_value_errors():
    with pytest.raises(ValueError, match="differ in size"):
        psnr(_photo_like(32, 32), _photo_like(32, 36))
    with pytest.raises(ValueError, match="too small"):
        ssim(_photo_like(8, 8), _photo_like(8, 8), border=4)


def test_ssim_refuses_images_smaller_than_its_window():
    img = np.full((16, 16, 3), 128, dtype=np.uint8)
    with pytest.raises(ValueError, match="too small"):
        ssim(img, img, border=4)


def test_grid_ratio_sees_a_pixel_shuffle_grid_not_texture():
    from srgan_desktop.core.measures import MEASURES, measure
    from srgan_desktop.core.metrics import grid_ratio
    from srgan_desktop.core.resize import upscale

    rng = np.random.default_rng(5)
    hr = np.clip(upscale(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8), 4).astype(np.int16)
                 + rng.normal(0, 6, (160, 160, 3)).astype(np.int16), 0, 255).astype(np.uint8)
    assert grid_ratio(hr, hr) == pytest.approx(1.0)
    noisy = np.clip(hr + rng.normal(0, 6, hr.shape), 0, 255).astype(np.uint8)  # more broadband texture
    gridded = hr.astype(np.int16)
    gridded[1::4, 2::4] += 10  # a faint 4-periodic lattice
    gridded = np.clip(gridded, 0, 255).astype(np.uint8)
    assert grid_ratio(noisy, hr) < 1.6
    assert grid_ratio(gridded, hr) > 3 * grid_ratio(noisy, hr)
    assert measure(gridded, hr, ["grid"], border=4)["grid"] == pytest.approx(grid_ratio(gridded, hr))
    assert MEASURES["grid"].aggregate == "median" and MEASURES["psnr"].aggregate == "mean"
    assert "too small" in measure(hr[:20, :20], hr[:20, :20], ["grid"], border=4)["grid"]


def test_grid_level_reads_a_lattice_pattern_in_levels_of_y():
    """A ±A pattern at the ×2 lattice (the Nyquist checkerboard) in R = G = B reads 0.859·A (Y's
    219 levels over 255); a smooth image reads ~0 whatever its contrast, where grid's ratio is
    ill-conditioned (its HR has almost nothing on the lattice)."""
    from srgan_desktop.core.measures import measure
    from srgan_desktop.core.metrics import grid_level
    from srgan_desktop.core.resize import upscale

    checker = np.indices((96, 128)).sum(0) % 2 * 2 - 1
    for amplitude in (1.0, 3.0):
        image = np.repeat((128 + amplitude * checker)[..., None], 3, axis=2)
        assert grid_level(image, 2, 2) == pytest.approx(amplitude * 219 / 255, rel=0.01)
    smooth = upscale(np.random.default_rng(3).integers(0, 256, (12, 16, 3), dtype=np.uint8), 8)
    assert grid_level(smooth, 2, 2) < 0.05
    # at ×4: a 4×4 phase pattern of RMS 2 levels (in Y), on a uniform grey
    rng = np.random.default_rng(0)
    cell = rng.normal(size=(4, 4))
    cell = (cell - cell.mean()) / np.sqrt(((cell - cell.mean()) ** 2).mean())
    image = np.repeat((128 + 2 * 255 / 219 * np.tile(cell, (24, 32)))[..., None], 3, axis=2)
    assert grid_level(image, 4, 4) == pytest.approx(2.0, rel=0.01)
    value = measure(image, None, ["grid_level"], border=4, scale=4)["grid_level"]
    assert value == pytest.approx(grid_level(image, 4, 4))


def test_colour_cast_sees_a_shift_of_one_channel_that_the_y_measures_barely_see():
    """A cast of +6 levels in G and −6 in R is 6 levels of colour_cast; the border is left out;
    a change of texture with the same means is no cast."""
    from srgan_desktop.core.measures import MEASURES, measure
    from srgan_desktop.core.metrics import colour_cast

    rng = np.random.default_rng(3)
    hr = rng.integers(40, 200, (48, 48, 3), dtype=np.uint8)
    cast = hr.astype(np.int16)
    cast[..., 1] += 6
    cast[..., 0] -= 6
    cast = cast.astype(np.uint8)
    assert colour_cast(hr, hr, border=4) == 0.0
    assert colour_cast(cast, hr, border=4) == pytest.approx(6.0)
    edged = hr.copy()
    edged[:4] = 255  # only in the border
    assert colour_cast(edged, hr, border=4) == 0.0
    shuffled = hr.copy()
    rng.shuffle(shuffled[4:-4, 4:-4].reshape(-1, 3))  # other texture, same channel means
    assert colour_cast(shuffled, hr, border=4) == pytest.approx(0.0, abs=1e-9)
    assert measure(cast, hr, ["colour_cast", "psnr"], border=4)["colour_cast"] == pytest.approx(6.0)
    assert MEASURES["colour_cast"].lower_is_better and MEASURES["colour_cast"].needs_reference
    with pytest.raises(ValueError, match="RGB"):
        colour_cast(hr[..., 0], hr[..., 0], border=4)


def test_mean_chroma_is_zero_for_grey_and_counts_colour_in_levels():
    from srgan_desktop.core.metrics import mean_chroma

    rng = np.random.default_rng(0)
    grey = np.repeat(rng.integers(0, 256, (32, 32, 1), dtype=np.uint8), 3, axis=2)
    assert mean_chroma(grey, border=4) == 0.0
    tinted = np.stack([grey[..., 0].astype(np.float64) + 3, grey[..., 1].astype(np.float64) - 3,
                       grey[..., 2].astype(np.float64)], axis=2)  # |3|, |−3|, 0 about the grey
    assert mean_chroma(tinted, border=4) == pytest.approx(2.0)
    edged = grey.copy()
    edged[:4, :, 0] = 255  # colour in the border only
    assert mean_chroma(edged, border=4) == 0.0
    with pytest.raises(ValueError):
        mean_chroma(grey[:8, :8], border=4)
