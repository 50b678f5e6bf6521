"""What the comparison's views say and show, without Qt: the rules the window only draws.

Rules (tested without Qt in tests/test_session.py; issue 21):

* **Never one method's pixels under another's name.**  A pane, a swipe side, a flicker frame or
  a difference operand whose method has no image shows :func:`no_result` ("no result: <reason>")
  and the pixel read-out there says "no value", never the other side's pixels.
* **Swipe's default pair** (:func:`default_pair`) never picks a method that cannot run (a broken
  model, a ×2 model at ×4): the first usable method against the ground truth, else against the
  last usable method.
* **Zoom** is shown as the real magnification of a result pixel (:func:`zoom_text`); the zoom box
  shows it too at zooms that are no preset.
* **File names** (:func:`result_file_name`): Save result and Save all name a result alike,
  ``STEM_KEY_xSCALE.png``, with the scale once (``img_001_srgan_x4.png``, never ``_x4_x4``).
* **Output size guard** (:func:`output_estimate`): before a run makes results larger than the
  limit (megapixels per result, a setting), the user is asked, and told the memory they need,
  from the engine's measured bytes per pixel (:data:`~srgan_desktop.core.engine.STAGED_BYTES_PER_LR_PIXEL`).
* **Progress** (:func:`progress_text`): a run with no tile count yet (one tile, or the model
  loading) says its elapsed time and method, never "starting…" throughout; once the result is
  there and its measures run, "measuring <measure>…".
* **Titles and the table** (:func:`pane_title`, :func:`metrics_rows`): a pane's title is the
  method, then its PSNR/SSIM when known (the LR input: its size); the metrics table has one row
  per method, a note for a method without result ("running 3/8" while tiles arrive), no time for
  a result made elsewhere, and the status line sums the run times.
* **Menus** (:func:`run_menu_entries`, :func:`scale_menu_entries`, :func:`pane_choices`): Run one
  and Run again list every method made here (a disabled one greyed out with its reason); the
  Scale menu names the models of each scale ("bicubic only" where none is); the swipe, flicker and
  difference choices follow the panes, the ground truth first among the difference references.
* **Read-out** (:func:`cursor_text`): a scene point inside the image gives the output pixel and
  the LR pixel it came from; outside it, nothing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

from srgan_desktop.compare.methods import INPUT_KEY, REFERENCE_KEY, MethodKind
from srgan_desktop.compare.model import ComparisonModel, MethodOutput, MethodState, Status
from srgan_desktop.core.engine import STAGED_BYTES_PER_LR_PIXEL
from srgan_desktop.core.measures import MEASURES

__all__ = ["status_text", "NOTES", "no_result", "default_pair", "zoom_text", "result_file_name",
           "OutputEstimate", "output_estimate", "DEFAULT_OUTPUT_LIMIT_MP", "progress_text", "measure_title",
           "NO_VALUE", "MetricsRow", "title_of", "pane_title", "metrics_rows", "PaneChoices", "pane_choices",
           "run_menu_entries", "scale_menu_entries", "cursor_text", "finished_text"]

#: Megapixels per result above which a run asks first (a 2000×2000 LR image at ×4 is 64 MP).
DEFAULT_OUTPUT_LIMIT_MP = 64
#: What the pixel read-out says over a side that has no image.
NO_VALUE = "no value"


def status_text(state: MethodState) -> str:
    """What a pane says in place of an image, for a method's state."""
    if state.status is Status.QUEUED:
        return "Queued…"
    if state.status is Status.RUNNING:
        if state.tiles_total <= 1 and state.share > 0:
            return f"Running… {state.share:.0%}"
        if not state.tiles_total:
            return "Running… (loading, first tile)"
        return f"Running… {state.tiles_done}/{state.tiles_total} tiles"
    if state.status is Status.FAILED:
        return f"Failed: {state.message}"
    if state.status is Status.CANCELLED:
        return "Cancelled — Ctrl+R runs it again"
    if state.status is Status.DISABLED:
        return f"Unavailable: {state.message}"
    return "Not run yet — Run all: Ctrl+R"


#: The metrics table's note for a method without a result.
NOTES = {Status.QUEUED: "queued", Status.RUNNING: "running", Status.FAILED: "failed",
         Status.CANCELLED: "cancelled", Status.DISABLED: "unavailable", Status.NOT_RUN: "", Status.DONE: ""}


def _reason(state: MethodState) -> str:
    if state.status is Status.DISABLED:
        return state.message or "not available"
    if state.status is Status.FAILED:
        return f"failed: {state.message}"
    if state.status is Status.QUEUED:
        return "queued"
    if state.status is Status.RUNNING:
        return "running…"
    if state.status is Status.CANCELLED:
        return "cancelled (Ctrl+R runs it again)"
    return "not run yet (Run all: Ctrl+R)"


