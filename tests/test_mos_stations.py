"""Several rating stations: self-contained copies, ratings merged back once, checked on the way."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from mos_util import PYTHON, build_study, subprocess_env
from srgan_desktop.__main__ import main
from srgan_desktop.mos.store import Display, StoreError, Study, make_station


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, "-m", "srgan_desktop", "mos", *args], capture_output=True,
                          text=True, env=subprocess_env(), timeout=300)


def rate_on(folder, rater: str, count: int, score: int) -> None:
    with Study.open(folder) as station:
        session = station.start_session(rater)
        sitting = station.begin_sitting(session.id, Display(1920, 1080, 1.0, 1))
        for trial in station.trials(session.id)[:count]:
            station.record_rating(session.id, trial.position, score, 700, sitting_id=sitting)
        station.end_sitting(sitting)


def test_stations_merge_back_once_and_report_a_rater_on_two_stations(tmp_path, capsys):
    with build_study(tmp_path, calibration=0) as study:
        total = len(study.trials(study.start_session("main-rater").id))
        study.record_rating(study.find_session("main-rater").id, 0, 3, 500)
        folder, uid = study.folder, study.uid
    done = cli("station", str(folder), str(tmp_path / "pc-a"), "--name", "PC A")  # a real process
    assert done.returncode == 0, done.stderr
    with Study.open(folder) as study:
        make_station(study, tmp_path / "pc-b", "PC B")
    with Study.open(tmp_path / "pc-a") as a:
        assert (a.station, a.uid, a.rows()) == ("PC A", uid, [])
        assert sorted(p.name for p in (tmp_path / "pc-a" / "stimuli").iterdir()) == \
            sorted(p.name for p in (folder / "stimuli").iterdir())
    rate_on(tmp_path / "pc-a", "r1", total, 2)
    rate_on(tmp_path / "pc-a", "Rater-2", 4, 4)
    rate_on(tmp_path / "pc-b", "r3", total, 5)
    rate_on(tmp_path / "pc-b", "rater-2", 6, 1)   # the same person on the second PC

    done = cli("merge", str(folder), str(tmp_path / "pc-a"), str(tmp_path / "pc-b"))
    assert done.returncode == 0, done.stderr
    assert f"station 'PC A': {total + 4} rating(s) added, 0 already merged" in done.stdout
    assert "station 'PC B': " + f"{total + 2} rating(s) added, 0 already merged, 4 trial(s) rated again" \
        in done.stdout
    assert "rater 'Rater-2' rated on several stations: PC A, PC B" in done.stdout
    with Study.open(folder) as study:
        rows = study.rows()
        assert study.verify_chain() == []
        by_rater = {}
        for r in rows:
            by_rater.setdefault(r.rater, []).append(r)
        assert {k: len(v) for k, v in by_rater.items()} == {"main-rater": 1, "r1": total,
                                                            "Rater-2": 6, "r3": total}
        # the first station's scores were kept for the 4 trials rated twice; nothing twice
        assert [r.score for r in by_rater["Rater-2"]] == [4, 4, 4, 4, 1, 1]
        assert len({(r.rater, r.trial_index) for r in rows}) == len(rows)
        assert {r.station for r in by_rater["r3"]} == {"PC B"}
        assert {s.station for s in study.sittings()} == {"PC A", "PC B"}
        before = rows
    # merging again changes nothing
    assert main(["mos", "merge", str(folder), str(tmp_path / "pc-a"), str(tmp_path / "pc-b")]) == 0
    out = capsys.readouterr().out
    assert f"station 'PC A': 0 rating(s) added, {total + 4} already merged" in out
    with Study.open(folder) as study:
        assert study.rows() == before and len(study.sittings()) == 4
    assert main(["mos", "check", str(folder)]) == 0


def test_merge_refuses_foreign_damaged_or_altered_stations(tmp_path, capsys):
    with build_study(tmp_path / "one", calibration=0) as study:
        make_station(study, tmp_path / "ok", "ok")
        folder = study.folder
    with build_study(tmp_path / "two", calibration=0, seed=99) as other:
        make_station(other, tmp_path / "foreign", "foreign")
    rate_on(tmp_path / "ok", "r1", 5, 3)
    assert main(["mos", "merge", str(folder), str(tmp_path / "foreign")]) == 2
    assert "another design" in capsys.readouterr().err
    # a truncated copy from a station
    shutil.copytree(tmp_path / "ok", tmp_path / "cut", symlinks=True)
    db = tmp_path / "cut" / "study.sqlite"
    with Study.open(tmp_path / "ok") as ok:
        ok._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    for name in ("study.sqlite-wal", "study.sqlite-shm"):
        (tmp_path / "cut" / name).unlink(missing_ok=True)
    db.write_bytes((tmp_path / "ok" / "study.sqlite").read_bytes()[:20000])
    assert main(["mos", "merge", str(folder), str(tmp_path / "ok"), str(tmp_path / "cut")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("srgan-desktop: error: ") and len(err.strip().splitlines()) == 1
    with Study.open(folder) as study:
        assert study.rows() == []  # every station is checked before anything is merged
    # a rating altered on the station outside the app
    import sqlite3
    raw = sqlite3.connect(tmp_path / "ok" / "study.sqlite")
    raw.execute("UPDATE ratings SET score = 5 WHERE position = (SELECT MIN(position) FROM ratings)")
    raw.commit()
    raw.close()
    assert main(["mos", "merge", str(folder), str(tmp_path / "ok")]) == 2
    assert "not intact" in capsys.readouterr().err
    with pytest.raises(StoreError, match="already exists"):
        with Study.open(folder) as study:
            make_station(study, tmp_path / "ok", "again")


def test_a_station_with_a_rater_deleted_outside_the_app_is_refused_and_nothing_merged(tmp_path, capsys):
    import sqlite3

    with build_study(tmp_path, calibration=0) as study:
        folder = study.folder
        make_station(study, tmp_path / "pc-a", "PC A")
    rate_on(tmp_path / "pc-a", "r1", 3, 2)
    rate_on(tmp_path / "pc-a", "r2", 3, 4)
    raw = sqlite3.connect(tmp_path / "pc-a" / "study.sqlite")
    sid = raw.execute("SELECT id FROM sessions WHERE rater = 'r2'").fetchone()[0]
    for table, key in (("ratings", "session_id"), ("sittings", "session_id"),
                       ("session_trials", "session_id"), ("sessions", "id")):
        raw.execute(f"DELETE FROM {table} WHERE {key} = ?", (sid,))
    raw.commit()
    raw.close()
    assert main(["mos", "merge", str(folder), str(tmp_path / "pc-a")]) == 2
    err = capsys.readouterr().err
    assert "seal no longer matches" in err and len(err.strip().splitlines()) == 1
    with Study.open(folder) as study:
        assert study.rows() == [] and study.sessions() == []


def test_a_backup_copy_of_the_study_is_not_merged_as_a_station(tmp_path, capsys):
    """A copy of the main study (no station name) used to merge, adding a phantom sitting."""
    with build_study(tmp_path, calibration=0) as study:
        folder = study.folder
    rate_on(folder, "r1", 4, 3)
    shutil.copytree(folder, tmp_path / "backup")
    with Study.open(folder) as study:
        before = (study.rows(), study.sittings())
    assert main(["mos", "merge", str(folder), str(tmp_path / "backup")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "is a copy of a study, not a station made with 'mos station'" in err[0]
    assert str(tmp_path / "backup") in err[0]
    with Study.open(folder) as study:
        assert (study.rows(), study.sittings()) == before
