"""Reading whatever users drop on the app, and writing results safely."""

from __future__ import annotations

import os
import struct
import zlib
from io import BytesIO
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from srgan_desktop.core.engine import BicubicMethod, Upscaler
from srgan_desktop.core.images import ImageLoadError, ImageSaveError, LoadedImage, load_image, save_image
from srgan_desktop.core.resize import imresize


def _smooth_rgb(h: int = 24, w: int = 32) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w]
    return np.stack([xx * 255 // (w - 1), yy * 255 // (h - 1), (xx + yy) * 255 // (w + h - 2)],
                    axis=-1).astype(np.uint8)


def _noise_rgb(h: int = 64, w: int = 64) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, (h, w, 3), dtype=np.uint8)


# --- formats -----------------------------------------------------------------------------

@pytest.mark.parametrize("suffix, lossless", [(".png", True), (".tif", True), (".bmp", True),
                                              (".jpg", False), (".webp", False)])
def test_round_trip(tmp_path, suffix, lossless):
    rgb = _smooth_rgb()
    path = save_image(tmp_path / f"a{suffix}", rgb)
    loaded = load_image(path)
    assert loaded.rgb.shape == rgb.shape and loaded.rgb.dtype == np.uint8
    assert loaded.alpha is None and loaded.path == path
    diff = np.abs(loaded.rgb.astype(int) - rgb)
    if lossless:
        assert diff.max() == 0
    else:
        assert diff.mean() < 3.0
    assert not list(tmp_path.glob(".*.part"))  # the temporary file was renamed


def test_alpha_round_trip_and_opaque_alpha_dropped(tmp_path):
    rgb = _smooth_rgb()
    alpha = np.tile(np.linspace(0, 255, rgb.shape[1]).astype(np.uint8), (rgb.shape[0], 1))
    loaded = load_image(save_image(tmp_path / "a.png", rgb, alpha))
    assert np.array_equal(loaded.rgb, rgb) and np.array_equal(loaded.alpha, alpha)
    opaque = load_image(save_image(tmp_path / "b.png", rgb, np.full(rgb.shape[:2], 255, np.uint8)))
    assert opaque.alpha is None
    no_alpha = load_image(save_image(tmp_path / "c.jpg", rgb, alpha))  # JPEG has no alpha
    assert no_alpha.alpha is None


def test_exif_orientation_is_applied(tmp_path):
    rgb = np.zeros((20, 30, 3), np.uint8)   # 30 wide, 20 high
    rgb[:4] = (255, 0, 0)                   # red top rows
    rgb[4:] = (0, 0, 255)
    exif = Image.Exif()
    exif[0x0112] = 6                        # "rotate 90° clockwise to display"
    path = tmp_path / "rotated.jpg"
    Image.fromarray(rgb).save(path, "JPEG", quality=95, exif=exif)
    loaded = load_image(path)
    assert (loaded.width, loaded.height) == (20, 30)
    right, left = loaded.rgb[:, -2:].astype(int), loaded.rgb[:, :2].astype(int)
    assert right[..., 0].mean() > 200 and right[..., 2].mean() < 60   # top edge → right edge
    assert left[..., 2].mean() > 200 and left[..., 0].mean() < 60


def test_grayscale_and_palette_become_rgb(tmp_path):
    gray = _smooth_rgb()[..., 0]
    Image.fromarray(gray, "L").save(tmp_path / "g.png")
    loaded = load_image(tmp_path / "g.png")
    assert loaded.rgb.shape == gray.shape + (3,)
    assert all(np.array_equal(loaded.rgb[..., c], gray) for c in range(3))

    pal = Image.fromarray(_smooth_rgb()).quantize(colors=16)
    pal.save(tmp_path / "p.png")
    expected = np.asarray(pal.convert("RGB"))
    loaded = load_image(tmp_path / "p.png")
    assert loaded.original_mode == "P" and np.array_equal(loaded.rgb, expected)

    pal.info["transparency"] = 0
    pal.save(tmp_path / "pt.png", transparency=0)
    loaded = load_image(tmp_path / "pt.png")
    assert loaded.alpha is not None
    assert set(np.unique(loaded.alpha)) <= {0, 255} and (loaded.alpha == 0).any()


def test_16_bit_grayscale_png(tmp_path):
    values = np.array([[0, 257, 32768, 65535]], dtype=np.uint16).repeat(3, axis=0)
    Image.fromarray(values).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    loaded = load_image(tmp_path / "g16.png")
    assert loaded.rgb.dtype == np.uint8
    assert loaded.rgb[0, :, 0].tolist() == [0, 1, 128, 255]
    assert np.array_equal(loaded.rgb[..., 0], loaded.rgb[..., 2])


