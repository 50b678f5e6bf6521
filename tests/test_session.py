"""The comparison session's rules (compare/session.py), without Qt, with a synchronous fake Jobs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from srgan_desktop.compare import BICUBIC_KEY, INPUT_KEY, ComparisonModel, Status
from srgan_desktop.compare.session import ComparisonSession, Kind, SessionSettings
from srgan_desktop.core.images import save_image


class FakeJobs:
    """Runs each job at once, or keeps it until :meth:`finish` when ``hold`` is set."""

    def __init__(self) -> None:
        self.hold = False
        self.held: list[tuple] = []
        self.batches: list[list] = []
        self.cancels = 0
        self.forgotten = 0

    def submit(self, fn, done, failed) -> None:  # noqa: ANN001
        if self.hold:
            self.held.append((fn, done, failed))
        else:
            self._do(fn, done, failed)

    @staticmethod
    def _do(fn, done, failed) -> None:  # noqa: ANN001
        try:
            value = fn()
        except Exception as exc:  # noqa: BLE001 — as the worker: the message goes to failed
            failed(str(exc))
            return
        done(value)

    def finish(self, index: int = 0) -> None:
        self._do(*self.held.pop(index))

    def run(self, batch) -> None:  # noqa: ANN001
        self.batches.append(list(batch))

    def cancel(self) -> None:
        self.cancels += 1

    def forget_models(self) -> None:
        self.forgotten += 1


def _png(folder: Path, name: str, h: int, w: int, seed: int = 0) -> Path:
    rgb = np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)
    return save_image(folder / name, rgb)


@pytest.fixture
def session() -> ComparisonSession:
    s = ComparisonSession(ComparisonModel(None), FakeJobs(), SessionSettings())
    s.seen = []  # type: ignore[attr-defined]
    for name in ("preparing", "error", "committed", "failed", "message", "folders", "device", "added"):
        s.events.connect(name, lambda *args, name=name: s.seen.append((name, *args)))
    return s


def _errors(s: ComparisonSession) -> list[tuple]:
    """(event, title, message) of each error and each failed change (its kind's title)."""
    return [(e[0], e[1].kind.value, e[2]) if e[0] == "failed" else e for e in s.seen if e[0] in ("error", "failed")]


def test_open_commits_image_and_settings(session, tmp_path):
    path = _png(tmp_path, "a.png", 12, 16)
    session.open(path, "simulate", 2)
    assert session.model.has_image and session.model.lr.shape == (6, 8, 3)
    assert (session.settings.mode, session.settings.scale) == ("simulate", 2)
    assert [e[1].path for e in session.seen if e[0] == "committed"] == [path]
    assert session.seen[-1][0] != "error" and not session.preparing


def test_failed_scale_change_keeps_scale_and_mode_and_names_the_scale(session, tmp_path):
    session.open(_png(tmp_path, "small.png", 6, 6), "upscale", 4)
    session.set_mode("simulate")
    assert (session.model.mode, session.model.scale) == ("simulate", 4)
    session.set_scale(8)  # a 6×6 ground truth cannot be simulated at ×8
    assert (session.model.mode, session.model.scale) == ("simulate", 4)
    assert (session.settings.mode, session.settings.scale) == ("simulate", 4)
    assert _errors(session) and _errors(session)[-1][1] == Kind.SCALE.value
    assert not session.preparing


def test_failed_mode_change_keeps_settings_and_names_the_mode(session, tmp_path):
    session.open(_png(tmp_path, "small.png", 6, 6), "upscale", 8)
    session.set_mode("simulate")
    assert (session.settings.mode, session.settings.scale) == ("upscale", 8)
    assert _errors(session)[-1][1] == Kind.MODE.value


def test_failed_open_is_titled_open_and_changes_nothing(session, tmp_path):
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"not a png")
    session.open(bad)
    assert not session.model.has_image
    assert _errors(session)[-1][1] == Kind.OPEN.value


def test_mode_chosen_while_opening_reopens_the_file_and_the_late_result_is_dropped(session, tmp_path):
    jobs = session.jobs
    jobs.hold = True
    path = _png(tmp_path, "a.png", 16, 16)
    session.open(path, "upscale", 4)
    session.set_mode("simulate")  # still opening: the file is opened again in simulate mode
    assert session.pending.kind is Kind.OPEN and session.pending.mode == "simulate"
    jobs.finish(0)  # the superseded upscale open
    assert not session.model.has_image and session.preparing
    jobs.finish(0)
    assert session.model.mode == "simulate" and session.model.lr.shape == (4, 4, 3)
    assert session.settings.mode == "simulate"


