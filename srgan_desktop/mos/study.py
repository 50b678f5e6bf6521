"""An open study (:class:`Study`): its design, stimuli and images, read once on open.

Opening runs ``PRAGMA integrity_check``, ``PRAGMA foreign_key_check``, the migrations and
(unless asked not to) re-hashes every stimulus file.  Sessions, ratings and sittings live in
:mod:`srgan_desktop.mos.sittings`, station merging in :mod:`srgan_desktop.mos.merge`, the hash
chain in :mod:`srgan_desktop.mos.chain`.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.mos import chain
from srgan_desktop.mos.connection import (StoreError, StudyIntegrityError, _DAMAGE, _connect, _reading,
                                         access_error)
from srgan_desktop.mos.design import CalibrationExample, StudyDesign, calibration_examples, validate_design
from srgan_desktop.mos.merge import MergeMixin
from srgan_desktop.mos.schema import migrate
from srgan_desktop.mos.sittings import SittingsMixin
from srgan_desktop.mos.stimuli import SourceImage, Stimulus, verify_stimuli
from srgan_desktop.mos.study_records import StudyInfo

__all__ = ["Study", "STUDY_FILE"]

STUDY_FILE = "study.sqlite"


class Study(SittingsMixin, MergeMixin):
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
            raise access_error(exc, path) or StudyIntegrityError(
                f"{path} is damaged or not a study database ({exc})") from exc
        try:
            migrate(conn, path)
            study = cls(path, conn)
        except StoreError:
            conn.close()
            raise
        except (*_DAMAGE, SrganDesktopError) as exc:  # e.g. a design that no longer validates
            conn.close()
            raise access_error(exc, path) or StudyIntegrityError(
                f"{path} is damaged or not a study database ({exc})") from exc
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
    # -- the ratings' hash chain ---------------------------------------------------------------
    @_reading
    def verify_chain(self) -> list[str]:
        """Problems with the ratings' hash chains (altered, inserted, deleted rows); [] if intact."""
        return chain.verify_chain(self._conn)

    @_reading
    def info(self) -> StudyInfo:
        sessions = self.sessions()
        return StudyInfo(name=self.name, path=self.path, raters=len(sessions),
                         complete_raters=sum(s.complete for s in sessions),
                         ratings=sum(s.rated for s in sessions),
                         trials_per_rater=len(self.design.images) * len(self.design.conditions)
                         * self.design.replicates,
                         conditions=self.design.condition_keys, images=len(self.design.images))

