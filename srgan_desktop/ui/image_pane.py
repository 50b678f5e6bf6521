"""One image pane: a composed, reusable pixel viewer (like pyqtgraph's ImageView, but lean).

:class:`ImagePane` owns its :class:`pyqtgraph.ViewBox`, the raster item that draws the image,
a crosshair, a title above and a pixel read-out below.  Coordinates are *scene units*: one
unit is one pixel of an image shown at ``scale=1``; an image shown with ``scale=4`` (the LR
input next to ×4 results) covers 4×4 units per pixel, so the same point has the same
coordinates in every pane.

Stable API (other parts of the app, e.g. the MOS rating panel, build on it):

* ``set_image(array, title=None, *, scale=1.0)``, ``clear()``, ``set_message(text)``;
* ``view_range()`` / ``set_view_range(QRectF)``, ``view_state()`` / ``set_view_state(ViewState)``,
  ``fit()``, ``zoom()``, ``set_zoom(z)``, ``zoom_by(f)``, ``pan_by(dx, dy)``;
* ``set_smooth(bool)`` (nearest neighbour when off), ``set_crosshair(x, y)``, ``hide_crosshair()``;
* ``pixel_at(x, y)``, ``visible_crop()``;
* signals ``viewChanged(QRectF)`` (any change of the visible region),
  ``userViewChanged(bool)`` (the user dragged or wheeled here; True for a drag with the
  un-sync modifier, :data:`UNSYNC_MODIFIER` = Shift, held), ``cursorMoved(float, float)`` (scene
  coordinates under the mouse), ``cursorLeft()`` and ``activated()`` (clicked).

Drawing is done by :class:`RasterItem`, which paints only the visible part of the image and
uses a 2× box-filtered pyramid when zoomed out, so the cost of a frame depends on the pane's
size, not on the image's (a 4096×4096 result pans as fast as a small one).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import cv2
import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QGraphicsItem, QLabel, QSizePolicy, QVBoxLayout, QWidget

from srgan_desktop.ui.figures import crop_scene

__all__ = ["ImagePane", "RasterItem", "Raster", "ViewState", "UNSYNC_MODIFIER", "MIN_ZOOM",
           "MAX_ZOOM", "ZOOM_PRESETS"]

#: Held while dragging, a pane pans alone (to fix a misalignment); zoom stays shared.
UNSYNC_MODIFIER = Qt.KeyboardModifier.ShiftModifier
MIN_ZOOM = 1.0 / 64.0
MAX_ZOOM = 64.0
#: Zoom presets of the toolbar, in screen pixels per scene unit (1.0 = 100 %).
ZOOM_PRESETS = (1.0, 2.0, 4.0, 8.0, 16.0)
WHEEL_STEP = 1.25  # zoom factor per wheel notch


@dataclass(frozen=True)
class ViewState:
    """Where a pane looks: the scene point at its centre and its zoom (screen px per unit)."""

    cx: float
    cy: float
    zoom: float

    def moved(self, dx: float, dy: float) -> ViewState:
        return ViewState(self.cx + dx, self.cy + dy, self.zoom)


def _to_qimage(rgb: np.ndarray) -> QImage:
    """A ``Format_RGB32`` image (the raster engine's native format: no per-frame convert).

    The conversion is OpenCV's (B, G, R, 255 bytes = 0xffRRGGBB little-endian words), which
    releases the GIL: ``QImage.convertToFormat`` held it for about 100 ms on a 4000×3000 image,
    and a raster built on the task thread then stalled the GUI thread's event loop as long
    (``scripts/bench_gui.py --stall``).  The QImage keeps the array alive.
    """
    h, w = rgb.shape[:2]
    if sys.byteorder == "little":
        bgra = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGRA)
        image = QImage(bgra.data, w, h, 4 * w, QImage.Format.Format_RGB32)
        image._keep = bgra  # type: ignore[attr-defined]  # QImage does not own the buffer
        return image
    wrapped = QImage(np.ascontiguousarray(rgb).data, w, h, 3 * w, QImage.Format.Format_RGB888)
    return wrapped.convertToFormat(QImage.Format.Format_RGB32)


class Raster:
    """An RGB ``uint8`` image with its QImage and a lazily built pyramid of 2× reductions."""

    def __init__(self, rgb: np.ndarray) -> None:
        if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) uint8 array, got {rgb.dtype} {rgb.shape}")
        self.rgb = rgb
        self.height, self.width = int(rgb.shape[0]), int(rgb.shape[1])
        self._levels: list[QImage] = [_to_qimage(rgb)]
        self._arrays: list[np.ndarray] = [rgb]

    @property
    def nbytes(self) -> int:
        """Memory held: the array, its QImage and the pyramid built so far."""
        return int(self.rgb.nbytes + sum(a.nbytes for a in self._arrays[1:])
                   + sum(q.sizeInBytes() for q in self._levels))

    def refresh(self, box: tuple[int, int, int, int]) -> None:
        """Convert the region ``box`` (y0, x0, y1, x1) of :attr:`rgb` again, after it changed in place.

        A raster built on a partial canvas (a method's tiles arriving) shares that array, so
        only the new tile is converted into the level-0 buffer; the reduced levels are dropped
        (rebuilt lazily when zoomed out).
        """
        y0, x0 = max(0, int(box[0])), max(0, int(box[1]))
        y1, x1 = min(self.height, int(box[2])), min(self.width, int(box[3]))
        self._levels, self._arrays = self._levels[:1], self._arrays[:1]
        if y1 <= y0 or x1 <= x0:
            return
        keep = getattr(self._levels[0], "_keep", None)
        if keep is None:  # big-endian: no shared buffer, convert it all
            self._levels[0] = _to_qimage(self.rgb)
            return
        keep[y0:y1, x0:x1] = cv2.cvtColor(np.ascontiguousarray(self.rgb[y0:y1, x0:x1]), cv2.COLOR_RGB2BGRA)

    def level(self, n: int) -> tuple[QImage, int]:
        """The QImage reduced ``2**k`` times for the largest ``k <= n`` that exists, and ``k``."""
        while len(self._levels) <= n:
            prev = self._arrays[-1]
            if min(prev.shape[:2]) < 8:
                break
            half = cv2.resize(prev, (max(1, prev.shape[1] // 2), max(1, prev.shape[0] // 2)),
                              interpolation=cv2.INTER_AREA)
            self._arrays.append(half)
            self._levels.append(_to_qimage(half))
        k = min(n, len(self._levels) - 1)
        return self._levels[k], k


class RasterItem(pg.GraphicsObject):
    """Draws a :class:`Raster` at ``scale`` scene units per pixel; only the exposed part is painted.

    ``clip_x`` (scene units) paints only the part right of that line (the swipe overlay).
    """

    def __init__(self) -> None:
        super().__init__()
        self.raster: Raster | None = None
        self.scale_ = 1.0
        self.smooth = False
        self.clip_x: float | None = None
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemUsesExtendedStyleOption, True)

    def set_raster(self, raster: Raster | None, scale: float = 1.0) -> None:
        self.prepareGeometryChange()
        self.raster = raster
        self.scale_ = float(scale)
        self.update()

    def set_clip_x(self, x: float | None) -> None:
        self.clip_x = x
        self.update()

    def set_smooth(self, smooth: bool) -> None:
        self.smooth = smooth
        self.update()

    def boundingRect(self) -> QRectF:  # noqa: N802 (Qt API)
        if self.raster is None:
            return QRectF()
        return QRectF(0.0, 0.0, self.raster.width * self.scale_, self.raster.height * self.scale_)

    def paint(self, painter: QPainter, option, widget=None) -> None:  # noqa: ANN001
        raster = self.raster
        if raster is None:
            return
        exposed = option.exposedRect.intersected(self.boundingRect())
        if self.clip_x is not None:
            exposed = exposed.intersected(QRectF(self.clip_x, exposed.y(), 1e12, exposed.height()))
        if exposed.isEmpty():
            return
        screen_per_px = abs(painter.worldTransform().m11()) * self.scale_  # screen px per pixel
        level = 0
        while screen_per_px * (2 ** (level + 1)) <= 1.0 and level < 12:
            level += 1
        image, level = raster.level(level)
        unit = self.scale_ * (2 ** level)  # scene units per pixel of this level
        x0 = max(0, math.floor(exposed.left() / unit))
        y0 = max(0, math.floor(exposed.top() / unit))
        x1 = min(image.width(), math.ceil(exposed.right() / unit))
        y1 = min(image.height(), math.ceil(exposed.bottom() / unit))
        if x1 <= x0 or y1 <= y0:
            return
        source = QRectF(x0, y0, x1 - x0, y1 - y0)
        target = QRectF(x0 * unit, y0 * unit, (x1 - x0) * unit, (y1 - y0) * unit)
        painter.save()
        if self.clip_x is not None:
            painter.setClipRect(QRectF(self.clip_x, target.y(), target.right() - self.clip_x + 1,
                                       target.height()), Qt.ClipOperation.IntersectClip)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform,
                              self.smooth or screen_per_px * (2 ** level) < 1.0)
        painter.drawImage(target, image, source)
        painter.restore()


class _PaneViewBox(pg.ViewBox):
    """A ViewBox whose wheel and left-drag go through the pane (zoom limits, sync, modifier)."""

    def __init__(self, pane: ImagePane) -> None:
        super().__init__(lockAspect=True, invertY=True, enableMenu=False, defaultPadding=0.0)
        self._pane = pane

    def wheelEvent(self, ev, axis=None) -> None:  # noqa: ANN001, N802
        delta = ev.delta()
        if not delta:
            ev.ignore()
            return
        anchor = self.mapSceneToView(ev.scenePos())
        # zoom is always shared (Shift only un-syncs panning): the panes keep one scale
        self._pane.zoom_by(WHEEL_STEP ** (delta / 120.0), anchor=anchor, user=True)
        ev.accept()

    def mouseDragEvent(self, ev, axis=None) -> None:  # noqa: ANN001, N802
        if ev.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            ev.ignore()
            return
        ev.accept()
        before = self.mapToView(ev.lastPos())
        after = self.mapToView(ev.pos())
        local = bool(ev.modifiers() & UNSYNC_MODIFIER)
        self._pane.pan_by(before.x() - after.x(), before.y() - after.y(), user=True, local=local)

    def mouseClickEvent(self, ev) -> None:  # noqa: ANN001, N802
        if ev.button() == Qt.MouseButton.LeftButton:
            ev.accept()
            self._pane.activated.emit()
        else:
            ev.ignore()


class _GraphicsView(pg.GraphicsView):
    """The pane's canvas; tells the pane when the mouse leaves it."""

    def __init__(self, pane: ImagePane) -> None:
        super().__init__(pane, background=QColor(38, 38, 38))
        self._pane = pane
        self.setMouseTracking(True)

    def leaveEvent(self, ev) -> None:  # noqa: ANN001, N802
        super().leaveEvent(ev)
        self._pane.cursorLeft.emit()


class ImagePane(QWidget):
    """A titled, zoomable, pannable view of one RGB image with a crosshair and a read-out."""

    viewChanged = Signal(QRectF)
    userViewChanged = Signal(bool)
    cursorMoved = Signal(float, float)
    cursorLeft = Signal()
    activated = Signal()

    def __init__(self, parent: QWidget | None = None, *, title: str = "", show_title: bool = True,
                 show_readout: bool = True) -> None:
        super().__init__(parent)
        self._raster: Raster | None = None
        self._state: ViewState | None = None
        self._fit_mode = True
        self._applying = False
        #: when set, (x, y) -> the read-out text at that scene point (the swipe view names the side)
        self.readout_provider = None

        self._title = QLabel(title, self)
        self._title.setObjectName("paneTitle")
        self._title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        bold = QFont(self._title.font())
        bold.setBold(True)
        self._title.setFont(bold)
        self._title.setVisible(show_title)
        # a narrow pane (1×N) wraps its title onto more lines instead of clipping it (issue 21, 14)
        self._title.setWordWrap(True)
        self._title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Minimum)

        self._canvas = _GraphicsView(self)
        self._view = _PaneViewBox(self)
        self._view.disableAutoRange()
        self._canvas.setCentralItem(self._view)
        self._item = RasterItem()
        self._view.addItem(self._item)
        pen = pg.mkPen(QColor(255, 255, 0, 170), width=1)
        self._vline = pg.InfiniteLine(angle=90, pen=pen, movable=False)
        self._hline = pg.InfiniteLine(angle=0, pen=pen, movable=False)
        for line in (self._vline, self._hline):
            line.setZValue(10)
            line.hide()
            self._view.addItem(line, ignoreBounds=True)
        self._crosshair_enabled = True

        self._message = QLabel(self._canvas)
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message.setWordWrap(True)
        self._message.setStyleSheet("color: #ddd; background: transparent; padding: 12px;")
        self._message.hide()

        self._readout = QLabel(" ", self)
        self._readout.setObjectName("paneReadout")
        self._readout.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._readout.setVisible(show_readout)
        self._readout.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.Monospace)
        self._readout.setFont(mono)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(1, 1, 1, 1)
        layout.setSpacing(1)
        layout.addWidget(self._title)
        layout.addWidget(self._canvas, 1)
        layout.addWidget(self._readout)

        self._view.sigResized.connect(self._on_resized)
        self._view.sigRangeChanged.connect(self._on_range_changed)
        self._canvas.scene().sigMouseMoved.connect(self._on_mouse_moved)

    # ----------------------------------------------------------------- content
    @property
    def view_box(self) -> pg.ViewBox:
        return self._view

    @property
    def canvas(self) -> pg.GraphicsView:
        return self._canvas

    @property
    def raster_item(self) -> RasterItem:
        return self._item

    def image(self) -> np.ndarray | None:
        return None if self._raster is None else self._raster.rgb

    def image_scale(self) -> float:
        return self._item.scale_

    def title(self) -> str:
        return self._title.text()

    def set_title(self, title: str) -> None:
        self._title.setText(title)
        self._title.setToolTip(title)

    def set_image(self, image: np.ndarray | Raster | None, title: str | None = None, *,
                  scale: float = 1.0) -> None:
        """Show ``image`` ((H, W, 3) ``uint8``) at ``scale`` units per pixel; keeps the view.

        A pane in fit mode (new, or after :meth:`fit`) fits the new image; ``None`` clears it.  Passing a
        :class:`Raster` reuses its converted QImage and pyramid (instant switching).
        """
        if image is None:
            self._raster = None
        else:
            self._raster = image if isinstance(image, Raster) else Raster(image)
        self._item.set_raster(self._raster, scale)
        if title is not None:
            self.set_title(title)
        if self._raster is not None:
            self._message.hide()
            if self._fit_mode:
                self.fit()
        self._refresh_readout()

    def clear(self) -> None:
        self.set_image(None)

    def set_message(self, text: str) -> None:
        """A centred note over the canvas (e.g. 'no weights yet'); empty text hides it."""
        self._message.setText(text)
        self._message.setVisible(bool(text))
        self._place_message()

    def message(self) -> str:
        return self._message.text() if self._message.isVisible() else ""

    def scene_size(self) -> tuple[float, float]:
        """(width, height) of the image in scene units (0, 0 without an image)."""
        bounds = self._item.boundingRect()
        return bounds.width(), bounds.height()

    # ------------------------------------------------------------------- view
    def _viewport_size(self) -> tuple[float, float]:
        rect = self._view.rect()
        return rect.width(), rect.height()

    def view_range(self) -> QRectF:
        """The visible region in scene units."""
        return QRectF(self._view.viewRect())

    def set_view_range(self, rect: QRectF) -> None:
        """Show at least ``rect`` (the aspect ratio is kept: the other side grows, centred)."""
        w, h = self._viewport_size()
        if rect.width() <= 0 or rect.height() <= 0:
            return
        if w <= 0 or h <= 0:
            self._state = ViewState(rect.center().x(), rect.center().y(), 1.0)
            self._fit_mode = False
            return
        zoom = min(w / rect.width(), h / rect.height())
        self.set_view_state(ViewState(rect.center().x(), rect.center().y(), zoom))

    def view_state(self) -> ViewState:
        if self._state is not None:
            return self._state
        rect = self._view.viewRect()
        w, _h = self._viewport_size()
        zoom = w / rect.width() if rect.width() > 0 and w > 0 else 1.0
        return ViewState(rect.center().x(), rect.center().y(), zoom)

    def set_view_state(self, state: ViewState) -> None:
        """Centre on (``state.cx``, ``state.cy``) at ``state.zoom`` (clamped)."""
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, state.zoom))
        self._state = ViewState(state.cx, state.cy, zoom)
        self._fit_mode = False
        self._apply()

    def is_fit(self) -> bool:
        return self._fit_mode

    def fit(self) -> None:
        """Show the whole image, as large as the pane allows."""
        self._fit_mode = True
        sw, sh = self.scene_size()
        w, h = self._viewport_size()
        if sw <= 0 or sh <= 0:
            return
        if w <= 0 or h <= 0:
            self._state = ViewState(sw / 2, sh / 2, 1.0)
            return
        self._state = ViewState(sw / 2, sh / 2, min(w / sw, h / sh))
        self._apply()

    def zoom(self) -> float:
        """Screen pixels per scene unit (1.0 = 100 %)."""
        return self.view_state().zoom

    def screen_zoom(self) -> float | None:
        """The magnification drawn now: viewport pixels per scene unit of the visible range (None unlaid)."""
        rect, width = self._view.viewRect(), self._view.rect().width()
        return width / rect.width() if rect.width() > 0 and width > 1 else None

    def set_zoom(self, zoom: float, anchor: QPointF | None = None, *, user: bool = False,
                 local: bool = False) -> None:
        self.zoom_by(zoom / self.view_state().zoom, anchor, user=user, local=local)

    def zoom_by(self, factor: float, anchor: QPointF | None = None, *, user: bool = False,
                local: bool = False) -> None:
        """Zoom by ``factor`` keeping the scene point ``anchor`` (default: the centre) in place."""
        state = self.view_state()
        zoom = min(MAX_ZOOM, max(MIN_ZOOM, state.zoom * factor))
        real = zoom / state.zoom
        ax, ay = (state.cx, state.cy) if anchor is None else (anchor.x(), anchor.y())
        self.set_view_state(ViewState(ax + (state.cx - ax) / real, ay + (state.cy - ay) / real, zoom))
        if user:
            self.userViewChanged.emit(local)

    def pan_by(self, dx: float, dy: float, *, user: bool = False, local: bool = False) -> None:
        """Move the view by (dx, dy) scene units."""
        self.set_view_state(self.view_state().moved(dx, dy))
        if user:
            self.userViewChanged.emit(local)

    def _apply(self) -> None:
        state = self._state
        w, h = self._viewport_size()
        if state is None or w <= 0 or h <= 0:
            return
        vw, vh = w / state.zoom, h / state.zoom
        self._applying = True
        try:
            self._view.setRange(QRectF(state.cx - vw / 2, state.cy - vh / 2, vw, vh), padding=0.0)
        finally:
            self._applying = False

    def _on_resized(self, *_args) -> None:
        if self._fit_mode:
            self.fit()
        else:
            self._apply()
        self._place_message()

    def _on_range_changed(self, *_args) -> None:
        self.viewChanged.emit(self.view_range())

    # --------------------------------------------------------------- rendering
    def set_smooth(self, smooth: bool) -> None:
        """Smooth (bilinear) magnification instead of nearest neighbour."""
        self._item.set_smooth(smooth)

    def smooth(self) -> bool:
        return self._item.smooth

    def set_crosshair_enabled(self, enabled: bool) -> None:
        self._crosshair_enabled = enabled
        if not enabled:
            self.hide_crosshair()

    def set_crosshair(self, x: float, y: float) -> None:
        """Show the crosshair at scene point (x, y) and the pixel there in the read-out."""
        if self._crosshair_enabled:
            self._vline.setPos(x)
            self._hline.setPos(y)
            self._vline.show()
            self._hline.show()
        self._refresh_readout(x, y)

    def hide_crosshair(self) -> None:
        self._vline.hide()
        self._hline.hide()
        self._refresh_readout()

    def crosshair(self) -> tuple[float, float] | None:
        if not self._vline.isVisible():
            return None
        return float(self._vline.value()), float(self._hline.value())

    def pixel_index(self, x: float, y: float) -> tuple[int, int] | None:
        """The (column, row) of the image pixel at scene point (x, y), or None outside."""
        if self._raster is None:
            return None
        scale = self._item.scale_
        col, row = math.floor(x / scale), math.floor(y / scale)
        if 0 <= col < self._raster.width and 0 <= row < self._raster.height:
            return col, row
        return None

    def pixel_at(self, x: float, y: float) -> tuple[int, int, int] | None:
        """The RGB value under scene point (x, y), or None outside the image."""
        index = self.pixel_index(x, y)
        if index is None or self._raster is None:
            return None
        r, g, b = self._raster.rgb[index[1], index[0]]
        return int(r), int(g), int(b)

    def _refresh_readout(self, x: float | None = None, y: float | None = None) -> None:
        if self._readout.isHidden():
            return
        if x is None or y is None:
            self._readout.setText(" ")
            return
        if self.readout_provider is not None:
            self._readout.setText(self.readout_provider(x, y))
            return
        if self._raster is None:
            self._readout.setText("no value")  # never a value read from another pane's image
            return
        index, rgb = self.pixel_index(x, y), self.pixel_at(x, y)
        if index is None or rgb is None:
            self._readout.setText("outside the image")
            return
        self._readout.setText(f"({index[0]}, {index[1]})  RGB {rgb[0]:3d} {rgb[1]:3d} {rgb[2]:3d}")

    def pixel_text(self, x: float, y: float, raster: Raster | None = None, scale: float | None = None) -> str:
        """``"(col, row)  RGB r g b"`` of ``raster`` (default: this pane's) at scene point (x, y)."""
        raster = raster if raster is not None else self._raster
        scale = scale if scale is not None else self._item.scale_
        if raster is None:
            return "outside the image"
        col, row = math.floor(x / scale), math.floor(y / scale)
        if not (0 <= col < raster.width and 0 <= row < raster.height):
            return "outside the image"
        r, g, b = (int(v) for v in raster.rgb[row, col])
        return f"({col}, {row})  RGB {r:3d} {g:3d} {b:3d}"

    def readout(self) -> str:
        return self._readout.text()

    def visible_bounds(self) -> tuple[int, int, int, int] | None:
        """The visible part of the image as integer scene bounds (x0, y0, x1, y1), or None."""
        if self._raster is None:
            return None
        rect = self.view_range()
        sw, sh = self.scene_size()
        x0, y0 = max(0, math.floor(rect.left())), max(0, math.floor(rect.top()))
        x1, y1 = min(int(sw), math.ceil(rect.right())), min(int(sh), math.ceil(rect.bottom()))
        if x1 <= x0 or y1 <= y0:
            return None
        return x0, y0, x1, y1

    def visible_crop(self, bounds: tuple[int, int, int, int] | None = None) -> np.ndarray | None:
        """The image inside ``bounds`` (default: the visible region) at one pixel per scene unit.

        An image shown at ``scale`` > 1 is enlarged with nearest neighbour, so crops of
        every pane line up pixel for pixel.
        """
        bounds = bounds or self.visible_bounds()
        if self._raster is None or bounds is None:
            return None
        return crop_scene(self._raster.rgb, bounds, int(self._item.scale_))

    # ------------------------------------------------------------------ events
    def _on_mouse_moved(self, scene_pos: QPointF) -> None:
        if self._raster is None:
            return
        point = self._view.mapSceneToView(scene_pos)
        self.cursorMoved.emit(float(point.x()), float(point.y()))

    def _place_message(self) -> None:
        self._message.setGeometry(self._canvas.rect())

    def resizeEvent(self, event) -> None:  # noqa: ANN001, N802
        super().resizeEvent(event)
        self._place_message()