def test_auto_run_queues_the_runnable_methods_after_commit(session, tmp_path):
    session.set_auto_run(True)
    session.open(_png(tmp_path, "a.png", 8, 8))
    queued = [r.key for batch in session.jobs.batches for r in batch]
    assert BICUBIC_KEY in queued
    assert session.model.state(BICUBIC_KEY).status is Status.QUEUED


def test_without_auto_run_nothing_runs_on_open(session, tmp_path):
    session.open(_png(tmp_path, "a.png", 8, 8))
    assert session.jobs.batches == []


def test_cached_result_appears_on_reopen(session, tmp_path):
    from srgan_desktop.compare import MethodOutput

    path = _png(tmp_path, "a.png", 8, 8)
    session.open(path)
    (request,) = session.run([BICUBIC_KEY])
    rgb = np.zeros((32, 32, 3), np.uint8)
    session.model.on_finished(request, MethodOutput(rgb, None, 0.0, "cpu"))
    session.model.on_batch_over([request])
    session.jobs.batches.clear()
    session.open(path)
    cached = [r for batch in session.jobs.batches for r in batch]
    assert [r.key for r in cached] == [BICUBIC_KEY] and cached[0].known is not None


def test_ticket_goes_stale_when_the_image_changes(session, tmp_path):
    session.open(_png(tmp_path, "a.png", 8, 8, seed=1))
    ticket = session.ticket()
    assert session.current(ticket)
    session.open(_png(tmp_path, "b.png", 8, 8, seed=2))
    assert not session.current(ticket)
    lane = session.ticket("difference"), session.ticket("difference")
    assert not session.current(lane[0]) and session.current(lane[1])


def test_result_file_for_an_image_no_longer_open_is_dropped(session, tmp_path):
    session.open(_png(tmp_path, "a.png", 8, 8, seed=1))
    session.jobs.hold = True
    session.add_result_file(_png(tmp_path, "a_x4.png", 32, 32))
    session.open(_png(tmp_path, "b.png", 8, 8, seed=2))
    session.jobs.finish(-1)  # the open of b
    session.jobs.finish(0)   # the result made for a
    assert not [e for e in session.seen if e[0] == "added"]


def test_result_file_of_the_wrong_size_is_an_error(session, tmp_path):
    session.open(_png(tmp_path, "a.png", 8, 8))
    session.add_result_file(_png(tmp_path, "wrong.png", 20, 20))
    assert _errors(session)[-1][1] == "Cannot add the result"


def test_results_folder_is_announced_and_serves_every_image_opened_later(session, tmp_path):
    folder = tmp_path / "esrgan"
    folder.mkdir()
    _png(folder, "a.png", 32, 32)
    _png(folder, "b.png", 32, 32)
    session.open(_png(tmp_path, "a.png", 8, 8, seed=1))
    assert session.add_results_folder(folder)
    assert ("folders",) in session.seen and len(session.model.result_folders) == 1
    session.open(_png(tmp_path, "b.png", 8, 8, seed=2))
    added = [e[1] for e in session.seen if e[0] == "added"]
    assert len(added) == 2 and added[1].known.rgb.shape == (32, 32, 3)
    assert [m.title for m in session.model.methods() if m.key in session.model.results] == ["esrgan"]


def test_remeasure_updates_scores_only_for_the_reference_measured(session, tmp_path):
    from srgan_desktop.compare import MethodOutput, Scores

    session.open(_png(tmp_path, "a.png", 8, 8), "simulate", 2)
    (request,) = session.run([BICUBIC_KEY])
    session.model.on_finished(request, MethodOutput(session.model.reference.copy(), None, 0.0, "cpu"))
    session.model.set_scores(request, Scores(psnr=1.0))
    session.jobs.hold = True
    assert session.remeasure(lambda rgb, ref, border: 0.25)
    session.jobs.finish()
    assert session.model.scores(BICUBIC_KEY).value("lpips") == 0.25
    assert session.remeasure(lambda rgb, ref, border: 0.5)  # held: made for the reference of a
    session.open(_png(tmp_path, "b.png", 8, 8, seed=3), "simulate", 2)
    session.jobs.finish(1)
    (request,) = session.run([BICUBIC_KEY])
    session.model.on_finished(request, MethodOutput(session.model.reference.copy(), None, 0.0, "cpu"))
    session.jobs.finish(0)
    assert session.model.scores(BICUBIC_KEY) is None or session.model.scores(BICUBIC_KEY).value("lpips") is None


