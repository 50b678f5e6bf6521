"""The inference engine: one :class:`Upscaler` for every method (bicubic and any model).

* device ``auto | cpu | cuda | mps``; precision ``auto | fp32 | fp16 | bf16`` as autocast, only
  where the model supports it (its descriptor says; asking for an unsupported one is an error).
  ``auto``: bf16 (else fp16) on CUDA, fp16 on MPS, and fp32 on the CPU — bf16 on the CPU only
  with native bf16 and ``CPU_AUTO_BF16`` (True: see there for the measured figures).  A half-precision tile whose output is
  not finite is re-run in fp32;
* size requirements: every tile is padded (replicating its last row/column) to the model's
  minimum, multiple-of and square requirements, and the output cropped back;
* the fast path (:class:`NetworkMethod`): a copy of the model per (device, precision) with
  eval-mode BatchNorm folded into the conv before it, channels_last on the CPU and CUDA, and
  fp16/bf16 *weights* (cast once) where the model allows it and a 16×16 probe is finite —
  else fp32 weights under autocast; ``cudnn.benchmark`` on CUDA (tiles share one shape);
* tiling by the descriptor's policy:
  ``exact`` — each LR tile is padded by the network's receptive radius (40 LR pixels for the
  16-block SRResNet), so the tiled result equals the full-frame result up to float rounding;
  tiles are balanced and their windows share one shape (shifted inwards at the edges), and the
  SRResNet family runs *staged* inside each tile (:data:`STAGE_TILE`), so its margin is paid
  per layer group, not once for the whole depth;
  ``blend`` — for models that see the whole image (transformers such as SwinIR) and CNNs too
  deep for exact padding: tiles get ``pad`` pixels of context and overlap their neighbours by
  ``overlap`` pixels, where the two results are mixed with linear (feathered) weights — the
  seam error against the full frame is measured in tests/test_models.py and docs/readme/cli.md;
  ``whole`` — the image in one piece (models that tile internally); an image whose estimated
  memory exceeds the budget is refused with a clear error;
  the tile size follows :data:`TILE_CAP`'s rule unless given, and a CUDA out-of-memory halves
  the tile and starts again;
* :meth:`Upscaler.job` gives a resumable :class:`TiledJob` whose tiles run in any order (the
  window runs the ones under a zoomed-in viewport first, split into :data:`FOCUS_TILE` tiles,
  and after a pan cuts the waiting tiles under the new viewport alike: :meth:`TiledJob.refocus`);
* a progress callback after each tile and a :class:`CancelToken` checked between tiles — and,
  for a staged model, between the windows *inside* a tile (:data:`WITHIN_TILE`), so a whole
  photo that runs as one tile (the rule for staged models) still reports how far it is and
  stops within one window (≈ 0.3 s for srresnet_x4 on a 2-core CPU) when cancelled;
* alpha planes are upscaled with bicubic and re-attached;
* **a grayscale picture stays grayscale** (``keep_grey``, on unless a diagnostic turns it off):
  where the LR's R, G and B are equal everywhere, each output pixel is set to the mean of its R,
  G and B, and :attr:`UpscaleResult.grey` says so.  Why: a GAN paints colour into the textures
  of a grayscale photo (session 12's ``srgan_x4``: 1.4 levels of mean chroma over the grayscale
  baby, 2.5 along its hat; ``srresnet_x4`` 0.3), which no grayscale original can have; Set14's
  bridge and man are such photos.  The mean is the projection that removes chroma and nothing
  else (``RGB − mean`` is the chroma of :func:`~srgan_desktop.core.metrics.mean_chroma`).
"""

from __future__ import annotations

import contextvars
import copy
import math
import os
import platform
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.utils import rgb_to_tensor
from srgan_desktop.core.arch import SRResNet, receptive_radius
from srgan_desktop.core.images import LoadedImage
from srgan_desktop.core.resize import imresize
from srgan_desktop.core.weights import ModelDescriptor

__all__ = ["Cancelled", "UpscaleError", "CancelToken", "UpscaleResult", "Method", "BicubicMethod",
           "NetworkMethod", "Upscaler", "device_available", "resolve_device", "available_memory", "ProgressCallback",
           "tile_boxes", "focus_boxes", "is_grey", "cut_at_focus", "TiledJob", "fold_batchnorm", "TILE_CAP", "FOCUS_TILE", "cpu_has_native_bf16", "cpu_description", "cpu_auto_bf16", "CPU_AUTO_BF16"]

ProgressCallback = Callable[[int, int], None]  # (tiles done, tiles in all)
Box = tuple[int, int, int, int]  # (y0, x0, y1, x1), end exclusive

#: Bytes per *padded* LR pixel that one plain fp32 SRResNet ×4 forward needs at its peak (models
#: the engine does not stage; staged ones budget :data:`STAGED_BYTES_PER_LR_PIXEL`).
#: Measured with ``srgan-desktop bench`` (its forward-only child: VmHWM minus VmRSS before one
#: forward, torch 2.15 CPU/oneDNN, 2 threads): 303 MiB at 160², 984 MiB at 320², 1954 MiB at
#: 464², i.e. 9.1 KiB per pixel plus ~75 MiB fixed.  That is the second upsampling step: its
#: 64-channel ×2 input (1 KiB), 256-channel conv output (4 KiB) and pixel-shuffled copy (4 KiB).
#: 12 KiB keeps a third in hand for allocator slack and GPU convolution workspaces (the old
#: 24 KiB made auto tiles √2 ≈ 1.4× narrower, i.e. about twice as many tiles).
BYTES_PER_LR_PIXEL = 12 * 1024
MIN_TILE = 16

#: The tile rule (``Upscaler.auto_tile``): the whole image in one forward when its estimate
#: fits the memory budget, else the largest balanced tile that fits, at most ``TILE_CAP``.
#: Measured (``srgan-desktop bench``, srresnet_x4, fp32 + channels_last, BN folded, 2 threads,
#: AMD EPYC without native bf16), seconds per LR megapixel of the *window* forward: 34.6 at
#: 160², 35.2 at 208²–240², 37.2 at 272²–304², 38.4 at 336², 44.4 at 400², 44.8 at 464²,
#: 47.4 for a whole 800×600 — the cost per pixel rises with the window (cache misses), but the
#: 40-pixel margin of exact tiling costs more on small tiles: per *core* pixel 93 at tile 128,
#: 79 at 160, 75 at 192, 68.5 at 224, 66 at 256, 69 at 320, 65 at 384.  So: never tile what
#: fits, and tile no wider than 384 (larger windows win nothing and hold gigabytes).
TILE_CAP = 384
#: The same cap for a staged model (:data:`STAGE_TILE`): its margin is paid per layer group, not
#: per outer tile, so outer tiles are as large as memory allows, up to this.
STAGED_TILE_CAP = 2048
#: The tile under a zoomed-in pane (``Upscaler.job(focus=...)``): one 208² window, about
#: 1.5 s for srresnet_x4 on that CPU, so the first visible pixels come quickly.
FOCUS_TILE = 128

