"""The methods a comparison can show: bicubic, every model with its scale, results from files.

:class:`ModelSource` is the one place the comparison asks "which models are there, at which
scale, and load this one": a thin adapter over the one model resolver
(:class:`srgan_desktop.core.models.ModelResolver`).  A model's scale comes from its card
(``scale``) and otherwise from the resolver's descriptor (read once per file version), so a ×2
file without a card is listed as ×2, and a file that cannot be used is listed with its error
instead of hiding the other models.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

import torch

from srgan_desktop.core.engine import Method
from srgan_desktop.core.models import ModelResolver
from srgan_desktop.core.weights import ModelDescriptor, WeightsError

__all__ = ["MethodKind", "MethodInfo", "ModelSource", "BICUBIC_KEY", "INPUT_KEY", "REFERENCE_KEY",
           "MODELS_ERROR_KEY", "RESERVED_KEYS"]

INPUT_KEY = "input"
REFERENCE_KEY = "reference"
BICUBIC_KEY = "bicubic"
#: the one entry that stands for an unreadable models folder: it carries the reason, gets no pane
MODELS_ERROR_KEY = "registry"
RESERVED_KEYS = (INPUT_KEY, REFERENCE_KEY, BICUBIC_KEY, MODELS_ERROR_KEY)


class MethodKind(Enum):
    BICUBIC = "bicubic"   # any scale
    MODEL = "model"       # a network of the model source, at its own scale
    FILE = "file"         # a result made elsewhere, read from an image file


@dataclass(frozen=True)
class MethodInfo:
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
    """The distilled fast model first (its result arrives in about a second, so every photo shows
    a model's result at once), then SRResNet before SRGAN (the paper's order), bundled before user
    models, then by name.  Runs follow this order."""
    name = str(getattr(entry, "name", ""))
    card = getattr(entry, "card", None) or {}
    fast = isinstance(card, dict) and card.get("variant") == "distilled-compact"
    rank = -1 if fast else 0 if name.startswith("srresnet") else 1 if name.startswith("srgan") else 2
    return (rank + (0 if getattr(entry, "bundled", False) else 3), name)


def _describe(descriptor: ModelDescriptor) -> str:
    text = f"{descriptor.architecture} ×{descriptor.scale}"
    if descriptor.architecture == "srresnet":
        text += f", {descriptor.num_blocks} blocks, {descriptor.channels} channels"
    params = getattr(descriptor, "params", 0)
    if params:
        text += f", {params / 1e6:.2f} M parameters"
    return text + (f", {descriptor.variant}" if descriptor.variant else "")


class ModelSource:
    """Models with their scales, loading, adding and removing (an adapter over the resolver)."""

    def __init__(self, resolver: ModelResolver | None) -> None:
        self.resolver = resolver

    @property
    def user_dir(self) -> Path | None:
        return self.resolver.user_dir if self.resolver is not None else None

    def _probe(self, path: Path) -> tuple[int | None, str, str]:
        """(scale, description, error) of a weights file (the resolver caches per file version)."""
        try:
            with torch.inference_mode():
                descriptor = self.resolver.describe(str(path))  # type: ignore[union-attr]
        except WeightsError as exc:
            return None, "", str(exc)
        except Exception as exc:  # noqa: BLE001 — one bad file must not hide the others
            return None, "", f"{path.name}: {type(exc).__name__}: {exc}"
        return descriptor.scale, _describe(descriptor), ""

    def methods(self) -> list[MethodInfo]:
        """Every model (available or not, with the reason), in the paper's order."""
        if self.resolver is None:
            return []
        try:
            entries = self.resolver.entries()
        except Exception as exc:  # noqa: BLE001 — a broken folder must not take the window down
            return [MethodInfo(MODELS_ERROR_KEY, "Models", available=False, reason=f"model registry: {exc}")]
        methods = []
        for entry in sorted(entries, key=_paper_order):
            key = entry.name if entry.name not in RESERVED_KEYS else f"model_{entry.name}"
            scale, description, error = entry.scale, _card_text(entry.card), ""
            if entry.available and entry.path is not None and (scale is None or not entry.bundled):
                scale, description, error = self._probe(entry.path)
            methods.append(MethodInfo(key, entry.title, MethodKind.MODEL, scale, entry.available and not error,
                                      entry.reason or error, entry.name if entry.bundled else entry.path,
                                      entry.path, description))
        return methods

    def method(self, ref: str | Path) -> Method:
        """The engine method of a model (loaded now: call it off the GUI thread)."""
        return (self.resolver or ModelResolver()).method(str(ref))  # without a resolver: paths only

    # ------------------------------------------------------------ user models
    def add_file(self, path: str | os.PathLike) -> Path:
        """Check that a weights file loads, then copy it (and its card) into the user folder."""
        if self.resolver is None:
            raise WeightsError("no model resolver")
        entry = self.resolver.add(path)
        assert entry.path is not None
        return entry.path

    def remove_file(self, path: str | os.PathLike) -> None:
        """Delete a user model (and its card); bundled models stay."""
        if self.resolver is None:
            raise WeightsError("no model resolver")
        target = Path(path)
        folder = self.user_dir
        if folder is None or target.resolve().parent != folder.resolve():
            raise WeightsError(f"{target.name} is not in the user model folder; it cannot be removed here")
        self.resolver.remove(target.stem)


def _card_text(card: dict) -> str:
    if not isinstance(card, dict) or not card:
        return ""
    parts = [str(card.get("architecture", "")), f"×{card['scale']}" if "scale" in card else "",
             f"{card['num_blocks']} blocks" if "num_blocks" in card else "", str(card.get("variant", ""))]
    return ", ".join(p for p in parts if p)