def test_models_changed_stops_forgets_and_relists(session, tmp_path):
    session.open(_png(tmp_path, "a.png", 8, 8))
    (request,) = session.run([BICUBIC_KEY])
    session.models_changed()
    assert session.jobs.forgotten == 1 and session.jobs.cancels == 1 and request.cancelled


def test_device_is_committed_only_when_available(tmp_path):
    s = ComparisonSession(ComparisonModel(None), FakeJobs(), SessionSettings(),
                          resolve_device=lambda n: "cpu", device_available=lambda n: n != "cuda")
    seen = []
    s.events.connect("device", lambda *a: seen.append(a))
    assert not s.set_device("cuda") and s.settings.device == "auto"
    assert s.set_device("cpu") and seen == [("cpu", "cpu")]


def test_run_without_image_says_so(session):
    assert session.run([BICUBIC_KEY]) == []
    assert session.seen[-1][0] == "message"


def _finish(session: ComparisonSession, request, seconds: float = 1.0) -> None:  # noqa: ANN001
    from srgan_desktop.compare import MethodOutput

    rgb = np.zeros((32, 32, 3), np.uint8)
    session.model.on_finished(request, MethodOutput(rgb, None, seconds, "cpu"))
    session.model.on_batch_over([request])


def test_after_clear_cache_run_all_runs_again(session, tmp_path):
    """Issue 21, defect 4: Clear result cache, then Run all: it runs, the old result and time are gone."""
    session.open(_png(tmp_path, "a.png", 8, 8))
    (request,) = session.run([BICUBIC_KEY])
    _finish(session, request, 1.5)
    assert session.run([BICUBIC_KEY]) == []  # done: nothing to run
    session.clear_cache()
    assert BICUBIC_KEY not in session.model.results and session.model.state(BICUBIC_KEY).status is Status.NOT_RUN
    assert any(e[0] == "message" and "cleared" in e[1] for e in session.seen)
    again = session.run([BICUBIC_KEY])
    assert [r.key for r in again] == [BICUBIC_KEY] and again[0].known is None  # a real run, not the cache
    session.open(tmp_path / "a.png")  # and re-opening the image finds nothing cached
    assert BICUBIC_KEY not in session.model.results


def test_run_again_remakes_one_method_on_the_open_image(session, tmp_path):
    session.open(_png(tmp_path, "a.png", 8, 8))
    (request,) = session.run([BICUBIC_KEY])
    _finish(session, request)
    (again,) = session.run_again([BICUBIC_KEY])
    assert again.known is None and session.model.state(BICUBIC_KEY).status is Status.QUEUED


def test_a_run_above_the_output_limit_asks_first_and_says_the_memory(tmp_path):
    """Issue 21, defect 15: Upscale with auto-run of a large image asks before making the results."""
    asked: list[str] = []
    answer = [False]
    s = ComparisonSession(ComparisonModel(None), FakeJobs(), SessionSettings(auto_run=True, max_output_mp=1),
                          confirm=lambda _title, text: asked.append(text) or answer[0])
    s.open(_png(tmp_path, "big.png", 300, 300))  # ×4: 1200×1200 = 1.44 MP per result
    assert len(asked) == 1 and "1200×1200" in asked[0] and "MiB" in asked[0] and "limit of 1 MP" in asked[0]
    assert s.jobs.batches == [] and s.model.state(BICUBIC_KEY).status is Status.NOT_RUN  # refused: nothing runs
    answer[0] = True
    (request,) = s.run([BICUBIC_KEY])
    _finish(s, request)
    s.settings.max_output_mp = 2  # the limit is a setting: above it nobody is asked
    s.model.forget([BICUBIC_KEY])
    assert s.run([BICUBIC_KEY]) and len(asked) == 2


def test_output_estimate_uses_the_engines_bytes_per_pixel():
    from srgan_desktop.compare import prepare
    from srgan_desktop.compare.views import output_estimate
    from srgan_desktop.core.engine import STAGED_BYTES_PER_LR_PIXEL
    from srgan_desktop.core.images import LoadedImage

    model = ComparisonModel(None)
    model.apply(prepare(LoadedImage(np.zeros((40, 60, 3), np.uint8), None, None), "upscale", 4))
    estimate = output_estimate(model, [BICUBIC_KEY])
    assert (estimate.width, estimate.height, estimate.count) == (240, 160, 1)
    assert estimate.kept_bytes == 240 * 160 * 7 and estimate.peak_bytes == 240 * 160 * 12  # bicubic: float output
    assert "network" not in estimate.question(1) and "(0.038 MP)" in estimate.question(1)
    net = _models_session().model  # a network's peak: its LR pixels × the engine's measured bytes
    net.apply(prepare(LoadedImage(np.zeros((40, 60, 3), np.uint8), None, None), "upscale", 4))
    estimate = output_estimate(net, [BICUBIC_KEY, "net_x4"])
    assert (estimate.count, estimate.networks) == (2, 1) and estimate.peak_bytes == 40 * 60 * STAGED_BYTES_PER_LR_PIXEL
    assert "a network needs about" in estimate.question(1)


