"""Study files that protect their data: schema v2 migration, the score CHECK with its type,
the ratings' hash chain, sittings, and damaged files that give one clear error."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess

import numpy as np
import pytest

from mos_util import PYTHON, build_study, subprocess_env
from srgan_desktop.__main__ import main
from srgan_desktop.mos.ratings_file import read_json
from srgan_desktop.mos.store import (MIGRATIONS, SCHEMA_VERSION, Display, StoreError, Study,
                                     StudyIntegrityError)


def rate(study: Study, raters=("r1", "r2", "r3"), upto: int | None = None, display=None) -> None:
    for k, rater in enumerate(raters):
        session = study.start_session(rater)
        sitting = study.begin_sitting(session.id, display)
        for trial in study.trials(session.id)[:upto]:
            study.record_rating(session.id, trial.position, 1 + (trial.position + k) % 5,
                                400 + trial.position, sitting_id=sitting)
        study.end_sitting(sitting)


@pytest.fixture
def rated(tmp_path):
    with build_study(tmp_path) as study:
        rate(study, display=Display(2560, 1440, 1.25, 1, "DELL U2720Q"))
        yield study


def test_the_store_refuses_non_integer_scores_in_its_check(rated):
    session = rated.start_session("r4")
    for bad in (3.5, float("nan"), "4", True, 0, 6):
        with pytest.raises(StoreError, match="whole number 1 to 5"):
            rated.record_rating(session.id, 0, bad, 100)
    raw = sqlite3.connect(rated.path)
    try:
        raw.execute("INSERT INTO sittings (session_id, started_at, ended_at, app_version)"
                    " VALUES (?, 'x', 'x', 't')", (session.id,))
        # past the app, straight into SQLite: the CHECK refuses what is not an integer 1–5 once
        # stored (INTEGER affinity turns '4' and 4.0 into the integer 4, which is fine)
        for bad in (3.5, "3.5", "four", 9, b"\x04"):
            with pytest.raises(sqlite3.IntegrityError, match="CHECK"):
                raw.execute("INSERT INTO ratings (session_id, position, score, response_ms, rated_at,"
                            " app_version, seq, chain) VALUES (?, 0, ?, 1, 'x', 't', 0, '')",
                            (session.id, bad))
    finally:
        raw.close()


def _v1_copy(study: Study, target) -> None:
    """The same study written with the v1 schema (as the previous release made it)."""
    target.mkdir()
    (target / "stimuli").symlink_to(study.folder / "stimuli")
    src = sqlite3.connect(study.path)
    dst = sqlite3.connect(target / "study.sqlite")
    for statement in MIGRATIONS[0]:
        dst.execute(statement)
    for table, cols in (("study", "id, name, seed, design_json, created_at, app_version"),
                        ("images", "*"), ("stimuli", "*"),
                        ("sessions", "id, rater, seed, started_at, updated_at, calibrated_at,"
                                     " completed_at, app_version"),
                        ("session_trials", "session_id, position, stimulus_id, replicate"),
                        ("ratings", "session_id, position, score, response_ms, rated_at, app_version")):
        rows = src.execute(f"SELECT {cols} FROM {table}").fetchall()
        if rows:
            dst.executemany(f"INSERT INTO {table} VALUES ({','.join('?' * len(rows[0]))})", rows)
    dst.execute("PRAGMA user_version = 1")
    dst.commit()
    dst.close()
    src.close()


def test_a_v1_study_is_migrated_with_its_ratings_and_a_valid_chain(rated, tmp_path):
    before = [(r.rater, r.image, r.condition, r.score, r.trial_index) for r in rated.rows()]
    _v1_copy(rated, tmp_path / "old")
    with Study.open(tmp_path / "old") as migrated:
        after = [(r.rater, r.image, r.condition, r.score, r.trial_index) for r in migrated.rows()]
        assert after == before and migrated.verify_chain() == []
        assert len(migrated.uid) == 32
        session = migrated.find_session("r1")
        # a new rating continues the migrated chain
        migrated.start_session("r9")
        new = migrated.find_session("r9")
        migrated.record_rating(new.id, 0, 4, 10)
        assert migrated.verify_chain() == [] and session.rated == len(migrated.trials(session.id))
    assert sqlite3.connect(tmp_path / "old" / "study.sqlite").execute(
        "PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION  # v1 → every migration → the current


def test_a_v2_study_gets_its_seal_computed_on_upgrade(rated):
    path, before = rated.path, rated.rows()
    rated.close()
    raw = sqlite3.connect(path)
    raw.execute("ALTER TABLE study DROP COLUMN seal")
    raw.execute("PRAGMA user_version = 2")
    raw.commit()
    raw.close()
    with Study.open(path) as upgraded:
        assert upgraded.verify_chain() == [] and upgraded.rows() == before
        assert sqlite3.connect(path).execute("SELECT length(seal) FROM study").fetchone()[0] == 64


_SWAP = ["UPDATE stimuli SET condition = '#' WHERE id = (SELECT MIN(id) FROM stimuli WHERE condition = 'bicubic')",
         "UPDATE stimuli SET condition = 'bicubic' WHERE condition = 'nearest' AND image ="
         " (SELECT image FROM stimuli WHERE condition = '#')",
         "UPDATE stimuli SET condition = 'nearest' WHERE condition = '#'"]
_DELETE_RATER = ["DELETE FROM ratings WHERE session_id = 2", "DELETE FROM sittings WHERE session_id = 2",
                 "DELETE FROM session_trials WHERE session_id = 2", "DELETE FROM sessions WHERE id = 2"]


@pytest.mark.parametrize("edits", [_SWAP, _DELETE_RATER], ids=["swap-conditions", "delete-rater"])
def test_design_and_rater_edits_outside_the_app_are_refused_everywhere(rated, edits, tmp_path, capsys):
    assert {"nearest", "bicubic"} <= set(rated.design.condition_keys)
    raw = sqlite3.connect(rated.path)
    before = raw.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]
    for statement in edits:
        raw.execute(statement)
    raw.commit()
    changed = raw.execute("SELECT COUNT(*) FROM ratings").fetchone()[0]
    raw.close()
    assert rated.verify_chain() and "seal no longer matches" in rated.verify_chain()[0]
    for command in (["check"], ["summary"], ["export", "--csv", str(tmp_path / "o.csv")]):
        assert main(["mos", command[0], str(rated.folder), *command[1:]]) == 2, command
        err = capsys.readouterr().err
        assert "changed outside the app" in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o.csv").exists()
    with pytest.raises(StudyIntegrityError, match="seal"):
        rated.rows()
    raw = sqlite3.connect(rated.path)  # nothing stored was changed by the refusals
    assert raw.execute("SELECT COUNT(*) FROM ratings").fetchone()[0] == changed <= before
    raw.close()


def test_a_v1_study_holding_a_fractional_score_is_refused_with_the_reason(rated, tmp_path):
    _v1_copy(rated, tmp_path / "old")
    raw = sqlite3.connect(tmp_path / "old" / "study.sqlite")
    raw.execute("UPDATE ratings SET score = 3.5 WHERE position = 2 AND session_id = 1")
    raw.commit()
    raw.close()
    with pytest.raises(StudyIntegrityError, match="not whole numbers 1–5"):
        Study.open(tmp_path / "old")
    with pytest.raises(StudyIntegrityError):  # nothing was half-migrated: still refused, still v1
        Study.open(tmp_path / "old")


@pytest.mark.parametrize("edit, message", [
    ("UPDATE ratings SET score = CASE score WHEN 5 THEN 4 ELSE score + 1 END"
     " WHERE session_id = 2 AND position = 3", "trial 4 was altered"),
    ("DELETE FROM ratings WHERE session_id = 2 AND position = 3", "deleted"),
    ("DELETE FROM ratings WHERE session_id = 2 AND seq = (SELECT MAX(seq) FROM ratings"
     " WHERE session_id = 2)", "deleted"),
    ("UPDATE ratings SET response_ms = 1 WHERE session_id = 1 AND position = 0", "altered"),
])
def test_the_hash_chain_finds_ratings_changed_outside_the_app(rated, edit, message, capsys):
    assert rated.verify_chain() == []
    raw = sqlite3.connect(rated.path)
    raw.execute(edit)
    raw.commit()
    raw.close()
    problems = rated.verify_chain()
    assert len(problems) == 1 and message in problems[0]
    assert main(["mos", "check", str(rated.folder)]) == 2
    err = capsys.readouterr().err
    assert "changed outside the app" in err and len(err.strip().splitlines()) == 1
    assert main(["mos", "summary", str(rated.folder)]) == 0
    assert "WARNING: ratings changed outside the app" in capsys.readouterr().out


def test_sittings_are_recorded_and_exported(rated, tmp_path):
    session = rated.find_session("r1")
    second = rated.begin_sitting(session.id, Display(1920, 1080, 2.0, 2))
    rated.end_sitting(second)
    sittings = rated.sittings()
    r1 = [s for s in sittings if s.rater == "r1"]
    assert [s.number for s in r1] == [1, 2] and r1[0].ratings == len(rated.trials(session.id))
    assert r1[0].display == Display(2560, 1440, 1.25, 1, "DELL U2720Q")
    assert r1[1].display.magnification == 2 and r1[0].started_at <= r1[0].ended_at
    rows = rated.rows()
    assert {r.sitting for r in rows} == {1}
    assert main(["mos", "export", str(rated.folder), "--json", str(tmp_path / "x.json"),
                 "--sittings", str(tmp_path / "s.csv"), "--per-image", str(tmp_path / "p.csv")]) == 0
    document = json.loads((tmp_path / "x.json").read_text())
    assert len(document["sittings"]) == 4 and document["sittings"][0]["device_pixel_ratio"] == 1.25
    assert document["analysis"]["summary"][0]["condition"] == "nearest"
    assert read_json(tmp_path / "x.json")[1] == rows
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[0].startswith("rater,sitting,station,started_at,ended_at") and len(lines) == 5
    assert (tmp_path / "p.csv").read_text().splitlines()[0] == "condition,n,mos,sd,ci_low,ci_high,raters,note,image"


def _damaged_copies(study: Study, tmp_path, count: int, seed: int = 3):
    study.close()
    original = study.path.read_bytes()
    rng = np.random.default_rng(seed)
    copies = []
    for k in range(count):
        folder = tmp_path / f"copy{k:02d}"
        folder.mkdir()
        (folder / "stimuli").symlink_to(study.folder / "stimuli")
        data = bytearray(original)
        if k % 10 == 9:  # a truncated copy from a station
            data = data[: int(rng.integers(100, len(data)))]
        else:
            for offset in rng.integers(0, len(data), int(rng.integers(1, 6))):
                data[offset] ^= int(rng.integers(1, 256))
        (folder / "study.sqlite").write_bytes(bytes(data))
        copies.append(folder)
    return copies


def test_damaged_study_files_give_one_clear_error_never_a_traceback(tmp_path, capsys):
    with build_study(tmp_path) as study:
        rate(study)
        study._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        copies = _damaged_copies(study, tmp_path, 60)
    outcomes = []
    for folder in copies:
        for command in (["summary"], ["check"], ["export", "--csv", str(tmp_path / "o.csv")]):
            code = main(["mos", *command[:1], str(folder), *command[1:]])  # must not raise
            err = capsys.readouterr().err
            assert code in (0, 2), (folder, command, err)
            if code == 2:
                assert err.startswith("srgan-desktop: error: ") and len(err.strip().splitlines()) == 1
            outcomes.append(code)
    assert outcomes.count(2) >= 10  # most flips land in data the checks see
    # and as real processes: no traceback on stderr
    for folder in copies[:1]:  # a child imports the CLI and torch (~6 s CPU)
        done = subprocess.run([PYTHON, "-m", "srgan_desktop", "mos", "summary", str(folder)],
                              capture_output=True, text=True, env=subprocess_env(), timeout=120)
        assert "Traceback" not in done.stderr and done.returncode in (0, 2), done.stderr


def test_non_utf8_text_and_a_deeply_nested_design_are_one_line_and_list_names_the_damaged(rated):
    root = rated.folder.parent
    rated._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    rated.close()
    edits = {"bad-utf8": "UPDATE study SET name = CAST(X'FFFE41' AS TEXT)",
             "nested": "UPDATE study SET design_json = '" + "[" * 200_000 + "]" * 200_000 + "'"}
    for name, edit in edits.items():
        shutil.copytree(rated.folder, root / name)
        raw = sqlite3.connect(root / name / "study.sqlite")
        raw.execute(edit)
        raw.commit()
        raw.close()
    for name in edits:
        for command in (["check"], ["summary"]):
            done = subprocess.run([PYTHON, "-m", "srgan_desktop", "mos", *command, str(root / name)],
                                  capture_output=True, text=True, env=subprocess_env(), timeout=120)
            assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
            assert len(done.stderr.strip().splitlines()) == 1 and "damaged" in done.stderr
    done = subprocess.run([PYTHON, "-m", "srgan_desktop", "mos", "list", "--root", str(root)],
                          capture_output=True, text=True, env=subprocess_env(), timeout=120)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 3
    assert any(line.startswith("pilot study: 3 rater(s)") for line in lines), lines
    assert any(line.startswith("bad-utf8: ERROR") for line in lines), lines
    assert any(line.startswith("nested: ERROR") for line in lines), lines