#: Whether ``auto`` precision may pick bf16 on a CPU with native bf16 (AVX512-BF16 or AMX) for
#: a model that supports it.  The rule: only if bf16 keeps Set5 PSNR within 0.02 dB of fp32 for
#: *both* bundled models (``srgan-desktop eval --hr Set5 -m srresnet srgan --precision bf16`` vs
#: ``fp32``).  Measured (session 4, docs/readme/cli.md): srresnet_x4 31.1711 → 31.1667 dB
#: (−0.004), the srgan_x4 bundled then 29.0176 → 29.0376 (+0.020), and the one that replaced it
#: 29.2353 → 29.2290 (−0.006); session 5's srresnet_x4 31.2756 → 31.2691 (−0.006); no image
#: moved by more than 0.04 dB.  With bf16 *weights* (cast once, the fast path) and staged tiles
#: (session 6): srresnet_x4 31.2756 → 31.2688 (−0.007), srgan_x4 29.2353 → 29.2304 (−0.005),
#: no image by more than 0.021 dB.  Those figures came from a CPU *without* native bf16
#: (emulated, 30× slower).  With native kernels (session 10, an AMD EPYC with AVX512-BF16, the
#: same commands with ``fast_x4`` too): srresnet_x4 31.2756 → 31.2696 (−0.006), srgan_x4
#: 29.2861 → 29.2831 (−0.003), the fast_x4 of then 30.5918 → 30.5838 (−0.008), no image by more than
#: 0.03 dB.  The speed half of the rule is :func:`cpu_has_native_bf16`: ``auto`` never picks
#: bf16 where it would be emulated.
CPU_AUTO_BF16 = True


def cpu_auto_bf16() -> bool:
    """:data:`CPU_AUTO_BF16`, unless the environment says ``SRGAN_DESKTOP_CPU_BF16=off``: the
    user's switch for fp32 everywhere (reproducing fp32 figures exactly); the test suite sets it,
    so results do not depend on the CI machine's processor."""
    switch = os.environ.get("SRGAN_DESKTOP_CPU_BF16", "").strip().lower()
    return CPU_AUTO_BF16 and switch not in ("0", "off", "no", "false")


def cpu_has_native_bf16() -> bool:
    """True when /proc/cpuinfo lists ``avx512_bf16`` or ``amx_bf16`` (elsewhere: False, so
    ``auto`` stays fp32 where bf16 would only be emulated, and slower)."""
    return bool(_cpuinfo_fields()[1] & {"avx512_bf16", "amx_bf16"})


def _cpuinfo_fields() -> tuple[str, set[str]]:
    """The first processor's ``model name`` and ``flags`` in /proc/cpuinfo (empty elsewhere)."""
    name, flags = "", set()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
            for line in cpuinfo:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and not name:
                    name = value.strip()
                elif key == "flags" and not flags:
                    flags = set(value.split())
                if name and flags:
                    break
    except OSError:
        pass
    return name, flags


def cpu_description() -> str:
    """The CPU's name, core count and the flags that decide its fast paths, for every printed
    figure: e.g. ``AMD EPYC, 2 cores, avx2 (no native bf16)``."""
    name, flags = _cpuinfo_fields()
    name = name or platform.processor() or platform.machine() or "unknown CPU"
    shown = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile") if f in flags]
    native = "native bf16" if flags & {"avx512_bf16", "amx_bf16"} else "no native bf16"
    return f"{name}, {os.cpu_count()} cores, {' '.join(shown) or 'no AVX flags'} ({native})"


class Cancelled(Exception):
    """Raised by :meth:`Upscaler.upscale` when its cancel token was set."""


class UpscaleError(SrganDesktopError):
    """The image could not be upscaled (out of memory at the smallest tile, bad output...)."""


class CancelToken:
    """A thread-safe flag; the engine checks it between tiles."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")


@dataclass
class UpscaleResult:
    """The output of one run, with what it took."""

    rgb: np.ndarray                 # (H·s, W·s, 3) uint8, or float32 in [0, 1] if asked
    alpha: np.ndarray | None
    seconds: float
    device: str
    precision: str
    tile: int                       # LR tile side actually used (0 = whole image at once)
    tiles: int
    fp32_fallbacks: int = 0
    grey: bool = False              # a grayscale LR: the output made grey (the module docstring)


def is_grey(rgb: np.ndarray) -> bool:
    """True when R, G and B are equal at every pixel (a grayscale picture stored as RGB)."""
    return bool(np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]))


def device_available(name: str) -> bool:
    """Whether ``cuda`` or ``mps`` can be used here (the one check of the app; anything else: True)."""
    if name == "cuda":
        return bool(torch.cuda.is_available())
    if name == "mps":
        mps = getattr(torch.backends, "mps", None)
        return bool(mps and mps.is_available())
    return True


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; an unavailable device is an error."""
    name = name.lower()
    if name == "auto":
        if device_available("cuda"):
            return torch.device("cuda")
        if device_available("mps"):
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not device_available("cuda"):
        raise UpscaleError("CUDA was asked for, but no CUDA GPU is available")
    if name == "mps" and not device_available("mps"):
        raise UpscaleError("MPS was asked for, but Apple's Metal backend is not available")
    if name not in ("cpu", "cuda", "mps") and not name.startswith("cuda:"):
        raise UpscaleError(f"unknown device '{name}' (use auto, cpu, cuda or mps)")
    return torch.device(name)


