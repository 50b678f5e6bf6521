"""The hash chain over each session's ratings.

Rating k stores ``SHA-256(chain of rating k−1, rater, seed, trial, stimulus, replicate, score,
time, …)`` and the session stores the head and the count, so a rating altered, inserted or
deleted outside the app is found.  It is a checksum against accidents and naive edits, not a
signature: someone who recomputes the chain can forge it.

The study's *seal* (``study.seal``, schema v3) covers what the per-session chains do not: the
design JSON, every stimulus (id → image, condition, file, SHA-256) and the set of raters with
their seeds, rating counts and chain heads.  Swapping two stimuli's conditions or deleting a
rater's rows outside the app breaks it; it is resealed inside every write transaction that
changes those (a new session, a rating, a merge).  Like the chain it is a checksum: a forger
who recomputes every hash (the chains and the seal) is out of scope.  Studies from before v3
get their seal computed on upgrade, so an edit made before the upgrade cannot be detected.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3

__all__ = ["rating_link", "verify_chain", "study_seal", "reseal", "SEAL_BROKEN"]

SEAL_BROKEN = ("the study's design, stimuli (image, condition, SHA-256) or set of raters and their "
               "rating counts were changed outside the app (its seal no longer matches)")


def study_seal(conn: sqlite3.Connection) -> str:
    """SHA-256 over the design JSON, the stimuli and the raters with their counts and chain heads."""
    design = conn.execute("SELECT design_json FROM study").fetchone()
    stimuli = conn.execute("SELECT id, image, condition, file, sha256 FROM stimuli ORDER BY id").fetchall()
    raters = conn.execute("SELECT casefold(rater), seed, chain_count, chain_head FROM sessions"
                          " ORDER BY casefold(rater)").fetchall()
    text = json.dumps([design[0] if design else None, [list(r) for r in stimuli],
                       [list(r) for r in raters]], ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def reseal(conn: sqlite3.Connection) -> None:
    """Store the current seal (inside the write transaction that changed what it covers)."""
    conn.execute("UPDATE study SET seal = ?", (study_seal(conn),))


def seal_broken(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT seal FROM study").fetchone()[0] != study_seal(conn)



def rating_link(previous: str, rater: str, seed: int, position: int, stimulus_id: str,
                replicate: int, score: int, response_ms: int, rated_at: str, app_version: str) -> str:
    """One link of a session's hash chain (hex SHA-256 of the fields joined by U+001F, the
    rater ID case-folded, UTF-8)."""
    text = "\x1f".join((previous, rater.casefold(), str(int(seed)), str(int(position)), stimulus_id,
                        str(int(replicate)), str(int(score)), str(int(response_ms)), rated_at, app_version))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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



def verify_chain(conn: sqlite3.Connection) -> list[str]:
        problems: list[str] = [SEAL_BROKEN] if seal_broken(conn) else []
        for session in conn.execute(
                "SELECT id, rater, seed, chain_head, chain_count FROM sessions ORDER BY id").fetchall():
            head, count = "", 0
            for r in conn.execute(
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

