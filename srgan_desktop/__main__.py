"""``srgan-desktop``: the GUI with no subcommand, else one of the subcommands below.

Each subcommand lives in ``srgan_desktop/commands/<name>.py`` and exposes
``add_parser(subparsers)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from srgan_desktop import __version__

__all__ = ["main", "SUBCOMMANDS"]

#: subcommand name → module under srgan_desktop.commands
SUBCOMMANDS = {
    "upscale": "upscale",
    "eval": "evaluate",
    "bench": "bench",
    "selftest": "selftest",
    "mos": "mos",
    "models": "models",
}


def _command_module(name: str):
    return importlib.import_module(f"srgan_desktop.commands.{SUBCOMMANDS[name]}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="srgan-desktop",
        description="Super-resolution workbench: bicubic, SRResNet and SRGAN side by side, "
                    "pixel-level comparison and MOS studies. With no subcommand, opens the window.")
    parser.add_argument("--version", action="version", version=f"srgan-desktop {__version__}")
    sub = parser.add_subparsers(dest="command")
    for name in SUBCOMMANDS:
        _command_module(name).add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--version"]:
        print(f"srgan-desktop {__version__}")  # without building the parsers (they import torch)
        return 0
    if not argv or argv[0] not in (*SUBCOMMANDS, "-h", "--help"):
        # an image path and/or window options (--mode, --device, ...): the GUI
        from srgan_desktop.ui.app import run_gui  # Qt is imported only for the GUI

        return run_gui(argv)
    args = build_parser().parse_args(argv)
    if args.command is None:
        from srgan_desktop.ui.app import run_gui

        return run_gui([])
    return int(_command_module(args.command).run(args))


if __name__ == "__main__":
    sys.exit(main())
