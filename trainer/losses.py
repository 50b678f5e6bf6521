"""Losses: the paper's (pixel MSE, VGG19 φ2,2 / φ5,4, the standard adversarial loss) and the
ImageNet-free options of ``srgan-train srgan`` (each names its source):

* ``ragan``: the relativistic average GAN of ESRGAN (Wang et al., ECCV-W 2018, after
  Jolicoeur-Martineau 2018): D estimates whether real data is more realistic than the average
  fake, and G gets gradients from both real and fake images;
* ``dfeat``: feature matching on the discriminator's own feature maps (Salimans et al. 2016;
  pix2pixHD, Wang et al. 2018) — a perceptual content term that needs no ImageNet network;
* :func:`lattice_loss` (this project's): the part of the squared error (SR − HR) that lies at
  the sub-pixel lattice frequencies ``(k/s, l/s)``, where a pixel-shuffle grid puts its energy;
  weighting it keeps adversarial texture from turning into a grid (measured in
  ``docs/results/training_notes.md``).

The VGG losses use torchvision's real VGG19.  Its ImageNet weights come from ``vgg_weights``
(a torchvision VGG19 state dict, full or ``features``-only) or from torchvision's own
cache (never downloaded: :mod:`srgan_desktop.core.backbones`, shared with LPIPS); when
neither is available :class:`VGGWeightsError` says so and suggests ``--content-loss mse``.
There is no silent fallback to a random VGG.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from srgan_desktop.core.backbones import BackboneWeightsError, load_backbone_features
from srgan_desktop.core.metrics import lattice_mask

__all__ = ["VGGWeightsError", "VGG_LAYERS", "CONTENT_LOSSES", "GAN_KINDS", "load_vgg19_features",
           "VGGContentLoss", "content_loss", "uses_feature_matching", "feature_matching_loss",
           "adversarial_generator_loss", "discriminator_loss", "lattice_loss"]

CONTENT_LOSSES = ("mse", "vgg22", "vgg54", "dfeat", "mse+dfeat")
GAN_KINDS = ("standard", "ragan")

#: index (exclusive end) in torchvision's ``vgg19().features`` just after the ReLU of φi,j.
VGG_LAYERS = {"vgg22": 9, "vgg54": 36}
VGG_SCALE = 1.0 / 12.75  # the paper rescales VGG feature maps by this factor
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class VGGWeightsError(BackboneWeightsError):
    """The ImageNet VGG19 weights needed by a VGG content loss are not available."""


def load_vgg19_features(vgg_weights: str | Path | None, end: int) -> nn.Sequential:
    """torchvision VGG19 ``features[:end]`` with ImageNet weights, frozen, in eval mode
    (:func:`srgan_desktop.core.backbones.load_backbone_features`: a file or torchvision's cache,
    read weights-only, never downloaded)."""
    return load_backbone_features("vgg19", vgg_weights, end=end, error=VGGWeightsError,
                                  advice="Pass --vgg-weights PATH, or train with --content-loss mse "
                                         "(the paper's SRGAN-MSE).")


class VGGContentLoss(nn.Module):
    """MSE between VGG19 feature maps (after ReLU) of SR and HR, features scaled by 1/12.75."""

    def __init__(self, layer: str = "vgg54", vgg_weights: str | Path | None = None) -> None:
        super().__init__()
        if layer not in VGG_LAYERS:
            raise ValueError(f"unknown VGG layer '{layer}' (use {', '.join(VGG_LAYERS)})")
        self.features = load_vgg19_features(vgg_weights, VGG_LAYERS[layer])
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))

    def forward(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        sr_f = self.features((sr - self.mean) / self.std) * VGG_SCALE
        with torch.no_grad():
            hr_f = self.features((hr - self.mean) / self.std) * VGG_SCALE
        return F.mse_loss(sr_f, hr_f)


def content_loss(kind: str, vgg_weights: str | Path | None = None) -> nn.Module | None:
    """The pixel / VGG part of a content loss: ``mse`` (also in ``mse+dfeat``) → pixel MSE;
    ``vgg22`` / ``vgg54`` → :class:`VGGContentLoss`; ``dfeat`` alone → None (the loop adds the
    discriminator-feature term, see :func:`uses_feature_matching`)."""
    if kind not in CONTENT_LOSSES:
        raise ValueError(f"unknown content loss '{kind}' (use {', '.join(CONTENT_LOSSES)})")
    if kind in ("mse", "mse+dfeat"):
        return nn.MSELoss()
    if kind in VGG_LAYERS:
        return VGGContentLoss(kind, vgg_weights)
    return None


def uses_feature_matching(kind: str) -> bool:
    return kind.endswith("dfeat")


def feature_matching_loss(fake: list[torch.Tensor], real: list[torch.Tensor]) -> torch.Tensor:
    """Mean over D's layers of the MSE between fake and (fixed) real feature maps."""
    return torch.stack([F.mse_loss(f.float(), r.detach().float()) for f, r in zip(fake, real)]).mean()


