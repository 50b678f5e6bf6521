"""The two training stages of the paper, in one loop.

* ``srresnet``: the generator alone, pixel MSE (or a VGG content loss), Adam β1 = 0.9.
* ``distill``: a small fast student (Real-ESRGAN's compact VGG-style network, spandrel's
  ``SRVGGNetCompact``: ``features`` channels, ``convs`` 3×3 convolutions, one pixel shuffle, plus
  the nearest-upsampled input) trained on the MSE to ``(1 − w) · HR + w · teacher(LR)`` — which
  is ``(1 − w) · MSE(HR) + w · MSE(teacher)`` up to a constant — with ``w = distill_weight`` and
  the teacher (``srresnet_x4`` by default) run once on each whole LR training photo (no
  crop-border artefacts, nothing per step; :class:`~trainer.data.DistillDataset`); the
  learning rate follows a cosine from ``lr`` to ``lr / 100`` over the iterations (soft targets,
  Hinton et al. 2015).
* ``srgan``: generator initialised from a stage-1 model, the discriminator of the core,
  alternating D and G updates; G loss = content + 1e-3 · (−log D(G(LR))); the learning rate
  drops ×0.1 for the second half of the iterations.  These paper settings are the defaults;
  the options are the relativistic average GAN (``gan="ragan"``), discriminator feature
  matching as content (``content_loss="dfeat"``/``"mse+dfeat"``), the lattice-frequency loss
  (``grid_weight``), spectral normalisation in D, a separate D learning rate and an exponential
  moving average of G's weights (``ema``: validated, snapshotted and exported instead of the
  raw weights).  Stage 1 from scratch may use ICNR for the sub-pixel convolutions.

Each stage has its schedule of the learning rate (``STAGE_SCHEDULE``); ``schedule`` picks another
for any stage: ``constant``, ``step`` (×0.1 after ``lr_drop_at``) or ``cosine`` (``lr`` to
``lr / 100``) — e.g. a cosine for a stage-1 run continued from a model that plateaued at a
constant rate.

Runs on CPU or GPU, alone or under ``torchrun`` (DistributedDataParallel; gloo on CPU, NCCL on
GPU), and resumes exactly from its checkpoints.

**Precision and memory format** (:func:`training_path`; the log's first line and ``--help`` say
what ``--amp auto`` picked): channels_last everywhere — on the CPU as on CUDA — and autocast in
bf16 where the hardware has it natively: CUDA with bf16 (else fp16), a CPU with AVX512-BF16 or
AMX.  A CPU without them trains in fp32, where bf16 would be emulated and slower.  Measured,
one step of 16 crops of 96² (srresnet ×4, 2 threads): on a 2-core Xeon with AMX 0.93 s fp32,
0.35 s bf16 autocast, 0.27 s bf16 + channels_last (3.4×); on a 2-core AMD EPYC (AVX2, no
bf16) 1.48 s fp32 and 1.14 s fp32 + channels_last (1.30×); on a 2-core AMD EPYC with
AVX512-BF16 (no AMX) 1.34 s fp32, 1.29 s fp32 + channels_last, 0.56 s bf16 autocast and 0.52 s
bf16 + channels_last (2.6×: that CPU's bf16 convolution peak is only 2.0× its fp32 one, 448 vs
228 GFLOP/s in ``srgan-desktop bench``; the AMX Xeon's bf16 peak was 2.2 TFLOP/s), rerun:
``python scripts/train_step_bench.py``.

**Two options for continuing a trained SRResNet** (measured in ``docs/results/training_notes.md``,
session 11): ``freeze_bn`` keeps the generator's batch norms on their running statistics, so
the function trained is the one the app runs (in training mode a batch norm normalises each
batch of 24×24 LR crops by that batch's statistics); ``data_scale`` takes the crops from the
photos reduced by that factor with the MATLAB bicubic, and validates the hold-out photos reduced
alike — SunHays80's photos were saved as JPEG, and ×0.5 takes out their 8-pixel block edges
(``scripts/jpeg_blockiness.py``). Neither moved the hold-out or Set5 PSNR by more than the
validation's noise (±0.03 dB) in 500 iterations at lr 2e-5, and 10,000 iterations with
``data_scale`` 0.5 (cosine from 1e-4) ended at Set5 31.30 dB, level with the same schedule on the
full-size photos.

**Starting weights of another scale** (``init``): every tensor whose name and shape match is
loaded; the only ones allowed to differ are the sub-pixel blocks (``upsample.*``), so a ×4 body
starts a ×2 model (its one sub-pixel block is the ×4 model's first) and the card says so.
"""

