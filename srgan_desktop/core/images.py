"""Loading and saving images that users throw at the app.

Everything becomes an RGB ``uint8`` array plus an optional alpha plane:

* PNG, JPEG, WebP, TIFF, BMP (anything Pillow decodes), EXIF orientation applied;
* grayscale, palette, CMYK, 16-bit and float images converted to 8-bit RGB;
* alpha kept separately (the engine upscales it with bicubic and re-attaches it).

Every failure (missing, empty, truncated, corrupt, not an image, too many pixels) raises
:class:`ImageLoadError` with a message meant for a human.  Nothing is decoded before the pixel
count is checked, so decompression bombs cost nothing.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.utils import atomic_write

__all__ = ["ImageLoadError", "ImageSaveError", "LoadedImage", "load_image", "save_image",
           "IMAGE_SUFFIXES", "DEFAULT_MAX_PIXELS"]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"}
DEFAULT_MAX_PIXELS = 64_000_000  # 8000 × 8000: an LR input this large would give 1 Gpx at ×4

ImageFile.LOAD_TRUNCATED_IMAGES = False
_EXIF_ORIENTATION = 0x0112


class ImageLoadError(SrganDesktopError):
    """An image could not be read; ``str(error)`` says why, in plain words."""


class ImageSaveError(SrganDesktopError):
    """An image could not be written (bad format, full disk, no permission)."""


@dataclass
class LoadedImage:
    """A decoded image: ``rgb`` is (H, W, 3) ``uint8``; ``alpha`` is (H, W) ``uint8`` or None."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    path: Path | None = None
    format: str = ""
    original_mode: str = ""

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def _to_8bit(img: Image.Image) -> Image.Image:
    """16-bit and float single-channel images → 8-bit ``L``, scaled to their full range."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        return Image.fromarray(np.clip(np.round(arr / top * 255.0), 0, 255).astype(np.uint8))
    if img.mode == "F":
        arr = np.asarray(img, dtype=np.float64)
        top = 1.0 if arr.max() <= 1.0 else 255.0
        return Image.fromarray(np.clip(np.round(arr / top * 255.0), 0, 255).astype(np.uint8))
    return img


def _is_16bit_rgb(img: Image.Image) -> bool:
    """True for 16-bit-per-channel RGB(A) files, which Pillow decodes by dropping the low byte.

    Read from the raw mode of the first tile (``RGB;16B``, ``RGBA;16N``…), so call before ``load()``.
    """
    if img.mode not in ("RGB", "RGBA") or not img.tile:
        return False
    args = img.tile[0].args
    raw = args[0] if isinstance(args, tuple) and args else args
    return isinstance(raw, str) and ";16" in raw


# EXIF orientation → the numpy view that shows the image upright (as ImageOps.exif_transpose).
_ORIENT = {
    2: lambda a: a[:, ::-1], 3: lambda a: a[::-1, ::-1], 4: lambda a: a[::-1],
    5: lambda a: a.swapaxes(0, 1), 6: lambda a: np.rot90(a, -1),
    7: lambda a: a.swapaxes(0, 1)[::-1, ::-1], 8: lambda a: np.rot90(a, 1),
}


def _rgb16_to_8bit(path: Path, orientation: int) -> tuple[np.ndarray, np.ndarray | None] | None:
    """Decode 16-bit RGB(A) with OpenCV, round to 8 bits, and apply the EXIF ``orientation``.

    None when OpenCV cannot read the file (Pillow's 8-bit decoding is used then)."""
    import cv2

    data = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)  # UNCHANGED: OpenCV ignores EXIF itself
    if data is None or data.dtype != np.uint16 or data.ndim != 3 or data.shape[2] not in (3, 4):
        return None
    data = _ORIENT.get(orientation, lambda a: a)(data)
    scaled = np.clip(np.round(data.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)
    alpha = np.ascontiguousarray(scaled[..., 3]) if scaled.shape[2] == 4 else None
    return np.ascontiguousarray(scaled[..., 2::-1]), _useful_alpha(alpha)


def load_image(path: str | os.PathLike, max_pixels: int = DEFAULT_MAX_PIXELS) -> LoadedImage:
    """Read any supported image file; raise :class:`ImageLoadError` with a clear message."""
    path = Path(path)
    if not path.exists():
        raise ImageLoadError(f"{path.name}: file not found")
    if path.is_dir():
        raise ImageLoadError(f"{path.name}: is a folder, not an image")
    if path.stat().st_size == 0:
        raise ImageLoadError(f"{path.name}: the file is empty")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if width * height > max_pixels:
                    raise ImageLoadError(
                        f"{path.name}: {width}×{height} pixels is more than the limit of "
                        f"{max_pixels / 1e6:.0f} megapixels")
                if width == 0 or height == 0:
                    raise ImageLoadError(f"{path.name}: the image has no pixels")
                fmt = img.format or ""
                mode = img.mode
                wide = None
                if _is_16bit_rgb(img):
                    wide = _rgb16_to_8bit(path, int(img.getexif().get(_EXIF_ORIENTATION, 1)))
                if wide is not None:
                    rgb, alpha = wide
                else:
                    img.load()
                    img = ImageOps.exif_transpose(img) or img
                    rgb, alpha = _decode(img)
    except ImageLoadError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageLoadError(_message(path, exc)) from exc
    except (OSError, ValueError, SyntaxError, MemoryError, EOFError) as exc:
        raise ImageLoadError(_message(path, exc)) from exc
    return LoadedImage(rgb=rgb, alpha=alpha, path=path, format=fmt, original_mode=mode)


def _decode(img: Image.Image) -> tuple[np.ndarray, np.ndarray | None]:
    alpha = None
    if img.mode in ("P", "L", "RGB") and "transparency" in img.info:
        img = img.convert("LA" if img.mode == "L" else "RGBA")  # palette or key-colour (tRNS)
    if img.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        alpha = np.asarray(img.getchannel("A"), dtype=np.uint8).copy()
    img = _to_8bit(img)
    rgb = np.asarray(img.convert("RGB"), dtype=np.uint8).copy()
    return rgb, _useful_alpha(alpha)


def _useful_alpha(alpha: np.ndarray | None) -> np.ndarray | None:
    """``alpha``, or None when the plane is fully opaque (it carries nothing)."""
    return None if alpha is None or bool(np.all(alpha == 255)) else alpha


def _message(path: Path, exc: BaseException) -> str:
    if isinstance(exc, UnidentifiedImageError):
        return f"{path.name}: not an image file, or a format that cannot be read"
    if isinstance(exc, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
        return f"{path.name}: too many pixels (possible decompression bomb)"
    text = str(exc)
    if "truncated" in text.lower() or isinstance(exc, EOFError):
        return f"{path.name}: the file is truncated or damaged"
    if isinstance(exc, MemoryError):
        return f"{path.name}: not enough memory to decode this image"
    return f"{path.name}: the image is damaged or unreadable ({text})"


def save_image(path: str | os.PathLike, rgb: np.ndarray, alpha: np.ndarray | None = None,
               quality: int = 95) -> Path:
    """Write RGB(A) ``uint8`` to ``path`` (format from the suffix).

    The file is written to a temporary name and renamed, so a full disk or a crash never
    leaves a half-written image in place of a good one.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise ImageSaveError(f"{path.name}: unsupported format '{suffix}' "
                             f"(use one of {', '.join(sorted(IMAGE_SUFFIXES))})")
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ImageSaveError(f"expected an (H, W, 3) uint8 array, got {rgb.dtype} {rgb.shape}")
    img = Image.fromarray(rgb, "RGB")
    if alpha is not None:
        if suffix in (".jpg", ".jpeg", ".bmp"):
            alpha = None  # these formats have no alpha
        else:
            img = Image.fromarray(np.dstack([rgb, alpha]), "RGBA")
    options = {"quality": quality} if suffix in (".jpg", ".jpeg", ".webp") else {}
    try:
        atomic_write(path, lambda tmp: img.save(tmp, format=_FORMATS[suffix], **options))
    except (OSError, ValueError) as exc:  # Pillow's encoders raise ValueError (WebP > 16383 px)
        raise ImageSaveError(f"could not write {path}: {getattr(exc, 'strerror', None) or exc}") from exc
    return path


_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".tif": "TIFF",
            ".tiff": "TIFF", ".bmp": "BMP"}
