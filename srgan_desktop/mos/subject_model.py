"""Scores from a model of each rater's bias and inconsistency (Li & Bampis), next to MOS.

The model (Z. Li, C. G. Bampis, "A Simple Model for Subject Behavior in Subjective
Experiments", HVEI 2020; ITU-T P.910 (2022) Annex; Netflix ``sureal``'s ``MLE_CO_AP2``, its
default): the score of rater i for stimulus j (repeat r) is

    U_jir = ψ_j + Δ_i + υ_i · X,   X ~ N(0, 1)

with ψ_j the stimulus' quality, Δ_i the rater's bias and υ_i the rater's inconsistency.  The
maximum-likelihood estimate is found by alternating projection exactly as ``sureal`` does it:
start from the MOS and the mean offsets, then repeat — υ_i = SD of rater i's residuals,
ψ_j = mean of (U − Δ) weighted by 1/υ_i², Δ_i = mean of (U − ψ) — until ψ moves by less than
1e-8 (at most 1000 rounds); finally the biases are shifted to mean zero.  Intervals: ψ_j ± 1.96
· υ_j / √n_j (υ_j = SD of stimulus j's residuals, sureal's "AP2" variant), Δ_i ± 1.96 · υ_i /
√n_i, and υ_i's χ² interval.  A condition's score is the mean of its stimuli's ψ_j, with the
standard error √Σ se_j² / n.

Rules as for the plain MOS (:mod:`~srgan_desktop.mos.stats`): scores are checked first
(:func:`~srgan_desktop.mos.records.check_scores`); an interval from fewer than 3 scores or 3
raters, or of zero width (every score of a stimulus agreed, or a rater has one rating), is
withheld (NaN) with ``note`` "too few ratings" instead of a zero-width interval.  A rater whose
scores the model fits exactly (inconsistency 0 — one vote, typically) gets the weight 1/ε = 10⁸
and alone decides the score of every stimulus it rated; ``SubjectModel.warnings`` says so.

Why not ``sureal`` itself: it imports pandas and matplotlib (about 120 MB installed: pandas
84 MB, matplotlib 35 MB, measured with ``du -sh`` in the venv) for about 60 lines of NumPy.
``sureal`` stays a *test* dependency: ``tests/test_mos_subject_model.py`` checks that this
module gives sureal's estimates on simulated votes with known biases and inconsistencies.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import chi2

from srgan_desktop.mos.records import RatingRow, check_scores

__all__ = ["SubjectModel", "ModelScore", "RaterModel", "score_array", "fit_mle_co",
           "subject_model", "Z95"]

Z95 = 1.95996          # sureal's two-sided 95 % normal quantile
TOO_FEW = "too few ratings"
MAX_ROUNDS = 1000
TOLERANCE = 1e-8
EPSILON = 1e-8
#: The fit holds (stimuli × raters × repeats) scores densely; above this many cells (one cell
#: repeated thousands of times in an import) it is not fitted, and the note says why.
MAX_CELLS = 5_000_000


@dataclass(frozen=True)
class ModelScore:
    """The model's quality of a stimulus (image, condition) or a condition (image = '')."""

    condition: str
    image: str
    score: float
    ci_low: float
    ci_high: float
    note: str = ""          # why the interval is withheld ("too few ratings …"), else empty


@dataclass(frozen=True)
class RaterModel:
    """One rater's estimated bias (score offset) and inconsistency (SD), with 95 % intervals."""

    rater: str
    bias: float
    bias_ci_low: float
    bias_ci_high: float
    inconsistency: float
    inconsistency_ci_low: float
    inconsistency_ci_high: float
    ratings: int = 0
    note: str = ""          # why the intervals are withheld, else empty


@dataclass
class SubjectModel:
    """The fitted model: per condition, per stimulus and per rater."""

    conditions: list[ModelScore]
    stimuli: list[ModelScore]
    raters: list[RaterModel]
    rounds: int
    note: str = ""          # why the model was not fitted ('' when it was)
    warnings: list[str] = field(default_factory=list)   # e.g. a one-vote rater deciding a stimulus


