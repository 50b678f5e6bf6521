"""Seconds of the distilled fast model against srresnet_x4 in the engine: same process, same image.

    .venv/bin/python scripts/fast_vs_srresnet.py [--size 400x300] [--repeat 3] [--threads 2]

Prints the median seconds per run of each model (engine defaults: fp32 on a CPU without native
bf16, tile rule of :mod:`srgan_desktop.core.engine`) and their ratio, with the CPU's name.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from srgan_desktop.core.engine import Upscaler, cpu_description
from srgan_desktop.core.models import default_resolver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="400x300")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.split("x"))
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    resolver = default_resolver()
    seconds = {}
    for name in ("fast_x4", "srresnet_x4"):
        upscaler = Upscaler(resolver.method(name), device="cpu")
        upscaler.upscale(image[:64, :64])  # warm-up: the fast copy, oneDNN's kernels
        runs = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            upscaler.upscale(image)
            runs.append(time.perf_counter() - start)
        seconds[name] = statistics.median(runs)
        print(f"{name:12s} {seconds[name]:7.3f} s  ({seconds[name] / (width * height / 1e6):6.2f} s per LR megapixel)")
    print(f"fast_x4 is {seconds['srresnet_x4'] / seconds['fast_x4']:.1f}x faster than srresnet_x4 on a "
          f"{width}x{height} LR image, {cpu_description()}, {args.threads} threads")


if __name__ == "__main__":
    main()