@pytest.mark.parametrize("suffix", [".png", ".tif"])
@pytest.mark.parametrize("channels", [3, 4])
def test_16_bit_rgb_written_by_opencv_is_rounded_not_truncated(tmp_path, channels, suffix):
    rgb16 = (_smooth_rgb().astype(np.uint16) * 257)
    rgb16[0, 0] = (65535, 0, 32896)
    rgb16[0, 1] = (255, 511, 65280)  # the high byte alone (Pillow's decoding) gives 0, 1, 255
    data = rgb16[..., ::-1]  # OpenCV writes BGR
    if channels == 4:
        alpha16 = np.full(rgb16.shape[:2], 65535, np.uint16)
        alpha16[:, :5] = 0
        data = np.dstack([data, alpha16])
    path = tmp_path / f"c16{suffix}"
    assert cv2.imwrite(str(path), np.ascontiguousarray(data))
    loaded = load_image(path)
    assert loaded.rgb.dtype == np.uint8
    assert np.array_equal(loaded.rgb, np.round(rgb16 / 257).astype(np.uint8))
    assert loaded.rgb[0, 0].tolist() == [255, 0, 128] and loaded.rgb[0, 1].tolist() == [1, 2, 254]
    if channels == 4:
        assert loaded.alpha is not None
        assert (loaded.alpha[:, :5] == 0).all() and (loaded.alpha[:, 5:] == 255).all()
    else:
        assert loaded.alpha is None


