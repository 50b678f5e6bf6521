"""NIQE and LPIPS in the comparison's scores record (:mod:`srgan_desktop.compare.scores`).

:func:`install` registers two extra measures, computed by the worker thread right after each
result (never on the GUI thread), through the measure registry
(:data:`srgan_desktop.core.measures.MEASURES`) with the border of the other scores (the scale):

* ``niqe`` (:func:`srgan_desktop.core.niqe.niqe`) needs no reference, so it is there in Upscale
  mode too; 41 ms for 512×512 on the project's 2-core CPU, so about 0.7 s for a 2048² result;
* ``lpips`` (:mod:`srgan_desktop.core.lpips_metric`) needs the ground truth (Simulate mode) and
  the backbone weights the user chose (the settings' ``metrics/lpips_backbone`` file, else
  torchvision's cache).  Without them the value is the loader's message ("unavailable: …put
  alexnet-owt-7be5be79.pth in …"), which the metrics table shows as the cell's tooltip.  The
  network is built once (2.8 s) and reused; about 1 s per 512×512 result on this CPU (alex).

The choice of backbone is module state read by the worker thread (one immutable record
replaced as a whole), so changing it in the window needs no lock.  Qt-free.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from srgan_desktop.compare.scores import register_scorer
from srgan_desktop.core.lpips_metric import load_lpips, lpips_missing
from srgan_desktop.core.measures import MEASURES, WINDOW_EXTRAS, MeasureInput

__all__ = ["LpipsChoice", "install", "install_settings", "lpips_choice", "niqe_score", "lpips_score"]


@dataclass(frozen=True)
class LpipsChoice:
    net: str = "alex"
    backbone: str = ""  # a torchvision state dict file; "" = torchvision's cache


_choice = LpipsChoice()


def lpips_choice() -> LpipsChoice:
    return _choice


def niqe_score(result: np.ndarray, _reference: np.ndarray | None, border: int) -> float:
    return MEASURES["niqe"].compute(MeasureInput(result, None, border, border))


def lpips_score(result: np.ndarray, reference: np.ndarray | None, border: int) -> float:
    choice = _choice
    if reference is None:
        raise ValueError("LPIPS needs the ground truth (Simulate mode)")
    model = load_lpips(choice.net, choice.backbone or None)
    return MEASURES["lpips"].compute(MeasureInput(result, reference, border, border, model))


_SCORE_FNS = {"niqe": niqe_score, "lpips": lpips_score}


def install(net: str = "alex", backbone: str = "") -> str | None:
    """Register the ``niqe`` and ``lpips`` measures with this LPIPS choice (idempotent).

    Returns why LPIPS cannot run with it (one line), or None when its files are there.
    """
    global _choice
    reason = lpips_missing(net, backbone or None)  # ValueError for an unknown net, before any change
    _choice = LpipsChoice(net, backbone)
    for name in WINDOW_EXTRAS:
        register_scorer(name, _SCORE_FNS[name], needs_reference=MEASURES[name].needs_reference)
    return reason


def install_settings(settings) -> str | None:  # noqa: ANN001 — anything with lpips_net and lpips_backbone
    """:func:`install` with the settings' choice; an unknown net (a hand-edited settings file)
    becomes ``alex``, in the settings too."""
    try:
        return install(settings.lpips_net, settings.lpips_backbone)
    except ValueError:
        settings.lpips_net = "alex"
        return install("alex", settings.lpips_backbone)
