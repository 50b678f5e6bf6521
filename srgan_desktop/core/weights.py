"""Model weights: the one safe checkpoint loader and the one model descriptor.

* :func:`load_state_dict` is the only code that opens a weights file: ``.safetensors``
  (preferred), or ``.pth``/``.pt``/``.ckpt`` with ``torch.load(weights_only=True)`` — a pickle
  that would build any Python object other than tensors and plain containers is refused
  before anything runs (tests/test_weights.py: a pickle that would create a file creates none).
  It unwraps the usual checkpoint containers (``state_dict``, ``params``, ``params_ema``,
  ``model``, ``generator``, ``netG``) and strips ``module.`` prefixes.
* :func:`load_model` turns those tensors into a ready module and a :class:`ModelDescriptor`:
  SRResNet-shaped weights (the paper's family; spandrel has no SRResNet) load into our
  :class:`~srgan_desktop.core.arch.SRResNet`; any other architecture is detected by ``spandrel``
  (the MIT core package, never ``spandrel_extra_arches``) from the state dict we read —
  ESRGAN/RRDBNet, Real-ESRGAN (Compact), SwinIR, HAT, DAT, OmniSR, SPAN... Models whose purpose
  is not super-resolution (denoisers, inpainting) and non-RGB models are refused with a message.
* The descriptor's tiling policy: ``exact`` (pad every tile by the receptive radius: our
  SRResNets and the local CNNs of ``LOCAL_ARCHITECTURES`` up to ``EXACT_PAD_LIMIT``), ``blend``
  (overlapping tiles with feathered seams: transformers and deep CNNs) or ``whole``.
* Which model a *name* means (bundled, user folder, path) is :mod:`srgan_desktop.core.models`.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import re
import warnings
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.utils import atomic_path, sha256_file
from srgan_desktop.core.arch import SRResNet, receptive_radius

__all__ = ["WeightsError", "ModelDescriptor", "describe_spandrel", "load_model", "load_state_dict", "save_model",
           "read_card", "check_zip_size", "sha256_file", "layer_profile", "WEIGHT_SUFFIXES", "TILING_POLICIES",
           "EXACT_PAD_LIMIT", "BLEND_OVERLAP", "BLEND_CONTEXT", "LOCAL_ARCHITECTURES"]

WEIGHT_SUFFIXES = {".safetensors", ".pth", ".pt", ".ckpt"}
_WRAPPERS = ("params_ema", "params", "state_dict", "model", "generator", "netG", "model_state")


class WeightsError(SrganDesktopError):
    """A weights file could not be used; the message says why and which file/key."""


#: How the engine may cut an image into tiles for a model (see :mod:`srgan_desktop.core.engine`).
TILING_POLICIES = ("exact", "blend", "whole")

#: Above this receptive radius (LR pixels) a local CNN is tiled with overlap and blending
#: instead of exact padding: ESRGAN's 23 RRDB blocks reach ~350 LR pixels, and padding every
#: 512-px tile by that would cost ~5.5× the work for a difference below 8-bit rounding.
EXACT_PAD_LIMIT = 64
#: Overlap (LR pixels) of blended tiles; each tile also sees BLEND_CONTEXT more pixels of
#: context on each side that are computed and thrown away.
BLEND_OVERLAP = 16
BLEND_CONTEXT = 32

#: spandrel architectures checked to be purely local (convolutions, pixel shuffles, nearest
#: upsampling, element-wise activations): their receptive radius is computed from the layers and
#: tiling with that padding is exact (tests/test_models.py).  Every other architecture —
#: transformers (SwinIR, HAT, DAT...), global channel attention (RCAN's pooling) — is blended.
LOCAL_ARCHITECTURES = ("ESRGAN", "RealESRGAN Compact")


@dataclass
class ModelDescriptor:
    """What a caller needs to know to run a model (never inspect state-dict keys yourself).

    The one record for every model, bundled, user or any file, whatever loaded it: the engine
    reads its scale, size requirements, tiling policy and precisions; the CLI's ``models info``
    prints it.  Fields after ``card`` were added for models loaded through spandrel; their
    defaults describe the paper's SRResNet, so ``ModelDescriptor(name=..., num_blocks=...)``
    still describes a home-made SRResNet."""

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
    title: str = ""
    purpose: str = "SR"                 # spandrel's purpose: SR, FaceSR, Restoration, Inpainting
    loader: str = "srgan_desktop"       # "srgan_desktop" (SRResNet family) or "spandrel"
    input_channels: int = 3
    output_channels: int = 3
    params: int = 0
    supports_bf16: bool = True
    min_size: int = 0                   # LR side the input must at least have (padded up to it)
    multiple_of: int = 1                # LR sides must be multiples of this (padded up to it)
    square: bool = False                # the input must be square (padded to it)
    tiling: str = "exact"               # one of TILING_POLICIES
    pad: int | None = None              # LR context per tile side; None: derived (SRResNet radius)
    overlap: int = 0                    # blended tiles' overlap in LR pixels (tiling "blend")
    tags: list[str] = field(default_factory=list)
    sha256: str = ""
    bytes_per_lr_pixel: int = 0         # peak memory estimate per padded LR pixel; 0: the engine's
    edge_pad: int = 0                   # card "edge_pad": LR pixels of the picture mirrored around
                                        # it before the network (exact tiling only)

    def __post_init__(self) -> None:
        if self.pad is None and self.architecture == "srresnet":
            self.pad = receptive_radius(self.num_blocks, self.scale)
        if self.tiling not in TILING_POLICIES:
            raise ValueError(f"tiling must be one of {TILING_POLICIES}, not {self.tiling!r}")

    def summary(self) -> dict[str, Any]:
        """The descriptor as plain JSON-able data (no card, paths as strings)."""
        data = {k: v for k, v in asdict(self).items() if k != "card"}
        data["path"] = str(self.path) if self.path else None
        data["input_range"], data["output_range"] = list(self.input_range), list(self.output_range)
        return data


#: A model card is a few KB of JSON; anything larger is not one (and is never parsed).
CARD_MAX_BYTES = 1 << 20
#: A card's ``edge_pad`` (LR pixels of picture mirrored around the image before the network, cut
#: off after): a network that learned to paint at its zero-padded borders gets picture there.
#: Why: the bundled srgan_x4 draws coloured stripes into its first ~10 columns of every photo
#: (on grayscale Set5 img_001, mean chroma |RGB − mean| 9.3 in columns 0–9 against 1.5 inside).
#: Measured on that image (``python scripts/edge_chroma.py``): 8 mirrored pixels bring the worst
#: border band to 1.24× the interior (4 pixels: 2.19×; 16: no better than 8).  Mirrored, not
#: replicated: a replicated edge is flat, which NIQE scores as unnatural (Set14 img 4: 6.84 vs
#: 6.11 mirrored).  The stripes had also *lowered* srgan_x4's NIQE below the HR image's own
#: (Set14 img 1: 5.24 with stripes, HR 5.99, mirrored 5.88; the centre 96 px in unchanged):
#: see its card.  At most 64: it is context, not a second image.
EDGE_PAD_MAX = 64
#: The card fields the app reads, and what each must be (anything else is kept, never used).
_CARD_STRINGS = ("name", "title", "architecture", "variant")


def read_card(path: Path) -> dict[str, Any]:
    """Read a model card: a JSON object of at most :data:`CARD_MAX_BYTES`, UTF-8, whose fields the
    app reads have their types (``scale`` an integer 1–16, the ranges two finite numbers lo < hi,
    names strings).  Anything else — not UTF-8, a list, nested past Python's recursion limit,
    a 5,000-digit number, a scale of 10⁹ — raises :class:`WeightsError` naming the file, so one
    hostile card never breaks the other models or shows a traceback."""
    try:
        if path.stat().st_size > CARD_MAX_BYTES:
            raise WeightsError(f"model card {path.name} is not a model card ({path.stat().st_size:,} bytes; "
                               f"cards are under {CARD_MAX_BYTES:,})")
        card = json.loads(path.read_text(encoding="utf-8"))
    except WeightsError:
        raise
    except (OSError, ValueError, RecursionError) as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        detail = "nested too deeply" if isinstance(exc, RecursionError) else " ".join(str(exc).split())[:120]
        raise WeightsError(f"model card {path.name} is unreadable: {detail}") from exc
    if not isinstance(card, dict):
        raise WeightsError(f"model card {path.name} is not a JSON object but a {type(card).__name__}")
    _check_card(card, path)
    return card


def _check_card(card: dict[str, Any], path: Path) -> None:
    def bad(field_: str, why: str) -> WeightsError:
        return WeightsError(f"model card {path.name}: {field_!r} {why}")

    for key in _CARD_STRINGS:
        if key in card and not isinstance(card[key], str):
            raise bad(key, "is not a string")
    if "scale" in card:
        scale = card["scale"]
        if isinstance(scale, bool) or not isinstance(scale, int) or not 1 <= scale <= 16:
            raise bad("scale", f"must be an integer from 1 to 16, not {str(scale)[:20]}")
    if "edge_pad" in card:
        value = card["edge_pad"]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= EDGE_PAD_MAX:
            raise bad("edge_pad", f"must be an integer from 0 to {EDGE_PAD_MAX}, not {str(value)[:20]}")
    for key in ("input_range", "output_range"):
        if key in card:
            value = card[key]
            ok = (isinstance(value, list) and len(value) == 2
                  and all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                          for v in value) and value[0] < value[1])
            if not ok:
                raise bad(key, "must be two finite numbers lo < hi")


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


#: Tensors whose name ends so are learned parameters: they must be floats.  Other integer
#: tensors are buffers a model may hold (BatchNorm's step counter, SwinIR's position index).
_FLOAT_ONLY = ("weight", "bias", "running_mean", "running_var")


def _check_values(state: dict[str, torch.Tensor], path: Path) -> dict[str, torch.Tensor]:
    """Refuse tensors no float model can use: integer or bool weights, NaN or ±Inf values
    (which would otherwise come out as an all-black picture)."""
    for key, tensor in state.items():
        floating = tensor.is_floating_point() or tensor.is_complex()
        if not floating and not key.endswith(_FLOAT_ONLY):
            continue
        if not floating:
            raise WeightsError(f"{path.name}: tensor '{key}' holds {str(tensor.dtype).replace('torch.', '')} "
                               f"values where float weights belong")
        if not bool(torch.isfinite(tensor).all()):
            raise WeightsError(f"{path.name}: tensor '{key}' holds NaN or infinite values; the weights "
                               f"are damaged (a diverged training run?)")
    return state


#: A zip checkpoint whose directory claims more than this many times its own size (plus
#: ZIP_SLACK) uncompressed is refused before anything is extracted: torch writes its members
#: uncompressed, so only a crafted file ("zip bomb": 8 GB from 35 MB) comes near.
ZIP_MAX_RATIO = 4
ZIP_SLACK = 16 << 20

_KINDS = {"zip": "a PyTorch zip checkpoint", "pickle": "a Python pickle", "safetensors": "a safetensors file",
          "text": "a plain text file", "empty": "an empty file", "binary": "neither a PyTorch checkpoint "
          "nor a safetensors file (unknown binary data)"}


def _sniff(path: Path) -> str:
    """What the file is by its first bytes: zip, pickle, safetensors, text, empty or binary."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(4096)
    if not head:
        return "empty"
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if head[0] == 0x80 and len(head) > 1 and 2 <= head[1] <= 5:
        return "pickle"
    if len(head) > 9 and 2 <= int.from_bytes(head[:8], "little") <= size - 8 and head[8:9] == b"{":
        return "safetensors"
    text = head.decode("utf-8", errors="replace")
    if text.count("\ufffd") <= 3 and all(c.isprintable() or c in "\t\r\n\f" for c in text.replace("\ufffd", "")):
        return "text"
    return "binary"


