"""Export a training checkpoint as app weights: ``NAME.safetensors`` + ``NAME.json`` model card.

The card records the architecture, scale, variant, content loss, training data, iterations,
wall time, hardware and the Set5/Set14 PSNR/SSIM measured here with the app's own engine and
metrics, so ``srgan-desktop eval`` reproduces them.
"""

from __future__ import annotations

import hashlib
import json
import platform
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import torch

from srgan_desktop.core.weights import load_model, save_model
from srgan_desktop.utils import atomic_write
from trainer.checkpoint import load_checkpoint, save_checkpoint
from trainer.loop import (HOLD_OUT, STAGE_SCHEDULE, TrainConfig, build_generator, load_generator_weights,
                          validation_set)
from trainer.validate import load_benchmark, validate

__all__ = ["export_checkpoint", "remeasure", "measure_card", "write_cards_summary", "DEFAULT_EVAL_DIRS",
           "blend_weights", "interpolate_checkpoint"]

DEFAULT_EVAL_DIRS = ["../shared/datasets/Set5", "../shared/datasets/Set14"]


def schedule_text(stage: str, cfg: dict[str, Any]) -> str:
    """The run's learning-rate schedule in words, for its card (``--schedule``, else the stage's)."""
    schedule = cfg.get("schedule") or STAGE_SCHEDULE.get(stage, "constant")
    if schedule == "cosine":
        return "cosine from lr to lr/100 over the iterations"
    if schedule == "step":
        return f"lr x0.1 after {cfg.get('lr_drop_at', 0.5):g} of the iterations"
    return "constant"


def _variant(stage: str, content_loss: str) -> str:
    if stage == "srresnet":
        return f"srresnet-{content_loss}"
    if stage == "distill":
        return "distilled-compact"
    return f"srgan-{content_loss}"


def export_checkpoint(checkpoint: str | Path, name: str, dest: Path, title: str | None = None,
                      data_note: str = "", eval_dirs: list[str] | None = None,
                      notes: str = "") -> dict[str, Any]:
    """Write ``dest/NAME.safetensors`` and its card; returns the card."""
    ckpt = load_checkpoint(checkpoint)
    cfg = json.loads(ckpt["config"])
    stage, loss = cfg["stage"], cfg["content_loss"]
    generator = build_generator(stage, cfg.get("scale", 4), cfg.get("blocks", 16), cfg.get("features", 48),
                                cfg.get("convs", 8))
    distilled = stage == "distill"
    ema = "generator_ema" in ckpt  # an EMA run exports the averaged weights, not the raw ones
    generator.load_state_dict(ckpt["generator_ema"] if ema else ckpt["generator"])
    generator.eval()
    variant = _variant(stage, loss)
    if title is None:
        title = {"srresnet-mse": "SRResNet (MSE)", "srgan-mse": "SRGAN (MSE content loss)",
                 "srgan-vgg54": "SRGAN (VGG54)", "srgan-vgg22": "SRGAN (VGG22)",
                 "srgan-dfeat": "SRGAN (D-features)", "srgan-mse+dfeat": "SRGAN (MSE + D-features)",
                 "distilled-compact": "Fast (distilled)"}.get(variant, name)
    scale = int(cfg.get("scale", 4))
    shape: dict[str, Any] = ({"architecture": "RealESRGAN Compact", "features": cfg.get("features", 48),
                              "convs": cfg.get("convs", 8)} if distilled else
                             {"architecture": "srresnet", "num_blocks": generator.num_blocks,
                              "channels": generator.channels})
    card: dict[str, Any] = {
        "name": name,
        "title": title,
        **shape,
        "scale": scale,
        "params": sum(p.numel() for p in generator.parameters()),
        "variant": variant,
        "content_loss": loss,
        "adversarial_weight": cfg.get("adversarial_weight") if stage == "srgan" else None,
        "input_range": [0.0, 1.0],
        "output_range": [0.0, 1.0],
        **({"edge_pad": int(cfg["edge_pad"])} if cfg.get("edge_pad") else {}),
        "training": {
            "stage": stage,
            "data": data_note or ", ".join(cfg.get("data", [])),
            "iterations": int(ckpt["iteration"]),
            "batch": cfg.get("batch"),
            "crop": cfg.get("crop"),
            "learning_rate": cfg.get("lr"),
            "gan": cfg.get("gan", "standard") if stage == "srgan" else None,
            "discriminator_learning_rate": (cfg.get("lr_d") or cfg.get("lr")) if stage == "srgan" else None,
            "spectral_norm": cfg.get("spectral_norm", False) if stage == "srgan" else None,
            "feature_matching_weight": cfg.get("fm_weight") if loss.endswith("dfeat") else None,
            "lattice_loss_weight": cfg.get("grid_weight", 0.0),
            "low_frequency_loss_weight": cfg.get("low_weight", 0.0),
            "chroma_loss_weight": cfg.get("chroma_weight", 0.0),
            "ema_decay": cfg.get("ema", 0.0),
            "weights_exported": "EMA of the generator's weights" if ema else "the generator's weights",
            "icnr": cfg.get("icnr", False),
            "degradation": "MATLAB-compatible bicubic x4 (antialiased, a=-0.5), LR rounded to 8 bits",
            "initialised_from": cfg.get("init"),
            "teacher": cfg.get("teacher") if distilled else None,
            "distillation_loss": (f"MSE to (1 - {cfg.get('distill_weight')}) * HR + "
                                  f"{cfg.get('distill_weight')} * teacher(LR), teacher run once on each "
                                  "whole LR training photo") if distilled else None,
            "learning_rate_schedule": schedule_text(stage, cfg),
            "held_out": list(cfg.get("hold_out", [])),
            "data_scale": cfg.get("data_scale", 1.0),
            "batch_norm": ("frozen: running statistics of the starting weights" if cfg.get("freeze_bn")
                           else "batch statistics in training"),
            "wall_time_hours": round(float(ckpt.get("elapsed", 0.0)) / 3600.0, 3),
            "hardware": ckpt.get("hardware", ""),
            "seed": cfg.get("seed"),
            "network_interpolation": cfg.get("interpolation"),
        },
        "evaluation": {},
        "evaluation_protocol": f"PSNR/SSIM on Y (BT.601), border {scale}, SSIM Gaussian 11x11 "
                               f"sigma 1.5; NIQE (MATLAB niqe, Y, border {scale}, mean over "
                               "images that NIQE can score); "
                               "grid = median over images of the lattice-frequency energy relative to "
                               "the HR image's (core.metrics.grid_ratio); "
                               + (f"LR = the benchmark's LR_bicubic_x{scale} images, else "
                                  "made from HR with the MATLAB-compatible bicubic"),
        "exported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "exported_with": {"torch": torch.__version__, "python": platform.python_version()},
        "notes": notes,
    }
    card["evaluation"] = measure_card(generator, eval_dirs, scale, int(cfg.get("edge_pad", 0)))
    path = save_model(generator, Path(dest) / f"{name}.safetensors", card)
    load_model(path)  # the app's loader must accept what we wrote
    write_cards_summary(Path(dest))
    return card


