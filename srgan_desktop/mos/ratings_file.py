"""Long-format exports of ratings (one row per score) as CSV or JSON, and reading them back.

Columns: study, rater, session, image, condition, score, response_ms, trial_index, replicate,
seed (the rater's randomization seed), app_version, rated_at, sitting (1-based number of the
rater's sitting), station.  A score must be a whole number 1–5: 3.5, NaN or ``true`` is refused,
never rounded.  The JSON export may carry ``sittings`` (start, end, display) and ``analysis``.  ``read_csv``/``read_json``
give back exactly the rows that were written, so an export can be re-analysed anywhere
(``srgan-desktop mos analyse FILE``).

Reading is strict, because an import is a file from anywhere:

* only a regular file of at most :data:`MAX_IMPORT_BYTES` is read (opened without blocking and
  checked with ``fstat``): a FIFO, ``/dev/zero`` or a directory is refused at once instead of
  hanging or filling memory;
* a number is what the export writes and nothing else: ASCII digits with an optional ``-``, at
  most :data:`MAX_DIGITS` of them.  ``+3``, ``٣`` (Arabic-Indic), ``３`` (full-width), ``4.0``,
  JSON ``"4"``, ``Infinity``, ``NaN``, ``1e400`` and a 5,000-digit number are refused, as is
  JSON nested deeper than Python can parse; counts (response time, trial index, replicate,
  session, sitting) are never negative;
* a CSV row with fewer or more cells than the header (a truncated or spliced file) is refused;
* a trial (rater, session, trial index) that appears twice — two exports concatenated — is
  refused, since it would be counted twice.

Every refusal is an :class:`ExportError`: one line naming the file and the row.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import stat
from collections.abc import Sequence
from dataclasses import asdict, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.utils import atomic_write, file_kind
from srgan_desktop import __version__
from srgan_desktop.mos.records import OPTIONAL_FIELDS, ROW_FIELDS, RatingRow

__all__ = ["ExportError", "write_csv", "write_table_csv", "sitting_records", "read_csv", "write_json", "read_json", "JSON_FORMAT"]

JSON_FORMAT = "srgan-desktop-mos-ratings"
JSON_VERSION = 1
_INT_FIELDS = {f.name for f in fields(RatingRow) if f.type in ("int", int)}
#: Integer fields that count something and so are never negative (``seed`` may be anything).
_COUNT_FIELDS = _INT_FIELDS - {"seed", "score"}
#: An import larger than this is not a ratings export of this app (600,000 ratings ≈ 100 MB).
MAX_IMPORT_BYTES = 256 << 20
#: A seed is at most a 64-bit integer (20 digits); nothing in an export is longer.
MAX_DIGITS = 20
_INTEGER = re.compile(r"-?[0-9]{1,%d}" % MAX_DIGITS, re.ASCII)


class ExportError(SrganDesktopError):
    """An export could not be written or an import file is not a ratings export."""


def _replace_atomically(path: Path, text: str) -> Path:
    try:
        atomic_write(path, text)
    except OSError as exc:
        raise ExportError(f"could not write {path}: {exc.strerror or exc}") from exc
    return path


def _row(data: dict[str, Any], where: str, typed: bool = False) -> RatingRow:
    """One rating from a CSV row (every cell text) or a JSON object (``typed``: numbers must be
    JSON integers, text JSON strings)."""
    missing = [name for name in ROW_FIELDS if name not in data and name not in OPTIONAL_FIELDS]
    if missing:
        raise ExportError(f"{where}: missing column(s) {', '.join(missing)}")
    values: dict[str, Any] = {}
    for name in ROW_FIELDS:
        raw = data.get(name)
        if name in _INT_FIELDS:
            if raw is None or raw == "":
                raw = 0 if name in OPTIONAL_FIELDS else raw
            values[name] = _whole_number(raw, name, where, typed)
        elif raw is None or isinstance(raw, str):
            values[name] = raw or ""
        else:
            raise ExportError(f"{where}: {name} {_shown(raw)} is not text")
    if not 1 <= values["score"] <= 5:
        raise ExportError(f"{where}: score {values['score']} is not 1–5")
    negative = [name for name in _COUNT_FIELDS if values[name] < 0]
    if negative:
        raise ExportError(f"{where}: {negative[0]} {values[negative[0]]} is negative")
    return RatingRow(**values)


def _shown(raw: Any) -> str:
    text = raw if isinstance(raw, str) else repr(raw)
    return repr(raw) if len(text) <= 40 else f"{text[:30]!r}… ({len(text):,} characters)"


def _whole_number(raw: Any, name: str, where: str, typed: bool = False) -> int:
    """An integer as the export writes it: a JSON integer, or a CSV cell of ASCII digits with an
    optional '-' (at most :data:`MAX_DIGITS`).  3.5, NaN, true, '4.0', '+3', '٣', '３' and the
    JSON string "4" are refused (never rounded, never coerced)."""
    if isinstance(raw, int) and not isinstance(raw, bool) and len(str(abs(raw))) <= MAX_DIGITS:
        return raw
    if isinstance(raw, str) and not typed and _INTEGER.fullmatch(raw):
        return int(raw)
    raise ExportError(f"{where}: {name} {_shown(raw)} is not a whole number")


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


def _read_text(path: Path) -> str:
    """The UTF-8 text of a regular file of at most :data:`MAX_IMPORT_BYTES`.  The file is opened
    without blocking (a FIFO would wait for a writer) and checked with ``fstat`` on the open
    handle, so what is read is what was checked."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise ExportError(f"could not read {path}: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ExportError(f"{path} is not a regular file ({file_kind(info.st_mode)}); "
                              f"give a ratings export (.csv or .json)")
        if info.st_size > MAX_IMPORT_BYTES:
            raise ExportError(f"{path} is {info.st_size:,} bytes, more than a ratings export "
                              f"({MAX_IMPORT_BYTES:,} bytes at most)")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_IMPORT_BYTES + 1)
    except OSError as exc:
        raise ExportError(f"could not read {path}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
    if len(data) > MAX_IMPORT_BYTES:
        raise ExportError(f"{path} grew past {MAX_IMPORT_BYTES:,} bytes while it was read")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExportError(f"{path} is not UTF-8 text (byte {exc.start:,}); not a ratings export") from exc


def _unique_trials(rows: list[RatingRow], where: list[str]) -> list[RatingRow]:
    """Refuse a trial (rater, session, trial index) seen twice: two exports concatenated."""
    first: dict[tuple[str, str, int, int], int] = {}
    for k, row in enumerate(rows):
        key = (row.study, row.rater, row.session, row.trial_index)
        if key in first:
            raise ExportError(f"{where[k]}: trial {row.trial_index} of rater '{row.rater}' (session "
                              f"{row.session}) appears a second time (first: {where[first[key]]}); "
                              f"two exports concatenated? Each trial must appear once")
        first[key] = k
    return rows


def read_csv(path: str | os.PathLike) -> list[RatingRow]:
    path = Path(path)
    text = _read_text(path)
    rows, where = [], []
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""), restkey="\0extra")
        for data in reader:
            line = f"{path.name} line {reader.line_num}"
            if "\0extra" in data or None in data.values():
                which = "more" if "\0extra" in data else "fewer"
                raise ExportError(f"{line}: {which} cells than the header's "
                                  f"{len(reader.fieldnames or ())} (a truncated or spliced row)")
            rows.append(_row(data, line))
            where.append(line)
    except csv.Error as exc:
        raise ExportError(f"could not read {path}: {exc}") from exc
    return _unique_trials(rows, where)


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


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number an export holds")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:20]} is not a finite number")
    return value


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"a number of {len(text):,} digits is not one an export holds")
    return int(text)