def adversarial_generator_loss(fake_logits: torch.Tensor, real_logits: torch.Tensor | None = None,
                               kind: str = "standard") -> torch.Tensor:
    """Standard: −log D(G(LR)) from logits (softplus(−x) = −log σ(x), stable for any x).
    RaGAN: −log(1 − D_Ra(HR, SR)) − log D_Ra(SR, HR), halved, with D_Ra(a, b) = σ(a − mean b)."""
    if kind == "standard":
        return F.softplus(-fake_logits).mean()
    assert real_logits is not None
    real = real_logits.detach()
    return (F.softplus(real - fake_logits.mean()).mean()
            + F.softplus(-(fake_logits - real.mean())).mean()) / 2


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor,
                       kind: str = "standard") -> torch.Tensor:
    """Standard: −log D(HR) − log(1 − D(G(LR))), from logits.
    RaGAN: −log D_Ra(HR, SR) − log(1 − D_Ra(SR, HR)), halved."""
    if kind == "standard":
        return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
    return (F.softplus(-(real_logits - fake_logits.mean())).mean()
            + F.softplus(fake_logits - real_logits.mean()).mean()) / 2


def lattice_loss(sr: torch.Tensor, hr: torch.Tensor, scale: int) -> torch.Tensor:
    """The squared error of ``sr`` against ``hr`` that lies at the sub-pixel lattice frequencies.

    By Parseval, ``mean((sr − hr)²) = Σ|FFT(sr − hr)|² / (H·W)²`` per channel; this keeps only
    the lattice bins, so weight w makes those frequencies count (1 + w) times as much as in MSE."""
    height, width = sr.shape[-2:]
    spectrum = torch.fft.fft2((sr.float() - hr.float()), norm="ortho")
    mask = torch.from_numpy(lattice_mask(height, width, scale).astype(np.float32)).to(sr.device)
    return (spectrum.abs() ** 2 * mask).sum() / (sr.shape[0] * sr.shape[1] * height * width)


def low_frequency_loss(sr: torch.Tensor, hr: torch.Tensor, scale: int) -> torch.Tensor:
    """The squared error of the ``scale``×``scale`` block means (the picture at the LR's scale):
    colour casts and brightness drift live there, and the adversarial term moves them
    unseen by Y-only measures (session 12: −9.9 levels of green over three hold-out photos after
    300 iterations at adversarial weight 1e-2). The block means are orthogonal to what varies
    inside a block, so weight w makes that band count (1 + w) times as much as in pixel MSE,
    leaving texture to the adversarial term (Fritsche et al. 2019 separate the two alike)."""
    pool = torch.nn.functional.avg_pool2d
    return torch.mean((pool(sr.float(), scale) - pool(hr.float(), scale)) ** 2)


def chroma_loss(sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
    """The squared error of the colour part of each pixel, ``x − mean_c(x)`` (RGB less its grey):
    the projection orthogonal to grey, so pixel MSE splits into a grey and a chroma term and weight
    w makes chroma count (1 + w) times. Why: session 12's GAN painted colour into grayscale
    textures (a grayscale baby's hat: 2.5 levels of chroma, 1.2 of them varying inside each 4×4
    block, where the low-frequency loss does not reach), while adding texture in grey alone is
    what the discriminator needs."""
    sr, hr = sr.float(), hr.float()
    return torch.mean(((sr - sr.mean(dim=1, keepdim=True)) - (hr - hr.mean(dim=1, keepdim=True))) ** 2)
