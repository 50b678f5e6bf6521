"""The results database of ``eval --db``: every figure ever measured, keyed by content.

A lab evaluates many models on many benchmarks for weeks; nothing measured once should be
measured again, and a changed weights file or image must never be mistaken for the old one.

Rules and reasons:

* **Cells are keyed by content, not by names** (table ``cells``): the SHA-256 of the method
  (its weights file; of the result image for a ``KEY=DIR`` method; ``bicubic`` / ``hr`` for
  the built-ins), of the HR image and of the LR input (their decoded pixels and shape, so a
  re-saved PNG with other metadata is the same image and an LR made from HR has a key too), the
  scale, the precision, the measure's name and its registry ``version``
  (:data:`srgan_desktop.core.measures.MEASURES`; LPIPS adds its network and backbone).  A
  renamed model reuses its figures; a retrained one is a new key.
* **Names are a view** (table ``entries``): "label L on image I of benchmark B at scale S and
  precision P is the content key K" — replaced by each run, so a label follows its newest
  weights while the old cells stay cached (reverting the weights finds them again).
* **Written one finished image at a time**, in one transaction (``BEGIN IMMEDIATE``), in WAL
  mode: a run killed by SIGKILL loses at most the images in flight, never a half-written image,
  and a restart computes only what is missing.
* Runtime as NTIRE measures it (``eval --runtime``; :mod:`srgan_desktop.core.runtime`) lives
  in ``runtimes`` (per method × LR image × precision × device × machine) and ``model_costs``
  (parameters and FLOPs per method).
* ``schema`` holds the schema version; a database written by a newer version is refused
  rather than misread.

Means and 95 % intervals (:func:`summary`) use Student's t (``scipy.stats.t.interval``) over
the images of a benchmark.  Qt-free and torch-free.
"""

from __future__ import annotations

import hashlib
import math
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from srgan_desktop.errors import SrganDesktopError
from srgan_desktop.utils import sha256_file as file_sha  # weights files, result images

__all__ = ["ResultsDbError", "SCHEMA_VERSION", "CellKey", "Cell", "Entry", "Runtime", "ModelCost",
           "ResultsDb", "SummaryRow", "RuntimeRow", "ImageValue", "image_values", "summarise_values",
           "summary", "runtime_summary", "pixels_sha",
           "file_sha", "t_interval"]

SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS cells (
    method_sha TEXT NOT NULL, hr_sha TEXT NOT NULL, lr_sha TEXT NOT NULL,
    scale INTEGER NOT NULL, precision TEXT NOT NULL,
    measure TEXT NOT NULL, version TEXT NOT NULL,
    value REAL,                -- NULL when the measure could not run: then reason says why
    reason TEXT,
    seconds REAL NOT NULL,     -- the method's time on this image (upscale or load)
    device TEXT NOT NULL, machine TEXT NOT NULL, created TEXT NOT NULL,
    PRIMARY KEY (method_sha, hr_sha, lr_sha, scale, precision, measure, version));
CREATE TABLE IF NOT EXISTS entries (
    label TEXT NOT NULL, dataset TEXT NOT NULL, image TEXT NOT NULL,
    scale INTEGER NOT NULL, precision TEXT NOT NULL,
    method_sha TEXT NOT NULL, hr_sha TEXT NOT NULL, lr_sha TEXT NOT NULL,
    updated TEXT NOT NULL,
    hr_path TEXT NOT NULL DEFAULT '',   -- where the HR image was (the Results window opens it)
    PRIMARY KEY (label, dataset, image, scale, precision));
CREATE TABLE IF NOT EXISTS runtimes (
    method_sha TEXT NOT NULL, lr_sha TEXT NOT NULL, precision TEXT NOT NULL,
    device TEXT NOT NULL, machine TEXT NOT NULL,
    warmup INTEGER NOT NULL, runs INTEGER NOT NULL,
    median_s REAL NOT NULL, min_s REAL NOT NULL,
    peak_bytes INTEGER,        -- CPU: RSS high-water above the start; CUDA: max_memory_allocated
    flops REAL,                -- of one forward on this LR image (torch.utils.flop_counter)
    created TEXT NOT NULL,
    PRIMARY KEY (method_sha, lr_sha, precision, device, machine));
