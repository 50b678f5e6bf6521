"""Small helpers shared by every layer (after BasicSR's ``utils``): one home, one copy each.

* :func:`atomic_write` — the one way to write a file: to ``.NAME.part`` next to it, then
  ``os.replace``.  A crash or a full disk leaves the previous file intact and no debris.
* :func:`sha256_file` — the SHA-256 of a file's bytes (MOS stimuli, the results database's keys).
* :func:`crop_to_multiple` — the one crop-to-scale rule: keep the top-left
  ``H - H % f`` × ``W - W % f`` pixels (the benchmark convention of MATLAB and BasicSR).
* :func:`rgb_to_tensor` / :func:`tensor_to_rgb` — ``(H, W, 3) uint8`` ⇄ ``(1, 3, H, W)`` float in
  [0, 1]; rounding back to 8 bits is the caller's choice (the engine keeps floats for tiles).

Qt-free and torch is imported lazily, so ``mos`` and ``commands`` can use it without torch.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["atomic_path", "atomic_write", "sha256_file", "crop_to_multiple", "rgb_to_tensor", "tensor_to_rgb"]


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; on success it replaces ``path``.

    On any exception the temporary file is removed and the exception propagates, so the
    previous ``path`` (if any) is untouched."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path: str | os.PathLike, data: bytes | str | Callable[[Path], object]) -> Path:
    """Write ``data`` (bytes, UTF-8 text, or a function that writes a given path) atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        elif isinstance(data, str):
            tmp.write_text(data, encoding="utf-8", newline="")
        else:
            data(tmp)
    return path


def sha256_file(path: str | os.PathLike) -> str:
    """The hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def crop_to_multiple(rgb: np.ndarray, factor: int) -> np.ndarray:
    """The top-left part of ``rgb`` whose sides are multiples of ``factor``; raises ValueError
    when a side is smaller than ``factor``."""
    h, w = rgb.shape[0] - rgb.shape[0] % factor, rgb.shape[1] - rgb.shape[1] % factor
    if h == 0 or w == 0:
        raise ValueError(f"an image of {rgb.shape[1]}×{rgb.shape[0]} is smaller than ×{factor}")
    return rgb[:h, :w]


def rgb_to_tensor(rgb: np.ndarray) -> "torch.Tensor":
    """``(H, W, C)`` uint8 (or float in [0, 255]) → ``(1, C, H, W)`` float32 in [0, 1]."""
    import torch

    return torch.from_numpy(np.ascontiguousarray(rgb.transpose(2, 0, 1))).float().div_(255.0).unsqueeze(0)


def tensor_to_rgb(x: "torch.Tensor") -> np.ndarray:
    """``(1, C, H, W)`` or ``(C, H, W)`` float in [0, 1] → ``(H, W, C)`` uint8, rounded."""
    if x.dim() == 4:
        x = x[0]
    return (x.detach().float().clamp(0, 1).mul(255.0).round().byte().permute(1, 2, 0).cpu().numpy())