from __future__ import annotations

import copy
import json
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from tqdm import tqdm

from srgan_desktop.core.arch import Discriminator, SRResNet
from srgan_desktop.core.benchmarks import Dataset, find_dataset
from srgan_desktop.core.engine import NetworkMethod, Upscaler, cpu_has_native_bf16, resolve_device
from srgan_desktop.core.resize import imresize
from srgan_desktop.core.weights import EDGE_PAD_MAX, load_model
from trainer.checkpoint import load_checkpoint, restore_rng_state, save_checkpoint
from trainer.data import CropDataset, DistillDataset, DistillImage, find_images, load_images, make_loader
from trainer.losses import (adversarial_generator_loss, content_loss, discriminator_loss,
                           chroma_loss, feature_matching_loss, lattice_loss, low_frequency_loss,
                           uses_feature_matching)
from trainer.validate import load_benchmark, validate

__all__ = ["TrainConfig", "train", "training_step", "set_training_mode", "load_generator_weights",
           "build_generator", "STAGES"]

#: the stages of ``srgan-train`` that train a generator
STAGES = ("srresnet", "srgan", "distill")
SCHEDULES = ("constant", "step", "cosine")
#: each stage's learning-rate schedule when ``schedule`` is left empty: the paper's constant rate
#: for SRResNet, its ×0.1 drop at ``lr_drop_at`` for SRGAN, a cosine for the distilled student
STAGE_SCHEDULE = {"srresnet": "constant", "srgan": "step", "distill": "cosine"}


@dataclass
class TrainConfig:
    """Every knob of a run (also stored in each checkpoint)."""

    stage: str = "srresnet"                 # srresnet | srgan | distill
    data: list[str] = field(default_factory=list)
    out: str = "runs/srresnet"
    iterations: int = 1000
    batch: int = 16
    crop: int = 96
    scale: int = 4
    lr: float = 1e-4
    beta1: float = 0.9
    lr_drop_at: float = 0.5                 # step schedule: lr ×0.1 after this fraction of iterations
    schedule: str = ""                      # constant | step | cosine ("" = STAGE_SCHEDULE[stage])
    content_loss: str = "mse"
    vgg_weights: str | None = None
    adversarial_weight: float = 1e-3
    init: str | None = None                 # generator weights to start from
    resume: str | None = None               # checkpoint to continue
    checkpoint_every: int = 500
    validate_every: int = 500
    log_every: int = 10
    validation: list[str] = field(default_factory=list)
    snapshots: bool = False                 # also keep the generator of every validation
    workers: int = 1
    seed: int = 0
    device: str = "auto"
    amp: str = "auto"                       # auto | bf16 | fp16 | off (training_path says what auto is)
    threads: int = 0                        # CPU threads (0 = torch's default)
    time_limit: float = 0.0                 # minutes; 0 = none. Saves and stops when reached.
    blocks: int = 16
    progress: bool = True
    gan: str = "standard"                   # standard (paper) | ragan (ESRGAN)
    lr_d: float | None = None               # discriminator learning rate (None: lr)
    spectral_norm: bool = False             # spectral normalisation of D's conv/dense weights
    ema: float = 0.0                        # decay of the EMA of G's weights (0: off)
    icnr: bool = False                      # ICNR init of the sub-pixel convs (stage 1 from scratch)
    freeze_bn: bool = False                 # G's batch norms use their running statistics (train = eval)
    fm_weight: float = 1.0                  # weight of the D-feature-matching term (dfeat)
    grid_weight: float = 0.0                # weight of the lattice-frequency loss (0: off)
    low_weight: float = 0.0                 # weight of the block-mean (LR-scale) loss (0: off)
    chroma_weight: float = 0.0              # weight of the chroma (RGB less its grey) loss (0: off)
    hold_out: list[str] = field(default_factory=list)  # image stems kept out of the training data
    data_scale: float = 1.0                 # photos (and hold-out) reduced by this factor before cropping
    edge_pad: int = 0                       # LR pixels mirrored at the edges in validation and on the card
    teacher: str | None = None              # distill: the teacher's weights
    distill_weight: float = 0.5             # distill: weight of the teacher's output in the target
    features: int = 48                      # distill: the student's channels
    convs: int = 8                          # distill: the student's 3×3 convolutions after the first


