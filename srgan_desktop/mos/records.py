"""The long-format rating record shared by the store, the statistics and the exports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np

from srgan_desktop.errors import SrganDesktopError

__all__ = ["RatingRow", "ROW_FIELDS", "OPTIONAL_FIELDS", "ScoreError", "check_scores",
           "check_score_values"]


@dataclass(frozen=True)
class RatingRow:
    """One recorded score, with everything needed to analyse it on its own."""

    study: str
    rater: str
    session: int
    image: str
    condition: str
    score: int
    response_ms: int
    trial_index: int          # 0-based position in the rater's randomized order
    replicate: int
    seed: int                 # the rater's randomization seed
    app_version: str
    rated_at: str = ""        # ISO 8601, UTC
    sitting: int = 0          # 1-based number of the rater's sitting (0 = not recorded)
    station: str = ""         # the rating station's name ('' = the study's own machine)
    condition_b: str = ""     # paired comparison: the right-hand condition; score 1 = left
                              # (``condition``) is better, 2 = right (``condition_b``)


ROW_FIELDS: list[str] = [f.name for f in fields(RatingRow)]
#: Columns an older export may lack (they have defaults).
OPTIONAL_FIELDS = frozenset({"rated_at", "sitting", "station", "condition_b"})


class ScoreError(SrganDesktopError, ValueError):
    """A score that is not an integer 1…5 reached the statistics."""


def check_scores(rows: Iterable[RatingRow]) -> None:
    """Raise :class:`ScoreError` for the first score that is not an integer 1…5 (a Python or
    NumPy integer, never bool, float, NaN or the string '4').  The one check every public
    statistic of :mod:`~srgan_desktop.mos.stats` and :mod:`~srgan_desktop.mos.subject_model`
    runs first; plain ``int`` scores in range pass in one fast sweep."""
    rows = rows if isinstance(rows, (list, tuple)) else list(rows)
    scores = [getattr(row, "score", None) for row in rows]
    if {type(s) for s in scores} <= {int} and (not scores or 1 <= min(scores) and max(scores) <= 5):
        return
    for row, score in zip(rows, scores):
        if not isinstance(row, RatingRow):
            raise ScoreError(f"{type(row).__name__} {str(row)[:40]!r} is not a rating row")
        check_score_values([score], f" of rater '{row.rater}' (image '{row.image}', "
                                    f"condition '{row.condition}')")


def check_score_values(scores: Iterable[object], where: str = "") -> None:
    """Raise :class:`ScoreError` for the first value that is not an integer 1…5 (ACR scale)."""
    for score in scores:
        if isinstance(score, (bool, np.bool_)) or not isinstance(score, (int, np.integer)) \
                or not 1 <= score <= 5:
            raise ScoreError(f"score {score!r}{where} is not a whole number 1–5")
