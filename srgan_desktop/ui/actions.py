"""The window's action table: every menu entry, shortcut and toolbar button as data.

The window builds its menus, toolbar, shortcuts and Help ▸ Keys from :func:`action_table`
(one table, so the key list can never disagree with the keys).  ``slot`` names a window
method, called with ``arg`` when it is not None.  Help ▸ Keys is a two-column table
(:func:`help_html`): text padded with spaces does not line up in a proportional font.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from html import escape
from typing import Any

import torch
from PySide6.QtCore import qVersion

from srgan_desktop import __version__
from srgan_desktop.compare import MODES
from srgan_desktop.ui.image_pane import ZOOM_PRESETS

__all__ = ["ActionSpec", "action_table", "TOOLBAR", "MODE_TITLES", "help_rows", "help_text", "help_html",
           "about_html"]

MODE_TITLES = {"upscale": "Upscale (image is the LR input)",
               "simulate": "Simulate from HR (image is the ground truth)"}


@dataclass(frozen=True)
class ActionSpec:
    """One row of the action table: a menu entry, its shortcut(s) and what it calls.

    ``name`` ``-`` is a separator; ``submenu=True`` makes an (empty, filled later) submenu;
    ``slot`` is a window method name called with ``arg`` when it is not None.
    """

    name: str
    text: str = ""
    slot: str = ""
    menu: str = ""
    keys: tuple[str, ...] = ()
    checkable: bool = False
    tip: str = ""
    group: str = ""
    arg: Any = None
    submenu: bool = False
    icon_text: str = ""


def _sep(menu: str) -> ActionSpec:
    return ActionSpec("-", menu=menu)


def action_table() -> list[ActionSpec]:
    """Every action of the window, in menu order (the toolbar picks from it by name)."""
    t: list[ActionSpec] = [
        ActionSpec("open", "&Open…", "open_dialog", "&File", ("Ctrl+O",), tip="Open an image"),
        ActionSpec("recent", "Open &recent", menu="&File", submenu=True),
        ActionSpec("samples", "Open sa&mple", menu="&File", submenu=True),
        ActionSpec("add_result", "Add result &image…", "add_result_dialog", "&File", ("Ctrl+I",),
                   tip="Add an image made elsewhere as one more method (LR × scale, or HR size in Simulate)"),
        ActionSpec("add_results_folder", "Add results &folder…", "add_results_folder_dialog", "&File",
                   tip="A folder of results made elsewhere, named like the inputs: every image you open "
                       "gets its result from it"),
        _sep("&File"),
        ActionSpec("save", "&Save result…", "save_dialog", "&File", ("Ctrl+S",),
                   tip="Save the active pane's image at full resolution"),
        ActionSpec("save_all", "Save &all results…", "save_all_dialog", "&File", ("Ctrl+Shift+S",),
                   tip="Save every result at full resolution into a folder"),
        ActionSpec("export", "&Export view…", "export_dialog", "&File", ("Ctrl+E",),
                   tip="Save the visible region of every pane and a labelled figure"),
        _sep("&File"),
        ActionSpec("quit", "&Quit", "close", "&File", ("Ctrl+Q",)),
    ]
    for index, mode in enumerate(MODES):
        t.append(ActionSpec(f"mode_{mode}", MODE_TITLES[mode], "set_mode", "&Compare", (f"Ctrl+{index + 1}",),
                            checkable=True, group="mode", arg=mode))
    t += [
        ActionSpec("scales", "&Scale", menu="&Compare", submenu=True),
        _sep("&Compare"),
        ActionSpec("run_all", "&Run all", "run_all", "&Compare", ("Ctrl+R",),
                   tip="Run every available method on the image"),
        ActionSpec("run_one", "Run &one", menu="&Compare", submenu=True),
        ActionSpec("run_again", "Run &again on this image", menu="&Compare", submenu=True),
        ActionSpec("cancel", "&Cancel", "cancel", "&Compare", ("Esc",), tip="Stop the running method"),
        _sep("&Compare"),
        ActionSpec("devices", "&Device", menu="&Compare", submenu=True),
        ActionSpec("auto_run", "Run all after opening", "_toggle_auto_run", "&Compare", checkable=True),
        ActionSpec("clear_cache", "Clear result cache", "clear_cache", "&Compare",
                   tip="Forget every result made so far: Run all / Run one run again"),
        ActionSpec("output_limit", "Output size &limit…", "choose_output_limit", "&Compare",
                   tip="Ask before making results larger than this many megapixels each"),
        ActionSpec("lpips_backbone", "LPIPS &backbone weights…", "choose_lpips_backbone", "&Compare",
                   tip="The torchvision ImageNet AlexNet state dict LPIPS uses (never downloaded)"),
        ActionSpec("manage_models", "&Manage…", "manage_models", "&Models",
                   tip="List, add and remove models; each file's error is shown"),
    ]
    for mode, text, key in (("grid", "&Grid (all panes)", "G"), ("swipe", "&Swipe", "W"),
                            ("flicker", "&Flicker (keys 1…N)", "K"), ("difference", "&Difference map", "D")):
        t.append(ActionSpec(f"view_{mode}", text, "set_view_mode", "&View", (key,), checkable=True,
                            group="view", arg=mode, icon_text=mode.capitalize()))
    t += [
        ActionSpec("row", "One &row (1×N)", "_toggle_row", "&View", ("L",), checkable=True),
        _sep("&View"),
        ActionSpec("fit", "&Fit", "fit", "&View", ("F",), tip="Show the whole image"),
        ActionSpec("zoom_in", "Zoom &in", "zoom_by", "&View", ("+", "=", "Ctrl++"), arg=2 ** 0.5),
        ActionSpec("zoom_out", "Zoom &out", "zoom_by", "&View", ("-", "Ctrl+-"), arg=2 ** -0.5),
        ActionSpec("zoom_100", "&100 %", "set_zoom", "&View", ("Ctrl+0",), arg=1.0),
    ]
    t += [ActionSpec(f"zoom_{int(z * 100)}", f"{int(z * 100)} %", "set_zoom", "&View", arg=z)
          for z in ZOOM_PRESETS[1:]]
    t += [
        _sep("&View"),
        ActionSpec("realign", "Re-&align panes", "realign", "&View", ("A",),
                   tip="Undo Shift-drags: every pane shows the same region again"),
        ActionSpec("smooth", "&Smooth magnification", "_toggle_smooth", "&View", ("S",), checkable=True,
                   tip="Bilinear instead of nearest-neighbour when zoomed in"),
        ActionSpec("crosshair", "&Crosshair", "_toggle_crosshair", "&View", ("C",), checkable=True),
        ActionSpec("metrics_dock", menu="&View"),  # the dock's own toggle action goes here
    ]
    t += [ActionSpec(f"flicker_{n}", f"Flicker to pane {n}", "flicker_to", "", (str(n),), arg=n - 1)
          for n in range(1, 10)]
    t += [ActionSpec("mos", "&MOS studies…", "open_mos_studies", "&Studies"),
          ActionSpec("results_db", "Evaluation &results…", "open_results_dialog", "&Studies",
                     tip="A results database written by 'srgan-desktop eval --db'"),
          ActionSpec("help", "Keys and mouse…", "show_help", "&Help"),
          ActionSpec("about", "&About SRGAN Desktop…", "show_about", "&Help")]
    return t


TOOLBAR = ("open", "run_all", "cancel", "|", "@mode_combo", "@device_button", "|", "view_grid", "view_swipe",
           "view_flicker", "view_difference", "|", "@zoom_combo", "@zoom_label", "realign", "smooth")




MOUSE_HELP = """\
Mouse: wheel zooms around the cursor, left-drag pans. Every pane shows the same region.
Shift + drag pans one pane alone, to fix a misalignment (zoom stays shared); A re-aligns.
"""


def help_rows() -> list[tuple[str, str]]:
    """(keys, what they do) for every shortcut of the action table, then the flicker keys."""
    rows = [(" / ".join(spec.keys), spec.text.replace("&", "").rstrip("…"))
            for spec in action_table() if spec.keys and not spec.name.startswith("flicker_")]
    return rows + [("1 … 9", "Flicker between panes")]


def help_text() -> str:
    """The mouse help and every shortcut, as plain text (one line per shortcut)."""
    width = max(len(keys) for keys, _text in help_rows()) + 2
    return "\n".join([MOUSE_HELP] + [f"{keys:<{width}}{text}" for keys, text in help_rows()])


def help_html() -> str:
    """The same as a table (a proportional font cannot align padded text: issue 21, 14)."""
    cells = "".join(f"<tr><td><b>{escape(keys)}</b></td><td>{escape(text)}</td></tr>" for keys, text in help_rows())
    mouse = "".join(f"<p>{escape(line)}</p>" for line in MOUSE_HELP.splitlines())
    return f"{mouse}<table cellspacing='0' cellpadding='3'>{cells}</table>"


def about_html() -> str:
    """Help ▸ About: the version, what it is built on, the bundled font's licence."""
    return (f"<h3>SRGAN Desktop {escape(__version__)}</h3>"
            "<p>A workbench for single-image super-resolution: SR inference (bicubic, SRResNet, SRGAN, "
            "spandrel models), synchronised comparison views, PSNR/SSIM/NIQE/LPIPS and MOS studies.</p>"
            f"<p>Python {platform.python_version()}, Qt {qVersion()}, PyTorch {escape(torch.__version__)}.</p>"
            "<p>Figure labels use DejaVu Sans (bundled, licence in resources/fonts/LICENSE_DejaVu.txt).</p>")