def check_zip_size(path: Path) -> None:
    """Refuse a zip checkpoint whose directory claims an uncompressed size far beyond the file's
    (:data:`ZIP_MAX_RATIO`); a file that is not a zip archive passes (nothing to claim)."""
    import zipfile

    with open(path, "rb") as handle:
        if handle.read(4) != b"PK\x03\x04":
            return
    try:
        with zipfile.ZipFile(path) as archive:
            claimed = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise WeightsError(f"{path.name}: a damaged zip checkpoint ({exc})") from exc
    size = path.stat().st_size
    if claimed > ZIP_MAX_RATIO * size + ZIP_SLACK:
        raise WeightsError(f"{path.name} was refused: its zip directory claims {claimed:,} bytes "
                           f"uncompressed from a {size:,}-byte file (a zip bomb?); torch writes "
                           f"checkpoints uncompressed")


def load_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read tensors from a safetensors file or a *weights-only* torch pickle; integer, bool and
    non-finite weights are refused (:func:`_check_values`).

    What the file *is* is read from its first bytes, whatever its name says: a safetensors file
    named ``.bin``/``.pth`` or a text file is refused saying so (not as "could run code", which
    is kept for pickles whose objects the weights-only unpickler refused), and a zip checkpoint
    is checked against its directory's claimed sizes before torch extracts anything."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file not found: {path}")
    try:
        kind = _sniff(path)
    except OSError as exc:
        raise WeightsError(f"could not read {path}: {exc.strerror or exc}") from exc
    is_safetensors_name = path.suffix.lower() == ".safetensors"
    if is_safetensors_name and kind not in ("safetensors", "binary"):
        raise WeightsError(f"{path.name} is {_KINDS[kind]}, not a safetensors file"
                           + (f"; rename it to {path.stem}.pth" if kind in ("zip", "pickle") else ""))
    if not is_safetensors_name and kind == "safetensors":
        raise WeightsError(f"{path.name} is a safetensors file, not a PyTorch checkpoint: rename it "
                           f"to {path.stem}.safetensors")
    if not is_safetensors_name and kind in ("text", "empty", "binary"):
        raise WeightsError(f"{path.name} is {_KINDS[kind]}, not model weights")
    if kind == "zip":
        check_zip_size(path)
    if is_safetensors_name:
        # safetensors stores keys sorted; restore module order (natural sort) for foreign names
        try:
            tensors = load_file(str(path), device="cpu")
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsError(f"{path.name}: not a valid safetensors file ({exc})") from exc
        return _check_values(OrderedDict(sorted(tensors.items(), key=lambda kv: _natural_key(kv[0]))), path)
    try:
        obj = torch.load(str(path), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        refused = [line for line in lines if "GLOBAL" in line or "Unsupported" in line]
        if not refused and "Weights only" not in str(exc):  # a damaged pickle, not a hostile one
            raise WeightsError(f"{path.name}: {_KINDS[kind]} that is not a readable checkpoint "
                               f"({(lines or ['?'])[0][:160]})") from exc
        raise WeightsError(
            f"{path.name} was refused: it is {_KINDS[kind]} holding Python objects beyond plain "
            f"tensors, and loading it could run code. Only weights-only checkpoints are accepted; re-save it "
            f"as a plain state dict or as .safetensors. (detail: {(refused or lines or ['?'])[0][:200]})") from exc
    except Exception as exc:  # noqa: BLE001  garbage input makes the unpickler raise anything
        # (KeyError, IndexError, struct.error...): it is still just "not a checkpoint"
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise WeightsError(f"{path.name}: not a readable PyTorch checkpoint ({detail})") from exc
    return _check_values(_unwrap(obj, path), path)


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


def _is_srresnet_shaped(state: dict[str, torch.Tensor]) -> bool:
    """Our family's mark: a 9×9 convolution from RGB (spandrel has no SRResNet)."""
    return any(v.ndim == 4 and tuple(v.shape[1:]) == (3, 9, 9) for v in state.values())


def load_model(path: str | os.PathLike, card: dict[str, Any] | None = None,
               name: str | None = None) -> tuple[torch.nn.Module, ModelDescriptor]:
    """Load any supported checkpoint; returns the model in eval mode and its descriptor.

    The tensors are always read by :func:`load_state_dict` (safetensors, or a weights-only
    unpickler), whichever architecture they turn out to be: spandrel only ever sees a state
    dict, never a file.  SRResNet-shaped weights load into :class:`~srgan_desktop.core.arch.SRResNet`;
    everything else goes to spandrel's architecture detection (core package only)."""
    path = Path(path)
    state = load_state_dict(path)
    if card is None:
        card_path = path.with_suffix(".json")
        card = read_card(card_path) if card_path.is_file() else {}
    if _is_srresnet_shaped(state) or str(card.get("architecture", "")).lower() == "srresnet":
        model, descriptor = _load_srresnet(state, path, card, name)
    else:
        model, descriptor = _load_spandrel(state, path, card, name)
    descriptor.sha256 = sha256_file(path)
    descriptor.params = sum(p.numel() for p in model.parameters())
    return model, descriptor


def _load_srresnet(state: dict[str, torch.Tensor], path: Path, card: dict[str, Any],
                   name: str | None) -> tuple[torch.nn.Module, ModelDescriptor]:
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
        variant=str(card.get("variant", "")), path=path, card=card,
        title=str(card.get("title", "")), tags=[f"{num_blocks}nb", f"{channels}nf"],
        edge_pad=int(card.get("edge_pad", 0)))
    return model, descriptor


