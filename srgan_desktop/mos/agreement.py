"""How well each image-quality metric predicts the MOS of a study's own stimuli.

For every rated stimulus (image × condition): its MOS (:func:`~srgan_desktop.mos.stats.per_image`)
and its metrics from :func:`srgan_desktop.core.measures.measure` — PSNR, SSIM and LPIPS against
the image's HR (the study's ``reference`` stimulus, or the source file in ``hr_dir`` checked by
its SHA-256), NIQE on the stimulus alone; border = the study's scale.  Then, per metric, over
the stimuli that have a number for it:

* SROCC (:func:`scipy.stats.spearmanr`) and Kendall's τ-b (:func:`scipy.stats.kendalltau`);
* PLCC after the 4-parameter logistic fit of the VQEG (FR-TV Phase II):
  ``f(x) = (β1 − β2) / (1 + exp(−(x − β3) / |β4|)) + β2``, fitted by
  :func:`scipy.optimize.curve_fit`; PLCC = Pearson(f(metric), MOS);
* a 95 % interval for each from :func:`scipy.stats.bootstrap` (percentile) that resamples
  *images* (all the stimuli of an image go together, since they share content).

Signs are kept: a metric where lower is better (NIQE, LPIPS) correlates negatively with MOS.
The HR reference stimuli are left out of the full-reference metrics (PSNR = ∞, LPIPS = 0 by
construction).  Fewer than :data:`MIN_STIMULI` stimuli or :data:`MIN_IMAGES` images give
"too few ratings" instead of numbers; a metric (or MOS) with the same value on every stimulus
gives a note saying so instead of NaN; NaN or infinite values given to :func:`correlations` or
:func:`fit_logistic4` raise :class:`AgreementError`.  The logistic is fitted from several
starting points (:func:`fit_logistic4`) and the least-squares best is kept.  A metric that cannot run on a stimulus (too small for
NIQE, no LPIPS backbone weights) keeps its reason in the table and is left out of its row.

Metric values are cached in ``<study>/metrics_cache.json`` by stimulus and reference SHA-256.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import optimize
from scipy import stats as sps

from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.mos.stats import ImageStats

__all__ = ["StimulusMetrics", "MetricAgreement", "Agreement", "logistic4", "fit_logistic4",
           "correlations", "agreement", "stimulus_metrics", "study_agreement", "AgreementError", "MIN_STIMULI", "MIN_IMAGES",
           "AGREEMENT_METRICS", "usable_stimuli"]

AGREEMENT_METRICS = ("psnr", "ssim", "lpips", "niqe")
MIN_STIMULI = 6      # a 4-parameter fit needs more points than parameters
MIN_IMAGES = 3       # the bootstrap resamples images
CACHE_FILE = "metrics_cache.json"


@dataclass(frozen=True)
class StimulusMetrics:
    """One rated stimulus: its MOS and each metric's value (or the reason it has none)."""

    image: str
    condition: str
    n: int
    mos: float
    values: dict[str, float | str]


@dataclass(frozen=True)
class MetricAgreement:
    metric: str
    stimuli: int
    images: int
    srocc: float
    srocc_ci: tuple[float, float]
    krocc: float
    krocc_ci: tuple[float, float]
    plcc: float
    plcc_ci: tuple[float, float]
    logistic: tuple[float, float, float, float]     # β1..β4 of the fit on all stimuli
    note: str = ""


@dataclass
class Agreement:
    stimuli: list[StimulusMetrics]
    metrics: list[MetricAgreement]
    notes: list[str] = field(default_factory=list)


class AgreementError(SrganDesktopError):
    """The metrics of a study's stimuli cannot be computed (no HR for full-reference ones), or values
    given to the fit are NaN or infinite."""


