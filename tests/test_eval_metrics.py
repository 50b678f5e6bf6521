"""``eval --metrics``: NIQE/LPIPS/texture next to PSNR/SSIM, the ``hr`` row, and measures that
cannot run on an image giving their reason instead of a crash (core.measures)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from srgan_desktop.__main__ import main
from srgan_desktop.core.images import load_image, save_image
from srgan_desktop.core.measures import NO_REFERENCE, measure
from srgan_desktop.core.niqe import niqe

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def bench(tmp_path) -> Path:
    """A benchmark folder: one image large enough for NIQE (208²), one too small (64²)."""
    photo = load_image(REPO / "resources" / "samples" / "astronaut.png").rgb
    assert min(photo.shape[:2]) >= 208
    save_image(tmp_path / "Tiny" / "HR" / "big.png", photo[:208, :208])
    save_image(tmp_path / "Tiny" / "HR" / "small.png", photo[100:164, 100:164])
    return tmp_path / "Tiny"


@pytest.fixture
def alexnet_file(tmp_path) -> Path:
    torch.manual_seed(0)
    path = tmp_path / "alexnet_random.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    return path


def test_eval_reports_every_metric_per_image_and_mean(bench, alexnet_file, tmp_path, capsys):
    out = tmp_path / "eval.json"
    code = main(["eval", "--hr", str(bench), "-m", "hr", "bicubic", "--metrics", "psnr", "ssim", "niqe",
                 "lpips", "texture", "--lpips-backbone", str(alexnet_file), "--json", str(out),
                 "--device", "cpu", "--no-progress"])
    text = capsys.readouterr().out
    assert code == 0
    report = json.loads(out.read_text())
    assert report["options"]["metrics"] == ["psnr", "ssim", "niqe", "lpips", "texture"]
    assert report["options"]["lpips"] == {"net": "alex", "backbone": str(alexnet_file)}
    hr, bicubic = report["datasets"][0]["methods"]
    assert hr["method"] == "hr" and [r["name"] for r in hr["images"]] == ["big", "small"]
    big, small = hr["images"]
    # HR against itself: PSNR infinite, SSIM 1, LPIPS 0, texture 1; NIQE as the core computes it
    assert (big["psnr"], big["ssim"], big["lpips"], big["texture"]) == ("inf", 1.0, 0.0, 1.0)
    assert big["niqe"] == pytest.approx(niqe(load_image(bench / "HR" / "big.png").rgb, 4))
    # a 64² image: NIQE says why in its field, the other measures still stand
    assert isinstance(small["niqe"], str) and small["niqe"].startswith("too small for NIQE")
    assert small["ssim"] == 1.0
    assert hr["mean"]["niqe"] == f"1 of 2 images: {small['niqe']}"
    assert hr["mean"]["ssim"] == 1.0
    b_big, b_small = bicubic["images"]
    assert 15 < b_big["psnr"] < 40 and 0 < b_big["lpips"] and b_big["niqe"] > big["niqe"]
    assert bicubic["mean"]["lpips"] == pytest.approx((b_big["lpips"] + b_small["lpips"]) / 2)
    # the table: a column per measure, a mark in the cell, the reason in the notes
    for word in ("PSNR", "SSIM", "NIQE", "LPIPS", "texture", "small", "hr", "bicubic",
                 "Tiny small hr NIQE: too small for NIQE", str(alexnet_file)):
        assert word in text, word


def test_eval_defaults_to_psnr_ssim_niqe(bench, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["eval", "--hr", str(bench), "-m", "bicubic", "--json", str(out), "--summary",
                 "--no-progress"]) == 0
    (method,) = json.loads(out.read_text())["datasets"][0]["methods"]
    assert set(method["mean"]) == {"psnr", "ssim", "niqe"}
    assert set(method["images"][0]) == {"name", "psnr", "ssim", "niqe", "seconds"}
    assert "LPIPS" not in capsys.readouterr().out


@pytest.mark.slow
def test_eval_lpips_without_backbone_weights_stops_with_the_missing_file(bench, tmp_path):
    env = dict(os.environ, TORCH_HOME=str(tmp_path / "torch-home"))
    out = tmp_path / "eval.json"
    done = subprocess.run([sys.executable, "-m", "srgan_desktop", "eval", "--hr", str(bench), "-m", "hr",
                           "--metrics", "psnr", "lpips", "--json", str(out), "--no-progress"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert "alexnet-owt-7be5be79.pth" in lines[0] and str(tmp_path / "torch-home" / "hub" / "checkpoints") in lines[0]
    assert "--lpips-backbone" in lines[0]
    assert not out.exists()


def test_measure_gives_reasons_not_errors():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
    values = measure(image, None, ["psnr", "niqe", "lpips"], border=4)
    assert values["psnr"] == NO_REFERENCE and values["lpips"] == NO_REFERENCE
    assert values["niqe"].startswith("too small for NIQE")
    flat = np.full((40, 40, 3), 128, np.uint8)
    values = measure(image, flat, ["texture", "lpips"], border=4)
    assert "undefined" in values["texture"] and values["lpips"] == "no LPIPS weights"
    with pytest.raises(ValueError, match="unknown measure"):
        measure(image, image, ["psnr", "sharpness"], border=4)