def no_result(model: ComparisonModel, key: str) -> str:
    """"" when ``key`` has an image to show, else ``"no result: <reason>"``."""
    if not model.has_image:
        return "no result: no image open"
    if model.image_for(key) is not None:
        return ""
    if key in (INPUT_KEY, REFERENCE_KEY):
        return "no result: no ground truth in Upscale mode" if key == REFERENCE_KEY else "no result: no image"
    try:
        model.method(key)
    except KeyError:
        return "no result: no such method"
    return f"no result: {_reason(model.state(key))}"


def _usable(model: ComparisonModel, key: str) -> bool:
    """It has a result, or it can run and did not fail."""
    return key in model.results or (model.is_enabled(key) and model.state(key).status is not Status.FAILED)


def default_pair(model: ComparisonModel) -> tuple[str, str]:
    """Swipe's pair when the user chose none: never a method that cannot run."""
    keys = model.pane_keys()
    methods = [k for k in keys if k not in (INPUT_KEY, REFERENCE_KEY) and _usable(model, k)]
    left = methods[0] if methods else INPUT_KEY
    if REFERENCE_KEY in keys:
        return left, REFERENCE_KEY
    others = [k for k in methods if k != left]
    return left, (others[-1] if others else INPUT_KEY)


def zoom_text(zoom: float | None) -> str:
    """``"32 %"``: screen pixels per result pixel; one decimal under 10 %."""
    if zoom is None or zoom <= 0:
        return ""
    percent = zoom * 100
    return f"{percent:.1f} %" if percent < 9.95 else f"{percent:.0f} %"


def result_file_name(stem: str, key: str, scale: int, suffix: str = ".png") -> str:
    """``STEM_KEY_xSCALE.png`` with the scale once (a key that already ends in ``_xSCALE`` keeps it)."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", key).strip("_") or "result"
    if key not in (INPUT_KEY,) and not re.search(rf"_x{scale}$", safe):
        safe = f"{safe}_x{scale}"
    return f"{stem}_{safe}{suffix}"


def _size(n: float) -> str:
    for unit, div in (("GiB", 1024 ** 3), ("MiB", 1024 ** 2)):
        if n >= div:
            return f"{n / div:.1f} {unit}"
    return f"{n / 1024:.0f} KiB"


def _mp(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


@dataclass(frozen=True)
class OutputEstimate:
    """The results a run would make, and the memory they need."""

    width: int
    height: int
    count: int             # results to make
    networks: int          # of which made by a network
    kept_bytes: int        # the results kept (8-bit RGB, plus their display copy)
    peak_bytes: int        # one network's peak while it runs (its feature maps for the image)

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1e6

    def question(self, limit_mp: float) -> str:
        peak = (f" and a network needs about {_size(self.peak_bytes)} while it runs "
                f"({STAGED_BYTES_PER_LR_PIXEL // 1024} KiB per LR pixel, measured for the engine)"
                if self.networks else "")
        return (f"Each result would be {self.width}×{self.height} ({_mp(self.megapixels)} MP), above the "
                f"limit of {limit_mp:g} MP (Compare ▸ Output size limit…). {self.count} result"
                f"{'s' if self.count != 1 else ''} would keep about {_size(self.kept_bytes)}{peak}. Run anyway?")


def output_estimate(model: ComparisonModel, keys: list[str], resolved_device: str = "cpu") -> OutputEstimate | None:
    """What running ``keys`` would make now (cached, done and disabled ones cost nothing)."""
    shape = model.expected_shape()
    if shape is None or model.lr is None:
        return None
    todo = [k for k in keys if k not in model.results and model.is_enabled(k)
            and model.cached(k, resolved_device) is None and model.method(k).kind is not MethodKind.FILE]
    if not todo:
        return None
    height, width = shape
    lr_pixels = model.lr.shape[0] * model.lr.shape[1]
    networks = sum(1 for k in todo if model.method(k).kind is MethodKind.MODEL)
    kept = len(todo) * height * width * (3 + 4)  # the uint8 result and its 32-bit display copy
    peak = lr_pixels * STAGED_BYTES_PER_LR_PIXEL if networks else height * width * 3 * 4
    return OutputEstimate(width, height, len(todo), networks, kept, peak)


def measure_title(name: str) -> str:
    if name == "psnr":
        return "PSNR/SSIM"
    entry = MEASURES.get(name)
    return entry.title if entry is not None else name


def progress_text(title: str, state: MethodState | None, elapsed: float | None,
                  measuring: str = "") -> tuple[str, tuple[int, int] | None]:
    """The status bar's text and bar range ``(done, total)``, or None for a busy (indeterminate) bar."""
    if measuring:
        return f"{title}: measuring {measure_title(measuring)}…", None
    if state is None or state.status is Status.QUEUED:
        return (f"{title}: queued…" if title else "Queued…"), None
    seconds = f" {elapsed:.0f} s" if elapsed is not None else ""
    if state.tiles_total <= 1 and state.share > 0 and state.status is Status.RUNNING:
        return f"{title}: {state.share:.0%}{seconds}", (round(state.share * 1000), 1000)
    if not state.tiles_total or state.tiles_total == 1 and not state.tiles_done:
        return f"{title}: running…{seconds}", None
    return f"{title}: {state.tiles_done}/{state.tiles_total} tiles", (state.tiles_done, state.tiles_total)