def available_memory(device: torch.device) -> int:
    """Free bytes on ``device`` (for the CPU: MemAvailable, else a 2 GiB guess)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return 2 * 1024 ** 3


class Method:
    """Something that turns an LR RGB ``uint8`` tile into an HR float tile in [0, 1]."""

    name: str = ""
    scale: int = 4
    pad: int = 0
    uses_torch: bool = False
    tiling: str = "exact"           # exact | blend | whole (see the module docstring)
    overlap: int = 0                # blend: LR pixels two neighbouring tiles share
    multiple_of: int = 1            # tile origins and sides are kept multiples of this
    supports_half: bool = True      # fp16 autocast allowed (NetworkMethod: as its descriptor says)
    supports_bf16: bool = True      # bf16 autocast allowed
    bytes_per_lr_pixel: int = BYTES_PER_LR_PIXEL  # peak memory estimate per padded LR pixel
    edge_pad: int = 0               # exact tiling: LR pixels of picture mirrored around the image

    def prepare(self, device: torch.device, precision: str) -> None:
        """Move weights to ``device``; called once per :meth:`Upscaler.upscale`."""

    def run(self, tile: np.ndarray, half: bool, keep: Box | None = None) -> np.ndarray:
        """``tile``'s HR pixels; ``keep`` (LR box in ``tile``): the part the caller uses — a
        method may leave the output outside it (beyond its own margin) unset."""
        raise NotImplementedError


class BicubicMethod(Method):
    """The baseline: MATLAB-compatible bicubic ×scale (rounded to 8 bits per pass, as MATLAB)."""

    uses_torch = False

    def __init__(self, scale: int = 4) -> None:
        self.name = "bicubic"
        self.scale = scale
        self.pad = 4  # the a = −0.5 kernel reaches 2 LR pixels; 4 keeps tiles exact

    def run(self, tile: np.ndarray, half: bool, keep: Box | None = None) -> np.ndarray:
        out = imresize(tile, output_shape=(tile.shape[0] * self.scale, tile.shape[1] * self.scale))
        return out.astype(np.float32) / 255.0


def fold_batchnorm(model: torch.nn.Module) -> int:
    """Fold every eval-mode ``BatchNorm2d`` that directly follows a ``Conv2d`` in an
    ``nn.Sequential`` into that conv (the BN becomes ``Identity``); returns how many.

    Exact up to float rounding (``torch.nn.utils.fusion.fuse_conv_bn_eval``), and it removes
    33 of the 16-block SRResNet's memory passes; a BN whose statistics are not tracked (batch
    statistics at inference) is left alone.  Mutates ``model``: call it on a copy."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    folded = 0
    for module in list(model.modules()):
        if not isinstance(module, torch.nn.Sequential):
            continue
        names = list(module._modules)
        for first, second in zip(names, names[1:]):
            conv, bn = module._modules[first], module._modules[second]
            if (isinstance(conv, torch.nn.Conv2d) and isinstance(bn, torch.nn.BatchNorm2d)
                    and bn.running_mean is not None and bn.running_var is not None
                    and conv.out_channels == bn.num_features):
                module._modules[first] = fuse_conv_bn_eval(conv.eval(), bn.eval())
                module._modules[second] = torch.nn.Identity()
                folded += 1
    return folded


#: Staged (layer-group) inference for the SRResNet family: the image goes through the network
#: one group of layers at a time, each group in windows of ``STAGE_TILE`` LR pixels plus only
#: *that group's* receptive margin (4 for the head, 2 per residual block, 1 for the body's last
#: conv, 3 for the upsampling tail), the 64-channel feature maps between groups held for the
#: whole image.  Exact (a window touches the image edge exactly where the full frame does) and
#: cache-sized: the plain 16-block forward of a whole 800×600 frame costs 47 s per LR
#: megapixel and exact 384-tiles with their 40-pixel margin 80, against 36 for a 128² frame
#: (AMD EPYC, fp32, 2 threads: ``srgan-desktop bench``).  Memory: ``STAGED_BYTES_PER_LR_PIXEL``
#: (input, three 64-channel maps, the float output) instead of the tail's 9 KiB peak.
STAGE_TILE = 160
STAGE_BLOCKS = 4
STAGED_BYTES_PER_LR_PIXEL = 2 * 1024
#: A window up to this side runs each layer group in one piece: splitting it into STAGE_TILE
#: windows buys no cache locality (the window forward costs 35.2 s per LR megapixel at
#: 208²–240² against 34.6 at 160², :data:`TILE_CAP`'s figures) but adds every group's margin
#: to each piece — the explicit 128-tile (a 208² window) was split into 2 × 2 pieces per group.
#: Measured (``srgan-desktop bench --sizes 128,512,800x600``, AMD EPYC fp32, idle): tile 128 against
#: the default 1.75× at 512² (3.15× when split) and 2.51× at 800×600 (its windows: 2.84× the pixels).
#: Since each group's output is also cut to what the later layers need around the tile's core
#: (:func:`staged_srresnet`'s ``keep``: the 40-pixel margin shrinks by each group's radius, and
#: the upsampling half, 45 % of the arithmetic, pays 3 pixels): 1.06× at 512² and 1.15× at
#: 800×600 (same command, session 9, idle).
STAGE_WHOLE_UP_TO = 256


def stage_tile(x: torch.Tensor) -> int:
    """The window side of a staged forward of ``x`` (see :data:`STAGE_WHOLE_UP_TO`)."""
    side = max(x.shape[-2:])
    return side if side <= STAGE_WHOLE_UP_TO else STAGE_TILE


#: What runs after each window of a staged forward, with the fraction of the tile's forward done
#: (0–1].  :meth:`TiledJob.run_tile` sets it for the tile it runs (its ``step``), so the hook
#: can report progress inside a tile or raise :class:`Cancelled`; a context variable, so the
#: :class:`Method` protocol keeps its signature and each thread sees only its own tile.
WITHIN_TILE: contextvars.ContextVar[Callable[[float], None] | None] = contextvars.ContextVar(
    "within_tile", default=None)


