"""Validation during training: PSNR/SSIM (Y, border = scale) on benchmark folders.

It runs the generator through the app's own engine and metrics, so the figures in the training
log are the figures ``srgan-desktop eval`` reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from srgan_desktop.core.engine import NetworkMethod, Upscaler
from srgan_desktop.core.images import IMAGE_SUFFIXES, load_image
from srgan_desktop.core.metrics import psnr, ssim
from srgan_desktop.core.resize import downscale
from srgan_desktop.core.weights import ModelDescriptor

__all__ = ["BenchmarkSet", "load_benchmark", "validate"]


@dataclass
class BenchmarkSet:
    """Pairs of (LR, HR) RGB ``uint8`` images of one benchmark folder."""

    name: str
    pairs: list[tuple[str, np.ndarray, np.ndarray]]


def load_benchmark(hr_dir: str | Path, scale: int = 4, lr_dir: str | Path | None = None) -> BenchmarkSet:
    """HR images from ``hr_dir``; LR from ``lr_dir`` (same file names) or made with the MATLAB bicubic.

    ``hr_dir`` may also be a benchmark root holding ``HR/`` and ``LR_bicubic_x{scale}/``.
    """
    hr_dir = Path(hr_dir)
    if (hr_dir / "HR").is_dir():
        if lr_dir is None and (hr_dir / f"LR_bicubic_x{scale}").is_dir():
            lr_dir = hr_dir / f"LR_bicubic_x{scale}"
        name, hr_dir = hr_dir.name, hr_dir / "HR"
    else:
        name = hr_dir.parent.name if hr_dir.name == "HR" else hr_dir.name
    pairs = []
    for path in sorted(p for p in hr_dir.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        hr = load_image(path).rgb
        hr = hr[: hr.shape[0] - hr.shape[0] % scale, : hr.shape[1] - hr.shape[1] % scale]
        if lr_dir is not None:
            lr = load_image(Path(lr_dir) / path.name).rgb
        else:
            lr = downscale(hr, scale)
        pairs.append((path.stem, lr, hr))
    if not pairs:
        raise FileNotFoundError(f"no images in {hr_dir}")
    return BenchmarkSet(name, pairs)


def validate(generator: torch.nn.Module, benchmark: BenchmarkSet, device: str = "cpu",
             scale: int = 4) -> dict[str, float]:
    """Mean PSNR/SSIM of ``generator`` on ``benchmark`` (model left in the mode it was in)."""
    was_training = generator.training
    generator.eval()
    descriptor = ModelDescriptor(name="validation", scale=scale,
                                 num_blocks=getattr(generator, "num_blocks", 16),
                                 channels=getattr(generator, "channels", 64))
    upscaler = Upscaler(NetworkMethod(generator, descriptor), device=device, tile=0, precision="fp32")
    scores = []
    try:
        for _name, lr, hr in benchmark.pairs:
            sr = upscaler.upscale(lr).rgb
            scores.append((psnr(sr, hr, scale), ssim(sr, hr, scale)))
    finally:
        generator.train(was_training)
    return {"psnr": float(np.mean([s[0] for s in scores])), "ssim": float(np.mean([s[1] for s in scores]))}
