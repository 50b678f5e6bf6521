"""Statistics of a MOS study, from long-format :class:`~srgan_desktop.mos.records.RatingRow`\\ s.

* per condition: MOS, SD (n − 1), n and the Student-t confidence interval of the mean, over
  every recorded score (all raters, images and replicates), as the SRGAN paper's Table 1;
* the score distribution per condition (counts of 1…5) and the mean rank of each condition
  within each (rater, image, replicate) block (1 = best, ties share the average rank);
* pairwise tests between conditions: Wilcoxon signed-rank on per-rater means (paired by
  rater) and Mann–Whitney U on the raw scores, each family Holm-corrected;
* ITU-R BT.500 observer screening (Annex 2, §2.3.1: β2 kurtosis test, P/Q counts);
* test–retest agreement from replicate trials (Pearson, Spearman, mean |difference|), linear
  in the rows however often a trial was repeated;
* MOS per image and condition (:func:`per_image`).

Rules that protect the user from meaningless numbers:

* a score is an integer 1…5 (Python or NumPy integer, not bool): 0, 6, NaN, 3.5, ``True`` or
  the string ``'4'`` raise :class:`ScoreError` naming the row — the statistics never coerce.
  One check (:func:`~srgan_desktop.mos.records.check_scores`) runs at the module boundary: every
  public function here (and :func:`~srgan_desktop.mos.subject_model.subject_model`) runs it
  on its rows first, :func:`mean_ci` on its values;
* an interval is clipped to the 1–5 scale (the mean of 1–5 scores cannot leave it), and when
  it is at least as wide as the scale, or passes both ends, it is withheld: NaN, and ``note``
  says "too wide to use" (3 scores 1, 5, 5 gave [−2.07, 9.40]);
* a 95 % interval needs scores from at least :data:`MIN_RATERS_CI` (3) raters and
  :data:`MIN_SCORES_CI` (3) scores: with 2 raters, t(0.975, 1) = 12.7 gave intervals like
  [−15.6, 22.6] on a 1–5 scale; below that the interval is NaN and ``note`` says
  "too few ratings";
* Wilcoxon on per-rater means needs :data:`MIN_RATERS_WILCOXON` (6) raters: with n pairs the
  smallest exact two-sided p is 2/2ⁿ, which is above 0.05 for n ≤ 5, so a smaller test can
  only ever say "not significant"; Mann–Whitney needs :data:`MIN_SCORES_MWU` (4) scores per
  condition (smallest two-sided p with 3 + 3 is 0.1);
* BT.500 screening cannot flag anyone with fewer than :data:`MIN_RATERS_SCREENING` (6) raters
  (one score lies at most (N − 1)/√N SDs from the mean of N, below 2 for N ≤ 5): a warning;
  and when screening would exclude every rater, nobody is excluded and a warning says so.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from scipy import stats as sps

from srgan_desktop.mos.records import RatingRow, ScoreError, check_score_values, check_scores
from srgan_desktop.mos.subject_model import SubjectModel, subject_model

__all__ = ["ScoreError", "check_scores", "ImageStats", "per_image", "TOO_FEW", "TOO_WIDE", "ConditionStats", "PairwiseTest", "RaterScreening", "RetestResult", "Analysis",
           "mean_ci", "summarize", "score_distribution", "mean_ranks", "holm", "pairwise_tests",
           "bt500_screen", "retest_agreement", "analyse", "condition_order"]


MIN_RATERS_CI = 3
MIN_SCORES_CI = 3
MIN_RATERS_WILCOXON = 6
MIN_SCORES_MWU = 4
MIN_RATERS_SCREENING = 6
TOO_FEW = "too few ratings"
TOO_WIDE = "too wide to use"
SCALE = (1, 5)


def _checked(function):
    """The module boundary: a public statistic checks its rows' scores before anything else."""
    @functools.wraps(function)
    def checked(rows, *args, **kwargs):
        rows = list(rows)
        check_scores(rows)
        return function(rows, *args, **kwargs)
    return checked


def _on_scale(low: float, high: float, n: int, raters: int) -> tuple[float, float, str]:
    """(low, high, note) of an interval on the 1–5 scale: clipped to it, or withheld when it is
    as wide as the scale or passes both its ends."""
    lo, hi = SCALE
    if math.isnan(low) or math.isnan(high):
        return low, high, ""
    if high - low >= hi - lo or (low < lo and high > hi):
        return math.nan, math.nan, (f"the 95 % CI [{low:.2f}, {high:.2f}] is as wide as the {lo}–{hi} "
                                    f"scale: {TOO_WIDE} (n = {n} from {raters} rater(s))")
    return max(low, float(lo)), min(high, float(hi)), ""


