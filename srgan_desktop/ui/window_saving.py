"""The comparison window's Save result, Save all and Export view (a mixin of :class:`MainWindow`).

Rules: Save result and Save all name a result alike (:func:`~srgan_desktop.compare.views.result_file_name`,
``STEM_KEY_xSCALE.png`` with the scale once) and the status bar names every file written (Save
all: the folder, the count and the names); Export view writes the visible region of every pane
and one labelled figure (:mod:`srgan_desktop.ui.figures`).  A failure is one message, the
window keeps running.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog

from srgan_desktop.compare import INPUT_KEY, REFERENCE_KEY
from srgan_desktop.compare.views import result_file_name
from srgan_desktop.core.images import ImageSaveError, save_image
from srgan_desktop.ui.figures import Crop, ExportResult, crop_scene, export_view

__all__ = ["SavingMixin"]


class SavingMixin:
    """Needs the window's ``session``, ``settings``, ``grid``, ``sync``, ``difference``, ``_error`` and views."""

    def save_dialog(self) -> None:
        key = self.active_key()
        if self.session.model.image_for(key) is None:
            self._error("Nothing to save", "Run a method first (Ctrl+R).")
            return
        start = str(Path(self.settings.last_dir or Path.home()) / result_file_name(self._stem(), key, self.session.model.scale))
        path, _ = QFileDialog.getSaveFileName(self, f"Save {self._title_of(key)}", start,
                                              "PNG (*.png);;TIFF (*.tif *.tiff);;WebP (*.webp);;JPEG (*.jpg)")
        if path:
            self.save_result(key, path)

    @staticmethod
    def _file_key(key: str) -> str:
        return key.replace(":", "_").replace("#", "_")

    def save_result(self, key: str, path: str | Path, *, quiet: bool = False) -> Path | None:
        """Save the full-resolution image behind ``key`` (alpha kept); None on failure."""
        rgb = self.session.model.image_for(key)
        if rgb is None:
            self._error("Nothing to save", f"{self._title_of(key)} has no image yet.")
            return None
        done = self.session.model.results.get(key)
        alpha = done.alpha if done is not None else None
        try:
            written = save_image(path, rgb, alpha)
        except ImageSaveError as exc:
            self._error("Cannot save", str(exc))
            return None
        if not quiet:
            self.statusBar().showMessage(f"Saved {written}", 5000)
        return written

    def save_all_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save all results to", self.settings.last_dir)
        if folder:
            self.save_all(folder)

    def save_all(self, folder: str | Path) -> list[Path]:
        """Every result in ``folder``, named as Save result names it; the status bar lists them all."""
        written = [path for key in list(self.session.model.results)
                   if (path := self.save_result(key, Path(folder) / result_file_name(self._stem(), key, self.session.model.scale),
                                                quiet=True)) is not None]
        if written:
            self.statusBar().showMessage(f"Saved {len(written)} result{'s' if len(written) != 1 else ''} to "
                                         f"{Path(folder)}: {', '.join(p.name for p in written)}", 15000)
        return written

    def export_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export the view to", self.settings.last_dir)
        if folder:
            self.export_view(folder)

    def _stem(self) -> str:
        source = self.session.model.image
        return source.path.stem if source is not None and source.path is not None else "image"

    def export_bounds(self) -> tuple[int, int, int, int] | None:
        """The group's visible region (scene units), from the pane on screen."""
        for pane in self.visible_panes():
            bounds = pane.visible_bounds()
            if bounds is not None:
                dx, dy = self.sync.offset(pane)
                return (round(bounds[0] - dx), round(bounds[1] - dy),
                        round(bounds[2] - dx), round(bounds[3] - dy))
        return None

    def export_view(self, folder: str | Path) -> ExportResult | None:
        """Save the visible region of every pane as PNGs and as one labelled figure."""
        bounds = self.export_bounds()
        if bounds is None or self.session.model.lr is None:
            self._error("Nothing to export", "Open an image and show part of it first.")
            return None
        height, width = self.session.model.expected_shape()  # type: ignore[misc]
        crops = []
        for key in self.grid.keys():
            rgb = self.session.model.image_for(key)
            if rgb is None:
                continue
            dx, dy = self.sync.offset(self.grid.pane(key))
            x0, y0 = max(0, bounds[0] + round(dx)), max(0, bounds[1] + round(dy))
            x1, y1 = min(width, bounds[2] + round(dx)), min(height, bounds[3] + round(dy))
            if x1 <= x0 or y1 <= y0:
                continue
            crop = crop_scene(rgb, (x0, y0, x1, y1), self.session.model.display_scale(key))
            scores = self.session.model.scores(key)
            caption = scores.text() if scores is not None and key not in (INPUT_KEY, REFERENCE_KEY) else ""
            crops.append(Crop(self._file_key(key), self._title_of(key), crop, caption))
        diff = self.difference.pane.image()
        if self.view_mode() == "difference" and diff is not None:
            crops.append(Crop("difference", self.difference.pane.title(), crop_scene(diff, bounds)))
        if not crops:
            self._error("Nothing to export", "No pane shows an image yet.")
            return None
        try:
            result = export_view(folder, self._stem(), crops)
        except ImageSaveError as exc:
            self._error("Cannot export", str(exc))
            return None
        self.statusBar().showMessage(f"Exported {len(result.crops)} crops and {result.figure.name}", 8000)
        return result