def score_array(rows: Sequence[RatingRow], conditions: Sequence[str] = ()
                ) -> tuple[np.ndarray, list[tuple[str, str]], list[str]]:
    """(U[j, i, r] with NaN where missing, stimuli (image, condition), raters)."""
    order = list(conditions) + sorted({r.condition for r in rows} - set(conditions))
    images = list(dict.fromkeys(r.image for r in rows))
    present = {(r.image, r.condition) for r in rows}
    stimuli = [(im, c) for c in order for im in images if (im, c) in present]
    raters = sorted({r.rater for r in rows})
    j_of = {s: j for j, s in enumerate(stimuli)}
    i_of = {r: i for i, r in enumerate(raters)}
    j = np.fromiter((j_of[(r.image, r.condition)] for r in rows), np.int64, len(rows))
    i = np.fromiter((i_of[r.rater] for r in rows), np.int64, len(rows))
    score = np.fromiter((r.score for r in rows), np.float64, len(rows))
    # the k-th score of a (stimulus, rater) cell goes to repeat k (stable order of the rows)
    cell = j * len(raters) + i
    order = np.argsort(cell, kind="stable")
    sorted_cells = cell[order]
    starts = np.flatnonzero(np.r_[True, sorted_cells[1:] != sorted_cells[:-1]])
    rep_sorted = np.arange(len(rows)) - np.repeat(starts, np.diff(np.r_[starts, len(rows)]))
    rep = np.empty(len(rows), np.int64)
    rep[order] = rep_sorted
    u = np.full((len(stimuli), len(raters), int(rep.max()) + 1 if len(rows) else 1), np.nan)
    u[j, i, rep] = score
    return u, stimuli, raters


def _along_stimuli(x: np.ndarray) -> np.ndarray:
    """(J, I, R) → (J·R, I): every (stimulus, repeat) as a row, for per-rater statistics."""
    return np.concatenate([x[:, :, r] for r in range(x.shape[2])], axis=0)


def _along_raters(x: np.ndarray) -> np.ndarray:
    """(J, I, R) → (J, I·R): every (rater, repeat) as a column, for per-stimulus statistics."""
    return np.concatenate([x[:, :, r] for r in range(x.shape[2])], axis=1)


def fit_mle_co(u: np.ndarray) -> dict[str, np.ndarray | int]:
    """Alternating-projection ML fit of ψ (J), Δ (I), υ (I) and their uncertainties."""
    j_count, i_count, reps = u.shape
    seen = ~np.isnan(u)
    n_i = _along_stimuli(seen).sum(axis=0)
    n_j = _along_raters(seen).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        psi = np.nanmean(_along_raters(u), axis=1)
        delta = np.nanmean(_along_stimuli(u - psi[:, None, None]), axis=0)
        rounds = 0
        while True:
            previous = psi
            residual = u - psi[:, None, None] - delta[None, :, None]
            upsilon = np.nanstd(_along_stimuli(residual), axis=0)
            upsilon_j = np.nanstd(_along_raters(residual), axis=1)
            weights = np.tile(1.0 / (upsilon ** 2 + EPSILON), reps)
            centred = _along_raters(u - delta[None, :, None])
            psi = (np.nansum(centred * weights[None, :], axis=1)
                   / np.nansum(~np.isnan(centred) * weights[None, :], axis=1))
            delta = np.nanmean(_along_stimuli(u - psi[:, None, None]), axis=0)
            rounds += 1
            if np.linalg.norm(previous - psi) < TOLERANCE or rounds >= MAX_ROUNDS:
                break
        psi_se = 1.0 / np.sqrt(np.maximum(0.0, n_j / upsilon_j ** 2))
        delta_se = 1.0 / np.sqrt(np.maximum(0.0, n_i / upsilon ** 2))
        upsilon_low = (1 - np.sqrt(n_i / chi2.ppf(0.975, df=n_i))) * upsilon
        upsilon_high = (np.sqrt(n_i / chi2.ppf(0.025, df=n_i)) - 1) * upsilon
    shift = float(np.mean(delta))
    return {"quality": psi + shift, "quality_se": psi_se, "bias": delta - shift, "bias_se": delta_se,
            "inconsistency": upsilon, "inconsistency_minus": upsilon_low,
            "inconsistency_plus": upsilon_high, "rounds": rounds, "n_j": n_j}


