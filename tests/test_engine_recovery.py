"""The engine's recovery paths: CUDA out-of-memory halves the tile, non-finite half precision
re-runs the tile in fp32.  The methods below fail on purpose; the engine around them is real."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from srgan_desktop.core.engine import BicubicMethod, Method, Upscaler, UpscaleError


class _OutOfMemoryAbove(Method):
    """Bicubic that raises CUDA's OOM error for padded tiles larger than ``limit`` pixels."""

    uses_torch = True

    def __init__(self, limit: int) -> None:
        self.inner = BicubicMethod()
        self.name, self.scale, self.pad = "oom", 4, self.inner.pad
        self.limit = limit
        self.sizes: list[tuple[int, int]] = []

    def run(self, tile: np.ndarray, half: bool, keep=None) -> np.ndarray:
        self.sizes.append(tile.shape[:2])
        if max(tile.shape[:2]) > self.limit:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory (test)")
        return self.inner.run(tile, half)


class _NaNInHalf(Method):
    uses_torch = True

    def __init__(self) -> None:
        self.inner = BicubicMethod()
        self.name, self.scale, self.pad = "nan-half", 4, self.inner.pad

    def run(self, tile: np.ndarray, half: bool, keep=None) -> np.ndarray:
        out = self.inner.run(tile, half)
        if half:
            out[0, 0, 0] = np.nan
        return out


def _image() -> np.ndarray:
    return np.random.default_rng(5).integers(0, 256, (64, 48, 3), dtype=np.uint8)


def test_out_of_memory_halves_the_tile_until_it_fits():
    method = _OutOfMemoryAbove(limit=30)
    progress: list[tuple[int, int]] = []
    result = Upscaler(method, device="cpu", tile=64).upscale(_image(), progress=lambda d, n: progress.append((d, n)))
    assert result.tile == 16  # 64 → 32 (padded 40: too big) → 16 (padded 24: fits)
    reference = Upscaler(BicubicMethod(), tile=0).upscale(_image()).rgb
    assert np.array_equal(result.rgb, reference)
    assert progress[-1][0] == progress[-1][1] == result.tiles


def test_out_of_memory_at_the_smallest_tile_is_a_clear_error():
    with pytest.raises(UpscaleError, match="out of GPU memory"):
        Upscaler(_OutOfMemoryAbove(limit=4), device="cpu", tile=32).upscale(_image())


def test_non_finite_half_precision_tiles_are_rerun_in_fp32():
    result = Upscaler(_NaNInHalf(), device="cpu", tile=32, precision="bf16").upscale(_image())
    assert result.fp32_fallbacks == result.tiles == 4
    assert np.array_equal(result.rgb, Upscaler(BicubicMethod(), tile=0).upscale(_image()).rgb)