def title_of(model: ComparisonModel, key: str) -> str:
    """The method's title; an unknown key (a method just removed) is shown as itself."""
    try:
        return model.title(key)
    except KeyError:
        return key


def pane_title(model: ComparisonModel, key: str) -> str:
    """A pane's title: the method, then PSNR/SSIM against the ground truth when known."""
    title = title_of(model, key)
    if key == INPUT_KEY and model.lr is not None:
        h, w = model.lr.shape[:2]
        return f"{title} · {w}×{h}"
    scores = model.scores(key)
    text = scores.text() if scores is not None else ""
    return f"{title} — {text}" if text else title


@dataclass
class MetricsRow:
    """One row of the metrics table (None: no value; ``note`` says why)."""

    title: str
    psnr: float | None = None
    ssim: float | None = None
    seconds: float | None = None
    device: str = ""
    note: str = ""
    load_seconds: float | None = None
    extra: dict[str, float | str] = field(default_factory=dict)


def metrics_rows(model: ComparisonModel) -> tuple[list[MetricsRow], str]:
    """The table's rows, one per method, and the status line's run times ("Bicubic 0.01 s · …")."""
    rows: list[MetricsRow] = []
    times: list[str] = []
    for spec in model.methods():
        done = model.results.get(spec.key)
        if done is None:
            state = model.state(spec.key)
            note = NOTES[state.status]
            if state.status is Status.RUNNING and state.tiles_total:
                note = f"running {state.tiles_done}/{state.tiles_total}"
            rows.append(MetricsRow(spec.title, note=note))
            continue
        scores = model.scores(spec.key)
        file = spec.kind is MethodKind.FILE
        rows.append(MetricsRow(spec.title, scores.psnr if scores else None, scores.ssim if scores else None,
                               None if file else done.seconds, done.device, note="from file" if file else "",
                               load_seconds=None if file else done.load_seconds,
                               extra=dict(scores.extra) if scores else {}))
        if not file:
            times.append(f"{spec.title} {done.seconds:.2f} s")
    return rows, " · ".join(times)


@dataclass(frozen=True)
class PaneChoices:
    """(key, title) lists of the views' combo boxes."""

    panes: list[tuple[str, str]]        # swipe and flicker: every pane
    methods: list[tuple[str, str]]      # the difference map's first operand
    references: list[tuple[str, str]]   # its second: the ground truth first, then the others


def pane_choices(model: ComparisonModel) -> PaneChoices:
    panes = [(key, title_of(model, key)) for key in model.pane_keys()]
    methods = [(k, t) for k, t in panes if k not in (INPUT_KEY, REFERENCE_KEY)]
    first = [(k, t) for k, t in panes if k == REFERENCE_KEY]
    return PaneChoices(panes, methods, first + [(k, t) for k, t in panes if k != REFERENCE_KEY])


def run_menu_entries(model: ComparisonModel) -> list[tuple[str, str, str]]:
    """(key, text, reason it is disabled or "") of Run one / Run again: every method made here."""
    entries = []
    for spec in model.methods():
        if spec.kind is MethodKind.FILE:
            continue
        reason = model.disabled_reason(spec.key)
        entries.append((spec.key, spec.title if not reason else f"{spec.title} (unavailable)", reason))
    return entries


def scale_menu_entries(model: ComparisonModel) -> list[tuple[int, str]]:
    """(scale, text) of Compare ▸ Scale: each scale with the models made for it."""
    models = model.model_scales()
    entries = []
    for scale in model.scale_choices():
        names = [m.title for m in model.methods() if m.kind is MethodKind.MODEL and m.scale == scale]
        note = f"  ({', '.join(names)})" if names else "  (bicubic only)" if scale not in models else ""
        entries.append((scale, f"×{scale}{note}"))
    return entries


def cursor_text(model: ComparisonModel, x: float, y: float) -> str:
    """The read-out for scene point (x, y): output pixel and LR pixel, "" outside the image."""
    if model.lr is None:
        return ""
    h, w = model.lr.shape[:2]
    s = model.scale
    if not (0 <= x < w * s and 0 <= y < h * s):
        return ""
    ix, iy = math.floor(x), math.floor(y)
    return f"x {ix}  y {iy}  (LR {ix // s}, {iy // s})"


def finished_text(title: str, output: MethodOutput) -> str:
    """The status line after a run: its time, device and (apart) the time loading the model took."""
    load = f" (+ {output.load_seconds:.2f} s loading the model)" if output.load_seconds else ""
    return f"{title}: {output.seconds:.2f} s on {output.device}{load}"
