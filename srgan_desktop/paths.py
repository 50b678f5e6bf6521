"""Where things live: bundled resources (source tree or frozen app) and the user's data."""

from __future__ import annotations

import os
import sys
from pathlib import Path

__all__ = ["resources_dir", "resource", "weights_dir", "samples_dir", "user_data_dir",
           "user_models_dir", "is_frozen"]


def is_frozen() -> bool:
    """True inside a PyInstaller build."""
    return bool(getattr(sys, "frozen", False))


def resources_dir() -> Path:
    """The ``resources/`` folder: next to the package in a source tree, or in the frozen bundle.

    ``SRGAN_DESKTOP_RESOURCES`` overrides both (tests, relocated installs).
    """
    override = os.environ.get("SRGAN_DESKTOP_RESOURCES")
    if override:
        return Path(override)
    return default_resources_dir()


def default_resources_dir() -> Path:
    """The bundled ``resources/`` folder, ignoring ``SRGAN_DESKTOP_RESOURCES``."""
    if is_frozen():
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource(*parts: str) -> Path:
    """A file under ``resources/``, e.g. ``resource("samples", "astronaut.png")``."""
    return resources_dir().joinpath(*parts)


def weights_dir() -> Path:
    return resources_dir() / "weights"


def samples_dir() -> Path:
    return resources_dir() / "samples"


def user_data_dir() -> Path:
    """Per-user writable folder (``SRGAN_DESKTOP_DATA`` overrides the platform default)."""
    override = os.environ.get("SRGAN_DESKTOP_DATA")
    if override:
        path = Path(override)
    elif sys.platform == "win32":
        path = Path(os.environ.get("APPDATA", Path.home() / "AppData" / "Roaming")) / "srgan-desktop"
    elif sys.platform == "darwin":
        path = Path.home() / "Library" / "Application Support" / "srgan-desktop"
    else:
        path = Path(os.environ.get("XDG_DATA_HOME", Path.home() / ".local" / "share")) / "srgan-desktop"
    return path


def user_models_dir() -> Path:
    """Where users drop extra ``.safetensors``/``.pth`` models."""
    return user_data_dir() / "models"