def _with_exif_chunk(png: bytes, orientation: int) -> bytes:
    """Insert an eXIf chunk (PNG 1.5) carrying ``orientation`` right after IHDR."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    payload = exif.tobytes()
    payload = payload[6:] if payload.startswith(b"Exif\x00\x00") else payload
    chunk = struct.pack(">I", len(payload)) + b"eXIf" + payload
    chunk += struct.pack(">I", zlib.crc32(b"eXIf" + payload) & 0xFFFFFFFF)
    ihdr_end = 8 + 8 + 13 + 4
    return png[:ihdr_end] + chunk + png[ihdr_end:]


@pytest.mark.parametrize("orientation", range(1, 9))
def test_16_bit_rgb_follows_exif_orientation_like_8_bit(tmp_path, orientation):
    rgb8 = _smooth_rgb(6, 10)
    rgb8[0, 0] = (255, 0, 0)  # a marked corner: every orientation moves it somewhere else
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray((rgb8.astype(np.uint16) * 257)[..., ::-1]))
    assert ok
    (tmp_path / "wide.png").write_bytes(_with_exif_chunk(encoded.tobytes(), orientation))
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(rgb8).save(tmp_path / "narrow.png", exif=exif)
    expected = load_image(tmp_path / "narrow.png").rgb  # Pillow's exif_transpose
    assert np.array_equal(load_image(tmp_path / "wide.png").rgb, expected)
    if orientation in (5, 6, 7, 8):
        assert expected.shape == (10, 6, 3)


def test_engine_upscales_and_reattaches_alpha(tmp_path):
    rgb = _smooth_rgb(12, 16)
    alpha = np.zeros(rgb.shape[:2], np.uint8)
    alpha[:, 8:] = 255
    loaded = load_image(save_image(tmp_path / "a.png", rgb, alpha))
    result = Upscaler(BicubicMethod(4)).upscale(loaded)
    assert result.rgb.shape == (48, 64, 3) and result.alpha.shape == (48, 64)
    assert np.array_equal(result.alpha, imresize(alpha, output_shape=(48, 64)))
    out = load_image(save_image(tmp_path / "a_x4.png", result.rgb, result.alpha))
    assert np.array_equal(out.alpha, result.alpha) and np.array_equal(out.rgb, result.rgb)


# --- bad files ---------------------------------------------------------------------------

def _png_bytes(rgb: np.ndarray) -> bytes:
    buffer = BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _expect_error(path: Path, *words: str, **kwargs) -> str:
    with pytest.raises(ImageLoadError) as info:
        load_image(path, **kwargs)
    message = str(info.value)
    assert path.name in message and "\n" not in message
    for word in words:
        assert word in message.lower(), message
    return message


def test_missing_empty_folder_and_text_files(tmp_path):
    _expect_error(tmp_path / "nope.png", "not found")
    (tmp_path / "empty.png").write_bytes(b"")
    _expect_error(tmp_path / "empty.png", "empty")
    (tmp_path / "dir.png").mkdir()
    _expect_error(tmp_path / "dir.png", "folder")
    (tmp_path / "notes.png").write_text("these are my holiday notes, not a picture\n")
    _expect_error(tmp_path / "notes.png", "not an image")


def test_truncated_png(tmp_path):
    data = _png_bytes(_noise_rgb())
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    _expect_error(tmp_path / "cut.png", "truncated")


def test_corrupt_png(tmp_path):
    data = bytearray(_png_bytes(_noise_rgb()))
    start = data.index(b"IDAT") + 4
    data[start:start + 200] = bytes(200)  # scribble over the compressed pixels
    (tmp_path / "bad.png").write_bytes(bytes(data))
    _expect_error(tmp_path / "bad.png")


def test_corrupt_jpeg(tmp_path):
    save_image(tmp_path / "ok.jpg", _noise_rgb())
    data = (tmp_path / "ok.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 3])
    _expect_error(tmp_path / "cut.jpg")


def test_more_pixels_than_the_limit(tmp_path):
    save_image(tmp_path / "big.png", _smooth_rgb(40, 50))
    _expect_error(tmp_path / "big.png", "limit", max_pixels=1000)
    assert load_image(tmp_path / "big.png", max_pixels=2000).width == 50


def test_header_claiming_a_huge_size_is_refused_without_decoding(tmp_path):
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    data = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    (tmp_path / "bomb.png").write_bytes(data)
    _expect_error(tmp_path / "bomb.png", "pixels")


# --- saving ------------------------------------------------------------------------------

def _unwritable_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "read-only"
    folder.mkdir()
    folder.chmod(0o555)
    probe = folder / "probe"
    try:
        probe.write_bytes(b"")
    except OSError:
        return folder
    probe.unlink()  # running as root: permissions do not stop us, sysfs does
    if Path("/sys").is_dir() and not _can_write(Path("/sys")):
        return Path("/sys")
    pytest.skip("no folder this user cannot write to")


def _can_write(folder: Path) -> bool:
    try:
        (folder / ".srgan-desktop-probe").write_bytes(b"")
    except OSError:
        return False
    (folder / ".srgan-desktop-probe").unlink()
    return True


def test_save_to_a_read_only_folder_raises_image_save_error(tmp_path):
    folder = _unwritable_folder(tmp_path)
    try:
        with pytest.raises(ImageSaveError, match="could not write"):
            save_image(folder / "out.png", _smooth_rgb())
        assert not (folder / "out.png").exists() and not (folder / ".out.png.part").exists()
    finally:
        if folder != Path("/sys"):
            folder.chmod(0o755)


def test_save_refuses_unknown_formats_and_bad_arrays(tmp_path):
    with pytest.raises(ImageSaveError, match="unsupported format"):
        save_image(tmp_path / "out.gif", _smooth_rgb())
    with pytest.raises(ImageSaveError):
        save_image(tmp_path / "out.png", _smooth_rgb().astype(np.float32))
    with pytest.raises(ImageSaveError):
        save_image(tmp_path / "out.png", _smooth_rgb()[..., 0])


def test_save_too_wide_for_webp_raises_image_save_error(tmp_path):
    # a ×4 result of a 4100-px-wide image: Pillow's WebP encoder raises ValueError, not OSError
    with pytest.raises(ImageSaveError, match="could not write.*WebP"):
        save_image(tmp_path / "wide.webp", np.zeros((2, 16400, 3), np.uint8))
    assert os.listdir(tmp_path) == []


def test_save_replaces_an_existing_file(tmp_path):
    target = save_image(tmp_path / "x.png", _smooth_rgb())
    save_image(target, np.zeros((3, 5, 3), np.uint8))
    assert load_image(target).rgb.shape == (3, 5, 3)
    assert isinstance(load_image(target), LoadedImage)
    assert os.listdir(tmp_path) == ["x.png"]


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_key_colour_transparency_is_kept(tmp_path, mode):
    pixels = np.zeros((8, 8, 3), dtype=np.uint8)
    pixels[:4] = 200
    img = Image.fromarray(pixels if mode == "RGB" else pixels[..., 0], mode)
    key = (0, 0, 0) if mode == "RGB" else 0
    img.save(tmp_path / "key.png", transparency=key)
    loaded = load_image(tmp_path / "key.png")
    assert loaded.alpha is not None
    assert (loaded.alpha[4:] == 0).all() and (loaded.alpha[:4] == 255).all()