def _strict_json(text: str) -> Any:
    """``json.loads`` that refuses NaN/Infinity, numbers that overflow to ∞ (1e400) and integers
    longer than :data:`MAX_DIGITS` (Python's own limit, 4,300 digits, would raise later)."""
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float,
                      parse_int=_bounded_int)


def read_json(path: str | os.PathLike) -> tuple[dict[str, Any], list[RatingRow]]:
    """(study design dict, rows) of a JSON export."""
    path = Path(path)
    text = _read_text(path)
    try:
        document = _strict_json(text)
    except RecursionError as exc:
        raise ExportError(f"could not read {path}: nested too deeply for a ratings export") from exc
    except ValueError as exc:  # JSONDecodeError and the strict-number refusals
        raise ExportError(f"could not read {path}: {' '.join(str(exc).split())[:160]}") from exc
    if not isinstance(document, dict) or document.get("format") != JSON_FORMAT:
        raise ExportError(f"{path.name} is not an srgan-desktop MOS ratings export")
    try:
        version = document.get("version", 0)
        if isinstance(version, bool) or not isinstance(version, int):
            raise TypeError(f"'version' {_shown(version)} is not an integer")
        if version > JSON_VERSION:
            raise ExportError(f"{path.name} was written by a newer srgan-desktop")
        ratings, study = document["ratings"], document.get("study") or {}
        if not isinstance(study, dict):
            raise TypeError("'study' is not an object")
        if not isinstance(ratings, list) or not all(isinstance(item, dict) for item in ratings):
            raise TypeError("'ratings' is not a list of objects")
    except (KeyError, TypeError, ValueError) as exc:
        raise ExportError(f"{path.name} is not a valid ratings export ({exc})") from exc
    where = [f"{path.name} rating {n + 1}" for n in range(len(ratings))]
    rows = [_row(item, w, typed=True) for item, w in zip(ratings, where)]
    return dict(study), _unique_trials(rows, where)
