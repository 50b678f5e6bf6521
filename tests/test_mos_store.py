"""MOS studies on disk: stimuli from the real engine, SQLite integrity, crashes, concurrency."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import textwrap
import time
from collections import Counter

import numpy as np
import pytest

from mos_util import IMAGE_NAMES, PYTHON, build_study, subprocess_env, write_hr_images
from srgan_desktop.core.engine import BicubicMethod, NetworkMethod, Upscaler
from srgan_desktop.core.images import load_image
from srgan_desktop.core.resize import downscale
from srgan_desktop.core.weights import load_model
from srgan_desktop.mos.design import make_design, parse_condition, rater_seed
from srgan_desktop.mos.stimuli import StimulusError, find_sources, sha256_file
from srgan_desktop.mos.store import (SCHEMA_VERSION, StoreError, Study, StudyIntegrityError,
                                     TrialAlreadyRated, create_study, list_studies, open_study)


@pytest.fixture
def study(tmp_path, tiny_model_file):
    with build_study(tmp_path, tiny_model_file, replicates=2) as opened:
        yield opened


def test_stimuli_are_rendered_by_the_engine_and_hashed(study, tmp_path, tiny_model_file):
    design = study.design
    assert design.condition_keys == ["nearest", "bicubic", "reference", "tinynet"]
    assert len(study.stimuli) == len(IMAGE_NAMES) * 4
    files = sorted(p.name for p in (study.folder / "stimuli").iterdir())
    assert len(files) == len(study.stimuli)
    for stim in study.stimuli.values():
        path = study.stimulus_path(stim.id)
        assert stim.sha256 == sha256_file(path)
        # the file name tells nothing about the image or the method
        assert stim.image not in path.name and stim.condition not in path.name
        assert path.stem == stim.id and len(stim.id) == 16

    hr = load_image(tmp_path / "hr" / "lighthouse.png").rgb[:32, :40]  # 34×41 cropped to ×4
    lr = downscale(hr, 4)
    expected = {
        "reference": hr,
        "nearest": np.repeat(np.repeat(lr, 4, axis=0), 4, axis=1),
        "bicubic": Upscaler(BicubicMethod(4)).upscale(lr).rgb,
        "tinynet": Upscaler(NetworkMethod(*load_model(tiny_model_file)), device="cpu").upscale(lr).rgb,
    }
    for cond, pixels in expected.items():
        shown = load_image(study.stimulus_path(study.stimulus_for("lighthouse", cond).id)).rgb
        np.testing.assert_array_equal(shown, pixels, err_msg=cond)
    assert {im.id for im in study.images} == set(IMAGE_NAMES)
    assert all(im.sha256 == sha256_file(tmp_path / "hr" / f"{im.id}.png") for im in study.images)


def test_tampered_or_missing_stimulus_is_detected_on_open(study):
    folder, stim = study.folder, next(iter(study.stimuli.values()))
    study.close()
    path = folder / stim.file
    original = path.read_bytes()
    data = bytearray(original)
    data[-20] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(StudyIntegrityError, match="changed after the study was made"):
        Study.open(folder)
    Study.open(folder, verify=False).close()  # listing without hashing still works
    path.unlink()
    with pytest.raises(StudyIntegrityError, match="is missing"):
        open_study(folder)
    path.write_bytes(original)
    open_study(folder).close()


def test_damaged_database_and_newer_schema_are_refused(study):
    db = study.path
    study.close()
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match="newer srgan-desktop"):
        Study.open(db)
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    Study.open(db).close()

    with sqlite3.connect(db) as conn:
        page = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'stimuli'").fetchone()[0]
    data = bytearray(db.read_bytes())
    start = (root - 1) * page
    data[start + 3:start + 5] = b"\xff\xff"  # the b-tree page now claims 65535 cells
    db.write_bytes(bytes(data))
    with pytest.raises(StudyIntegrityError, match="damaged"):
        Study.open(db)
    db.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StudyIntegrityError, match="not a study database"):
        Study.open(db)



def test_foreign_sqlite_file_is_refused_untouched(tmp_path):
    other = tmp_path / "notes.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
        conn.execute("INSERT INTO notes VALUES ('keep me')")
    conn.close()
    before = other.read_bytes()
    with pytest.raises(StoreError, match="not an srgan-desktop study"):
        Study.open(other)
    assert other.read_bytes() == before  # not switched to WAL (that rewrites the header)
    assert not other.with_name("notes.sqlite-wal").exists()

def test_sessions_resume_and_refuse_double_ratings(study):
    session = study.start_session("  Anna ")
    assert session.rater == "Anna" and session.total == len(IMAGE_NAMES) * 4 * 2
    trials = study.trials(session.id)
    assert Counter((t.image, t.condition, t.replicate) for t in trials) == Counter(
        {(i, c, r): 1 for i in IMAGE_NAMES for c in study.design.condition_keys for r in (0, 1)})
    for trial in trials[:5]:
        study.record_rating(session.id, trial.position, 3, 1200)
    with pytest.raises(TrialAlreadyRated):
        study.record_rating(session.id, trials[2].position, 5, 10)
    for bad in (0, 6, 2.5, True):
        with pytest.raises(StoreError):
            study.record_rating(session.id, trials[6].position, bad, 10)
    with pytest.raises(StoreError):
        study.record_rating(session.id, 10_000, 3, 10)

    again = study.start_session("anna")  # case-insensitive: the same session, same order
    assert again.id == session.id and again.rated == 5 and again.seed == session.seed
    assert study.next_trial(session.id).position == 5
    assert study.start_session("Bob").seed != session.seed
    assert [t.position for t in study.trials(study.find_session("bob").id)] == list(range(session.total))
    assert study.find_session("nobody") is None
    # Unicode case folding, as the rater seed: one session for Straße/STRASSE and Ärztin/ÄRZTIN
    for first, second in (("Straße", "STRASSE"), ("Ärztin", "ÄRZTIN")):
        one = study.start_session(first)
        assert study.start_session(second).id == one.id and study.find_session(second).id == one.id
        assert one.seed == rater_seed(study.design.seed, second)
    assert len(study.rows()) == 5 and {r.score for r in study.rows()} == {3}
    study.mark_calibrated(session.id)
    assert study.session(session.id).calibrated_at is not None


def test_a_full_disk_while_rating_is_a_store_error_and_the_study_stays_usable(study):
    sessions = [study.start_session(f"rater {n}") for n in range(12)]
    pages = study._conn.execute("PRAGMA page_count").fetchone()[0]
    study._conn.execute(f"PRAGMA max_page_count = {pages}")  # no new page: SQLITE_FULL, as on a full disk
    saved, failed = 0, None
    for session in sessions:
        for trial in study.trials(session.id):
            try:
                study.record_rating(session.id, trial.position, 2, 500)
            except StoreError as exc:  # not sqlite3.OperationalError("cannot rollback ...")
                assert "full" in str(exc) and not isinstance(exc, TrialAlreadyRated)
                failed = (session.id, trial.position)
                break
            saved += 1
        if failed:
            break
    assert failed is not None, "the page limit never hit"
    assert not study._conn.in_transaction
    assert len(study.rows()) == saved  # everything before the failure is kept
    study._conn.execute("PRAGMA max_page_count = 1073741823")  # space again: the same trial saves
    study.record_rating(*failed, 5, 700)
    assert len(study.rows()) == saved + 1


def test_a_failed_commit_releases_the_write_lock(study, tmp_path):
    session = study.start_session("Eve")
    trials = study.trials(session.id)

    class FailingCommit:
        def __init__(self, conn):
            self.conn = conn

        def execute(self, sql, *args):
            if sql == "COMMIT":
                raise sqlite3.OperationalError("disk I/O error")
            return self.conn.execute(sql, *args)

        def __getattr__(self, name):
            return getattr(self.conn, name)

    real = study._conn
    study._conn = FailingCommit(real)
    with pytest.raises(StoreError, match="disk I/O error"):
        study.record_rating(session.id, trials[0].position, 3, 100)
    study._conn = real
    assert not real.in_transaction  # else every other rater's process waits on our lock
    with Study.open(study.path, verify=False) as other:
        other.record_rating(session.id, trials[1].position, 1, 100)
    study.record_rating(session.id, trials[0].position, 3, 100)
    assert study.session(session.id).rated == 2


def test_failed_opens_close_their_connection(study, monkeypatch):
    import srgan_desktop.mos.study as store_module

    opened = []
    real_connect = store_module._connect

    def recording_connect(path, **kwargs):
        opened.append(real_connect(path, **kwargs))
        return opened[-1]

    monkeypatch.setattr(store_module, "_connect", recording_connect)
    folder, stim = study.folder, next(iter(study.stimuli.values()))
    study.close()
    (folder / stim.file).unlink()
    with pytest.raises(StudyIntegrityError, match="is missing"):
        Study.open(folder)
    with pytest.raises(sqlite3.ProgrammingError):  # closed, not left open by the failed verify
        opened[-1].execute("SELECT 1")

    created = []
    real_sqlite_connect = sqlite3.connect
    monkeypatch.setattr(store_module.sqlite3, "connect",
                        lambda *a, **k: created.append(real_sqlite_connect(*a, **k)) or created[-1])
    junk = folder.parent / "junk.sqlite"
    junk.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(StudyIntegrityError, match="not a study database"):
        Study.open(junk)
    with pytest.raises(sqlite3.ProgrammingError):
        created[-1].execute("SELECT 1")


RATER_SCRIPT = textwrap.dedent("""
    import sys, time
    from srgan_desktop.mos.store import Study, TrialAlreadyRated
    db, rater, pause = sys.argv[1], sys.argv[2], float(sys.argv[3])
    if len(sys.argv) > 4:  # wait for the start signal so that writers really overlap
        import pathlib
        while not pathlib.Path(sys.argv[4]).exists():
            time.sleep(0.005)
    study = Study.open(db, verify=False)
    session = study.start_session(rater)
    taken = 0
    for trial in study.trials(session.id):
        if trial.score is not None:
            continue
        try:
            study.record_rating(session.id, trial.position, 1 + trial.position % 5, 100 + trial.position)
        except TrialAlreadyRated:
            continue
        taken += 1
        print(trial.position, flush=True)
        time.sleep(pause)
    print("done", taken, flush=True)
