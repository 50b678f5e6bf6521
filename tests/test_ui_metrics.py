"""The window's metrics table: NIQE in Upscale mode too, LPIPS in Simulate mode with the chosen
backbone file (its reason as the tooltip without one), both computed off the GUI thread."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from srgan_desktop.core.lpips_metric import load_lpips
from srgan_desktop.core.niqe import niqe
from test_ui_window import RUN_TIMEOUT_MS, _open, _photo, _registry, _run_all, _window

pytestmark = pytest.mark.gui


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))  # no cached ImageNet weights
    return _window(qtbot, tmp_path, _registry(tmp_path, []))


@pytest.fixture
def threads(monkeypatch) -> list[str]:
    """The threads NIQE ran on (the registry's entry calls core.measures.niqe)."""
    from srgan_desktop.core import measures as registry

    seen: list[str] = []
    real = registry.niqe

    def recording(rgb, border=0):  # noqa: ANN001, ANN202
        seen.append(threading.current_thread().name)
        return real(rgb, border)

    monkeypatch.setattr(registry, "niqe", recording)
    return seen


def _cell(window, key: str, header: str) -> tuple[str, str, bool]:
    """(text, tooltip, hidden) of ``header``'s cell in the row of method ``key``."""
    table = window.metrics
    title = next(spec.title for spec in window.session.model.methods() if spec.key == key)
    row = [table.cell_text(r, 0) for r in range(table.rowCount())].index(title)
    col = table.column(header)
    item = table.item(row, col)
    return item.text(), item.toolTip(), table.isColumnHidden(col)


def test_niqe_in_upscale_mode_off_the_gui_thread(qtbot, window, tmp_path, threads):
    lr = _photo(52, 52)  # ×4 → 208²: NIQE needs 192 px after the border of 4
    _open(qtbot, window, tmp_path, lr)
    _run_all(qtbot, window)
    result = window.session.model.results["bicubic"].rgb
    text, _tip, hidden = _cell(window, "bicubic", "NIQE")
    assert not hidden and text == f"{niqe(result, 4):.2f}"
    assert window.session.model.scores("bicubic").extra["niqe"] == pytest.approx(niqe(result, 4))
    assert threads and threading.main_thread().name not in threads
    assert _cell(window, "bicubic", "LPIPS")[2]  # no reference: no LPIPS column


def test_small_results_say_why_there_is_no_niqe(qtbot, window, tmp_path):
    _open(qtbot, window, tmp_path, _photo(20, 24))
    _run_all(qtbot, window)
    text, tip, _hidden = _cell(window, "bicubic", "NIQE")
    assert text == "n/a" and "too small for NIQE" in tip


def test_lpips_in_simulate_mode_with_the_chosen_backbone(qtbot, window, tmp_path):
    hr = _photo(208, 208, seed=2)
    _open(qtbot, window, tmp_path, hr, "hr.png", mode="simulate")
    _run_all(qtbot, window)
    # no weights anywhere: the cell says what is missing and where it goes
    text, tip, hidden = _cell(window, "bicubic", "LPIPS")
    assert not hidden and text == "n/a"
    assert "alexnet-owt-7be5be79.pth" in tip and str(tmp_path / "torch-home") in tip
    # Compare ▸ LPIPS backbone weights…: remembered, and the result is measured again
    torch.manual_seed(0)
    backbone = tmp_path / "alexnet_random.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), backbone)
    assert window.choose_lpips_backbone(str(backbone)) is None
    assert window.settings.lpips_backbone == str(backbone)
    qtbot.waitUntil(lambda: _cell(window, "bicubic", "LPIPS")[0] != "n/a", timeout=RUN_TIMEOUT_MS)
    expected = load_lpips("alex", backbone).distance(window.session.model.results["bicubic"].rgb, hr, border=4)
    assert _cell(window, "bicubic", "LPIPS")[0] == f"{expected:.4f}"
    assert window.session.model.scores("bicubic").extra["lpips"] == pytest.approx(expected)
    assert window.session.model.scores("bicubic").psnr is not None  # the other scores stay
