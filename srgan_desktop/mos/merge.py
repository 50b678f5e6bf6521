"""Merging station copies into a study (mixed into :class:`~srgan_desktop.mos.study.Study`).

A station must be a station copy (made by ``mos station``: it has a station name — a backup copy
of the study itself has none and is refused, since its sittings would come back as a phantom
sitting), have the study's design and stimuli (same hashes) and an intact hash chain; a trial
the study already holds is never counted twice; merging again changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from srgan_desktop import __version__
from srgan_desktop.mos.connection import StoreError, StudyIntegrityError, _reading, _transaction
from srgan_desktop.mos.study_records import MergeResult

if TYPE_CHECKING:
    from srgan_desktop.mos.study import Study

__all__ = ["MergeMixin"]


class MergeMixin:
    """Checking and merging stations into ``self``."""

    def check_station(self, station: Study) -> str:
        """Raise unless ``station`` is an intact copy of this study; returns its name."""
        label = station.station or station.folder.name
        if not station.station:
            raise StoreError(f"{station.path} is a copy of a study, not a station made with 'mos "
                             f"station' (it has no station name); merging it would add its ratings "
                             f"as a phantom sitting. Merge only station copies")
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

