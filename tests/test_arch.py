"""The networks have the layout of Ledig et al. (CVPR 2017), Figure 4."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from srgan_desktop.core.arch import Discriminator, ResidualBlock, SRResNet, UpsampleBlock, receptive_radius


def _convs(module: nn.Module) -> list[nn.Conv2d]:
    return [m for m in module.modules() if isinstance(m, nn.Conv2d)]


@pytest.mark.parametrize("scale", [4, 2])
def test_generator_output_is_scale_times_larger(scale):
    model = SRResNet(num_blocks=2, scale=scale).eval()
    with torch.inference_mode():
        out = model(torch.rand(2, 3, 12, 10))
    assert out.shape == (2, 3, 12 * scale, 10 * scale)
    assert out.dtype == torch.float32
    assert len(model.upsample) == {2: 1, 4: 2}[scale]


def test_full_generator_runs_on_a_small_input():
    model = SRResNet().eval()
    with torch.inference_mode():
        out = model(torch.rand(1, 3, 8, 8))
    assert out.shape == (1, 3, 32, 32)
    assert torch.isfinite(out).all()


def test_generator_layout_is_the_papers():
    model = SRResNet()
    # k9n64s1 + PReLU head
    head_conv, head_act = model.head
    assert (head_conv.in_channels, head_conv.out_channels, head_conv.kernel_size,
            head_conv.stride, head_conv.padding) == (3, 64, (9, 9), (1, 1), (4, 4))
    assert isinstance(head_act, nn.PReLU)
    # B = 16 residual blocks: k3n64s1 – BN – PReLU – k3n64s1 – BN, identity skip
    assert len(model.body) == 16 and all(isinstance(b, ResidualBlock) for b in model.body)
    for block in model.body:
        kinds = [type(m) for m in block.body]
        assert kinds == [nn.Conv2d, nn.BatchNorm2d, nn.PReLU, nn.Conv2d, nn.BatchNorm2d]
        for conv in (block.body[0], block.body[3]):
            assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (64, 64, (3, 3))
    # k3n64s1 – BN before the long skip
    assert [type(m) for m in model.body_tail] == [nn.Conv2d, nn.BatchNorm2d]
    # two sub-pixel ×2 blocks: k3n256s1 – PixelShuffle ×2 – PReLU
    assert len(model.upsample) == 2
    for up in model.upsample:
        assert isinstance(up, UpsampleBlock)
        conv, shuffle, act = up.body
        assert (conv.in_channels, conv.out_channels, conv.kernel_size) == (64, 256, (3, 3))
        assert isinstance(shuffle, nn.PixelShuffle) and shuffle.upscale_factor == 2
        assert isinstance(act, nn.PReLU)
    # k9n3s1 tail, no final activation
    assert (model.tail.in_channels, model.tail.out_channels, model.tail.kernel_size) == (64, 3, (9, 9))
    assert len(_convs(model)) == 1 + 2 * 16 + 1 + 2 + 1


def test_generator_parameter_count_follows_from_the_layout():
    c, b = 64, 16
    conv3 = 9 * c * c
    expected = (3 * c * 81 + c + 1                 # head conv (+bias) and PReLU
                + b * (2 * conv3 + 2 * 2 * c + 1)  # blocks: 2 convs (no bias), 2 BN (γ, β), PReLU
                + conv3 + 2 * c                    # body tail conv + BN
                + 2 * (9 * c * 4 * c + 4 * c + 1)  # 2 upsampling convs (+bias) and PReLUs
                + 3 * c * 81 + 3)                  # tail conv (+bias)
    assert sum(p.numel() for p in SRResNet().parameters()) == expected


def test_generator_rejects_an_unsupported_scale():
    with pytest.raises(ValueError):
        SRResNet(scale=3)


def test_receptive_radius_bounds_the_influence_of_one_pixel():
    torch.manual_seed(0)
    model = SRResNet(num_blocks=2).eval()
    radius = receptive_radius(2, 4)
    assert receptive_radius(16, 4) == 40  # the engine's tile padding for the paper's model
    x = torch.rand(1, 3, 48, 48)
    y = x.clone()
    y[0, :, 24, 24] += 0.5
    with torch.inference_mode():
        diff = (model(x) - model(y)).abs().amax(dim=(0, 1))
    rows, cols = torch.nonzero(diff > 0, as_tuple=True)
    assert rows.numel() > 0
    # the changed LR pixel covers HR pixels 96..99; nothing beyond `radius` LR pixels moves
    assert rows.min() >= (24 - radius) * 4 and rows.max() < (25 + radius) * 4
    assert cols.min() >= (24 - radius) * 4 and cols.max() < (25 + radius) * 4


def test_discriminator_layout_is_the_papers():
    disc = Discriminator(input_size=96)
    convs = _convs(disc)
    assert [c.out_channels for c in convs] == [64, 64, 128, 128, 256, 256, 512, 512]
    assert [c.stride for c in convs] == [(1, 1), (2, 2)] * 4
    assert all(c.kernel_size == (3, 3) for c in convs)
    layers = list(disc.features)
    # BN after every conv except the first
    follows = [type(layers[layers.index(c) + 1]) for c in convs]
    assert follows[0] is nn.LeakyReLU and all(f is nn.BatchNorm2d for f in follows[1:])
    relus = [m for m in disc.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(relus) == 9 and all(r.negative_slope == 0.2 for r in relus)
    dense = [m for m in disc.classifier if isinstance(m, nn.Linear)]
    assert [(d.in_features, d.out_features) for d in dense] == [(512 * 6 * 6, 1024), (1024, 1)]
    assert not any(isinstance(m, nn.Sigmoid) for m in disc.modules())  # logits out


def test_discriminator_gives_one_logit_per_image():
    disc = Discriminator(input_size=96).eval()
    x = torch.rand(2, 3, 96, 96)
    with torch.inference_mode():
        logits = disc(x)
        prob = disc.probability(x)
    assert logits.shape == (2, 1)
    assert torch.allclose(prob, torch.sigmoid(logits))
    assert ((prob > 0) & (prob < 1)).all()


def test_discriminator_refuses_other_crop_sizes():
    with pytest.raises(ValueError):
        Discriminator(input_size=90)
    disc = Discriminator(input_size=32).eval()
    with pytest.raises(ValueError, match="32×32"):
        disc(torch.rand(1, 3, 48, 48))
