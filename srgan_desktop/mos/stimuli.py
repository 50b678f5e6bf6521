"""Making a study's stimuli once, with the core engine, and checking them later by SHA-256.

Each HR source is cropped to a multiple of the study's scale N (×4 in the paper; 2, 3, 4 or 8),
degraded with the benchmark's MATLAB bicubic ×1/N (:func:`srgan_desktop.core.resize.downscale`),
and every condition is rendered from that one LR image: nearest-neighbour ×N (pixel
replication), bicubic ×N and ×N networks through :class:`~srgan_desktop.core.engine.Upscaler`
(a model of another scale is refused by name); the reference is the cropped HR itself.
Stimuli are written as ``stimuli/<random id>.png``: neither the name nor the order of the files
tells which method made them.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from srgan_desktop import utils
from srgan_desktop.utils import sha256_file
from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.core.images import IMAGE_SUFFIXES, ImageLoadError, ImageSaveError, load_image, save_image
from srgan_desktop.core.resize import downscale
from srgan_desktop.mos.design import Condition, DesignError, StudyDesign

__all__ = ["StimulusError", "SourceImage", "Stimulus", "find_sources", "sha256_file",
           "nearest_upscale", "crop_to_multiple", "generate_stimuli", "verify_stimuli",
           "STIMULI_DIR"]

STIMULI_DIR = "stimuli"
Progress = Callable[[int, int, str], None]          # (done, total, what)
Renderer = Callable[[np.ndarray, np.ndarray, str], np.ndarray]   # (hr, lr, image id) -> stimulus


class StimulusError(SrganDesktopError):
    """Stimuli could not be made or are not what the study recorded."""


@dataclass(frozen=True)
class SourceImage:
    """An HR source image as it was when the study was made."""

    id: str
    name: str
    sha256: str
    width: int
    height: int


@dataclass(frozen=True)
class Stimulus:
    """One image shown to raters; ``file`` is relative to the study folder."""

    id: str
    image: str
    condition: str
    file: str
    sha256: str
    width: int
    height: int


def find_sources(folder: str | Path) -> dict[str, Path]:
    """The image files of a folder by ID (the file stem), sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DesignError(f"{folder} is not a folder")
    sources: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES and not path.name.startswith("."):
            if path.stem in sources:
                raise DesignError(f"two images are called '{path.stem}' ({sources[path.stem].name}, "
                                  f"{path.name}); rename one")
            sources[path.stem] = path
    if not sources:
        raise DesignError(f"no images in {folder}")
    return sources


def crop_to_multiple(rgb: np.ndarray, factor: int) -> np.ndarray:
    try:
        return utils.crop_to_multiple(rgb, factor)
    except ValueError as exc:
        raise StimulusError(str(exc)) from exc


def nearest_upscale(lr: np.ndarray, factor: int) -> np.ndarray:
    """Nearest-neighbour ×factor: each LR pixel becomes a factor×factor block."""
    return np.repeat(np.repeat(lr, factor, axis=0), factor, axis=1)


def _renderer(cond: Condition, scale: int, device: str) -> Renderer:
    """A function (hr, lr, image id) → stimulus for one condition; network weights are loaded
    once here, through the one model resolver.  Kind ``results`` (``cond.model`` a folder) takes
    the images made elsewhere, named like the sources (:mod:`srgan_desktop.core.external`)."""
    from srgan_desktop.core.engine import BicubicMethod, Upscaler, UpscaleError

    if cond.kind == "nearest":
        return lambda hr, lr, _id: nearest_upscale(lr, scale)
    if cond.kind == "reference":
        return lambda hr, lr, _id: hr
    if cond.kind == "results":
        from srgan_desktop.core.external import Expected, ExternalResults, ResultsError

        try:
            found = ExternalResults.open(cond.key, cond.model, scale)
        except ResultsError as exc:
            raise StimulusError(str(exc)) from exc
        sizes: dict[str, tuple[int, int]] = {}   # uncropped HR size per image, set by check()

        def take(hr: np.ndarray, lr: np.ndarray, image_id: str) -> np.ndarray:
            try:
                return found.load(Expected(image_id, lr.shape[:2], sizes.get(image_id, hr.shape[:2])))
            except (ResultsError, ImageLoadError) as exc:
                raise StimulusError(str(exc)) from exc

        def check(image_ids: list[str], hr_sizes: dict[str, tuple[int, int]]) -> None:
            """Every source must have a result (names), before anything is rendered."""
            sizes.update(hr_sizes)
            try:
                for image_id in image_ids:
                    found.path_for(image_id)
            except ResultsError as exc:
                raise StimulusError(str(exc)) from exc

        take.check = check  # type: ignore[attr-defined]
        return take
    if cond.kind == "bicubic":
        upscaler = Upscaler(BicubicMethod(scale))
    elif cond.kind == "model":
        from srgan_desktop.core.models import default_resolver
        from srgan_desktop.core.weights import WeightsError

        try:  # the one resolver: bundled name, user model or file, any architecture
            method = default_resolver().method(cond.model)
        except WeightsError as exc:
            raise StimulusError(f"condition '{cond.key}': {exc}") from exc
        if method.scale != scale:
            raise StimulusError(f"condition '{cond.key}': the model is ×{method.scale}, "
                                f"the study is ×{scale}")
        try:
            upscaler = Upscaler(method, device=device)
        except UpscaleError as exc:  # e.g. --device cuda without a GPU
            raise StimulusError(f"condition '{cond.key}': {exc}") from exc
    else:
        raise StimulusError(f"condition '{cond.key}': unknown kind '{cond.kind}'")

    def render(hr: np.ndarray, lr: np.ndarray, _id: str) -> np.ndarray:
        try:
            return upscaler.upscale(lr).rgb
        except UpscaleError as exc:
            raise StimulusError(f"condition '{cond.key}': {exc}") from exc

    return render


