"""Seam error of the engine's tiling against the whole image, for any model.

    .venv/bin/python scripts/seam_error.py MODEL LR_IMAGE [--crop 96] [--tile 48]

Upscales the top-left crop of LR_IMAGE whole and in tiles (the model's own tiling policy:
exact or blended), both fp32 on the CPU, and prints the largest and mean difference on the
[0, 1] scale, the share of 8-bit values that differ and the 8-bit PSNR between the two.
"""

from __future__ import annotations

import argparse

import numpy as np

from srgan_desktop.core.engine import NetworkMethod, Upscaler
from srgan_desktop.core.images import load_image
from srgan_desktop.core.models import default_resolver


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("image")
    parser.add_argument("--crop", type=int, default=96)
    parser.add_argument("--tile", type=int, default=48)
    args = parser.parse_args()
    lr = load_image(args.image).rgb[:args.crop, :args.crop].copy()
    model, d = default_resolver().load(args.model)
    method = NetworkMethod(model, d)
    full = Upscaler(method, device="cpu", tile=0, precision="fp32").upscale(lr, as_float=True).rgb
    tiled = Upscaler(method, device="cpu", tile=args.tile, precision="fp32").upscale(lr, as_float=True)
    diff = np.abs(tiled.rgb - full)
    a, b = np.round(tiled.rgb * 255), np.round(full * 255)
    mse = float(np.mean((a - b) ** 2))
    psnr = 10 * np.log10(255 ** 2 / mse) if mse > 0 else float("inf")
    print(f"{d.name} ({d.architecture} ×{d.scale}) tiling={d.tiling} pad={method.pad} "
          f"overlap={method.overlap}, {lr.shape[1]}×{lr.shape[0]} in {tiled.tiles} tiles of {args.tile}: "
          f"max |diff| {diff.max():.2e}, mean {diff.mean():.2e}, 8-bit values differing "
          f"{np.mean(a != b) * 100:.3f} % (at most {np.abs(a - b).max():.0f}), 8-bit PSNR {psnr:.1f} dB")


if __name__ == "__main__":
    main()
