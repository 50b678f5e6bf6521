"""Validation during training: PSNR/SSIM (Y, border = scale), NIQE, the grid measure and its
level, the texture ratio and the colour cast on benchmarks, plus two figures for a rule's worst
case: ``grid_level_worst`` (the largest grid level of one image: a median hides one hatched
photo, as Set14's zebra showed in session 12) and ``gray_chroma`` (the mean chroma of the output
when the LR is made grayscale, :func:`~srgan_desktop.core.metrics.mean_chroma`: the colour the
network paints into grey textures, which no measure against a colour HR isolates; measured on
the network itself, ``keep_grey`` off — the app's engine keeps a grayscale photo grey, but the
same colour lands on the grey textures of colour photos).

The measures are :mod:`srgan_desktop.core.measures`' (the ones ``eval`` uses), summarised the
same way: the mean, but the median for the grid measure (a mean would be ruled by the one image
whose HR spectrum is nearly empty at the lattice frequencies). A measure that cannot score an
image (NIQE on one under 192 pixels) leaves it out; with no image left its key is absent.

It loads benchmarks with the app's own :mod:`srgan_desktop.core.benchmarks` and runs the
generator through the app's engine and metrics, so the figures in the training log and in a
model card are the figures ``srgan-desktop eval`` reports.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from srgan_desktop.core.benchmarks import Dataset, find_dataset
from srgan_desktop.core.engine import NetworkMethod, Upscaler
from srgan_desktop.core.measures import is_number, measure, summarise
from srgan_desktop.core.metrics import mean_chroma
from srgan_desktop.core.arch import SRResNet
from srgan_desktop.core.weights import ModelDescriptor, describe_spandrel

__all__ = ["load_benchmark", "validate", "VALIDATION_MEASURES"]

VALIDATION_MEASURES = ("psnr", "ssim", "texture", "grid", "grid_level", "niqe", "colour_cast")


def load_benchmark(hr_dir: str | Path, scale: int = 4, lr_dir: str | Path | None = None) -> Dataset:
    """A benchmark root (``HR/`` + ``LR_bicubic_x{scale}/``) or an HR folder (LR made with bicubic),
    its images decoded now (the dataset caches them) so validations only run the model."""
    dataset = find_dataset(hr_dir, lr_dir)
    dataset.pairs(scale)
    return dataset


def validate(generator: torch.nn.Module, benchmark: Dataset, device: str = "cpu",
             scale: int = 4, edge_pad: int = 0, rule_figures: bool = True) -> dict[str, float]:
    """PSNR, SSIM, texture ratio (HR = 1), grid ratio and level, NIQE and colour cast of
    ``generator`` on ``benchmark``, each summarised over the images as ``eval`` does, plus
    ``grid_level_worst`` and ``gray_chroma`` (the module docstring) unless ``rule_figures`` is
    False (a model card, which keeps only what ``eval`` reproduces).

    NIQE and the grid tell natural texture from a collapsed, noisy or gridded GAN, next to PSNR.
    Every module of the model is left in the mode it was in (a run's frozen batch norms stay
    frozen). ``edge_pad`` mirrors that many LR pixels around each image first, as the card's
    ``edge_pad`` makes the app do, so a model shipped with one is chosen on the figures it ships."""
    modes = {module: module.training for module in generator.modules()}  # e.g. batch norms frozen
    generator.eval()
    descriptor = dataclasses.replace(_descriptor(generator, scale), edge_pad=edge_pad)
    upscaler = Upscaler(NetworkMethod(generator, descriptor), device=device, tile=0, precision="fp32")
    try:
        rows = [measure(upscaler.upscale(pair.lr).rgb, pair.hr, VALIDATION_MEASURES, border=scale)
                for pair in benchmark.pairs(scale)]
        grey = []
        if rule_figures:  # the network's own colour, which the app's engine removes: keep_grey off
            raw = Upscaler(upscaler.method, device=device, tile=0, precision="fp32", keep_grey=False)
            grey = [mean_chroma(raw.upscale(_grey(pair.lr)).rgb, scale) for pair in benchmark.pairs(scale)]
    finally:
        for module, training in modes.items():
            module.training = training
    figures = {}
    for name in VALIDATION_MEASURES:
        numbers = [row[name] for row in rows if is_number(row[name])]
        if numbers:
            figures[name] = summarise(name, numbers)
    if not rule_figures:
        return figures
    levels = [row["grid_level"] for row in rows if is_number(row["grid_level"])]
    if levels:
        figures["grid_level_worst"] = max(levels)
    if grey:
        figures["gray_chroma"] = float(sum(grey) / len(grey))
    return figures


def _grey(lr: np.ndarray) -> np.ndarray:
    """The LR with R = G = B = its BT.601 luma (PIL's ``L``, as scripts/edge_chroma.py makes it)."""
    y = np.asarray(Image.fromarray(np.ascontiguousarray(lr[..., :3])).convert("L"))
    return np.repeat(y[..., None], 3, axis=2)


def _descriptor(generator: torch.nn.Module, scale: int) -> ModelDescriptor:
    """How the engine runs a generator in training: the SRResNet family, or the distillation
    student described as the loader describes it once exported (spandrel reads the architecture
    from its current weights; the engine then runs ``generator`` itself)."""
    if isinstance(generator, SRResNet):
        return ModelDescriptor(name="validation", scale=scale, num_blocks=generator.num_blocks,
                               channels=generator.channels)
    import spandrel

    state = {k: v.detach().cpu() for k, v in generator.state_dict().items()}
    return describe_spandrel(spandrel.MAIN_REGISTRY.load(spandrel.canonicalize_state_dict(state)),
                             name="validation")