def subject_model(rows: Sequence[RatingRow], conditions: Sequence[str] = (),
                  min_raters: int = 3) -> SubjectModel:
    """The model's scores per condition and stimulus and each rater's bias and inconsistency.

    With fewer than ``min_raters`` raters (or fewer than 2 stimuli) nothing is fitted and
    ``note`` says "too few ratings": a bias needs others to be measured against."""
    rows = list(rows)
    check_scores(rows)
    raters = {r.rater for r in rows}
    stimuli = {(r.image, r.condition) for r in rows}
    if len(raters) < min_raters or len(stimuli) < 2:
        return SubjectModel([], [], [], 0, note=f"too few ratings for the subject model ({len(raters)} "
                                                 f"rater(s), {len(stimuli)} stimuli; needs {min_raters} "
                                                 f"raters and 2 stimuli)")
    counts = Counter((r.image, r.condition, r.rater) for r in rows)
    repeats = max(counts.values())
    if len(stimuli) * len(raters) * repeats > MAX_CELLS:
        return SubjectModel([], [], [], 0, note=f"the subject model was not fitted: one rater rated one "
                                                 f"stimulus {repeats:,} times ({len(stimuli):,} stimuli × "
                                                 f"{len(raters):,} raters × {repeats:,} repeats is more than "
                                                 f"{MAX_CELLS:,} cells)")
    u, keys, names = score_array(rows, conditions)
    fit = fit_mle_co(u)
    seen = ~np.isnan(u)
    raters_j = seen.any(axis=2).sum(axis=1)                     # raters per stimulus
    n_i = seen.sum(axis=(0, 2))                                 # ratings per rater
    q, se = fit["quality"], fit["quality_se"]

    def interval(centre: float, half: float, n: int, raters_n: int) -> tuple[float, float, str]:
        if n < min_raters or raters_n < min_raters:
            return math.nan, math.nan, (f"{TOO_FEW} for a 95 % CI (n = {n} from {raters_n} "
                                        f"rater(s); needs {min_raters} scores from {min_raters} raters)")
        if not math.isfinite(half) or half <= 0:
            return math.nan, math.nan, (f"{TOO_FEW} for a 95 % CI: every score agreed, so the "
                                        f"interval would have zero width (n = {n})")
        return centre - half, centre + half, ""

    per_stimulus = [ModelScore(c, im, float(q[j]), *interval(float(q[j]), Z95 * float(se[j]),
                                                               int(fit["n_j"][j]), int(raters_j[j])))
                    for j, (im, c) in enumerate(keys)]
    per_condition = []
    for cond in dict.fromkeys(c for _, c in keys):
        idx = [j for j, (_, c) in enumerate(keys) if c == cond]
        mean = float(np.mean(q[idx]))
        half = Z95 * math.sqrt(float(np.sum(se[idx] ** 2))) / len(idx)
        cond_raters = len({r.rater for r in rows if r.condition == cond})
        per_condition.append(ModelScore(cond, "", mean, *interval(mean, half, int(np.sum(fit["n_j"][idx])),
                                                                   cond_raters)))
    b, b_se, v = fit["bias"], fit["bias_se"], fit["inconsistency"]
    per_rater = []
    warnings: list[str] = []
    for i, name in enumerate(names):
        n = int(n_i[i])
        low, high, note = interval(float(b[i]), Z95 * float(b_se[i]), n, len(names))
        v_low, v_high = float(v[i] - fit["inconsistency_minus"][i]), float(v[i] + fit["inconsistency_plus"][i])
        if note:
            v_low = v_high = math.nan
        per_rater.append(RaterModel(name, float(b[i]), low, high, float(v[i]), v_low, v_high, n, note))
        if v[i] < 1e-6:
            rated = [f"{im}/{c}" for j, (im, c) in enumerate(keys) if seen[j, i].any()]
            warnings.append(f"rater '{name}' has {n} rating(s) that the model fits exactly "
                            f"(inconsistency 0), so its weight is 1/ε = {1 / EPSILON:.0e} and it alone "
                            f"decides the score of {', '.join(rated[:3])}"
                            + (f" and {len(rated) - 3} more" if len(rated) > 3 else "")
                            + "; read those scores with care (or leave the rater out)")
    return SubjectModel(per_condition, per_stimulus, per_rater, int(fit["rounds"]), warnings=warnings)
