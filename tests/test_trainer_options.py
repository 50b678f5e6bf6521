"""The ImageNet-free SRGAN options: each takes a real step on tiny crops and does what it says."""

from __future__ import annotations

import pytest
import torch

from srgan_desktop.core.arch import Discriminator, SRResNet
from srgan_desktop.core.metrics import grid_score, lattice_mask
from trainer.checkpoint import CheckpointError, save_checkpoint
from trainer.cli import build_parser
from trainer.losses import (adversarial_generator_loss, content_loss, discriminator_loss,
                            lattice_loss)
from trainer.loop import TrainConfig, icnr_, spectral_norm_, train, training_step, update_ema

from test_trainer import _batch, _tiny_config, image_folder  # noqa: F401 - fixture


def _step(cfg: TrainConfig, seed: int = 1):
    torch.manual_seed(0)
    gen, disc = SRResNet(num_blocks=2), Discriminator(32)
    if cfg.spectral_norm:
        spectral_norm_(disc)
    opt_g = torch.optim.Adam(gen.parameters(), lr=cfg.lr)
    opt_d = torch.optim.Adam(disc.parameters(), lr=cfg.lr_d or cfg.lr)
    lr, hr = _batch(seed)
    scaler = torch.amp.GradScaler("cuda", enabled=False)
    gen.train(), disc.train()
    return gen, disc, training_step(cfg, gen, disc, opt_g, opt_d, content_loss(cfg.content_loss), scaler,
                                    None, torch.device("cpu"), lr, hr), (lr, hr)


def test_ragan_step_lowers_both_relativistic_losses():
    cfg = TrainConfig(stage="srgan", lr=1e-4, gan="ragan")
    torch.manual_seed(0)
    gen, disc = SRResNet(num_blocks=2), Discriminator(32)
    lr, hr = _batch(1)

    def d_loss() -> float:
        with torch.no_grad():
            return float(discriminator_loss(disc(hr), disc(gen(lr)), "ragan"))

    before = d_loss()
    opt_g, opt_d = torch.optim.Adam(gen.parameters(), lr=1e-4), torch.optim.Adam(disc.parameters(), lr=1e-4)
    out = training_step(cfg, gen, disc, opt_g, opt_d, content_loss("mse"),
                        torch.amp.GradScaler("cuda", enabled=False), None, torch.device("cpu"), lr, hr)
    assert d_loss() < before and out["d_loss"] > 0 and out["adversarial"] > 0


def test_ragan_losses_are_relativistic():
    real, fake = torch.tensor([[3.0], [5.0]]), torch.tensor([[-1.0], [1.0]])
    # shifting every logit by the same amount changes nothing for a relativistic loss
    assert discriminator_loss(real + 7, fake + 7, "ragan") == pytest.approx(float(discriminator_loss(real, fake, "ragan")))
    assert adversarial_generator_loss(fake + 7, real + 7, "ragan") == pytest.approx(
        float(adversarial_generator_loss(fake, real, "ragan")))
    assert discriminator_loss(real + 7, fake + 7) != pytest.approx(float(discriminator_loss(real, fake)))


def test_feature_matching_content_uses_the_discriminator_features():
    cfg = TrainConfig(stage="srgan", lr=1e-4, content_loss="mse+dfeat", fm_weight=2.0)
    gen, disc, out, (lr, hr) = _step(cfg)
    assert out["feature"] > 0 and out["content"] > out["feature"] * 2.0
    logits, maps = disc.forward_features(hr)
    assert len(maps) == 8 and logits.shape == (hr.shape[0], 1)
    assert torch.allclose(logits, disc(hr))
    with pytest.raises(ValueError, match="discriminator"):
        train(TrainConfig(stage="srresnet", content_loss="dfeat", data=["."]))


def test_dfeat_alone_needs_no_pixel_loss():
    cfg = TrainConfig(stage="srgan", lr=1e-4, content_loss="dfeat")
    assert content_loss("dfeat") is None
    _, _, out, _ = _step(cfg)
    assert out["content"] == pytest.approx(out["feature"] * cfg.fm_weight)


