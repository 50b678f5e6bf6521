"""Runtime as the NTIRE efficient-SR challenges measure it, for ``eval --runtime``.

Rules and reasons:

* **Per image, after a warm-up, the median of several runs** — the first run of a shape pays
  for allocator growth, oneDNN primitive creation and ``cudnn.benchmark``'s search; the median
  ignores a run slowed by another process.  ``eval`` measures the image once (that run is the
  warm-up), then times ``runs`` more of the same engine call the user gets
  (:meth:`Upscaler.upscale`, tiling included), each followed by ``torch.cuda.synchronize`` on
  CUDA so asynchronous kernels are inside the time.
* **Peak memory** of one run: on CUDA ``torch.cuda.max_memory_allocated`` after
  ``reset_peak_memory_stats``; on the CPU the resident-set high-water mark (Linux ``VmHWM``,
  reset by writing ``5`` to ``/proc/self/clear_refs``) above the resident size before the run —
  torch's CPU allocator bypasses Python's, so ``tracemalloc`` would see nothing.  Elsewhere: None.
* **Parameters and FLOPs** per model: ``torch.utils.flop_counter.FlopCounterMode`` over one
  forward on the *meta* device (shapes only: free, whatever the image size), for a 256×256 LR
  input (the NTIRE convention) and for each image.  A model whose forward cannot run on meta
  tensors gets None.
"""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import dataclass

import numpy as np
import torch

from srgan_desktop.core.engine import Method, NetworkMethod, Upscaler

__all__ = ["RuntimeFigures", "measure_runtime", "count_params", "count_flops", "NTIRE_SIDE"]

NTIRE_SIDE = 256  # FLOPs are quoted for one 256×256 LR input


@dataclass(frozen=True)
class RuntimeFigures:
    warmup: int
    runs: int
    median_s: float
    min_s: float
    peak_bytes: int | None


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_rss_peak() -> bool:
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _peak_of(action, device: torch.device) -> int | None:
    """Bytes one call of ``action`` needs at its peak (see the module docstring)."""
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        action()
        _sync(device)
        return int(torch.cuda.max_memory_allocated(device) - before)
    before = _status_kib("VmRSS")
    if before is None or not _reset_rss_peak():
        action()
        return None
    action()
    peak = _status_kib("VmHWM")
    return None if peak is None else max(0, peak - before) * 1024


def measure_runtime(upscaler: Upscaler, lr: np.ndarray, runs: int = 3,
                    warmed_up: bool = True) -> RuntimeFigures:
    """Median and minimum of ``runs`` timed upscales of ``lr`` (one warm-up first unless
    ``warmed_up``: the caller has just run this image), then the peak memory of one more."""
    device = upscaler.device
    warmup = 1
    if not warmed_up:
        upscaler.upscale(lr)
        _sync(device)
    times = []
    for _ in range(max(1, runs)):
        start = time.perf_counter()
        upscaler.upscale(lr)
        _sync(device)
        times.append(time.perf_counter() - start)
    peak = _peak_of(lambda: upscaler.upscale(lr), device)
    return RuntimeFigures(warmup, len(times), float(statistics.median(times)), float(min(times)), peak)


def count_params(method: Method) -> int:
    return sum(p.numel() for p in method.model.parameters()) if isinstance(method, NetworkMethod) else 0


def count_flops(method: Method, height: int = NTIRE_SIDE, width: int = NTIRE_SIDE) -> float | None:
    """FLOPs of one forward of the model on an LR input of ``height`` × ``width`` (None for
    bicubic and for models that do not run on meta tensors)."""
    if not isinstance(method, NetworkMethod):
        return None
    from torch.utils.flop_counter import FlopCounterMode

    try:
        model = copy.deepcopy(method.model).to("meta").eval()
        x = torch.empty(1, method.descriptor.input_channels, height, width, device="meta")
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
        return float(counter.get_total_flops())
    except (RuntimeError, NotImplementedError, TypeError, ValueError):
        return None
