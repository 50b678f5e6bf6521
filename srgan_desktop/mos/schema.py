"""The study database's schema (``PRAGMA user_version``) and its migrations.

``MIGRATIONS[v]`` takes a database from v to v + 1; each step is its own transaction, with a
``foreign_key_check`` before it commits.  A study made by a newer app is refused with a clear
message.  An entry that names a function in ``_MIGRATION_STEPS`` runs that function instead of
SQL (the v1 → v2 score check and chain rebuild).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from srgan_desktop.mos.chain import _rebuild_chains, reseal
from srgan_desktop.mos.connection import StoreError, StudyIntegrityError, _transaction

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

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
    # v2 → v3: the study's seal over design, stimuli and raters (computed for the data as found).
    [
        "ALTER TABLE study ADD COLUMN seal TEXT NOT NULL DEFAULT ''",
        "_reseal",
    ],
]
SCHEMA_VERSION = len(MIGRATIONS)


def _refuse_non_integer_scores(conn: sqlite3.Connection) -> None:
    bad = conn.execute("SELECT COUNT(*), MIN(session_id), MIN(position) FROM ratings WHERE"
                       " typeof(score) != 'integer' OR score NOT BETWEEN 1 AND 5"
                       " OR typeof(response_ms) != 'integer'").fetchone()
    if bad[0]:
        raise StudyIntegrityError(
            f"{bad[0]} rating(s) are not whole numbers 1–5 (first: session {bad[1]}, trial "
            f"{bad[2] + 1}); the study cannot be upgraded. Export it with an older version, fix "
            f"the scores, and import them into a new study.")


_MIGRATION_STEPS = {"_refuse_non_integer_scores": _refuse_non_integer_scores,
                    "_rebuild_chains": _rebuild_chains, "_reseal": reseal}



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


