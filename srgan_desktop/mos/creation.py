"""Finding, creating, listing and copying studies.

A study is made in a scratch folder (``.<name>.*.part``) and moved into place with one
``os.replace``, so an interrupted creation or station copy leaves nothing behind.  Paths of
stimuli are stored relative to the study folder, so a study folder can be copied as a whole.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path

from srgan_desktop import __version__
from srgan_desktop.mos.chain import reseal
from srgan_desktop.mos.connection import StoreError, StudyIntegrityError, _connect, _now, _transaction
from srgan_desktop.mos.design import StudyDesign, validate_design
from srgan_desktop.mos.schema import migrate
from srgan_desktop.mos.stimuli import SourceImage, Stimulus, generate_stimuli
from srgan_desktop.mos.study import STUDY_FILE, Study
from srgan_desktop.mos.study_records import StudyInfo

__all__ = ["slugify", "studies_root", "resolve_study", "open_study", "make_station", "create_study",
           "list_studies"]


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
            reseal(conn)
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
    except (OSError, sqlite3.Error) as exc:  # a full disk: nothing of the copy is left behind
        shutil.rmtree(scratch, ignore_errors=True) if "scratch" in locals() else None
        raise StoreError(f"cannot make the station copy {folder}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from exc
    except StoreError as exc:  # the store's own errors (SQLite full inside a transaction)
        shutil.rmtree(scratch, ignore_errors=True)
        raise type(exc)(f"cannot make the station copy {folder}: {exc}") from exc
    except BaseException:
        shutil.rmtree(scratch, ignore_errors=True) if "scratch" in locals() else None
        raise
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