def build_generator(stage: str, scale: int, blocks: int = 16, features: int = 48,
                    convs: int = 8) -> nn.Module:
    """The generator a stage trains: the paper's SRResNet, or for ``distill`` the compact
    student (spandrel's ``SRVGGNetCompact``, so the app loads the exported weights through
    spandrel like any Real-ESRGAN compact model)."""
    if stage != "distill":
        return SRResNet(num_blocks=blocks, scale=scale)
    from spandrel.architectures.Compact import Compact

    return Compact(num_feat=features, num_conv=convs, upscale=scale)


def distill_images(images: list[np.ndarray], cfg: TrainConfig, device: torch.device) -> list[DistillImage]:
    """Each training photo with its LR and the teacher's output on the whole LR image, computed
    once by the app's engine (fp32); under torchrun each rank computes every ``world``-th photo
    and the ranks exchange them (:func:`shared_by_ranks`)."""
    if not cfg.teacher:
        raise ValueError("distill needs --teacher WEIGHTS (e.g. resources/weights/srresnet_x4.safetensors)")
    model, descriptor = load_model(cfg.teacher)
    if descriptor.scale != cfg.scale:
        raise ValueError(f"--teacher {cfg.teacher} is a ×{descriptor.scale} model; the student is ×{cfg.scale}")
    upscaler = Upscaler(NetworkMethod(model, descriptor), device=str(device), tile=0, precision="fp32")

    def with_teacher(hr: np.ndarray) -> DistillImage:
        h, w = (hr.shape[0] // cfg.scale) * cfg.scale, (hr.shape[1] // cfg.scale) * cfg.scale
        hr = np.ascontiguousarray(hr[:h, :w])
        lr = imresize(hr, output_shape=(h // cfg.scale, w // cfg.scale))
        soft = upscaler.upscale(lr, as_float=True).rgb
        return DistillImage(hr, lr, np.clip(soft, 0.0, 1.0).astype(np.float16))

    return shared_by_ranks(images, with_teacher)


def shared_by_ranks(items: list[Any], fn: Callable[[Any], Any]) -> list[Any]:
    """``[fn(x) for x in items]``, computed once in all: alone, here; in a process group, rank
    ``r`` of ``world`` computes items ``r, r + world, …`` and every rank gets the whole list
    (``all_gather_object``), in the order of ``items``."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return [fn(x) for x in items]
    rank, world = dist.get_rank(), dist.get_world_size()
    mine = {i: fn(items[i]) for i in range(rank, len(items), world)}
    parts: list[dict[int, Any] | None] = [None] * world
    dist.all_gather_object(parts, mine)
    merged = {i: value for part in parts for i, value in (part or {}).items()}
    return [merged[i] for i in range(len(items))]


def load_generator_weights(path: str | Path) -> dict[str, torch.Tensor]:
    """Generator tensors from an exported model (.safetensors/.pth) or a training checkpoint."""
    path = Path(path)
    if path.suffix == ".pt":
        ckpt = load_checkpoint(path)
        if "generator" in ckpt:
            return ckpt["generator"]
    model, _ = load_model(path)
    # a spandrel model (the distilled Compact) comes wrapped: its own tensors are the inner net's
    return getattr(model, "net", model).state_dict()


def _distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank), initialising the process group under torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    if world > 1:
        return dist.get_rank(), world, int(os.environ.get("LOCAL_RANK", "0"))
    return 0, 1, 0


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


class _Logger:
    def __init__(self, out: Path, enabled: bool) -> None:
        self.path = out / "log.jsonl"
        self.enabled = enabled

    def write(self, row: dict[str, Any]) -> None:
        if self.enabled:
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")


def train(cfg: TrainConfig) -> dict[str, Any]:
    """Run (or continue) one stage; returns a summary of the run."""
    if cfg.stage not in STAGES:
        raise ValueError(f"unknown stage '{cfg.stage}'")
    if cfg.schedule and cfg.schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule '{cfg.schedule}' (one of {', '.join(SCHEDULES)})")
    if not 0 <= cfg.edge_pad <= EDGE_PAD_MAX:
        raise ValueError(f"--edge-pad must lie in [0, {EDGE_PAD_MAX}], not {cfg.edge_pad}")
    if not 0.0 < cfg.data_scale <= 1.0:
        raise ValueError(f"--data-scale must lie in (0, 1], not {cfg.data_scale}")
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    rank, world, local_rank = _distributed()
    device = resolve_device(cfg.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    logger = _Logger(out, rank == 0)
    torch.manual_seed(cfg.seed + rank)

    generator = build_generator(cfg.stage, cfg.scale, cfg.blocks, cfg.features, cfg.convs).to(device)
    if cfg.icnr and not (cfg.init or cfg.resume):
        icnr_(generator)
    discriminator = Discriminator(cfg.crop).to(device) if cfg.stage == "srgan" else None
    if discriminator is not None and cfg.spectral_norm:
        spectral_norm_(discriminator)
    opt_g = torch.optim.Adam(generator.parameters(), lr=cfg.lr, betas=(cfg.beta1, 0.999))
    opt_d = (torch.optim.Adam(discriminator.parameters(), lr=cfg.lr_d or cfg.lr, betas=(cfg.beta1, 0.999))
             if discriminator is not None else None)
    amp_dtype = training_path(cfg.amp, device).autocast
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    criterion = content_loss(cfg.content_loss, cfg.vgg_weights)
    if criterion is not None:
        criterion = criterion.to(device)
    if uses_feature_matching(cfg.content_loss) and cfg.stage != "srgan":
        raise ValueError("--content-loss dfeat needs the discriminator: use it with srgan-train srgan")

    start, elapsed_before = 0, 0.0
    if cfg.resume:
        ckpt = load_checkpoint(cfg.resume)
        if "opt_g" not in ckpt:
            raise ValueError(f"{cfg.resume} is a generator snapshot (no optimizer state): "
                             "start from it with --init, or resume from last.pt")
        generator.load_state_dict(ckpt["generator"])
        opt_g.load_state_dict(ckpt["opt_g"])
        if discriminator is not None:
            if "discriminator" not in ckpt:
                raise ValueError(f"{cfg.resume} is a stage-1 checkpoint; start SRGAN with --init")
            discriminator.load_state_dict(ckpt["discriminator"])
            opt_d.load_state_dict(ckpt["opt_d"])
        if "scaler" in ckpt:
            scaler.load_state_dict(ckpt["scaler"])
        restore_rng_state(ckpt["rng"])
        start = int(ckpt["iteration"])
        elapsed_before = float(ckpt.get("elapsed", 0.0))
        # a resumed run keeps the first run's starting weights, so model cards can name them
        cfg.init = cfg.init or json.loads(ckpt.get("config", "{}")).get("init")
    elif cfg.init:
        skipped = load_matching(generator, load_generator_weights(cfg.init))
        if skipped:
            logger.write({"init": cfg.init, "not_loaded": skipped})
    ema = None
    if cfg.ema > 0:
        ema = copy.deepcopy(generator).eval().requires_grad_(False)
        if cfg.resume and "generator_ema" in ckpt:
            ema.load_state_dict(ckpt["generator_ema"])

    path = training_path(cfg.amp, device)
    logger.write({"precision": path.describe(), "amp": cfg.amp, "device": str(device)})
    generator = generator.to(memory_format=torch.channels_last)
    if discriminator is not None:
        discriminator = discriminator.to(memory_format=torch.channels_last)
    if world > 1:
        ids = [device.index] if device.type == "cuda" else None
        generator = DistributedDataParallel(generator, device_ids=ids)
        if discriminator is not None:
            discriminator = DistributedDataParallel(discriminator, device_ids=ids)

    files = [f for f in find_images(cfg.data) if f.stem not in set(cfg.hold_out)]
    images = load_images(files, cfg.crop, cfg.data_scale)
    if cfg.stage == "distill":
        dataset: CropDataset = DistillDataset(distill_images(images, cfg, device), cfg.crop, cfg.scale,
                                              cfg.distill_weight, seed=cfg.seed)
    else:
        dataset = CropDataset(images, cfg.crop, cfg.scale, seed=cfg.seed)
    loader = make_loader(dataset, start, cfg.iterations, cfg.batch, cfg.workers, rank, world)
    benchmarks = [validation_set(v, cfg) for v in cfg.validation] if rank == 0 else []

    set_training_mode(generator, cfg.freeze_bn)
    if discriminator is not None:
        discriminator.train()
    began = time.perf_counter()
    iteration = start
    last: dict[str, float] = {}
    bar = tqdm(total=cfg.iterations, initial=start, disable=not (cfg.progress and rank == 0),
               desc=cfg.stage, dynamic_ncols=True)
    stopped_early = False
    for lr_batch, hr_batch in loader:
        iteration += 1
        lr_now = _learning_rate(cfg, iteration)
        for opt in (opt_g, opt_d):
            if opt is not None:
                for group in opt.param_groups:
                    group["lr"] = lr_now
        lr_batch = lr_batch.to(device, non_blocking=True)
        hr_batch = hr_batch.to(device, non_blocking=True)
        lr_batch = lr_batch.contiguous(memory_format=torch.channels_last)
        hr_batch = hr_batch.contiguous(memory_format=torch.channels_last)
        last = training_step(cfg, generator, discriminator, opt_g, opt_d, criterion, scaler, amp_dtype,
                     device, lr_batch, hr_batch)
        if ema is not None:
            update_ema(ema, _unwrap(generator), cfg.ema)
        bar.update(1)
        if iteration % cfg.log_every == 0 or iteration == cfg.iterations:
            rate = (time.perf_counter() - began) / max(1, iteration - start)
            bar.set_postfix(loss=f"{last['loss']:.5f}")
            logger.write({"iteration": iteration, "lr": lr_now, "sec_per_iter": rate,
                          "iter_per_sec": 1.0 / rate if rate > 0 else 0.0, **last})
        elapsed = elapsed_before + time.perf_counter() - began
        out_of_time = cfg.time_limit > 0 and (time.perf_counter() - began) > cfg.time_limit * 60
        if rank == 0 and benchmarks and (iteration % cfg.validate_every == 0 or iteration == cfg.iterations
                                         or out_of_time):
            shown = ema if ema is not None else _unwrap(generator)
            row = {b.name: validate(shown, b, str(device), cfg.scale, cfg.edge_pad) for b in benchmarks}
            logger.write({"iteration": iteration, "validation": row})
            bar.write(f"iter {iteration}: " + ", ".join(
                f"{k} {v['psnr']:.2f} dB / {v['ssim']:.4f} / NIQE {v.get('niqe', float('nan')):.2f} / grid {v['grid']:.2f}"
                f" / texture {v['texture']:.3f}" for k, v in row.items()))
            if cfg.snapshots:
                _save_snapshot(out / "snapshots" / f"iter_{iteration:07d}.pt", cfg, iteration,
                               elapsed_before + time.perf_counter() - began, shown, device)
        if rank == 0 and (iteration % cfg.checkpoint_every == 0 or iteration == cfg.iterations or out_of_time):
            _save(out / "last.pt", cfg, iteration, elapsed, generator, discriminator, opt_g, opt_d, scaler, device,
                  ema)
        if out_of_time:
            stopped_early = True
            break
    bar.close()
    if world > 1:
        dist.barrier()
    return {"iteration": iteration, "stopped_early": stopped_early, "last": last,
            "seconds": time.perf_counter() - began, "checkpoint": str(out / "last.pt")}


@dataclass(frozen=True)
class TrainingPath:
    """What a run computes in: the autocast dtype (None: fp32) and channels_last (always)."""

    autocast: torch.dtype | None
    reason: str

    def describe(self) -> str:
        name = {None: "fp32", torch.bfloat16: "bf16 autocast", torch.float16: "fp16 autocast"}[self.autocast]
        return f"{name} + channels_last ({self.reason})"


def training_path(amp: str, device: torch.device) -> TrainingPath:
    """``--amp`` resolved for ``device``. auto: CUDA bf16 where supported, else fp16; a CPU with
    native bf16 (AVX512-BF16/AMX) bf16; any other CPU fp32 (bf16 would be emulated, slower)."""
    if amp == "off":
        return TrainingPath(None, "--amp off")
    if device.type == "cpu":
        if amp == "fp16":
            raise ValueError("--amp fp16 needs CUDA; on the CPU use --amp bf16 or off")
        if amp == "bf16":
            return TrainingPath(torch.bfloat16, "--amp bf16" + ("" if cpu_has_native_bf16()
                                                                   else ", emulated on this CPU: slow"))
        if cpu_has_native_bf16():
            return TrainingPath(torch.bfloat16, "auto: this CPU has native bf16")
        return TrainingPath(None, "auto: this CPU has no native bf16 (AVX512-BF16/AMX)")
    if device.type != "cuda":
        return TrainingPath(None, f"{device.type}: fp32")
    if amp == "auto":
        if torch.cuda.is_bf16_supported():
            return TrainingPath(torch.bfloat16, "auto: CUDA with bf16")
        return TrainingPath(torch.float16, "auto: CUDA without bf16")
    return TrainingPath({"bf16": torch.bfloat16, "fp16": torch.float16}[amp], f"--amp {amp}")


HOLD_OUT = "hold-out"  # a --validation entry: the --hold-out images of the --data folders


def validation_set(name: str, cfg: TrainConfig) -> Dataset:
    """A benchmark folder, or :data:`HOLD_OUT`: the held-out training photos, reduced by
    ``data_scale`` as the training photos are (LR made by bicubic)."""
    if name != HOLD_OUT:
        return load_benchmark(name, cfg.scale)
    if not cfg.hold_out:
        raise ValueError("--validation hold-out needs --hold-out FILE (the images kept out of training)")
    stems = set(cfg.hold_out)
    folders = {str(f.parent) for f in find_images(cfg.data) if f.stem in stems}
    if len(folders) != 1:
        raise ValueError(f"the --hold-out images must lie in one --data folder (found in {len(folders)})")
    dataset = find_dataset(folders.pop(), only=frozenset(stems), reduce=cfg.data_scale)
    dataset.name = HOLD_OUT
    dataset.pairs(cfg.scale)
    return dataset


def set_training_mode(generator: nn.Module, freeze_bn: bool) -> None:
    """Training mode for ``generator``; with ``freeze_bn`` its batch norms stay in eval mode:
    they normalise with their running statistics (not updated) and keep learning their scale and
    shift, so the function trained is exactly the one the app runs. A batch norm in training
    mode normalises each batch of 24×24 LR crops by that batch's own statistics, which the
    whole-image inference never sees."""
    generator.train()
    if freeze_bn:
        for module in generator.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.eval()


def load_matching(generator: nn.Module, state: dict[str, torch.Tensor]) -> list[str]:
    """Load ``state`` into ``generator`` where names and shapes match; returns the names left out.

    Only the sub-pixel blocks may differ (a model of another scale); anything else is an error."""
    own = generator.state_dict()
    usable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    left_out = sorted(set(own) - set(usable))
    unexpected = sorted(set(state) - set(usable))
    foreign = [k for k in left_out + unexpected if not k.startswith("upsample.")]
    if foreign:
        raise ValueError(f"the --init weights do not fit this generator: {', '.join(foreign[:4])}"
                         + (" …" if len(foreign) > 4 else ""))
    generator.load_state_dict({**own, **usable})
    return left_out


def icnr_(generator: SRResNet) -> None:
    """ICNR (Aitken et al. 2017, "Checkerboard artifact free sub-pixel convolution"): each
    sub-pixel conv starts with the same kernel for all r² phases of an output channel, so at
    initialisation it equals nearest-neighbour upsampling followed by a conv — no grid."""
    with torch.no_grad():
        for block in generator.upsample:
            conv = block.body[0]
            out_ch, in_ch, kh, kw = conv.weight.shape
            base = torch.empty(out_ch // 4, in_ch, kh, kw)
            nn.init.kaiming_normal_(base)
            conv.weight.copy_(base.repeat_interleave(4, dim=0))
            conv.bias.copy_(torch.zeros(out_ch // 4).repeat_interleave(4))


def spectral_norm_(discriminator: nn.Module) -> None:
    """Spectral normalisation (Miyato et al. 2018) of every conv and dense weight of D."""
    for name, module in list(discriminator.named_modules()):
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            torch.nn.utils.parametrizations.spectral_norm(module)


@torch.no_grad()
def update_ema(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """ema ← decay · ema + (1 − decay) · model for parameters; buffers (BN statistics) copied."""
    for e, m in zip(ema.parameters(), model.parameters()):
        e.lerp_(m.detach(), 1.0 - decay)
    for e, m in zip(ema.buffers(), model.buffers()):
        e.copy_(m)


def _learning_rate(cfg: TrainConfig, iteration: int) -> float:
    """The rate of ``iteration``: constant; step (×0.1 after ``lr_drop_at`` of the iterations);
    cosine (from ``lr`` to ``lr / 100`` over the iterations)."""
    schedule = cfg.schedule or STAGE_SCHEDULE[cfg.stage]
    if schedule == "cosine":
        progress = min(1.0, iteration / max(1, cfg.iterations))
        return cfg.lr * (0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * progress)))
    if schedule == "step" and iteration > math.ceil(cfg.iterations * cfg.lr_drop_at):
        return cfg.lr * 0.1
    return cfg.lr


def _autocast(device: torch.device, dtype: torch.dtype | None):
    return torch.autocast(device_type=device.type, dtype=dtype, enabled=dtype is not None)


def training_step(cfg: TrainConfig, generator: nn.Module, discriminator: nn.Module | None,
          opt_g: torch.optim.Optimizer, opt_d: torch.optim.Optimizer | None, criterion: nn.Module,
          scaler: torch.amp.GradScaler, amp_dtype: torch.dtype | None, device: torch.device,
          lr_batch: torch.Tensor, hr_batch: torch.Tensor) -> dict[str, float]:
    """One update: of G alone (stage 1), or of D then G (stage 2). Returns the losses."""
    if discriminator is None:
        with _autocast(device, amp_dtype):
            sr = generator(lr_batch)
        loss = criterion(sr.float(), hr_batch)
        opt_g.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt_g)
        scaler.update()
        return {"loss": float(loss.detach())}

    # Discriminator update (standard: −log D(HR) − log(1 − D(G(LR))); or RaGAN)
    with _autocast(device, amp_dtype):
        sr = generator(lr_batch)
        real_logits = discriminator(hr_batch).float()
        d_loss = discriminator_loss(real_logits, discriminator(sr.detach()).float(), cfg.gan)
    opt_d.zero_grad(set_to_none=True)
    scaler.scale(d_loss).backward()
    scaler.step(opt_d)
    # Generator update: content + 1e-3 · adversarial (+ options)
    matching = uses_feature_matching(cfg.content_loss)
    with _autocast(device, amp_dtype):
        if matching:
            fake_logits, fake_maps = _unwrap(discriminator).forward_features(sr)
            with torch.no_grad():
                real_logits, real_maps = _unwrap(discriminator).forward_features(hr_batch)
        else:
            fake_logits = discriminator(sr)
    fake_logits, real_logits = fake_logits.float(), real_logits.float().detach()
    zero = sr.new_zeros((), dtype=torch.float32)
    content = criterion(sr.float(), hr_batch) if criterion is not None else zero
    losses: dict[str, float] = {}
    if matching:
        feature = feature_matching_loss(fake_maps, real_maps)
        content = content + cfg.fm_weight * feature
        losses["feature"] = float(feature.detach())
    adversarial = adversarial_generator_loss(fake_logits, real_logits, cfg.gan)
    g_loss = content + cfg.adversarial_weight * adversarial
    if cfg.grid_weight > 0:
        grid = lattice_loss(sr, hr_batch, cfg.scale)
        g_loss = g_loss + cfg.grid_weight * grid
        losses["lattice"] = float(grid.detach())
    if cfg.low_weight > 0:
        low = low_frequency_loss(sr, hr_batch, cfg.scale)
        g_loss = g_loss + cfg.low_weight * low
        losses["low"] = float(low.detach())
    if cfg.chroma_weight > 0:
        chroma = chroma_loss(sr, hr_batch)
        g_loss = g_loss + cfg.chroma_weight * chroma
        losses["chroma"] = float(chroma.detach())
    opt_g.zero_grad(set_to_none=True)
    scaler.scale(g_loss).backward()
    scaler.step(opt_g)
    scaler.update()
    return {"loss": float(g_loss.detach()), "content": float(content.detach()),
            "adversarial": float(adversarial.detach()), "d_loss": float(d_loss.detach()), **losses}


def _save(path: Path, cfg: TrainConfig, iteration: int, elapsed: float, generator: nn.Module,
          discriminator: nn.Module | None, opt_g: torch.optim.Optimizer,
          opt_d: torch.optim.Optimizer | None, scaler: torch.amp.GradScaler, device: torch.device,
          ema: nn.Module | None = None) -> None:
    payload = {**_generator_payload(cfg, iteration, elapsed, generator, device),
               "opt_g": opt_g.state_dict(), "scaler": scaler.state_dict()}
    if ema is not None:
        payload["generator_ema"] = _tensors(ema)
    if discriminator is not None and opt_d is not None:
        payload["discriminator"] = _tensors(discriminator)
        payload["opt_d"] = opt_d.state_dict()
    save_checkpoint(path, payload)


def _save_snapshot(path: Path, cfg: TrainConfig, iteration: int, elapsed: float, generator: nn.Module,
                   device: torch.device) -> None:
    """The generator alone (a few MB) with what ``srgan-train export`` needs; not resumable.

    For choosing an SRGAN iteration afterwards from the logged PSNR and texture ratio."""
    save_checkpoint(path, _generator_payload(cfg, iteration, elapsed, generator, device))


def _generator_payload(cfg: TrainConfig, iteration: int, elapsed: float, generator: nn.Module,
                       device: torch.device) -> dict[str, Any]:
    return {"config": json.dumps(asdict(cfg)), "iteration": iteration, "elapsed": elapsed,
            "hardware": _hardware(device),
            "generator": _tensors(generator)}


def _tensors(model: nn.Module) -> dict[str, torch.Tensor]:
    """The (DDP-unwrapped) model's state dict, contiguous, as a checkpoint stores it."""
    return {k: v.contiguous() for k, v in _unwrap(model).state_dict().items()}


def _hardware(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"