class SpandrelNet(torch.nn.Module):
    """A spandrel model as a plain module: ``forward`` is spandrel's call (its own call function,
    output clamped to [0, 1]); the engine has already padded the input to the size requirements."""

    def __init__(self, loaded: Any) -> None:
        super().__init__()
        self.net = loaded.model
        self._call = loaded._call_fn  # noqa: SLF001  the architecture's own way to run the net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._call(self.net, x).clamp(0.0, 1.0)


def _load_spandrel(state: dict[str, torch.Tensor], path: Path, card: dict[str, Any],
                   name: str | None) -> tuple[torch.nn.Module, ModelDescriptor]:
    try:
        import spandrel
    except ImportError as exc:  # a build without spandrel still loads SRResNets
        raise WeightsError(f"{path.name}: not an SRResNet, and spandrel (which loads the other "
                           f"architectures) is not installed") from exc
    # spandrel's SwinIR family calls torch.meshgrid without indexing= (a deprecation notice only)
    warnings.filterwarnings("ignore", message=r"torch\.meshgrid: in an upcoming release")
    state = spandrel.canonicalize_state_dict(dict(state))
    try:
        loaded = spandrel.MAIN_REGISTRY.load(state)
    except spandrel.UnsupportedModelError as exc:
        raise WeightsError(f"{path.name}: not an SRResNet, and not an architecture spandrel knows "
                           f"(ESRGAN, Real-ESRGAN, SwinIR, HAT, ...)") from exc
    except Exception as exc:  # noqa: BLE001  a recognised architecture with inconsistent tensors
        detail = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise WeightsError(f"{path.name}: spandrel recognised it but could not load it ({detail})") from exc
    arch = loaded.architecture.name
    if not isinstance(loaded, spandrel.ImageModelDescriptor) or loaded.purpose not in ("SR", "FaceSR"):
        raise WeightsError(f"{path.name}: a {arch} model for {loaded.purpose}, not a super-resolution "
                           f"model; srgan-desktop runs only super-resolution (SR) models")
    if loaded.input_channels != 3 or loaded.output_channels != 3:
        raise WeightsError(f"{path.name}: a {arch} model with {loaded.input_channels} input and "
                           f"{loaded.output_channels} output channels; only RGB (3 → 3) models run")
    if loaded.scale < 1:
        raise WeightsError(f"{path.name}: a {arch} model of scale {loaded.scale}")
    return SpandrelNet(loaded).eval(), describe_spandrel(loaded, name or card.get("name", path.stem),
                                                         path=path, card=card)