def generate_stimuli(design: StudyDesign, sources: dict[str, Path], study_dir: str | Path,
                     device: str = "cpu", progress: Progress | None = None,
                     should_stop: Callable[[], bool] | None = None
                     ) -> tuple[list[SourceImage], list[Stimulus]]:
    """Render every stimulus the design needs into ``study_dir/stimuli``.

    Returns the sources (with their hashes) and the stimuli (with theirs).  ``should_stop``
    is polled between stimuli; when it answers True, :class:`StimulusError` is raised.
    """
    study_dir = Path(study_dir)
    missing = [i for i in design.images if i not in sources]
    if missing:
        raise DesignError(f"no source file for image(s): {', '.join(missing)}")
    wanted = design.stimulus_keys()
    renderers = {cond: _renderer(design.condition(cond), design.scale, device)
                 for cond in dict.fromkeys(c for _, c in wanted)}
    for render in renderers.values():
        check = getattr(render, "check", None)
        if check is not None:  # results from files: all names first, sizes as each is loaded
            check(list(design.images), {})
    out_dir = study_dir / STIMULI_DIR
    out_dir.mkdir(parents=True, exist_ok=True)
    made: list[Stimulus] = []
    images: list[SourceImage] = []
    done = 0
    for image_id in design.images:
        conds = [c for i, c in wanted if i == image_id]
        try:
            loaded = load_image(sources[image_id])
        except ImageLoadError as exc:
            raise StimulusError(str(exc)) from exc
        for render in renderers.values():
            if getattr(render, "check", None) is not None:
                render.check([], {image_id: tuple(loaded.rgb.shape[:2])})
        hr = crop_to_multiple(loaded.rgb, design.scale)
        if min(hr.shape[:2]) < 4 * design.scale:
            raise StimulusError(f"{sources[image_id].name}: too small for a ×{design.scale} study")
        lr = downscale(hr, design.scale)
        images.append(SourceImage(image_id, sources[image_id].name, sha256_file(sources[image_id]),
                                  int(hr.shape[1]), int(hr.shape[0])))
        for cond in conds:
            if should_stop is not None and should_stop():
                raise StimulusError("stimulus generation was cancelled")
            rgb = np.ascontiguousarray(renderers[cond](hr, lr, image_id))
            if rgb.shape != hr.shape:
                raise StimulusError(f"condition '{cond}' made a {rgb.shape} image for {hr.shape}")
            stim_id = secrets.token_hex(8)
            try:
                path = save_image(out_dir / f"{stim_id}.png", rgb)
            except ImageSaveError as exc:  # a full disk while rendering
                raise StimulusError(str(exc)) from exc
            made.append(Stimulus(stim_id, image_id, cond, f"{STIMULI_DIR}/{path.name}",
                                 sha256_file(path), int(rgb.shape[1]), int(rgb.shape[0])))
            done += 1
            if progress is not None:
                progress(done, len(wanted), f"{image_id} · {cond}")
    return images, made


def verify_stimuli(study_dir: str | Path, stimuli: list[Stimulus]) -> list[str]:
    """Problems with the stimulus files (missing, changed); empty when all match their hashes."""
    study_dir = Path(study_dir)
    problems: list[str] = []
    for stim in stimuli:
        path = study_dir / stim.file
        if not path.is_file():
            problems.append(f"{stim.file} is missing")
        elif sha256_file(path) != stim.sha256:
            problems.append(f"{stim.file} was changed after the study was made (SHA-256 differs)")
    return problems
