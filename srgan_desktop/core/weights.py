"""Model weights: the registry of bundled and user models, and one safe checkpoint loader.

* Bundled models live in ``resources/weights/`` as ``NAME.safetensors`` + ``NAME.json`` (the
  model card).  A card without its weights file is listed as *unavailable*, with the reason,
  never replaced by invented weights.
* User models are any ``.safetensors`` / ``.pth`` / ``.pt`` files in the user's model folder or
  given by path.
* :func:`load_model` is the one loader (after spandrel): it unwraps the usual checkpoint
  containers (``state_dict``, ``params``, ``params_ema``, ``model``, ``generator``, ``netG``),
  strips ``module.`` prefixes, detects the architecture and scale from the tensors, and
  returns the ready module with a :class:`ModelDescriptor`.  Pickled files are opened only
  with ``torch.load(weights_only=True)``: a file that would run code is refused.
"""

from __future__ import annotations

import json
import os
import pickle
import re
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from srgan_desktop.core.arch import SRResNet

__all__ = ["WeightsError", "ModelDescriptor", "ModelEntry", "ModelRegistry", "load_model",
           "load_state_dict", "save_model", "read_card", "WEIGHT_SUFFIXES"]

WEIGHT_SUFFIXES = {".safetensors", ".pth", ".pt", ".ckpt"}
_WRAPPERS = ("params_ema", "params", "state_dict", "model", "generator", "netG", "model_state")


class WeightsError(Exception):
    """A weights file could not be used; the message says why and which file/key."""


@dataclass
class ModelDescriptor:
    """What a caller needs to know to run a model (never inspect state-dict keys yourself)."""

    name: str
    architecture: str = "srresnet"
    scale: int = 4
    num_blocks: int = 16
    channels: int = 64
    input_range: tuple[float, float] = (0.0, 1.0)
    output_range: tuple[float, float] = (0.0, 1.0)
    supports_half: bool = True
    variant: str = ""
    path: Path | None = None
    card: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelEntry:
    """One row of the registry: a model that may or may not have weights yet."""

    name: str
    title: str
    path: Path | None
    card: dict[str, Any]
    bundled: bool
    available: bool
    reason: str = ""


