"""The inference engine: tiling is invisible, progress and cancel work, devices are checked."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from conftest import make_tiny_generator
from srgan_desktop.core import engine
from srgan_desktop.core.engine import (BicubicMethod, CancelToken, Cancelled, NetworkMethod,
                                       UpscaleError, Upscaler, resolve_device)
from srgan_desktop.core.images import LoadedImage
from srgan_desktop.core.resize import imresize
from srgan_desktop.core.weights import ModelDescriptor


def _image(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Smooth content plus noise: realistic enough that outputs are not clipped flat."""
    yy, xx = np.mgrid[0:h, 0:w]
    base = np.stack([128 + 90 * np.sin(xx / 5.0), 128 + 90 * np.cos(yy / 7.0),
                     128 + 60 * np.sin((xx + yy) / 9.0)], axis=-1)
    noise = np.random.default_rng(seed).normal(0, 12, (h, w, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def tiny_method() -> NetworkMethod:
    return NetworkMethod(make_tiny_generator(), ModelDescriptor(name="tiny", num_blocks=2))


def test_tiny_model_pads_by_its_receptive_radius(tiny_method):
    assert tiny_method.pad == 12  # 4 + 2·2 + 1 + 1 + 0.5 + 1 → 12 LR pixels


def test_tiled_equals_full_frame_for_a_network(tiny_method):
    image = _image(14, 40)  # tile 10: 2 × 4 tiles, the middle columns padded on both sides
    full = Upscaler(tiny_method, device="cpu", tile=0).upscale(image, as_float=True)
    tiled = Upscaler(tiny_method, device="cpu", tile=10).upscale(image, as_float=True)
    assert full.tiles == 1 and tiled.tiles == 8
    assert full.rgb.shape == tiled.rgb.shape == (56, 160, 3)
    assert full.rgb.dtype == np.float32
    assert float(full.rgb.std()) > 1e-3  # the output depends on the input
    assert float(np.abs(full.rgb - tiled.rgb).max()) <= 1e-4


def test_a_grayscale_picture_stays_grayscale_and_a_colour_one_is_untouched(tiny_method):
    """A random network paints colour into a grey input; the engine gives back the mean of R, G
    and B there (tiled equal to full frame), says so on the result, and leaves colour alone."""
    grey = np.repeat(_image(14, 40)[..., :1], 3, axis=2)
    raw = Upscaler(tiny_method, device="cpu", tile=0, keep_grey=False).upscale(grey, as_float=True)
    assert not raw.grey and float(np.abs(raw.rgb - raw.rgb.mean(axis=2, keepdims=True)).max()) > 1e-3
    for tile in (0, 10):
        kept = Upscaler(tiny_method, device="cpu", tile=tile).upscale(grey, as_float=True)
        assert kept.grey
        assert np.array_equal(kept.rgb[..., 0], kept.rgb[..., 1]) and np.array_equal(kept.rgb[..., 1], kept.rgb[..., 2])
        assert float(np.abs(kept.rgb[..., 0] - np.clip(raw.rgb.mean(axis=2), 0, 1)).max()) <= 1e-4
    colour = _image(14, 40)
    shown = Upscaler(tiny_method, device="cpu", tile=0).upscale(colour, as_float=True)
    assert not shown.grey
    assert np.array_equal(shown.rgb, Upscaler(tiny_method, device="cpu", tile=0, keep_grey=False)
                          .upscale(colour, as_float=True).rgb)


@pytest.mark.parametrize("tile", [5, 8])
def test_tiled_equals_full_frame_for_bicubic(tile):
    image = _image(22, 19, seed=1)
    full = Upscaler(BicubicMethod(4), tile=0).upscale(image, as_float=True)
    tiled = Upscaler(BicubicMethod(4), tile=tile).upscale(image, as_float=True)
    assert tiled.tiles > 1
    assert float(np.abs(full.rgb - tiled.rgb).max()) <= 1e-4
    direct = imresize(image, output_shape=(88, 76)).astype(np.float32) / 255
    assert float(np.abs(full.rgb - direct).max()) <= 1e-6
    as_uint8 = Upscaler(BicubicMethod(4), tile=tile).upscale(image)
    assert as_uint8.rgb.dtype == np.uint8
    assert np.array_equal(as_uint8.rgb, imresize(image, output_shape=(88, 76)))


def test_progress_is_called_once_per_tile(tiny_method):
    calls: list[tuple[int, int]] = []
    result = Upscaler(tiny_method, device="cpu", tile=6).upscale(
        _image(12, 16), progress=lambda k, n: calls.append((k, n)))
    assert result.tiles == 6
    assert calls == [(k, 6) for k in range(1, 7)]


def test_cancel_stops_between_tiles(tiny_method):
    token = CancelToken()
    calls: list[int] = []

    def progress(k: int, n: int) -> None:
        calls.append(k)
        token.cancel()

    with pytest.raises(Cancelled):
        Upscaler(tiny_method, device="cpu", tile=8).upscale(_image(16, 16), progress=progress, cancel=token)
    assert calls == [1]  # the first tile finished; the second never started
    assert token.cancelled


@pytest.mark.parametrize("tile", [8, 10, 16])
def test_edge_padding_keeps_tiled_equal_to_full_frame(tile):
    """A card's ``edge_pad``: the picture mirrored around it before the network.  Tiles at the
    border see the same mirrored pixels as the full frame; inner tiles none."""
    method = NetworkMethod(make_tiny_generator(), ModelDescriptor(name="tiny", num_blocks=2, edge_pad=5))
    image = _image(30, 44)
    full = Upscaler(method, device="cpu", tile=0, precision="fp32").upscale(image, as_float=True).rgb
    tiled = Upscaler(method, device="cpu", tile=tile, precision="fp32").upscale(image, as_float=True)
    assert tiled.tiles > 1
    np.testing.assert_allclose(tiled.rgb, full, atol=1e-5)
    job = Upscaler(method, device="cpu", tile=tile, precision="fp32").job(image, focus=(5, 5, 20, 20), focus_tile=8)
    for index in reversed(range(len(job.boxes))):   # any order, viewport tiles included
        job.run_tile(index)
    np.testing.assert_allclose(job.finish(as_float=True).rgb, full, atol=1e-5)
    plain = NetworkMethod(make_tiny_generator(), ModelDescriptor(name="tiny", num_blocks=2))
    unpadded = Upscaler(plain, device="cpu", tile=0, precision="fp32").upscale(image, as_float=True).rgb
    assert np.abs(unpadded - full).max() > 1e-3      # the padding does reach the border pixels


def test_a_staged_whole_image_reports_inside_its_one_tile_and_cancels_within_a_window(tiny_method):
    """A staged model runs a photo that fits as one tile: progress and cancel reach inside it."""
    image = _image(300, 300)      # one tile; each of the 4 stages in 2 × 2 windows of STAGE_TILE
    fractions: list[float] = []
    tiles: list[int] = []
    result = Upscaler(tiny_method, device="cpu", precision="fp32").upscale(
        image, progress=lambda k, n: tiles.append(n), fraction=fractions.append)
    assert result.tiles == 1 and tiles == [1]
    assert len(fractions) == 16 and fractions == sorted(fractions) and fractions[-1] == pytest.approx(1.0)

    token = CancelToken()
    seen: list[float] = []

    def cancel_at_the_third(f: float) -> None:
        seen.append(f)
        if len(seen) == 3:
            token.cancel()

    with pytest.raises(Cancelled):
        Upscaler(tiny_method, device="cpu", precision="fp32").upscale(image, cancel=token,
                                                                      fraction=cancel_at_the_third)
    assert len(seen) == 3          # stopped at the next window, not at the end of the tile


def test_a_token_cancelled_before_the_start_runs_no_tile():
    token = CancelToken()
    token.cancel()
    calls = []
    with pytest.raises(Cancelled):
        Upscaler(BicubicMethod(4)).upscale(_image(8, 8), progress=lambda k, n: calls.append(k), cancel=token)
    assert calls == []


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA GPU")
def test_cuda_without_a_gpu_is_an_upscale_error(tiny_method):
    with pytest.raises(UpscaleError, match="CUDA"):
        Upscaler(tiny_method, device="cuda")
    with pytest.raises(UpscaleError, match="CUDA"):
        resolve_device("cuda")


def test_unknown_device_and_precision_are_upscale_errors(tiny_method):
    with pytest.raises(UpscaleError, match="unknown device"):
        Upscaler(tiny_method, device="tpu")
    with pytest.raises(UpscaleError, match="unknown precision"):
        Upscaler(tiny_method, device="cpu", precision="int4")
    assert Upscaler(tiny_method, device="cpu").precision == "fp32"
    assert Upscaler(BicubicMethod(4), precision="bf16").precision == "fp32"  # bicubic is numpy
    with pytest.raises(UpscaleError, match="tile"):  # was: no tiles, uninitialised pixels returned
        Upscaler(BicubicMethod(4), tile=-8)


def test_auto_tile_is_zero_for_small_images(tiny_method):
    assert Upscaler(tiny_method, device="cpu").auto_tile(64, 64) == 0
    assert Upscaler(BicubicMethod(4)).auto_tile(500, 500) == 0
    result = Upscaler(tiny_method, device="cpu").upscale(_image(10, 14))
    assert result.tile == 0 and result.tiles == 1


def test_auto_tile_follows_free_memory(tiny_method, monkeypatch):
    monkeypatch.setattr(engine, "available_memory", lambda device: 1024 ** 3)
    upscaler = Upscaler(tiny_method, device="cpu")
    tile = upscaler.auto_tile(4000, 3000)
    expected = int(math.sqrt(0.25 * 1024 ** 3 / tiny_method.bytes_per_lr_pixel)) - 2 * tiny_method.pad
    assert tile == max(engine.MIN_TILE, expected - expected % 16)
    assert tile % 16 == 0 and engine.MIN_TILE <= tile <= 1024
    monkeypatch.setattr(engine, "available_memory", lambda device: 1024)
    assert upscaler.auto_tile(4000, 3000) == engine.MIN_TILE  # never below the minimum


def test_alpha_is_upscaled_and_reattached(tiny_method):
    rgb = _image(12, 10)
    alpha = np.zeros((12, 10), np.uint8)
    alpha[3:9, 2:8] = 255
    result = Upscaler(tiny_method, device="cpu", tile=0).upscale(LoadedImage(rgb=rgb, alpha=alpha))
    assert result.rgb.shape == (48, 40, 3) and result.rgb.dtype == np.uint8
    assert result.alpha is not None and result.alpha.shape == (48, 40)
    assert np.array_equal(result.alpha, imresize(alpha, output_shape=(48, 40)))
    assert Upscaler(BicubicMethod(4)).upscale(rgb).alpha is None


def test_input_ranges_of_the_descriptor_are_applied():
    """A model trained on [-1, 1] gets [-1, 1] in and is mapped back from [-1, 1]."""

    class Nearest(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.interpolate(x, scale_factor=4, mode="nearest")

    descriptor = ModelDescriptor(name="nearest", num_blocks=0, input_range=(-1.0, 1.0),
                                 output_range=(-1.0, 1.0))
    image = _image(6, 5)
    result = Upscaler(NetworkMethod(Nearest(), descriptor), device="cpu", tile=0).upscale(image)
    assert np.array_equal(result.rgb, image.repeat(4, axis=0).repeat(4, axis=1))


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.uint8), np.zeros((4, 4, 3), np.float32),
                                 np.zeros((0, 4, 3), np.uint8), np.zeros((4, 4, 4), np.uint8)])
