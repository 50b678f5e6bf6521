"""Losses of the paper: pixel MSE, VGG19 content losses φ2,2 / φ5,4, adversarial loss.

The VGG losses use torchvision's real VGG19.  Its ImageNet weights come from ``vgg_weights``
(a torchvision VGG19 state dict, full or ``features``-only) or from torchvision's own
cache (never downloaded: :mod:`srgan_desktop.core.backbones`, shared with LPIPS); when
neither is available :class:`VGGWeightsError` says so and suggests ``--content-loss mse``.
There is no silent fallback to a random VGG.
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from srgan_desktop.core.backbones import BackboneWeightsError, load_backbone_features

__all__ = ["VGGWeightsError", "VGG_LAYERS", "load_vgg19_features", "VGGContentLoss",
           "content_loss", "adversarial_generator_loss", "discriminator_loss"]

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


def content_loss(kind: str, vgg_weights: str | Path | None = None) -> nn.Module:
    """``mse`` → pixel MSE; ``vgg22`` / ``vgg54`` → :class:`VGGContentLoss`."""
    if kind == "mse":
        return nn.MSELoss()
    if kind in VGG_LAYERS:
        return VGGContentLoss(kind, vgg_weights)
    raise ValueError(f"unknown content loss '{kind}' (use mse, vgg22 or vgg54)")


def adversarial_generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """−log D(G(LR)), from logits (softplus(−x) = −log σ(x), stable for any x)."""
    return F.softplus(-fake_logits).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """−log D(HR) − log(1 − D(G(LR))), from logits."""
    return F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