def read_card(path: Path) -> dict[str, Any]:
    """Read a model card; a broken card raises :class:`WeightsError`."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise WeightsError(f"model card {path.name} is unreadable: {exc}") from exc


class ModelRegistry:
    """Bundled models (cards in ``bundled_dir``) plus user weight files in ``user_dir``."""

    def __init__(self, bundled_dir: Path, user_dir: Path | None = None) -> None:
        self.bundled_dir = Path(bundled_dir)
        self.user_dir = Path(user_dir) if user_dir else None

    def entries(self) -> list[ModelEntry]:
        found: list[ModelEntry] = []
        for card_path in sorted(self.bundled_dir.glob("*.json")) if self.bundled_dir.is_dir() else []:
            name = card_path.stem
            weights = card_path.with_suffix(".safetensors")
            try:
                card = read_card(card_path)
            except WeightsError as exc:  # one broken card must not hide the other models
                found.append(ModelEntry(name=name, title=name, path=None, card={}, bundled=True,
                                        available=False, reason=str(exc)))
                continue
            ok = weights.is_file()
            found.append(ModelEntry(
                name=name, title=card.get("title", name), path=weights if ok else None, card=card,
                bundled=True, available=ok,
                reason="" if ok else f"no weights yet: {weights.name} is missing (train and export it "
                                     f"with srgan-train)"))
        if self.user_dir and self.user_dir.is_dir():
            for path in sorted(self.user_dir.iterdir()):
                if path.suffix.lower() in WEIGHT_SUFFIXES:
                    card_path = path.with_suffix(".json")
                    try:
                        card = read_card(card_path) if card_path.is_file() else {}
                    except WeightsError:
                        card = {}  # the weights still load; the card only adds a title
                    found.append(ModelEntry(name=path.stem, title=card.get("title", path.stem),
                                            path=path, card=card, bundled=False, available=True))
        return found

    def find(self, name: str) -> ModelEntry:
        """Look a model up by name; ``srresnet``/``srgan`` also match ``srresnet_x4``/``srgan_x4``."""
        entries = self.entries()
        for entry in entries:
            if entry.name == name:
                return entry
        for entry in entries:
            if entry.bundled and entry.name.split("_x")[0] == name:
                return entry
        known = ", ".join(e.name for e in entries) or "none"
        raise WeightsError(f"no model called '{name}' (known: {known})")

    def load(self, name_or_path: str | os.PathLike) -> tuple[torch.nn.Module, ModelDescriptor]:
        """Load a registry model by name, or any weights file by path."""
        candidate = Path(name_or_path)
        if candidate.suffix.lower() in WEIGHT_SUFFIXES or candidate.is_file():
            return load_model(candidate)
        entry = self.find(str(name_or_path))
        if not entry.available or entry.path is None:
            raise WeightsError(f"model '{entry.name}' has {entry.reason}")
        return load_model(entry.path, card=entry.card, name=entry.name)


def _unwrap(obj: Any, path: Path) -> dict[str, torch.Tensor]:
    for _ in range(3):
        if isinstance(obj, dict) and not all(isinstance(v, torch.Tensor) for v in obj.values()):
            for key in _WRAPPERS:
                if key in obj and isinstance(obj[key], dict):
                    obj = obj[key]
                    break
            else:
                break
    if not isinstance(obj, dict):
        raise WeightsError(f"{path.name}: not a state dict (found {type(obj).__name__})")
    tensors = OrderedDict((k, v) for k, v in obj.items() if isinstance(v, torch.Tensor))
    if not tensors:
        raise WeightsError(f"{path.name}: contains no tensors (keys: {', '.join(list(obj)[:8])})")
    return OrderedDict((re.sub(r"^(module\.)+", "", k), v) for k, v in tensors.items())


def load_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read tensors from a safetensors file or a *weights-only* torch pickle."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    if path.suffix.lower() == ".safetensors":
        # safetensors stores keys sorted; restore module order (natural sort) for foreign names
        try:
            tensors = load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsError(f"{path.name}: not a valid safetensors file ({exc})") from exc
        return OrderedDict(sorted(tensors.items(), key=lambda kv: _natural_key(kv[0])))
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        raise WeightsError(
            f"{path.name} was refused: it holds Python objects beyond plain tensors, and loading it "
            f"could run code. Only weights-only checkpoints are accepted; re-save it as a plain "
            f"state dict or as .safetensors. (detail: {str(exc).splitlines()[0]})") from exc
    except Exception as exc:  # noqa: BLE001  garbage input makes the unpickler raise anything
        # (KeyError, IndexError, struct.error...): it is still just "not a checkpoint"
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise WeightsError(f"{path.name}: not a readable PyTorch checkpoint ({detail})") from exc
    return _unwrap(obj, path)


def _natural_key(key: str) -> list[object]:
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", key)]


def _detect_srresnet(state: dict[str, torch.Tensor], path: Path) -> tuple[int, int, int]:
    """(num_blocks, channels, scale) of an SRResNet state dict, whatever its key names."""
    convs4d = [v for v in state.values() if v.ndim == 4]
    heads = [v for v in convs4d if tuple(v.shape[1:]) == (3, 9, 9)]
    if len(convs4d) < 4 or not heads:
        raise WeightsError(f"{path.name}: not an SRResNet generator (no 9×9 convolution from RGB; "
                           f"{len(convs4d)} convolutions in all)")
    channels = int(heads[0].shape[0])
    upsample = sum(1 for v in convs4d if tuple(v.shape) == (channels * 4, channels, 3, 3))
    square = sum(1 for v in convs4d if tuple(v.shape) == (channels, channels, 3, 3))
    num_blocks = (square - 1) // 2
    if upsample not in (1, 2, 3) or square < 3 or square % 2 == 0:
        raise WeightsError(f"{path.name}: tensor shapes do not match an SRResNet "
                           f"({square} C×C convolutions, {upsample} upsampling convolutions)")
    return num_blocks, channels, 2 ** upsample


def _match_keys(model: torch.nn.Module, state: dict[str, torch.Tensor], path: Path
                ) -> dict[str, torch.Tensor]:
    """Our own key names load directly; a foreign naming is mapped by position and shape."""
    own = model.state_dict()
    if set(state) == set(own):
        theirs = {key: key for key in own}
    elif len(state) == len(own):
        theirs = dict(zip(own, state))  # foreign names: by position, checked by shape below
    else:
        missing = [k for k in own if k not in state][:3]
        raise WeightsError(f"{path.name}: {len(state)} tensors, the architecture needs {len(own)}"
                           + (f" (missing e.g. {', '.join(missing)})" if missing else ""))
    mapped = OrderedDict((ours, state[key]) for ours, key in theirs.items())
    for ours, key in theirs.items():
        if tuple(own[ours].shape) != tuple(mapped[ours].shape):
            where = "" if key == ours else f" for '{ours}'"
            raise WeightsError(f"{path.name}: key '{key}' has shape {tuple(mapped[ours].shape)}, "
                               f"expected {tuple(own[ours].shape)}{where}")
    return mapped


def load_model(path: str | os.PathLike, card: dict[str, Any] | None = None,
               name: str | None = None) -> tuple[torch.nn.Module, ModelDescriptor]:
    """Load any supported checkpoint; returns the model in eval mode and its descriptor."""
    path = Path(path)
    state = load_state_dict(path)
    if card is None:
        card_path = path.with_suffix(".json")
        card = read_card(card_path) if card_path.is_file() else {}
    num_blocks, channels, scale = _detect_srresnet(state, path)
    model = SRResNet(num_blocks=num_blocks, channels=channels, scale=scale)
    mapped = _match_keys(model, state, path)
    model.load_state_dict({k: v.float() for k, v in mapped.items()})
    model.eval()
    out_range = tuple(card.get("output_range", (0.0, 1.0)))
    in_range = tuple(card.get("input_range", (0.0, 1.0)))
    descriptor = ModelDescriptor(
        name=name or card.get("name", path.stem), scale=scale, num_blocks=num_blocks,
        channels=channels, input_range=(float(in_range[0]), float(in_range[1])),
        output_range=(float(out_range[0]), float(out_range[1])),
        variant=str(card.get("variant", "")), path=path, card=card)
    return model, descriptor


def save_model(model: torch.nn.Module, path: str | os.PathLike, card: dict[str, Any]) -> Path:
    """Write ``model``'s weights as safetensors and ``card`` as JSON next to it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous().float() if v.is_floating_point() else v.detach().cpu()
             for k, v in model.state_dict().items()}
    card_path = path.with_suffix(".json")
    card_text = json.dumps(card, indent=2, default=_jsonable) + "\n"
    tmp, card_tmp = path.with_name(f".{path.name}.part"), card_path.with_name(f".{card_path.name}.part")
    try:
        save_file(state, str(tmp), metadata={"format": "pt", "architecture": "srresnet"})
        card_tmp.write_text(card_text, encoding="utf-8")
        os.replace(tmp, path)
        os.replace(card_tmp, card_path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        card_tmp.unlink(missing_ok=True)
        raise
    os.chmod(path, 0o644)
    return path


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "__dataclass_fields__"):
        return asdict(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to a model card")
