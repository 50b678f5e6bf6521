"""The model resolver: the one answer to "which model is this, can it run, at what scale?".

Every front end (CLI, window, MOS studies, trainer, benchmark) asks :class:`ModelResolver`
instead of looking at folders or state dicts itself:

* **where models come from**: bundled models (``resources/weights/NAME.safetensors`` + the card
  ``NAME.json``; a card without weights is listed *unavailable* with the reason), the user model
  folder (:func:`srgan_desktop.paths.user_models_dir`, any ``.safetensors``/``.pth``/``.pt``/
  ``.ckpt``, managed by ``srgan-desktop models add|remove``), and any weights file by path.
  Nothing is ever downloaded: users bring their own weights.
* **names**: ``srresnet``/``srgan`` match the bundled ``srresnet_x4``/``srgan_x4`` (any scale
  suffix); a user model is its file stem; a path is a path.
* **method specs** (:func:`parse_method`), wherever methods are named: ``bicubic``, a name, a
  weights path, ``KEY=FILE`` (a model shown as KEY) and ``KEY=DIR`` (results made elsewhere, see
  :mod:`srgan_desktop.core.external`).
* **what it is**: :meth:`ModelResolver.describe` loads a model once (through the one safe
  loader, :func:`srgan_desktop.core.weights.load_model`) and returns its
  :class:`~srgan_desktop.core.weights.ModelDescriptor`; descriptors are cached per file
  (path, size, mtime), so listing many windows' worth of menus loads each file once.

Qt-free; importing it does not import spandrel (only loading a non-SRResNet file does).
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from srgan_desktop.core.weights import (WEIGHT_SUFFIXES, ModelDescriptor, WeightsError, load_model,
                                        read_card)
from srgan_desktop.utils import atomic_path

if TYPE_CHECKING:
    from srgan_desktop.core.engine import Method

__all__ = ["ModelEntry", "ModelResolver", "MethodSpec", "NoWeights", "parse_method",
           "default_resolver", "BICUBIC", "BUNDLED_NAMES"]

BICUBIC = "bicubic"
#: The bundled models a short name finds even before their cards exist.
BUNDLED_NAMES = ("srresnet", "srgan")


class NoWeights(WeightsError):
    """A known model whose weights file is not there (yet): list it, do not run it."""


@dataclass
class ModelEntry:
    """One model the resolver knows, before loading it: where it is and whether it can run."""

    name: str
    title: str
    path: Path | None
    card: dict[str, Any]
    bundled: bool
    available: bool
    reason: str = ""
    source: str = "bundled"          # bundled | user | file
    scale: int | None = None         # from the card, if it says; describe() knows for sure
    architecture: str = ""           # from the card, if it says


@dataclass(frozen=True)
class MethodSpec:
    """A parsed ``-m``/condition argument.  ``kind``: ``bicubic``, ``model`` or ``results``."""

    key: str          # the label in tables and studies
    kind: str
    target: str       # model name or weights path; the folder for ``results``


def _looks_like_path(text: str) -> bool:
    return (Path(text).suffix.lower() in WEIGHT_SUFFIXES or "/" in text or "\\" in text
            or Path(text).exists())


def parse_method(spec: str) -> MethodSpec:
    """``bicubic`` | NAME | weights PATH | ``KEY=FILE`` | ``KEY=DIR`` → :class:`MethodSpec`.

    ``KEY=X`` is a results folder when X is a folder (or ends with a slash), otherwise a model
    file shown under the name KEY.  Raises :class:`WeightsError` for an empty key or target."""
    spec = spec.strip()
    if not spec:
        raise WeightsError("empty method name")
    if spec.lower() == BICUBIC:
        return MethodSpec(BICUBIC, BICUBIC, "")
    key, sep, target = spec.partition("=")
    if sep:
        key, target = key.strip(), target.strip()
        if not key or not target:
            raise WeightsError(f"'{spec}': use KEY=FILE (a model) or KEY=DIR (a folder of results)")
        if Path(target).is_dir() or target.endswith(("/", "\\")):
            return MethodSpec(key, "results", target)
        return MethodSpec(key, "model", target)
    return MethodSpec(Path(spec).stem if _looks_like_path(spec) else spec, "model", spec)


_DESCRIBED: dict[tuple[str, int, int], ModelDescriptor] = {}
_DESCRIBED_LOCK = threading.Lock()


def _file_key(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return str(path.resolve()), stat.st_size, stat.st_mtime_ns


class ModelResolver:
    """Bundled models (cards in ``bundled_dir``), user weight files in ``user_dir``, any path.

    ``ModelResolver(bundled_dir, user_dir)``; :func:`default_resolver` uses the app's folders."""

    def __init__(self, bundled_dir: str | os.PathLike | None = None,
                 user_dir: str | os.PathLike | None = None) -> None:
        from srgan_desktop import paths

        self.bundled_dir = Path(bundled_dir) if bundled_dir is not None else paths.weights_dir()
        self.user_dir = Path(user_dir) if user_dir else None

    @classmethod
    def default(cls) -> "ModelResolver":
        """The bundled models and the user model folder of this installation."""
        from srgan_desktop import paths

        return cls(paths.weights_dir(), paths.user_models_dir())

    # --- which models there are ---------------------------------------------------------

    def entries(self) -> list[ModelEntry]:
        """Every bundled and user model, available or not (with the reason); loads nothing."""
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
                bundled=True, available=ok, scale=_card_int(card, "scale"),
                architecture=str(card.get("architecture", "")),
                reason="" if ok else f"no weights yet: {weights.name} is missing (train and export it "
                                     f"with srgan-train)"))
        if self.user_dir and self.user_dir.is_dir():
            for path in sorted(self.user_dir.iterdir()):
                if path.suffix.lower() in WEIGHT_SUFFIXES and not path.name.startswith("."):
                    found.append(self._file_entry(path, source="user"))
        return found

    def _file_entry(self, path: Path, source: str, name: str | None = None) -> ModelEntry:
        card_path = path.with_suffix(".json")
        try:
            card = read_card(card_path) if card_path.is_file() else {}
        except WeightsError:
            card = {}  # the weights still load; the card only adds a title
        ok = path.is_file()
        return ModelEntry(name=name or path.stem, title=card.get("title", name or path.stem), path=path,
                          card=card, bundled=False, available=ok, source=source,
                          reason="" if ok else f"weights file not found: {path}",
                          scale=_card_int(card, "scale"), architecture=str(card.get("architecture", "")))

    def probed(self, entry: ModelEntry) -> ModelEntry:
        """``entry`` as its file really is: loaded once (cached per file version) so that a
        truncated or unsafe file is unavailable with the loader's reason, and the scale and
        architecture are the weights' own, not the card's guess.  ``entries()`` loads nothing;
        ``models list`` probes the user models with this."""
        if not entry.available or entry.path is None:
            return entry
        try:
            descriptor = self.describe(entry.path)
        except WeightsError as exc:
            return dataclasses.replace(entry, available=False, reason=f"damaged or unusable: {exc}")
        return dataclasses.replace(entry, scale=descriptor.scale, architecture=descriptor.architecture)

    def find(self, spec: str | os.PathLike, scale: int | None = None) -> ModelEntry:
        """A model by name (``srresnet`` also matches ``srresnet_x4``), by path, or ``KEY=FILE``.

        A short name that several bundled models share (``srresnet``: ``srresnet_x2`` and
        ``srresnet_x4``) finds the one at ``scale``, else the ×4 one (the paper's), else the first.

        Raises :class:`WeightsError` for an unknown name (listing the known ones)."""
        text = str(spec)
        key, sep, target = text.partition("=")
        if sep and key and target and not Path(text).exists():
            entry = self.find(target)
            return dataclasses.replace(entry, name=key.strip(), title=key.strip())
        if _looks_like_path(text):
            return self._file_entry(Path(text), source="file")
        entries = self.entries()
        for entry in entries:
            if entry.name == text:
                return entry
        short = [e for e in entries if e.bundled and e.name.split("_x")[0] == text]
        for wanted in (scale, 4):
            for entry in short:
                if wanted is not None and entry.scale == wanted:
                    return entry
        if short:
            return short[0]
        if text.lower() in BUNDLED_NAMES:
            raise NoWeights(f"no weights for '{text}' yet: {text}_x4.safetensors is not in "
                            f"{self.bundled_dir} (train and export it with srgan-train)")
        known = ", ".join(e.name for e in entries) or "none"
        raise WeightsError(f"no model called '{text}' (known: {known}; or give a weights file path)")

    # --- what a model is --------------------------------------------------------------------

    def _available(self, spec: str | os.PathLike, scale: int | None = None) -> ModelEntry:
        entry = self.find(spec, scale)
        if entry.available and entry.path is not None:
            return entry
        if entry.source == "file":  # a path that is not there: a mistake, not a model in waiting
            raise WeightsError(entry.reason)
        raise NoWeights(f"model '{entry.name}': {entry.reason}")

    def load(self, spec: str | os.PathLike, scale: int | None = None) -> tuple[torch.nn.Module, ModelDescriptor]:
        """Load a model by name, path or ``KEY=FILE``: (module in eval mode, descriptor).

        Raises :class:`NoWeights` for a known model without weights, :class:`WeightsError` for
        anything else that cannot be loaded (unknown name, unsafe or broken file, not SR)."""
        entry = self._available(spec, scale)
        model, descriptor = load_model(entry.path, card=entry.card or None, name=entry.name)
        if entry.title and not descriptor.title:
            descriptor.title = entry.title
        with _DESCRIBED_LOCK:
            _DESCRIBED[_file_key(entry.path)] = descriptor
        return model, descriptor

    def describe(self, spec: str | os.PathLike) -> ModelDescriptor:
        """The descriptor of a model (loaded once per file version, then cached)."""
        entry = self._available(spec)
        with _DESCRIBED_LOCK:
            cached = _DESCRIBED.get(_file_key(entry.path))
        if cached is not None:
            return dataclasses.replace(cached, name=entry.name,
                                       title=cached.title or entry.title)
        return self.load(spec)[1]

    def check(self, spec: str | os.PathLike) -> tuple[bool, str]:
        """(can it run, why not): loads the model once (cached) to be sure."""
        try:
            self.describe(spec)
        except WeightsError as exc:
            return False, str(exc)
        return True, ""

    def scale_of(self, spec: str | os.PathLike) -> int:
        """The model's scale (×2, ×4...), from its weights."""
        return self.describe(spec).scale

    def method(self, spec: str | os.PathLike, scale: int | None = None) -> "Method":
        """An engine method for ``bicubic`` (at ``scale``, default 4) or a model spec."""
        from srgan_desktop.core.engine import BicubicMethod, NetworkMethod

        if str(spec).strip().lower() == BICUBIC:
            return BicubicMethod(scale or 4)
        parsed = parse_method(str(spec))
        if parsed.kind == "results":
            raise WeightsError(f"'{spec}' is a folder of results, not a model")
        model, descriptor = self.load(spec, scale)
        if scale is not None and descriptor.scale != scale:
            raise WeightsError(f"{descriptor.name} is a ×{descriptor.scale} model, ×{scale} was asked for")
        return NetworkMethod(model, descriptor)

    # --- the user model folder --------------------------------------------------------------

    def _require_user_dir(self) -> Path:
        if self.user_dir is None:
            raise WeightsError("no user model folder is configured")
        return self.user_dir

    def add(self, path: str | os.PathLike, name: str | None = None) -> ModelEntry:
        """Check that ``path`` loads (once), then copy it (and its card) into the user folder."""
        source = Path(path)
        _model, descriptor = load_model(source)  # refuses unsafe, broken and non-SR files
        folder = self._require_user_dir()
        stem = name or source.stem
        if not stem or "/" in stem or "\\" in stem or stem.startswith("."):
            raise WeightsError(f"'{stem}' cannot be a model name")
        target = folder / f"{stem}{source.suffix.lower()}"
        clash = [e.name for e in self.entries() if e.name == stem]
        if clash:
            raise WeightsError(f"there is already a model called '{stem}' (remove it first, or "
                               f"add this one under another name)")
        card, card_target = source.with_suffix(".json"), target.with_suffix(".json")
        had_card = card_target.exists()
        try:  # both files go to part files first: a full disk leaves the folder as it was
            folder.mkdir(parents=True, exist_ok=True)
            with atomic_path(target) as tmp:
                shutil.copyfile(source, tmp)
                if card.is_file():
                    with atomic_path(card_target) as card_tmp:
                        shutil.copyfile(card, card_tmp)
        except OSError as exc:
            if card.is_file() and not had_card and not target.exists():
                card_target.unlink(missing_ok=True)
            raise WeightsError(f"could not add {source.name} to {folder}: {exc.strerror or exc}; "
                               f"nothing was added") from exc
        entry = self._file_entry(target, source="user")
        entry.scale, entry.architecture = descriptor.scale, descriptor.architecture
        return entry

    def remove(self, name: str) -> Path:
        """Delete a user model (and its card); bundled models cannot be removed."""
        entry = self.find(name)
        if entry.bundled:
            raise WeightsError(f"'{entry.name}' is bundled with the app and cannot be removed")
        if entry.source != "user" or entry.path is None:
            raise WeightsError(f"'{name}' is not in the user model folder ({self.user_dir})")
        entry.path.unlink()
        entry.path.with_suffix(".json").unlink(missing_ok=True)
        return entry.path


def _card_int(card: dict[str, Any], key: str) -> int | None:
    try:
        return int(card[key]) if key in card else None
    except (TypeError, ValueError):
        return None


def default_resolver() -> ModelResolver:
    """Bundled models plus the user's model folder."""
    return ModelResolver.default()
