"""A study on disk: ``<folder>/study.sqlite`` plus ``<folder>/stimuli/*.png``.

SQLite (stdlib ``sqlite3``) in WAL mode with ``synchronous=FULL``: every rating is committed
in its own ``BEGIN IMMEDIATE`` transaction before the next trial is shown, so a crash or a
killed process loses nothing that was answered.  Several processes may rate the same study
at once: writers wait on each other (``busy_timeout``), and the primary key of ``ratings``
makes it impossible to record one trial twice.

The schema has a version (``PRAGMA user_version``) and a list of migrations; a study made by a
newer app is refused with a clear message.  Opening a study runs ``PRAGMA integrity_check``,
``PRAGMA foreign_key_check`` and (unless asked not to) re-hashes every stimulus file.

Paths of stimuli are stored relative to the study folder, so a study folder can be copied,
zipped or moved to another machine as a whole.

Schema v2 (a real migration from v1, run on open):

* ``ratings.score`` has ``CHECK (typeof(score) = 'integer' AND score BETWEEN 1 AND 5)``: v1's
  ``CHECK (score BETWEEN 1 AND 5)`` let 3.5 through (INTEGER affinity keeps a REAL);
* ``sittings``: each time a rater sits down (start, end, station, display: screen size in
  device pixels, device pixel ratio, magnification); every rating names its sitting;
* a hash chain over each session's ratings: rating k stores
  ``SHA-256(chain of rating k−1, rater, seed, trial, stimulus, replicate, score, time, …)`` and
  the session stores the head and the count, so a rating altered, inserted or deleted outside
  the app is found by :meth:`Study.verify_chain` (``mos check``, ``mos merge``).  It is a
  checksum against accidents and naive edits, not a signature: someone who recomputes the
  chain can forge it;
* ``study.uid`` (one random ID shared by a study and its station copies) and ``study.station``;
* ``session_trials.stimulus_b``: the right-hand stimulus of a paired-comparison trial, whose
  ``score`` is then 1 (the left one, ``stimulus_id``, is better) or 2 (the right one).

Any damaged content (bytes changed on disk, a truncated copy) raises
:class:`StudyIntegrityError` — one message, never an ``IndexError`` or a decoding error.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from srgan_desktop.errors import SrganDesktopError
from srgan_desktop import __version__
from srgan_desktop.mos.design import (CalibrationExample, StudyDesign, calibration_examples,
                                      normalize_rater, rater_seed, trial_order, validate_design)
from srgan_desktop.mos.records import RatingRow, check_scores
from srgan_desktop.mos.stimuli import SourceImage, Stimulus, generate_stimuli, verify_stimuli

__all__ = ["StoreError", "StudyIntegrityError", "TrialAlreadyRated", "Study", "Session",
           "SessionTrial", "StudyInfo", "Display", "Sitting", "MergeResult", "rating_link", "make_station", "create_study", "open_study", "list_studies",
           "studies_root", "resolve_study", "slugify", "STUDY_FILE", "SCHEMA_VERSION", "MIGRATIONS"]

STUDY_FILE = "study.sqlite"
BUSY_TIMEOUT_MS = 30_000

#: MIGRATIONS[v] takes a database from ``user_version`` v to v + 1.
MIGRATIONS: list[list[str]] = [
    [
        """CREATE TABLE study (
             id INTEGER PRIMARY KEY CHECK (id = 1),
             name TEXT NOT NULL,
             seed INTEGER NOT NULL,
             design_json TEXT NOT NULL,
             created_at TEXT NOT NULL,
             app_version TEXT NOT NULL)""",
        """CREATE TABLE images (
             id TEXT PRIMARY KEY,
             position INTEGER NOT NULL UNIQUE,
             source_name TEXT NOT NULL,
             source_sha256 TEXT NOT NULL,
             width INTEGER NOT NULL,
             height INTEGER NOT NULL)""",
        """CREATE TABLE stimuli (
             id TEXT PRIMARY KEY,
             image TEXT NOT NULL REFERENCES images(id),
             condition TEXT NOT NULL,
             file TEXT NOT NULL UNIQUE,
             sha256 TEXT NOT NULL,
             width INTEGER NOT NULL,
             height INTEGER NOT NULL,
             UNIQUE (image, condition))""",
        """CREATE TABLE sessions (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             rater TEXT NOT NULL UNIQUE COLLATE NOCASE,
             seed INTEGER NOT NULL,
             started_at TEXT NOT NULL,
             updated_at TEXT NOT NULL,
             calibrated_at TEXT,
             completed_at TEXT,
             app_version TEXT NOT NULL)""",
        """CREATE TABLE session_trials (
             session_id INTEGER NOT NULL REFERENCES sessions(id),
             position INTEGER NOT NULL CHECK (position >= 0),
             stimulus_id TEXT NOT NULL REFERENCES stimuli(id),
             replicate INTEGER NOT NULL CHECK (replicate >= 0),
             PRIMARY KEY (session_id, position),
             UNIQUE (session_id, stimulus_id, replicate))""",
        """CREATE TABLE ratings (
             session_id INTEGER NOT NULL,
             position INTEGER NOT NULL,
             score INTEGER NOT NULL CHECK (score BETWEEN 1 AND 5),
             response_ms INTEGER NOT NULL CHECK (response_ms >= 0),
             rated_at TEXT NOT NULL,
             app_version TEXT NOT NULL,
             PRIMARY KEY (session_id, position),
             FOREIGN KEY (session_id, position) REFERENCES session_trials (session_id, position))""",
    ],
    [
        "ALTER TABLE study ADD COLUMN uid TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE study ADD COLUMN station TEXT NOT NULL DEFAULT ''",
        "UPDATE study SET uid = lower(hex(randomblob(16))) WHERE uid = ''",
        "ALTER TABLE sessions ADD COLUMN chain_head TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE sessions ADD COLUMN chain_count INTEGER NOT NULL DEFAULT 0",
        # paired comparison: a trial may show two stimuli, and a stimulus is in several pairs
        """CREATE TABLE session_trials_v2 (
             session_id INTEGER NOT NULL REFERENCES sessions(id),
             position INTEGER NOT NULL CHECK (position >= 0),
             stimulus_id TEXT NOT NULL REFERENCES stimuli(id),
             replicate INTEGER NOT NULL CHECK (replicate >= 0),
             stimulus_b TEXT REFERENCES stimuli(id),
             PRIMARY KEY (session_id, position))""",
        """INSERT INTO session_trials_v2 (session_id, position, stimulus_id, replicate)
           SELECT session_id, position, stimulus_id, replicate FROM session_trials""",
        "DROP TABLE session_trials",
        "ALTER TABLE session_trials_v2 RENAME TO session_trials",
        """CREATE UNIQUE INDEX session_trials_once ON session_trials
             (session_id, stimulus_id, COALESCE(stimulus_b, ''), replicate)""",
        """CREATE TABLE sittings (
             id INTEGER PRIMARY KEY AUTOINCREMENT,
             session_id INTEGER NOT NULL REFERENCES sessions(id),
             station TEXT NOT NULL DEFAULT '',
             started_at TEXT NOT NULL,
             ended_at TEXT NOT NULL,
             screen_width INTEGER,
             screen_height INTEGER,
             device_pixel_ratio REAL,
             magnification INTEGER,
             screen_name TEXT NOT NULL DEFAULT '',
             app_version TEXT NOT NULL)""",
        "_refuse_non_integer_scores",
        """CREATE TABLE ratings_v2 (
             session_id INTEGER NOT NULL,
             position INTEGER NOT NULL,
             score INTEGER NOT NULL CHECK (typeof(score) = 'integer' AND score BETWEEN 1 AND 5),
             response_ms INTEGER NOT NULL CHECK (typeof(response_ms) = 'integer' AND response_ms >= 0),
             rated_at TEXT NOT NULL,
             app_version TEXT NOT NULL,
             sitting_id INTEGER REFERENCES sittings(id),
             seq INTEGER NOT NULL CHECK (seq >= 0),
             chain TEXT NOT NULL,
             PRIMARY KEY (session_id, position),
             UNIQUE (session_id, seq),
             FOREIGN KEY (session_id, position) REFERENCES session_trials (session_id, position))""",
        """INSERT INTO ratings_v2 (session_id, position, score, response_ms, rated_at, app_version,
                                  sitting_id, seq, chain)
           SELECT session_id, position, score, response_ms, rated_at, app_version, NULL,
                  ROW_NUMBER() OVER (PARTITION BY session_id ORDER BY rated_at, position) - 1, ''
           FROM ratings""",
        "DROP TABLE ratings",
        "ALTER TABLE ratings_v2 RENAME TO ratings",
        "_rebuild_chains",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(SrganDesktopError):
    """A study cannot be opened or written; the message is meant for the user."""


class StudyIntegrityError(StoreError):
    """The database is damaged or a stimulus file is missing or changed."""


class TrialAlreadyRated(StoreError):
    """The trial already has a rating (another window or process recorded it first)."""


#: Exceptions that reading a damaged database can raise besides sqlite3.DatabaseError:
#: a missing column (IndexError from sqlite3.Row), a text column that is not UTF-8, a design
#: JSON that no longer parses, a value of the wrong type.
_DAMAGE = (sqlite3.DatabaseError, IndexError, KeyError, ValueError, TypeError, AttributeError,
           UnicodeDecodeError, OverflowError)


def _reading(method):
    """Turn what a damaged database raises inside ``method`` into :class:`StudyIntegrityError`."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except SrganDesktopError:
            raise
        except _DAMAGE as exc:
            raise StudyIntegrityError(f"{self.path} is damaged ({type(exc).__name__}: {exc}). "
                                      f"Restore the study from a backup or a station copy.") from exc
    return wrapper


