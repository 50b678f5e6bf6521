"""``srgan-desktop selftest``: is this installation (or frozen build) able to upscale?

Loads every bundled model that has weights, runs a 16×16 inference on the CPU at each model's
scale (and with bicubic ×4), plus one spandrel architecture — a small randomly initialised
Real-ESRGAN Compact it builds, saves as safetensors and loads back through the resolver, so a
frozen build proves it can load third-party models — computes NIQE of the bundled 512×512 sample (so a frozen build proves
it carries NIQE's pristine model, ``resources/metrics``), optionally writes the results side by
side as a PNG, and prints one JSON report.  Exit code 0 when every available model and NIQE
worked, 1 otherwise.  It never imports
Qt, so a frozen build can run it where there is no display.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from dataclasses import asdict, dataclass
from importlib import metadata

import numpy as np
import torch

from srgan_desktop import __version__
from srgan_desktop.commands._common import default_registry, jsonable
from srgan_desktop.core.engine import (BicubicMethod, Method, UpscaleError, Upscaler, device_available,
                                       resolve_device)
from srgan_desktop.core.images import ImageLoadError, ImageSaveError, load_image, save_image
from srgan_desktop.core.niqe import niqe
from srgan_desktop.core.models import ModelEntry
from srgan_desktop.core.weights import WeightsError
from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.paths import is_frozen, samples_dir, weights_dir

__all__ = ["add_parser", "run", "ModelCheck", "package_versions", "sample_input", "check_method", "check_niqe",
           "INPUT_SIDE"]

INPUT_SIDE = 16

#: shown name → distribution names to try (the first one installed wins)
PACKAGES = {
    "torch": ("torch",), "torchvision": ("torchvision",), "numpy": ("numpy",),
    "PySide6": ("PySide6", "PySide6-Essentials", "PySide6_Essentials"), "pyqtgraph": ("pyqtgraph",),
    "pillow": ("pillow", "Pillow"), "opencv": ("opencv-python-headless", "opencv-python"),
    "safetensors": ("safetensors",), "scipy": ("scipy",), "tqdm": ("tqdm",),
    "spandrel": ("spandrel",), "lpips": ("lpips",),
}


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "selftest", help="check that the bundled models load and run (prints JSON; no Qt)",
        description="Load every bundled model that has weights, run a small CPU inference with "
                    "each, print a JSON report; exit code 1 if an available model fails.")
    parser.add_argument("--output", metavar="PNG",
                        help="also write the input and every result side by side to this image")
    return parser


@dataclass
class ModelCheck:
    name: str
    title: str
    available: bool
    reason: str = ""
    ok: bool | None = None          # None: not run (no weights)
    seconds: float | None = None
    output_shape: list[int] | None = None
    error: str = ""
    architecture: str = ""


def package_versions() -> dict[str, str | None]:
    """Installed versions, read from package metadata (nothing is imported)."""
    versions: dict[str, str | None] = {}
    for shown, distributions in PACKAGES.items():
        versions[shown] = None
        for distribution in distributions:
            try:
                versions[shown] = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:
                continue
    if versions["torch"] is None:  # frozen builds often carry no metadata
        versions["torch"] = torch.__version__
    if versions["numpy"] is None:
        versions["numpy"] = np.__version__
    return versions


def sample_input(side: int = INPUT_SIDE) -> tuple[np.ndarray, str]:
    """A ``side``² crop of the bundled LR sample, or a synthetic pattern if it is missing."""
    path = samples_dir() / "astronaut_lr.png"
    try:
        rgb = load_image(path).rgb
        if min(rgb.shape[:2]) >= side:
            y, x = (rgb.shape[0] - side) // 2, (rgb.shape[1] - side) // 2
            return rgb[y:y + side, x:x + side].copy(), f"{path.name} (centre {side}×{side})"
    except ImageLoadError:
        pass
    yy, xx = np.mgrid[0:side, 0:side]
    pattern = np.stack([xx * 255 // max(1, side - 1), yy * 255 // max(1, side - 1),
                        ((xx + yy) % 4) * 85], axis=-1).astype(np.uint8)
    return pattern, f"synthetic {side}×{side} pattern"


def check_niqe() -> dict:
    """NIQE of the bundled sample (a 256² synthetic texture if it is missing): value and time."""
    try:
        rgb, source = load_image(samples_dir() / "astronaut.png").rgb, "astronaut.png"
    except ImageLoadError:
        rng = np.random.default_rng(0)
        yy, xx = np.mgrid[0:256, 0:256]
        base = 128 + 60 * np.sin(xx / 9.0)[..., None] * np.cos(yy / 13.0)[..., None] + rng.normal(0, 12, (256, 256, 3))
        rgb, source = np.clip(base, 0, 255).astype(np.uint8), "synthetic 256×256 texture"
    start = time.perf_counter()
    try:
        value = niqe(rgb)
    except SrganDesktopError as exc:
        return {"ok": False, "image": source, "error": str(exc)}
    return {"ok": True, "image": source, "value": round(value, 4), "seconds": time.perf_counter() - start}


def check_method(method: Method, image: np.ndarray) -> tuple[np.ndarray, float]:
    """Upscale ``image`` on the CPU in fp32; raise :class:`UpscaleError` if the output is wrong."""
    start = time.perf_counter()
    result = Upscaler(method, device="cpu", tile=0, precision="fp32").upscale(image)
    expected = (image.shape[0] * method.scale, image.shape[1] * method.scale, 3)
    if result.rgb.shape != expected or result.rgb.dtype != np.uint8:
        raise UpscaleError(f"output {result.rgb.dtype} {result.rgb.shape}, expected uint8 {expected}")
    if int(result.rgb.max()) == int(result.rgb.min()):
        raise UpscaleError("the output is a flat image")
    return result.rgb, time.perf_counter() - start


def _check_entry(entry: ModelEntry, image: np.ndarray) -> tuple[ModelCheck, np.ndarray | None]:
    check = ModelCheck(entry.name, entry.title, entry.available, entry.reason)
    if not entry.available or entry.path is None:
        return check, None
    try:
        rgb, check.seconds = check_method(default_registry().method(entry.name), image)
    except (WeightsError, UpscaleError, RuntimeError, ValueError) as exc:
        check.ok, check.error = False, " ".join(str(exc).split())
        return check, None
    check.ok, check.output_shape = True, list(rgb.shape)
    return check, rgb


def spandrel_check(image: np.ndarray) -> tuple[ModelCheck, np.ndarray | None]:
    """Build a small random Real-ESRGAN Compact ×4 with spandrel's own class, save it as
    safetensors in a temporary folder and run it through the resolver like any user model."""
    import tempfile

    check = ModelCheck("spandrel-compact", "Real-ESRGAN Compact ×4 (random, built by selftest)", True)
    try:
        from safetensors.torch import save_file
        from spandrel.architectures.Compact import Compact

        torch.manual_seed(0)
        net = Compact(num_feat=16, num_conv=4, upscale=4)
        with tempfile.TemporaryDirectory() as folder:
            path = f"{folder}/compact_x4.safetensors"
            save_file({k: v.contiguous() for k, v in net.state_dict().items()}, path)
            method = default_registry().method(path)
            rgb, check.seconds = check_method(method, image)
        check.architecture = method.descriptor.architecture
    except (ImportError, WeightsError, UpscaleError, RuntimeError, ValueError) as exc:
        check.ok, check.error = False, " ".join(str(exc).split()) or type(exc).__name__
        return check, None
    check.ok, check.output_shape = True, list(rgb.shape)
    return check, rgb


def _strip(images: list[np.ndarray]) -> np.ndarray:
    """Images side by side (top-aligned, 4 px white gaps)."""
    height = max(im.shape[0] for im in images)
    parts = []
    for im in images:
        padded = np.full((height, im.shape[1], 3), 255, np.uint8)
        padded[:im.shape[0]] = im
        parts += [padded, np.full((height, 4, 3), 255, np.uint8)]
    return np.concatenate(parts[:-1], axis=1)


def _selftest(args: argparse.Namespace) -> int:
    image, source = sample_input()
    report: dict = {
        "app": "srgan-desktop", "version": __version__, "frozen": is_frozen(),
        "python": platform.python_version(), "platform": platform.platform(),
        "packages": package_versions(), "torch_cuda": torch.version.cuda,
        "cuda_available": device_available("cuda"), "mps_available": device_available("mps"),
        "device": str(resolve_device("auto")), "inference_device": "cpu",
        "weights_dir": str(weights_dir()), "input": source, "models": [],
    }
    outputs = []
    try:
        bicubic, seconds = check_method(BicubicMethod(4), image)
        report["bicubic"] = {"ok": True, "seconds": seconds}
        outputs.append(bicubic)
    except UpscaleError as exc:
        report["bicubic"] = {"ok": False, "error": str(exc)}
    try:
        entries = [e for e in default_registry().entries() if e.bundled]
    except WeightsError as exc:
        entries, report["registry_error"] = [], str(exc)
    for entry in entries:
        check, rgb = _check_entry(entry, image)
        report["models"].append(asdict(check))
        if rgb is not None:
            outputs.append(rgb)
    report["niqe"] = check_niqe()
    spandrel_model, rgb = spandrel_check(image)
    report["spandrel"] = asdict(spandrel_model)
    if rgb is not None:
        outputs.append(rgb)
    ok = (report["bicubic"]["ok"] and "registry_error" not in report and spandrel_model.ok
          and all(m["ok"] is not False for m in report["models"]))
    report["models_available"] = sum(1 for m in report["models"] if m["available"])
    report["inference_ok"] = bool(ok)
    ok = ok and report["niqe"]["ok"]
    if args.output:
        lr_view = np.repeat(np.repeat(image, 4, axis=0), 4, axis=1)  # nearest ×4, for reference
        try:
            report["output"] = str(save_image(args.output, _strip([lr_view, *outputs])))
        except ImageSaveError as exc:
            report["output_error"], ok = str(exc), False
    report["qt_imported"] = any(m.split(".")[0] in ("PySide6", "shiboken6") for m in sys.modules)
    print(json.dumps(jsonable(report), indent=2))
    return 0 if ok else 1


def run(args: argparse.Namespace) -> int:
    return _selftest(args)

