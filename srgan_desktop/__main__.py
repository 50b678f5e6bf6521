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

#: subcommand name → (module under srgan_desktop.commands, one-line help for the command list)
SUBCOMMANDS = {
    "upscale": ("upscale", "upscale one image with bicubic, SRResNet, SRGAN or any weights file"),
    "eval": ("evaluate", "PSNR/SSIM/NIQE (LPIPS, grid, texture) of each method on benchmark folders"),
    "results": ("results", "the table of a results database (eval --db): means and 95 % intervals"),
    "bench": ("bench", "time a model here: raw forward vs engine, s per LR megapixel, peak RSS"),
    "selftest": ("selftest", "check that the bundled models load and run (prints JSON; no Qt)"),
    "mos": ("mos", "mean opinion score studies (create, rate, analyse)"),
    "models": ("models", "list, inspect, add or remove models (any architecture spandrel loads)"),
}


def _command_module(name: str):
    return importlib.import_module(f"srgan_desktop.commands.{SUBCOMMANDS[name][0]}")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; only ``command``'s module is imported (all of them when None): a subcommand
    module may import torch, and ``mos list`` should not pay for it."""
    parser = argparse.ArgumentParser(
        prog="srgan-desktop",
        description="Super-resolution workbench: bicubic, SRResNet and SRGAN side by side, "
                    "pixel-level comparison and MOS studies. With no subcommand, opens the window.")
    parser.add_argument("--version", action="version", version=f"srgan-desktop {__version__}")
    sub = parser.add_subparsers(dest="command")
    for name, (_, summary) in SUBCOMMANDS.items():
        if command is None or name == command:
            _command_module(name).add_parser(sub)
        else:
            sub.add_parser(name, help=summary)
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
    args = build_parser(argv[0] if argv[0] in SUBCOMMANDS else "").parse_args(argv)
    if args.command is None:
        from srgan_desktop.ui.app import run_gui

        return run_gui([])
    return int(_command_module(args.command).run(args))


if __name__ == "__main__":
    import multiprocessing

    multiprocessing.freeze_support()  # a frozen app's spawned eval workers (--workers N) run here, not the GUI
    sys.exit(main())
