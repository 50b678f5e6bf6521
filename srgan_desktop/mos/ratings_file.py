"""Long-format exports of ratings (one row per score) as CSV or JSON, and reading them back.

Columns: study, rater, session, image, condition, score, response_ms, trial_index, replicate,
seed (the rater's randomization seed), app_version, rated_at, sitting (1-based number of the
rater's sitting), station.  A score must be a whole number 1–5: 3.5, NaN or ``true`` is refused,
never rounded.  The JSON export may carry ``sittings`` (start, end, display) and ``analysis``.  ``read_csv``/``read_json``
give back exactly the rows that were written, so an export can be re-analysed anywhere.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.utils import atomic_write
from srgan_desktop import __version__
from srgan_desktop.mos.records import OPTIONAL_FIELDS, ROW_FIELDS, RatingRow

__all__ = ["ExportError", "write_csv", "write_table_csv", "sitting_records", "read_csv", "write_json", "read_json", "JSON_FORMAT"]

JSON_FORMAT = "srgan-desktop-mos-ratings"
JSON_VERSION = 1
_INT_FIELDS = {f.name for f in fields(RatingRow) if f.type in ("int", int)}


class ExportError(SrganDesktopError):
    """An export could not be written or an import file is not a ratings export."""


def _replace_atomically(path: Path, text: str) -> Path:
    try:
        atomic_write(path, text)
    except OSError as exc:
        raise ExportError(f"could not write {path}: {exc.strerror or exc}") from exc
    return path


def _row(data: dict[str, Any], where: str) -> RatingRow:
    missing = [name for name in ROW_FIELDS if name not in data and name not in OPTIONAL_FIELDS]
    if missing:
        raise ExportError(f"{where}: missing column(s) {', '.join(missing)}")
    values: dict[str, Any] = {}
    for name in ROW_FIELDS:
        raw = data.get(name)
        if name in _INT_FIELDS:
            if raw is None or raw == "":
                raw = 0 if name in OPTIONAL_FIELDS else raw
            values[name] = _whole_number(raw, name, where)
        else:
            values[name] = str(raw or "")
    if not 1 <= values["score"] <= 5:
        raise ExportError(f"{where}: score {values['score']} is not 1–5")
    return RatingRow(**values)


def _whole_number(raw: Any, name: str, where: str) -> int:
    """An integer from a CSV cell or JSON value; 3.5, NaN, true or '4.0' are refused (never rounded)."""
    if isinstance(raw, bool) or not isinstance(raw, (int, str)):
        raise ExportError(f"{where}: {name} {raw!r} is not a whole number")
    try:
        return int(raw)
    except ValueError as exc:
        raise ExportError(f"{where}: {name} {raw!r} is not a whole number") from exc


def write_csv(path: str | os.PathLike, rows: Sequence[RatingRow]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ROW_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(row) for row in rows)
    return _replace_atomically(Path(path), buffer.getvalue())


def write_table_csv(path: str | os.PathLike, records: Sequence[dict[str, Any]]) -> Path:
    """Any list of flat dicts (sittings, per-image MOS) as CSV with the first record's keys."""
    buffer = io.StringIO()
    if records:
        writer = csv.DictWriter(buffer, fieldnames=list(records[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(records)
    return _replace_atomically(Path(path), buffer.getvalue())


def sitting_records(sittings: Sequence[Any]) -> list[dict[str, Any]]:
    """Flat dicts of :class:`~srgan_desktop.mos.store.Sitting` records for CSV/JSON."""
    records = []
    for s in sittings:
        d = s.display
        records.append({"rater": s.rater, "sitting": s.number, "station": s.station,
                        "started_at": s.started_at, "ended_at": s.ended_at, "ratings": s.ratings,
                        "screen_width": d.screen_width if d else "", "screen_height": d.screen_height if d else "",
                        "device_pixel_ratio": d.device_pixel_ratio if d else "",
                        "magnification": d.magnification if d else "", "screen_name": d.screen_name if d else ""})
    return records


def read_csv(path: str | os.PathLike) -> list[RatingRow]:
    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return [_row(data, f"{path.name} line {n + 2}")
                    for n, data in enumerate(csv.DictReader(handle))]
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise ExportError(f"could not read {path}: {exc}") from exc


def write_json(path: str | os.PathLike, rows: Sequence[RatingRow],
               study: dict[str, Any] | None = None, sittings: Sequence[dict[str, Any]] = (),
               analysis: dict[str, Any] | None = None) -> Path:
    """Rows plus, optionally, the study design, the sittings and the analysis (JSON-ready)."""
    document = {"format": JSON_FORMAT, "version": JSON_VERSION, "app_version": __version__,
                "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "study": study or {}, "sittings": list(sittings), "ratings": [asdict(row) for row in rows]}
    if analysis is not None:
        document["analysis"] = analysis
    return _replace_atomically(Path(path), json.dumps(document, indent=1, ensure_ascii=False) + "\n")


def read_json(path: str | os.PathLike) -> tuple[dict[str, Any], list[RatingRow]]:
    """(study design dict, rows) of a JSON export."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ExportError(f"could not read {path}: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != JSON_FORMAT:
        raise ExportError(f"{path.name} is not an srgan-desktop MOS ratings export")
    try:
        if int(document.get("version", 0)) > JSON_VERSION:
            raise ExportError(f"{path.name} was written by a newer srgan-desktop")
        ratings, study = document["ratings"], dict(document.get("study") or {})
        if not isinstance(ratings, list) or not all(isinstance(item, dict) for item in ratings):
            raise TypeError("'ratings' is not a list of objects")
    except (KeyError, TypeError, ValueError) as exc:
        raise ExportError(f"{path.name} is not a valid ratings export ({exc})") from exc
    rows = [_row(item, f"{path.name} rating {n + 1}") for n, item in enumerate(ratings)]
    return study, rows
