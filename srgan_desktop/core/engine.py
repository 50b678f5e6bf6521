"""The inference engine: one :class:`Upscaler` for every method (bicubic and networks).

* device ``auto | cpu | cuda | mps``; fp32 on the CPU, bf16/fp16 autocast on a GPU with a
  per-tile fp32 re-run whenever the half-precision output is not finite;
* tiled inference: each LR tile is padded by the network's receptive radius (40 LR pixels for
  the 16-block SRResNet), so the tiled result equals the full-frame result up to float
  rounding; the tile size is chosen from free memory unless given, and a CUDA out-of-memory
  halves the tile and starts again;
* a progress callback after each tile and a :class:`CancelToken` checked between tiles;
* alpha planes are upscaled with bicubic and re-attached.
"""

from __future__ import annotations

import math
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.utils import rgb_to_tensor
from srgan_desktop.core.arch import receptive_radius
from srgan_desktop.core.images import LoadedImage
from srgan_desktop.core.resize import imresize
from srgan_desktop.core.weights import ModelDescriptor

__all__ = ["Cancelled", "UpscaleError", "CancelToken", "UpscaleResult", "Method", "BicubicMethod",
           "NetworkMethod", "Upscaler", "resolve_device", "available_memory", "ProgressCallback",
           "tile_boxes"]

ProgressCallback = Callable[[int, int], None]  # (tiles done, tiles in all)

