"""Sessions, ratings and sittings of a study (mixed into :class:`~srgan_desktop.mos.study.Study`).

Every rating is committed in its own ``BEGIN IMMEDIATE`` transaction before the next trial is
shown, extends its session's hash chain, and names its sitting; the primary key of ``ratings``
makes it impossible to record one trial twice (:class:`TrialAlreadyRated`).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np

from srgan_desktop import __version__
from srgan_desktop.mos.chain import SEAL_BROKEN, _pair, rating_link, reseal, seal_broken
from srgan_desktop.mos.connection import (StoreError, StudyIntegrityError, TrialAlreadyRated, _now,
                                          _reading, _transaction)
from srgan_desktop.mos.design import StudyDesign, normalize_rater, rater_seed, trial_order
from srgan_desktop.mos.records import RatingRow, check_scores
from srgan_desktop.mos.stimuli import Stimulus
from srgan_desktop.mos.study_records import Display, Session, SessionTrial, Sitting

__all__ = ["SittingsMixin"]


class SittingsMixin:
    """Sessions, trials, ratings and sittings over ``self._conn``."""

    path: Path
    design: StudyDesign
    stimuli: dict[str, Stimulus]
    _conn: sqlite3.Connection

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
        reseal(conn)
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
        reseal(conn)

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
        changed on disk: the CHECK constraint guards every write) or if the study's seal
        no longer matches (design, stimuli or raters edited outside the app): summaries, the
        results window and exports are refused rather than computed from altered data."""
        if seal_broken(self._conn):
            raise StudyIntegrityError(f"{self.path}: {SEAL_BROKEN}; results are refused. "
                                      f"Restore the study from a backup or a station copy.")
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