def rating_link(previous: str, rater: str, seed: int, position: int, stimulus_id: str,
                replicate: int, score: int, response_ms: int, rated_at: str, app_version: str) -> str:
    """One link of a session's hash chain (hex SHA-256 of the fields joined by U+001F, the
    rater ID case-folded, UTF-8)."""
    text = "\x1f".join((previous, rater.casefold(), str(int(seed)), str(int(position)), stimulus_id,
                        str(int(replicate)), str(int(score)), str(int(response_ms)), rated_at, app_version))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _refuse_non_integer_scores(conn: sqlite3.Connection) -> None:
    bad = conn.execute("SELECT COUNT(*), MIN(session_id), MIN(position) FROM ratings WHERE"
                       " typeof(score) != 'integer' OR score NOT BETWEEN 1 AND 5"
                       " OR typeof(response_ms) != 'integer'").fetchone()
    if bad[0]:
        raise StudyIntegrityError(
            f"{bad[0]} rating(s) are not whole numbers 1–5 (first: session {bad[1]}, trial "
            f"{bad[2] + 1}); the study cannot be upgraded. Export it with an older version, fix "
            f"the scores, and import them into a new study.")


def _pair(stimulus_id: str, stimulus_b: str | None) -> str:
    """The stimulus field of a chain link: the stimulus, or both of a pair."""
    return stimulus_id if not stimulus_b else f"{stimulus_id}+{stimulus_b}"


