"""ImageNet backbones from torchvision, with weights the user supplies — the one loader.

The trainer's VGG19 content loss and the LPIPS measure (AlexNet or VGG16) both need a
torchvision classification network with its ImageNet weights.  Those weights are never shipped
with the app and never downloaded at run time (the app must work offline, and a download in the
middle of a training run or a GUI measurement is a surprise).  They come from, in this order:

1. a file the user names (``--vgg-weights``, ``--lpips-backbone``, the settings dialog): a
   torchvision state dict, either the whole model (``features.N.*`` + ``classifier.*``) or the
   ``features`` part alone (``N.*``), optionally wrapped as ``{"state_dict": ...}``;
2. torchvision's own cache, ``torch.hub.get_dir()/checkpoints/<torchvision's file name>``
   (``alexnet-owt-7be5be79.pth``, ``vgg16-397923af.pth``, ``vgg19-dcbb9e9d.pth``): where any
   earlier ``torchvision.models.X(weights=...)`` call on this machine left them.

Every file is read with ``torch.load(weights_only=True)``: a pickle that would run code is
refused and runs nothing.  Nothing missing is ever replaced by a random network in silence;
instead a :class:`BackboneWeightsError` (or the subclass the caller passes) says which file is
missing and where to put it.  Only the ``features`` part is kept (both users need only it).
Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from srgan_desktop.errors import SrganDesktopError

__all__ = ["BackboneWeightsError", "BACKBONES", "Backbone", "cache_path", "backbone_source",
           "load_backbone_features"]


class BackboneWeightsError(SrganDesktopError):
    """The ImageNet weights of a torchvision backbone are missing or unusable."""


@dataclass(frozen=True)
class Backbone:
    """A torchvision classification network whose ``features`` we use."""

    arch: str          # torchvision.models function name
    title: str         # shown to the user
    cache_file: str    # torchvision's file name for its IMAGENET1K_V1 weights


BACKBONES: dict[str, Backbone] = {
    "alexnet": Backbone("alexnet", "AlexNet", "alexnet-owt-7be5be79.pth"),
    "vgg16": Backbone("vgg16", "VGG16", "vgg16-397923af.pth"),
    "vgg19": Backbone("vgg19", "VGG19", "vgg19-dcbb9e9d.pth"),
}


def _backbone(arch: str) -> Backbone:
    try:
        return BACKBONES[arch]
    except KeyError:
        raise ValueError(f"unknown backbone '{arch}' (use {', '.join(BACKBONES)})") from None


def cache_path(arch: str) -> Path:
    """Where torchvision keeps ``arch``'s ImageNet weights on this machine (may not exist)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / _backbone(arch).cache_file


def backbone_source(arch: str, path: str | Path | None = None) -> Path | None:
    """The file :func:`load_backbone_features` would read, or None if there is none (no loading)."""
    if path is not None and str(path) != "":
        path = Path(path).expanduser()
        return path if path.is_file() else None
    cached = cache_path(arch)
    return cached if cached.is_file() else None


def _features_state(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A full state dict (``features.N.*``) or a features-only one (``N.*``) → ``N.*``."""
    if any(k.startswith("features.") for k in state):
        return {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
    return dict(state)


def load_backbone_features(arch: str, path: str | Path | None = None, *, end: int | None = None,
                           error: type[BackboneWeightsError] = BackboneWeightsError,
                           advice: str = "") -> nn.Sequential:
    """torchvision ``arch``'s ``features[:end]`` with the ImageNet weights of ``path`` (or of
    torchvision's cache when ``path`` is None), frozen, in eval mode.

    Raises ``error`` (a :class:`BackboneWeightsError`) naming the missing or bad file and where
    the weights go; ``advice`` (e.g. "or train with --content-loss mse") ends the message.
    """
    import torchvision.models

    spec = _backbone(arch)
    tail = f" {advice}" if advice else ""
    cached = cache_path(arch)
    if path is not None and str(path) != "":
        source = Path(path).expanduser()
        if not source.is_file():
            raise error(f"{spec.title} weights not found at {source}: give a torchvision {spec.title} "
                        f"state dict there, or put torchvision's {spec.cache_file} in "
                        f"{cached.parent}.{tail}")
    else:
        source = cached
        if not source.is_file():
            raise error(f"ImageNet {spec.title} weights are missing: put torchvision's {spec.cache_file} "
                        f"in {cached.parent} (nothing is downloaded), or give the path of a "
                        f"torchvision {spec.title} state dict.{tail}")
    from srgan_desktop.core.weights import WeightsError, check_zip_size

    try:
        check_zip_size(source)  # a zip bomb is refused from its directory, before torch reads it
    except WeightsError as exc:
        raise error(f"{exc}.{tail}") from exc
    try:
        state = torch.load(str(source), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same user error
        raise error(f"{source} is not a readable weights-only {spec.title} state dict "
                    f"({' '.join(str(exc).split())[:200]}).{tail}") from exc
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise error(f"{source} holds a {type(state).__name__}, not a {spec.title} state dict.{tail}")
    model = getattr(torchvision.models, spec.arch)(weights=None)
    try:
        model.features.load_state_dict(_features_state(state))
    except RuntimeError as exc:
        raise error(f"{source} does not match torchvision's {spec.title} "
                    f"({' '.join(str(exc).split())[:200]}).{tail}") from exc
    features = model.features if end is None else model.features[:end]
    features.eval()
    for p in features.parameters():
        p.requires_grad_(False)
    return features
