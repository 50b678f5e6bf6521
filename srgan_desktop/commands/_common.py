"""What the subcommands share: turning ``-m`` into an engine method, the engine options,
a per-tile progress bar, one-line errors, JSON output.  Qt-free.

torch-free at import: the engine and the model resolver are imported when first used, so a
command that needs neither (``mos list``, ``mos summary``) starts without loading torch
(5.5 s of CPU on the project's 2-core machine)."""

from __future__ import annotations

import argparse
import errno
import json
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from srgan_desktop.errors import SrganDesktopError

if TYPE_CHECKING:
    from srgan_desktop.core.engine import Method
    from srgan_desktop.core.models import ModelResolver

__all__ = ["CommandError", "NoWeights", "BUNDLED_NAMES", "USER_ERRORS", "default_registry",
           "load_method", "add_engine_options", "nonnegative_int", "positive_int", "TileProgress",
           "fail", "guarded", "DISK_ERRORS", "disk_error", "write_json", "jsonable"]


class CommandError(SrganDesktopError):
    """A user error found by a subcommand (bad folder, bad option...): one line, exit code 2."""


#: A full, over-quota, read-only disk or a file-size limit: the machine's state, not a bug, so
#: one line (``guarded``) even where a command did not turn it into its own error.
DISK_ERRORS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS})

#: Errors that are the user's input, not a bug: reported in one line with exit code 2.
USER_ERRORS: tuple[type[BaseException], ...] = (SrganDesktopError,)

_LAZY = {"NoWeights": "srgan_desktop.core.models", "BUNDLED_NAMES": "srgan_desktop.core.models",
         "default_registry": "srgan_desktop.core.models"}


def __getattr__(name: str) -> Any:
    """``NoWeights``, ``BUNDLED_NAMES`` and ``default_registry`` (= ``default_resolver``, the
    resolver of this installation) come from :mod:`srgan_desktop.core.models` on first use."""
    if name in _LAZY:
        import importlib

        module = importlib.import_module(_LAZY[name])
        return getattr(module, "default_resolver" if name == "default_registry" else name)
    raise AttributeError(name)


def load_method(spec: str, registry: ModelResolver | None = None, scale: int | None = None) -> Method:
    """``bicubic`` (at ``scale``, default 4), a model name (``srresnet``, ``srresnet_x4``, a user
    model), a weights file path or ``KEY=FILE`` → a ready engine :class:`Method`, through the one
    :class:`~srgan_desktop.core.models.ModelResolver`.

    Raises :class:`NoWeights` for a known model without weights, :class:`WeightsError` for
    anything else that cannot be loaded (unknown name, bad or unsafe file, not an SR model).
    """
    from srgan_desktop.core.models import default_resolver

    return (registry or default_resolver()).method(spec, scale=scale)


def nonnegative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {value}")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def add_engine_options(parser: argparse.ArgumentParser, precision: str = "auto") -> None:
    """``--device``, ``--tile`` and ``--precision`` (default ``precision``), as the engine takes them."""
    parser.add_argument("--device", default="auto", metavar="DEV",
                        help="auto, cpu, cuda (or cuda:N) or mps; auto picks CUDA, then MPS, "
                             "then the CPU (default: %(default)s)")
    parser.add_argument("--tile", type=nonnegative_int, default=None, metavar="N",
                        help="LR tile side in pixels; 0 runs the whole image at once "
                             "(default: chosen from free memory)")
    parser.add_argument("--precision", choices=["auto", "fp32", "fp16", "bf16"], default=precision,
                        help="auto: fp32 on the CPU, bf16 (else fp16) on CUDA, fp16 on MPS "
                             "(default: %(default)s)")


class TileProgress:
    """A ``progress(done, total)`` callback drawing one tqdm bar (on stderr): tiles of
    :meth:`Upscaler.upscale`, or cells of an evaluation (``unit="cell"``)."""

    def __init__(self, description: str, enabled: bool = True, unit: str = "tile") -> None:
        self.description = description
        self.enabled = enabled
        self.unit = unit
        self.bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:  # nothing to count: no bar
            return
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=self.description, unit=self.unit, file=sys.stderr,
                            leave=False, dynamic_ncols=True)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def fail(message: object, code: int = 2) -> int:
    """Print ``srgan-desktop: error: …`` on one line to stderr and return ``code``."""
    text = " ".join(str(message).split()) or type(message).__name__
    print(f"srgan-desktop: error: {text}", file=sys.stderr)
    return code


def disk_error(exc: OSError) -> str:
    """The one line for an OSError of :data:`DISK_ERRORS`."""
    return f"could not write {exc.filename or 'a file'}: {exc.strerror or exc}"


def guarded(action: Callable[[], int]) -> int:
    """Run a subcommand body: user errors — and a full or read-only disk — become one line and
    exit code 2, Ctrl-C exit 130."""
    try:
        return action()
    except USER_ERRORS as exc:
        return fail(exc)
    except MemoryError:
        return fail("not enough memory (try a smaller --tile)")
    except OSError as exc:
        if exc.errno not in DISK_ERRORS:
            raise
        return fail(disk_error(exc))
    except KeyboardInterrupt:
        print("srgan-desktop: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        engine = sys.modules.get("srgan_desktop.core.engine")  # Cancelled needs the engine to exist
        if engine is not None and isinstance(exc, engine.Cancelled):
            print("srgan-desktop: interrupted", file=sys.stderr)
            return 130
        raise


def jsonable(value: Any, null_nan: bool = False) -> Any:
    """Make a value strict JSON: paths → str, non-finite floats → "inf"/"-inf"/"nan", or with
    ``null_nan`` → null (the MOS documents: a withheld interval is a missing number, never the
    string "nan" that a reader would have to special-case)."""
    if isinstance(value, float) and not math.isfinite(value):
        if null_nan:
            return None
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): jsonable(v, null_nan) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, null_nan) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(path: str | Path, data: Any) -> Path:
    """Write ``data`` as indented strict JSON, atomically (a full disk leaves no empty or partial
    file, and an existing one unchanged); an unwritable path is a :class:`CommandError`."""
    from srgan_desktop.utils import atomic_write

    path = Path(path)
    try:
        atomic_write(path, json.dumps(jsonable(data), indent=2, allow_nan=False) + "\n")
    except OSError as exc:
        raise CommandError(f"could not write {path}: {exc.strerror or exc}") from exc
    return path
