"""Trainer: real optimisation steps, exact resume, VGG loading, export → registry, DDP on gloo."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from srgan_desktop.core.arch import Discriminator, SRResNet
from srgan_desktop.core.resize import imresize
from srgan_desktop.core.models import ModelResolver
from trainer.data import CropDataset, StreamSampler
from trainer.publish import export_checkpoint
from trainer.losses import (VGGContentLoss, VGGWeightsError, adversarial_generator_loss,
                            content_loss, discriminator_loss)
from trainer.checkpoint import load_checkpoint
from trainer.loop import TrainConfig, train, training_step

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """Six small textured RGB images."""
    folder = tmp_path / "hr"
    folder.mkdir()
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:80, 0:96]
    for i in range(6):
        base = 127 + 100 * np.sin(xx / (3 + i) + yy / (5 + i))
        rgb = np.stack([base, base[::-1], base[:, ::-1]], -1) + rng.normal(0, 10, (80, 96, 3))
        Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(folder / f"img_{i}.png")
    return folder


def _tiny_config(folder: Path, out: Path, stage: str = "srresnet", **kw) -> TrainConfig:
    base = dict(stage=stage, data=[str(folder)], out=str(out), iterations=2, batch=2, crop=32,
                blocks=2, lr=1e-4, checkpoint_every=1, validate_every=1000, log_every=1,
                validation=[], workers=0, seed=3, device="cpu", progress=False)
    base.update(kw)
    return TrainConfig(**base)


def _batch(seed: int = 0, n: int = 4, crop: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(seed)
    hr = torch.rand(n, 3, crop, crop)
    hr = torch.nn.functional.avg_pool2d(hr, 3, 1, 1)  # some spatial structure
    lr = torch.nn.functional.interpolate(hr, scale_factor=0.25, mode="bicubic", antialias=True)
    return lr.clamp(0, 1), hr


def test_dataset_is_deterministic_and_degrades_with_matlab_bicubic(image_folder):
    from trainer.data import find_images, load_images

    images = load_images(find_images([image_folder]), 32)
    ds = CropDataset(images, crop=32, scale=4, seed=1)
    lr, hr = ds[5]
    assert lr.shape == (3, 8, 8) and hr.shape == (3, 32, 32)
    assert torch.equal(ds[5][0], lr) and not torch.equal(ds[6][1], hr)
    hr_u8 = (hr.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    expected = imresize(hr_u8, output_shape=(8, 8))
    assert np.array_equal((lr.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), expected)


def test_stream_sampler_splits_ranks_without_overlap():
    a = list(StreamSampler(0, 3, 4, rank=0, world=2))
    b = list(StreamSampler(0, 3, 4, rank=1, world=2))
    assert len(a) == len(b) == 12 and not set(a) & set(b)
    assert list(StreamSampler(1, 3, 4, 0, 2)) == a[4:]  # resuming at iteration 1


@pytest.mark.parametrize("amp", [None, torch.bfloat16], ids=["fp32", "cpu-bf16-autocast"])
def test_srresnet_step_decreases_mse(amp):
    torch.manual_seed(0)
    cfg = TrainConfig(stage="srresnet", lr=1e-4)
    gen = SRResNet(num_blocks=2)
    opt = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=(0.9, 0.999))
    lr, hr = _batch()
    criterion = content_loss("mse")
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    gen.train()
    first = training_step(cfg, gen, None, opt, None, criterion, scaler, amp, torch.device("cpu"), lr, hr)
    for _ in range(2):
        training_step(cfg, gen, None, opt, None, criterion, scaler, amp, torch.device("cpu"), lr, hr)
    gen.train()
    with torch.no_grad():
        after = float(criterion(gen(lr), hr))
    assert after < first["loss"]
    assert all(p.dtype == torch.float32 for p in gen.parameters())  # autocast keeps fp32 masters


def test_amp_choice_on_the_cpu(monkeypatch):
    import trainer.loop as loop
    cpu = torch.device("cpu")
    monkeypatch.setattr(loop, "cpu_has_native_bf16", lambda: False)
    assert loop.training_path("auto", cpu).autocast is None and loop.training_path("off", cpu).autocast is None
    assert "no native bf16" in loop.training_path("auto", cpu).describe()
    assert loop.training_path("bf16", cpu).autocast is torch.bfloat16
    monkeypatch.setattr(loop, "cpu_has_native_bf16", lambda: True)
    assert loop.training_path("auto", cpu).autocast is torch.bfloat16
    assert loop.training_path("auto", cpu).describe().startswith("bf16 autocast + channels_last")
    with pytest.raises(ValueError, match="needs CUDA"):
        loop.training_path("fp16", cpu)


def test_x4_weights_start_a_x2_generator_except_the_second_subpixel_block():
    from srgan_desktop.core.arch import SRResNet
    from trainer.loop import load_matching
    x4, x2 = SRResNet(num_blocks=2, scale=4), SRResNet(num_blocks=2, scale=2)
    left_out = load_matching(x2, x4.state_dict())
    assert left_out == []  # x2's tensors all exist in x4 (its one sub-pixel block is x4's first)
    assert torch.equal(x2.upsample[0].body[0].weight, x4.upsample[0].body[0].weight)
    assert torch.equal(x2.tail.weight, x4.tail.weight)
    with pytest.raises(ValueError, match="do not fit"):
        load_matching(SRResNet(num_blocks=2, channels=32, scale=2), x4.state_dict())


def test_srgan_step_decreases_generator_and_discriminator_losses():
    torch.manual_seed(0)
    cfg = TrainConfig(stage="srgan", lr=1e-4, adversarial_weight=1e-3)
    gen, disc = SRResNet(num_blocks=2), Discriminator(32)
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.lr, betas=(0.9, 0.999))
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr, betas=(0.9, 0.999))
    lr, hr = _batch(1)
    criterion = content_loss("mse")
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    gen.train(), disc.train()

    def losses() -> tuple[float, float]:
        with torch.no_grad():
            sr = gen(lr)
            g = float(criterion(sr, hr) + cfg.adversarial_weight * adversarial_generator_loss(disc(sr)))
            d = float(discriminator_loss(disc(hr), disc(sr)))
        return g, d

    g0, d0 = losses()
    out = training_step(cfg, gen, disc, opt_g, opt_d, criterion, scaler, None, torch.device("cpu"), lr, hr)
    assert {"loss", "content", "adversarial", "d_loss"} <= set(out)
    g1, d1 = losses()
    assert g1 < g0 and d1 < d0


def test_adversarial_losses_are_stable_for_extreme_logits():
    logits = torch.tensor([[-200.0], [200.0]])
    assert torch.isfinite(adversarial_generator_loss(logits))
    assert torch.isfinite(discriminator_loss(logits, -logits))
    p = torch.tensor([[0.3]])
    assert torch.allclose(adversarial_generator_loss(torch.logit(p)), -torch.log(p).mean())


@pytest.mark.parametrize("stage", ["srresnet", "srgan"])
def test_resume_gives_the_same_next_step_loss(image_folder, tmp_path, stage):
    init = None
    if stage == "srgan":
        torch.save({"generator": SRResNet(num_blocks=2).state_dict()}, tmp_path / "init.pt")
        init = str(tmp_path / "init.pt")
    straight = train(_tiny_config(image_folder, tmp_path / "a", stage, iterations=2, init=init))
    train(_tiny_config(image_folder, tmp_path / "b", stage, iterations=1, init=init))
    resumed = train(_tiny_config(image_folder, tmp_path / "b", stage, iterations=2,
                                 resume=str(tmp_path / "b" / "last.pt")))
    assert resumed["iteration"] == straight["iteration"] == 2
    assert resumed["last"]["loss"] == pytest.approx(straight["last"]["loss"], rel=1e-5, abs=1e-7)
    rows = [json.loads(line) for line in (tmp_path / "b" / "log.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows if "loss" in r] == [1, 2]
    config = json.loads(load_checkpoint(tmp_path / "b" / "last.pt")["config"])
    assert config["init"] == init  # the resumed run still names the weights it started from


def test_srgan_refuses_to_resume_from_a_stage1_checkpoint(image_folder, tmp_path):
    train(_tiny_config(image_folder, tmp_path / "s1", iterations=1))
    with pytest.raises(ValueError, match="--init"):
        train(_tiny_config(image_folder, tmp_path / "s2", "srgan", resume=str(tmp_path / "s1" / "last.pt")))


def _random_vgg19_file(path: Path, features_only: bool) -> Path:
    from torchvision.models import vgg19

    torch.manual_seed(0)
    model = vgg19(weights=None)
    torch.save(model.features.state_dict() if features_only else model.state_dict(), path)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("features_only", [False, True])
def test_vgg_loss_loads_a_torchvision_state_dict(tmp_path, features_only):
    path = _random_vgg19_file(tmp_path / "vgg19.pth", features_only)
    loss = VGGContentLoss("vgg22", vgg_weights=path)
    from torchvision.models import vgg19

    torch.manual_seed(0)
    reference = vgg19(weights=None).features
    assert torch.equal(loss.features[0].weight, reference[0].weight)
    assert len(loss.features) == 9 and isinstance(loss.features[-1], torch.nn.ReLU)
    sr = torch.rand(1, 3, 32, 32, requires_grad=True)
    value = loss(sr, torch.rand(1, 3, 32, 32))
    value.backward()
    assert torch.isfinite(value) and sr.grad is not None
    assert all(p.grad is None for p in loss.features.parameters())


def test_vgg_loss_missing_file_fails_clearly(tmp_path):
    with pytest.raises(VGGWeightsError, match="--content-loss mse"):
        VGGContentLoss("vgg54", vgg_weights=tmp_path / "nope.pth")


def test_vgg_loss_without_weights_or_cache_fails_clearly(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))

    def offline(*args, **kwargs):
        raise OSError("network unreachable (test)")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(VGGWeightsError, match="--content-loss mse"):
        VGGContentLoss("vgg54")


class _TouchOnUnpickle:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_vgg_cache_is_read_weights_only(tmp_path, monkeypatch):
    home = tmp_path / "torch-home"
    (home / "hub" / "checkpoints").mkdir(parents=True)
    marker = tmp_path / "pwned"
    torch.save({"features.0.weight": torch.zeros(1), "hook": _TouchOnUnpickle(marker)},
               home / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth")
    monkeypatch.setenv("TORCH_HOME", str(home))
    with pytest.raises(VGGWeightsError):
        VGGContentLoss("vgg54")
    assert not marker.exists()  # a tampered cache file ran no code


def test_vgg_loss_uses_torchvisions_cache(tmp_path, monkeypatch):
    home = tmp_path / "torch-home"
    (home / "hub" / "checkpoints").mkdir(parents=True)
    _random_vgg19_file(home / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth", features_only=False)
    monkeypatch.setenv("TORCH_HOME", str(home))
    loss = VGGContentLoss("vgg54")
    assert len(loss.features) == 36


@pytest.mark.slow
def test_cli_vgg_without_weights_exits_with_a_hint(image_folder, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "trainer.cli", "srgan", "--data", str(image_folder), "--iterations", "1",
         "--content-loss", "vgg54", "--vgg-weights", str(tmp_path / "missing.pth"), "--out",
         str(tmp_path / "run"), "--validation", "--no-progress"],
        capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 2
    assert "--content-loss mse" in result.stderr and "Traceback" not in result.stderr


def test_export_is_loaded_by_the_app_registry(image_folder, tmp_path):
    bench = tmp_path / "bench" / "Tiny"
    (bench / "HR").mkdir(parents=True)
    for src in sorted(image_folder.iterdir())[:2]:
        Image.open(src).crop((0, 0, 64, 64)).save(bench / "HR" / src.name)
    train(_tiny_config(image_folder, tmp_path / "run", iterations=2, validation=[str(bench)],
                       validate_every=1, snapshots=True))
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    validations = [r for r in rows if "validation" in r]
    assert [r["iteration"] for r in validations] == [1, 2]
    assert set(validations[0]["validation"]["Tiny"]) == {"psnr", "ssim", "texture", "grid", "grid_level", "colour_cast",
                                                         "grid_level_worst", "gray_chroma"}  # too small for NIQE
    snapshot = tmp_path / "run" / "snapshots" / "iter_0000001.pt"
    assert sorted(p.name for p in snapshot.parent.iterdir()) == ["iter_0000001.pt", "iter_0000002.pt"]
    with pytest.raises(ValueError, match="snapshot"):  # a snapshot has no optimizer: not resumable
        train(_tiny_config(image_folder, tmp_path / "again", iterations=3, resume=str(snapshot)))

    card = export_checkpoint(snapshot, "tiny_x4", tmp_path / "weights", eval_dirs=[str(bench)])
    assert card["variant"] == "srresnet-mse" and card["training"]["iterations"] == 1
    assert set(card["evaluation"]["Tiny"]) == {"psnr", "ssim", "texture", "grid", "grid_level", "colour_cast"}
    assert card["evaluation"]["Tiny"]["psnr"] == pytest.approx(validations[0]["validation"]["Tiny"]["psnr"],
                                                               abs=1e-4)
    summary = (tmp_path / "weights" / "README.md").read_text()
    assert "`tiny_x4` | srresnet-mse | 1 |" in summary
    model, descriptor = ModelResolver(tmp_path / "weights").load("tiny_x4")
    assert descriptor.scale == 4 and descriptor.num_blocks == 2 and descriptor.variant == "srresnet-mse"
    out = model(torch.rand(1, 3, 8, 8))
    assert out.shape == (1, 3, 32, 32)


def _json_objects(text: str) -> list[dict]:
    """Every top-level JSON object in ``text``, wherever it starts."""
    decoder, found, pos = json.JSONDecoder(), [], text.find("{")
    while pos != -1:
        try:
            obj, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            pos = text.find("{", pos + 1)
            continue
        found.append(obj)
        pos = text.find("{", end)
    return found


@pytest.mark.slow
def test_ddp_two_processes_on_gloo(image_folder, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MASTER_ADDR": "127.0.0.1"}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2", "--master-port",
           str(29500 + os.getpid() % 1000), "-m", "trainer.cli", "srresnet", "--data",
           str(image_folder), "--iterations", "3", "--batch", "2", "--crop", "32", "--blocks", "2",
           "--out", str(tmp_path / "ddp"), "--validation", "--workers", "0", "--device", "cpu",
           "--checkpoint-every", "3", "--log-every", "1", "--no-progress", "--threads", "1"]
    result = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    summaries = _json_objects(result.stdout)  # two ranks share stdout: lines may run together
    assert len(summaries) == 2 and all(s["iteration"] == 3 for s in summaries), result.stdout[-2000:]
    # DDP keeps the replicas identical: both ranks report losses of the same model on different data
    rows = [json.loads(line) for line in (tmp_path / "ddp" / "log.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in rows if "iteration" in r] == [1, 2, 3]
    assert "channels_last" in rows[0]["precision"]  # the first line says what --amp auto picked
    assert (tmp_path / "ddp" / "last.pt").is_file()


def test_hold_out_images_are_not_trained_on_and_validate_the_run(image_folder, tmp_path):
    """--hold-out: those photos leave the crop stream; --validation hold-out measures on them."""
    from trainer.loop import HOLD_OUT
    cfg = _tiny_config(image_folder, tmp_path / "run", hold_out=["img_0", "img_1"],
                       validation=[HOLD_OUT], validate_every=2, iterations=2, scale=2)
    summary = train(cfg)
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    assert any("precision" in row and "channels_last" in row["precision"] for row in rows)
    assert any("iter_per_sec" in row for row in rows)
    validation = [row["validation"] for row in rows if "validation" in row]
    assert validation and HOLD_OUT in validation[-1] and summary["iteration"] == 2
    from trainer.data import CropDataset  # the crop stream never sees the held-out images
    from trainer import loop
    seen = []
    original = loop.load_images
    loop.load_images = lambda files, *rest: seen.extend(files) or original(files, *rest)
    try:
        train(_tiny_config(image_folder, tmp_path / "run2", hold_out=["img_0", "img_1"], iterations=1))
    finally:
        loop.load_images = original
    assert sorted(f.stem for f in seen) == ["img_2", "img_3", "img_4", "img_5"]
    assert CropDataset is not None


def test_distill_dataset_crops_lr_hr_and_teacher_alike():
    """The target is (1 − w)·HR + w·teacher at the very pixels of the LR crop, under the same
    flip/rotation: with the teacher = HR the target is the HR crop, and HR ↓ = the LR crop there."""
    from trainer.data import DistillDataset, DistillImage

    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (64, 80, 3), dtype=np.uint8)
    lr = imresize(hr, output_shape=(16, 20))
    image = DistillImage(hr, lr, (hr / 255.0).astype(np.float16))
    data = DistillDataset([image], crop=32, scale=4, weight=0.7, seed=1)
    for index in range(6):
        lr_crop, target = data[index]
        assert lr_crop.shape == (3, 8, 8) and target.shape == (3, 32, 32)
        # the target (≈ HR crop) downscaled is the LR crop, up to the image-border effect of bicubic
        down = imresize((target.permute(1, 2, 0).numpy() * 255).round().astype(np.uint8), output_shape=(8, 8))
        assert np.abs(down[2:-2, 2:-2].astype(int) - (lr_crop.permute(1, 2, 0).numpy() * 255).round()
                      [2:-2, 2:-2].astype(int)).max() <= 3
    zero = DistillDataset([DistillImage(hr, lr, np.zeros_like(hr, dtype=np.float16))], crop=32, scale=4,
                          weight=0.25, seed=1)
    assert float(zero[0][1].max()) <= 0.75 + 1e-6  # (1 − w)·HR + w·0


def test_distill_trains_a_compact_student_that_the_app_loads(image_folder, tmp_path):
    """srgan-train distill: a teacher file (a tiny SRResNet saved as the app saves models), two
    steps, export → spandrel's Real-ESRGAN Compact in the app, exactly tiled like the whole frame."""
    from srgan_desktop.core.engine import NetworkMethod, Upscaler
    from srgan_desktop.core.weights import load_model, save_model
    from trainer.cli import main as train_main

    torch.manual_seed(0)
    teacher = save_model(SRResNet(num_blocks=1).eval(), tmp_path / "teacher.safetensors",
                         {"name": "teacher", "architecture": "srresnet"})
    out = tmp_path / "run"
    assert train_main(["distill", "--data", str(image_folder), "--teacher", str(teacher), "--iterations", "3", "--log-every", "1",
                       "--batch", "2", "--crop", "32", "--features", "8", "--convs", "2", "--workers", "0",
                       "--validation", "--no-progress", "--out", str(out), "--device", "cpu"]) == 0
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    rows = [r for r in log if "lr" in r]
    assert rows[-1]["lr"] < rows[0]["lr"]  # the cosine schedule
    card = export_checkpoint(out / "last.pt", "fast_test", tmp_path / "weights", eval_dirs=[])
    assert card["architecture"] == "RealESRGAN Compact" and card["training"]["teacher"] == str(teacher)
    assert card["training"]["learning_rate_schedule"] == "cosine from lr to lr/100 over the iterations"
    model, descriptor = load_model(tmp_path / "weights" / "fast_test.safetensors")
    assert descriptor.loader == "spandrel" and descriptor.tiling == "exact" and descriptor.scale == 4
    assert descriptor.params == card["params"]
    from trainer.loop import build_generator
    from trainer.validate import _descriptor

    during_training = _descriptor(build_generator("distill", 4, features=8, convs=2), 4)
    assert ((during_training.architecture, during_training.tiling, during_training.pad)
            == (descriptor.architecture, descriptor.tiling, descriptor.pad))  # one tiling rule
    image = np.random.default_rng(1).integers(0, 256, (40, 36, 3), dtype=np.uint8)
    whole = Upscaler(NetworkMethod(model, descriptor), device="cpu", tile=0).upscale(image).rgb
    tiled = Upscaler(NetworkMethod(model, descriptor), device="cpu", tile=16).upscale(image).rgb
    assert whole.shape == (160, 144, 3) and np.array_equal(whole, tiled)