def test_bad_arrays_are_upscale_errors(bad):
    with pytest.raises(UpscaleError):
        Upscaler(BicubicMethod(4)).upscale(bad)


def test_result_records_what_ran(tiny_method):
    result = Upscaler(tiny_method, device="cpu", tile=8).upscale(_image(9, 9))
    assert (result.device, result.precision, result.tile, result.tiles) == ("cpu", "fp32", 8, 4)
    assert result.seconds > 0 and result.fp32_fallbacks == 0


# ------------------------------------------------------------------ the fast path (issue 18)
def test_the_fast_copy_folds_batchnorm_and_equals_the_plain_forward(tiny_method):
    image = _image(20, 24)
    fast = Upscaler(tiny_method, device="cpu", tile=0, precision="fp32").upscale(image, as_float=True)
    copy = tiny_method.fast(torch.float32)
    assert copy.folded == 2 * 2 + 1  # two per residual block, one after the body
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in copy.module.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in tiny_method.model.modules())  # original kept
    with torch.inference_mode():
        plain = tiny_method.model(torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0)
    plain = plain.clamp(0, 1)[0].permute(1, 2, 0).numpy()
    assert float(np.abs(fast.rgb - plain).max()) <= 1e-4


def test_bf16_weights_stay_close_to_fp32(tiny_method):
    image = _image(20, 24)
    fp32 = Upscaler(tiny_method, device="cpu", tile=0, precision="fp32").upscale(image, as_float=True)
    bf16 = Upscaler(tiny_method, device="cpu", tile=0, precision="bf16").upscale(image, as_float=True)
    copy = tiny_method.fast(torch.bfloat16)
    assert copy.cast and next(copy.module.parameters()).dtype == torch.bfloat16
    assert float(np.abs(bf16.rgb - fp32.rgb).mean()) < 0.01  # bf16 keeps ~3 significant digits