# ---------------------------------------------------------------- moved out of the window (issue 20)
class _Source:
    """A ModelSource stand-in listing fixed models (no weights are read)."""

    def __init__(self, methods) -> None:  # noqa: ANN001
        self.methods = lambda: list(methods)


def _models_session(*, settings: SessionSettings | None = None, available=lambda n: True) -> ComparisonSession:  # noqa: ANN001
    from srgan_desktop.compare import MethodInfo

    source = _Source([MethodInfo("net_x4", "Net ×4", scale=4), MethodInfo("net_x2", "Net ×2", scale=2),
                      MethodInfo("broken", "Broken", scale=4, available=False, reason="broken.pth: bad header")])
    model = ComparisonModel(source)  # type: ignore[arg-type]
    model.refresh_methods()
    s = ComparisonSession(model, FakeJobs(), settings or SessionSettings(), device_available=available)
    s.seen = []  # type: ignore[attr-defined]
    for name in ("error", "message", "finished", "idle", "device"):
        s.events.connect(name, lambda *args, name=name: s.seen.append((name, *args)))
    return s


@pytest.mark.parametrize("saved, expected", [
    (dict(device="cuda", mode="simulate", scale=2), ("auto", "simulate", 2)),   # cuda not available here
    (dict(device="tpu", mode="sideways", scale=5), ("auto", "upscale", 4)),     # unknown: the model's own
    (dict(device="cpu", mode="upscale", scale=8), ("cpu", "upscale", 8)),       # bicubic runs at ×8
])
def test_restore_uses_only_saved_values_that_are_valid_here(saved, expected):
    s = _models_session(settings=SessionSettings(**saved), available=lambda n: n != "cuda")
    s.restore()
    assert (s.settings.device, s.model.mode, s.model.scale) == expected
    assert [e[1] for e in s.seen if e[0] == "device"] == [expected[0]]


def test_worker_reports_keep_a_wanted_result_tell_its_time_and_drop_a_stale_one(session, tmp_path):
    from srgan_desktop.compare import MethodOutput

    session.seen.clear()
    session.events.connect("finished", lambda key: session.seen.append(("finished", key)))
    session.events.connect("idle", lambda: session.seen.append(("idle",)))
    session.open(_png(tmp_path, "a.png", 8, 8, seed=1))
    (request,) = session.run([BICUBIC_KEY])
    output = MethodOutput(np.zeros((32, 32, 3), np.uint8), None, 1.25, 0.5, "cpu")
    assert session.on_finished(request, output)
    assert ("message", "Bicubic: 1.25 s on cpu (+ 0.50 s loading the model)", 8) in session.seen
    assert session.seen[-1] == ("finished", BICUBIC_KEY) and session.model.results[BICUBIC_KEY] is output
    session.on_batch_over([request])
    assert session.seen[-1] == ("idle",) and not session.model.busy
    (late,) = session.run_again([BICUBIC_KEY])
    session.open(_png(tmp_path, "b.png", 8, 8, seed=2))  # another image: the late result is not its
    count = len(session.seen)
    assert not session.on_finished(late, output)
    assert BICUBIC_KEY not in session.model.results and not [e for e in session.seen[count:] if e[0] == "finished"]


def test_a_failure_is_reported_once_unless_the_run_was_cancelled(session, tmp_path):
    session.open(_png(tmp_path, "a.png", 8, 8))
    (request,) = session.run([BICUBIC_KEY])
    session.on_failed(request, "out of memory")
    assert _errors(session)[-1] == ("error", "Bicubic failed", "out of memory")
    assert session.model.state(BICUBIC_KEY).status is Status.FAILED
    session.on_failed(request, "out of memory")  # a second report of the same run
    assert len(_errors(session)) == 1
    session.on_batch_over([request])
    (again,) = session.run([BICUBIC_KEY])
    assert session.cancel() and again.cancelled
    session.on_failed(again, "stopped")
    assert len(_errors(session)) == 1