def test_spectral_norm_bounds_d_and_separate_d_learning_rate():
    cfg = TrainConfig(stage="srgan", lr=1e-5, lr_d=1e-3, spectral_norm=True)
    gen, disc, out, _ = _step(cfg)
    conv = disc.features[0]
    assert hasattr(conv, "parametrizations")
    assert torch.linalg.matrix_norm(conv.weight.reshape(conv.weight.shape[0], -1), 2) < 1.5


def test_lattice_loss_sees_a_grid_and_only_a_grid():
    hr = torch.nn.functional.avg_pool2d(torch.rand(2, 3, 32, 32), 3, 1, 1)
    grid = torch.zeros(1, 1, 32, 32)
    grid[..., ::4, ::4] = 0.2  # a pixel-shuffle-like lattice
    smooth_error = torch.nn.functional.avg_pool2d(torch.rand(2, 3, 32, 32) * 0.2, 7, 1, 3)
    assert float(lattice_loss(hr + grid, hr, 4)) > 50 * float(lattice_loss(hr + smooth_error, hr, 4))
    assert float(lattice_loss(hr, hr, 4)) == 0.0
    assert int(lattice_mask(32, 32, 4).sum()) == 15 * 9
    # Parseval: the lattice part can never exceed the whole squared error
    assert float(lattice_loss(hr + grid, hr, 4)) <= float(torch.mean(grid.expand_as(hr) ** 2)) + 1e-7


def test_grid_weight_steps_reduce_the_lattice_error():
    """The same steps with and without the lattice loss: with it, less error at the lattice."""
    def lattice_after(weight: float) -> float:
        cfg = TrainConfig(stage="srgan", lr=1e-3, grid_weight=weight)
        torch.manual_seed(0)
        gen, disc = SRResNet(num_blocks=2), Discriminator(32)
        opt_g, opt_d = torch.optim.Adam(gen.parameters(), lr=1e-4), torch.optim.Adam(disc.parameters(), lr=1e-4)
        lr, hr = _batch(1)
        for _ in range(5):
            out = training_step(cfg, gen, disc, opt_g, opt_d, content_loss("mse"),
                                torch.amp.GradScaler("cuda", enabled=False), None, torch.device("cpu"), lr, hr)
        assert ("lattice" in out) == (weight > 0)
        with torch.no_grad():
            return float(lattice_loss(gen(lr), hr, 4))

    assert lattice_after(1000.0) < 0.5 * lattice_after(0.0)


def test_ema_follows_the_weights_and_is_exported(image_folder, tmp_path):
    a, b = SRResNet(num_blocks=1), SRResNet(num_blocks=1)
    before = [p.clone() for p in a.parameters()]
    update_ema(a, b, 0.9)
    for p, q, r in zip(a.parameters(), before, b.parameters()):
        assert torch.allclose(p, 0.9 * q + 0.1 * r, atol=1e-6)
    torch.save({"generator": SRResNet(num_blocks=2).state_dict()}, tmp_path / "init.pt")
    train(_tiny_config(image_folder, tmp_path / "run", "srgan", iterations=2, ema=0.5,
                       init=str(tmp_path / "init.pt")))
    ckpt = torch.load(tmp_path / "run" / "last.pt", weights_only=True)
    assert "generator_ema" in ckpt
    assert any(not torch.equal(ckpt["generator_ema"][k], ckpt["generator"][k]) for k in ckpt["generator"]
               if ckpt["generator"][k].is_floating_point())
    from trainer.publish import export_checkpoint
    card = export_checkpoint(tmp_path / "run" / "last.pt", "ema_x4", tmp_path / "w", eval_dirs=[])
    assert card["training"]["weights_exported"].startswith("EMA")
    from safetensors.torch import load_file
    exported = load_file(str(tmp_path / "w" / "ema_x4.safetensors"))
    key = "head.0.weight"
    assert torch.equal(exported[key], ckpt["generator_ema"][key])


