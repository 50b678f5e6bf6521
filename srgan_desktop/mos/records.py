"""The long-format rating record shared by the store, the statistics and the exports."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np

from srgan_desktop.errors import SrganDesktopError

__all__ = ["RatingRow", "ROW_FIELDS", "OPTIONAL_FIELDS", "ScoreError", "check_scores"]


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
    """Raise :class:`ScoreError` for the first score that is not an integer 1…5."""
    for row in rows:
        score = row.score
        if isinstance(score, (bool, np.bool_)) or not isinstance(score, (int, np.integer)) \
                or not 1 <= score <= 5:
            raise ScoreError(f"score {score!r} of rater '{row.rater}' (image '{row.image}', "
                             f"condition '{row.condition}') is not a whole number 1–5")