def test_a_changed_model_gets_a_new_fast_copy():
    model = make_tiny_generator()
    method = NetworkMethod(model, ModelDescriptor(name="tiny", num_blocks=2))
    image = _image(12, 12)
    before = Upscaler(method, device="cpu", tile=0, precision="fp32").upscale(image, as_float=True).rgb
    with torch.no_grad():  # what an optimiser step does: write the live weights in place
        model.tail.bias.add_(0.1)
    after = Upscaler(method, device="cpu", tile=0, precision="fp32").upscale(image, as_float=True).rgb
    assert float(np.abs(after - before).max()) > 0.05


@pytest.mark.parametrize("shape", [(50, 37), (37, 50), (23, 23)])
def test_balanced_tiles_share_one_window_shape_and_cover_the_image_once(shape):
    h, w = shape
    boxes = engine.tile_boxes(h, w, 16, 12, same_shape=True)
    cover = np.zeros((h, w), int)
    for (y0, x0, y1, x1), (wy0, wx0, wy1, wx1) in boxes:
        cover[y0:y1, x0:x1] += 1
        assert 0 <= wy0 and 0 <= wx0 and wy1 <= h and wx1 <= w
        assert (y0 - wy0 >= 12 or wy0 == 0) and (wy1 - y1 >= 12 or wy1 == h)
        assert (x0 - wx0 >= 12 or wx0 == 0) and (wx1 - x1 >= 12 or wx1 == w)
    assert (cover == 1).all()
    assert len({(b[1][2] - b[1][0], b[1][3] - b[1][1]) for b in boxes}) == 1