def measure_card(generator: torch.nn.Module, eval_dirs: list[str] | None = None,
                 scale: int | None = None, edge_pad: int = 0) -> dict[str, dict[str, float]]:
    """The card's ``evaluation``: :func:`~trainer.validate.validate` on each benchmark folder, the
    image edges mirrored by the card's ``edge_pad`` as the app runs it; only the registry's
    measures (``VALIDATION_MEASURES``), the figures ``srgan-desktop eval`` reproduces — the
    training log's rule figures (``grid_level_worst``, ``gray_chroma``) stay in the log."""
    scale = scale or generator.scale
    evaluation = {}
    for folder in eval_dirs if eval_dirs is not None else DEFAULT_EVAL_DIRS:
        if Path(folder).is_dir():
            bench = load_benchmark(folder, scale)
            figures = validate(generator, bench, scale=scale, edge_pad=edge_pad, rule_figures=False)
            evaluation[bench.name] = {k: round(v, 4) for k, v in figures.items()}
    return evaluation


def remeasure(name: str, dest: Path, eval_dirs: list[str] | None = None) -> dict[str, Any]:
    """Measure the published model ``dest/NAME`` again with today's validation (e.g. after NIQE
    and the grid measure joined it) and rewrite its card's ``evaluation``; weights untouched."""
    generator, descriptor = load_model(Path(dest) / f"{name}.safetensors")
    generator.eval()
    card = dict(descriptor.card)
    card["evaluation"] = measure_card(_network(generator), eval_dirs, descriptor.scale, descriptor.edge_pad)
    card_path = Path(dest) / f"{name}.json"
    atomic_write(card_path, json.dumps(card, indent=2) + "\n")
    write_cards_summary(Path(dest))
    return card


def _network(model: torch.nn.Module) -> torch.nn.Module:
    """The network itself: a spandrel-loaded model is wrapped (``SpandrelNet.net``)."""
    return getattr(model, "net", model)


def _figures(card: dict[str, Any], bench: str) -> str:
    row = card.get("evaluation", {}).get(bench)
    if not row:
        return "–"
    extra = "".join(f" / {row[k]:.{d}f}" if k in row else " / –" for k, d in
                    (("niqe", 2), ("grid", 2), ("texture", 3)))
    return f"{row['psnr']:.2f} / {row['ssim']:.4f}{extra}"


