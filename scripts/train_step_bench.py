"""Seconds per training step of the SRResNet generator on this machine, by precision and layout.

    python scripts/train_step_bench.py [--scale 4] [--crop 96] [--batch 16] [--threads 2]

Prints the CPU, its bf16 flags and the median step (forward, MSE, backward, Adam) in fp32, fp32 +
channels_last and, where the CPU has native bf16, bf16 autocast with and without channels_last —
the figures behind ``trainer.loop.training_path`` (``--amp auto``)."""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from srgan_desktop.core.arch import SRResNet
from srgan_desktop.core.engine import cpu_description, cpu_has_native_bf16


def step_seconds(scale: int, crop: int, batch: int, channels_last: bool, bf16: bool, steps: int = 6) -> float:
    torch.manual_seed(0)
    generator = SRResNet(scale=scale)
    opt = torch.optim.Adam(generator.parameters(), 1e-4)
    lr, hr = torch.rand(batch, 3, crop // scale, crop // scale), torch.rand(batch, 3, crop, crop)
    if channels_last:
        generator = generator.to(memory_format=torch.channels_last)
        lr, hr = (t.contiguous(memory_format=torch.channels_last) for t in (lr, hr))
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        opt.zero_grad()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = torch.nn.functional.mse_loss(generator(lr).float(), hr)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=4)
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"CPU: {cpu_description()}; torch {torch.__version__}, {args.threads} threads; "
          f"×{args.scale}, {args.batch} crops of {args.crop}²")
    paths = [("fp32", False, False), ("fp32 + channels_last", True, False)]
    if cpu_has_native_bf16():
        paths += [("bf16 autocast", False, True), ("bf16 autocast + channels_last", True, True)]
    base = None
    for name, channels_last, bf16 in paths:
        seconds = step_seconds(args.scale, args.crop, args.batch, channels_last, bf16)
        base = base or seconds
        print(f"{name:32s} {seconds:6.3f} s/step  {1 / seconds:5.2f} it/s  ({base / seconds:.2f}× fp32)")


if __name__ == "__main__":
    main()
