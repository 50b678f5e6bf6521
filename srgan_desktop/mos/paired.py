"""Scale values of a paired-comparison study: the Bradley–Terry model fitted by ``choix``.

Each paired-comparison rating says which of two conditions (of the same image) the rater
preferred (``score`` 1: ``condition``, the left one; 2: ``condition_b``, the right one).  The
Bradley–Terry model gives each condition a strength θ with P(a beats b) = e^θa / (e^θa + e^θb);
θ is fitted by maximum likelihood with ``choix.ilsr_pairwise`` (iterative Luce spectral
ranking) with a small regularisation (``alpha`` = 0.01) so that a condition that always wins
keeps a finite value.  Values are log-odds, centred on mean zero: a difference of 1 means
e ≈ 2.7 : 1 odds of being preferred.  The 95 % intervals come from
:func:`scipy.stats.bootstrap` (percentile) resampling *raters*, refitting each time; with
fewer than 3 raters the intervals say "too few ratings".

When one condition of a pair won every comparison of that pair, maximum likelihood would put
their difference at infinity: the finite value shown is set by the regularisation alone (about
±3.3 with ``alpha`` = 0.01), and every bootstrap resample repeats it, so its interval has no
width.  A warning says so (the value is a bound, not an estimate).  A row comparing a condition
with itself is refused with :class:`PairError`.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import choix
import numpy as np
from scipy import stats as sps

from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.mos.records import RatingRow

__all__ = ["ScaleValue", "PairAnalysis", "preferences", "bradley_terry", "analyse_pairs",
           "PairError", "ALPHA"]

ALPHA = 0.01
MIN_RATERS = 3


class PairError(SrganDesktopError, ValueError):
    """Paired-comparison rows that are not choices 1 or 2 between two conditions."""


@dataclass(frozen=True)
class ScaleValue:
    condition: str
    value: float             # Bradley–Terry log-strength, mean 0
    ci_low: float
    ci_high: float
    wins: int
    comparisons: int


@dataclass
class PairAnalysis:
    conditions: list[str]
    scale: list[ScaleValue]
    wins: dict[str, dict[str, int]]          # wins[a][b]: times a was preferred to b
    raters: int
    comparisons: int
    warnings: list[str] = field(default_factory=list)


def preferences(rows: Sequence[RatingRow]) -> list[tuple[str, str, str]]:
    """(winner, loser, rater) for every paired-comparison row."""
    out = []
    for row in rows:
        if not row.condition_b or row.score not in (1, 2):
            raise PairError(f"rater '{row.rater}', image '{row.image}': not a paired-comparison "
                            f"choice (score {row.score!r}, conditions '{row.condition}', "
                            f"'{row.condition_b}')")
        if row.condition == row.condition_b:
            raise PairError(f"rater '{row.rater}', image '{row.image}': compares condition "
                            f"'{row.condition}' with itself; a paired comparison needs two conditions")
        winner, loser = (row.condition, row.condition_b) if row.score == 1 else (row.condition_b, row.condition)
        out.append((winner, loser, row.rater))
    return out


def bradley_terry(pairs: Sequence[tuple[int, int]], items: int) -> np.ndarray:
    """Centred Bradley–Terry log-strengths of ``items`` from (winner, loser) index pairs."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theta = choix.ilsr_pairwise(items, list(pairs), alpha=ALPHA)
    return theta - theta.mean()


def analyse_pairs(rows: Sequence[RatingRow], conditions: Sequence[str] = (),
                  resamples: int = 500, seed: int = 0) -> PairAnalysis:
    prefs = preferences(rows)
    order = [c for c in conditions if any(c in (w, l) for w, l, _ in prefs)]
    order += sorted({c for w, l, _ in prefs for c in (w, l)} - set(order))
    index = {c: k for k, c in enumerate(order)}
    raters = sorted({r for _, _, r in prefs})
    wins = {a: {b: 0 for b in order if b != a} for a in order}
    for w, l, _ in prefs:
        wins[w][l] += 1
    result = PairAnalysis(order, [], wins, len(raters), len(prefs))
    if len(order) < 2:
        result.warnings.append("too few ratings: fewer than two conditions were compared")
        return result
    by_rater = {r: [(index[w], index[l]) for w, l, who in prefs if who == r] for r in raters}
    theta = bradley_terry([p for r in raters for p in by_rater[r]], len(order))
    low = high = np.full(len(order), math.nan)
    if len(raters) >= MIN_RATERS:
        def statistic(idx: np.ndarray) -> np.ndarray:
            return bradley_terry([p for i in idx for p in by_rater[raters[int(i)]]], len(order))

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            boot = sps.bootstrap((np.arange(len(raters)),), statistic, n_resamples=resamples,
                                 method="percentile", vectorized=False,
                                 random_state=np.random.default_rng(seed))
        low, high = boot.confidence_interval
    else:
        result.warnings.append(f"too few ratings for 95 % intervals of the scale values "
                               f"({len(raters)} rater(s); needs {MIN_RATERS})")
    counts = {c: sum(1 for w, l, _ in prefs if c in (w, l)) for c in order}
    result.scale = [ScaleValue(c, float(theta[k]), float(low[k]), float(high[k]),
                               sum(wins[c].values()), counts[c]) for k, c in enumerate(order)]
    for a in order:
        for b in order:
            if a != b and wins[a][b] > 0 and wins[b][a] == 0:
                result.warnings.append(
                    f"'{a}' was preferred to '{b}' in all {wins[a][b]} comparison(s): their difference "
                    f"({float(theta[index[a]] - theta[index[b]]):+.2f}) is a bound set by the "
                    f"regularisation (alpha = {ALPHA}), not an estimate, and its interval means nothing")
    return result