def _ci_note(n: int, raters: int) -> str:
    if raters < MIN_RATERS_CI or n < MIN_SCORES_CI:
        return (f"{TOO_FEW} for a 95 % CI (n = {n} from {raters} rater(s); needs "
                f"{MIN_SCORES_CI} scores from {MIN_RATERS_CI} raters)")
    return ""


@dataclass(frozen=True)
class ConditionStats:
    condition: str
    n: int
    mos: float
    sd: float
    ci_low: float
    ci_high: float
    raters: int
    note: str = ""          # why the CI is missing ("too few ratings …"), else empty

    @property
    def half_width(self) -> float:
        return (self.ci_high - self.ci_low) / 2


@dataclass(frozen=True)
class PairwiseTest:
    a: str
    b: str
    mos_diff: float                 # MOS(a) − MOS(b)
    raters: int                     # raters who rated both (Wilcoxon pairs)
    wilcoxon_stat: float
    wilcoxon_p: float
    wilcoxon_p_holm: float
    mwu_stat: float
    mwu_p: float
    mwu_p_holm: float
    note: str = ""          # why a test was not run ("too few ratings …"), else empty


@dataclass(frozen=True)
class RaterScreening:
    rater: str
    presentations: int              # (condition, image, replicate) rated by this rater
    p: int                          # scores well above the presentation mean
    q: int                          # scores well below
    ratio: float                    # (P + Q) / presentations
    balance: float                  # |P − Q| / (P + Q)
    rejected: bool


@dataclass(frozen=True)
class RetestResult:
    pairs: int
    pearson: float
    spearman: float
    mean_abs_diff: float
    exact_agreement: float
    per_rater_mad: dict[str, float] = field(default_factory=dict)


@dataclass
class Analysis:
    """Everything the results view and ``mos summary`` show."""

    conditions: list[str]
    summary: list[ConditionStats]
    distribution: dict[str, list[int]]
    mean_ranks: dict[str, float]
    pairwise: list[PairwiseTest]
    screening: list[RaterScreening]
    retest: RetestResult | None
    excluded: list[str]
    raters: int
    ratings: int
    per_image: list[ImageStats] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    subject_model: SubjectModel | None = None


def condition_order(rows: Iterable[RatingRow], preferred: Sequence[str] = ()) -> list[str]:
    """``preferred`` first (those that have data), then any other condition by name."""
    present = {r.condition for r in rows}
    return [c for c in preferred if c in present] + sorted(present - set(preferred))


@functools.lru_cache(maxsize=1024)
def _t_quantile(q: float, df: int) -> float:
    """Student t quantile, cached: a study has thousands of cells with a handful of n."""
    return float(sps.t.ppf(q, df))


