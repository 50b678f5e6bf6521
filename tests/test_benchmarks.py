"""core.benchmarks: the one loader of benchmark folders (eval and trainer validation share it)."""

from __future__ import annotations

import numpy as np
import pytest

from srgan_desktop.core.benchmarks import BenchmarkError, find_dataset
from srgan_desktop.core.images import save_image
from srgan_desktop.core.resize import downscale


def _image(h: int, w: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_root_with_lr_folder_and_cropping(tmp_path):
    root = tmp_path / "Bench"
    (root / "HR").mkdir(parents=True)
    (root / "LR_bicubic_x4").mkdir()
    hr = _image(66, 50, 0)  # not a multiple of 4: cropped to 64×48
    save_image(root / "HR" / "a.png", hr)
    save_image(root / "LR_bicubic_x4" / "a.png", downscale(hr))
    dataset = find_dataset(root)
    assert dataset.name == "Bench" and dataset.lr_source(4) == root / "LR_bicubic_x4"
    (pair,) = dataset.pairs(4)
    assert pair.hr.shape == (64, 48, 3) and pair.lr.shape == (16, 12, 3)


def test_hr_folder_alone_makes_lr_with_matlab_bicubic(tmp_path):
    hr = _image(32, 32, 1)
    save_image(tmp_path / "b.png", hr)
    (pair,) = find_dataset(tmp_path).pairs(4)
    assert np.array_equal(pair.lr, downscale(hr))


def test_inconsistent_or_missing_folders_are_clear_errors(tmp_path):
    with pytest.raises(BenchmarkError, match="no such folder"):
        find_dataset(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchmarkError, match="no images"):
        find_dataset(tmp_path / "empty")
    root = tmp_path / "Bad"
    (root / "HR").mkdir(parents=True)
    (root / "LR_bicubic_x4").mkdir()
    save_image(root / "HR" / "c.png", _image(32, 32, 2))
    save_image(root / "LR_bicubic_x4" / "c.png", _image(9, 8, 3))
    with pytest.raises(BenchmarkError, match="expected"):
        find_dataset(root).pairs(4)
