"""NIQE and LPIPS in the comparison's scores record (:mod:`srgan_desktop.compare.scores`).

:func:`install` registers two extra measures, computed by the worker thread right after each
result (never on the GUI thread), with the border of the other scores (:data:`SCORE_BORDER`):

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

from srgan_desktop.compare.scores import SCORE_BORDER, register_scorer
from srgan_desktop.core.lpips_metric import load_lpips, lpips_missing
from srgan_desktop.core.niqe import niqe

__all__ = ["LpipsChoice", "install", "lpips_choice", "niqe_score", "lpips_score"]


@dataclass(frozen=True)
class LpipsChoice:
    net: str = "alex"
    backbone: str = ""  # a torchvision state dict file; "" = torchvision's cache


_choice = LpipsChoice()


def lpips_choice() -> LpipsChoice:
    return _choice


def niqe_score(result: np.ndarray, _reference: np.ndarray | None) -> float:
    return niqe(result, SCORE_BORDER)


def lpips_score(result: np.ndarray, reference: np.ndarray | None) -> float:
    choice = _choice
    if reference is None:
        raise ValueError("LPIPS needs the ground truth (Simulate mode)")
    return load_lpips(choice.net, choice.backbone or None).distance(result, reference, SCORE_BORDER)


def install(net: str = "alex", backbone: str = "") -> str | None:
    """Register the ``niqe`` and ``lpips`` measures with this LPIPS choice (idempotent).

    Returns why LPIPS cannot run with it (one line), or None when its files are there.
    """
    global _choice
    reason = lpips_missing(net, backbone or None)  # ValueError for an unknown net, before any change
    _choice = LpipsChoice(net, backbone)
    register_scorer("niqe", niqe_score)
    register_scorer("lpips", lpips_score, needs_reference=True)
    return reason
