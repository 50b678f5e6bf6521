"""Coloured stripes at a grayscale photo's edges: border chroma against the interior's, per model.

    .venv/bin/python scripts/edge_chroma.py [--image ../shared/datasets/Set5/LR_bicubic_x4/img_001.png]
                                            [--models srgan_x4 srresnet_x4 fast_x4]

The LR image is made grayscale (R = G = B), so any colour in the output is the network's own.
Chroma = |RGB − their mean|, averaged over each 10-pixel HR band (left, top, right, bottom) and
over the interior (20 pixels in); printed with each model's card ``edge_pad`` and with none, so
the effect of the padding is seen on the same image (issue 19 1b: target ≤ 1.5× the interior).
"""

from __future__ import annotations

import argparse
import dataclasses

import numpy as np
from PIL import Image

from srgan_desktop.core.engine import NetworkMethod, Upscaler
from srgan_desktop.core.metrics import chroma as pixel_chroma
from srgan_desktop.core.models import default_resolver


def bands(image: np.ndarray, width: int = 10) -> tuple[list[float], float]:
    chroma = pixel_chroma(image)
    edges = [chroma[:, :width], chroma[:width, :], chroma[:, -width:], chroma[-width:, :]]
    return [float(e.mean()) for e in edges], float(chroma[2 * width:-2 * width, 2 * width:-2 * width].mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="../shared/datasets/Set5/LR_bicubic_x4/img_001.png")
    parser.add_argument("--models", nargs="+", default=["srgan_x4", "srresnet_x4", "fast_x4"])
    parser.add_argument("--pads", nargs="+", type=int, help="edge_pad values to try (default: the card's and 0)")
    args = parser.parse_args()
    lr = np.asarray(Image.open(args.image).convert("L").convert("RGB"))
    resolver = default_resolver()
    print("model         edge_pad   left   top  right bottom interior  worst/interior")
    for name in args.models:
        model, descriptor = resolver.load(name)
        for pad in args.pads or sorted({descriptor.edge_pad, 0}, reverse=True):
            method = NetworkMethod(model, dataclasses.replace(descriptor, edge_pad=pad))
            sr = Upscaler(method, device="cpu", precision="fp32", keep_grey=False).upscale(lr).rgb
            edge, interior = bands(sr)
            print(f"{name:13s} {pad:8d} " + " ".join(f"{v:6.2f}" for v in edge)
                  + f" {interior:8.2f}  {max(edge) / interior:6.2f}×", flush=True)


if __name__ == "__main__":
    main()