def test_icnr_starts_without_a_grid():
    torch.manual_seed(0)
    plain, icnr = SRResNet(num_blocks=1), SRResNet(num_blocks=1)
    icnr.load_state_dict(plain.state_dict())
    icnr_(icnr)
    x = torch.nn.functional.avg_pool2d(torch.rand(1, 3, 40, 40), 5, 1, 2)
    with torch.no_grad():
        up = icnr.upsample(icnr.head(x).repeat(1, 1, 1, 1))  # features through the sub-pixel stages
        phases = up[0, :, :-4, :-4].unfold(1, 4, 4).unfold(2, 4, 4)  # (C, H/4, W/4, 4, 4)
    # after ICNR each 4x4 phase of the first shuffle sees the same kernel: neighbouring 2x2 sub-pixels
    # of the first upsampling are equal before the nonlinearity, so the output has no fixed lattice
    first = icnr.upsample[0].body[:2](icnr.head(x))
    assert torch.allclose(first[..., 0::2, 0::2], first[..., 1::2, 1::2], atol=1e-5)
    assert phases.numel() > 0


def test_cli_help_names_every_option_with_its_source(capsys):
    parser = build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["srgan", "--help"])
    text = capsys.readouterr().out
    for option, source in [("--gan", "ESRGAN"), ("--ema", "Yazici"), ("--spectral-norm", "Miyato"),
                           ("--content-loss", "Salimans"), ("--lr-d", "--lr"), ("--grid-weight", "lattice")]:
        assert option in text and source in text, option
    with pytest.raises(SystemExit):
        parser.parse_args(["srresnet", "--help"])
    assert "Aitken" in capsys.readouterr().out
    defaults = parser.parse_args(["srgan", "--data", "x"])
    assert (defaults.gan, defaults.content_loss, defaults.adversarial_weight, defaults.ema,
            defaults.grid_weight) == ("standard", "mse", 1e-3, 0.0, 0.0)  # the paper's SRGAN-MSE


def test_grid_score_of_a_gridded_image_is_larger():
    import numpy as np

    rng = np.random.default_rng(0)
    from srgan_desktop.core.resize import upscale
    img = upscale(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8), 4)
    gridded = img.astype(np.int16)
    gridded[::4, ::4] += 12
    gridded = np.clip(gridded, 0, 255).astype(np.uint8)
    assert grid_score(gridded, 4) > 5 * grid_score(img, 4)


def test_measure_rewrites_only_the_cards_figures(image_folder, tmp_path):
    from PIL import Image

    from trainer.cli import main as train_main
    from trainer.publish import export_checkpoint

    bench = tmp_path / "bench" / "Tiny"
    (bench / "HR").mkdir(parents=True)
    for src in sorted(image_folder.iterdir())[:2]:
        Image.open(src).crop((0, 0, 64, 64)).save(bench / "HR" / src.name)
    train(_tiny_config(image_folder, tmp_path / "run", iterations=1))
    dest = tmp_path / "w"
    card = export_checkpoint(tmp_path / "run" / "last.pt", "tiny_x4", dest, eval_dirs=[])
    weights = (dest / "tiny_x4.safetensors").read_bytes()
    assert card["evaluation"] == {}
    assert train_main(["measure", "tiny_x4", "--dest", str(dest), "--eval", str(bench)]) == 0
    import json

    measured = json.loads((dest / "tiny_x4.json").read_text())
    assert set(measured["evaluation"]["Tiny"]) == {"psnr", "ssim", "texture", "grid", "grid_level", "colour_cast"}
    assert {k: v for k, v in measured.items() if k != "evaluation"} == {k: v for k, v in card.items()
                                                                          if k != "evaluation"}
    assert (dest / "tiny_x4.safetensors").read_bytes() == weights
    assert "| `tiny_x4` |" in (dest / "README.md").read_text()


def test_each_stage_has_its_schedule_and_any_stage_can_take_another():
    from trainer.loop import _learning_rate

    constant, step, cosine = (TrainConfig(stage=s, lr=1e-4, iterations=100) for s in STAGES_IN_ORDER)
    assert [_learning_rate(constant, i) for i in (1, 60, 100)] == [1e-4] * 3
    assert _learning_rate(step, 50) == 1e-4 and _learning_rate(step, 51) == pytest.approx(1e-5)
    assert _learning_rate(cosine, 0) == pytest.approx(1e-4) and _learning_rate(cosine, 100) == pytest.approx(1e-6)
    srresnet_cosine = TrainConfig(stage="srresnet", lr=1e-4, iterations=100, schedule="cosine")
    assert [_learning_rate(srresnet_cosine, i) for i in (0, 50, 100)] == pytest.approx([1e-4, 5.05e-5, 1e-6])
    args = build_parser().parse_args(["srresnet", "--data", "x", "--schedule", "cosine", "--lr-drop-at", "0.3"])
    assert (args.schedule, args.lr_drop_at) == ("cosine", 0.3)
    from trainer.publish import schedule_text

    assert [schedule_text(s, {}) for s in STAGES_IN_ORDER] == [
        "constant", "lr x0.1 after 0.5 of the iterations", "cosine from lr to lr/100 over the iterations"]
    assert schedule_text("srresnet", {"schedule": "cosine"}).startswith("cosine")  # what the card says
    with pytest.raises(ValueError, match="unknown schedule"):
        train(TrainConfig(stage="srresnet", schedule="linear"))


