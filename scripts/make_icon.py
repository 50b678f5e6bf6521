#!/usr/bin/env python3
"""Draw the app icon (original artwork, Pillow only) into resources/icons/.

The motif is the app's subject: a coarse, blocky picture (6x6 cells) on the left half turning into a
smooth one on the right half, with an arrow from the blocky to the smooth side.  Run it again to
regenerate ``srgan-desktop.png`` (256 px) and ``srgan-desktop.ico`` (16-256 px); the output is
deterministic, so re-running it does not change committed files.

    .venv/bin/python scripts/make_icon.py
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageDraw

ICONS = Path(__file__).resolve().parent.parent / "resources" / "icons"
SIZE = 1024  # drawn large, then downsampled for clean edges
ICO_SIZES = [16, 24, 32, 48, 64, 128, 256]


def _scene(u: float, v: float) -> tuple[int, int, int]:
    """A smooth synthetic 'photo': warm sun over a cool sky and a hill, u, v in [0, 1]."""
    sun = math.exp(-(((u - 0.5) ** 2) + ((v - 0.4) ** 2)) / 0.025)
    hill = 1.0 if v > 0.72 - 0.12 * math.sin(u * math.pi) else 0.0
    r = 40 + 150 * (1 - v) + 160 * sun
    g = 90 + 90 * (1 - v) + 130 * sun
    b = 170 + 70 * (1 - v) - 60 * sun
    if hill:
        r, g, b = 40 + 30 * u, 120 + 40 * (1 - v), 70
    return tuple(int(max(0, min(255, c))) for c in (r, g, b))  # type: ignore[return-value]


def draw(size: int = SIZE) -> Image.Image:
    img = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    margin = size // 16
    inner = size - 2 * margin
    radius = size // 6

    # the picture: left half pixelated (6x6 cells), right half smooth
    pic = Image.new("RGB", (inner, inner))
    px = pic.load()
    cells = 6
    cell = inner / cells
    for y in range(inner):
        for x in range(inner):
            if x < inner // 2:
                cu = (int(x / cell) + 0.5) * cell / inner
                cv = (int(y / cell) + 0.5) * cell / inner
                px[x, y] = _scene(cu, cv)
            else:
                px[x, y] = _scene(x / inner, y / inner)

    mask = Image.new("L", (inner, inner), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, inner - 1, inner - 1), radius=radius, fill=255)
    img.paste(pic, (margin, margin), mask)

    draw_ = ImageDraw.Draw(img)
    # the seam between low and high resolution
    mid = margin + inner // 2
    draw_.line((mid, margin + radius // 2, mid, margin + inner - radius // 2),
               fill=(255, 255, 255, 230), width=max(1, size // 64))
    # an arrow from the blocky half to the smooth half
    cy = margin + int(inner * 0.86)
    x0, x1 = margin + int(inner * 0.18), margin + int(inner * 0.80)
    w = max(2, size // 28)
    draw_.line((x0, cy, x1, cy), fill=(255, 255, 255, 255), width=w)
    head = size // 14
    draw_.polygon([(x1 + head, cy), (x1 - head // 2, cy - head), (x1 - head // 2, cy + head)],
                  fill=(255, 255, 255, 255))
    # frame
    draw_.rounded_rectangle((margin, margin, margin + inner - 1, margin + inner - 1), radius=radius,
                            outline=(20, 30, 60, 255), width=max(1, size // 48))
    return img


def main() -> int:
    ICONS.mkdir(parents=True, exist_ok=True)
    big = draw()
    png = big.resize((256, 256), Image.LANCZOS)
    png.save(ICONS / "srgan-desktop.png", optimize=True)
    png.save(ICONS / "srgan-desktop.ico", sizes=[(s, s) for s in ICO_SIZES])
    for name in ("srgan-desktop.png", "srgan-desktop.ico"):
        print(f"{ICONS / name}  {(ICONS / name).stat().st_size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
