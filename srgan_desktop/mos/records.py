"""The long-format rating record shared by the store, the statistics and the exports."""

from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["RatingRow", "ROW_FIELDS"]


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


ROW_FIELDS: list[str] = [f.name for f in fields(RatingRow)]