def test_running_and_cancelled_methods_are_said_in_the_status_line(session, tmp_path):
    session.open(_png(tmp_path, "a.png", 8, 8))
    (request,) = session.run([BICUBIC_KEY])
    session.model.on_started(request, "cpu")
    assert ("message", "Running Bicubic on cpu…", 0) in session.seen
    session.cancel()
    session.model.on_cancelled(request)
    assert session.seen[-1] == ("message", "Bicubic cancelled", 5)


def test_lpips_backbone_is_kept_installed_and_an_unknown_net_falls_back_to_alex(session, tmp_path):
    from srgan_desktop.compare import perceptual

    session.settings.lpips_net = "no-such-net"  # a hand-edited settings file
    missing = tmp_path / "nowhere" / "alexnet.pth"
    reason = session.set_lpips_backbone(missing)
    assert session.settings.lpips_backbone == str(missing) and session.settings.lpips_net == "alex"
    assert perceptual.lpips_choice() == perceptual.LpipsChoice("alex", str(missing))
    assert reason and session.seen[-1] == ("message", f"LPIPS: {reason}", 10)


# ---------------------------------------------------------------- what the views say (compare/views.py)
def test_pane_titles_metrics_rows_and_times():
    from srgan_desktop.compare import MethodOutput, Scores, prepare
    from srgan_desktop.compare.views import metrics_rows, pane_title
    from srgan_desktop.core.images import LoadedImage

    s = _models_session()
    s.model.apply(prepare(LoadedImage(np.zeros((8, 10, 3), np.uint8), None, None), "upscale", 4))
    assert pane_title(s.model, INPUT_KEY) == "LR input (nearest ×4) · 10×8"
    batch = s.run([BICUBIC_KEY, "net_x4"])
    s.model.on_finished(batch[0], MethodOutput(np.zeros((32, 40, 3), np.uint8), None, 0.5, "cpu"))
    s.model.set_scores(batch[0], Scores(psnr=31.0, ssim=0.9))
    s.model.on_started(batch[1], "cpu")
    s.model.on_progress(batch[1], 3, 8)
    s.model.add_file_result("theirs", np.zeros((32, 40, 3), np.uint8))
    rows, times = metrics_rows(s.model)
    by_title = {row.title: row for row in rows}
    assert (by_title["Bicubic"].psnr, by_title["Bicubic"].seconds) == (31.0, 0.5)
    assert by_title["Net ×4"].note == "running 3/8" and by_title["Broken"].note == "unavailable"
    assert by_title["theirs"].note == "from file" and by_title["theirs"].seconds is None
    assert times == "Bicubic 0.50 s"  # the file result has no run time
    assert pane_title(s.model, BICUBIC_KEY).startswith("Bicubic — ") and "31" in pane_title(s.model, BICUBIC_KEY)


def test_menus_list_methods_with_reasons_and_scales_with_their_models():
    from srgan_desktop.compare.views import pane_choices, run_menu_entries, scale_menu_entries

    s = _models_session()
    entries = {key: (text, reason) for key, text, reason in run_menu_entries(s.model)}
    assert entries[BICUBIC_KEY] == ("Bicubic", "") and entries["net_x4"] == ("Net ×4", "")
    assert entries["net_x2"][0] == "Net ×2 (unavailable)" and "×2 model" in entries["net_x2"][1]
    assert entries["broken"][1] == "broken.pth: bad header"
    assert dict(scale_menu_entries(s.model)) == {2: "×2  (Net ×2)", 3: "×3  (bicubic only)",
                                                 4: "×4  (Net ×4, Broken)", 8: "×8  (bicubic only)"}
    choices = pane_choices(s.model)
    assert [k for k, _t in choices.panes] == s.model.pane_keys()
    assert INPUT_KEY not in [k for k, _t in choices.methods] and "net_x2" in [k for k, _t in choices.methods]


def test_read_out_names_the_output_and_the_lr_pixel_inside_the_image_only():
    from srgan_desktop.compare import prepare
    from srgan_desktop.compare.views import cursor_text
    from srgan_desktop.core.images import LoadedImage

    model = ComparisonModel(None)
    assert cursor_text(model, 1, 1) == ""  # no image
    model.apply(prepare(LoadedImage(np.zeros((6, 10, 3), np.uint8), None, None), "upscale", 4))
    assert cursor_text(model, 33.7, 21.2) == "x 33  y 21  (LR 8, 5)"
    assert cursor_text(model, 40, 3) == "" and cursor_text(model, -0.5, 3) == ""