def test_distill_refuses_a_teacher_of_another_scale(image_folder, tmp_path, capsys):
    from srgan_desktop.core.weights import save_model
    from trainer.cli import main as train_main

    teacher = save_model(SRResNet(num_blocks=1, scale=2).eval(), tmp_path / "t2.safetensors",
                         {"name": "t2", "architecture": "srresnet"})
    code = train_main(["distill", "--data", str(image_folder), "--teacher", str(teacher), "--iterations", "1",
                       "--crop", "32", "--validation", "--no-progress", "--out", str(tmp_path / "r")])
    assert code == 2 and "×2 model" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("flag", ["--init", "--hold-out"])
def test_cli_bad_init_weights_or_hold_out_file_is_one_line(image_folder, tmp_path, flag):
    bad = tmp_path / ("bad.safetensors" if flag == "--init" else "hold.txt")
    bad.write_bytes(b"\xff\xfe not weights \x00\x01" * 4)
    for target in (bad, tmp_path / "missing.safetensors"):
        result = subprocess.run(
            [sys.executable, "-m", "trainer.cli", "srgan" if flag == "--init" else "srresnet", "--data",
             str(image_folder), "--iterations", "1", "--out", str(tmp_path / "run"), "--validation",
             "--no-progress", "--content-loss", "mse", flag, str(target)],
            capture_output=True, text=True, cwd=REPO, timeout=300)
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and target.name in lines[0], lines