def mean_ci(scores: Sequence[int], confidence: float = 0.95) -> tuple[float, float, float, float]:
    """(mean, SD with n − 1, CI low, CI high); the CI is mean ± t(1 − α/2, n − 1)·SD/√n, as the
    formula gives it (the summaries clip it to the scale).  Scores must be integers 1–5."""
    check_score_values(scores)
    x = np.asarray(scores, dtype=np.float64)
    n = x.size
    if n == 0:
        return (math.nan,) * 4
    mean = float(x.mean())
    if n == 1:
        return mean, math.nan, math.nan, math.nan
    sd = float(x.std(ddof=1))
    half = _t_quantile(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
    return mean, sd, mean - half, mean + half


def _by_condition(rows: Iterable[RatingRow]) -> dict[str, list[RatingRow]]:
    grouped: dict[str, list[RatingRow]] = defaultdict(list)
    for row in rows:
        grouped[row.condition].append(row)
    return grouped


@_checked
def summarize(rows: Sequence[RatingRow], conditions: Sequence[str] = (),
              confidence: float = 0.95) -> list[ConditionStats]:
    """MOS per condition; the CI is NaN with a "too few ratings" note below the minimum."""
    grouped = _by_condition(rows)
    return [_cell_stats(ConditionStats, grouped[cond], confidence, condition=cond)
            for cond in condition_order(rows, conditions)]


def _cell_stats(kind, cell: Sequence[RatingRow], confidence: float, **names):
    """MOS, SD, CI (withheld below the minimum, with the note) of one group of ratings."""
    raters = len({r.rater for r in cell})
    mean, sd, low, high = mean_ci([r.score for r in cell], confidence)
    note = _ci_note(len(cell), raters)
    if note:
        low = high = math.nan
    else:
        low, high, note = _on_scale(low, high, len(cell), raters)
    return kind(n=len(cell), mos=mean, sd=sd, ci_low=low, ci_high=high, raters=raters, note=note,
                **names)


@dataclass(frozen=True)
class ImageStats(ConditionStats):
    """MOS of one image under one condition (over raters and replicates)."""

    image: str = ""


@_checked
def per_image(rows: Sequence[RatingRow], conditions: Sequence[str] = (),
              confidence: float = 0.95) -> list[ImageStats]:
    """MOS per (image, condition), images in first-seen order, conditions in study order."""
    order = condition_order(rows, conditions)
    images = list(dict.fromkeys(r.image for r in rows))
    grouped: dict[tuple[str, str], list[RatingRow]] = defaultdict(list)
    for row in rows:
        grouped[(row.image, row.condition)].append(row)
    return [_cell_stats(ImageStats, grouped[(image, cond)], confidence, image=image, condition=cond)
            for image in images for cond in order if grouped.get((image, cond))]


@_checked
def score_distribution(rows: Sequence[RatingRow], conditions: Sequence[str] = ()) -> dict[str, list[int]]:
    """Counts of the scores 1…5 per condition."""
    grouped = _by_condition(rows)
    return {cond: [sum(1 for r in grouped[cond] if r.score == s) for s in range(1, 6)]
            for cond in condition_order(rows, conditions)}


@_checked
def mean_ranks(rows: Sequence[RatingRow], conditions: Sequence[str] = ()) -> dict[str, float]:
    """Mean rank per condition over the (rater, image, replicate) blocks that rated them all."""
    order = condition_order(rows, conditions)
    blocks: dict[tuple[str, str, int], dict[str, int]] = defaultdict(dict)
    for row in rows:
        blocks[(row.rater, row.image, row.replicate)][row.condition] = row.score
    complete = [b for b in blocks.values() if all(c in b for c in order)]
    if not complete or not order:
        return {c: math.nan for c in order}
    scores = np.array([[b[c] for c in order] for b in complete], dtype=np.float64)
    ranks = sps.rankdata(-scores, axis=1)          # one call for every block (ties: average)
    return {c: float(v) for c, v in zip(order, ranks.mean(axis=0))}


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (NaNs stay NaN and do not count in m)."""
    valid = [(p, i) for i, p in enumerate(pvalues) if not math.isnan(p)]
    adjusted = [math.nan] * len(pvalues)
    m = len(valid)
    running = 0.0
    for k, (p, i) in enumerate(sorted(valid)):
        running = max(running, min(1.0, (m - k) * p))
        adjusted[i] = running
    return adjusted


def _wilcoxon(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    if x.size == 0:
        return math.nan, math.nan
    if np.all(x == y):
        return 0.0, 1.0   # no rater told the two apart
    result = sps.wilcoxon(x, y)
    return float(result.statistic), float(result.pvalue)


@_checked
def pairwise_tests(rows: Sequence[RatingRow], conditions: Sequence[str] = ()) -> list[PairwiseTest]:
    order = condition_order(rows, conditions)
    grouped = _by_condition(rows)
    rater_means: dict[str, dict[str, float]] = {}
    for cond in order:
        per_rater: dict[str, list[int]] = defaultdict(list)
        for row in grouped[cond]:
            per_rater[row.rater].append(row.score)
        rater_means[cond] = {r: float(np.mean(s)) for r, s in per_rater.items()}
    scores = {cond: np.array([r.score for r in grouped[cond]]) for cond in order}
    raw = []
    for a, b in combinations(order, 2):
        common = sorted(set(rater_means[a]) & set(rater_means[b]))
        x = np.array([rater_means[a][r] for r in common])
        y = np.array([rater_means[b][r] for r in common])
        sa, sb = scores[a], scores[b]
        notes = []
        if len(common) >= MIN_RATERS_WILCOXON:
            w_stat, w_p = _wilcoxon(x, y)
        else:
            w_stat = w_p = math.nan
            notes.append(f"{TOO_FEW} for Wilcoxon ({len(common)} rater(s) rated both; with fewer "
                         f"than {MIN_RATERS_WILCOXON} no p can fall below 0.05)")
        if min(len(sa), len(sb)) >= MIN_SCORES_MWU:
            mwu = sps.mannwhitneyu(sa, sb, alternative="two-sided")
            m_stat, m_p = float(mwu.statistic), float(mwu.pvalue)
        else:
            m_stat = m_p = math.nan
            notes.append(f"{TOO_FEW} for Mann–Whitney (needs {MIN_SCORES_MWU} scores per condition)")
        raw.append((a, b, float(np.mean(sa) - np.mean(sb)), len(common), w_stat, w_p,
                    m_stat, m_p, "; ".join(notes)))
    w_holm = holm([t[5] for t in raw])
    m_holm = holm([t[7] for t in raw])
    return [PairwiseTest(a, b, diff, n, ws, wp, wh, ms, mp, mh, note)
            for (a, b, diff, n, ws, wp, ms, mp, note), wh, mh in zip(raw, w_holm, m_holm)]


@_checked
def bt500_screen(rows: Sequence[RatingRow]) -> list[RaterScreening]:
    """ITU-R BT.500 observer screening over presentations (condition, image, replicate).

    For each presentation: mean u, SD S (n − 1) and kurtosis β2 = m4 / m2².  If 2 ≤ β2 ≤ 4
    the scores count as normal and a score ≥ u + 2S adds to the rater's P, ≤ u − 2S to Q;
    otherwise √20·S replaces 2S.  A rater is rejected when (P + Q) / (J·K·R) > 0.05 and
    |P − Q| / (P + Q) < 0.3.  Presentations where everyone agrees (S = 0) count for no one.
    """
    presentations: dict[tuple[str, str, int], dict[str, int]] = defaultdict(dict)
    for row in rows:
        presentations[(row.condition, row.image, row.replicate)][row.rater] = row.score
    p_count: dict[str, int] = defaultdict(int)
    q_count: dict[str, int] = defaultdict(int)
    seen: dict[str, int] = defaultdict(int)
    for scores in presentations.values():
        for rater in scores:
            seen[rater] += 1
        u = np.array(list(scores.values()), dtype=np.float64)
        if u.size < 2:
            continue
        mean, sd = float(u.mean()), float(u.std(ddof=1))
        if sd == 0:
            continue
        m2 = float(np.mean((u - mean) ** 2))
        m4 = float(np.mean((u - mean) ** 4))
        k = 2.0 if 2.0 <= m4 / (m2 * m2) <= 4.0 else math.sqrt(20.0)
        for rater, score in scores.items():
            if score >= mean + k * sd:
                p_count[rater] += 1
            if score <= mean - k * sd:
                q_count[rater] += 1
    result = []
    for rater in sorted(seen):
        p, q, n = p_count[rater], q_count[rater], seen[rater]
        ratio = (p + q) / n
        balance = abs(p - q) / (p + q) if p + q else 0.0
        result.append(RaterScreening(rater, n, p, q, ratio, balance,
                                     rejected=ratio > 0.05 and balance < 0.3))
    return result


def _weighted_corr(counts: np.ndarray, xv: np.ndarray, yv: np.ndarray) -> float:
    """Pearson r of the pairs (xv[a], yv[b]) each taken ``counts[a, b]`` times; NaN when either
    side is constant (or there is a single pair)."""
    n = counts.sum()
    px, py = counts.sum(axis=1) / n, counts.sum(axis=0) / n
    dx, dy = xv - px @ xv, yv - py @ yv
    var_x, var_y = px @ dx ** 2, py @ dy ** 2
    if n < 2 or var_x <= 1e-12 or var_y <= 1e-12:
        return math.nan
    return float((dx @ counts @ dy) / n / math.sqrt(var_x * var_y))


def _midranks(marginal: np.ndarray) -> np.ndarray:
    """Average rank (1-based, ties shared) of each score value, given how often each occurs."""
    before = np.cumsum(marginal) - marginal
    return before + (marginal + 1) / 2.0


@_checked
def retest_agreement(rows: Sequence[RatingRow]) -> RetestResult | None:
    """Agreement between repeats of the same (rater, image, condition); None without repeats.

    Every pair of repeats (earlier, later) counts, as before, but the pairs are never listed:
    scores are 1…5, so each rater's pairs are a 5 × 5 table of counts built with running counts
    in one pass over the rows.  Time and memory are linear in the rows (30,000 repeats of one
    cell made 450 million pairs and 4.9 GB before); Pearson, Spearman (mid-ranks), the mean
    |difference| and the exact agreement are computed from the tables."""
    repeats: dict[tuple[str, str, str], list[tuple[int, int]]] = defaultdict(list)
    for row in rows:
        repeats[(row.rater, row.image, row.condition)].append((row.replicate, int(row.score)))
    tables: dict[str, np.ndarray] = {}
    for (rater, _image, _cond), scores in repeats.items():
        if len(scores) < 2:
            continue
        table = tables.setdefault(rater, np.zeros((5, 5), np.int64))
        seen = np.zeros(5, np.int64)
        for _, score in sorted(scores):
            table[:, score - 1] += seen          # every earlier repeat pairs with this one
            seen[score - 1] += 1
    if not tables:
        return None
    counts = sum(tables.values())
    pairs = int(counts.sum())
    values = np.arange(1.0, 6.0)
    gap = np.abs(values[:, None] - values[None, :])
    ranks_x, ranks_y = _midranks(counts.sum(axis=1)), _midranks(counts.sum(axis=0))
    return RetestResult(pairs=pairs, pearson=_weighted_corr(counts, values, values),
                        spearman=_weighted_corr(counts, ranks_x, ranks_y),
                        mean_abs_diff=float((counts * gap).sum() / pairs),
                        exact_agreement=float(np.trace(counts) / pairs),
                        per_rater_mad={r: float((t * gap).sum() / t.sum()) for r, t in sorted(tables.items())})


def analyse(rows: Sequence[RatingRow], conditions: Sequence[str] = (),
            exclude_flagged: bool = False, exclude: Iterable[str] = ()) -> Analysis:
    """The full analysis; screening is always over every rater, the rest over those kept.

    Raises :class:`ScoreError` if any score is not an integer 1…5."""
    rows = list(rows)
    check_scores(rows)
    warnings: list[str] = []
    all_raters = {r.rater for r in rows}
    screening = bt500_screen(rows)
    if rows and len(all_raters) < MIN_RATERS_SCREENING:
        warnings.append(f"BT.500 screening cannot flag anyone with {len(all_raters)} rater(s) "
                        f"(needs {MIN_RATERS_SCREENING}): its flags mean nothing yet")
    dropped = set(exclude)
    if exclude_flagged:
        flagged = {s.rater for s in screening if s.rejected}
        if flagged and flagged >= all_raters - dropped:
            warnings.append("BT.500 screening would exclude every rater; nobody was excluded")
        else:
            dropped |= flagged
    kept = [r for r in rows if r.rater not in dropped]
    order = condition_order(kept, conditions)
    summary = summarize(kept, order)
    few = [s.condition for s in summary if TOO_FEW in s.note]
    if few:
        warnings.append(f"{TOO_FEW} for a 95 % CI in: {', '.join(few)} (needs {MIN_SCORES_CI} "
                        f"scores from {MIN_RATERS_CI} raters)")
    wide = [s.condition for s in summary if TOO_WIDE in s.note]
    if wide:
        warnings.append(f"the 95 % CI of {', '.join(wide)} is as wide as the 1–5 scale: {TOO_WIDE} "
                        f"(more ratings will narrow it)")
    pairwise = pairwise_tests(kept, order)
    if any(math.isnan(t.wilcoxon_p) for t in pairwise):
        warnings.append(f"{TOO_FEW} for Wilcoxon tests: fewer than {MIN_RATERS_WILCOXON} raters "
                        f"rated both conditions of a pair")
    model = subject_model(kept, order, min_raters=MIN_RATERS_CI)
    warnings += [f"subject model: {w}" for w in model.warnings]
    return Analysis(conditions=order, summary=summary,
                    distribution=score_distribution(kept, order),
                    mean_ranks=mean_ranks(kept, order), pairwise=pairwise,
                    screening=screening, retest=retest_agreement(kept),
                    excluded=sorted(dropped & all_raters),
                    raters=len({r.rater for r in kept}), ratings=len(kept),
                    per_image=per_image(kept, order), warnings=warnings,
                    subject_model=model)
