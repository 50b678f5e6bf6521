"""``run_gui``: the QApplication, the command line of the window, and the main window."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from srgan_desktop import __version__

__all__ = ["run_gui", "parse_args", "create_window"]


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="srgan-desktop",
        description="Open the comparison window (optionally on IMAGE). Subcommands: "
                    "srgan-desktop {upscale,eval,bench,selftest,mos} --help")
    parser.add_argument("image", nargs="?", help="image to open")
    parser.add_argument("--mode", choices=("upscale", "simulate"),
                        help="upscale: IMAGE is the LR input; simulate: IMAGE is the ground truth")
    parser.add_argument("--device", choices=("auto", "cuda", "mps", "cpu"), help="device for the networks")
    parser.add_argument("--view", choices=("grid", "swipe", "flicker", "difference"), help="view to show")
    parser.add_argument("--no-run", action="store_true", help="do not run the methods after opening")
    parser.add_argument("--settings", type=Path, help="settings file to use (default: in the user data folder)")
    parser.add_argument("--quit-after", type=int, metavar="MS", help=argparse.SUPPRESS)  # smoke tests
    parser.add_argument("--version", action="version", version=f"srgan-desktop {__version__}")
    return parser.parse_args(argv)


def create_window(args: argparse.Namespace):  # noqa: ANN201 — returns a MainWindow (Qt imported lazily)
    """The main window for parsed ``args`` (needs a QApplication)."""
    from srgan_desktop.ui.main_window import MainWindow
    from srgan_desktop.ui.settings import AppSettings

    settings = AppSettings(args.settings)
    if args.no_run:
        settings.auto_run = False
    if args.device:
        settings.device = args.device
    window = MainWindow(settings, open_sample=args.image is None)
    if args.view:
        window.set_view_mode(args.view)
    if args.image:
        window.open_path(args.image, args.mode)
    elif args.mode:
        window.set_mode(args.mode)
    return window


def run_gui(argv: list[str] | None = None) -> int:
    """Open the window; returns the exit status of the event loop."""
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    from PySide6.QtCore import QTimer
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    from srgan_desktop import paths

    app = QApplication.instance() or QApplication([sys.argv[0]])
    icon = paths.resource("icons", "srgan-desktop.png")
    if icon.is_file():
        app.setWindowIcon(QIcon(str(icon)))
    app.setApplicationName("SRGAN Desktop")
    app.setOrganizationName("srgan-desktop")
    app.setApplicationVersion(__version__)
    window = create_window(args)
    window.show()
    if args.quit_after is not None:
        QTimer.singleShot(args.quit_after, window.close)
    return int(app.exec())
