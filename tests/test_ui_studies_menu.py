"""The comparison window opens the MOS studies window from its Studies menu."""

from __future__ import annotations

import pytest

from srgan_desktop.core.models import ModelResolver
from srgan_desktop.ui.main_window import MainWindow
from srgan_desktop.ui.mos_window import MosWindow
from srgan_desktop.ui.settings import AppSettings

pytestmark = pytest.mark.gui


def test_studies_menu_opens_the_mos_window(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("SRGAN_DESKTOP_DATA", str(tmp_path / "data"))
    settings = AppSettings(tmp_path / "settings.ini")
    settings.auto_run = False
    (tmp_path / "bundled").mkdir()
    window = MainWindow(settings, ModelResolver(tmp_path / "bundled"), open_sample=False)
    qtbot.addWidget(window)
    menus = {a.text().replace("&", ""): a.menu() for a in window.menuBar().actions()}
    entries = [a for a in menus["Studies"].actions() if "MOS" in a.text()]
    assert len(entries) == 1
    entries[0].trigger()
    mos = window._mos_window
    assert isinstance(mos, MosWindow) and mos.isVisible()
    # opened again (minimized, then closed): the one window comes back, never a second one
    mos.showMinimized()
    entries[0].trigger()
    assert window.findChildren(MosWindow) == [mos] and mos.isVisible() and not mos.isMinimized()
    mos.close()
    entries[0].trigger()
    assert window.findChildren(MosWindow) == [mos] and mos.isVisible()
    mos.close()
