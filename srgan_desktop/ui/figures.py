"""Exporting what is on screen: crops of every pane and a labelled comparison figure.

Qt-free (NumPy + Pillow), so it can be tested and reused without a window.  The figure
follows the layout of the SRGAN paper's comparisons: the crops side by side, each enlarged
by the same integer factor with nearest neighbour, the method's name under it and, when a
ground truth is known, its PSNR/SSIM.  The labels are drawn with the bundled DejaVu Sans
(:data:`FONT_FILE`), which has the "×" and "−" of the titles (issue 21, defect 7).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from srgan_desktop.core.images import save_image
from srgan_desktop.paths import resource

__all__ = ["Crop", "ExportResult", "composite_figure", "export_view", "safe_name", "crop_scene", "font_path",
           "FONT_FILE"]

#: The labels' font, bundled in resources/fonts with its licence (LICENSE_DejaVu.txt): Pillow's
#: default font has no "×" or "−", which the titles use ("LR input (nearest ×4)", "|A − B|").
FONT_FILE = "DejaVuSans.ttf"


@dataclass
class Crop:
    """One pane's visible region: its key, title, pixels and an optional caption line."""

    key: str
    title: str
    rgb: np.ndarray
    caption: str = ""


@dataclass
class ExportResult:
    crops: list[Path]
    figure: Path


def crop_scene(rgb: np.ndarray, bounds: tuple[int, int, int, int], scale: int = 1) -> np.ndarray:
    """The region ``bounds`` = (x0, y0, x1, y1) in scene units of an image shown at ``scale``.

    An image shown enlarged (``scale`` > 1, the LR input) is enlarged with nearest
    neighbour, so crops of every pane line up pixel for pixel.
    """
    x0, y0, x1, y1 = bounds
    if scale == 1:
        return np.ascontiguousarray(rgb[max(0, y0):y1, max(0, x0):x1])
    rows = np.clip(np.arange(y0, y1) // scale, 0, rgb.shape[0] - 1)
    cols = np.clip(np.arange(x0, x1) // scale, 0, rgb.shape[1] - 1)
    return np.ascontiguousarray(rgb[rows][:, cols])


def safe_name(text: str) -> str:
    """A file-name-safe slug of ``text``."""
    slug = re.sub(r"[^A-Za-z0-9]+", "_", text).strip("_").lower()
    return slug or "pane"


def font_path() -> Path:
    """The bundled DejaVu Sans (resources/fonts, its licence beside it)."""
    return resource("fonts", FONT_FILE)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """DejaVu Sans: it has "×" and "−" (Pillow's default font draws them as missing-glyph boxes)."""
    try:
        return ImageFont.truetype(str(font_path()), size)
    except OSError:  # the font file is missing (a broken install): Pillow's own, boxes and all
        return ImageFont.load_default(size=size)


def composite_figure(crops: list[Crop], min_height: int = 256, max_enlarge: int = 8, gap: int = 12,
                     font_size: int = 18) -> np.ndarray:
    """The crops side by side (same integer enlargement), each labelled below; RGB ``uint8``."""
    if not crops:
        raise ValueError("nothing to put in the figure")
    tallest = max(c.rgb.shape[0] for c in crops)
    enlarge = max(1, min(max_enlarge, -(-min_height // max(1, tallest))))
    tiles = [np.repeat(np.repeat(c.rgb, enlarge, axis=0), enlarge, axis=1) for c in crops]
    title_font, caption_font = _font(font_size), _font(max(10, font_size - 3))
    line = font_size + 6
    label_height = line * (2 if any(c.caption for c in crops) else 1) + 6
    height = max(t.shape[0] for t in tiles) + label_height + 2 * gap
    width = sum(t.shape[1] for t in tiles) + gap * (len(tiles) + 1)
    figure = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(figure)
    x = gap
    for crop, tile in zip(crops, tiles, strict=True):
        figure.paste(Image.fromarray(tile, "RGB"), (x, gap))
        centre = x + tile.shape[1] / 2
        y = gap + max(t.shape[0] for t in tiles) + 6
        draw.text((centre, y), crop.title, fill="black", font=title_font, anchor="ma")
        if crop.caption:
            draw.text((centre, y + line), crop.caption, fill=(60, 60, 60), font=caption_font, anchor="ma")
        x += tile.shape[1] + gap
    return np.asarray(figure, dtype=np.uint8).copy()


def export_view(folder: str | Path, stem: str, crops: list[Crop]) -> ExportResult:
    """Write every crop as ``STEM_NN_KEY.png`` and the figure as ``STEM_comparison.png``."""
    folder = Path(folder)
    written = [save_image(folder / f"{safe_name(stem)}_{i + 1:02d}_{safe_name(c.key)}.png", c.rgb)
               for i, c in enumerate(crops)]
    figure = save_image(folder / f"{safe_name(stem)}_comparison.png", composite_figure(crops))
    return ExportResult(written, figure)
