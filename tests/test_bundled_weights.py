"""The bundled weights load, run, and reproduce their model cards' Set5 figures."""

from __future__ import annotations

import dataclasses

import json

import numpy as np
import pytest

from srgan_desktop import paths
from srgan_desktop.core.benchmarks import find_dataset
from srgan_desktop.core.engine import NetworkMethod, Upscaler
from srgan_desktop.core.metrics import chroma, grid_ratio, psnr, ssim, texture_ratio
from srgan_desktop.core.niqe import niqe
from srgan_desktop.core.models import ModelResolver

BUNDLED = sorted(p.stem for p in paths.weights_dir().glob("*.safetensors"))


def test_every_card_names_its_model_and_its_architecture():
    for card_path in paths.weights_dir().glob("*.json"):
        card = json.loads(card_path.read_text())
        assert card["name"] == card_path.stem
        assert card["scale"] == int(card_path.stem.rsplit("_x", 1)[1])  # srresnet_x2 is ×2
        if card["variant"] == "distilled-compact":  # the fast model: small, and its teacher named
            assert card["architecture"] == "RealESRGAN Compact" and card["params"] <= 300_000
            assert card["training"]["teacher"].endswith("srresnet_x4.safetensors")
        else:
            assert card["architecture"] == "srresnet" and card["num_blocks"] == 16


def test_the_fast_model_is_within_reach_of_its_teacher_on_set5():
    """Issue 19's distilled model, on its card (which the test below reproduces): within 0.4 dB
    of srresnet_x4 on Set5 (the issue's target; 0.33 dB since session 10), 2.5 dB above bicubic
    (28.43 dB in the paper)."""
    cards = {p.stem: json.loads(p.read_text()) for p in paths.weights_dir().glob("*.json")}
    fast, teacher = cards["fast_x4"]["evaluation"]["Set5"], cards["srresnet_x4"]["evaluation"]["Set5"]
    assert fast["psnr"] >= 30.9 and teacher["psnr"] - fast["psnr"] <= 0.4


# every model on Set5; srgan_x4 on Set14 too, where its perceptual targets are set
@pytest.mark.parametrize("name, benchmark", [(n, "Set5") for n in BUNDLED] + [("srgan_x4", "Set14")])
@pytest.mark.slow
def test_bundled_model_reproduces_its_card(name, benchmark, datasets):
    model, descriptor = ModelResolver(paths.weights_dir()).load(name)
    expected = descriptor.card["evaluation"][benchmark]
    upscaler = Upscaler(NetworkMethod(model, descriptor), device="cpu")
    s = descriptor.scale  # border = scale; a ×2 model's LR is made from HR with MATLAB bicubic
    scores = [(psnr(sr, p.hr, border=s), ssim(sr, p.hr, border=s), texture_ratio(sr, p.hr, border=s),
               niqe(sr, s), grid_ratio(sr, p.hr, scale=s, border=s))
              for p in find_dataset(datasets / benchmark).pairs(s)
              for sr in [upscaler.upscale(p.lr).rgb]]
    assert float(np.mean([s[0] for s in scores])) == pytest.approx(expected["psnr"], abs=0.01)
    assert float(np.mean([s[1] for s in scores])) == pytest.approx(expected["ssim"], abs=0.001)
    if "texture" in expected:  # cards exported since the texture ratio joined validation
        assert float(np.mean([s[2] for s in scores])) == pytest.approx(expected["texture"], abs=0.002)
    if "niqe" in expected:  # cards exported since NIQE and the grid measure joined validation
        assert float(np.mean([s[3] for s in scores])) == pytest.approx(expected["niqe"], abs=0.01)
        assert float(np.median([s[4] for s in scores])) == pytest.approx(expected["grid"], abs=0.01)


def test_bundled_srgan_card_keeps_its_texture_without_a_grid():
    """On the cards that the test above reproduces: issue 12/19's targets on Set14 — NIQE ≤ 5.4 and
    ≥ 1.0 below SRResNet, grid ≤ 1.25 × HR — and Set5 PSNR ≥ 29.0, and no colour cast (≤ 1 level).
    Session 13's model meets them all (Set14 grid 0.86, Set5 0.65; see its card)."""
    cards = {p.stem: json.loads(p.read_text()) for p in paths.weights_dir().glob("*.json")}
    gan, mse = cards["srgan_x4"]["evaluation"], cards["srresnet_x4"]["evaluation"]
    assert cards["srgan_x4"]["edge_pad"] == 8
    assert gan["Set14"]["niqe"] <= 5.4 and mse["Set14"]["niqe"] - gan["Set14"]["niqe"] >= 1.0
    assert mse["Set5"]["niqe"] > gan["Set5"]["niqe"]
    assert gan["Set14"]["grid"] <= 1.25 and gan["Set5"]["grid"] <= 1.25
    assert gan["Set5"]["psnr"] >= 29.0
    assert gan["Set5"]["colour_cast"] <= 1.0 and gan["Set14"]["colour_cast"] <= 1.0


@pytest.mark.parametrize("name", ["srgan_x4", "srresnet_x4"])
def test_a_grayscale_photo_gets_no_coloured_stripes_at_its_edges(name, datasets):
    """Issue 19 1b: srgan_x4 painted green bars into its first ~10 columns of every grayscale
    photo (9.3 against 1.5 inside); its card's ``edge_pad`` gives the network picture there.
    A stripe is a border band of 10 HR pixels more coloured than the 20 pixels just inside it:
    each stays within 1.5× of them (with edge_pad 0 session 12's srgan_x4 fails this). The
    issue's figure, border against the whole interior, also depends on what the picture has at
    its borders: session 12's GAN coloured textures (the hat: 2.5 levels, 1.77×); session 13's,
    trained with the chroma loss, is at 1.50× (0.81 along the hat against 0.54 inside;
    ``python scripts/edge_chroma.py``) — for the network itself, measured here with
    ``keep_grey`` off; the app's engine keeps a grayscale photo grey (0 everywhere)."""
    from PIL import Image

    lr = np.asarray(Image.open(datasets / "Set5" / "LR_bicubic_x4" / "img_001.png").convert("L").convert("RGB"))
    model, descriptor = ModelResolver(paths.weights_dir()).load(name)

    def worst_stripe(edge_pad: int) -> float:
        method = NetworkMethod(model, dataclasses.replace(descriptor, edge_pad=edge_pad))
        colour = chroma(Upscaler(method, device="cpu", precision="fp32", keep_grey=False).upscale(lr).rgb)
        pairs = [(colour[:, :10], colour[:, 10:30]), (colour[:10, :], colour[10:30, :]),
                 (colour[:, -10:], colour[:, -30:-10]), (colour[-10:, :], colour[-30:-10, :])]
        return max(float(band.mean() / inside.mean()) for band, inside in pairs)

    assert worst_stripe(descriptor.edge_pad) <= 1.5
    if descriptor.edge_pad:  # the measure sees the stripes the card's edge_pad removes
        assert worst_stripe(0) > 1.5
    # what the app shows: the engine keeps a grayscale photo grey, edges and interior alike
    shown = Upscaler(NetworkMethod(model, descriptor), device="cpu", precision="fp32").upscale(lr)
    assert shown.grey and float(chroma(shown.rgb).max()) == 0.0