STAGES_IN_ORDER = ("srresnet", "srgan", "distill")  # constant, step, cosine by default


def test_freeze_bn_trains_the_function_the_app_runs(image_folder, tmp_path):
    """--freeze-bn: through validations and steps the batch norms keep their running statistics
    (the run's exported weights carry the starting ones) and still learn their scale and shift."""
    from trainer.loop import HOLD_OUT, load_generator_weights, set_training_mode

    torch.manual_seed(0)
    start = SRResNet(num_blocks=2)
    for module in start.modules():  # non-trivial statistics, as trained weights have
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.1, 0.1)
            module.running_var.uniform_(0.5, 2.0)
    init = tmp_path / "start.pt"
    save_checkpoint(init, {"generator": start.state_dict()})
    cfg = _tiny_config(image_folder, tmp_path / "run", init=str(init), freeze_bn=True, iterations=3,
                       hold_out=["img_0"], validation=[HOLD_OUT], validate_every=1, lr=1e-3)
    train(cfg)
    trained = load_generator_weights(tmp_path / "run" / "last.pt")
    before = start.state_dict()
    stats = [k for k in before if k.endswith(("running_mean", "running_var"))]
    affine = [k for k in before if ".1.weight" in k and k.replace("weight", "running_mean") in before]
    assert stats and affine
    assert all(torch.equal(trained[k], before[k]) for k in stats)
    assert any(not torch.equal(trained[k], before[k]) for k in affine)
    # in training mode the frozen generator computes what eval mode computes
    model = SRResNet(num_blocks=2)
    model.load_state_dict(trained)
    set_training_mode(model, freeze_bn=True)
    x = torch.rand(2, 3, 12, 12)
    with torch.no_grad():
        training_out = model(x)
        model.eval()
        assert torch.equal(training_out, model(x))
    set_training_mode(model, freeze_bn=False)  # without it a batch norm uses the batch's statistics
    with torch.no_grad():
        assert not torch.allclose(model(x), training_out)


def test_edge_pad_is_validated_exported_and_measured_as_the_app_runs(image_folder, tmp_path):
    """--edge-pad N: the card gets edge_pad N, and its figures (export and ``measure``) are those of
    the model run with N mirrored pixels, as the app runs it, not those of the bare network."""
    import json

    from PIL import Image

    from srgan_desktop.core.weights import load_model
    from trainer.cli import main as train_main
    from trainer.publish import export_checkpoint
    from trainer.validate import load_benchmark, validate

    bench = tmp_path / "bench" / "Tiny"
    (bench / "HR").mkdir(parents=True)
    for src in sorted(image_folder.iterdir())[:2]:
        Image.open(src).crop((0, 0, 64, 64)).save(bench / "HR" / src.name)
    with pytest.raises(ValueError, match="edge-pad"):
        train(_tiny_config(image_folder, tmp_path / "bad", edge_pad=65))
    train(_tiny_config(image_folder, tmp_path / "run", iterations=1, edge_pad=4))
    dest = tmp_path / "w"
    card = export_checkpoint(tmp_path / "run" / "last.pt", "tiny_x4", dest, eval_dirs=[str(bench)])
    model, descriptor = load_model(dest / "tiny_x4.safetensors")
    assert card["edge_pad"] == descriptor.edge_pad == 4
    network = getattr(model, "net", model).eval()
    figures = {pad: validate(network, load_benchmark(bench), scale=4, edge_pad=pad) for pad in (0, 4)}
    assert card["evaluation"]["Tiny"]["psnr"] == round(figures[4]["psnr"], 4)
    assert abs(figures[4]["psnr"] - figures[0]["psnr"]) > 1e-3  # the mirrored edges changed the output
    assert train_main(["measure", "tiny_x4", "--dest", str(dest), "--eval", str(bench)]) == 0
    assert json.loads((dest / "tiny_x4.json").read_text())["evaluation"] == card["evaluation"]