def logistic4(x: np.ndarray, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    """The VQEG 4-parameter logistic."""
    with np.errstate(over="ignore"):
        return (b1 - b2) / (1.0 + np.exp(-(np.asarray(x, dtype=np.float64) - b3) / abs(b4))) + b2


def _sse(beta: Sequence[float], x: np.ndarray, y: np.ndarray) -> float:
    return float(np.sum((logistic4(x, *beta) - y) ** 2))


def _starts(x: np.ndarray, y: np.ndarray) -> list[list[float]]:
    """Starting points of the logistic fit: the VQEG guess (β1, β2 at the MOS extremes in the
    direction of the rank correlation, β3 the mean, β4 the SD of the metric) first, then β3 at
    the metric's 10/25/50/75/90 % quantiles × β4 at ¼, 1 and 4 SDs, in both directions."""
    spread = float(np.std(x)) or 1.0
    sign = 1.0 if sps.spearmanr(x, y)[0] >= 0 else -1.0
    high, low = (float(y.max()), float(y.min())) if sign > 0 else (float(y.min()), float(y.max()))
    starts = [[high, low, float(np.mean(x)), spread]]
    for b3 in np.quantile(x, [0.1, 0.25, 0.5, 0.75, 0.9]):
        for b4 in (spread / 4, spread, 4 * spread):
            starts += [[high, low, float(b3), b4], [low, high, float(b3), b4]]
    return starts


def fit_logistic4(x: np.ndarray, y: np.ndarray, start: Sequence[float] | None = None,
                  maxfev: int = 5000) -> tuple[float, float, float, float]:
    """β of the logistic mapping metric → MOS (least squares); raises RuntimeError if it fails.

    Without ``start`` the fit runs from every point of :func:`_starts` and keeps the least sum of
    squares: from the VQEG guess alone it stopped in a worse local minimum in about 1 of 60
    random sets (tests/test_mos_agreement.py).  NaN or infinite values raise
    :class:`AgreementError`."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise AgreementError(f"the logistic fit needs finite values: {int(np.sum(~np.isfinite(x)))} metric "
                             f"and {int(np.sum(~np.isfinite(y)))} MOS value(s) are NaN or infinite")
    best, failure = None, None
    for guess in ([list(start)] if start is not None else _starts(x, y)):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                beta, _ = optimize.curve_fit(logistic4, x, y, p0=guess, maxfev=maxfev)
        except (RuntimeError, ValueError, optimize.OptimizeWarning) as exc:
            failure = exc
            continue
        if best is None or _sse(beta, x, y) < _sse(best, x, y):
            best = beta
    if best is None:
        raise RuntimeError(str(failure)) from failure
    return float(best[0]), float(best[1]), float(best[2]), abs(float(best[3]))  # f uses |β4|


def _plcc(x: np.ndarray, y: np.ndarray, start: Sequence[float]) -> float:
    """PLCC after a refit started from ``start`` (the full-data β); if the refit does not
    converge quickly (a resample with few distinct values), the full-data mapping is used."""
    try:
        beta = fit_logistic4(x, y, start, maxfev=100)
    except (RuntimeError, ValueError, optimize.OptimizeWarning):
        beta = tuple(start)
    fitted = logistic4(x, *beta)
    if np.ptp(fitted) == 0:
        return math.nan
    return float(sps.pearsonr(fitted, y)[0])


def correlations(x: Sequence[float], y: Sequence[float], groups: Sequence[str],
                 resamples: int = 400, seed: int = 0) -> tuple[float, ...]:
    """(SROCC, lo, hi, Kendall, lo, hi, PLCC, lo, hi, β1, β2, β3, β4) with bootstrap 95 %
    intervals over ``groups`` (the image of each point)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise AgreementError(f"correlations need finite values: {int(np.sum(~np.isfinite(x)))} metric "
                             f"and {int(np.sum(~np.isfinite(y)))} MOS value(s) are NaN or infinite")
    names = list(dict.fromkeys(groups))
    members = [np.flatnonzero(np.asarray(groups) == g) for g in names]
    beta = fit_logistic4(x, y)

    def stats_of(idx: np.ndarray) -> tuple[float, float, float]:
        take = np.concatenate([members[int(i)] for i in idx])
        xs, ys = x[take], y[take]
        if np.ptp(xs) == 0 or np.ptp(ys) == 0:
            return math.nan, math.nan, math.nan
        return (float(sps.spearmanr(xs, ys)[0]), float(sps.kendalltau(xs, ys)[0]),
                _plcc(xs, ys, beta))

    full = stats_of(np.arange(len(names)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        boot = sps.bootstrap((np.arange(len(names)),), lambda idx: np.array(stats_of(idx)),
                             n_resamples=resamples, method="percentile", vectorized=False,
                             random_state=np.random.default_rng(seed))
    low, high = boot.confidence_interval
    out: list[float] = []
    for k in range(3):
        out += [full[k], float(low[k]), float(high[k])]
    return (*out, *beta)


def usable_stimuli(cells: Sequence[StimulusMetrics], name: str) -> list[StimulusMetrics]:
    """The stimuli a metric's agreement is computed over — and the points its scatter plot shows
    (the same list, so the plot never has more points than the table counts): a finite value, a
    MOS, and for a full-reference metric not the HR reference itself (SSIM 1.0 by construction)."""
    from srgan_desktop.core.measures import MEASURES

    return [c for c in cells if isinstance(c.values.get(name), (int, float))
            and math.isfinite(c.values[name]) and not math.isnan(c.mos)
            and not (MEASURES[name].needs_reference and c.condition == "reference")]


def agreement(cells: Sequence[StimulusMetrics], metrics: Sequence[str] = AGREEMENT_METRICS,
              resamples: int = 400, seed: int = 0, check: Callable[[], None] | None = None) -> Agreement:
    """Per metric: SROCC, Kendall and PLCC (logistic) against the stimuli's MOS.

    ``check`` is called before each metric (a cancel: it raises to stop)."""
    result = Agreement(list(cells), [])
    for name in metrics:
        if check is not None:
            check()
        usable = usable_stimuli(cells, name)
        images = len({c.image for c in usable})
        empty = MetricAgreement(name, len(usable), images, *(math.nan, (math.nan, math.nan)) * 3,
                                (math.nan,) * 4)
        if len(usable) < MIN_STIMULI or images < MIN_IMAGES:
            reasons = sorted({str(c.values.get(name)) for c in cells if not isinstance(c.values.get(name), (int, float))})
            why = f"too few ratings: {len(usable)} stimuli from {images} image(s) have a {name} value " \
                  f"(needs {MIN_STIMULI} from {MIN_IMAGES})" + (f"; {reasons[0]}" if reasons else "")
            result.metrics.append(MetricAgreement(**{**empty.__dict__, "note": why}))
            continue
        x = [float(c.values[name]) for c in usable]
        y = [c.mos for c in usable]
        if np.ptp(x) == 0 or np.ptp(y) == 0:
            what = f"{name} is {x[0]:g}" if np.ptp(x) == 0 else f"the MOS is {y[0]:.2f}"
            result.metrics.append(MetricAgreement(**{**empty.__dict__, "note": (
                f"no correlation: {what} for every one of the {len(usable)} stimuli (a constant has "
                f"no rank order)")}))
            continue
        try:
            v = correlations(x, y, [c.image for c in usable], resamples, seed)
        except (RuntimeError, ValueError) as exc:
            result.metrics.append(MetricAgreement(**{**empty.__dict__,
                                                     "note": f"the logistic fit failed ({exc})"}))
            continue
        result.metrics.append(MetricAgreement(name, len(usable), images, v[0], (v[1], v[2]), v[3],
                                              (v[4], v[5]), v[6], (v[7], v[8]), tuple(v[9:13])))
    return result


def _reference_for(study, image: str, hr_dir: Path | None):
    """The HR of ``image``: the study's reference stimulus, else the source in ``hr_dir``
    (checked against the SHA-256 recorded when the study was made), else None."""
    from srgan_desktop.core.images import load_image
    from srgan_desktop.mos.stimuli import crop_to_multiple, sha256_file

    try:
        stim = study.stimulus_for(image, "reference")
        return load_image(study.stimulus_path(stim.id)).rgb, stim.sha256
    except KeyError:
        pass
    if hr_dir is None:
        return None, ""
    source = next(s for s in study.images if s.id == image)
    path = Path(hr_dir) / source.name
    if not path.is_file() or sha256_file(path) != source.sha256:
        return None, ""
    return crop_to_multiple(load_image(path).rgb, study.design.scale), source.sha256


def study_agreement(study, analysis, metrics: Sequence[str] = AGREEMENT_METRICS,
                    hr_dir: Path | None = None, lpips_net: str = "alex",
                    lpips_backbone: str | Path | None = None, resamples: int = 400,
                    check: Callable[[], None] | None = None) -> Agreement:
    """Per-stimulus metrics of ``study`` and their agreement with ``analysis.per_image``.

    ``check`` (a cancel that raises) is called before each stimulus is measured and before each
    metric's bootstrap, so a cancel stops the work within one stimulus or one metric.

    LPIPS runs only when its backbone weights are there; otherwise its column holds the reason
    (what is missing and where to put it) and the other metrics still run."""
    lpips = None
    unavailable = "no LPIPS weights"
    if "lpips" in metrics:
        from srgan_desktop.core.lpips_metric import load_lpips, lpips_missing

        unavailable = lpips_missing(lpips_net, lpips_backbone) or ""
        if not unavailable:
            try:
                lpips = load_lpips(lpips_net, lpips_backbone)
            except SrganDesktopError as exc:
                unavailable = str(exc)
    cells = stimulus_metrics(study, analysis.per_image, metrics, lpips=lpips,
                             lpips_unavailable=unavailable or "no LPIPS weights", hr_dir=hr_dir,
                             check=check)
    result = agreement(cells, metrics, resamples=resamples, check=check)
    if "lpips" in metrics and lpips is None:
        result.notes.append(f"LPIPS: {unavailable}")
    return result


def stimulus_metrics(study, cells: Sequence[ImageStats], metrics: Sequence[str] = AGREEMENT_METRICS,
                     lpips=None, lpips_unavailable: str = "no LPIPS weights",
                     hr_dir: Path | None = None, cache: bool = True,
                     check: Callable[[], None] | None = None) -> list[StimulusMetrics]:
    """Each rated stimulus's metrics (cached in the study folder by file hashes); ``check`` is
    called before each stimulus (a cancel: it raises)."""
    from srgan_desktop.core.images import load_image
    from srgan_desktop.core.measures import NO_REFERENCE, measure
    from srgan_desktop.utils import atomic_write

    cache_path = study.folder / CACHE_FILE
    stored: dict[str, float | str] = {}
    if cache and cache_path.is_file():
        try:
            stored = dict(json.loads(cache_path.read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            stored = {}
    changed = False
    references: dict[str, tuple[np.ndarray | None, str]] = {}
    out = []
    for cell in cells:
        if check is not None:
            check()
        stim = study.stimulus_for(cell.image, cell.condition)
        if cell.image not in references:
            references[cell.image] = _reference_for(study, cell.image, hr_dir)
        hr, hr_hash = references[cell.image]
        values: dict[str, float | str] = {}
        todo = []
        for name in metrics:
            key = f"{stim.sha256}:{hr_hash}:{name}:{study.design.scale}"
            if name == "lpips" and lpips is None:
                values[name] = lpips_unavailable
            elif key in stored:
                values[name] = stored[key]
            else:
                todo.append((name, key))
        if todo:
            rgb = load_image(study.stimulus_path(stim.id)).rgb
            got = measure(rgb, hr, [n for n, _ in todo], border=study.design.scale, lpips=lpips,
                          lpips_unavailable=lpips_unavailable)
            for name, key in todo:
                value = got[name]
                if value == NO_REFERENCE:
                    value = ("no HR reference: add the 'reference' condition to the study or give "
                             "the HR folder (--hr DIR)")
                values[name] = value
                if isinstance(value, float) and not math.isfinite(value):
                    continue
                stored[key] = value
                changed = True
        out.append(StimulusMetrics(cell.image, cell.condition, cell.n, cell.mos,
                                   {n: values[n] for n in metrics}))
    if cache and changed:
        try:
            atomic_write(cache_path, json.dumps(stored, indent=0, sort_keys=True))
        except OSError:
            pass  # a read-only study folder: computed again next time
    return out
