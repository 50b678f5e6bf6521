"""The hash chain over each session's ratings.

Rating k stores ``SHA-256(chain of rating k−1, rater, seed, trial, stimulus, replicate, score,
time, …)`` and the session stores the head and the count, so a rating altered, inserted or
deleted outside the app is found.  It is a checksum against accidents and naive edits, not a
signature: someone who recomputes the chain can forge it.
"""

from __future__ import annotations

import hashlib
import sqlite3

__all__ = ["rating_link", "verify_chain"]


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
        problems: list[str] = []
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

