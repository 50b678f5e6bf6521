"""Long-format exports of ratings (one row per score) as CSV or JSON, and reading them back.

Columns: study, rater, session, image, condition, score, response_ms, trial_index, replicate,
seed (the rater's randomization seed), app_version, rated_at.  ``read_csv``/``read_json``
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

from srgan_desktop import __version__
from srgan_desktop.mos.records import ROW_FIELDS, RatingRow

__all__ = ["ExportError", "write_csv", "read_csv", "write_json", "read_json", "JSON_FORMAT"]

JSON_FORMAT = "srgan-desktop-mos-ratings"
JSON_VERSION = 1
_INT_FIELDS = {f.name for f in fields(RatingRow) if f.type in ("int", int)}


class ExportError(Exception):
    """An export could not be written or an import file is not a ratings export."""


def _replace_atomically(path: Path, text: str) -> Path:
    tmp = path.with_name(f".{path.name}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8", newline="")
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"could not write {path}: {exc.strerror or exc}") from exc
    return path


def _row(data: dict[str, Any], where: str) -> RatingRow:
    missing = [name for name in ROW_FIELDS if name not in data and name != "rated_at"]
    if missing:
        raise ExportError(f"{where}: missing column(s) {', '.join(missing)}")
    try:
        values = {name: int(data[name]) if name in _INT_FIELDS else str(data.get(name) or "")
                  for name in ROW_FIELDS}
    except (TypeError, ValueError) as exc:
        raise ExportError(f"{where}: {exc}") from exc
    return RatingRow(**values)


def write_csv(path: str | os.PathLike, rows: Sequence[RatingRow]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=ROW_FIELDS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(asdict(row) for row in rows)
    return _replace_atomically(Path(path), buffer.getvalue())


def read_csv(path: str | os.PathLike) -> list[RatingRow]:
    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            return [_row(data, f"{path.name} line {n + 2}")
                    for n, data in enumerate(csv.DictReader(handle))]
    except (OSError, csv.Error, UnicodeDecodeError) as exc:
        raise ExportError(f"could not read {path}: {exc}") from exc


def write_json(path: str | os.PathLike, rows: Sequence[RatingRow],
               study: dict[str, Any] | None = None) -> Path:
    """Rows plus, optionally, the study design they came from."""
    document = {"format": JSON_FORMAT, "version": JSON_VERSION, "app_version": __version__,
                "exported_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "study": study or {}, "ratings": [asdict(row) for row in rows]}
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