def test_distill_init_takes_an_exported_compact_model():
    """``srgan-train distill --init fast_x4.safetensors``: the app wraps a spandrel model (its
    tensors named ``net.*``); the trainer takes the inner network's own tensors."""
    from srgan_desktop import paths
    from trainer.loop import build_generator, load_generator_weights, load_matching

    student = build_generator("distill", 4)
    state = load_generator_weights(paths.weights_dir() / "fast_x4.safetensors")
    assert load_matching(student, state) == []
    assert all(torch.equal(student.state_dict()[k], v) for k, v in state.items())


def _rank_share(rank: int, world: int, port: int, out: str) -> None:
    import torch.distributed as dist
    from trainer.loop import shared_by_ranks

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    computed: list[int] = []

    def square(x: int) -> np.ndarray:
        computed.append(x)
        return np.full(3, x * x)

    result = shared_by_ranks(list(range(5)), square)
    Path(out, f"rank{rank}.json").write_text(json.dumps({"computed": computed,
                                                         "result": [r.tolist() for r in result]}))
    dist.destroy_process_group()


def test_under_a_process_group_each_rank_computes_its_share_and_all_get_everything(tmp_path):
    """The distillation teacher's outputs (``shared_by_ranks``) under two real gloo processes:
    every photo computed once in all, every rank with the whole list in order."""
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_rank_share, args=(2, port, str(tmp_path)), nprocs=2, join=True)
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert [r["computed"] for r in ranks] == [[0, 2, 4], [1, 3]]
    assert all(r["result"] == [[i * i] * 3 for i in range(5)] for r in ranks)


