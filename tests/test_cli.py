"""The command line, run as users run it: ``python -m srgan_desktop ...`` in a subprocess."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import REPO
from srgan_desktop.__main__ import main
from srgan_desktop.commands.bench import conv_flops, largest_padded_span
from srgan_desktop.core.arch import SRResNet
from srgan_desktop.core.images import load_image, save_image
from srgan_desktop.core.resize import downscale


def cli(*args: object, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "srgan_desktop", *map(str, args)], cwd=REPO,
                          env=dict(os.environ), capture_output=True, text=True, timeout=timeout)


def _one_line_error(done: subprocess.CompletedProcess, *words: str) -> str:
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("srgan-desktop: error: "), done.stderr
    assert "Traceback" not in done.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def no_bundled_weights(tmp_path, monkeypatch) -> Path:
    """Resources whose model cards have no weights yet (as before training finishes)."""
    resources = tmp_path / "resources"
    (resources / "weights").mkdir(parents=True)
    for name in ("srresnet_x4", "srgan_x4"):
        (resources / "weights" / f"{name}.json").write_text(json.dumps({"name": name, "title": name}))
    monkeypatch.setenv("SRGAN_DESKTOP_RESOURCES", str(resources))
    return resources


@pytest.fixture
def photo() -> np.ndarray:
    return load_image(REPO / "resources" / "samples" / "astronaut.png").rgb


# --- upscale -------------------------------------------------------------------------------

def test_upscale_bicubic_writes_a_4x_png_with_its_alpha(tmp_path, photo):
    alpha = np.tile(np.linspace(0, 255, 20).astype(np.uint8), (15, 1))
    source = save_image(tmp_path / "in.png", photo[100:115, 200:220], alpha)
    done = cli("upscale", source, "-m", "bicubic", "-o", tmp_path / "out.png")
    assert done.returncode == 0, done.stderr
    assert "wrote" in done.stdout and "80×60" in done.stdout
    out = load_image(tmp_path / "out.png")
    assert (out.width, out.height) == (80, 60) and out.alpha is not None


def test_upscale_with_a_weights_file(tmp_path, photo, tiny_model_file):
    source = save_image(tmp_path / "in.png", photo[200:212, 200:210])
    done = cli("upscale", source, "-m", tiny_model_file, "--device", "cpu", "--tile", "6")
    assert done.returncode == 0, done.stderr
    target = tmp_path / "in_tiny_x4.png"  # the default name
    assert load_image(target).rgb.shape == (48, 40, 3)
    assert "tiles of 6 px" in done.stdout and "tile" in done.stderr  # the progress bar


def test_bad_input_is_one_line_and_exit_code_2(tmp_path):
    (tmp_path / "notes.png").write_text("not a picture")
    done = cli("upscale", tmp_path / "notes.png", "-m", "bicubic", "-o", tmp_path / "out.png")
    _one_line_error(done, "notes.png", "not an image")
    assert not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("case", ["no weights", "no cuda", "no folder", "bad output"])
def test_more_bad_input_in_process(tmp_path, photo, no_bundled_weights, tiny_model_file, capsys, case):
    """The same one-line contract for the other user errors (in-process: no interpreter start-up)."""
    good = str(save_image(tmp_path / "good.png", photo[:8, :8]))
    target = str(tmp_path / "out.png")
    if case == "no weights":
        code, words = main(["upscale", good, "-m", "srgan", "-o", target]), ("srgan", "no weights")
    elif case == "no cuda":
        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
        code = main(["upscale", good, "-m", str(tiny_model_file), "--device", "cuda", "-o", target])
        words = ("CUDA",)
    elif case == "no folder":
        code, words = main(["eval", "--hr", str(tmp_path / "missing"), "-m", "bicubic"]), ("no such folder",)
    else:
        code = main(["upscale", good, "-m", "bicubic", "-o", str(tmp_path / "out.gif")])
        words = ("out.gif", "unsupported output format")
    _one_line_error(subprocess.CompletedProcess([], code, "", capsys.readouterr().err), *words)
    assert not Path(target).exists()


# --- eval ----------------------------------------------------------------------------------

def test_eval_prints_the_table_and_writes_json(tmp_path, photo, tiny_model_file, no_bundled_weights):
    hr_dir = tmp_path / "Tiny" / "HR"
    for i, (y, x) in enumerate([(40, 60), (200, 180), (300, 330)]):
        save_image(hr_dir / f"img_{i:03d}.png", photo[y:y + 34, x:x + 32])  # 34 → cropped to 32
    root = tmp_path / "Root"
    for path in sorted(hr_dir.iterdir()):
        hr = load_image(path).rgb[:32]
        save_image(root / "HR" / path.name, hr)
        save_image(root / "LR_bicubic_x4" / path.name, downscale(hr, 4))
    out = tmp_path / "eval.json"
    done = cli("eval", "--hr", hr_dir, root, "-m", "bicubic", tiny_model_file, "srgan",
               "--metrics", "psnr", "ssim", "texture", "--device", "cpu", "--json", out)
    assert done.returncode == 0, done.stderr
    text = done.stdout
    for word in ("PSNR", "SSIM", "texture", "bicubic", "tiny_x4", "no weights", "img_001",
                 "Tiny (3 images)", "Root (3 images)", "made from HR"):
        assert word in text, word
    report = json.loads(out.read_text())
    tiny_set, root_set = report["datasets"]
    assert (tiny_set["name"], tiny_set["images"], root_set["name"]) == ("Tiny", 3, "Root")
    bicubic, tiny, srgan = tiny_set["methods"]
    assert bicubic["available"] and len(bicubic["images"]) == 3 and bicubic["border"] == 4
    assert tiny["method"] == "tiny_x4" and len(tiny["images"]) == 3
    assert not srgan["available"] and "no weights" in srgan["reason"]
    mean = bicubic["mean"]
    assert mean["psnr"] == pytest.approx(np.mean([r["psnr"] for r in bicubic["images"]]))
    assert 15 < mean["psnr"] < 40 and 0 < mean["ssim"] < 1 and 0 < mean["texture"] < 1
    # LR read from LR_bicubic_x4/ equals LR made on the fly: the same figures
    assert root_set["methods"][0]["mean"] == pytest.approx(mean)
    assert "LR_bicubic_x4" in root_set["methods"][0]["lr"]


def test_eval_set5_bicubic_matches_the_literature(tmp_path, datasets):
    out = tmp_path / "set5.json"
    done = cli("eval", "--hr", datasets / "Set5", "-m", "bicubic", "--json", out, "--summary")
    assert done.returncode == 0, done.stderr
    (method,) = json.loads(out.read_text())["datasets"][0]["methods"]
    assert len(method["images"]) == 5
    assert method["mean"]["psnr"] == pytest.approx(28.43, abs=0.05)
    assert "28.43" in done.stdout


# --- bench ---------------------------------------------------------------------------------

def test_conv_flops_are_counted_analytically():
    per_lr_pixel = (2 * 81 * 3 * 64                    # head 9×9, 3 → 64
                    + 33 * 2 * 9 * 64 * 64             # 16 blocks × 2 + body tail, 3×3, 64 → 64
                    + 2 * 9 * 64 * 256 * (1 + 4)       # upsampling convs at ×1 and ×2 resolution
                    + 2 * 81 * 64 * 3 * 16)            # tail 9×9 at ×4 resolution
    assert conv_flops(SRResNet(), 6, 5) == per_lr_pixel * 30
    assert per_lr_pixel == 4_436_352


def test_largest_padded_tile_follows_the_engines_tiling():
    assert largest_padded_span(1024, 592, 40) == 592   # two balanced tiles of 512, windows 512 + 2·40
    assert largest_padded_span(1024, 368, 40) == 422   # three of 342: every window one shape
    assert largest_padded_span(32, 0, 40) == 32        # no tiling: the whole axis
    assert largest_padded_span(30, 64, 40) == 30       # a tile larger than the image


@pytest.mark.slow
def test_bench_prints_figures(tmp_path, no_bundled_weights):
    out = tmp_path / "bench.json"
    done = cli("bench", "--size", "8", "--repeat", "1", "--json", out, "--device", "cpu",
               "--sizes", "8,12x10")
    assert done.returncode == 0, done.stderr
    for phrase in ("randomly initialised", "raw forward", "engine, fp32, tile 0 = whole image", "GFLOP/s",
                   "matmul peak", "peak RSS", "s per LR megapixel", "speed on ", " cores, ", "conv peak",
                   "plain forward 128²", "engine 12×10 default", "engine 12×10 tile 128",
                   "tile 128 against the default at 12×10", "cost per LR megapixel from 8×8 to 12×10"):
        assert phrase in done.stdout, phrase
    report = json.loads(out.read_text())
    assert not report["bundled_weights"] and report["size"] == 8
    assert report["conv_gflop"] == pytest.approx(64 * 4_436_352 / 1e9)
    assert report["forward_gflops"] > 0 and report["matmul_gflops"] > 0 and report["engine_ratio"] > 0
    assert report["engine_tile"] == 0 and report["scale"] == 4 and report["seconds_per_lr_megapixel"] > 0
    speed = report["speed"]
    assert speed["precision"] == "fp32" and speed["conv_peak_gflops"] > 0 and speed["plain_per_lr_megapixel"] > 0
    assert [(r["height"], r["width"], r["asked_tile"]) for r in speed["rows"]] == [
        (8, 8, None), (8, 8, 128), (10, 12, None), (10, 12, 128)]
    assert all(r["tiles"] == 1 and r["window_ratio"] == 1.0 for r in speed["rows"])  # 128 > the image
    rss = report["rss"]
    if rss is not None:  # not on Windows
        assert rss["side"] == 32 and rss["tile"] == 0 and rss["tiles"] == 1
        # getrusage(RUSAGE_CHILDREN) and the child's own reading are taken at slightly different
        # moments: equal to within a few pages, not ordered
        assert rss["peak_rss_bytes"] == pytest.approx(rss["child_peak_bytes"], rel=0.02)
        assert rss["child_peak_bytes"] > rss["child_start_bytes"] > 50 * 2 ** 20
        assert math.isfinite(rss["bytes_per_padded_lr_pixel"])


@pytest.mark.slow
def test_bench_times_any_model_per_lr_megapixel(tmp_path):
    from spandrel.architectures.Compact import Compact

    torch.manual_seed(0)
    torch.save(Compact(num_feat=8, num_conv=2, upscale=2).state_dict(), tmp_path / "c2.pth")
    out = tmp_path / "bench.json"
    done = cli("bench", "--model", tmp_path / "c2.pth", "--size", "16", "--repeat", "1", "--tile", "8",
               "--precision", "fp32", "--no-memory", "--json", out, "--device", "cpu", "--sizes", "none")
    assert done.returncode == 0, done.stderr
    assert "RealESRGAN Compact ×2" in done.stdout and "16×16 → 32×32" in done.stdout
    report = json.loads(out.read_text())
    assert report["scale"] == 2 and report["engine_tile"] == 8 and report["rss"] is None
    assert report["seconds_per_lr_megapixel"] == pytest.approx(min(report["engine_seconds"]) / (256 / 1e6))


# --- selftest ------------------------------------------------------------------------------

@pytest.mark.slow
def test_selftest_reports_json_and_exits_0(tmp_path):
    done = cli("selftest", "--output", tmp_path / "selftest.png")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["inference_ok"] is True and report["qt_imported"] is False
    assert report["packages"]["torch"] and report["python"] == ".".join(map(str, sys.version_info[:3]))
    assert isinstance(report["cuda_available"], bool) and report["inference_device"] == "cpu"
    assert report["bicubic"]["ok"]
    assert report["spandrel"]["ok"] and report["spandrel"]["architecture"] == "RealESRGAN Compact"
    assert report["spandrel"]["output_shape"] == [64, 64, 3]
    assert report["niqe"]["ok"] and report["niqe"]["image"] == "astronaut.png" and 1 < report["niqe"]["value"] < 20
    for model in report["models"]:
        assert model["ok"] is (True if model["available"] else None), model
        assert model["available"] or model["reason"]
    image = load_image(tmp_path / "selftest.png")
    # nearest ×4, bicubic and spandrel (×4, 64 px), then each bundled model at its own scale, 4 px gaps
    widths = [64, 64, 64] + [m["output_shape"][1] for m in report["models"] if m["available"]]
    assert image.height == 64 and image.width == sum(widths) + 4 * (len(widths) - 1)


def test_selftest_fails_when_a_bundled_model_is_broken(tmp_path, monkeypatch, capsys):
    weights = tmp_path / "resources" / "weights"
    weights.mkdir(parents=True)
    (weights / "srresnet_x4.json").write_text(json.dumps({"name": "srresnet_x4"}))
    (weights / "srresnet_x4.safetensors").write_bytes(b"\x00" * 100)
    monkeypatch.setenv("SRGAN_DESKTOP_RESOURCES", str(tmp_path / "resources"))
    assert main(["selftest"]) == 1
    report = json.loads(capsys.readouterr().out)
    (model,) = report["models"]
    assert model["available"] and model["ok"] is False and "srresnet_x4.safetensors" in model["error"]
    assert report["inference_ok"] is False and report["input"].startswith("synthetic")
    assert report["niqe"]["ok"] and report["niqe"]["image"].startswith("synthetic")