""")


def test_sigkill_mid_session_loses_nothing_and_resumes(study, tmp_path):
    script = tmp_path / "rater.py"
    script.write_text(RATER_SCRIPT)
    db = str(study.path)
    proc = subprocess.Popen([PYTHON, str(script), db, "crash", "0.01"], stdout=subprocess.PIPE,
                            text=True, env=subprocess_env())
    committed = []
    try:
        while len(committed) < 7:
            line = proc.stdout.readline()
            assert line and line.strip() != "done", "the rater finished before it was killed"
            committed.append(int(line))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL

    with Study.open(db) as reopened:  # integrity check passes after the kill
        session = reopened.find_session("crash")
        trials = reopened.trials(session.id)
        rated = [t.position for t in trials if t.score is not None]
        assert set(committed) <= set(rated), "a committed rating was lost"
        assert rated == list(range(len(rated))), "ratings must be a prefix of the order"
        assert len(rated) in (len(committed), len(committed) + 1)
        assert all(t.score == 1 + t.position % 5 for t in trials if t.score is not None)
        resume_at = reopened.next_trial(session.id).position
        assert resume_at == len(rated)

    # resume in a new process: it starts exactly at the next unrated trial
    out = subprocess.run([PYTHON, str(script), db, "crash", "0"], capture_output=True, text=True,
                         env=subprocess_env(), timeout=60, check=True).stdout.split("\n")
    assert int(out[0]) == resume_at
    with Study.open(db) as reopened:
        session = reopened.find_session("crash")
        assert session.complete and session.completed_at is not None
        assert len(reopened.rows()) == session.total


def test_two_processes_writing_one_study_do_not_corrupt_it(study, tmp_path):
    script = tmp_path / "rater.py"
    script.write_text(RATER_SCRIPT)
    go = tmp_path / "go"
    db = str(study.path)
    total = len(study.trials(study.start_session("warmup").id))
    procs = [subprocess.Popen([PYTHON, str(script), db, rater, "0", str(go)],
                              stdout=subprocess.PIPE, text=True, env=subprocess_env())
             for rater in ("shared", "shared", "solo-a", "solo-b")]
    time.sleep(0.3)
    go.touch()
    outputs = [p.communicate(timeout=90)[0].split("\n") for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0]
    taken = [int(next(line for line in out if line.startswith("done")).split()[1]) for out in outputs]
    assert taken[0] + taken[1] == total, "the shared session got each trial exactly once"
    assert taken[2] == taken[3] == total

    with Study.open(db) as reopened:
        per_rater = Counter(r.rater for r in reopened.rows())
        assert per_rater == {"shared": total, "solo-a": total, "solo-b": total}
        keys = [(r.session, r.trial_index) for r in reopened.rows()]
        assert len(keys) == len(set(keys))
        assert all(s.complete for s in reopened.sessions() if s.rater != "warmup")


def test_creation_failure_leaves_nothing_and_listing(tmp_path, monkeypatch):
    sources = find_sources(write_hr_images(tmp_path / "hr"))
    root = tmp_path / "studies"
    broken = make_design("broken", list(sources),
                         [parse_condition("bicubic"), parse_condition(str(tmp_path / "nope.safetensors"))])
    with pytest.raises(StimulusError, match="nope.safetensors"):
        create_study(broken, sources, root / "broken")
    assert not (root / "broken").exists() and list(root.iterdir()) == []

    good = make_design("Good one", list(sources), [parse_condition("nn"), parse_condition("hr")],
                       calibration=0, seed=1)
    create_study(good, sources, root / "good").close()
    with pytest.raises(StoreError, match="already exists"):
        create_study(good, sources, root / "good")
    (root / "junk").mkdir()
    (root / "junk" / "study.sqlite").write_text("garbage")
    infos = {i.name: i for i in list_studies(root)}
    assert infos["Good one"].trials_per_rater == len(IMAGE_NAMES) * 2 and not infos["Good one"].error
    assert "not a study database" in infos["junk"].error
    assert json.loads(json.dumps(good.to_dict()))["seed"] == 1