def describe_spandrel(loaded: Any, name: str, path: Path | None = None,
                      card: dict[str, Any] | None = None) -> ModelDescriptor:
    """The engine's description of a spandrel ``ImageModelDescriptor``: its size requirements,
    precisions and the tiling rule — ``exact`` with the measured receptive radius for the local
    CNNs of :data:`LOCAL_ARCHITECTURES` (up to :data:`EXACT_PAD_LIMIT`), ``whole`` for models that
    tile internally, else ``blend``.  The one place that rule lives: the loader and the trainer's
    validation (which runs a student that is still training) both call it."""
    import spandrel

    card = card or {}
    arch = loaded.architecture.name
    req = loaded.size_requirements
    radius, bytes_per_px = layer_profile(loaded.model)
    if arch in LOCAL_ARCHITECTURES and radius <= EXACT_PAD_LIMIT:
        tiling, pad, overlap = "exact", radius, 0
    elif loaded.tiling == spandrel.ModelTiling.INTERNAL:
        tiling, pad, overlap = "whole", 0, 0
    else:
        tiling, pad, overlap = "blend", BLEND_CONTEXT, BLEND_OVERLAP
    return ModelDescriptor(
        name=name, architecture=arch, scale=int(loaded.scale),
        num_blocks=0, channels=0, supports_half=bool(loaded.supports_half), path=path, card=card,
        title=str(card.get("title", "")), purpose=str(loaded.purpose), loader="spandrel",
        input_channels=int(loaded.input_channels), output_channels=int(loaded.output_channels),
        supports_bf16=bool(loaded.supports_bfloat16), min_size=int(req.minimum),
        multiple_of=int(req.multiple_of), square=bool(req.square), tiling=tiling, pad=pad,
        overlap=overlap, tags=list(loaded.tags), variant=str(card.get("variant", "")),
        bytes_per_lr_pixel=bytes_per_px, edge_pad=int(card.get("edge_pad", 0)))