def test_interpolate_blends_a_gan_with_its_base_and_validates_the_blend(image_folder, tmp_path):
    """srgan-train interpolate: alpha 0 is the base, 1 the GAN, 0.5 their midpoint; each blend is
    an exportable snapshot measured on the run's hold-out photos with the run's edge_pad, and the
    card records the blend. Generators of different shapes are refused."""
    import json

    from trainer.cli import main as train_main
    from trainer.loop import HOLD_OUT, load_generator_weights
    from trainer.publish import export_checkpoint

    torch.manual_seed(0)
    save_checkpoint(tmp_path / "base.pt", {"generator": SRResNet(num_blocks=2).state_dict()})
    train(_tiny_config(image_folder, tmp_path / "gan", "srgan", iterations=1, init=str(tmp_path / "base.pt"),
                       lr=1e-3, hold_out=["img_0"], validation=[HOLD_OUT], edge_pad=2, low_weight=100.0,
                       chroma_weight=30.0))
    gan, base = load_generator_weights(tmp_path / "gan" / "last.pt"), load_generator_weights(tmp_path / "base.pt")
    out = tmp_path / "blend"
    assert train_main(["interpolate", str(tmp_path / "gan" / "last.pt"), "--base", str(tmp_path / "base.pt"),
                       "--alpha", "0", "0.5", "1", "--out", str(out), "--validate"]) == 0
    blends = {a: load_generator_weights(out / f"alpha_{a}.pt") for a in ("0.00", "0.50", "1.00")}
    floats = [k for k in gan if gan[k].is_floating_point() and not torch.equal(gan[k], base[k])]
    assert floats
    for k in floats:
        assert torch.equal(blends["0.00"][k], base[k]) and torch.equal(blends["1.00"][k], gan[k])
        assert torch.allclose(blends["0.50"][k], (gan[k] + base[k]) / 2)
    rows = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    assert [r["alpha"] for r in rows] == [0.0, 0.5, 1.0]
    assert all({"psnr", "grid"} <= set(r["validation"][HOLD_OUT]) for r in rows)
    # the blend at 1 is the GAN itself: the run's own last validation (same photos, same edge_pad)
    run_rows = [json.loads(line) for line in (tmp_path / "gan" / "log.jsonl").read_text().splitlines()]
    last = [r for r in run_rows if "validation" in r][-1]["validation"][HOLD_OUT]
    assert rows[2]["validation"][HOLD_OUT]["psnr"] == pytest.approx(last["psnr"], abs=1e-6)
    card = export_checkpoint(out / "alpha_0.50.pt", "blend_x4", tmp_path / "w", eval_dirs=[])
    assert card["training"]["network_interpolation"]["alpha"] == 0.5
    assert card["edge_pad"] == 2
    assert card["training"]["low_frequency_loss_weight"] == 100.0 and card["training"]["chroma_loss_weight"] == 30.0
    save_checkpoint(tmp_path / "other.pt", {"generator": SRResNet(num_blocks=3).state_dict()})
    assert train_main(["interpolate", str(tmp_path / "gan" / "last.pt"), "--base", str(tmp_path / "other.pt"),
                       "--alpha", "0.5", "--out", str(tmp_path / "bad")]) == 2


def test_low_frequency_loss_sees_a_colour_cast_and_not_texture_inside_the_blocks():
    from trainer.losses import low_frequency_loss

    torch.manual_seed(0)
    hr = torch.rand(2, 3, 16, 16)
    cast = hr.clone()
    cast[:, 1] += 0.04  # ten levels of green
    texture = hr + torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).repeat(8, 8) * 0.05  # zero mean per 4×4 block
    assert low_frequency_loss(cast, hr, 4).item() == pytest.approx(0.04 ** 2 / 3, rel=1e-4)
    assert low_frequency_loss(texture, hr, 4).item() == pytest.approx(0.0, abs=1e-10)
    assert torch.mean((texture - hr) ** 2).item() > 1e-3  # which pixel MSE does count


