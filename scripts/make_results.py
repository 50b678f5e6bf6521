"""Build docs/RESULTS.md's figures: eval tables (through ``srgan-desktop eval``) and texture crops.

    .venv/bin/python scripts/make_results.py            # eval JSON + crops into docs/results/

Writes ``docs/results/eval_Set5.json``, ``docs/results/eval_Set14.json`` (the exact output of
``srgan-desktop eval --json``) and ``docs/results/crops_*.png``: HR | bicubic | SRResNet | SRGAN
crops of textured regions and of smooth skin (where a pixel-shuffle grid shows first), enlarged
×4 (400 %) with nearest-neighbour, whole-image PSNR / NIQE / grid under each.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from srgan_desktop import paths
from srgan_desktop.core.engine import BicubicMethod, NetworkMethod, Upscaler
from srgan_desktop.core.images import load_image
from srgan_desktop.core.metrics import grid_ratio, psnr
from srgan_desktop.core.niqe import niqe
from srgan_desktop.core.models import ModelResolver

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "datasets"
OUT = REPO / "docs" / "results"

#: (benchmark, image, top, left, size in HR pixels, label)
CROPS = [
    ("Set14", "img_001", 300, 120, 96, "baboon fur"),
    ("Set14", "img_014", 40, 330, 96, "zebra grass"),
    ("Set5", "img_001", 40, 190, 96, "baby's knitted hat"),
    ("Set14", "img_005", 130, 60, 96, "comic"),
    ("Set5", "img_001", 240, 300, 64, "baby's cheek (smooth skin: grid check)"),
    ("Set14", "img_005", 150, 90, 64, "comic face (smooth skin: grid check)"),
]
METRICS = ["psnr", "ssim", "niqe", "grid", "texture"]


def run_eval(dataset: str) -> dict:
    target = OUT / f"eval_{dataset}.json"
    cmd = [sys.executable, "-m", "srgan_desktop", "eval", "--hr", str(DATA / dataset),
           "-m", "hr", "bicubic", "srresnet", "fast_x4", "srgan", "--metrics", *METRICS,
           "--json", str(target), "--no-progress"]
    print("$", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True, cwd=REPO)
    return json.loads(target.read_text())


def _font(size: int) -> ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def crop_figure(methods: dict[str, Upscaler], dataset: str, image: str, top: int, left: int,
                size: int, label: str, zoom: int = 4) -> Path:
    hr = load_image(DATA / dataset / "HR" / f"{image}.png").rgb
    lr = load_image(DATA / dataset / "LR_bicubic_x4" / f"{image}.png").rgb
    panels = [("HR (original)", hr, None)]
    for name, upscaler in methods.items():
        sr = upscaler.upscale(lr).rgb
        panels.append((name, sr, (psnr(sr, hr), niqe(sr, 4), grid_ratio(sr, hr))))
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
            draw.text((x, tile + 34), f"{figures[0]:.2f} dB, NIQE {figures[1]:.2f}, grid {figures[2]:.2f}",
                      fill="black", font=font)
    target = OUT / f"crops_{dataset}_{image}_{top}_{left}.png"
    canvas.save(target, optimize=True)
    print(f"{target.relative_to(REPO)}: {label}")
    return target


PAPER = {  # Ledig et al., CVPR 2017, Table 2 (x4; PSNR dB / SSIM)
    "bicubic": {"Set5": (28.43, 0.8211), "Set14": (25.99, 0.7486)},
    "SRResNet": {"Set5": (32.05, 0.9019), "Set14": (28.49, 0.8184)},
    "SRGAN": {"Set5": (29.40, 0.8472), "Set14": (26.02, 0.7397)},
}
OURS = {"HR": "hr", "bicubic": "bicubic", "SRResNet": "srresnet_x4", "fast (distilled from SRResNet)": "fast_x4",
        "SRGAN": "srgan_x4"}


def _mean(evals: dict[str, dict], dataset: str, method: str) -> dict | None:
    for entry in evals[dataset]["datasets"][0]["methods"]:
        if entry["method"] == method and entry.get("available"):
            return entry["mean"]
    return None


def _cell(value: dict | None) -> str:
    if value is None:
        return "–"
    if not isinstance(value.get("psnr"), (int, float)) or value["psnr"] == float("inf") or value["psnr"] == "inf":
        return f"– / – / {value['niqe']:.2f} / – / –"  # the HR images themselves
    return (f"{value['psnr']:.2f} / {value['ssim']:.4f} / {value['niqe']:.2f} / {value['grid']:.2f} / "
            f"{value['texture']:.3f}")


def write_results_md(evals: dict[str, dict], crops: list[tuple[Path, str]]) -> Path:
    """docs/RESULTS.md from the eval JSON files, the model cards and the crop figures."""
    cards = {p.stem: json.loads(p.read_text()) for p in paths.weights_dir().glob("*.json")}
    lines = ["# Results: our SRResNet and SRGAN next to the paper's", "",
             "All our figures come from `srgan-desktop eval` (PSNR and SSIM on Y, BT.601, border 4, "
             "SSIM with the 11×11 Gaussian window σ = 1.5; LR = the benchmarks' `LR_bicubic_x4` "
             "images, which our MATLAB-compatible bicubic reproduces). *NIQE* is MATLAB's blind "
             "naturalness measure (Y, border 4; lower = more natural; `core/niqe.py`). *grid* is the "
             "energy at the sub-pixel lattice frequencies relative to the HR image's, median over the "
             "images (1 = as much as the HR image; more = a pixel-shuffle grid). *texture* is the share of "
             "Y spectral energy above 1/4 Nyquist relative to the HR image's (1 = as much fine "
             "detail as the original, below 1 = smoother; it counts a grid as texture too). The paper "
             "has none of these three columns.", "",
             "| ×4 | paper Set5 PSNR / SSIM | ours Set5 PSNR / SSIM / NIQE / grid / texture "
             "| paper Set14 PSNR / SSIM | ours Set14 PSNR / SSIM / NIQE / grid / texture |",
             "|---|---|---|---|---|"]
    for label, ours in OURS.items():
        paper = PAPER.get(label)
        cells = [f"{paper[d][0]:.2f} / {paper[d][1]:.4f}" if paper else "–" for d in ("Set5", "Set14")]
        lines.append(f"| {label} | {cells[0]} | {_cell(_mean(evals, 'Set5', ours))} | {cells[1]} | "
                     f"{_cell(_mean(evals, 'Set14', ours))} |")
    lines += ["", "(The paper's bicubic SSIM was computed with another SSIM implementation; the "
              "MATLAB-protocol bicubic figures of later papers are 28.42 / 0.8104 and 26.00 / 0.7027.)",
              "", "## How the bundled models were trained", ""]
    for name in ("srresnet_x4", "fast_x4", "srgan_x4"):
        card = cards.get(name)
        if not card or "training" not in card:
            lines.append(f"- `{name}`: no weights yet.")
            continue
        t = card["training"]
        lines.append(
            f"- `{name}` ({card['variant']}): {t['iterations']:,} iterations of batches of {t['batch']} "
            f"random {t['crop']}×{t['crop']} crops, Adam (last lr {t['learning_rate']:g}), on {t['data']}; "
            f"{t['wall_time_hours']} h on {t['hardware']}"
            + (f"; initialised from `{Path(t['initialised_from']).name}`" if t.get("initialised_from") else "")
            + "." + (f" {card['notes']}" if card.get("notes") else ""))
    notes = REPO / "docs" / "results" / "training_notes.md"  # hand-written: what happened in training
    lines += ["", notes.read_text(encoding="utf-8").strip() if notes.is_file() else "",
              "", "## Texture crops", "",
              "HR | bicubic | SRResNet | SRGAN, enlarged ×4 (400 %) with nearest neighbour; under each "
              "crop its whole-image PSNR, NIQE and grid measure. The last two are smooth skin, where a "
              "pixel-shuffle grid shows first.", ""]
    for path, label in crops:
        lines += [f"**{label}** (`{path.stem.replace('crops_', '')}`)", "",
                  f"![{label}](results/{path.name})", ""]
    lines += ["## Reproduce", "", "```bash",
              ".venv/bin/srgan-desktop eval --hr ../shared/datasets/Set5 -m hr bicubic srresnet fast_x4 srgan "
              "--metrics psnr ssim niqe grid texture --json docs/results/eval_Set5.json",
              ".venv/bin/srgan-desktop eval --hr ../shared/datasets/Set14 -m hr bicubic srresnet fast_x4 srgan "
              "--metrics psnr ssim niqe grid texture --json docs/results/eval_Set14.json",
              ".venv/bin/python scripts/make_results.py   # both evals, the crops and this page",
              "```", ""]
    target = REPO / "docs" / "RESULTS.md"
    target.write_text("\n".join(lines), encoding="utf-8")
    print(f"wrote {target.relative_to(REPO)}")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-eval", action="store_true")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    evals = {}
    for dataset in ("Set5", "Set14"):
        target = OUT / f"eval_{dataset}.json"
        evals[dataset] = json.loads(target.read_text()) if args.skip_eval else run_eval(dataset)
    registry = ModelResolver(paths.weights_dir())
    methods = {"bicubic": Upscaler(BicubicMethod())}
    for name in ("srresnet_x4", "srgan_x4"):
        try:
            model, descriptor = registry.load(name)
        except Exception as exc:  # noqa: BLE001 - report and go on with what is there
            print(f"{name}: {exc}")
            continue
        methods[descriptor.card.get("title", name)] = Upscaler(NetworkMethod(model, descriptor), device="cpu",
                                                              precision="fp32")  # as eval: fp32 figures
    crops = [(crop_figure(methods, *crop), crop[-1]) for crop in CROPS]
    write_results_md(evals, crops)
    return 0


if __name__ == "__main__":
    sys.exit(main())
