"""LPIPS (Zhang et al., CVPR 2018): a learned full-reference distance, lower = closer to the HR image.

The measure is the ``lpips`` package's own network (``lpips.LPIPS``, version 0.1): the ImageNet
features of an AlexNet (default, ``net="alex"``) or VGG16 (``net="vgg"``) backbone, unit-normalised
per channel, squared differences weighted by the published linear heads and averaged over space,
summed over five layers.  Its pieces come from two places:

* the linear heads ship in the ``lpips`` wheel (``lpips/weights/v0.1/alex.pth``, ``vgg.pth``,
  a few kB each); we read them with ``torch.load(weights_only=True)`` (the package's own
  constructor would unpickle them with the default settings, so we build it with
  ``pretrained=False`` and copy them in ourselves);
* the backbone's ImageNet weights exist nowhere in the app: the user supplies a torchvision
  state dict (the settings dialog, ``--lpips-backbone PATH``) or has torchvision's cache file
  (``alexnet-owt-7be5be79.pth`` / ``vgg16-397923af.pth`` under ``torch.hub.get_dir()/checkpoints``).
  They are loaded by :func:`srgan_desktop.core.backbones.load_backbone_features`, the loader
  the trainer's VGG19 loss uses too: weights-only, never downloaded.  ``lpips.LPIPS`` is built
  with ``pnet_rand=True`` (its random backbone is never downloaded and is overwritten at once),
  and without weights :class:`LpipsWeightsError` says which file is missing and where it goes —
  never a silent random backbone.

Images are compared as RGB in [0, 1] (``normalize=True``), with ``border`` pixels removed on
every side like PSNR/SSIM (``eval`` passes the scale).  Grayscale is repeated to three channels
and alpha dropped, as in the rest of the app.  An image below the network's smallest input
(:data:`MIN_SIDE`) or two images of different sizes give :class:`LpipsError`, whose message the
front ends show in the LPIPS cell.  The network is built once per (net, weights file, device) and
reused; computing under ``torch.no_grad()`` makes it safe to call from a worker thread.
Speed: ``python -m srgan_desktop.core.lpips_metric --bench`` (512×512, random backbone).
Qt-free.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from srgan_desktop.core.backbones import (BackboneWeightsError, backbone_source, cache_path,
                                          load_backbone_features)
from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.utils import rgb_to_tensor

__all__ = ["LPIPS_NETS", "MIN_SIDE", "LpipsError", "LpipsWeightsError", "heads_path",
           "lpips_missing", "LpipsModel", "load_lpips", "lpips_distance"]

#: LPIPS network name → torchvision backbone
LPIPS_NETS = {"alex": "alexnet", "vgg": "vgg16"}
#: smallest side each network accepts (below it a pooling layer has nothing left to pool)
MIN_SIDE = {"alex": 31, "vgg": 16}
LPIPS_VERSION = "0.1"


class LpipsError(SrganDesktopError, ValueError):
    """LPIPS cannot be computed on these images (too small, sizes differ): the message says why."""


class LpipsWeightsError(BackboneWeightsError):
    """The backbone's ImageNet weights (or the lpips package's linear heads) are missing or bad."""


def _check_net(net: str) -> str:
    if net not in LPIPS_NETS:
        raise ValueError(f"unknown LPIPS network '{net}' (use {', '.join(LPIPS_NETS)})")
    return LPIPS_NETS[net]


def heads_path(net: str = "alex") -> Path:
    """The published linear heads of ``net`` inside the installed ``lpips`` package."""
    _check_net(net)
    try:
        import lpips
    except ImportError as exc:
        raise LpipsWeightsError("the lpips package is not installed (pip install lpips): its "
                                "linear heads are part of the measure") from exc
    return Path(lpips.__file__).resolve().parent / "weights" / f"v{LPIPS_VERSION}" / f"{net}.pth"


def _advice(net: str) -> str:
    return (f"LPIPS ({net}) needs it: choose the file with Compare ▸ LPIPS backbone weights… "
            f"in the app, or give --lpips-backbone PATH to eval.")


def lpips_missing(net: str = "alex", backbone: str | Path | None = None) -> str | None:
    """Why LPIPS cannot run with these settings (one line), or None if its files are there.

    Looks at files only (nothing is loaded), so a window can ask it on the GUI thread.
    """
    arch = _check_net(net)
    try:
        heads = heads_path(net)
    except LpipsWeightsError as exc:
        return str(exc)
    if not heads.is_file():
        return f"the lpips package has no linear heads at {heads}"
    if backbone_source(arch, backbone) is None:
        if backbone:
            return f"no {arch} weights at {backbone} (LPIPS backbone)"
        return f"no ImageNet {arch} weights: put {cache_path(arch).name} in {cache_path(arch).parent} " \
               f"or set the LPIPS backbone file"
    return None


def _as_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3:
        raise LpipsError(f"not an image: array of shape {image.shape}")
    if image.shape[2] in (1, 2):       # gray (+ alpha)
        image = np.repeat(image[..., :1], 3, axis=2)
    image = image[..., :3]
    if image.dtype == np.uint16:
        image = image.astype(np.float32) / 257.0
    return image


@dataclass(eq=False)
class LpipsModel:
    """A ready LPIPS network; :meth:`distance` compares two images."""

    net: str
    backbone: Path                      # the weights file that was read
    device: torch.device
    module: torch.nn.Module

    def distance(self, result: np.ndarray, reference: np.ndarray, border: int = 0) -> float:
        """LPIPS between two same-sized images (lower = closer; identical images give 0)."""
        a, b = _as_rgb(result), _as_rgb(reference)
        if a.shape[:2] != b.shape[:2]:
            raise LpipsError(f"images differ in size: {a.shape[1]}×{a.shape[0]} vs {b.shape[1]}×{b.shape[0]}")
        if border > 0:
            a, b = a[border:-border, border:-border], b[border:-border, border:-border]
        side = MIN_SIDE[self.net]
        if min(a.shape[:2]) < side:
            raise LpipsError(f"too small for LPIPS ({a.shape[1]}×{a.shape[0]}"
                             f"{f' after a border of {border}' if border else ''}; "
                             f"at least {side}×{side} for {self.net})")
        with torch.no_grad():
            ta, tb = rgb_to_tensor(a).to(self.device), rgb_to_tensor(b).to(self.device)
            return float(self.module(ta, tb, normalize=True).flatten()[0])


def _build(net: str, backbone: str | Path | None, device: torch.device) -> LpipsModel:
    arch = _check_net(net)
    features = load_backbone_features(arch, backbone, error=LpipsWeightsError, advice=_advice(net))
    heads_file = heads_path(net)
    source = backbone_source(arch, backbone)
    assert source is not None  # load_backbone_features has just read it
    try:
        heads = torch.load(str(heads_file), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a missing or damaged lpips install
        raise LpipsWeightsError(f"cannot read LPIPS linear heads {heads_file}: "
                                f"{' '.join(str(exc).split())[:200]}") from exc
    import lpips

    with warnings.catch_warnings():  # lpips still passes torchvision's old pretrained= argument
        warnings.simplefilter("ignore", UserWarning)
        module = lpips.LPIPS(pretrained=False, net=net, version=LPIPS_VERSION, pnet_rand=True,
                             verbose=False)
    copied = set()
    for block in module.net.children():           # slice1..slice5: children named by features index
        for index, layer in block.named_children():
            layer.load_state_dict(features[int(index)].state_dict())
            copied.add(int(index))
    needed = {i for i, layer in enumerate(features) if any(True for _ in layer.parameters())
              and i <= max(copied)}
    if not needed <= copied:  # an lpips release that slices differently: refuse, never half-random
        raise LpipsWeightsError(f"lpips {net}: backbone layers {sorted(needed - copied)} not mapped")
    for i, lin in enumerate(module.lins):
        key = f"lin{i}.model.1.weight"
        weight = heads.get(key) if isinstance(heads, dict) else None
        target = lin.model[1].weight
        if not isinstance(weight, torch.Tensor) or weight.shape != target.shape:
            raise LpipsWeightsError(f"{heads_file} is not the LPIPS {net} linear heads ({key})")
        with torch.no_grad():
            target.copy_(weight)
    module.eval().requires_grad_(False).to(device)
    return LpipsModel(net, source, device, module)


_cache: dict[tuple, LpipsModel] = {}
_lock = threading.Lock()


def load_lpips(net: str = "alex", backbone: str | Path | None = None,
               device: str | torch.device = "cpu") -> LpipsModel:
    """The LPIPS network for ``net`` with the backbone weights of ``backbone`` (a torchvision state
    dict file; None = torchvision's cache), built once and reused while that file is unchanged.

    Raises :class:`LpipsWeightsError` when the weights are missing or unusable.
    """
    arch = _check_net(net)
    device = torch.device(device)
    source = backbone_source(arch, backbone)
    stamp = None
    if source is not None:
        stat = source.stat()
        stamp = (str(source.resolve()), stat.st_mtime_ns, stat.st_size)
    key = (net, stamp, str(device))
    with _lock:
        if stamp is not None and key in _cache:
            return _cache[key]
        model = _build(net, backbone, device)   # raises the clear error when source is None
        _cache.clear()  # one network at a time: a backbone is 60-130 M parameters
        _cache[key] = model
        return model


def lpips_distance(result: np.ndarray, reference: np.ndarray, *, net: str = "alex",
                   backbone: str | Path | None = None, border: int = 0) -> float:
    """LPIPS of ``result`` against ``reference`` (see :func:`load_lpips` for the weights)."""
    return load_lpips(net, backbone).distance(result, reference, border)


def _bench(argv: list[str] | None = None) -> None:
    """Time LPIPS on a 512×512 pair with a random backbone saved to a temporary file."""
    import argparse
    import tempfile
    import time

    import torchvision.models

    parser = argparse.ArgumentParser(prog="python -m srgan_desktop.core.lpips_metric")
    parser.add_argument("--bench", action="store_true", required=True)
    parser.add_argument("--net", choices=sorted(LPIPS_NETS), default="alex")
    parser.add_argument("--side", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (args.side, args.side, 3), dtype=np.uint8)
    b = np.clip(a.astype(np.int16) + rng.integers(-20, 21, a.shape), 0, 255).astype(np.uint8)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "random_backbone.pth"
        torch.manual_seed(0)
        torch.save(getattr(torchvision.models, LPIPS_NETS[args.net])(weights=None).features.state_dict(), path)
        start = time.perf_counter()
        model = load_lpips(args.net, path)
        built = time.perf_counter() - start
        model.distance(a, b)  # warm-up
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            model.distance(a, b)
            times.append(time.perf_counter() - start)
    print(f"LPIPS {args.net}, {args.side}×{args.side}, {torch.get_num_threads()} torch threads: "
          f"build {built:.2f} s, per image median {np.median(times):.3f} s "
          f"(min {min(times):.3f}, max {max(times):.3f}, {args.repeat} runs)")


if __name__ == "__main__":
    _bench()