def test_low_weight_adds_the_low_frequency_term_to_the_generator_loss():
    cfg = TrainConfig(stage="srgan", lr=1e-3, adversarial_weight=1e-3, low_weight=100.0)
    losses = _step(cfg)[2]
    assert losses["low"] > 0
    assert losses["loss"] == pytest.approx(losses["content"] + 1e-3 * losses["adversarial"] + 100.0 * losses["low"],
                                           rel=1e-4)
    cfg_off = TrainConfig(stage="srgan", lr=1e-3, adversarial_weight=1e-3)
    assert "low" not in _step(cfg_off)[2]


def test_a_damaged_or_hostile_checkpoint_is_one_line_and_exit_2(image_folder, tmp_path, capsys):
    """export, interpolate (snapshot or base) and --resume read checkpoints through one loader:
    random bytes, a truncated checkpoint and a pickle that would run code each give one line
    naming the file and exit code 2; the hostile pickle's code never runs."""
    import pickle

    from trainer.cli import main as train_main

    good = tmp_path / "good.pt"
    save_checkpoint(good, {"generator": SRResNet(num_blocks=2).state_dict(), "config": "{}", "iteration": 1})
    (tmp_path / "random.pt").write_bytes(bytes(range(256)) * 20)
    (tmp_path / "truncated.pt").write_bytes(good.read_bytes()[:4000])
    marker = tmp_path / "ran"

    class Hostile:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "hostile.pt").write_bytes(pickle.dumps({"generator": Hostile()}))
    for name in ("random.pt", "truncated.pt", "hostile.pt"):
        bad = str(tmp_path / name)
        for argv in (["export", bad, "--name", "x", "--dest", str(tmp_path / "w")],
                     ["interpolate", bad, "--base", str(good), "--alpha", "0.5", "--out", str(tmp_path / "b")],
                     ["interpolate", str(good), "--base", bad, "--alpha", "0.5", "--out", str(tmp_path / "b")]):
            assert train_main(argv) == 2
            err = capsys.readouterr().err.strip()
            assert err.count("\n") == 0 and name in err and "not a readable checkpoint" in err
        with pytest.raises(CheckpointError, match=name):
            train(_tiny_config(image_folder, tmp_path / "run", resume=bad))
    assert not marker.exists()


def test_chroma_loss_sees_colour_inside_a_grey_texture_and_not_grey_texture():
    """Chroma = RGB less its grey: colour painted into a grey texture counts, the same texture in
    grey does not (it is the adversarial term's to add), and the two terms split pixel MSE."""
    from trainer.losses import chroma_loss

    torch.manual_seed(0)
    hr = torch.rand(2, 1, 16, 16).repeat(1, 3, 1, 1)  # grey
    checker = torch.tensor([[1.0, -1.0], [-1.0, 1.0]]).repeat(8, 8) * 0.05
    grey_texture = hr + checker
    coloured = hr.clone()
    coloured[:, 1] += checker  # green checks only inside each block: the low-frequency loss misses it
    assert chroma_loss(grey_texture, hr).item() == pytest.approx(0.0, abs=1e-12)
    assert chroma_loss(coloured, hr).item() > 0
    grey_part = torch.mean((coloured.mean(1) - hr.mean(1)) ** 2).item()  # per channel, repeated
    assert torch.mean((coloured - hr) ** 2).item() == pytest.approx(grey_part + chroma_loss(coloured, hr).item(),
                                                                    rel=1e-5)


def test_chroma_weight_adds_the_chroma_term_to_the_generator_loss():
    cfg = TrainConfig(stage="srgan", lr=1e-3, adversarial_weight=1e-3, chroma_weight=100.0)
    losses = _step(cfg)[2]
    assert losses["chroma"] > 0
    assert losses["loss"] == pytest.approx(losses["content"] + 1e-3 * losses["adversarial"]
                                           + 100.0 * losses["chroma"], rel=1e-4)
    assert "chroma" not in _step(TrainConfig(stage="srgan", lr=1e-3, adversarial_weight=1e-3))[2]