def _stage(fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, radius: int, scale: int,
           tile: int, report: Callable[[int, int], None] | None = None) -> torch.Tensor:
    """``fn`` over ``x`` (N, C, H, W) in balanced ``tile`` windows with ``radius`` pixels of context
    (shifted inwards at the edges, as :func:`tile_boxes`), the output assembled at ``scale``;
    ``report(windows done, windows)`` after each window."""
    height, width = x.shape[-2:]
    if height <= tile + 2 * radius and width <= tile + 2 * radius:
        y = fn(x)
        if report is not None:
            report(1, 1)
        return y
    out: torch.Tensor | None = None
    boxes = tile_boxes(height, width, tile, radius, same_shape=True)
    for n, ((y0, x0, y1, x1), (wy0, wx0, wy1, wx1)) in enumerate(boxes, 1):
        part = fn(x[:, :, wy0:wy1, wx0:wx1])
        if out is None:
            out = torch.empty((x.shape[0], part.shape[1], height * scale, width * scale),
                              dtype=part.dtype, device=part.device, memory_format=torch.channels_last)
        oy, ox = (y0 - wy0) * scale, (x0 - wx0) * scale
        out[:, :, y0 * scale:y1 * scale, x0 * scale:x1 * scale] = \
            part[:, :, oy:oy + (y1 - y0) * scale, ox:ox + (x1 - x0) * scale]
        if report is not None:
            report(n, len(boxes))
    assert out is not None
    return out


def _shrink(box: Box, keep: Box, remaining: int) -> Box:
    """The part of ``box`` (a region of features, in input coordinates) that the layers after this
    point need to make ``keep``: at most ``remaining`` (their receptive radius) pixels around it
    on each side.  A side already closer than that is left as it is — it is the input's own edge
    (the image's, which the full frame pads with the same zeros) or it had that much to spare."""
    y0, x0, y1, x1 = box
    ky0, kx0, ky1, kx1 = keep
    return (max(y0, ky0 - remaining), max(x0, kx0 - remaining),
            min(y1, ky1 + remaining), min(x1, kx1 + remaining))


def _crop(t: torch.Tensor, box: Box, inner: Box) -> torch.Tensor:
    """``t`` (covering ``box``) cut to ``inner`` ⊆ ``box``."""
    return t[:, :, inner[0] - box[0]:inner[2] - box[0], inner[1] - box[1]:inner[3] - box[1]]


def staged_srresnet(model: torch.nn.Module, x: torch.Tensor, tile: int = STAGE_TILE,
                    blocks: int = STAGE_BLOCKS, keep: Box | None = None) -> torch.Tensor:
    """The forward of an :class:`~srgan_desktop.core.arch.SRResNet` (BN folded or not), layer group
    by layer group (see :data:`STAGE_TILE`); equal to ``model(x)`` up to float rounding.  The
    :data:`WITHIN_TILE` hook runs after every window.

    ``keep`` (y0, x0, y1, x1 in ``x``'s pixels): the only part of the output that is used — a
    tile's core inside its window.  After each group the features are cut to what the layers
    still to come need around it (:func:`_shrink`), so a tile pays its 40-pixel margin on the
    first group only and a few pixels on the upsampling half, where most of the arithmetic is;
    the output outside ``keep``'s neighbourhood is left zero."""
    body = list(model.body)
    starts = range(0, len(body), blocks)
    stages = len(starts) + 3          # head, the block groups, the body's last conv, the tail
    hook = WITHIN_TILE.get()
    steps = len(model.upsample)
    tail_radius = math.ceil(sum(1.0 / 2 ** k for k in range(steps)) + 4.0 / 2 ** steps)
    height, width = x.shape[-2:]
    keep = keep or (0, 0, height, width)
    box: Box = (0, 0, height, width)

    def reporter(stage: int) -> Callable[[int, int], None] | None:
        if hook is None:
            return None
        return lambda done, windows: hook((stage + done / windows) / stages)

    def cut(t: torch.Tensor, remaining: int) -> torch.Tensor:
        nonlocal box
        inner = _shrink(box, keep, remaining)
        t, box = _crop(t, box, inner), inner
        return t

    remaining = receptive_radius(len(body), 2 ** steps)  # = 4 + 2 per block + 1 + tail_radius
    head = _stage(model.head, x, 4, 1, tile, reporter(0))
    remaining -= 4
    head = cut(head, remaining)
    head_box = box
    features = head
    for n, start in enumerate(starts, 1):
        group = torch.nn.Sequential(*body[start:start + blocks])
        features = _stage(group, features, 2 * len(group), 1, tile, reporter(n))
        remaining -= 2 * len(group)
        features = cut(features, remaining)
    features = _stage(model.body_tail, features, 1, 1, tile, reporter(stages - 2))
    features = cut(features, remaining - 1)
    features = features + _crop(head, head_box, box)  # the long skip
    del head
    y = _stage(lambda t: model.tail(model.upsample(t)), features, tail_radius, 2 ** steps, tile,
               reporter(stages - 1))
    if box == (0, 0, height, width):
        return y
    s = 2 ** steps
    out = torch.zeros((y.shape[0], y.shape[1], height * s, width * s), dtype=y.dtype, device=y.device)
    out[:, :, box[0] * s:box[2] * s, box[1] * s:box[3] * s] = y
    return out


def _weights_version(model: torch.nn.Module) -> tuple[int, ...]:
    """A key that changes whenever a parameter or buffer is written in place (an optimiser
    step, a loaded state dict): the trainer validates its live generator with this engine, and
    a fast copy made before a step must not be used after it."""
    return tuple(t._version for t in model.parameters()) + tuple(t._version for t in model.buffers())


@dataclass
class FastModel:
    """The copy of a network that the engine runs: BN folded, on its device, channels_last on the
    CPU and CUDA, and weights in ``dtype`` when ``cast`` (else fp32 weights under autocast)."""

    module: torch.nn.Module
    dtype: torch.dtype
    cast: bool
    channels_last: bool
    folded: int
    staged: bool = False