#: Bytes per *padded* LR pixel that one fp32 SRResNet ×4 forward needs at its peak.
#: Measured with ``srgan-desktop bench`` (its forward-only child: VmHWM minus VmRSS before one
#: forward, torch 2.15 CPU/oneDNN, 2 threads): 303 MiB at 160², 984 MiB at 320², 1954 MiB at
#: 464², i.e. 9.1 KiB per pixel plus ~75 MiB fixed.  That is the second upsampling step: its
#: 64-channel ×2 input (1 KiB), 256-channel conv output (4 KiB) and pixel-shuffled copy (4 KiB).
#: 12 KiB keeps a third in hand for allocator slack and GPU convolution workspaces (the old
#: 24 KiB made auto tiles √2 ≈ 1.4× narrower, i.e. about twice as many tiles).
BYTES_PER_LR_PIXEL = 12 * 1024
MIN_TILE = 16


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


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then Apple MPS, then the CPU; an unavailable device is an error."""
    name = name.lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise UpscaleError("CUDA was asked for, but no CUDA GPU is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
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

    def prepare(self, device: torch.device, precision: str) -> None:
        """Move weights to ``device``; called once per :meth:`Upscaler.upscale`."""

    def run(self, tile: np.ndarray, half: bool) -> np.ndarray:
        raise NotImplementedError


class BicubicMethod(Method):
    """The baseline: MATLAB-compatible bicubic ×scale (rounded to 8 bits per pass, as MATLAB)."""

    uses_torch = False

    def __init__(self, scale: int = 4) -> None:
        self.name = "bicubic"
        self.scale = scale
        self.pad = 4  # the a = −0.5 kernel reaches 2 LR pixels; 4 keeps tiles exact

    def run(self, tile: np.ndarray, half: bool) -> np.ndarray:
        out = imresize(tile, output_shape=(tile.shape[0] * self.scale, tile.shape[1] * self.scale))
        return out.astype(np.float32) / 255.0


class NetworkMethod(Method):
    """An SRResNet-family network described by a :class:`ModelDescriptor`."""

    uses_torch = True

    def __init__(self, model: torch.nn.Module, descriptor: ModelDescriptor) -> None:
        self.model = model.eval()
        self.descriptor = descriptor
        self.name = descriptor.name
        self.scale = descriptor.scale
        self.pad = receptive_radius(descriptor.num_blocks, descriptor.scale)
        self.device = torch.device("cpu")
        self.dtype = torch.float32

    def prepare(self, device: torch.device, precision: str) -> None:
        self.device = device
        self.model.to(device)
        if device.type == "cuda":
            self.model.to(memory_format=torch.channels_last)
        self.dtype = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(precision, torch.float32)

    @torch.inference_mode()
    def run(self, tile: np.ndarray, half: bool) -> np.ndarray:
        lo, hi = self.descriptor.input_range
        x = (rgb_to_tensor(tile) * (hi - lo) + lo).to(self.device)
        if self.device.type == "cuda":
            x = x.contiguous(memory_format=torch.channels_last)
        if half and self.dtype != torch.float32:
            with torch.autocast(device_type=self.device.type, dtype=self.dtype):
                y = self.model(x)
        else:
            y = self.model(x)
        out_lo, out_hi = self.descriptor.output_range
        y = ((y.float() - out_lo) / (out_hi - out_lo)).squeeze(0)
        return y.permute(1, 2, 0).cpu().numpy()


Box = tuple[int, int, int, int]  # (y0, x0, y1, x1), end exclusive


def tile_boxes(height: int, width: int, tile: int, pad: int) -> list[tuple[Box, Box]]:
    """The engine's tiling of a ``height`` × ``width`` image: (tile, padded tile) boxes.

    Tiles of ``tile`` pixels (0, or a tile at least as large as the image: one tile), each
    widened by ``pad`` on every side and cut at the image edges."""
    step_y = tile if 0 < tile < height else height
    step_x = tile if 0 < tile < width else width
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
                 precision: str = "auto") -> None:
        self.method = method
        self.device = resolve_device(device) if method.uses_torch else torch.device("cpu")
        if precision == "auto":
            precision = "fp32"
            if self.device.type == "cuda":
                precision = "bf16" if torch.cuda.is_bf16_supported() else "fp16"
            elif self.device.type == "mps":
                precision = "fp16"
        if precision not in ("fp32", "fp16", "bf16"):
            raise UpscaleError(f"unknown precision '{precision}' (use auto, fp32, fp16 or bf16)")
        if not method.uses_torch:
            precision = "fp32"
        if tile is not None and tile < 0:  # would make no tile at all and return empty memory
            raise UpscaleError(f"the tile side must be 0 (whole image) or more, not {tile}")
        self.precision = precision
        self.tile = tile

    def auto_tile(self, height: int, width: int) -> int:
        """The largest tile whose padded forward fits a share of free memory (0 = no tiling)."""
        if not self.method.uses_torch:
            return 0 if height * width <= 1024 * 1024 else 512
        share = 0.5 if self.device.type == "cuda" else 0.25
        budget = min(available_memory(self.device) * share, 8 * 1024 ** 3)
        bytes_per_px = BYTES_PER_LR_PIXEL * (0.5 if self.precision != "fp32" else 1.0)
        side = int(math.sqrt(budget / bytes_per_px)) - 2 * self.method.pad
        side = max(MIN_TILE, side - side % 16)
        if height <= side and width <= side:
            return 0
        return min(side, 1024)

    def upscale(self, image: np.ndarray | LoadedImage, progress: ProgressCallback | None = None,
                cancel: CancelToken | None = None, as_float: bool = False) -> UpscaleResult:
        """Upscale an RGB ``uint8`` array or a :class:`LoadedImage` (alpha kept)."""
        alpha = None
        if isinstance(image, LoadedImage):
            rgb, alpha = image.rgb, image.alpha
        else:
            rgb = image
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise UpscaleError(f"expected an (H, W, 3) uint8 image, got {rgb.dtype} {rgb.shape}")
        if rgb.shape[0] < 1 or rgb.shape[1] < 1:
            raise UpscaleError("the image has no pixels")
        start = time.perf_counter()
        self.method.prepare(self.device, self.precision)
        tile = self.tile if self.tile is not None else self.auto_tile(*rgb.shape[:2])
        while True:
            try:
                out, tiles, fallbacks = self._run_tiles(rgb, tile, progress, cancel)
                break
            except torch.cuda.OutOfMemoryError as exc:
                torch.cuda.empty_cache()
                current = tile or max(rgb.shape[:2])
                if current // 2 < MIN_TILE:
                    raise UpscaleError("out of GPU memory even with the smallest tile") from exc
                tile = max(MIN_TILE, (current // 2) - (current // 2) % 8)
        if alpha is not None:
            s = self.method.scale
            alpha = imresize(alpha, output_shape=(alpha.shape[0] * s, alpha.shape[1] * s))
        if not as_float:
            out = np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)
        return UpscaleResult(rgb=out, alpha=alpha, seconds=time.perf_counter() - start,
                             device=str(self.device), precision=self.precision, tile=tile,
                             tiles=tiles, fp32_fallbacks=fallbacks)

    def _run_tiles(self, rgb: np.ndarray, tile: int, progress: ProgressCallback | None,
                   cancel: CancelToken | None) -> tuple[np.ndarray, int, int]:
        h, w = rgb.shape[:2]
        s = self.method.scale
        boxes = tile_boxes(h, w, tile, self.method.pad)
        out = np.empty((h * s, w * s, 3), dtype=np.float32)
        half = self.precision != "fp32"
        fallbacks = 0
        for done, ((y0, x0, y1, x1), (py0, px0, py1, px1)) in enumerate(boxes):
            if cancel is not None:
                cancel.raise_if_cancelled()
            result = self.method.run(rgb[py0:py1, px0:px1], half)
            if half and not np.isfinite(result).all():
                result = self.method.run(rgb[py0:py1, px0:px1], False)
                fallbacks += 1
            oy, ox = (y0 - py0) * s, (x0 - px0) * s
            out[y0 * s:y1 * s, x0 * s:x1 * s] = result[oy:oy + (y1 - y0) * s, ox:ox + (x1 - x0) * s]
            if progress is not None:
                progress(done + 1, len(boxes))
        np.clip(out, 0.0, 1.0, out=out)
        return out, len(boxes), fallbacks