def _rebuild_chains(conn: sqlite3.Connection) -> None:
    """Chain every session's ratings in ``seq`` order (the v1 → v2 migration)."""
    sessions = conn.execute("SELECT id, rater, seed FROM sessions ORDER BY id").fetchall()
    for session in sessions:
        head, count = "", 0
        for r in conn.execute(
                "SELECT r.position, r.score, r.response_ms, r.rated_at, r.app_version, r.seq,"
                " t.stimulus_id, t.replicate FROM ratings r JOIN session_trials t"
                " ON t.session_id = r.session_id AND t.position = r.position"
                " WHERE r.session_id = ? ORDER BY r.seq", (session[0],)).fetchall():
            head = rating_link(head, session[1], session[2], r[0], r[6], r[7], r[1], r[2], r[3], r[4])
            conn.execute("UPDATE ratings SET chain = ? WHERE session_id = ? AND position = ?",
                         (head, session[0], r[0]))
            count += 1
        conn.execute("UPDATE sessions SET chain_head = ?, chain_count = ? WHERE id = ?",
                     (head, count, session[0]))


_MIGRATION_STEPS = {"_refuse_non_integer_scores": _refuse_non_integer_scores,
                    "_rebuild_chains": _rebuild_chains}


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


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def slugify(name: str) -> str:
    """A folder name for a study name."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name.strip()).strip("-.")
    return slug[:64] or "study"


def studies_root() -> Path:
    """Default home of studies: ``<user data>/mos``."""
    from srgan_desktop import paths

    return paths.user_data_dir() / "mos"


def resolve_study(name_or_path: str | os.PathLike, root: Path | None = None) -> Path:
    """The database file of a study given as a ``study.sqlite`` path, a folder, or a name."""
    candidate = Path(name_or_path)
    if candidate.is_file():
        return candidate
    if (candidate / STUDY_FILE).is_file():
        return candidate / STUDY_FILE
    root = root or studies_root()
    for folder in (root / str(name_or_path), root / slugify(str(name_or_path))):
        if (folder / STUDY_FILE).is_file():
            return folder / STUDY_FILE
    raise StoreError(f"no study '{name_or_path}' (not a study file or folder, and not in {root})")


def _connect(path: Path, existing_study: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode with full syncs and foreign keys.

    ``existing_study``: check first, reading only, that ``path`` is an intact study database,
    so that a foreign SQLite file handed to Open is refused without being switched to WAL."""
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # Rater IDs match by Unicode case folding (SQLite's NOCASE folds ASCII only): 'STRASSE'
        # resumes 'Straße', the same rule as the rater's seed (design.rater_seed).
        conn.create_function("casefold", 1, lambda text: None if text is None else str(text).casefold(),
                             deterministic=True)
        if existing_study:
            _check_database(conn, path)
            if conn.execute("PRAGMA user_version").fetchone()[0] == 0:
                raise StoreError(f"{path} is an SQLite file but not an srgan-desktop study")
        if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
            raise StoreError(f"{path}: SQLite cannot use WAL mode here (network or read-only drive?)")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()  # e.g. "file is not a database": do not leak the handle
        raise
    return conn


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``: the write lock is taken up front, so no deadlocks.

    A failure (also of ``COMMIT``) rolls back and leaves the connection usable; SQLite's own
    write errors (disk full, I/O error, locked past the busy timeout) become :class:`StoreError`.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            conn.execute("COMMIT")
        except BaseException:
            # SQLite may have rolled back already (SQLITE_FULL, SQLITE_IOERR): a second ROLLBACK
            # would raise and hide the real error; a failed COMMIT leaves the write lock held.
            if conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            raise
    except sqlite3.OperationalError as exc:
        raise StoreError(f"the study could not be written ({exc}); nothing was saved") from exc


