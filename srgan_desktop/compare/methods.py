"""The methods a comparison can show: bicubic, every model with its scale, results from files.

:class:`ModelSource` is the one place the comparison asks "which models are there, at which
scale, and load this one".  Until the one model resolver (``srgan_desktop.core.models``, issue
11) lands it wraps :class:`~srgan_desktop.core.weights.ModelRegistry`; switching to the
resolver is a change in this class only.  A model's scale comes from its card (``scale``) and
otherwise from its tensors (the safe loader, once per file version: path, size and mtime), so
a ×2 file without a card is listed as ×2, and a file that cannot be read is listed with its
error instead of hiding the other models.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import torch

from srgan_desktop.core.weights import ModelDescriptor, ModelRegistry, WeightsError, load_model

__all__ = ["MethodKind", "MethodSpec", "ModelSource", "BICUBIC_KEY", "INPUT_KEY", "REFERENCE_KEY",
           "RESERVED_KEYS"]

INPUT_KEY = "input"
REFERENCE_KEY = "reference"
BICUBIC_KEY = "bicubic"
RESERVED_KEYS = (INPUT_KEY, REFERENCE_KEY, BICUBIC_KEY)


class MethodKind(Enum):
    BICUBIC = "bicubic"   # any scale
    MODEL = "model"       # a network of the model source, at its own scale
    FILE = "file"         # a result made elsewhere, read from an image file


@dataclass(frozen=True)
class MethodSpec:
    """One way of making the enlarged image.  ``scale`` is None for bicubic (any scale)."""

    key: str
    title: str
    kind: MethodKind = MethodKind.MODEL
    scale: int | None = None
    available: bool = True
    reason: str = ""                  # why it is not available (missing or unreadable weights)
    model: str | Path | None = None   # what ModelSource.load takes (a name or a path)
    path: Path | None = None          # the weights file, or the result image file
    description: str = ""             # descriptor summary, for Models ▸ Manage…

    @property
    def is_bicubic(self) -> bool:
        return self.kind is MethodKind.BICUBIC

    def runs_at(self, scale: int) -> bool:
        return self.scale is None or self.scale == scale


def _paper_order(entry: object) -> tuple[int, str]:
    """SRResNet before SRGAN (the paper's order), bundled before user models, then by name."""
    name = str(getattr(entry, "name", ""))
    rank = 0 if name.startswith("srresnet") else 1 if name.startswith("srgan") else 2
    return (rank + (0 if getattr(entry, "bundled", False) else 3), name)


def _describe(descriptor: ModelDescriptor) -> str:
    text = f"{descriptor.architecture} ×{descriptor.scale}, {descriptor.num_blocks} blocks, " \
           f"{descriptor.channels} channels"
    return text + (f", {descriptor.variant}" if descriptor.variant else "")


class ModelSource:
    """Models with their scales, loading and forgetting (an adapter over the model registry)."""

    def __init__(self, registry: ModelRegistry | None) -> None:
        self.registry = registry
        self._probed: dict[tuple[str, int, int], tuple[int | None, str, str]] = {}

    @property
    def user_dir(self) -> Path | None:
        return self.registry.user_dir if self.registry is not None else None

    def _probe(self, path: Path, card: dict) -> tuple[int | None, str, str]:
        """(scale, description, error) of a weights file; read once per file version."""
        try:
            stat = path.stat()
        except OSError as exc:
            return None, "", f"{path.name}: {exc.strerror or exc}"
        key = (str(path), stat.st_size, stat.st_mtime_ns)
        if key not in self._probed:
            try:
                with torch.inference_mode():
                    _model, descriptor = load_model(path, card=card or None)
                self._probed[key] = (descriptor.scale, _describe(descriptor), "")
            except WeightsError as exc:
                self._probed[key] = (None, "", str(exc))
            except Exception as exc:  # noqa: BLE001 — one bad file must not hide the others
                self._probed[key] = (None, "", f"{path.name}: {type(exc).__name__}: {exc}")
        return self._probed[key]

    def methods(self) -> list[MethodSpec]:
        """Every model (available or not, with the reason), in the paper's order."""
        if self.registry is None:
            return []
        try:
            entries = self.registry.entries()
        except Exception as exc:  # noqa: BLE001 — a broken folder must not take the window down
            return [MethodSpec("registry", "Models", available=False, reason=f"model registry: {exc}")]
        methods = []
        for entry in sorted(entries, key=_paper_order):
            key = entry.name if entry.name not in RESERVED_KEYS else f"model_{entry.name}"
            card_scale = entry.card.get("scale") if isinstance(entry.card, dict) else None
            scale, description, error = (int(card_scale) if isinstance(card_scale, int) else None), "", ""
            if entry.available and entry.path is not None and (scale is None or not entry.bundled):
                scale, description, error = self._probe(entry.path, entry.card)
            available = entry.available and not error
            methods.append(MethodSpec(key, entry.title, MethodKind.MODEL, scale, available,
                                      entry.reason or error, entry.name if entry.bundled else entry.path,
                                      entry.path, description or _card_text(entry.card)))
        return methods

    def load(self, ref: str | Path) -> tuple[torch.nn.Module, ModelDescriptor]:
        if self.registry is not None:
            return self.registry.load(ref)
        return load_model(ref)

    # ------------------------------------------------------------ user models
    def add_file(self, path: str | os.PathLike) -> Path:
        """Copy a weights file (and its card) into the user model folder; returns the copy."""
        import shutil

        from srgan_desktop.core.weights import WEIGHT_SUFFIXES

        source = Path(path)
        if source.suffix.lower() not in WEIGHT_SUFFIXES:
            raise WeightsError(f"{source.name}: not a weights file (use {', '.join(sorted(WEIGHT_SUFFIXES))})")
        if not source.is_file():
            raise WeightsError(f"{source}: no such file")
        folder = self.user_dir
        if folder is None:
            raise WeightsError("no user model folder is configured")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / source.name
        if target.resolve() != source.resolve():
            shutil.copy2(source, target)
            card = source.with_suffix(".json")
            if card.is_file():
                shutil.copy2(card, target.with_suffix(".json"))
        return target

    def remove_file(self, path: str | os.PathLike) -> None:
        """Delete a user model (and its card) from the user model folder; bundled ones stay."""
        target = Path(path)
        folder = self.user_dir
        if folder is None or target.resolve().parent != folder.resolve():
            raise WeightsError(f"{target.name} is not in the user model folder; it cannot be removed here")
        target.unlink(missing_ok=True)
        target.with_suffix(".json").unlink(missing_ok=True)


def _card_text(card: dict) -> str:
    if not isinstance(card, dict) or not card:
        return ""
    parts = [str(card.get("architecture", "")), f"×{card['scale']}" if "scale" in card else "",
             f"{card['num_blocks']} blocks" if "num_blocks" in card else "", str(card.get("variant", ""))]
    return ", ".join(p for p in parts if p)