def test_a_focused_job_in_any_order_equals_the_full_frame(tiny_method):
    image = _image(40, 56)
    full = Upscaler(tiny_method, device="cpu", tile=0, precision="fp32").upscale(image, as_float=True)
    upscaler = Upscaler(tiny_method, device="cpu", tile=24, precision="fp32")
    job = upscaler.job(image, focus=(30, 40, 40, 56), focus_tile=8)
    assert len(job.boxes) > len(engine.tile_boxes(40, 56, 24, 12))  # the focused tiles were split
    for index in reversed(job.remaining()):
        box, pixels = job.run_tile(index)
        assert pixels.shape == (box[2] - box[0], box[3] - box[1], 3)
    with pytest.raises(UpscaleError):
        job.run_tile(0)
    result = job.finish(as_float=True)
    assert result.tiles == len(job.boxes)
    assert float(np.abs(full.rgb - result.rgb).max()) <= 1e-4


def test_a_pan_cuts_the_waiting_tiles_under_the_new_view_and_the_image_stays_the_same(tiny_method):
    image = _image(40, 56)
    full = Upscaler(tiny_method, device="cpu", tile=0, precision="fp32").upscale(image, as_float=True)
    job = Upscaler(tiny_method, device="cpu", tile=24, precision="fp32").job(image, focus=(0, 0, 10, 10),
                                                                           focus_tile=8)
    for index in job.remaining()[:3]:
        job.run_tile(index)
    ran = {i: job.boxes[i] for i in job.finished}
    before = len(job.boxes)
    view = (28, 40, 38, 52)                                 # panned to the far corner
    assert job.refocus(view, small=8)
    assert len(job.boxes) > before and all(job.boxes[i] == box for i, box in ran.items())
    waiting = [job.boxes[i][0] for i in job.remaining()]
    under = [b for b in waiting if b[0] < view[2] and view[0] < b[2] and b[1] < view[3] and view[1] < b[3]]
    assert under and all(b[2] - b[0] <= 8 and b[3] - b[1] <= 8 for b in under)
    # cut at the view's edges: each piece lies inside it or outside it, never across
    assert all(view[0] <= b[0] and b[2] <= view[2] and view[1] <= b[1] and b[3] <= view[3] for b in under)
    assert not job.refocus(view, small=8)                   # nothing left to cut there
    for index in job.remaining():
        job.run_tile(index)
    result = job.finish(as_float=True)
    assert result.tiles == len(job.boxes)
    assert float(np.abs(full.rgb - result.rgb).max()) <= 1e-4


