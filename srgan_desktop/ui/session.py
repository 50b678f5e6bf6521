"""The comparison's state, without Qt: the image, the mode, the methods and their results.

* *upscale* mode: the opened image is the LR input;
* *simulate* mode: the opened image is the ground truth; it is cropped to a multiple of 4 and
  reduced with the MATLAB-compatible bicubic (:func:`srgan_desktop.core.resize.downscale`),
  and every result is scored against it (PSNR/SSIM on Y, border 4).

Results are cached per (LR image hash, method, device) in a size-bounded LRU, so switching
modes or re-opening an image does not recompute what is known.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from srgan_desktop.core.engine import UpscaleResult
from srgan_desktop.core.images import LoadedImage
from srgan_desktop.core.metrics import ImageScores
from srgan_desktop.core.resize import downscale
from srgan_desktop.core.weights import ModelRegistry

__all__ = ["MethodInfo", "MethodResult", "ComparisonSession", "MODES", "INPUT_KEY", "REFERENCE_KEY",
           "BICUBIC_KEY", "SCALE", "image_hash"]

MODES = ("upscale", "simulate")
INPUT_KEY = "input"
REFERENCE_KEY = "reference"
BICUBIC_KEY = "bicubic"
SCALE = 4
SCORE_BORDER = 4


@dataclass(frozen=True)
class MethodInfo:
    """One way of making the ×4 image: bicubic or a model of the registry."""

    key: str
    title: str
    available: bool = True
    reason: str = ""
    model: str | Path | None = None  # registry name or weights path; None for bicubic

    @property
    def is_bicubic(self) -> bool:
        return self.model is None


@dataclass
class MethodResult:
    """A finished run with its scores against the ground truth (simulate mode)."""

    result: UpscaleResult
    scores: ImageScores | None = None
    display: object | None = None  # a ui.image_pane.Raster made off the GUI thread
    reference_hash: str = ""       # the ground truth ``scores`` were measured against


@dataclass
class _Cache:
    max_bytes: int
    items: OrderedDict[tuple[str, str, str], MethodResult] = field(default_factory=OrderedDict)

    def get(self, key: tuple[str, str, str]) -> MethodResult | None:
        item = self.items.get(key)
        if item is not None:
            self.items.move_to_end(key)
        return item

    def put(self, key: tuple[str, str, str], value: MethodResult) -> None:
        self.items[key] = value
        self.items.move_to_end(key)
        while len(self.items) > 1 and sum(_size(v) for v in self.items.values()) > self.max_bytes:
            self.items.popitem(last=False)


def _size(done: MethodResult) -> int:
    """Bytes a cached result holds: its pixels and the display copy (QImage, pyramid)."""
    return int(done.result.rgb.nbytes + getattr(done.display, "nbytes", 0))


def _paper_order(entry: object) -> tuple[int, str]:
    """SRResNet before SRGAN (the paper's order), bundled before user models, then by name."""
    name = str(getattr(entry, "name", ""))
    rank = 0 if name.startswith("srresnet") else 1 if name.startswith("srgan") else 2
    return (rank + (0 if getattr(entry, "bundled", False) else 3), name)


def image_hash(rgb: np.ndarray) -> str:
    digest = hashlib.blake2b(digest_size=16)
    digest.update(str(rgb.shape).encode())
    digest.update(np.ascontiguousarray(rgb).data)
    return digest.hexdigest()


class ComparisonSession:
    """What is open and what has been computed for it."""

    def __init__(self, registry: ModelRegistry | None = None,
                 cache_bytes: int = 2048 * 1024 * 1024) -> None:
        self.registry = registry
        self.mode = "upscale"
        self.source: LoadedImage | None = None
        self.lr: np.ndarray | None = None
        self.lr_alpha: np.ndarray | None = None  # upscale mode keeps transparency
        self.reference: np.ndarray | None = None
        self.lr_hash = ""
        self.reference_hash = ""
        self.results: dict[str, MethodResult] = {}
        self._cache = _Cache(cache_bytes)
        self._methods: list[MethodInfo] = []
        self.refresh_methods()

    # --------------------------------------------------------------- methods
    def refresh_methods(self) -> list[MethodInfo]:
        """Bicubic plus every registry model; a model without weights is listed, unavailable."""
        methods = [MethodInfo(BICUBIC_KEY, "Bicubic")]
        if self.registry is not None:
            try:
                entries = self.registry.entries()
            except Exception as exc:  # a broken card must not take the window down
                methods.append(MethodInfo("registry", "Models", False, f"model registry: {exc}"))
                entries = []
            for entry in sorted(entries, key=_paper_order):
                key = entry.name if entry.name not in (BICUBIC_KEY, INPUT_KEY, REFERENCE_KEY) \
                    else f"model_{entry.name}"
                methods.append(MethodInfo(key, entry.title, entry.available, entry.reason,
                                          entry.name if entry.bundled else entry.path))
        self._methods = methods
        return list(methods)

    def methods(self) -> list[MethodInfo]:
        return list(self._methods)

    def method(self, key: str) -> MethodInfo:
        for info in self._methods:
            if info.key == key:
                return info
        raise KeyError(key)

    def available_methods(self) -> list[MethodInfo]:
        return [m for m in self._methods if m.available]

    # ------------------------------------------------------------------ image
    def open(self, image: LoadedImage, mode: str | None = None) -> None:
        """Use ``image`` (as LR input or as ground truth, by ``mode``); results are cleared.

        All or nothing: when the image cannot be used in that mode (e.g. an image smaller than
        4 px in Simulate mode) the error propagates and the session keeps its previous image."""
        self._apply(image, mode or self.mode)

    def set_mode(self, mode: str) -> None:
        """Switch between Upscale and Simulate for the current image (all or nothing, like open)."""
        self._apply(self.source, mode)

    def _apply(self, source: LoadedImage | None, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode '{mode}' (use {' or '.join(MODES)})")
        lr = reference = lr_alpha = None
        lr_hash = reference_hash = ""
        if source is not None:
            rgb = source.rgb
            if mode == "simulate":
                h, w = rgb.shape[0] - rgb.shape[0] % SCALE, rgb.shape[1] - rgb.shape[1] % SCALE
                lr = downscale(rgb, SCALE)
                reference = np.ascontiguousarray(rgb[:h, :w])
            else:
                lr, lr_alpha = rgb, source.alpha
            lr_hash = image_hash(lr if lr_alpha is None else np.dstack([lr, lr_alpha]))
            reference_hash = image_hash(reference) if reference is not None else ""
        # Nothing above changed the session; commit the new state in one go.
        self.source, self.mode, self.results = source, mode, {}
        self.lr, self.reference, self.lr_alpha = lr, reference, lr_alpha
        self.lr_hash, self.reference_hash = lr_hash, reference_hash

    @property
    def has_image(self) -> bool:
        return self.lr is not None

    def pane_keys(self) -> list[str]:
        """The panes to show, in order: LR input, every method, then the ground truth."""
        keys = [INPUT_KEY] + [m.key for m in self._methods if m.key != "registry"]
        if self.reference is not None:
            keys.append(REFERENCE_KEY)
        return keys

    def title(self, key: str) -> str:
        if key == INPUT_KEY:
            return "LR input (nearest ×4)"
        if key == REFERENCE_KEY:
            return "HR ground truth"
        return self.method(key).title

    def image_for(self, key: str) -> np.ndarray | None:
        """The full-resolution array behind a pane (LR at its own size), if there is one."""
        if key == INPUT_KEY:
            return self.lr
        if key == REFERENCE_KEY:
            return self.reference
        done = self.results.get(key)
        return None if done is None else done.result.rgb

    def display_scale(self, key: str) -> int:
        return SCALE if key == INPUT_KEY else 1

    # ---------------------------------------------------------------- results
    def cache_key(self, key: str, device: str) -> tuple[str, str, str]:
        return (self.lr_hash, key, "cpu" if key == BICUBIC_KEY else device)

    def cached(self, key: str, device: str) -> MethodResult | None:
        return self._cache.get(self.cache_key(key, device))

    def store(self, key: str, device: str, done: MethodResult) -> None:
        self.results[key] = done
        self._cache.put(self.cache_key(key, device), done)

    def use_cached(self, key: str, device: str) -> MethodResult | None:
        """Take a cached result as the current one if it fits the mode; else None.

        A result scored against another ground truth (or none) does not fit simulate mode:
        then :meth:`cached` still gives the pixels, to be scored again off the GUI thread.
        """
        done = self.cached(key, device)
        if done is None:
            return None
        if done.reference_hash != self.reference_hash:
            if self.reference is not None:
                return None
            done = MethodResult(done.result, None, done.display)
        self.results[key] = done
        return done

    def clear_cache(self) -> None:
        self._cache.items.clear()

    def scores(self, key: str) -> ImageScores | None:
        done = self.results.get(key)
        return None if done is None else done.scores

    def score_text(self, key: str) -> str:
        scores = self.scores(key)
        if scores is None:
            return ""
        return f"{scores.psnr:.2f} dB / {scores.ssim:.4f}"
