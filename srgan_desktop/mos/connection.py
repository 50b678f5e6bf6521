"""Opening a study database and writing to it; the store's errors.

Every connection runs in WAL mode with ``synchronous=FULL`` and foreign keys on, waits on other
writers (``busy_timeout``) and folds rater IDs with Unicode case folding.  Writes go through
:func:`_transaction` (``BEGIN IMMEDIATE``: the write lock is taken up front, so no deadlocks).
Whatever a damaged database raises while being read becomes :class:`StudyIntegrityError`
(:func:`_reading`), so a front end shows one line, never a decoding error or an ``IndexError``.
But SQLite failing to *reach* the file — a full disk (``SQLITE_FULL``), an I/O error writing
its ``-shm``/``-wal`` files, a read-only drive, a lock, no memory — says nothing about the
study's content: that is :class:`StudyAccessError` ("could not read or write … the study was
not changed"), never "damaged" (:func:`access_error`).
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from srgan_desktop.errors import SrganDesktopError

__all__ = ["StoreError", "StudyIntegrityError", "StudyAccessError", "TrialAlreadyRated",
           "BUSY_TIMEOUT_MS", "access_error"]

BUSY_TIMEOUT_MS = 30_000


class StoreError(SrganDesktopError):
    """A study cannot be opened or written; the message is meant for the user."""


class StudyIntegrityError(StoreError):
    """The database is damaged or a stimulus file is missing or changed."""


class StudyAccessError(StoreError):
    """SQLite could not read or write the study file (full or read-only disk, a lock): not damage."""


#: SQLite primary result codes that mean the file could not be reached, not that it is damaged:
#: PERM, BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, AUTH.
_ACCESS_CODES = frozenset({3, 5, 6, 7, 8, 10, 13, 14, 23})


def access_error(exc: BaseException, path: Path) -> StudyAccessError | None:
    """The :class:`StudyAccessError` for an SQLite error that is about reaching the file (disk
    full, I/O, read-only, locked), or None when ``exc`` may mean damage."""
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(exc, sqlite3.Error) or code is None or code & 0xFF not in _ACCESS_CODES:
        return None
    return StudyAccessError(f"{path}: SQLite could not read or write it ({exc}); the disk may be full "
                            f"or read-only, or another program holds it. The study was not changed "
                            f"(this is not damage).")


class TrialAlreadyRated(StoreError):
    """The trial already has a rating (another window or process recorded it first)."""


#: Exceptions that reading a damaged database can raise besides sqlite3.DatabaseError:
#: a missing column (IndexError from sqlite3.Row), a text column that is not UTF-8, a design
#: JSON that no longer parses, a value of the wrong type.
_DAMAGE = (sqlite3.DatabaseError, IndexError, KeyError, ValueError, TypeError, AttributeError,
           UnicodeDecodeError, OverflowError, RecursionError)


def _reading(method):
    """Turn what a damaged database raises inside ``method`` into :class:`StudyIntegrityError`."""
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except SrganDesktopError:
            raise
        except _DAMAGE as exc:
            access = access_error(exc, self.path)
            if access is not None:
                raise access from exc
            raise StudyIntegrityError(f"{self.path} is damaged ({type(exc).__name__}: {exc}). "
                                      f"Restore the study from a backup or a station copy.") from exc
    return wrapper


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


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
        raise StudyAccessError(f"the study could not be written ({exc}); nothing was saved") from exc


def _check_database(conn: sqlite3.Connection, path: Path) -> None:
    try:  # a damaged page can hold text that is not UTF-8, also in the check's own report
        problems = [row[0] for row in conn.execute("PRAGMA integrity_check").fetchall()]
        dangling = conn.execute("PRAGMA foreign_key_check").fetchall()
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        raise access_error(exc, path) or StudyIntegrityError(
            f"{path} is damaged or not a study database ({exc})") from exc
    if problems != ["ok"]:
        raise StudyIntegrityError(f"{path} is damaged (SQLite integrity check: "
                                  f"{'; '.join(problems[:5])}). Restore the study from a backup.")
    if dangling:
        raise StudyIntegrityError(f"{path} is inconsistent: {len(dangling)} row(s) refer to "
                                  f"missing rows (first in table '{dangling[0][0]}')")