def migrate(conn: sqlite3.Connection, path: Path) -> int:
    """Bring the schema up to :data:`SCHEMA_VERSION`; each step is its own transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise StoreError(f"{path} was written by a newer srgan-desktop (study schema v{version}; "
                         f"this version reads up to v{SCHEMA_VERSION}). Update the app to open it.")
    # Tables are rebuilt the way SQLite documents it (sqlite.org/lang_altertable.html): foreign
    # keys off outside the transaction, a foreign_key_check before each step commits.
    conn.execute("PRAGMA foreign_keys = OFF")
    try:
        while version < SCHEMA_VERSION:
            with _transaction(conn):
                version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have
                if version >= SCHEMA_VERSION:
                    break
                for statement in MIGRATIONS[version]:
                    if statement in _MIGRATION_STEPS:
                        _MIGRATION_STEPS[statement](conn)
                    else:
                        conn.execute(statement)
                dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
                if dangling:
                    raise StudyIntegrityError(f"{path}: upgrading the study left {len(dangling)} row(s) "
                                              f"that refer to missing rows; nothing was changed")
                conn.execute(f"PRAGMA user_version = {version + 1}")
            version += 1
    finally:
        conn.execute("PRAGMA foreign_keys = ON")
    return version


def _check_database(conn: sqlite3.Connection, path: Path) -> None:
    try:
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
    except sqlite3.DatabaseError as exc:
        raise StudyIntegrityError(f"{path} is damaged or not a study database ({exc})") from exc
    if problems != ["ok"]:
        raise StudyIntegrityError(f"{path} is damaged (SQLite integrity check: "
                                  f"{'; '.join(problems[:5])}). Restore the study from a backup.")
    dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
    if dangling:
        raise StudyIntegrityError(f"{path} is inconsistent: {len(dangling)} row(s) refer to "
                                  f"missing rows (first in table '{dangling[0][0]}')")


class Study:
    """An open study.  One instance per thread; any number of processes at once."""

    def __init__(self, path: Path, conn: sqlite3.Connection) -> None:
        self.path = path
        self.folder = path.parent
        self._conn = conn
        row = conn.execute("SELECT name, seed, design_json, created_at, app_version, uid, station"
                           " FROM study").fetchone()
        if row is None:
            raise StoreError(f"{path} holds no study (was its creation interrupted?)")
        self.design = StudyDesign.from_dict(json.loads(row["design_json"]))
        validate_design(self.design)
        self.created_at: str = row["created_at"]
        self.created_with: str = row["app_version"]
        self.uid: str = str(row["uid"])
        self.station: str = str(row["station"])
        self.stimuli: dict[str, Stimulus] = {
            r["id"]: Stimulus(r["id"], r["image"], r["condition"], r["file"], r["sha256"],
                              r["width"], r["height"])
            for r in conn.execute("SELECT * FROM stimuli ORDER BY file")}
        self.images: list[SourceImage] = [
            SourceImage(r["id"], r["source_name"], r["source_sha256"], r["width"], r["height"])
            for r in conn.execute("SELECT * FROM images ORDER BY position")]
        self._by_key = {(s.image, s.condition): s for s in self.stimuli.values()}

    # -- opening and closing -------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | os.PathLike, verify: bool = True) -> Study:
        """Open a study database (or its folder); check it, and its stimuli when ``verify``."""
        path = Path(path)
        if path.is_dir():
            path = path / STUDY_FILE
        if not path.is_file():
            raise StoreError(f"no study database at {path}")
        try:
            conn = _connect(path, existing_study=True)
        except sqlite3.DatabaseError as exc:
            raise StudyIntegrityError(f"{path} is damaged or not a study database ({exc})") from exc
        try:
            migrate(conn, path)
            study = cls(path, conn)
        except StoreError:
            conn.close()
            raise
        except (*_DAMAGE, SrganDesktopError) as exc:  # e.g. a design that no longer validates
            conn.close()
            raise StudyIntegrityError(f"{path} is damaged or not a study database ({exc})") from exc
        except BaseException:
            conn.close()
            raise
        if verify:
            try:
                study.verify()
            except BaseException:
                study.close()
                raise
        return study

    def verify(self) -> None:
        """Re-hash every stimulus; raise :class:`StudyIntegrityError` naming what changed."""
        expected = {(i, c) for i, c in self.design.stimulus_keys()}
        problems = [f"no stimulus for image '{i}', condition '{c}'"
                    for i, c in sorted(expected - set(self._by_key))]
        problems += verify_stimuli(self.folder, list(self.stimuli.values()))
        if problems:
            more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
            raise StudyIntegrityError(
                f"study '{self.design.name}' cannot be used: " + "; ".join(problems[:5]) + more
                + ". Stimuli must stay exactly as generated; restore them or create the study again.")

    def close(self) -> None:
        self._conn.close()

    @property
    def design_hash(self) -> str:
        """SHA-256 of the design (canonical JSON): equal for a study and its station copies."""
        text = json.dumps(self.design.to_dict(), sort_keys=True, ensure_ascii=True)
        return hashlib.sha256(text.encode("ascii")).hexdigest()

    @property
    def stimuli_hash(self) -> str:
        """SHA-256 over every stimulus (id, image, condition, file SHA-256), sorted by id."""
        text = json.dumps(sorted((s.id, s.image, s.condition, s.sha256) for s in self.stimuli.values()))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def __enter__(self) -> Study:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def name(self) -> str:
        return self.design.name

    def stimulus_path(self, stimulus_id: str) -> Path:
        return self.folder / self.stimuli[stimulus_id].file

    def stimulus_for(self, image: str, condition: str) -> Stimulus:
        return self._by_key[(image, condition)]

    def calibration(self) -> list[tuple[CalibrationExample, Path]]:
        """The anchor examples in showing order, with their files."""
        return [(ex, self.stimulus_path(self.stimulus_for(ex.image, ex.condition).id))
                for ex in calibration_examples(self.design)]

    # -- sessions ------------------------------------------------------------------------------
    @_reading
    def _session(self, where: str, value: object) -> Session | None:
        row = self._conn.execute(
            "SELECT s.*, (SELECT COUNT(*) FROM session_trials t WHERE t.session_id = s.id) AS total,"
            " (SELECT COUNT(*) FROM ratings r WHERE r.session_id = s.id) AS rated"
            f" FROM sessions s WHERE {where}", (value,)).fetchone()
        if row is None:
            return None
        return Session(row["id"], row["rater"], row["seed"], row["started_at"], row["updated_at"],
                       row["calibrated_at"], row["completed_at"], row["total"], row["rated"])

    def find_session(self, rater: str) -> Session | None:
        return self._session("casefold(s.rater) = ?", normalize_rater(rater).casefold())

    def session(self, session_id: int) -> Session:
        found = self._session("s.id = ?", session_id)
        if found is None:
            raise StoreError(f"no session {session_id} in study '{self.name}'")
        return found

    @_reading
    def sessions(self) -> list[Session]:
        ids = [r[0] for r in self._conn.execute("SELECT id FROM sessions ORDER BY id")]
        return [self.session(i) for i in ids]

    def start_session(self, rater: str) -> Session:
        """The rater's session: resumed if it exists, else created with its own random order."""
        rater = normalize_rater(rater)
        with _transaction(self._conn) as conn:
            session_id = self._session_id(conn, rater)
        return self.session(session_id)

    def _session_id(self, conn: sqlite3.Connection, rater: str, started_at: str | None = None) -> int:
        """The id of ``rater``'s session, created (with its trial order) if there is none yet."""
        row = conn.execute("SELECT id FROM sessions WHERE casefold(rater) = ? ORDER BY id",
                           (rater.casefold(),)).fetchone()
        if row is not None:
            return int(row[0])
        seed = rater_seed(self.design.seed, rater)
        now = _now()
        cursor = conn.execute(
            "INSERT INTO sessions (rater, seed, started_at, updated_at, app_version)"
            " VALUES (?, ?, ?, ?, ?)", (rater, seed, started_at or now, now, __version__))
        session_id = int(cursor.lastrowid)
        conn.executemany(
            "INSERT INTO session_trials (session_id, position, stimulus_id, replicate, stimulus_b)"
            " VALUES (?, ?, ?, ?, ?)",
            [(session_id, pos, self._by_key[(t.image, t.condition)].id, t.replicate,
              self._by_key[(t.image, t.condition_b)].id if t.condition_b else None)
             for pos, t in enumerate(trial_order(self.design, seed))])
        return session_id

    @_reading
    def trials(self, session_id: int) -> list[SessionTrial]:
        """The session's trials in showing order, with scores where given."""
        return [SessionTrial(r["position"], r["stimulus_id"], r["image"], r["condition"],
                             r["replicate"], r["score"], r["response_ms"], r["stimulus_b"] or "",
                             r["condition_b"] or "")
                for r in self._conn.execute(
                    "SELECT t.position, t.stimulus_id, t.replicate, s.image, s.condition,"
                    " t.stimulus_b, s2.condition AS condition_b,"
                    " r.score, r.response_ms FROM session_trials t"
                    " JOIN stimuli s ON s.id = t.stimulus_id"
                    " LEFT JOIN stimuli s2 ON s2.id = t.stimulus_b"
                    " LEFT JOIN ratings r ON r.session_id = t.session_id AND r.position = t.position"
                    " WHERE t.session_id = ? ORDER BY t.position", (session_id,))]

    def next_trial(self, session_id: int) -> SessionTrial | None:
        """The first trial in order without a rating, or None when the session is complete."""
        for trial in self.trials(session_id):
            if trial.score is None:
                return trial
        return None

    @staticmethod
    def _insert_rating(conn: sqlite3.Connection, session_id: int, position: int, score: int,
                       response_ms: int, rated_at: str, app_version: str, sitting_id: int | None) -> None:
        """Insert one rating as the next link of its session's chain (inside a transaction)."""
        trial = conn.execute(
            "SELECT t.stimulus_id, t.stimulus_b, t.replicate, s.rater, s.seed, s.chain_head,"
            " s.chain_count FROM session_trials t JOIN sessions s ON s.id = t.session_id"
            " WHERE t.session_id = ? AND t.position = ?", (session_id, position)).fetchone()
        if trial is None:
            raise StoreError(f"session {session_id} has no trial {position}")
        if trial["stimulus_b"] and score not in (1, 2):
            raise StoreError(f"a paired-comparison choice is 1 (left) or 2 (right), not {score!r}")
        link = rating_link(trial["chain_head"], trial["rater"], trial["seed"], position,
                           _pair(trial["stimulus_id"], trial["stimulus_b"]), trial["replicate"],
                           score, response_ms, rated_at, app_version)
        try:
            conn.execute("INSERT INTO ratings (session_id, position, score, response_ms, rated_at,"
                         " app_version, sitting_id, seq, chain) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                         (session_id, position, score, response_ms, rated_at, app_version,
                          sitting_id, trial["chain_count"], link))
        except sqlite3.IntegrityError as exc:
            if conn.execute("SELECT 1 FROM ratings WHERE session_id = ? AND position = ?",
                            (session_id, position)).fetchone() is not None:
                raise TrialAlreadyRated(f"trial {position + 1} of session {session_id} is already "
                                        f"rated") from exc
            raise StoreError(f"the rating could not be recorded ({exc})") from exc
        conn.execute("UPDATE sessions SET chain_head = ?, chain_count = chain_count + 1 WHERE id = ?",
                     (link, session_id))

    def mark_calibrated(self, session_id: int) -> None:
        with _transaction(self._conn) as conn:
            now = _now()
            conn.execute("UPDATE sessions SET calibrated_at = COALESCE(calibrated_at, ?),"
                         " updated_at = ? WHERE id = ?", (now, now, session_id))

    def record_rating(self, session_id: int, position: int, score: int, response_ms: int,
                      sitting_id: int | None = None) -> None:
        """Commit one score in its own transaction; raise :class:`TrialAlreadyRated` if taken.

        ``score`` must be an integer 1–5 (3.5, NaN, '4' and True are refused, never rounded)."""
        if isinstance(score, bool) or not isinstance(score, (int, np.integer)) or not 1 <= score <= 5:
            raise StoreError(f"a score is a whole number 1 to 5, not {score!r}")
        if isinstance(response_ms, bool) or not isinstance(response_ms, (int, np.integer)) or response_ms < 0:
            raise StoreError(f"a response time is a whole number of ms ≥ 0, not {response_ms!r}")
        with _transaction(self._conn) as conn:
            now = _now()
            self._insert_rating(conn, session_id, position, int(score), int(response_ms), now,
                                __version__, sitting_id)
            if sitting_id is not None:
                conn.execute("UPDATE sittings SET ended_at = ? WHERE id = ?", (now, sitting_id))
            conn.execute(
                "UPDATE sessions SET updated_at = ?, completed_at = CASE WHEN"
                " (SELECT COUNT(*) FROM ratings WHERE session_id = ?) ="
                " (SELECT COUNT(*) FROM session_trials WHERE session_id = ?) THEN ? ELSE NULL END"
                " WHERE id = ?", (now, session_id, session_id, now, session_id))

    # -- data ----------------------------------------------------------------------------------
    @_reading
    def rows(self) -> list[RatingRow]:
        """Every recorded rating in long format, by session then trial position.

        Raises :class:`StudyIntegrityError` if a stored score is not an integer 1–5 (bytes
        changed on disk: the CHECK constraint guards every write)."""
        numbers = self._sitting_numbers()
        rows = [RatingRow(study=self.name, rater=r["rater"], session=r["session_id"],
                          image=r["image"], condition=r["condition"], score=r["score"],
                          response_ms=r["response_ms"], trial_index=r["position"],
                          replicate=r["replicate"], seed=r["seed"], app_version=r["app_version"],
                          rated_at=r["rated_at"], sitting=numbers.get(r["sitting_id"], (0, ""))[0],
                          station=numbers.get(r["sitting_id"], (0, ""))[1],
                          condition_b=r["condition_b"] or "")
                for r in self._conn.execute(
                    "SELECT r.session_id, r.position, r.score, r.response_ms, r.rated_at,"
                    " r.app_version, r.sitting_id, s.rater, s.seed, t.replicate, st.image, st.condition,"
                    " st2.condition AS condition_b"
                    " FROM ratings r JOIN sessions s ON s.id = r.session_id"
                    " JOIN session_trials t ON t.session_id = r.session_id AND t.position = r.position"
                    " JOIN stimuli st ON st.id = t.stimulus_id"
                    " LEFT JOIN stimuli st2 ON st2.id = t.stimulus_b ORDER BY r.session_id, r.position")]
        try:
            check_scores(rows)
        except ValueError as exc:
            raise StudyIntegrityError(f"{self.path} is damaged: {exc}") from exc
        return rows

    def _sitting_numbers(self) -> dict[int, tuple[int, str]]:
        """sitting id → (1-based number within its session, station)."""
        numbers: dict[int, tuple[int, str]] = {}
        count: dict[int, int] = {}
        for r in self._conn.execute("SELECT id, session_id, station FROM sittings ORDER BY started_at, id"):
            count[r[1]] = count.get(r[1], 0) + 1
            numbers[r[0]] = (count[r[1]], r[2])
        return numbers

    # -- sittings ------------------------------------------------------------------------------
    def begin_sitting(self, session_id: int, display: Display | None = None) -> int:
        """Record that the rater sat down (now) at ``display``; returns the sitting's id."""
        now = _now()
        d = display
        with _transaction(self._conn) as conn:
            cursor = conn.execute(
                "INSERT INTO sittings (session_id, station, started_at, ended_at, screen_width,"
                " screen_height, device_pixel_ratio, magnification, screen_name, app_version)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, self.station, now, now, d.screen_width if d else None,
                 d.screen_height if d else None, d.device_pixel_ratio if d else None,
                 d.magnification if d else None, d.screen_name if d else "", __version__))
        return int(cursor.lastrowid)

    def end_sitting(self, sitting_id: int) -> None:
        with _transaction(self._conn) as conn:
            conn.execute("UPDATE sittings SET ended_at = ? WHERE id = ?", (_now(), sitting_id))

    @_reading
    def sittings(self) -> list[Sitting]:
        """Every sitting, by rater then start time."""
        numbers = self._sitting_numbers()
        result = []
        for r in self._conn.execute(
                "SELECT x.*, s.rater, (SELECT COUNT(*) FROM ratings r WHERE r.sitting_id = x.id) AS n"
                " FROM sittings x JOIN sessions s ON s.id = x.session_id ORDER BY s.id, x.started_at, x.id"):
            display = (Display(int(r["screen_width"]), int(r["screen_height"]),
                               float(r["device_pixel_ratio"]), int(r["magnification"]),
                               str(r["screen_name"]))
                       if r["screen_width"] is not None else None)
            result.append(Sitting(int(r["id"]), str(r["rater"]), numbers[r["id"]][0], str(r["station"]),
                                  str(r["started_at"]), str(r["ended_at"]), int(r["n"]), display))
        return result

    # -- the ratings' hash chain ---------------------------------------------------------------
    @_reading
    def verify_chain(self) -> list[str]:
        """Problems with the ratings' hash chains (altered, inserted, deleted rows); [] if intact."""
        problems: list[str] = []
        for session in self._conn.execute(
                "SELECT id, rater, seed, chain_head, chain_count FROM sessions ORDER BY id").fetchall():
            head, count = "", 0
            for r in self._conn.execute(
                    "SELECT r.position, r.score, r.response_ms, r.rated_at, r.app_version, r.seq,"
                    " r.chain, t.stimulus_id, t.stimulus_b, t.replicate FROM ratings r JOIN session_trials t"
                    " ON t.session_id = r.session_id AND t.position = r.position"
                    " WHERE r.session_id = ? ORDER BY r.seq", (session["id"],)).fetchall():
                if r["seq"] != count:
                    problems.append(f"rater '{session['rater']}': {r['seq'] - count} rating(s) before "
                                    f"trial {r['position'] + 1} were deleted outside the app")
                    break
                head = rating_link(head, session["rater"], session["seed"], r["position"],
                                   _pair(r["stimulus_id"], r["stimulus_b"]), r["replicate"],
                                   r["score"], r["response_ms"], r["rated_at"], r["app_version"])
                if head != r["chain"]:
                    problems.append(f"rater '{session['rater']}': the rating of trial "
                                    f"{r['position'] + 1} was altered outside the app")
                    break
                count += 1
            else:
                if count != session["chain_count"] or head != session["chain_head"]:
                    problems.append(f"rater '{session['rater']}': {session['chain_count']} rating(s) "
                                    f"were recorded, {count} are left (deleted or altered outside the app)")
        return problems

    # -- stations ------------------------------------------------------------------------------
    def check_station(self, station: Study) -> str:
        """Raise unless ``station`` is an intact copy of this study; returns its name."""
        label = station.station or station.folder.name
        if station.design_hash != self.design_hash:
            raise StoreError(f"station '{label}' ({station.path}) has another design than study "
                             f"'{self.name}'; it was not made from this study")
        if station.stimuli_hash != self.stimuli_hash:
            raise StoreError(f"station '{label}' ({station.path}) has other stimuli than study "
                             f"'{self.name}' (stimulus hashes differ)")
        problems = station.verify_chain()
        if problems:
            raise StudyIntegrityError(f"station '{label}' ({station.path}) is not intact: "
                                      + "; ".join(problems[:3]))
        return label

    def merge_from(self, station: Study) -> MergeResult:
        """Bring a station copy's sittings and ratings into this study, in one transaction.

        The station must have this study's design and stimuli (same hashes) and an intact
        hash chain.  A trial this study already holds is never counted twice: the identical
        rating (merged before) is skipped silently, a different one (the rater rated the same
        trial on two stations) is skipped and counted in ``duplicates``.  Merging again
        changes nothing."""
        label = self.check_station(station)
        sittings = {x.id: x for x in station.sittings()}
        source = station._conn
        added = unchanged = duplicates = 0
        dup_raters: set[str] = set()
        with _transaction(self._conn) as conn:
            for sess in source.execute("SELECT * FROM sessions ORDER BY id").fetchall():
                session_id = self._session_id(conn, sess["rater"], sess["started_at"])
                mine = {r["position"]: r for r in conn.execute(
                    "SELECT position, score, response_ms, rated_at FROM ratings WHERE session_id = ?",
                    (session_id,))}
                order_sql = ("SELECT stimulus_id || '+' || COALESCE(stimulus_b, '') FROM session_trials"
                             " WHERE session_id = ? ORDER BY position")
                expected = [r[0] for r in conn.execute(order_sql, (session_id,))]
                theirs = [r[0] for r in source.execute(order_sql, (sess["id"],))]
                if expected != theirs:
                    raise StoreError(f"station '{label}': rater '{sess['rater']}' has another trial "
                                     f"order than in study '{self.name}'")
                sitting_ids: dict[int, int] = {}
                for x in (v for v in sittings.values() if v.rater.casefold() == sess["rater"].casefold()):
                    where = x.station or label
                    found = conn.execute("SELECT id FROM sittings WHERE session_id = ? AND station = ?"
                                         " AND started_at = ?", (session_id, where, x.started_at)).fetchone()
                    if found is None:
                        d = x.display
                        found = [conn.execute(
                            "INSERT INTO sittings (session_id, station, started_at, ended_at,"
                            " screen_width, screen_height, device_pixel_ratio, magnification,"
                            " screen_name, app_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (session_id, where, x.started_at, x.ended_at,
                             d.screen_width if d else None, d.screen_height if d else None,
                             d.device_pixel_ratio if d else None, d.magnification if d else None,
                             d.screen_name if d else "", __version__)).lastrowid]
                    else:
                        conn.execute("UPDATE sittings SET ended_at = MAX(ended_at, ?) WHERE id = ?",
                                     (x.ended_at, found[0]))
                    sitting_ids[x.id] = int(found[0])
                for r in source.execute("SELECT * FROM ratings WHERE session_id = ? ORDER BY seq",
                                        (sess["id"],)).fetchall():
                    held = mine.get(r["position"])
                    if held is not None:
                        if (held["score"], held["response_ms"], held["rated_at"]) == \
                                (r["score"], r["response_ms"], r["rated_at"]):
                            unchanged += 1
                        else:
                            duplicates += 1
                            dup_raters.add(sess["rater"])
                        continue
                    self._insert_rating(conn, session_id, r["position"], r["score"], r["response_ms"],
                                        r["rated_at"], r["app_version"], sitting_ids.get(r["sitting_id"]))
                    added += 1
                if sess["calibrated_at"]:
                    conn.execute("UPDATE sessions SET calibrated_at = COALESCE(calibrated_at, ?)"
                                 " WHERE id = ?", (sess["calibrated_at"], session_id))
                conn.execute(
                    "UPDATE sessions SET updated_at = MAX(updated_at, ?), completed_at = CASE WHEN"
                    " (SELECT COUNT(*) FROM ratings WHERE session_id = ?) ="
                    " (SELECT COUNT(*) FROM session_trials WHERE session_id = ?)"
                    " THEN COALESCE(completed_at, ?) ELSE NULL END WHERE id = ?",
                    (sess["updated_at"], session_id, session_id, sess["updated_at"], session_id))
        return MergeResult(label, added, unchanged, duplicates, sorted(dup_raters))

    @_reading
    def raters_on_several_stations(self) -> dict[str, list[str]]:
        """Raters whose sittings come from more than one station ('' = this machine)."""
        places: dict[str, set[str]] = {}
        for x in self.sittings():
            places.setdefault(x.rater, set()).add(x.station or "(main)")
        return {rater: sorted(where) for rater, where in sorted(places.items()) if len(where) > 1}

    @_reading
    def info(self) -> StudyInfo:
        sessions = self.sessions()
        return StudyInfo(name=self.name, path=self.path, raters=len(sessions),
                         complete_raters=sum(s.complete for s in sessions),
                         ratings=sum(s.rated for s in sessions),
                         trials_per_rater=len(self.design.images) * len(self.design.conditions)
                         * self.design.replicates,
                         conditions=self.design.condition_keys, images=len(self.design.images))


