"""Remembered settings: an INI file in the user's data folder (``SRGAN_DESKTOP_DATA`` moves it).

A thin typed layer over :class:`QSettings`, so every key, default and type is in one place
and tests get a private file just by pointing ``SRGAN_DESKTOP_DATA`` (or ``path``) elsewhere.
"""

from __future__ import annotations

from pathlib import Path
from typing import Generic, TypeVar

from PySide6.QtCore import QByteArray, QSettings

from srgan_desktop import paths
from srgan_desktop.compare.views import DEFAULT_OUTPUT_LIMIT_MP

__all__ = ["AppSettings", "MAX_RECENT"]

MAX_RECENT = 10


T = TypeVar("T", str, bool, int)


class _Value(Generic[T]):
    """A typed setting: ``settings.mode`` reads ``compare/mode`` with its default and type."""

    def __init__(self, key: str, default: T) -> None:
        self.key = key
        self.default = default

    def __get__(self, obj: AppSettings | None, owner: type) -> T:
        if obj is None:
            return self  # type: ignore[return-value]
        return obj.read(self.key, self.default)

    def __set__(self, obj: AppSettings, value: T) -> None:
        obj.write(self.key, value)


class _BytesValue:
    """A binary setting (window geometry and state); None when not saved yet."""

    def __init__(self, key: str) -> None:
        self.key = key

    def __get__(self, obj: AppSettings | None, owner: type) -> QByteArray | None:
        if obj is None:
            return self  # type: ignore[return-value]
        value = obj._qs.value(self.key)
        return value if isinstance(value, QByteArray) and not value.isEmpty() else None

    def __set__(self, obj: AppSettings, value: QByteArray) -> None:
        obj.write(self.key, value)


class AppSettings:
    """Typed access to the app's QSettings."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path else paths.user_data_dir() / "settings.ini"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    def sync(self) -> None:
        self._qs.sync()

    # ------------------------------------------------------------ primitives
    def read(self, key: str, default: T) -> T:
        """The value of ``key`` converted to the type of ``default`` (default if unreadable)."""
        value = self._qs.value(key, default)
        if value is None:
            return default
        if isinstance(default, bool):
            if isinstance(value, str):
                return value.lower() in ("1", "true", "yes", "on")  # type: ignore[return-value]
            return bool(value)  # type: ignore[return-value]
        if isinstance(default, int):
            try:
                return int(value)  # type: ignore[return-value]
            except (TypeError, ValueError):
                return default
        return str(value)  # type: ignore[return-value]

    def write(self, key: str, value: object) -> None:
        self._qs.setValue(key, value)

    # ----------------------------------------------------------- recent files
    def recent_files(self) -> list[str]:
        value = self._qs.value("files/recent", [])
        if isinstance(value, str):
            value = [value] if value else []
        return [str(v) for v in (value or [])][:MAX_RECENT]

    def add_recent(self, path: str | Path) -> list[str]:
        text = str(Path(path).resolve())
        files = [text] + [f for f in self.recent_files() if f != text]
        self._qs.setValue("files/recent", files[:MAX_RECENT])
        return files[:MAX_RECENT]

    def clear_recent(self) -> None:
        self._qs.setValue("files/recent", [])

    # --------------------------------------------------------------- values
    last_dir = _Value("files/last_dir", "")
    #: True once the bundled sample was shown (it opens on the first launch only)
    sample_opened = _Value("files/sample_opened", False)
    mode = _Value("compare/mode", "upscale")
    #: the compared scale (Compare ▸ Scale); 0 = the default (×4, or the only scale of the models)
    scale = _Value("compare/scale", 0)
    device = _Value("compare/device", "auto")
    #: LR tile side for the engine; 0 = automatic (from free memory)
    tile = _Value("compare/tile", 0)
    #: run every available method right after an image is opened
    auto_run = _Value("compare/auto_run", True)
    #: megapixels per result above which a run asks first (Compare ▸ Output size limit…; 0 = never)
    max_output_mp = _Value("compare/max_output_mp", DEFAULT_OUTPUT_LIMIT_MP)
    view_mode = _Value("view/mode", "grid")
    arrangement = _Value("view/arrangement", "grid")
    smooth = _Value("view/smooth", False)
    crosshair = _Value("view/crosshair", True)
    amplification = _Value("view/amplification", 4)
    metrics_visible = _Value("view/metrics", True)
    #: LPIPS backbone: a torchvision ImageNet state dict file ("" = torchvision's cache), and its net
    lpips_backbone = _Value("metrics/lpips_backbone", "")
    lpips_net = _Value("metrics/lpips_net", "alex")

    geometry = _BytesValue("window/geometry")
    window_state = _BytesValue("window/state")