class NetworkMethod(Method):
    """A network described by a :class:`ModelDescriptor` (SRResNet family or any spandrel model).

    The model it is given is never changed (the trainer passes its live generator): each
    (device, precision) gets its own :class:`FastModel` copy, made once and kept until the
    weights change."""

    uses_torch = True

    def __init__(self, model: torch.nn.Module, descriptor: ModelDescriptor) -> None:
        self.model = model.eval()
        self.descriptor = descriptor
        self.name = descriptor.name
        self.scale = descriptor.scale
        self.tiling = descriptor.tiling
        self.multiple_of = max(1, descriptor.multiple_of)
        pad = descriptor.pad if descriptor.pad is not None else receptive_radius(
            descriptor.num_blocks, descriptor.scale)
        self.pad = -(-pad // self.multiple_of) * self.multiple_of
        self.overlap = min(descriptor.overlap, self.pad)  # the blended band lies inside the context
        self.supports_half = descriptor.supports_half
        self.supports_bf16 = descriptor.supports_bf16
        self.edge_pad = descriptor.edge_pad if descriptor.tiling == "exact" else 0
        if descriptor.bytes_per_lr_pixel:
            self.bytes_per_lr_pixel = descriptor.bytes_per_lr_pixel
        self.device = torch.device("cpu")
        self.dtype = torch.float32
        self._fast: dict[tuple[str, torch.dtype], FastModel] = {}
        self._version: tuple[int, ...] = ()
        #: the SRResNet family runs layer group by layer group (:func:`staged_srresnet`)
        self.staged = isinstance(model, SRResNet) and descriptor.tiling == "exact"
        if self.staged and not descriptor.bytes_per_lr_pixel:
            self.bytes_per_lr_pixel = STAGED_BYTES_PER_LR_PIXEL

    def prepare(self, device: torch.device, precision: str) -> None:
        self.device = device
        self.dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision, torch.float32)
        version = _weights_version(self.model)
        if version != self._version:
            self._fast, self._version = {}, version
        self.fast(self.dtype)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # tiles share one shape: one search per shape

    def fast(self, dtype: torch.dtype) -> FastModel:
        """The fast copy for ``dtype`` on the prepared device (built on first use)."""
        key = (str(self.device), dtype)
        if key not in self._fast:
            self._fast[key] = self._build(dtype)
        return self._fast[key]

    @torch.inference_mode()
    def _build(self, dtype: torch.dtype) -> FastModel:
        module = copy.deepcopy(self.model).eval()
        folded = fold_batchnorm(module)
        module.to(self.device)
        channels_last = self.device.type in ("cpu", "cuda")
        if channels_last:
            module.to(memory_format=torch.channels_last)
        staged = self.staged
        if dtype == torch.float32:
            return FastModel(module, dtype, False, channels_last, folded, staged)
        half = copy.deepcopy(module).to(dtype)
        probe = FastModel(half, dtype, True, channels_last, folded, staged)
        try:  # some layers refuse half weights (or overflow in them): then autocast instead
            side = max(16, self.descriptor.min_size)
            side = -(-side // self.multiple_of) * self.multiple_of
            y = self._forward(probe, torch.rand(1, self.descriptor.input_channels, side, side,
                                                device=self.device))
            if bool(torch.isfinite(y).all()):
                return probe
        except (RuntimeError, TypeError, ValueError):
            pass
        return FastModel(module, dtype, False, channels_last, folded, staged)

    def _forward(self, fast: FastModel, x: torch.Tensor, keep: Box | None = None) -> torch.Tensor:
        if fast.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        forward = ((lambda t: staged_srresnet(fast.module, t, tile=stage_tile(t), keep=keep))
                   if fast.staged else fast.module)
        if fast.cast:
            return forward(x.to(fast.dtype)).float()
        if fast.dtype != torch.float32:
            with torch.autocast(device_type=self.device.type, dtype=fast.dtype):
                return forward(x).float()
        return forward(x)

    def padding(self, height: int, width: int) -> tuple[int, int]:
        """(rows, columns) to add at the bottom/right so the model accepts the input."""
        d = self.descriptor
        h, w = max(height, d.min_size), max(width, d.min_size)
        h, w = -(-h // self.multiple_of) * self.multiple_of, -(-w // self.multiple_of) * self.multiple_of
        if d.square:
            h = w = max(h, w)
        return h - height, w - width

    @torch.inference_mode()
    def run(self, tile: np.ndarray, half: bool, keep: Box | None = None) -> np.ndarray:
        lo, hi = self.descriptor.input_range
        x = (rgb_to_tensor(tile) * (hi - lo) + lo).to(self.device)
        height, width = tile.shape[:2]
        extra_h, extra_w = self.padding(height, width)
        if extra_h or extra_w:
            x = torch.nn.functional.pad(x, (0, extra_w, 0, extra_h), mode="replicate")
        dtype = self.dtype if half else torch.float32
        y = self._forward(self.fast(dtype), x, keep)
        out_lo, out_hi = self.descriptor.output_range
        y = ((y.float() - out_lo) / (out_hi - out_lo)).squeeze(0)
        y = y[:, :height * self.scale, :width * self.scale]
        return y.permute(1, 2, 0).cpu().numpy()


def _balanced(size: int, tile: int) -> list[tuple[int, int]]:
    """``size`` cut into ``ceil(size / tile)`` spans as equal as possible (none longer than tile)."""
    count = max(1, -(-size // tile))
    step = -(-size // count)
    return [(start, min(size, start + step)) for start in range(0, size, step)]


def tile_boxes(height: int, width: int, tile: int, pad: int, same_shape: bool = False
               ) -> list[tuple[Box, Box]]:
    """The engine's tiling of a ``height`` × ``width`` image: (tile, padded tile) boxes.

    Tiles of at most ``tile`` pixels (0, or a tile at least as large as the image: one tile).
    ``same_shape`` (exact tiling, no size constraint): the tiles are balanced (7 tiles of 115
    rather than 6 of 128 and one of 32) and every window has one shape, ``tile + 2·pad`` cut to
    the image, shifted inwards at the edges instead of cut — so oneDNN/cuDNN build their kernels
    once and no pixel is computed for a sliver.  Otherwise each tile is widened by ``pad`` on
    every side and cut at the image edges (what blended tiles and multiple-of models need)."""
    step_y = tile if 0 < tile < height else height
    step_x = tile if 0 < tile < width else width
    if same_shape:
        rows, cols = _balanced(height, step_y), _balanced(width, step_x)
        win_h = min(height, max(b - a for a, b in rows) + 2 * pad)
        win_w = min(width, max(b - a for a, b in cols) + 2 * pad)
        boxes = []
        for y0, y1 in rows:
            wy = min(max(0, y0 - pad), height - win_h)
            for x0, x1 in cols:
                wx = min(max(0, x0 - pad), width - win_w)
                boxes.append(((y0, x0, y1, x1), (wy, wx, wy + win_h, wx + win_w)))
        return boxes
    boxes = []
    for y0 in range(0, height, step_y):
        for x0 in range(0, width, step_x):
            y1, x1 = min(y0 + step_y, height), min(x0 + step_x, width)
            padded = (max(0, y0 - pad), max(0, x0 - pad), min(height, y1 + pad), min(width, x1 + pad))
            boxes.append(((y0, x0, y1, x1), padded))
    return boxes


class Upscaler:
    """Runs one :class:`Method` over whole images, tile by tile."""

    def __init__(self, method: Method, device: str = "auto", tile: int | None = None,
                 precision: str = "auto", keep_grey: bool = True) -> None:
        self.method = method
        self.keep_grey = keep_grey  # False only to measure the network's own colour on grey input
        self.device = resolve_device(device) if method.uses_torch else torch.device("cpu")
        if precision not in ("auto", "fp32", "fp16", "bf16"):
            raise UpscaleError(f"unknown precision '{precision}' (use auto, fp32, fp16 or bf16)")
        if not method.uses_torch:
            precision = "fp32"
        elif precision == "auto":
            precision = self._auto_precision()
        elif precision == "fp16" and not method.supports_half:
            raise UpscaleError(f"{method.name} does not support fp16 (use fp32 or auto)")
        elif precision == "bf16" and not method.supports_bf16:
            raise UpscaleError(f"{method.name} does not support bf16 (use fp32 or auto)")
        if tile is not None and tile < 0:  # would make no tile at all and return empty memory
            raise UpscaleError(f"the tile side must be 0 (whole image) or more, not {tile}")
        self.precision = precision
        self.tile = tile

    def _auto_precision(self) -> str:
        half, bf16 = self.method.supports_half, self.method.supports_bf16
        if self.device.type == "cuda":
            if bf16 and torch.cuda.is_bf16_supported():
                return "bf16"
            return "fp16" if half else "fp32"
        if self.device.type == "mps":
            return "fp16" if half else "fp32"
        return "bf16" if bf16 and cpu_auto_bf16() and cpu_has_native_bf16() else "fp32"

    def _budget(self) -> float:
        share = 0.5 if self.device.type == "cuda" else 0.25
        return min(available_memory(self.device) * share, 8 * 1024 ** 3)

    def _bytes_per_px(self) -> float:
        return self.method.bytes_per_lr_pixel * (0.5 if self.precision != "fp32" else 1.0)

    def cuts_for_focus(self, height: int, width: int, focus_tile: int) -> bool:
        """Whether tiles under a focus box are cut into ``focus_tile`` pieces: exact tiling of one
        shape (any partition gives the same image), on an image larger than two focus tiles."""
        return self.same_shape() and max(height, width) > 2 * focus_tile

    def same_shape(self) -> bool:
        """Whether tiles may be balanced and their windows shifted inwards (exact tiling with no
        multiple-of constraint: every window then has one shape)."""
        return self.method.tiling == "exact" and self.method.multiple_of == 1

    def auto_tile(self, height: int, width: int) -> int:
        """The tile rule (0 = the whole image in one forward): see :data:`TILE_CAP`."""
        if not self.method.uses_torch:
            return 0 if height * width <= 1024 * 1024 else 512
        if self.method.tiling == "whole":
            return 0
        pad = self.method.pad
        if (height + 2 * pad) * (width + 2 * pad) * self._bytes_per_px() <= self._budget() and (
                self.same_shape() or max(height, width) <= TILE_CAP):
            return 0
        side = int(math.sqrt(self._budget() / self._bytes_per_px())) - 2 * pad
        step = max(16, self.method.multiple_of)
        side = max(MIN_TILE, side - side % step, 4 * self.method.overlap)
        if height <= side and width <= side:
            return 0
        return min(side, STAGED_TILE_CAP if getattr(self.method, "staged", False) else TILE_CAP)

    def _tile_for(self, rgb: np.ndarray) -> int:
        """The tile side to use: given or automatic, kept a multiple of the model's ``multiple_of``;
        a ``whole``-policy model always runs in one piece, if its memory estimate fits."""
        h, w = rgb.shape[:2]
        if self.method.tiling == "whole":
            need = self._bytes_per_px() * (h + self.method.multiple_of) * (w + self.method.multiple_of)
            budget = self._budget()
            if need > budget:
                raise UpscaleError(
                    f"{self.method.name} must run on the whole image (it does not tile), and "
                    f"{w}×{h} needs about {need / 2 ** 30:.1f} GiB; {budget / 2 ** 30:.1f} GiB are "
                    f"available for it — use a smaller image")
            return 0
        tile = self.tile if self.tile is not None else self.auto_tile(h, w)
        m = self.method.multiple_of
        if tile and m > 1:
            tile = max(m, tile - tile % m)
        return tile

    @staticmethod
    def _split(image: np.ndarray | LoadedImage) -> tuple[np.ndarray, np.ndarray | None]:
        rgb, alpha = (image.rgb, image.alpha) if isinstance(image, LoadedImage) else (image, None)
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise UpscaleError(f"expected an (H, W, 3) uint8 image, got {rgb.dtype} {rgb.shape}")
        if rgb.shape[0] < 1 or rgb.shape[1] < 1:
            raise UpscaleError("the image has no pixels")
        return rgb, alpha

    def job(self, image: np.ndarray | LoadedImage, focus: Box | None = None,
            tile: int | None = None, focus_tile: int = FOCUS_TILE) -> TiledJob:
        """A resumable run of ``image``: its tiles can be run in any order (the GUI runs the ones
        under the viewport first); :meth:`TiledJob.finish` gives what :meth:`upscale` gives.

        ``focus`` (an LR box, e.g. what a zoomed-in pane shows): the tiles of the automatic
        grid that it touches are split into ``focus_tile`` tiles, so the first visible
        pixels come after a small forward; the result is the same."""
        rgb, alpha = self._split(image)
        tile = self._tile_for(rgb) if tile is None else tile
        self.method.prepare(self.device, self.precision)
        h, w = rgb.shape[:2]
        if focus is not None and self.cuts_for_focus(h, w, focus_tile):
            boxes = focus_boxes(h, w, tile or TILE_CAP, focus_tile, self.method.pad, focus)
        else:
            boxes = tile_boxes(h, w, tile, self.method.pad, same_shape=self.same_shape())
        return TiledJob(self, rgb, alpha, tile, boxes)

    def upscale(self, image: np.ndarray | LoadedImage, progress: ProgressCallback | None = None,
                cancel: CancelToken | None = None, as_float: bool = False,
                fraction: Callable[[float], None] | None = None) -> UpscaleResult:
        """Upscale an RGB ``uint8`` array or a :class:`LoadedImage` (alpha kept).

        ``cancel`` is checked between tiles and inside a staged tile; ``fraction(share of the
        image done)`` runs wherever the engine knows more than whole tiles (:data:`WITHIN_TILE`)."""
        rgb, _alpha = self._split(image)
        tile = self._tile_for(rgb)
        while True:
            job = self.job(image, tile=tile)
            try:
                def step(share: float) -> None:
                    if cancel is not None:
                        cancel.raise_if_cancelled()
                    if fraction is not None:
                        fraction(share)

                for index in range(len(job.boxes)):
                    if cancel is not None:
                        cancel.raise_if_cancelled()
                    job.run_tile(index, step)
                    if progress is not None:
                        progress(job.done, len(job.boxes))
                return job.finish(as_float)
            except torch.cuda.OutOfMemoryError as exc:
                torch.cuda.empty_cache()
                current = tile or max(rgb.shape[:2])
                if current // 2 < MIN_TILE:
                    raise UpscaleError("out of GPU memory even with the smallest tile") from exc
                step = max(8, self.method.multiple_of)
                tile = max(MIN_TILE, step, (current // 2) - (current // 2) % step)

    def _blend_in(self, out: np.ndarray, weight: np.ndarray, result: np.ndarray, core: Box,
                  padded: Box, height: int, width: int) -> None:
        """Add one tile's result with feathered weights: its core widened by ``overlap`` on every
        side that has a neighbour, where the weight ramps linearly across the 2·overlap band
        centred on the tile edge (the neighbour's ramp is the mirror image: they sum to 1)."""
        s, ov = self.method.scale, self.method.overlap
        (y0, x0, y1, x1), (py0, px0, _py1, _px1) = core, padded
        ky0, kx0 = max(0, y0 - ov), max(0, x0 - ov)
        ky1, kx1 = min(height, y1 + ov), min(width, x1 + ov)

        def ramp(k0: int, k1: int, c0: int, c1: int, size: int) -> np.ndarray:
            pos = (np.arange(k0 * s, k1 * s, dtype=np.float32) + 0.5) / s  # HR pixel centres, LR units
            ramp_ = np.ones_like(pos)
            if c0 > 0:
                ramp_ = np.minimum(ramp_, np.clip((pos - (c0 - ov)) / (2 * ov), 0.0, 1.0))
            if c1 < size:
                ramp_ = np.minimum(ramp_, np.clip(((c1 + ov) - pos) / (2 * ov), 0.0, 1.0))
            return ramp_

        wy, wx = ramp(ky0, ky1, y0, y1, height), ramp(kx0, kx1, x0, x1, width)
        tile_weight = (wy[:, None] * wx[None, :])[..., None]
        oy, ox = (ky0 - py0) * s, (kx0 - px0) * s
        part = result[oy:oy + (ky1 - ky0) * s, ox:ox + (kx1 - kx0) * s]
        out[ky0 * s:ky1 * s, kx0 * s:kx1 * s] += part * tile_weight
        weight[ky0 * s:ky1 * s, kx0 * s:kx1 * s] += tile_weight


def _window(core: Box, height: int, width: int, pad: int, win_h: int, win_w: int) -> Box:
    """The ``win_h`` × ``win_w`` window around ``core``: ``pad`` pixels of context on every side
    that has them, shifted inwards (never cut) at the image edges."""
    y0, x0, _y1, _x1 = core
    wy = min(max(0, y0 - pad), height - win_h)
    wx = min(max(0, x0 - pad), width - win_w)
    return (wy, wx, wy + win_h, wx + win_w)


def focus_boxes(height: int, width: int, tile: int, small: int, pad: int, focus: Box
                ) -> list[tuple[Box, Box]]:
    """:func:`tile_boxes` (``same_shape``) with each tile that ``focus`` touches cut at the focus
    box's edges and then into balanced tiles of at most ``small`` pixels, each with only its own
    margin (exact tiling: any partition gives the same image).

    Cutting at the focus edges makes the visible region its own tiles: a 53×38 LR viewport costs
    a 93×78 window at an image corner instead of the 168² of a fixed 128-px focus tile — the first
    visible tile comes in about a third of the time."""
    boxes: list[tuple[Box, Box]] = []
    for core, window in tile_boxes(height, width, tile, pad, same_shape=True):
        boxes.extend(cut_at_focus(core, window, focus, small, pad, height, width))
    return boxes


def cut_at_focus(core: Box, window: Box, focus: Box, small: int, pad: int, height: int, width: int
                 ) -> list[tuple[Box, Box]]:
    """One exact tile as ``focus_boxes`` cuts it: itself when ``focus`` does not touch it, else
    its pieces cut at the focus edges and balanced into ≤ ``small``, each with its own margin."""
    fy0, fx0, fy1, fx1 = focus
    y0, x0, y1, x1 = core
    if y0 >= fy1 or y1 <= fy0 or x0 >= fx1 or x1 <= fx0:
        return [(core, window)]
    rows, cols = _focus_cuts(y0, y1, fy0, fy1, small), _focus_cuts(x0, x1, fx0, fx1, small)
    return [((a, c, b, d), (max(0, a - pad), max(0, c - pad), min(height, b + pad), min(width, d + pad)))
            for a, b in rows for c, d in cols]


def _focus_cuts(start: int, stop: int, focus_start: int, focus_stop: int, small: int) -> list[tuple[int, int]]:
    """[start, stop) cut at the focus edges inside it, each piece balanced into ≤ ``small``."""
    edges = sorted({start, stop, *(e for e in (focus_start, focus_stop) if start < e < stop)})
    return [(a + u, a + v) for a, b in zip(edges, edges[1:]) for u, v in _balanced(b - a, small)]


class TiledJob:
    """One image through one :class:`Upscaler`, one tile at a time, in any order.

    ``boxes`` are (core, window) LR boxes; :meth:`run_tile` computes one and returns its core
    box and its pixels (HR, float in [0, 1]); :meth:`finish` gives the :class:`UpscaleResult`
    once every tile is done.  Exact tiles do not depend on each other and blended ones are
    summed, so the order never changes the image."""

    def __init__(self, upscaler: Upscaler, rgb: np.ndarray, alpha: np.ndarray | None, tile: int,
                 boxes: list[tuple[Box, Box]]) -> None:
        self.upscaler, self.rgb, self.alpha, self.tile, self.boxes = upscaler, rgb, alpha, tile, boxes
        #: the network's input: the image mirrored ``edge_pad`` pixels outwards at its edges,
        #: so a window at the image's border sees picture, not the convolutions' zeros
        self.edge_pad = upscaler.method.edge_pad
        p = self.edge_pad
        self.source = np.pad(rgb, ((p, p), (p, p), (0, 0)), mode="reflect") if p else rgb
        h, w = rgb.shape[:2]
        s = upscaler.method.scale
        self.scale = s
        self.out = np.zeros((h * s, w * s, 3), dtype=np.float32)
        blend = upscaler.method.tiling == "blend" and len(boxes) > 1 and upscaler.method.overlap > 0
        self.weight = np.zeros((h * s, w * s, 1), dtype=np.float32) if blend else None
        self.finished: set[int] = set()
        self.fallbacks = 0
        self.seconds = 0.0
        self.grey = upscaler.keep_grey and is_grey(rgb)

    @property
    def done(self) -> int:
        return len(self.finished)

    def remaining(self) -> list[int]:
        return [i for i in range(len(self.boxes)) if i not in self.finished]

    def refocus(self, focus: Box, small: int = FOCUS_TILE) -> bool:
        """After a pan or zoom: cut the tiles still waiting that ``focus`` touches at its edges
        into ≤ ``small`` pieces (:func:`cut_at_focus`), so the newly visible region is small tiles
        of its own, as at the start.  Finished tiles keep their index; a cut tile's first piece
        takes its index and the others are appended, so the count (progress' total) grows.
        It cuts only where a new job would (:meth:`Upscaler.cuts_for_focus`); False when nothing
        was cut."""
        h, w = self.rgb.shape[:2]
        if not self.upscaler.cuts_for_focus(h, w, small):
            return False
        pad, cut = self.upscaler.method.pad, False
        for index in range(len(self.boxes)):
            if index in self.finished:
                continue
            pieces = cut_at_focus(*self.boxes[index], focus, small, pad, h, w)
            if len(pieces) > 1:
                self.boxes[index] = pieces[0]
                self.boxes.extend(pieces[1:])
                cut = True
        return cut

    def run_tile(self, index: int, step: Callable[[float], None] | None = None) -> tuple[Box, np.ndarray]:
        """Run tile ``index``; returns its HR core box (y0, x0, y1, x1) and its pixels (a view of
        the output, float in [0, 1]; blended tiles: the sum so far, not yet normalised).

        ``step(share of the job done)`` — the finished tiles and this tile's part, 0–1 — runs
        inside the tile where the model allows it (a staged model, after each window:
        :data:`WITHIN_TILE`); it may raise :class:`Cancelled`, which leaves the tile not run."""
        if index in self.finished:
            raise UpscaleError(f"tile {index} has run already")
        tiles, done = len(self.boxes), self.done
        hook = None if step is None else (lambda part: step((done + part) / tiles))
        token = WITHIN_TILE.set(hook)
        try:
            return self._run_tile(index)
        finally:
            WITHIN_TILE.reset(token)

    def _run_tile(self, index: int) -> tuple[Box, np.ndarray]:
        start = time.perf_counter()
        up, s = self.upscaler, self.scale
        (y0, x0, y1, x1), (py0, px0, py1, px1) = self.boxes[index]
        half = up.precision != "fp32"
        window = self._source_window((py0, px0, py1, px1))
        p = self.edge_pad   # the window began p pixels further out where it touches the edge
        ky, kx = y0 - py0 + (p if py0 == 0 else 0), x0 - px0 + (p if px0 == 0 else 0)
        keep = None if self.weight is not None else (ky, kx, ky + y1 - y0, kx + x1 - x0)
        result = up.method.run(window, half, keep)
        if half and not np.isfinite(result).all():
            result = up.method.run(window, False, keep)
            self.fallbacks += 1
        if not np.isfinite(result).all():  # never shown or saved as a (black) picture
            raise UpscaleError(f"{getattr(up.method, 'name', 'the model')}: its output is not finite "
                               f"(NaN/Inf) even in fp32 — its weights overflow on this image; no result made")
        if self.grey:
            result = np.repeat(result.mean(axis=2, keepdims=True), 3, axis=2)
        h, w = self.rgb.shape[:2]
        if self.weight is None:
            oy, ox = ky * s, kx * s
            self.out[y0 * s:y1 * s, x0 * s:x1 * s] = result[oy:oy + (y1 - y0) * s, ox:ox + (x1 - x0) * s]
        else:
            up._blend_in(self.out, self.weight, result, (y0, x0, y1, x1), (py0, px0, py1, px1), h, w)
        self.finished.add(index)
        self.seconds += time.perf_counter() - start
        box = (y0 * s, x0 * s, y1 * s, x1 * s)
        return box, np.clip(self.out[box[0]:box[2], box[1]:box[3]], 0.0, 1.0)

    def _source_window(self, window: Box) -> np.ndarray:
        """The LR window of the network's input: ``window`` (image coordinates), widened by the
        edge padding on each side where it touches the image's edge — so the whole frame and
        every tile at the border see the same mirrored pixels, and tiled still equals full."""
        py0, px0, py1, px1 = window
        p = self.edge_pad
        h, w = self.rgb.shape[:2]
        return self.source[py0 + (0 if py0 == 0 else p):py1 + p + (p if py1 == h else 0),
                           px0 + (0 if px0 == 0 else p):px1 + p + (p if px1 == w else 0)]

    def finish(self, as_float: bool = False) -> UpscaleResult:
        if len(self.finished) != len(self.boxes):
            raise UpscaleError(f"{len(self.boxes) - len(self.finished)} tiles have not run")
        out = self.out
        if self.weight is not None:
            out = out / self.weight
        np.clip(out, 0.0, 1.0, out=out)
        alpha = self.alpha
        if alpha is not None:
            s = self.scale
            alpha = imresize(alpha, output_shape=(alpha.shape[0] * s, alpha.shape[1] * s))
        if not as_float:
            out = np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)
        up = self.upscaler
        return UpscaleResult(rgb=out, alpha=alpha, seconds=self.seconds, device=str(up.device),
                             precision=up.precision, tile=self.tile, tiles=len(self.boxes),
                             fp32_fallbacks=self.fallbacks, grey=self.grey)