def open_study(name_or_path: str | os.PathLike, verify: bool = True, root: Path | None = None) -> Study:
    """Open a study by database path, folder or name (under :func:`studies_root`)."""
    return Study.open(resolve_study(name_or_path, root), verify=verify)


def _write_study(db: Path, design: StudyDesign, images: list[SourceImage],
                 stimuli: list[Stimulus], uid: str = "", station: str = "") -> None:
    conn = _connect(db)
    try:
        migrate(conn, db)
        with _transaction(conn):
            conn.execute("INSERT INTO study (id, name, seed, design_json, created_at, app_version,"
                         " uid, station) VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
                         (design.name, design.seed, json.dumps(design.to_dict()), _now(), __version__,
                          uid or secrets.token_hex(16), station))
            conn.executemany("INSERT INTO images VALUES (?, ?, ?, ?, ?, ?)",
                             [(im.id, pos, im.name, im.sha256, im.width, im.height)
                              for pos, im in enumerate(images)])
            conn.executemany("INSERT INTO stimuli VALUES (?, ?, ?, ?, ?, ?, ?)",
                             [(s.id, s.image, s.condition, s.file, s.sha256, s.width, s.height)
                              for s in stimuli])
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


def make_station(study: Study, folder: str | os.PathLike, station: str) -> Path:
    """A self-contained copy of ``study`` for one rating PC: its stimuli and a new database
    with the same design, stimuli and study ID, no ratings, recording as ``station``.

    ``folder`` must not exist yet; an interrupted copy leaves nothing behind."""
    station = " ".join(station.split())
    if not station or len(station) > 64:
        raise StoreError("a station needs a name of 1–64 characters")
    folder = Path(folder)
    if folder.exists():
        raise StoreError(f"{folder} already exists; choose a new folder for the station")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".part", dir=folder.parent))
        scratch.chmod(0o755)
        (scratch / "stimuli").mkdir()
        for stim in study.stimuli.values():
            shutil.copy2(study.folder / stim.file, scratch / stim.file)
        _write_study(scratch / STUDY_FILE, study.design, study.images, list(study.stimuli.values()),
                     uid=study.uid, station=station)
        os.replace(scratch, folder)
    except (OSError, sqlite3.Error) as exc:
        shutil.rmtree(scratch, ignore_errors=True) if "scratch" in locals() else None
        raise StoreError(f"cannot make the station copy {folder}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from exc
    with Study.open(folder / STUDY_FILE) as copy:  # the copy's stimuli match their hashes
        if copy.stimuli_hash != study.stimuli_hash:
            raise StudyIntegrityError(f"the station copy {folder} does not match the study")
    return folder / STUDY_FILE


def create_study(design: StudyDesign, sources: dict[str, Path], folder: str | os.PathLike,
                 device: str = "cpu", progress: Callable[[int, int, str], None] | None = None,
                 should_stop: Callable[[], bool] | None = None) -> Study:
    """Generate the stimuli and the database in a scratch folder, then move it to ``folder``.

    ``folder`` must not exist yet (or be empty); an interrupted creation leaves nothing behind.
    """
    validate_design(design)
    folder = Path(folder)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise StoreError(f"{folder} already exists; choose another name or folder")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".part", dir=folder.parent))
        scratch.chmod(0o755)  # mkdtemp makes it private; a study folder is an ordinary folder
    except OSError as exc:
        raise StoreError(f"cannot create a study in {folder.parent}: {exc.strerror or exc}") from exc
    try:
        images, stimuli = generate_stimuli(design, sources, scratch, device=device,
                                           progress=progress, should_stop=should_stop)
        _write_study(scratch / STUDY_FILE, design, images, stimuli)
        if folder.exists():
            folder.rmdir()
        os.replace(scratch, folder)
    except (OSError, sqlite3.Error) as exc:  # a full disk, a folder that cannot be renamed
        shutil.rmtree(scratch, ignore_errors=True)
        raise StoreError(f"cannot create the study {folder}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from exc
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True)
        raise
    return Study.open(folder / STUDY_FILE)


def list_studies(root: Path | None = None) -> list[StudyInfo]:
    """Every study folder under ``root`` (default :func:`studies_root`); broken ones say why."""
    root = root or studies_root()
    found: list[StudyInfo] = []
    for db in sorted(root.glob(f"*/{STUDY_FILE}")) if root.is_dir() else []:
        try:
            with Study.open(db, verify=False) as study:
                found.append(study.info())
        except StoreError as exc:
            found.append(StudyInfo(db.parent.name, db, 0, 0, 0, 0, [], 0, error=str(exc)))
    return found