def test_data_scale_reduces_the_training_photos_and_the_hold_out_alike(image_folder, tmp_path):
    """--data-scale 0.5: crops come from the photos reduced by the MATLAB bicubic, and the hold-out
    photos are validated in the same reduction (their LR made from the reduced HR)."""
    from srgan_desktop.core.benchmarks import find_dataset
    from trainer.data import find_images, load_images
    from trainer.loop import HOLD_OUT, validation_set

    files = find_images([image_folder])
    photos = load_images(files, 32, 0.5)
    original = np.asarray(Image.open(files[0]).convert("RGB"))
    assert photos[0].shape == (40, 48, 3)
    assert np.array_equal(photos[0], imresize(original, scale=0.5))
    cfg = _tiny_config(image_folder, tmp_path / "run", hold_out=["img_0"], validation=[HOLD_OUT],
                       data_scale=0.5, scale=2, iterations=1, validate_every=1)
    pair = validation_set(HOLD_OUT, cfg).pairs(2)[0]
    assert np.array_equal(pair.hr, imresize(original, scale=0.5))
    assert np.array_equal(pair.lr, imresize(pair.hr, output_shape=(20, 24)))
    assert [p.name for p in find_dataset(image_folder, only=frozenset({"img_0"})).pairs(2)] == ["img_0"]
    assert train(cfg)["iteration"] == 1
    with pytest.raises(ValueError, match="data-scale"):
        train(_tiny_config(image_folder, tmp_path / "bad", data_scale=1.5))
