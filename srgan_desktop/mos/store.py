"""The public facade of a study on disk: ``<folder>/study.sqlite`` plus ``<folder>/stimuli/*.png``.

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

Schema v3: ``study.seal``, a SHA-256 over the design, the stimuli (id → image, condition, file,
SHA-256) and the raters with their rating counts and chain heads (:mod:`srgan_desktop.mos.chain`),
computed on upgrade for older studies; a broken seal makes :meth:`Study.rows` (summaries, the
results window, exports), ``mos check`` and ``mos merge`` refuse the study.

Any damaged content (bytes changed on disk, a truncated copy) raises
:class:`StudyIntegrityError` — one message, never an ``IndexError`` or a decoding error.

The code lives by job in :mod:`~srgan_desktop.mos.schema` (schema and migrations),
:mod:`~srgan_desktop.mos.connection` (connections, transactions, errors),
:mod:`~srgan_desktop.mos.study_records` (records), :mod:`~srgan_desktop.mos.study` (an open
study), :mod:`~srgan_desktop.mos.sittings` (sessions, ratings, sittings),
:mod:`~srgan_desktop.mos.chain` (hash chain), :mod:`~srgan_desktop.mos.merge` (stations) and
:mod:`~srgan_desktop.mos.creation` (create, list, copy); this module re-exports them.
"""

from __future__ import annotations

from srgan_desktop.mos.chain import rating_link
from srgan_desktop.mos.connection import (BUSY_TIMEOUT_MS, StoreError, StudyIntegrityError,
                                          TrialAlreadyRated, _connect, _transaction)
from srgan_desktop.mos.creation import (create_study, list_studies, make_station, open_study,
                                        resolve_study, slugify, studies_root)
from srgan_desktop.mos.schema import MIGRATIONS, SCHEMA_VERSION, migrate
from srgan_desktop.mos.study import STUDY_FILE, Study
from srgan_desktop.mos.study_records import (Display, MergeResult, Session, SessionTrial, Sitting,
                                             StudyInfo)

__all__ = ["StoreError", "StudyIntegrityError", "TrialAlreadyRated", "Study", "Session",
           "SessionTrial", "StudyInfo", "Display", "Sitting", "MergeResult", "rating_link",
           "make_station", "create_study", "open_study", "list_studies", "studies_root",
           "resolve_study", "slugify", "STUDY_FILE", "SCHEMA_VERSION", "MIGRATIONS", "migrate",
           "BUSY_TIMEOUT_MS", "_connect", "_transaction"]