def test_an_unfinished_job_refuses_to_finish(tiny_method):
    job = Upscaler(tiny_method, device="cpu", tile=8, precision="fp32").job(_image(16, 16))
    job.run_tile(0)
    with pytest.raises(UpscaleError, match="not run"):
        job.finish()


def test_the_tile_rule_keeps_what_fits_whole_and_caps_the_rest(tiny_method, monkeypatch):
    monkeypatch.setattr(engine, "available_memory", lambda device: 64 * 1024 ** 3)
    upscaler = Upscaler(tiny_method, device="cpu")
    assert upscaler.auto_tile(600, 800) == 0  # 8 GiB budget: 800×600 fits in one forward
    assert upscaler.auto_tile(1500, 2000) == 0  # staged: 2 KiB per pixel, 3 MP fit in 8 GiB
    assert engine.TILE_CAP < upscaler.auto_tile(9000, 12000) <= engine.STAGED_TILE_CAP
    spandrel_like = NetworkMethod(make_tiny_generator(), ModelDescriptor(name="tiny", num_blocks=2))
    spandrel_like.staged, spandrel_like.bytes_per_lr_pixel = False, engine.BYTES_PER_LR_PIXEL
    assert Upscaler(spandrel_like, device="cpu").auto_tile(3000, 4000) == engine.TILE_CAP


def test_cpu_description_names_the_processor_and_its_bf16_support():
    text = engine.cpu_description()
    assert "cores" in text and "bf16" in text


@pytest.mark.parametrize("tile, blocks", [(16, 1), (12, 2), (20, 5)])
def test_staged_inference_equals_the_plain_forward(tile, blocks):
    model = make_tiny_generator(num_blocks=5)
    x = torch.rand(1, 3, 37, 53)
    with torch.inference_mode():
        plain, staged = model(x), engine.staged_srresnet(model, x, tile=tile, blocks=blocks)
    assert staged.shape == plain.shape == (1, 3, 148, 212)
    assert float((plain - staged).abs().max()) <= 1e-5


@pytest.mark.parametrize("keep", [(20, 25, 40, 45), (0, 0, 20, 30), (5, 3, 61, 70), (0, 0, 61, 70)])
def test_a_staged_forward_cut_to_the_kept_box_equals_the_plain_forward_there(keep):
    """Cutting each group's features to what the rest of the network needs around ``keep``
    changes nothing inside it — at the input's edges (zero padding, as the full frame), with less
    margin than the radius on an edge side (5, 3), and with all of it; far outside, nothing is
    computed (the 5-block net's radius is 4 + 10 + 1 + 3 = 18 LR pixels)."""
    model = make_tiny_generator(num_blocks=5)
    x = torch.rand(1, 3, 61, 70)
    with torch.inference_mode():
        plain = model(x)
        cut = engine.staged_srresnet(model, x, tile=24, blocks=2, keep=keep)
    y0, x0, y1, x1 = (4 * v for v in keep)
    assert cut.shape == plain.shape
    assert float((plain - cut)[:, :, y0:y1, x0:x1].abs().max()) <= 1e-5
    if keep == (20, 25, 40, 45):
        assert float(cut[:, :, :4 * 10].abs().max()) == 0.0  # rows 0–9: more than 3 px above the core
        assert float(cut[:, :, 4 * 20:4 * 40, 4 * 25:4 * 45].abs().min()) > 0.0


def test_the_srresnet_family_runs_staged_and_spandrel_models_do_not(tiny_method):
    assert tiny_method.staged and tiny_method.bytes_per_lr_pixel == engine.STAGED_BYTES_PER_LR_PIXEL


def test_a_model_whose_output_overflows_is_an_error_naming_it_not_a_black_picture():
    """Finite weights large enough to overflow float32: the output is NaN/Inf in fp32 too, which
    the engine refuses (naming the model) instead of casting it to an all-black image."""
    model = make_tiny_generator()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(1e12)
    method = NetworkMethod(model, ModelDescriptor(name="overflowing", num_blocks=2))
    image = np.full((12, 12, 3), 128, np.uint8)
    with pytest.raises(UpscaleError, match="overflowing: its output is not finite"):
        Upscaler(method, device="cpu", tile=0, precision="fp32").upscale(image)
