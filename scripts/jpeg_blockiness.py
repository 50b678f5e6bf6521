"""JPEG block edges in a folder of photos: the luma gradient across 8-pixel block boundaries
against the mean gradient, per image, before and after a reduction.

    .venv/bin/python scripts/jpeg_blockiness.py [--folder ../shared/datasets/SunHays80/HR]
                                                [--reduce 0.5] [--block 8]

A photo that was saved as JPEG keeps the edges of its 8×8 blocks: the mean |ΔY| between columns
(and rows) 8k − 1 and 8k is larger than between any other pair. The figure printed is that
boundary gradient divided by the mean gradient (1.00 = no blocks). After a reduction by F the
blocks are 8·F pixels wide, so the boundaries are looked for at that period. This is what
``srgan-train --data-scale`` is for (its ``--help`` quotes this script's figures).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from srgan_desktop.core.benchmarks import reduced  # noqa: E402
from srgan_desktop.core.images import IMAGE_SUFFIXES, load_image  # noqa: E402
from srgan_desktop.core.metrics import rgb_to_y  # noqa: E402


def boundary_ratio(rgb: np.ndarray, period: int) -> float:
    """Mean |ΔY| across the boundaries of a ``period``-pixel block grid (both directions, the
    phase where it is largest) relative to the mean |ΔY| over all neighbouring pixels."""
    y = rgb_to_y(rgb).astype(np.float64)
    ratios = []
    for diff in (np.abs(np.diff(y, axis=1)).mean(axis=0), np.abs(np.diff(y, axis=0)).mean(axis=1)):
        phase = np.arange(diff.size) % period
        ratios.append(max(diff[phase == k].mean() for k in range(period)) / diff.mean())
    return float(np.mean(ratios))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folder", default="../shared/datasets/SunHays80/HR")
    parser.add_argument("--reduce", type=float, default=0.5, help="also measure after this reduction")
    parser.add_argument("--block", type=int, default=8, help="the JPEG block side (8)")
    args = parser.parse_args()
    files = sorted(p for p in Path(args.folder).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    period = max(2, round(args.block * args.reduce))
    rows = []
    for path in files:
        rgb = load_image(path).rgb
        rows.append((path.stem, boundary_ratio(rgb, args.block), boundary_ratio(reduced(rgb, args.reduce), period)))
        print(f"{rows[-1][0]}: {rows[-1][1]:.3f}  after x{args.reduce:g}: {rows[-1][2]:.3f}")
    before, after = np.array([r[1] for r in rows]), np.array([r[2] for r in rows])
    print(f"{len(rows)} images; block-edge gradient / mean gradient: min {before.min():.2f}, median "
          f"{np.median(before):.2f}, max {before.max():.2f}; after x{args.reduce:g} (period {period}): "
          f"min {after.min():.2f}, median {np.median(after):.2f}, max {after.max():.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