def layer_profile(model: torch.nn.Module) -> tuple[int, int]:
    """(receptive radius in input pixels, peak memory estimate in bytes per input pixel).

    Walks the modules in registration order (the execution order of the sequential CNNs the
    radius is used for, see ``LOCAL_ARCHITECTURES``), tracking the resolution, which pixel
    shuffles, nearest upsampling and strided convolutions change; a functional pixel-unshuffle
    at the input (Real-ESRGAN ×2/×1, ``shuffle_factor``) starts the walk at the lower one.

    * radius: each convolution adds ``(k − 1)/2 · dilation`` pixels at its own resolution,
      +1 for the rounding of nearest upsampling;
    * memory: 3 × 4 bytes × the widest layer output per input pixel (channels × resolution²,
      over convolutions and linear layers).  For the 16-block SRResNet ×4 this gives 12 KiB
      (256 channels at ×2), what ``srgan-desktop bench`` measured for it (9.1 KiB + allocator
      slack); for other architectures it is an estimate that only sizes the automatic tile
      (a CUDA out-of-memory still halves the tile)."""
    resolution = 1.0 / float(getattr(model, "shuffle_factor", None) or 1)
    radius, widest = 0.0, 3.0
    for module in model.modules():
        if isinstance(module, torch.nn.Conv2d):
            kh, kw = module.kernel_size
            dh, dw = module.dilation
            radius += max((kh - 1) // 2 * dh, (kw - 1) // 2 * dw) / resolution
            resolution /= module.stride[0]
            widest = max(widest, module.out_channels * resolution ** 2)
        elif isinstance(module, torch.nn.Linear):
            widest = max(widest, module.out_features * resolution ** 2)
        elif isinstance(module, torch.nn.PixelShuffle):
            resolution *= module.upscale_factor
        elif isinstance(module, torch.nn.PixelUnshuffle):
            resolution /= module.downscale_factor
        elif isinstance(module, torch.nn.Upsample):
            factor = module.scale_factor
            resolution *= float(factor if not isinstance(factor, tuple) else factor[0])
            radius += 1.0 / resolution
            widest = max(widest, 64 * resolution ** 2)
    return int(math.ceil(radius)) + 1, int(3 * 4 * widest)


def save_model(model: torch.nn.Module, path: str | os.PathLike, card: dict[str, Any]) -> Path:
    """Write ``model``'s weights as safetensors and ``card`` as JSON next to it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous().float() if v.is_floating_point() else v.detach().cpu()
             for k, v in model.state_dict().items()}
    card_path = path.with_suffix(".json")
    card_text = json.dumps(card, indent=2, default=_jsonable) + "\n"
    with atomic_path(path) as tmp, atomic_path(card_path) as card_tmp:
        save_file(state, str(tmp), metadata={"format": "pt", "architecture": str(card.get("architecture", "srresnet"))})
        card_tmp.write_text(card_text, encoding="utf-8")
    os.chmod(path, 0o644)
    return path


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "__dataclass_fields__"):
        return asdict(obj)
    raise TypeError(f"cannot write {type(obj).__name__} to a model card")