def write_cards_summary(dest: Path) -> Path:
    """``dest/README.md``: the model cards of ``dest`` as one human-readable table."""
    lines = ["# Bundled model weights", "",
             "Written by `srgan-train export` from the JSON model cards next to each weights file "
             "(the cards are the reference; this page only summarises them).", "",
             "| model | variant | iterations | wall time | hardware | Set5 PSNR / SSIM / NIQE / grid / texture "
             "| Set14 PSNR / SSIM / NIQE / grid / texture |",
             "|---|---|---|---|---|---|---|"]
    notes = []
    for card_path in sorted(Path(dest).glob("*.json")):
        card = json.loads(card_path.read_text(encoding="utf-8"))
        training = card.get("training", {})
        has_weights = card_path.with_suffix(".safetensors").is_file()
        lines.append(
            f"| `{card.get('name', card_path.stem)}` | {card.get('variant', '')} | "
            f"{training.get('iterations', '–') if has_weights else 'no weights yet'} | "
            f"{training.get('wall_time_hours', '–')} h | {training.get('hardware', '–')} | "
            f"{_figures(card, 'Set5')} | {_figures(card, 'Set14')} |")
        if card.get("notes"):
            notes.append(f"- `{card.get('name', card_path.stem)}`: {card['notes']}")
    lines += ["", "Figures: PSNR (dB) / SSIM on Y (BT.601), border = the model's scale, LR = the "
              "benchmark's `LR_bicubic_x4` images for ×4 models and, for ×2 (the benchmarks ship no "
              "`LR_bicubic_x2`), LR made from HR with the MATLAB-compatible bicubic, measured at export with the app's engine and metrics "
              "(`srgan-desktop eval` reproduces them). NIQE: MATLAB's blind naturalness measure "
              "(lower = more natural; the HR images: Set5 5.44, Set14 4.92). Grid: median energy at the "
              "sub-pixel lattice frequencies relative to the HR images' (1 = as much as HR; more = a "
              "pixel-shuffle grid; at ×2 the HR images have almost nothing on that lattice, the Nyquist "
              "frequency, so the ratio can be large for a grid too faint to "
              "see: `srgan-desktop eval --metrics grid_level` gives its amplitude in 8-bit levels). Texture: spectral energy above a quarter of Nyquist relative to "
              "the HR images' (it counts a grid as texture too).", "",
              "Input and output of every model: RGB in [0, 1]; ×4 or ×2 as named; the SRResNet/SRGAN models have 16 "
              "residual blocks, 64 channels (the paper's generator); `fast_x4` is a distilled compact network "
              "(its card gives its size and teacher).", ""]
    if notes:
        lines += ["## Notes", "", *notes, ""]
    target = Path(dest) / "README.md"
    target.write_text("\n".join(lines), encoding="utf-8")
    return target


def blend_weights(adversarial: dict[str, torch.Tensor], base: dict[str, torch.Tensor],
                  alpha: float) -> dict[str, torch.Tensor]:
    """Network interpolation (ESRGAN, Wang et al. 2018, §3.4): ``alpha``·θ_GAN + (1 − ``alpha``)·θ_base,
    tensor by tensor, for two generators of one architecture where the GAN was fine-tuned from the
    base. It trades texture for fidelity continuously (and takes a GAN's grid down with its
    texture) without training; integer tensors (batch-norm counters) are the GAN's."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"--alpha must lie in [0, 1], not {alpha}")
    if adversarial.keys() != base.keys() or any(adversarial[k].shape != base[k].shape for k in base):
        raise ValueError("the two generators differ in architecture: network interpolation needs the same "
                         "tensors (a GAN fine-tuned from the base)")
    return {k: (alpha * v.float() + (1.0 - alpha) * base[k].float()).to(v.dtype) if v.is_floating_point()
            else v.clone() for k, v in adversarial.items()}


def interpolate_checkpoint(snapshot: str | Path, base: str | Path, alpha: float, dest: str | Path,
                           validate_run: bool = False) -> dict[str, Any]:
    """Write ``dest``: ``snapshot`` (an SRGAN snapshot or last.pt) with its generator blended with
    ``base`` (the weights it was fine-tuned from) by :func:`blend_weights`, exportable like any
    snapshot; its config records the blend (the card's ``network_interpolation``). With
    ``validate_run`` the blend is measured on the run's own validation sets (the hold-out photos
    with the run's ``edge_pad``) and the figures returned under ``validation``."""
    ckpt = load_checkpoint(snapshot)
    cfg = json.loads(ckpt["config"])
    gan = ckpt["generator_ema"] if "generator_ema" in ckpt else ckpt["generator"]
    blended = blend_weights(gan, load_generator_weights(base), alpha)
    cfg["interpolation"] = {"alpha": alpha, "base": str(base),
                            "base_sha256": hashlib.sha256(Path(base).read_bytes()).hexdigest(),
                            "adversarial_snapshot": str(snapshot)}
    save_checkpoint(dest, {"config": json.dumps(cfg), "iteration": ckpt["iteration"],
                           "elapsed": ckpt.get("elapsed", 0.0), "hardware": ckpt.get("hardware", ""),
                           "generator": blended})
    record: dict[str, Any] = {"iteration": int(ckpt["iteration"]), "alpha": alpha, "snapshot": str(dest)}
    if validate_run:
        run = TrainConfig(**{k: v for k, v in cfg.items() if k in TrainConfig.__dataclass_fields__})
        generator = build_generator(run.stage, run.scale, run.blocks, run.features, run.convs)
        generator.load_state_dict(blended)
        record["validation"] = {
            name: validate(generator, validation_set(name, run), scale=run.scale, edge_pad=run.edge_pad)
            for name in (run.validation or [HOLD_OUT])}
    return record
