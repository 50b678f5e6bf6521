"""The networks of Ledig et al., CVPR 2017, exactly as the paper draws them.

Value ranges (the convention of every model this package builds):

* generator input: RGB, float, ``[0, 1]``, shape ``(N, 3, h, w)``;
* generator output: RGB, float, nominally ``[0, 1]`` (no final activation, callers clamp),
  shape ``(N, 3, scale*h, scale*w)``;
* discriminator input: RGB, float, ``[0, 1]``; output: one *logit* per image (``(N, 1)``).
  The paper's final sigmoid is applied by the loss (``BCEWithLogits``) for numerical
  stability; :meth:`Discriminator.probability` gives the sigmoid explicitly.

The paper scales HR targets to ``[-1, 1]``; we keep both sides in ``[0, 1]`` so that a
model's output can be shown without conversion.  Third-party checkpoints that use another
range say so in their descriptor (:mod:`srgan_desktop.core.weights`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ResidualBlock", "UpsampleBlock", "SRResNet", "Discriminator", "receptive_radius"]


class ResidualBlock(nn.Module):
    """conv3×3 – BN – PReLU – conv3×3 – BN, plus the identity."""

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.PReLU(),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleBlock(nn.Module):
    """conv3×3 (C → 4C) – PixelShuffle(2) – PReLU: one sub-pixel ×2 step."""

    def __init__(self, channels: int = 64) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels * 4, 3, 1, 1),
            nn.PixelShuffle(2),
            nn.PReLU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class SRResNet(nn.Module):
    """The SRResNet / SRGAN generator (B residual blocks, 64 channels, ×2^k sub-pixel tail)."""

    def __init__(self, num_blocks: int = 16, channels: int = 64, scale: int = 4) -> None:
        super().__init__()
        if scale not in (2, 4, 8):
            raise ValueError(f"scale must be 2, 4 or 8, not {scale}")
        self.num_blocks = num_blocks
        self.channels = channels
        self.scale = scale
        self.head = nn.Sequential(nn.Conv2d(3, channels, 9, 1, 4), nn.PReLU())
        self.body = nn.Sequential(*[ResidualBlock(channels) for _ in range(num_blocks)])
        self.body_tail = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=False), nn.BatchNorm2d(channels)
        )
        self.upsample = nn.Sequential(
            *[UpsampleBlock(channels) for _ in range(int(math.log2(scale)))]
        )
        self.tail = nn.Conv2d(channels, 3, 9, 1, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.head(x)
        features = features + self.body_tail(self.body(features))  # the long skip
        return self.tail(self.upsample(features))


def receptive_radius(num_blocks: int = 16, scale: int = 4) -> int:
    """How many LR pixels on each side influence one output pixel (rounded up).

    head 9×9 → 4, each residual block 2, body tail 1, each upsample conv 1 at its own
    resolution, tail 9×9 → 4 HR pixels.
    """
    radius = 4.0 + 2.0 * num_blocks + 1.0
    resolution = 1.0
    for _ in range(int(math.log2(scale))):
        radius += 1.0 / resolution
        resolution *= 2.0
    radius += 4.0 / resolution
    return int(math.ceil(radius))


class Discriminator(nn.Module):
    """Eight conv3×3 layers 64→512 (stride 2 whenever the width stays), LeakyReLU 0.2,
    BN except after the first, then Dense 1024 – LeakyReLU – Dense 1.

    ``input_size`` is the HR crop size (96 in the paper); the dense layer is sized for it,
    as in the paper.  ``forward`` returns logits.
    """

    def __init__(self, input_size: int = 96, base_channels: int = 64) -> None:
        super().__init__()
        if input_size % 16:
            raise ValueError(f"input_size must be a multiple of 16, not {input_size}")
        self.input_size = input_size
        widths = [base_channels, base_channels, base_channels * 2, base_channels * 2,
                  base_channels * 4, base_channels * 4, base_channels * 8, base_channels * 8]
        layers: list[nn.Module] = []
        in_ch = 3
        for i, out_ch in enumerate(widths):
            stride = 1 if i % 2 == 0 else 2
            layers.append(nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=(i == 0)))
            if i > 0:
                layers.append(nn.BatchNorm2d(out_ch))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            in_ch = out_ch
        self.features = nn.Sequential(*layers)
        feature_size = input_size // 16
        self.classifier = nn.Sequential(
            nn.Flatten(),
            nn.Linear(in_ch * feature_size * feature_size, 1024),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Linear(1024, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            raise ValueError(
                f"discriminator expects {self.input_size}×{self.input_size} crops, "
                f"got {tuple(x.shape[-2:])}"
            )
        return self.classifier(self.features(x))

    def forward_features(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The logits and the feature map after each of the eight LeakyReLUs (for feature
        matching)."""
        if x.shape[-1] != self.input_size or x.shape[-2] != self.input_size:
            raise ValueError(f"discriminator expects {self.input_size}×{self.input_size} crops, "
                             f"got {tuple(x.shape[-2:])}")
        maps = []
        for layer in self.features:
            x = layer(x)
            if isinstance(layer, nn.LeakyReLU):
                maps.append(x)
        return self.classifier(x), maps

    def probability(self, x: torch.Tensor) -> torch.Tensor:
        """The paper's D(x): the sigmoid of the logit."""
        return torch.sigmoid(self.forward(x))
