"""Validation during training: PSNR/SSIM (Y, border = scale), NIQE, the grid measure and the
texture ratio on benchmarks.

NIQE is the mean over the images NIQE can score (all of Set5 and Set14; absent when none can be);
the grid measure is the
median over images of :func:`srgan_desktop.core.metrics.grid_ratio` (a mean would be ruled by the
one image whose HR spectrum is nearly empty at the lattice frequencies).

It loads benchmarks with the app's own :mod:`srgan_desktop.core.benchmarks` and runs the
generator through the app's engine and metrics, so the figures in the training log and in a
model card are the figures ``srgan-desktop eval`` reports.
"""

from __future__ import annotations

from dataclasses import astuple
from pathlib import Path

import numpy as np
import torch

from srgan_desktop.core.benchmarks import Dataset, find_dataset
from srgan_desktop.core.engine import NetworkMethod, Upscaler
from srgan_desktop.core.metrics import grid_ratio, score
from srgan_desktop.core.niqe import NiqeError, niqe
from srgan_desktop.core.weights import ModelDescriptor

__all__ = ["load_benchmark", "validate"]


def load_benchmark(hr_dir: str | Path, scale: int = 4, lr_dir: str | Path | None = None) -> Dataset:
    """A benchmark root (``HR/`` + ``LR_bicubic_x{scale}/``) or an HR folder (LR made with bicubic),
    its images decoded now (the dataset caches them) so validations only run the model."""
    dataset = find_dataset(hr_dir, lr_dir)
    dataset.pairs(scale)
    return dataset


def validate(generator: torch.nn.Module, benchmark: Dataset, device: str = "cpu",
             scale: int = 4) -> dict[str, float]:
    """Mean PSNR, SSIM, NIQE and texture ratio (HR = 1) and the median grid ratio of ``generator``
    on ``benchmark``.

    NIQE and the grid tell natural texture from a collapsed, noisy or gridded GAN, next to PSNR.
    The model is left in the mode it was in."""
    was_training = generator.training
    generator.eval()
    descriptor = ModelDescriptor(name="validation", scale=scale,
                                 num_blocks=getattr(generator, "num_blocks", 16),
                                 channels=getattr(generator, "channels", 64))
    upscaler = Upscaler(NetworkMethod(generator, descriptor), device=device, tile=0, precision="fp32")
    scores, naturalness, grids = [], [], []
    try:
        for pair in benchmark.pairs(scale):
            sr = upscaler.upscale(pair.lr).rgb
            scores.append(astuple(score(sr, pair.hr, border=scale))[:3])
            grids.append(grid_ratio(sr, pair.hr, scale, border=scale))
            try:
                naturalness.append(niqe(sr, border=scale))
            except NiqeError:
                pass  # too small for NIQE: left out of the mean
    finally:
        generator.train(was_training)
    mean = np.mean(np.array(scores, dtype=np.float64), axis=0)
    row = {"psnr": float(mean[0]), "ssim": float(mean[1]), "texture": float(mean[2]),
           "grid": float(np.median(grids))}
    if naturalness:  # no key at all when every image is too small for NIQE
        row["niqe"] = float(np.mean(naturalness))
    return row
