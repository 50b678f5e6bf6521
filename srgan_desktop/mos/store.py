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
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from srgan_desktop import __version__
from srgan_desktop.mos.design import (CalibrationExample, StudyDesign, calibration_examples,
                                      normalize_rater, rater_seed, trial_order, validate_design)
from srgan_desktop.mos.records import RatingRow
from srgan_desktop.mos.stimuli import SourceImage, Stimulus, generate_stimuli, verify_stimuli

__all__ = ["StoreError", "StudyIntegrityError", "TrialAlreadyRated", "Study", "Session",
           "SessionTrial", "StudyInfo", "create_study", "open_study", "list_studies",
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
]
SCHEMA_VERSION = len(MIGRATIONS)


class StoreError(Exception):
    """A study cannot be opened or written; the message is meant for the user."""


class StudyIntegrityError(StoreError):
    """The database is damaged or a stimulus file is missing or changed."""


class TrialAlreadyRated(StoreError):
    """The trial already has a rating (another window or process recorded it first)."""


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
    while version < SCHEMA_VERSION:
        with _transaction(conn):
            version = conn.execute("PRAGMA user_version").fetchone()[0]  # another process may have
            if version >= SCHEMA_VERSION:
                break
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
        version += 1
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
        row = conn.execute("SELECT name, seed, design_json, created_at, app_version FROM study").fetchone()
        if row is None:
            raise StoreError(f"{path} holds no study (was its creation interrupted?)")
        self.design = StudyDesign.from_dict(json.loads(row["design_json"]))
        self.created_at: str = row["created_at"]
        self.created_with: str = row["app_version"]
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
        except (sqlite3.DatabaseError, KeyError, ValueError, TypeError) as exc:
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

    def sessions(self) -> list[Session]:
        ids = [r[0] for r in self._conn.execute("SELECT id FROM sessions ORDER BY id")]
        return [self.session(i) for i in ids]

    def start_session(self, rater: str) -> Session:
        """The rater's session: resumed if it exists, else created with its own random order."""
        rater = normalize_rater(rater)
        with _transaction(self._conn) as conn:
            row = conn.execute("SELECT id FROM sessions WHERE casefold(rater) = ? ORDER BY id",
                               (rater.casefold(),)).fetchone()
            if row is None:
                seed = rater_seed(self.design.seed, rater)
                now = _now()
                cursor = conn.execute(
                    "INSERT INTO sessions (rater, seed, started_at, updated_at, app_version)"
                    " VALUES (?, ?, ?, ?, ?)", (rater, seed, now, now, __version__))
                session_id = int(cursor.lastrowid)
                conn.executemany(
                    "INSERT INTO session_trials (session_id, position, stimulus_id, replicate)"
                    " VALUES (?, ?, ?, ?)",
                    [(session_id, pos, self._by_key[(t.image, t.condition)].id, t.replicate)
                     for pos, t in enumerate(trial_order(self.design, seed))])
            else:
                session_id = int(row[0])
        return self.session(session_id)

    def trials(self, session_id: int) -> list[SessionTrial]:
        """The session's trials in showing order, with scores where given."""
        return [SessionTrial(r["position"], r["stimulus_id"], r["image"], r["condition"],
                             r["replicate"], r["score"], r["response_ms"])
                for r in self._conn.execute(
                    "SELECT t.position, t.stimulus_id, t.replicate, s.image, s.condition,"
                    " r.score, r.response_ms FROM session_trials t"
                    " JOIN stimuli s ON s.id = t.stimulus_id"
                    " LEFT JOIN ratings r ON r.session_id = t.session_id AND r.position = t.position"
                    " WHERE t.session_id = ? ORDER BY t.position", (session_id,))]

    def next_trial(self, session_id: int) -> SessionTrial | None:
        """The first trial in order without a rating, or None when the session is complete."""
        for trial in self.trials(session_id):
            if trial.score is None:
                return trial
        return None

    def mark_calibrated(self, session_id: int) -> None:
        with _transaction(self._conn) as conn:
            now = _now()
            conn.execute("UPDATE sessions SET calibrated_at = COALESCE(calibrated_at, ?),"
                         " updated_at = ? WHERE id = ?", (now, now, session_id))

    def record_rating(self, session_id: int, position: int, score: int, response_ms: int) -> None:
        """Commit one score in its own transaction; raise :class:`TrialAlreadyRated` if taken."""
        if isinstance(score, bool) or int(score) != score or not 1 <= int(score) <= 5:
            raise StoreError(f"a score is 1 to 5, not {score!r}")
        if response_ms < 0:
            raise StoreError("a response time cannot be negative")
        with _transaction(self._conn) as conn:
            if conn.execute("SELECT 1 FROM session_trials WHERE session_id = ? AND position = ?",
                            (session_id, position)).fetchone() is None:
                raise StoreError(f"session {session_id} has no trial {position}")
            now = _now()
            try:
                conn.execute("INSERT INTO ratings (session_id, position, score, response_ms,"
                             " rated_at, app_version) VALUES (?, ?, ?, ?, ?, ?)",
                             (session_id, position, int(score), int(response_ms), now, __version__))
            except sqlite3.IntegrityError as exc:
                raise TrialAlreadyRated(f"trial {position + 1} of session {session_id} is already "
                                        f"rated") from exc
            conn.execute(
                "UPDATE sessions SET updated_at = ?, completed_at = CASE WHEN"
                " (SELECT COUNT(*) FROM ratings WHERE session_id = ?) ="
                " (SELECT COUNT(*) FROM session_trials WHERE session_id = ?) THEN ? ELSE NULL END"
                " WHERE id = ?", (now, session_id, session_id, now, session_id))

    # -- data ----------------------------------------------------------------------------------
    def rows(self) -> list[RatingRow]:
        """Every recorded rating in long format, by session then trial position."""
        return [RatingRow(study=self.name, rater=r["rater"], session=r["session_id"],
                          image=r["image"], condition=r["condition"], score=r["score"],
                          response_ms=r["response_ms"], trial_index=r["position"],
                          replicate=r["replicate"], seed=r["seed"], app_version=r["app_version"],
                          rated_at=r["rated_at"])
                for r in self._conn.execute(
                    "SELECT r.session_id, r.position, r.score, r.response_ms, r.rated_at,"
                    " r.app_version, s.rater, s.seed, t.replicate, st.image, st.condition"
                    " FROM ratings r JOIN sessions s ON s.id = r.session_id"
                    " JOIN session_trials t ON t.session_id = r.session_id AND t.position = r.position"
                    " JOIN stimuli st ON st.id = t.stimulus_id ORDER BY r.session_id, r.position")]

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
                 stimuli: list[Stimulus]) -> None:
    conn = _connect(db)
    try:
        migrate(conn, db)
        with _transaction(conn):
            conn.execute("INSERT INTO study (id, name, seed, design_json, created_at, app_version)"
                         " VALUES (1, ?, ?, ?, ?, ?)",
                         (design.name, design.seed, json.dumps(design.to_dict()), _now(), __version__))
            conn.executemany("INSERT INTO images VALUES (?, ?, ?, ?, ?, ?)",
                             [(im.id, pos, im.name, im.sha256, im.width, im.height)
                              for pos, im in enumerate(images)])
            conn.executemany("INSERT INTO stimuli VALUES (?, ?, ?, ?, ?, ?, ?)",
                             [(s.id, s.image, s.condition, s.file, s.sha256, s.width, s.height)
                              for s in stimuli])
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()


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
