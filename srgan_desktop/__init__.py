"""srgan-desktop: bicubic, SRResNet and SRGAN side by side, pixel-level comparison, MOS studies."""

from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("srgan-desktop")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.1.0"
