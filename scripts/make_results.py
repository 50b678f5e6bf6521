"""Build docs/RESULTS.md's figures: eval tables (through ``srgan-desktop eval``) and texture crops.

    .venv/bin/python scripts/make_results.py            # eval JSON + crops into docs/results/

Writes ``docs/results/eval_Set5.json``, ``docs/results/eval_Set14.json`` (the exact output of
``srgan-desktop eval --json``) and ``docs/results/crops_*.png``: HR | bicubic | SRResNet | SRGAN
crops of textured regions, enlarged with nearest-neighbour, PSNR/texture ratio under each.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from srgan_desktop import paths
from srgan_desktop.core.engine import BicubicMethod, NetworkMethod, Upscaler
from srgan_desktop.core.images import load_image
from srgan_desktop.core.metrics import psnr, texture_ratio
from srgan_desktop.core.weights import ModelRegistry

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "datasets"
OUT = REPO / "docs" / "results"

#: (benchmark, image, top, left, size in HR pixels, label)
CROPS = [
    ("Set14", "img_001", 300, 120, 96, "baboon fur"),
    ("Set14", "img_014", 40, 330, 96, "zebra grass"),
    ("Set5", "img_001", 40, 190, 96, "baby's knitted hat"),
    ("Set14", "img_005", 130, 60, 96, "comic"),
]


def run_eval(dataset: str) -> dict:
    target = OUT / f"eval_{dataset}.json"
    cmd = [sys.executable, "-m", "srgan_desktop", "eval", "--hr", str(DATA / dataset),
           "-m", "bicubic", "srresnet", "srgan", "--json", str(target), "--no-progress"]
    print("$", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO)
    return json.loads(target.read_text())


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def crop_figure(methods: dict[str, Upscaler], dataset: str, image: str, top: int, left: int,
                size: int, label: str, zoom: int = 3) -> Path:
    hr = load_image(DATA / dataset / "HR" / f"{image}.png").rgb
    lr = load_image(DATA / dataset / "LR_bicubic_x4" / f"{image}.png").rgb
    panels = [("HR (original)", hr, None)]
    for name, upscaler in methods.items():
        sr = upscaler.upscale(lr).rgb
        panels.append((name, sr, (psnr(sr, hr), texture_ratio(sr, hr))))
    tile = size * zoom
    font = _font(16)
    canvas = Image.new("RGB", (len(panels) * (tile + 8) + 8, tile + 60), "white")
    draw = ImageDraw.Draw(canvas)
    for i, (name, rgb, figures) in enumerate(panels):
        crop = Image.fromarray(rgb[top:top + size, left:left + size]).resize((tile, tile), Image.NEAREST)
        x = 8 + i * (tile + 8)
        canvas.paste(crop, (x, 8))
        draw.text((x, tile + 14), name, fill="black", font=font)
        if figures:
            draw.text((x, tile + 34), f"{figures[0]:.2f} dB, texture {figures[1]:.2f}", fill="black", font=font)
    target = OUT / f"crops_{dataset}_{image}.png"
    canvas.save(target, optimize=True)
    print(f"{target.relative_to(REPO)}: {label}")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-eval", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if not args.skip_eval:
        for dataset in ("Set5", "Set14"):
            run_eval(dataset)
    registry = ModelRegistry(paths.weights_dir())
    methods = {"bicubic": Upscaler(BicubicMethod())}
    for name in ("srresnet_x4", "srgan_x4"):
        try:
            model, descriptor = registry.load(name)
        except Exception as exc:  # noqa: BLE001 - report and go on with what is there
            print(f"{name}: {exc}")
            continue
        methods[descriptor.card.get("title", name)] = Upscaler(NetworkMethod(model, descriptor), device="cpu")
    for crop in CROPS:
        crop_figure(methods, *crop)
    return 0


if __name__ == "__main__":
    sys.exit(main())
