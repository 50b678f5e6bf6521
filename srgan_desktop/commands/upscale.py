"""``srgan-desktop upscale IN -m METHOD -o OUT``: upscale one image at the model's scale.

Any model the resolver loads (:mod:`srgan_desktop.core.models`): the bundled SRResNet/SRGAN,
a user model, or a weights file of any architecture spandrel knows (ESRGAN, Real-ESRGAN,
SwinIR, HAT...); the output is ×(the model's scale); ``bicubic`` takes ``--scale``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from srgan_desktop.commands._common import (CommandError, TileProgress, add_engine_options, guarded,
                                            load_method, positive_int)
from srgan_desktop.core.engine import Upscaler
from srgan_desktop.core.images import IMAGE_SUFFIXES, load_image, save_image

__all__ = ["add_parser", "run", "default_output"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "upscale", help="upscale one image with bicubic, SRResNet, SRGAN or any weights file",
        description="Upscale one image at the model's scale (bicubic: --scale). Transparency is kept "
                    "(the alpha plane is upscaled with bicubic). Errors are reported in one line with "
                    "exit code 2.")
    parser.add_argument("input", metavar="IN", help="the image (PNG, JPEG, WebP, TIFF or BMP)")
    parser.add_argument("-m", "--model", default="srresnet", metavar="METHOD",
                        help="bicubic, srresnet, srgan, a model in the user model folder, or a "
                             "weights file (.safetensors, .pth, .ckpt) of any architecture spandrel "
                             "loads (default: %(default)s)")
    parser.add_argument("--scale", type=positive_int, default=None, metavar="N",
                        help="bicubic's scale (default 4); a model always runs at its own scale, "
                             "and a different --scale is refused")
    parser.add_argument("-o", "--output", metavar="OUT",
                        help="where to write the result; the format follows the suffix "
                             "(default: IN's folder, NAME_METHOD_xS.png, S = the scale)")
    add_engine_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    return parser


def default_output(input_path: Path, method_name: str, scale: int) -> Path:
    """``photo.jpg`` upscaled by ``srresnet_x4`` → ``photo_srresnet_x4.png`` (no doubled ``_x4``)."""
    label = method_name if method_name.endswith(f"_x{scale}") else f"{method_name}_x{scale}"
    return input_path.with_name(f"{input_path.stem}_{label}.png")


def _upscale(args: argparse.Namespace) -> int:
    source = Path(args.input)
    target = Path(args.output) if args.output else None
    if target is not None and target.suffix.lower() not in IMAGE_SUFFIXES:
        raise CommandError(f"{target.name}: unsupported output format '{target.suffix}' "
                           f"(use one of {', '.join(sorted(IMAGE_SUFFIXES))})")
    image = load_image(source)
    method = load_method(args.model, scale=args.scale)
    target = target or default_output(source, method.name, method.scale)
    if target.exists() and target.resolve() == source.resolve():
        raise CommandError(f"{target.name}: refusing to overwrite the input image")
    upscaler = Upscaler(method, device=args.device, tile=args.tile, precision=args.precision)
    progress = TileProgress(f"{method.name} {image.width}×{image.height}", enabled=not args.no_progress)
    try:
        result = upscaler.upscale(image, progress=progress)
    finally:
        progress.close()
    alpha = result.alpha
    if alpha is not None and target.suffix.lower() in (".jpg", ".jpeg", ".bmp"):
        print(f"srgan-desktop: note: {target.suffix} has no alpha channel; transparency dropped",
              file=sys.stderr)
        alpha = None
    save_image(target, result.rgb, alpha)
    height, width = result.rgb.shape[:2]
    tiles = "whole image" if result.tiles == 1 else f"{result.tiles} tiles of {result.tile} px"
    print(f"wrote {target} ({width}×{height}, {method.name}, {result.device} {result.precision}, "
          f"{tiles}, {result.seconds:.2f} s)")
    return 0


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: _upscale(args))
