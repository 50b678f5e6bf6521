"""The records a study hands out: sessions, trials, sittings, displays, merge results, list rows.

Frozen dataclasses, so the window and the commands can hold them without touching the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["Display", "MergeResult", "Sitting", "Session", "SessionTrial", "StudyInfo"]


@dataclass(frozen=True)
class Display:
    """The screen a sitting was rated on (device pixels; ``magnification`` screen px per image px)."""

    screen_width: int
    screen_height: int
    device_pixel_ratio: float
    magnification: int
    screen_name: str = ""


@dataclass(frozen=True)
class MergeResult:
    """What merging one station did."""

    station: str
    added: int               # ratings new to the study
    unchanged: int           # ratings the study already held (merged before)
    duplicates: int          # trials rated again on this station: skipped, never counted twice
    duplicate_raters: list[str]


@dataclass(frozen=True)
class Sitting:
    """One time a rater sat down to rate: start, end (the last rating or closing), display."""

    id: int
    rater: str
    number: int              # 1-based, per rater
    station: str
    started_at: str
    ended_at: str
    ratings: int
    display: Display | None


@dataclass(frozen=True)
class Session:
    """One rater's pass through a study (paused and resumed as often as needed)."""

    id: int
    rater: str
    seed: int
    started_at: str
    updated_at: str
    calibrated_at: str | None
    completed_at: str | None
    total: int
    rated: int

    @property
    def complete(self) -> bool:
        return self.rated >= self.total


@dataclass(frozen=True)
class SessionTrial:
    """One trial in a rater's order, with its score once given."""

    position: int
    stimulus_id: str
    image: str
    condition: str
    replicate: int
    score: int | None = None
    response_ms: int | None = None
    stimulus_b: str = ""     # paired comparison: the right-hand stimulus
    condition_b: str = ""


@dataclass(frozen=True)
class StudyInfo:
    """What a study list shows, without re-hashing stimuli."""

    name: str
    path: Path
    raters: int
    complete_raters: int
    ratings: int
    trials_per_rater: int
    conditions: list[str]
    images: int
    error: str = ""

