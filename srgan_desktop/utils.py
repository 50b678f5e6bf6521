"""Small helpers shared by every layer (after BasicSR's ``utils``): one home, one copy each.

* :func:`atomic_write` — the one way to write a file: to ``.NAME.part`` next to it, then
  ``os.replace``.  A crash or a full disk leaves the previous file intact and no debris: the
  part file is flushed and ``fsync``-ed before the rename, so a write the disk cannot hold
  fails *before* anything is replaced, and the part file is removed.  A target that exists and
  is not a regular file (``/dev/null``, ``/dev/full``, a FIFO, a folder) is refused with
  :class:`NotARegularFile` and never replaced: ``os.replace`` would swap the device node for a
  plain file.
* :func:`sha256_file` — the SHA-256 of a file's bytes (MOS stimuli, the results database's keys).
* :func:`crop_to_multiple` — the one crop-to-scale rule: keep the top-left
  ``H - H % f`` × ``W - W % f`` pixels (the benchmark convention of MATLAB and BasicSR).
* :func:`rgb_to_tensor` / :func:`tensor_to_rgb` — ``(H, W, 3) uint8`` ⇄ ``(1, 3, H, W)`` float in
  [0, 1]; rounding back to 8 bits is the caller's choice (the engine keeps floats for tiles).

Qt-free and torch is imported lazily, so ``mos`` and ``commands`` can use it without torch.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

__all__ = ["NotARegularFile", "check_writable_target", "file_kind", "atomic_path", "atomic_write", "sha256_file", "crop_to_multiple", "rgb_to_tensor", "tensor_to_rgb"]


class NotARegularFile(OSError):
    """The target of a write exists and is a device, FIFO, socket or folder: never replaced."""


def file_kind(mode: int) -> str:
    """What a file that is not a regular one is, in words ("a FIFO", "a folder", ...)."""
    for test, name in ((stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder")):
        if test(mode):
            return name
    return "not a regular file"


def check_writable_target(path: str | os.PathLike) -> None:
    """Raise :class:`NotARegularFile` if ``path`` exists (following links) and is not a regular file."""
    try:
        mode = os.stat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    if not stat.S_ISREG(mode):
        raise NotARegularFile(errno.EEXIST, f"it is {file_kind(mode)}, not a regular file, and is never "
                                            f"replaced; give a file name", str(path))


def _sync(path: Path) -> None:
    """Push ``path``'s data to the disk, so that a full disk fails here and not after the rename."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary sibling of ``path`` to write; on success it replaces ``path``.

    On any exception the temporary file is removed and the exception propagates, so the
    previous ``path`` (if any) is untouched.  A ``path`` that is not a regular file is refused
    (:class:`NotARegularFile`) before anything is written."""
    path = Path(path)
    check_writable_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.part")
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(errno.ENOENT, "nothing was written", str(tmp))
        _sync(tmp)
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
