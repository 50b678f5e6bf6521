"""``srgan-desktop models list | info SPEC | add PATH | remove NAME``: the models this app knows.

* ``list`` — bundled models and the user model folder, with availability (and why not), scale
  and architecture where the card says (loads nothing);
* ``info SPEC`` — loads one model (name or path) and prints its descriptor: architecture, scale,
  purpose, channels, parameters, fp16/bf16 support, size requirements, tiling, file, SHA-256;
* ``add PATH [--name NAME]`` — loads the file once (so an unsafe, broken or non-SR file is
  refused with its reason), then copies it (and its ``.json`` card) into the user model folder;
* ``remove NAME`` — deletes a user model (bundled models cannot be removed).

Nothing is downloaded: users bring their own weights (any architecture spandrel loads, or the
SRResNet family).  All through :class:`srgan_desktop.core.models.ModelResolver`.
"""

from __future__ import annotations

import argparse
import json

from srgan_desktop.commands._common import guarded, jsonable
from srgan_desktop.core.models import ModelResolver, default_resolver
from srgan_desktop.core.weights import ModelDescriptor

__all__ = ["add_parser", "run", "format_descriptor"]


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "models", help="list, inspect, add or remove models (any architecture spandrel loads)",
        description="The models srgan-desktop knows: bundled ones and the user model folder. "
                    "Users bring their own weights (.safetensors preferred; .pth/.ckpt only as "
                    "plain weights); nothing is downloaded.")
    sub = parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    listing = sub.add_parser("list", help="bundled and user models, with availability")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    info = sub.add_parser("info", help="load one model and print its descriptor")
    info.add_argument("spec", metavar="NAME_OR_PATH")
    info.add_argument("--json", action="store_true", help="print JSON")
    add = sub.add_parser("add", help="check a weights file, then copy it into the user model folder")
    add.add_argument("path", metavar="PATH")
    add.add_argument("--name", help="the model's name (default: the file name without suffix)")
    remove = sub.add_parser("remove", help="delete a model from the user model folder")
    remove.add_argument("name", metavar="NAME")
    return parser


def format_descriptor(d: ModelDescriptor) -> str:
    """The descriptor as aligned ``key: value`` lines."""
    size = [f"minimum {d.min_size} px"] if d.min_size else []
    size += [f"multiple of {d.multiple_of}"] if d.multiple_of > 1 else []
    size += ["square"] if d.square else []
    tiling = {"exact": f"exact (tiles padded by the receptive radius, {d.pad} LR px)",
              "blend": f"blended ({d.overlap} px feathered overlap, {d.pad} px context)",
              "whole": "whole image only"}[d.tiling]
    if d.edge_pad and d.tiling == "exact":
        tiling += f"; the picture mirrored {d.edge_pad} LR px outwards at its edges (card edge_pad)"
    precisions = ", ".join(["fp32"] + (["fp16"] if d.supports_half else []) + (["bf16"] if d.supports_bf16 else []))
    rows = [("name", d.name), ("title", d.title or "-"),
            ("architecture", d.architecture + (f" ({', '.join(d.tags)})" if d.tags else "")),
            ("loaded by", d.loader), ("purpose", d.purpose), ("scale", f"×{d.scale}"),
            ("channels", f"{d.input_channels} → {d.output_channels}"),
            ("parameters", f"{d.params:,}"), ("precisions", precisions),
            ("size requirements", ", ".join(size) or "none"), ("tiling", tiling),
            ("file", str(d.path) if d.path else "-"), ("sha256", d.sha256 or "-")]
    width = max(len(k) for k, _ in rows)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in rows)


def _list(resolver: ModelResolver, as_json: bool) -> int:
    # user models are loaded once each (a truncated file is listed as damaged, with the
    # reason; the scale is the weights' own); bundled ones are described by their cards
    entries = [e if e.bundled else resolver.probed(e) for e in resolver.entries()]
    if as_json:
        print(json.dumps(jsonable([{
            "name": e.name, "title": e.title, "source": e.source, "available": e.available,
            "reason": e.reason, "scale": e.scale, "architecture": e.architecture, "path": e.path}
            for e in entries]), indent=2))
        return 0
    print(f"bundled: {resolver.bundled_dir}\nuser model folder: {resolver.user_dir}")
    if not entries:
        print("no models")
    for e in entries:
        scale = f"×{e.scale}" if e.scale else "×?"
        state = "available" if e.available else f"unavailable: {e.reason}"
        arch = f" {e.architecture}" if e.architecture else ""
        print(f"  {e.name:<20} {e.source:<8} {scale:<4}{arch}  {state}")
    return 0


def _models(args: argparse.Namespace) -> int:
    resolver = default_resolver()
    if args.models_command == "list":
        return _list(resolver, args.json)
    if args.models_command == "info":
        descriptor = resolver.describe(args.spec)
        print(json.dumps(jsonable(descriptor.summary()), indent=2) if args.json
              else format_descriptor(descriptor))
        return 0
    if args.models_command == "add":
        entry = resolver.add(args.path, name=args.name)
        print(f"added {entry.name} (×{entry.scale} {entry.architecture}) as {entry.path}")
        return 0
    path = resolver.remove(args.name)
    print(f"removed {path}")
    return 0


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: _models(args))
