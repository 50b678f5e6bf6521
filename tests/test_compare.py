"""The Qt-free comparison model: scale, statuses, the run queue and its cancel rules, cache, scores, files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from conftest import make_tiny_generator
from srgan_desktop import paths
from srgan_desktop.compare import (BICUBIC_KEY, INPUT_KEY, REFERENCE_KEY, CompareError, ComparisonModel,
                                   MethodKind, MethodOutput, ModelSource, Scores, Status, compute_scores,
                                   prepare, register_scorer)
from srgan_desktop.compare.scores import unregister_scorer
from srgan_desktop.core.arch import SRResNet
from srgan_desktop.core.engine import BicubicMethod, Upscaler
from srgan_desktop.core.images import LoadedImage
from srgan_desktop.core.metrics import psnr
from srgan_desktop.core.resize import downscale
from srgan_desktop.core.models import ModelResolver
from srgan_desktop.core.weights import save_model


def _image(h: int, w: int, seed: int = 0) -> LoadedImage:
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    base = np.stack([128 + 90 * np.sin(xx / 5.0 + c) * np.cos(yy / 7.0 - c) for c in range(3)], axis=2)
    return LoadedImage(np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8), None,
                       Path(f"img{seed}.png"))


def _user_models() -> Path:
    folder = paths.user_models_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def x2_model() -> Path:
    """A randomly initialised SRResNet ×2 (2 blocks), saved without a scale in its card."""
    torch.manual_seed(0)
    return save_model(SRResNet(num_blocks=2, scale=2).eval(), _user_models() / "tiny_x2.safetensors",
                      {"name": "tiny_x2", "title": "Tiny ×2"})


@pytest.fixture
def x4_model() -> Path:
    return save_model(make_tiny_generator(), _user_models() / "tiny_x4.safetensors",
                      {"name": "tiny_x4", "title": "Tiny ×4"})


def _model(tmp_path: Path) -> tuple[ComparisonModel, list[tuple]]:
    bundled = tmp_path / "bundled"
    bundled.mkdir(exist_ok=True)
    model = ComparisonModel(ModelSource(ModelResolver(bundled, paths.user_models_dir())))
    seen: list[tuple] = []
    for name in ("image", "methods", "status", "result", "scores", "busy"):
        model.events.connect(name, lambda *args, n=name: seen.append((n, *args)))
    return model, seen


def _run(model: ComparisonModel, request) -> MethodOutput:  # noqa: ANN001
    """What the worker does for a bicubic request, synchronously."""
    result = Upscaler(BicubicMethod(request.scale)).upscale(request.lr)
    return MethodOutput.from_upscale(result)


def test_modes_and_prepare_are_all_or_nothing(tmp_path):
    model, seen = _model(tmp_path)
    image = _image(66, 50)
    model.open(image, "simulate")
    assert model.scale == 4 and model.reference.shape == (64, 48, 3)
    assert (model.lr == downscale(image.rgb, 4)).all()
    assert model.pane_keys() == [INPUT_KEY, BICUBIC_KEY, REFERENCE_KEY]
    assert model.expected_shape() == (64, 48) and model.display_scale(INPUT_KEY) == 4
    assert ("image",) in seen
    before = (model.lr_hash, model.reference_hash, model.mode)
    with pytest.raises(CompareError, match="smaller than ×4"):
        model.open(_image(3, 3), "simulate")
    assert (model.lr_hash, model.reference_hash, model.mode) == before
    model.set_mode("upscale")
    assert model.reference is None and model.lr.shape == (66, 50, 3) and model.title(INPUT_KEY) == "LR input (nearest ×4)"


def test_scale_default_disabled_reason_and_switch(tmp_path, x2_model):
    model, _seen = _model(tmp_path)
    spec = model.method("tiny_x2")
    assert spec.scale == 2 and spec.kind is MethodKind.MODEL  # from the tensors: the card has no scale
    assert model.scale == 2  # the only model scale is the default
    save_model(make_tiny_generator(), _user_models() / "tiny_x4.safetensors", {"name": "tiny_x4"})
    model, _seen = _model(tmp_path)
    assert model.scale == 4 and model.model_scales() == [2, 4]
    model.open(_image(20, 24), "simulate")
    assert not model.is_enabled("tiny_x2") and model.is_enabled("tiny_x4") and model.is_enabled(BICUBIC_KEY)
    assert "×2" in model.disabled_reason("tiny_x2") and "Compare ▸ Scale" in model.disabled_reason("tiny_x2")
    assert model.state("tiny_x2").status is Status.DISABLED
    batch, skipped = model.request_runs(["tiny_x2", BICUBIC_KEY])
    assert [r.key for r in batch] == [BICUBIC_KEY] and skipped[0][0] == "Tiny ×2"
    model.set_scale(2)
    assert model.scale == 2 and model.is_enabled("tiny_x2") and not model.is_enabled("tiny_x4")
    assert model.lr.shape == (10, 12, 3) and model.reference.shape == (20, 24, 3)
    assert model.title(INPUT_KEY) == "LR input (nearest ×2)" and model.display_scale(INPUT_KEY) == 2
    assert model.expected_shape() == (20, 24)
    assert batch[0].cancelled  # the ×4 bicubic request of before was stopped (busy until the worker says so)
    model.on_batch_over(batch)
    assert not model.busy
    batch, _ = model.request_runs(["tiny_x2"])
    assert batch[0].scale == 2


def test_status_progress_and_result(tmp_path):
    model, seen = _model(tmp_path)
    model.open(_image(12, 12))
    assert model.state(BICUBIC_KEY).status is Status.NOT_RUN
    batch, skipped = model.request_runs([BICUBIC_KEY])
    assert skipped == [] and model.busy and ("busy", True) in seen
    assert model.state(BICUBIC_KEY).status is Status.QUEUED
    again, _ = model.request_runs([BICUBIC_KEY])
    assert again == []  # already queued: not twice
    request = batch[0]
    model.on_started(request, "cpu")
    state = model.state(BICUBIC_KEY)
    assert state.status is Status.RUNNING and state.tiles_total == 0  # indeterminate until a tile is done
    model.on_progress(request, 1, 3)
    assert (model.state(BICUBIC_KEY).tiles_done, model.state(BICUBIC_KEY).tiles_total) == (1, 3)
    assert model.active_request() == BICUBIC_KEY
    output = _run(model, request)
    assert model.on_finished(request, output)
    assert model.state(BICUBIC_KEY).status is Status.DONE and model.image_for(BICUBIC_KEY) is output.rgb
    assert ("result", BICUBIC_KEY) in seen
    model.on_batch_over(batch)
    assert not model.busy and ("busy", False) in seen


def test_cancel_rules_and_stale_results(tmp_path):
    model, _seen = _model(tmp_path)
    model.open(_image(12, 12))
    batch, _ = model.request_runs([BICUBIC_KEY])
    model.on_started(batch[0], "cpu")
    assert model.cancel() and not model.cancel()  # nothing left to cancel the second time
    # the same method may be queued again at once, in a new batch the old cancel does not reach
    again, _ = model.request_runs([BICUBIC_KEY])
    assert len(again) == 1 and not again[0].cancelled
    model.on_cancelled(batch[0])  # late news of the old batch changes nothing
    assert model.state(BICUBIC_KEY).status is Status.QUEUED
    model.on_batch_over(batch)
    assert model.state(BICUBIC_KEY).status is Status.QUEUED and model.busy
    model.cancel()
    model.on_batch_over(again)
    assert model.state(BICUBIC_KEY).status is Status.CANCELLED and not model.busy
    # a result made for another image is dropped
    batch, _ = model.request_runs([BICUBIC_KEY])
    model.open(_image(16, 16, seed=1))
    assert not model.on_finished(batch[0], _run(model, batch[0]))
    assert BICUBIC_KEY not in model.results and model.state(BICUBIC_KEY).status is Status.NOT_RUN


def test_cache_pixels_and_scores_per_ground_truth(tmp_path):
    model, _seen = _model(tmp_path)
    image = _image(40, 44)
    model.open(image, "simulate")
    batch, _ = model.request_runs([BICUBIC_KEY], resolved="cpu")
    output = _run(model, batch[0])
    model.on_finished(batch[0], output)
    scores = compute_scores(output.rgb, model.reference, model.reference_hash, border=4)
    assert scores.psnr == pytest.approx(psnr(output.rgb, model.reference, border=4))
    assert model.set_scores(batch[0], scores) and model.scores(BICUBIC_KEY).text().endswith(f"{scores.ssim:.4f}")
    model.on_batch_over(batch)
    model.set_mode("upscale")
    model.set_mode("simulate")
    batch, _ = model.request_runs([BICUBIC_KEY], resolved="cpu")
    assert batch == []  # pixels and scores both come from the cache
    assert model.results[BICUBIC_KEY] is output and model.scores(BICUBIC_KEY) == scores
    model.clear_cache()
    model.set_mode("upscale")
    model.set_mode("simulate")
    batch, _ = model.request_runs([BICUBIC_KEY], resolved="cpu")
    assert len(batch) == 1 and batch[0].known is None


def test_extra_scores_fit_the_record(tmp_path):
    model, seen = _model(tmp_path)
    model.open(_image(40, 44), "simulate")
    register_scorer("mean", lambda sr, _ref, _border: float(sr.mean()))
    register_scorer("broken", lambda sr, ref, _border: 1 / 0, needs_reference=True)
    try:
        batch, _ = model.request_runs([BICUBIC_KEY])
        output = _run(model, batch[0])
        model.on_finished(batch[0], output)
        scores = compute_scores(output.rgb, model.reference, model.reference_hash, border=4)
    finally:
        unregister_scorer("mean")
        unregister_scorer("broken")
    assert scores.extra["mean"] == pytest.approx(float(output.rgb.mean()))
    assert scores.extra["broken"].startswith("unavailable: ")
    model.set_scores(batch[0], scores)
    model.update_scores(BICUBIC_KEY, niqe=5.5, lpips="unavailable: no weights")
    record = model.scores(BICUBIC_KEY)
    assert record.value("niqe") == 5.5 and record.value("lpips") == "unavailable: no weights"
    assert record.value("mean") == scores.extra["mean"] and record.psnr == scores.psnr
    assert ("scores", BICUBIC_KEY) in seen
    assert Scores().text() == ""


def test_results_from_files_are_size_checked(tmp_path):
    model, seen = _model(tmp_path)
    with pytest.raises(CompareError, match="open an image first"):
        model.add_file_result("x", np.zeros((8, 8, 3), np.uint8))
    model.open(_image(10, 12))
    with pytest.raises(CompareError, match=r"40×32; the LR input × 4 is 48×40"):
        model.add_file_result("Wrong", np.zeros((32, 40, 3), np.uint8))
    assert [m.kind for m in model.methods()].count(MethodKind.FILE) == 0
    rgb = np.full((40, 48, 3), 7, np.uint8)
    request = model.add_file_result("Elsewhere", rgb, path=Path("/x/esrgan.png"))
    assert request.key == "file:esrgan" and request.known.rgb is model.image_for("file:esrgan")
    assert model.pane_keys()[-1] == "file:esrgan" and ("methods",) in seen
    assert model.state("file:esrgan").status is Status.DONE
    assert "file:esrgan" not in [m.key for m in model.runnable()]
    model.open(_image(40, 48), "simulate")  # a new image: the file result was for the old one
    assert "file:esrgan" not in model.pane_keys()
    with pytest.raises(CompareError, match="the ground truth is 48×40"):
        model.add_file_result("Wrong", np.zeros((10, 12, 3), np.uint8))
    model.add_file_result("Right", rgb)


def test_unreadable_model_file_is_listed_with_its_error(tmp_path):
    (_user_models() / "junk_x4.pth").write_bytes(b"not a checkpoint")
    model, _seen = _model(tmp_path)
    spec = model.method("junk_x4")
    assert not spec.available and "junk_x4.pth" in spec.reason
    assert model.state("junk_x4").status is Status.DISABLED


def test_models_added_and_removed_without_restart(tmp_path, x4_model):
    model, seen = _model(tmp_path)
    assert "tiny_x4" in [m.key for m in model.methods()]
    extra = save_model(SRResNet(num_blocks=1, scale=2), tmp_path / "elsewhere" / "other_x2.safetensors",
                       {"name": "other_x2"})
    copied = model.source.add_file(extra)
    assert copied.parent == paths.user_models_dir() and copied.with_suffix(".json").is_file()
    model.refresh_methods()
    assert model.method("other_x2").scale == 2 and ("methods",) in seen
    model.source.remove_file(copied)
    model.refresh_methods()
    assert "other_x2" not in [m.key for m in model.methods()] and not copied.exists()
    with pytest.raises(Exception, match="not in the user model folder"):
        model.source.remove_file(extra)
    (extra.parent / "junk_x4.pth").write_bytes(b"junk")
    with pytest.raises(Exception, match="junk_x4.pth"):
        model.source.add_file(extra.parent / "junk_x4.pth")  # refused with its error, not copied
    assert not (paths.user_models_dir() / "junk_x4.pth").exists()


def test_prepare_is_pure():
    image = _image(20, 20)
    first = prepare(image, "simulate", 2)
    assert first.lr.shape == (10, 10, 3) and first.reference.shape == (20, 20, 3)
    assert prepare(image, "simulate", 2).lr_hash == first.lr_hash
    assert prepare(image, "upscale", 2).lr_hash != first.lr_hash
    with pytest.raises(CompareError, match="unknown mode"):
        prepare(image, "sideways", 4)


def test_partial_canvas_while_tiles_arrive(tmp_path):
    model, _seen = _model(tmp_path)
    tiles: list[tuple] = []
    model.events.connect("tile", lambda key, box: tiles.append((key, box)))
    model.open(_image(40, 36))
    batch, _ = model.request_runs([BICUBIC_KEY])
    request = batch[0]
    assert model.image_for(BICUBIC_KEY) is None
    job = Upscaler(BicubicMethod(4)).job(request.lr, tile=16)
    model.on_started(request, "cpu")
    order = list(reversed(range(len(job.boxes))))  # any order
    for n, index in enumerate(order):
        box, pixels = job.run_tile(index)
        assert model.on_tile(request, box, np.clip(np.round(pixels * 255), 0, 255).astype(np.uint8))
        model.on_progress(request, n + 1, len(job.boxes))
        canvas = model.image_for(BICUBIC_KEY)
        assert canvas is model.partial[BICUBIC_KEY] and canvas.shape == (160, 144, 3)
        if n == 0:  # grey where no tile ran yet
            assert tiles == [(BICUBIC_KEY, tuple(box))]
            assert (canvas[:box[0]] == 128).all() if box[0] else (canvas[box[2]:] == 128).all()
    output = MethodOutput.from_upscale(job.finish())
    assert np.array_equal(model.partial[BICUBIC_KEY], output.rgb)  # every tile painted = the result
    assert model.on_finished(request, output)
    assert BICUBIC_KEY not in model.partial and model.image_for(BICUBIC_KEY) is output.rgb
    assert model.cached(BICUBIC_KEY, "cpu") is output  # the cache keeps the finished image only
    assert len(tiles) == len(job.boxes)
    # a cancelled request paints nothing; a new image drops a canvas
    model.on_batch_over([request])
    model.results.clear()
    batch, _ = model.request_runs([BICUBIC_KEY], cached_only=False)
    assert batch and batch[0].known is not None  # from the cache: score-only, no canvas
    assert not model.on_tile(batch[0], (0, 0, 4, 4), np.zeros((4, 4, 3), np.uint8))
    model.open(_image(24, 24, seed=2))
    batch, _ = model.request_runs([BICUBIC_KEY])
    assert model.on_tile(batch[0], (0, 0, 4, 4), np.zeros((4, 4, 3), np.uint8))
    model.cancel()
    assert not model.on_tile(batch[0], (4, 4, 8, 8), np.zeros((4, 4, 3), np.uint8))
    model.on_cancelled(batch[0])
    assert BICUBIC_KEY not in model.partial and model.image_for(BICUBIC_KEY) is None
    batch, _ = model.request_runs([BICUBIC_KEY])
    model.on_tile(batch[0], (0, 0, 4, 4), np.zeros((4, 4, 3), np.uint8))
    model.open(_image(20, 20, seed=3))
    assert model.partial == {}


def test_an_unreadable_models_folder_is_one_entry_with_its_reason_and_no_pane(tmp_path, monkeypatch):
    """The folder's error is one method entry under a reserved key (never a pane); a user model
    that happens to be named like that key gets a key of its own."""
    from srgan_desktop.compare.methods import MODELS_ERROR_KEY, RESERVED_KEYS

    model, _seen = _model(tmp_path)
    with monkeypatch.context() as patch:
        patch.setattr(ModelResolver, "entries", lambda self: (_ for _ in ()).throw(PermissionError("denied")))
        entries = model.source.methods()
        assert [(m.key, m.available) for m in entries] == [(MODELS_ERROR_KEY, False)]
        assert "denied" in entries[0].reason and MODELS_ERROR_KEY in RESERVED_KEYS
        model.open(_image(20, 24), "simulate")
        assert MODELS_ERROR_KEY not in model.pane_keys()
    save_model(make_tiny_generator(), _user_models() / f"{MODELS_ERROR_KEY}.safetensors", {"name": MODELS_ERROR_KEY})
    keys = [m.key for m in model.source.methods()]
    assert f"model_{MODELS_ERROR_KEY}" in keys and MODELS_ERROR_KEY not in keys
