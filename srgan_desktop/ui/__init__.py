"""Qt user interface (the only package that imports Qt)."""

from srgan_desktop.ui.qt_fixes import protect_bool_refcounts

protect_bool_refcounts()  # PySide6 6.12 signal emission would otherwise abort Python 3.11
