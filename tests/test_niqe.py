"""NIQE: the independent reference values, the shipped pristine model, and bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from srgan_desktop.core.images import load_image
from srgan_desktop.core.niqe import MIN_SIDE, NiqeError, niqe, pristine_model
from srgan_desktop.core.resize import upscale
from srgan_desktop.errors import SrganDesktopError

from conftest import DATASETS

REFERENCE = DATASETS.parent / "reference" / "niqe"


@pytest.fixture(scope="module")
def reference() -> dict[str, float]:
    path = REFERENCE / "niqe_reference.json"
    if not path.is_file():
        pytest.skip(f"NIQE reference values not found at {path}")
    return json.loads(path.read_text())["values"]


def test_shipped_pristine_model_equals_the_published_one():
    path = REFERENCE / "niqe_pris_params.npz"
    if not path.is_file():
        pytest.skip(f"{path} not found")
    published = np.load(path)
    mu, cov, window = pristine_model()
    assert np.array_equal(mu, published["mu_pris_param"].ravel())
    assert np.array_equal(cov, published["cov_pris_param"])
    assert np.array_equal(window, published["gaussian_window"])


def test_every_reference_value_within_0_01(reference):
    misses = {}
    for key, expected in reference.items():
        name, border = key.split("|")
        value = niqe(load_image(DATASETS / name).rgb, border=int(border.split("=")[1]))
        if abs(value - expected) >= 0.01:
            misses[key] = (expected, round(value, 5))
    assert len(reference) >= 38 and not misses


@pytest.mark.parametrize("shape", [(191, 400), (400, 100), (8, 8), (0, 0)])
def test_too_small_images_are_refused_clearly(shape):
    with pytest.raises(NiqeError, match="too small for NIQE") as info:
        niqe(np.zeros(shape + (3,), dtype=np.uint8) + 128)
    assert isinstance(info.value, SrganDesktopError)


def test_border_counts_towards_the_size():
    img = upscale(np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8), 4)
    assert img.shape[0] == MIN_SIDE
    assert np.isfinite(niqe(img, border=0))
    with pytest.raises(NiqeError, match="too small"):
        niqe(img, border=4)


def test_flat_image_is_undefined_not_nan():
    with pytest.raises(NiqeError, match="undefined"):
        niqe(np.full((256, 256, 3), 77, dtype=np.uint8))


def test_grayscale_file_and_alpha_match_rgb(tmp_path):
    """A grey file is read as RGB (R = G = B), so its NIQE is that of the RGB image; alpha is ignored."""
    from PIL import Image

    rgb = upscale(np.random.default_rng(1).integers(0, 256, (60, 60, 3), dtype=np.uint8), 4)
    grey = rgb[..., 0]
    Image.fromarray(grey, "L").save(tmp_path / "grey.png")
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    assert niqe(rgba) == niqe(rgb)
    assert niqe(load_image(tmp_path / "grey.png").rgb) == niqe(np.dstack([grey] * 3))


def test_blur_raises_niqe():
    """NIQE measures naturalness: bicubic-blurring an HR image makes it clearly worse."""
    hr = load_image(DATASETS / "Set14" / "HR" / "img_003.png").rgb if DATASETS.is_dir() else None
    if hr is None:
        pytest.skip("datasets missing")
    from srgan_desktop.core.resize import downscale
    blurred = upscale(downscale(hr, 4), 4)
    assert niqe(blurred, 4) > niqe(hr[: blurred.shape[0], : blurred.shape[1]], 4) + 1.0