CREATE TABLE IF NOT EXISTS model_costs (
    method_sha TEXT PRIMARY KEY, label TEXT NOT NULL,
    params INTEGER NOT NULL,
    flops_256 REAL             -- FLOPs of one forward on a 256×256 LR input (NTIRE convention)
);
"""


class ResultsDbError(SrganDesktopError):
    """The results database cannot be opened, read or written; one line naming the file."""


def pixels_sha(rgb: np.ndarray) -> str:
    """SHA-256 of an image's decoded pixels and shape (not of its file's bytes)."""
    digest = hashlib.sha256("x".join(map(str, rgb.shape)).encode() + b"|" + str(rgb.dtype).encode())
    digest.update(np.ascontiguousarray(rgb).tobytes())
    return digest.hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class CellKey:
    """Everything a figure depends on, by content."""

    method_sha: str
    hr_sha: str
    lr_sha: str
    scale: int
    precision: str
    measure: str
    version: str


@dataclass(frozen=True)
class Cell:
    key: CellKey
    value: float | None
    reason: str | None
    seconds: float
    device: str
    machine: str

    @property
    def figure(self) -> float | str:
        """The value, or why there is none (what ``measure`` gives)."""
        return self.value if self.value is not None else (self.reason or "")


@dataclass(frozen=True)
class Entry:
    """A name for a content key: label × benchmark image × scale × precision."""

    label: str
    dataset: str
    image: str
    scale: int
    precision: str
    method_sha: str
    hr_sha: str
    lr_sha: str
    hr_path: str = ""


@dataclass(frozen=True)
class Runtime:
    method_sha: str
    lr_sha: str
    precision: str
    device: str
    machine: str
    warmup: int
    runs: int
    median_s: float
    min_s: float
    peak_bytes: int | None
    flops: float | None


@dataclass(frozen=True)
class ModelCost:
    method_sha: str
    label: str
    params: int
    flops_256: float | None


class ResultsDb:
    """One SQLite results database (WAL, busy timeout, schema version checked)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(str(self.path), timeout=BUSY_TIMEOUT_MS / 1000,
                                        isolation_level=None)
            self.conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self.conn.execute("PRAGMA journal_mode = WAL")
            self.conn.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL: safe against a killed process
            self.conn.executescript(_SCHEMA)  # idempotent; executescript commits, so not in a transaction
            with self.transaction():
                rows = self.conn.execute("SELECT version FROM schema").fetchall()
                if not rows:
                    self.conn.execute("INSERT INTO schema (version) VALUES (?)", (SCHEMA_VERSION,))
                elif rows[0][0] > SCHEMA_VERSION:
                    raise ResultsDbError(f"{self.path}: results database of schema version {rows[0][0]}, "
                                         f"this srgan-desktop reads up to {SCHEMA_VERSION} (update it)")
        except sqlite3.DatabaseError as exc:
            raise ResultsDbError(f"{self.path}: not a results database ({exc})") from exc

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "ResultsDb":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` … ``COMMIT`` (rolled back on any exception)."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            try:
                yield self.conn
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            self.conn.execute("COMMIT")
        except sqlite3.DatabaseError as exc:  # full disk, damaged file, a foreign schema
            raise ResultsDbError(f"{self.path}: could not write the results database ({exc})") from exc

    # --- cells --------------------------------------------------------------------------

    def stored(self, keys: Iterable[CellKey]) -> set[CellKey]:
        """The keys among ``keys`` that already have a cell."""
        found = set()
        for key in keys:
            row = self.conn.execute(
                "SELECT 1 FROM cells WHERE method_sha=? AND hr_sha=? AND lr_sha=? AND scale=? AND "
                "precision=? AND measure=? AND version=?", _key_tuple(key)).fetchone()
            if row is not None:
                found.add(key)
        return found

    def cells(self) -> list[Cell]:
        rows = self.conn.execute(
            "SELECT method_sha, hr_sha, lr_sha, scale, precision, measure, version, value, reason, "
            "seconds, device, machine FROM cells ORDER BY method_sha, hr_sha, measure").fetchall()
        return [Cell(CellKey(*r[:7]), r[7], r[8], r[9], r[10], r[11]) for r in rows]

    def write_image(self, entries: Sequence[Entry], cells: Sequence[Cell],
                    runtime: Runtime | None = None) -> None:
        """One finished image (its cells, its name(s), its runtime) in one transaction."""
        now = _now()
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO cells (method_sha, hr_sha, lr_sha, scale, precision, measure, "
                "version, value, reason, seconds, device, machine, created) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(*_key_tuple(c.key), c.value, c.reason, c.seconds, c.device, c.machine, now)
                 for c in cells])
            self._put_entries(conn, entries, now)
            if runtime is not None:
                conn.execute("INSERT OR REPLACE INTO runtimes (method_sha, lr_sha, precision, device, "
                             "machine, warmup, runs, median_s, min_s, peak_bytes, flops, created) "
                             "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                             (runtime.method_sha, runtime.lr_sha, runtime.precision, runtime.device,
                              runtime.machine, runtime.warmup, runtime.runs, runtime.median_s,
                              runtime.min_s, runtime.peak_bytes, runtime.flops, now))

    def put_entries(self, entries: Sequence[Entry]) -> None:
        """Names for images whose cells were all cached."""
        with self.transaction() as conn:
            self._put_entries(conn, entries, _now())

    @staticmethod
    def _put_entries(conn: sqlite3.Connection, entries: Sequence[Entry], now: str) -> None:
        conn.executemany("INSERT OR REPLACE INTO entries (label, dataset, image, scale, precision, "
                         "method_sha, hr_sha, lr_sha, updated, hr_path) VALUES (?,?,?,?,?,?,?,?,?,?)",
                         [(e.label, e.dataset, e.image, e.scale, e.precision, e.method_sha,
                           e.hr_sha, e.lr_sha, now, e.hr_path) for e in entries])

    def entries(self) -> list[Entry]:
        rows = self.conn.execute("SELECT label, dataset, image, scale, precision, method_sha, hr_sha, "
                                 "lr_sha, hr_path FROM entries ORDER BY rowid").fetchall()
        return [Entry(*r) for r in rows]

    # --- runtime ------------------------------------------------------------------------

    def has_runtime(self, method_sha: str, lr_sha: str, precision: str, device: str, machine: str) -> bool:
        return self.conn.execute(
            "SELECT 1 FROM runtimes WHERE method_sha=? AND lr_sha=? AND precision=? AND device=? "
            "AND machine=?", (method_sha, lr_sha, precision, device, machine)).fetchone() is not None

    def runtimes(self) -> list[Runtime]:
        rows = self.conn.execute("SELECT method_sha, lr_sha, precision, device, machine, warmup, runs, "
                                 "median_s, min_s, peak_bytes, flops FROM runtimes").fetchall()
        return [Runtime(*r) for r in rows]

    def put_model_cost(self, cost: ModelCost) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO model_costs (method_sha, label, params, flops_256) "
                         "VALUES (?,?,?,?)",
                         (cost.method_sha, cost.label, cost.params, cost.flops_256))

    def model_costs(self) -> dict[str, ModelCost]:
        rows = self.conn.execute("SELECT method_sha, label, params, flops_256 FROM model_costs").fetchall()
        return {r[0]: ModelCost(*r) for r in rows}


def _key_tuple(key: CellKey) -> tuple:
    return (key.method_sha, key.hr_sha, key.lr_sha, key.scale, key.precision, key.measure, key.version)


# --- the table of means ---------------------------------------------------------------------

def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """Student's t interval of the mean (None for fewer than two values or no spread)."""
    from scipy import stats

    if len(values) < 2 or not all(math.isfinite(v) for v in values):
        return None
    sem = stats.sem(values)
    if not math.isfinite(sem) or sem == 0:
        return (float(np.mean(values)),) * 2
    lo, hi = stats.t.interval(confidence, len(values) - 1, loc=float(np.mean(values)), scale=sem)
    return float(lo), float(hi)


@dataclass(frozen=True)
class SummaryRow:
    """One table cell: a method on a benchmark for one measure."""

    method: str
    dataset: str
    measure: str
    scale: int
    precision: str
    images: int         # images with this measure stored
    numbers: int        # of which with a number (the others have a reason)
    mean: float | None  # over the numbers (None when some image lacks one)
    lo: float | None    # 95 % t interval of the mean
    hi: float | None
    reason: str = ""    # why some image has no number (the first reason)

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _label_names(entries: Sequence[Entry]) -> dict[tuple[str, str], str]:
    """``(label, method_sha)`` → the row name: the label, plus the short SHA when one label
    names several weights files in the same database (a retrained model)."""
    shas: dict[str, set[str]] = {}
    for e in entries:
        if not e.method_sha.startswith(("bicubic", "hr")) and len(e.method_sha) == 64:
            shas.setdefault(e.label, set()).add(e.method_sha)
    return {(e.label, e.method_sha): (f"{e.label}@{e.method_sha[:8]}" if len(shas.get(e.label, ())) > 1
                                      else e.label) for e in entries}


@dataclass(frozen=True)
class ImageValue:
    """One stored figure under its names: a method on one image of a benchmark."""

    method: str
    dataset: str
    image: str
    measure: str
    scale: int
    precision: str
    value: float | None
    reason: str | None
    hr_path: str


def _named(db: ResultsDb, labels: Sequence[str] | None, datasets: Sequence[str] | None) -> list[Entry]:
    return [e for e in db.entries() if (labels is None or e.label in labels)
            and (datasets is None or e.dataset in datasets)]


def image_values(db: ResultsDb, labels: Sequence[str] | None = None,
                 datasets: Sequence[str] | None = None) -> list[ImageValue]:
    """Every figure of the named images (the newest version of each measure), in stored order."""
    entries = _named(db, labels, datasets)
    names = _label_names(entries)
    out = []
    for e in entries:
        rows = db.conn.execute(
            "SELECT measure, version, value, reason FROM cells WHERE method_sha=? AND hr_sha=? AND "
            "lr_sha=? AND scale=? AND precision=? ORDER BY created, rowid",
            (e.method_sha, e.hr_sha, e.lr_sha, e.scale, e.precision)).fetchall()
        newest: dict[str, tuple] = {}
        for measure, _version, value, reason in rows:
            newest[measure] = (value, reason)
        out += [ImageValue(names[(e.label, e.method_sha)], e.dataset, e.image, measure, e.scale,
                           e.precision, value, reason, e.hr_path)
                for measure, (value, reason) in newest.items()]
    return out


def summarise_values(values: Sequence[ImageValue]) -> list[SummaryRow]:
    """Means and 95 % intervals per (method, benchmark, measure, scale, precision)."""
    groups: dict[tuple, list[ImageValue]] = {}
    for v in values:
        groups.setdefault((v.method, v.dataset, v.measure, v.scale, v.precision), []).append(v)
    out = []
    for (method, dataset, measure, scale, precision), group in groups.items():
        numbers = [v.value for v in group if v.value is not None]
        reasons = [v.reason or "" for v in group if v.value is None]
        complete = len(numbers) == len(group)
        interval = t_interval(numbers) if complete else None
        out.append(SummaryRow(method, dataset, measure, scale, precision, len(group), len(numbers),
                              float(np.mean(numbers)) if complete and numbers else None,
                              interval[0] if interval else None, interval[1] if interval else None,
                              reasons[0] if reasons else ""))
    return out


def summary(db: ResultsDb, labels: Sequence[str] | None = None,
            datasets: Sequence[str] | None = None) -> list[SummaryRow]:
    """Means and 95 % intervals per (method, benchmark, measure), in the order first stored."""
    return summarise_values(image_values(db, labels, datasets))


@dataclass(frozen=True)
class RuntimeRow:
    """NTIRE-style cost of a method on a benchmark on one device."""

    method: str
    dataset: str
    precision: str
    device: str
    machine: str
    images: int
    median_s: float          # mean over images of the per-image median
    lo: float | None
    hi: float | None
    peak_bytes: int | None   # the largest per-image peak
    params: int | None
    flops_256: float | None
    flops_per_image: float | None  # mean over images

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def runtime_summary(db: ResultsDb, labels: Sequence[str] | None = None,
                    datasets: Sequence[str] | None = None) -> list[RuntimeRow]:
    entries = _named(db, labels, datasets)
    names = _label_names(entries)
    runtimes: dict[tuple[str, str, str], list[Runtime]] = {}
    for r in db.runtimes():
        runtimes.setdefault((r.method_sha, r.lr_sha, r.precision), []).append(r)
    costs = db.model_costs()
    groups: dict[tuple, list[Runtime]] = {}
    for e in entries:
        for r in runtimes.get((e.method_sha, e.lr_sha, e.precision), []):
            groups.setdefault((names[(e.label, e.method_sha)], e.dataset, e.precision, r.device,
                               r.machine, e.method_sha), []).append(r)
    out = []
    for (method, dataset, precision, device, machine, sha), rows in groups.items():
        medians = [r.median_s for r in rows]
        interval = t_interval(medians)
        peaks = [r.peak_bytes for r in rows if r.peak_bytes is not None]
        flops = [r.flops for r in rows if r.flops is not None]
        cost = costs.get(sha)
        out.append(RuntimeRow(method, dataset, precision, device, machine, len(rows),
                              float(np.mean(medians)), interval[0] if interval else None,
                              interval[1] if interval else None, max(peaks) if peaks else None,
                              cost.params if cost else None, cost.flops_256 if cost else None,
                              float(np.mean(flops)) if len(flops) == len(rows) else None))
    return out
