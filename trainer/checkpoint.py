"""Training checkpoints: everything needed to resume a run exactly.

A checkpoint holds the models, optimizers, schedulers, AMP scaler, RNG states, the iteration
and the configuration, as plain tensors / numbers / strings, so it opens with
``torch.load(weights_only=True)``.  It is written to a temporary name and renamed, so a crash
while saving never destroys the previous checkpoint.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.utils import atomic_write

__all__ = ["CheckpointError", "save_checkpoint", "load_checkpoint", "rng_state", "restore_rng_state"]


class CheckpointError(SrganDesktopError):
    """A file given as a checkpoint (``--resume``, ``export``, ``interpolate``, a ``.pt`` ``--init``)
    that is damaged or is no checkpoint: one line naming it, no traceback."""


def rng_state() -> dict[str, Any]:
    """Python, NumPy and torch (CPU and CUDA) generator states, as weights-only-safe objects."""
    py_version, py_state, py_gauss = random.getstate()
    np_state = np.random.get_state()
    state: dict[str, Any] = {
        "python": [py_version, list(py_state), py_gauss],
        "numpy": [np_state[0], torch.from_numpy(np_state[1].astype(np.int64)), *np_state[2:]],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_state(state: dict[str, Any]) -> None:
    version, values, gauss = state["python"]
    random.setstate((version, tuple(values), gauss))
    np_state = state["numpy"]
    np.random.set_state((np_state[0], np_state[1].numpy().astype(np.uint32), *np_state[2:]))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, payload: dict[str, Any]) -> Path:
    """Atomically write ``payload`` (plus the RNG states) to ``path``."""
    # a full disk leaves the previous checkpoint, and no debris
    return atomic_write(path, lambda tmp: torch.save({**payload, "rng": rng_state()}, tmp))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (weights-only, never runs code)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint not found: {path}")
    try:
        checkpoint = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated, damaged or hostile: weights_only refuses, never runs code
        raise CheckpointError(f"{path}: not a readable checkpoint: damaged, truncated, or holding more than "
                              f"tensors and plain values (read weights-only, never unpickled; "
                              f"{type(exc).__name__})") from exc
    if not isinstance(checkpoint, dict):
        raise CheckpointError(f"{path}: not a checkpoint (a {type(checkpoint).__name__}, not a dict of tensors)")
    return checkpoint
