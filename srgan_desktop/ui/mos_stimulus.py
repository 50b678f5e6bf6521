"""The stimulus view of the rating panel and its placement rules (ITU-T P.910 viewing).

:class:`StimulusView` shows a stimulus at a fixed integer magnification in *device* pixels: at 1
one image pixel covers one screen pixel whatever the device pixel ratio, at k every pixel is a
k×k block; no fitting, zooming or panning.  It is centred on neutral mid-grey
(:data:`MID_GREY`), can show only that grey (between stimuli), and reports its resizes
(``resized``) so the panel can lock the answers while the whole stimulus does not fit.
:func:`screen_problem` says why a screen cannot show a study's largest stimulus.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Signal
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget

__all__ = ["StimulusView", "MID_GREY", "placement", "screen_problem"]

#: ITU-T P.910's neutral background: mid-grey.
MID_GREY = (128, 128, 128)


def placement(view_w: float, view_h: float, dpr: float, image_w: int, image_h: int,
              magnification: int) -> QRectF:
    """Where (in logical coordinates) an image is drawn so that each image pixel covers exactly
    ``magnification`` × ``magnification`` device pixels, centred, on a device-pixel boundary."""
    dev_w, dev_h = round(view_w * dpr), round(view_h * dpr)
    shown_w, shown_h = image_w * magnification, image_h * magnification
    left, top = (dev_w - shown_w) // 2, (dev_h - shown_h) // 2
    return QRectF(left / dpr, top / dpr, shown_w / dpr, shown_h / dpr)


def screen_problem(screen_w: int, screen_h: int, largest: tuple[int, int], magnification: int) -> str:
    """Why a screen (device pixels) cannot show the largest stimulus (w, h); '' if it can."""
    need_w, need_h = largest[0] * magnification, largest[1] * magnification
    if need_w <= screen_w and need_h <= screen_h:
        return ""
    return (f"This screen ({screen_w}×{screen_h} pixels) cannot show the largest image of this "
            f"study at ×{magnification} ({need_w}×{need_h} pixels). Use a larger screen or ask the "
            f"experimenter; rating cannot start.")


class StimulusView(QWidget):
    """A stimulus at a fixed integer magnification in device pixels, centred on mid-grey."""

    resized = Signal()

    def __init__(self, magnification: int = 1, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.magnification = int(magnification)
        self._rgb: np.ndarray | None = None
        self._qimage: QImage | None = None
        self._grey = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(64, 64)

    def set_image(self, rgb: np.ndarray) -> None:
        rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
        self._rgb = rgb
        height, width = rgb.shape[:2]
        self._qimage = QImage(rgb.data, width, height, 3 * width, QImage.Format.Format_RGB888).copy()
        self._grey = False
        self.update()

    def image(self) -> np.ndarray | None:
        return self._rgb

    def clear(self) -> None:
        self._rgb = self._qimage = None
        self.update()

    def show_grey(self, grey: bool = True) -> None:
        """Only the mid-grey background (between stimuli)."""
        self._grey = grey
        self.update()

    @property
    def is_grey(self) -> bool:
        return self._grey or self._qimage is None

    def shown_rect(self) -> QRectF | None:
        if self._rgb is None:
            return None
        return placement(self.width(), self.height(), self.devicePixelRatioF(),
                         self._rgb.shape[1], self._rgb.shape[0], self.magnification)

    def fits(self) -> bool:
        """True when the whole stimulus is inside the view at the study's magnification."""
        rect = self.shown_rect()
        return rect is None or (rect.left() >= -1e-6 and rect.top() >= -1e-6)

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt API)
        super().resizeEvent(event)
        self.resized.emit()

    def paintEvent(self, event) -> None:  # noqa: ANN001, N802 (Qt API)
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(*MID_GREY))
        rect = self.shown_rect()
        if rect is not None and not self._grey:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            painter.drawImage(rect, self._qimage)
        painter.end()
