"""Any model, any image: real spandrel architectures (randomly initialised, tiny) through the
resolver, the engine, ``upscale``, ``eval`` and MOS stimuli; the resolver's names and folders."""

from __future__ import annotations

import json
import os
import pathlib
import pickle

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from conftest import make_tiny_generator
from test_engine import _image
from test_weights import _Evil
from srgan_desktop.__main__ import main
from srgan_desktop.core import engine
from srgan_desktop.core.engine import NetworkMethod, UpscaleError, Upscaler
from srgan_desktop.core.images import load_image, save_image
from srgan_desktop.core.models import MethodSpec, ModelResolver, NoWeights, default_resolver, parse_method
from srgan_desktop.core.weights import WeightsError, load_model, save_model

spandrel = pytest.importorskip("spandrel")
from spandrel.architectures.Compact import Compact  # noqa: E402
from spandrel.architectures.DnCNN import DnCNN  # noqa: E402
from spandrel.architectures.ESRGAN import ESRGAN  # noqa: E402
from spandrel.architectures.SwinIR import SwinIR  # noqa: E402

#: Max |tiled − full frame| of the tiny SwinIR below with 8-px tiles (blend: 16 px overlap,
#: 32 px context), measured 1.8e-7 on 40×48 inputs; a real SwinIR's seam error is larger
#: (docs/readme/cli.md), the test only pins that blending is wired and not grossly off.
SWINIR_TILE_TOLERANCE = 1e-3
pytestmark = pytest.mark.filterwarnings("ignore:torch.meshgrid")


def _build(kind: str) -> torch.nn.Module:
    torch.manual_seed(3)
    if kind == "rrdb":      # ESRGAN / RRDBNet ×4: 1 RRDB block of 8 features
        return ESRGAN(num_filters=8, num_blocks=1, scale=4)
    if kind == "rrdb2":     # Real-ESRGAN ×2 layout: pixel-unshuffle input, multiple of 4
        return ESRGAN(in_nc=12, out_nc=3, num_filters=8, num_blocks=1, scale=4, shuffle_factor=2)
    if kind == "compact":   # Real-ESRGAN Compact (SRVGGNetCompact) ×4
        return Compact(num_feat=8, num_conv=2, upscale=4)
    if kind == "compact2":
        return Compact(num_feat=8, num_conv=2, upscale=2)
    if kind == "swinir":    # SwinIR ×4, one RSTB of one layer, window 4
        return SwinIR(img_size=16, embed_dim=12, depths=[1], num_heads=[2], window_size=4,
                      mlp_ratio=2.0, upscale=4, upsampler="pixelshuffledirect")
    raise ValueError(kind)


EXPECTED = {  # kind → (architecture, scale, tiling)
    "rrdb": ("ESRGAN", 4, "exact"), "rrdb2": ("ESRGAN", 2, "exact"),
    "compact": ("RealESRGAN Compact", 4, "exact"), "compact2": ("RealESRGAN Compact", 2, "exact"),
    "swinir": ("SwinIR", 4, "blend"),
}


@pytest.fixture(scope="module")
def model_files(tmp_path_factory) -> dict[tuple[str, str], pathlib.Path]:
    folder = tmp_path_factory.mktemp("spandrel_models")
    files = {}
    for kind in EXPECTED:
        state = {k: v.contiguous() for k, v in _build(kind).state_dict().items()}
        files[kind, ".pth"] = folder / f"{kind}.pth"
        torch.save(state, files[kind, ".pth"])
        files[kind, ".safetensors"] = folder / f"{kind}_st.safetensors"
        save_file(state, str(files[kind, ".safetensors"]))
    return files


# --- the resolver and the descriptor --------------------------------------------------------

@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
@pytest.mark.parametrize("kind", list(EXPECTED))
def test_each_architecture_loads_with_its_descriptor(model_files, kind, suffix):
    path = model_files[kind, suffix]
    model, d = ModelResolver(path.parent / "none").load(path)
    arch, scale, tiling = EXPECTED[kind]
    assert (d.architecture, d.scale, d.tiling, d.loader, d.purpose) == (arch, scale, tiling, "spandrel", "SR")
    assert (d.input_channels, d.output_channels) == (3, 3)
    assert d.params == sum(p.numel() for p in _build(kind).parameters()) > 0
    assert len(d.sha256) == 64 and d.path == path and not model.training
    assert d.supports_bf16 and d.supports_half == (kind != "swinir")  # SwinIR: fp16 unsupported
    if kind == "rrdb2":
        assert d.multiple_of == 4
    if tiling == "exact":
        assert 0 < d.pad <= 64 and d.overlap == 0
    else:
        assert d.overlap > 0 and d.pad >= d.overlap


@pytest.mark.parametrize("kind", ["rrdb", "rrdb2", "compact", "compact2", "swinir"])
def test_tiled_equals_full_frame(model_files, kind):
    model, d = load_model(model_files[kind, ".safetensors"])
    method = NetworkMethod(model, d)
    image = _image(21, 26)  # odd sizes: rrdb2 pads to a multiple of 4 and crops back
    full = Upscaler(method, device="cpu", tile=0).upscale(image, as_float=True)
    tiled = Upscaler(method, device="cpu", tile=8).upscale(image, as_float=True)
    assert full.rgb.shape == tiled.rgb.shape == (21 * d.scale, 26 * d.scale, 3)
    assert tiled.tiles > 1 and float(full.rgb.std()) > 1e-3
    error = float(np.abs(full.rgb - tiled.rgb).max())
    assert error <= (SWINIR_TILE_TOLERANCE if d.tiling == "blend" else 1e-4), error


def test_pth_and_safetensors_give_the_same_model(model_files):
    image = _image(12, 12)
    outputs = [Upscaler(NetworkMethod(*load_model(model_files["compact", s])), device="cpu", tile=0)
               .upscale(image, as_float=True).rgb for s in (".pth", ".safetensors")]
    assert np.array_equal(*outputs)


def test_half_precision_only_where_the_model_supports_it(model_files, monkeypatch):
    swin = NetworkMethod(*load_model(model_files["swinir", ".pth"]))
    with pytest.raises(UpscaleError, match="does not support fp16"):
        Upscaler(swin, device="cpu", precision="fp16")
    monkeypatch.setattr(engine, "cpu_has_native_bf16", lambda: False)
    assert Upscaler(swin, device="cpu").precision == "fp32"  # emulated bf16 would be slower
    monkeypatch.setattr(engine, "cpu_has_native_bf16", lambda: True)
    assert Upscaler(swin, device="cpu").precision == "fp32"  # SRGAN_DESKTOP_CPU_BF16=off (conftest)
    monkeypatch.delenv("SRGAN_DESKTOP_CPU_BF16")
    assert engine.CPU_AUTO_BF16 and Upscaler(swin, device="cpu").precision == "bf16"
    result = Upscaler(swin, device="cpu", precision="bf16", tile=0).upscale(_image(16, 16))
    assert result.precision == "bf16" and result.rgb.shape == (64, 64, 3)


def test_a_non_sr_model_is_refused(tmp_path):
    torch.save(DnCNN(in_nc=3, out_nc=3, nc=8, nb=17).state_dict(), tmp_path / "denoise.pth")
    with pytest.raises(WeightsError, match="not a super-resolution model"):
        default_resolver().describe(tmp_path / "denoise.pth")


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_malicious_pickle_runs_nothing_on_any_loading_path(tmp_path, model_files):
    marker = tmp_path / "pwned"
    payload = {"params_ema": torch.load(model_files["rrdb", ".pth"], weights_only=True),
               "hook": _Evil((pathlib.Path.touch, (pathlib.Path(marker),)))}
    evil = tmp_path / "evil.pth"
    with open(evil, "wb") as handle:
        pickle.dump(payload, handle)
    resolver = ModelResolver(tmp_path / "none", tmp_path / "user")
    for attempt in (lambda: resolver.describe(evil), lambda: resolver.add(evil),
                    lambda: resolver.method(str(evil)), lambda: resolver.load(f"x={evil}")):
        with pytest.raises(WeightsError, match="could run code"):
            attempt()
    assert main(["upscale", str(tmp_path / "in.png"), "-m", str(evil)]) == 2
    assert not marker.exists() and not (tmp_path / "user").exists()


def test_names_paths_and_method_specs(tmp_path, model_files, tiny_model_file):
    bundled, user = tmp_path / "bundled", tmp_path / "user"
    save_model(make_tiny_generator(), bundled / "srresnet_x4.safetensors", {"name": "srresnet_x4", "scale": 4})
    resolver = ModelResolver(bundled, user)
    assert resolver.find("srresnet").name == "srresnet_x4"
    assert resolver.scale_of("srresnet") == 4
    with pytest.raises(NoWeights):
        resolver.find("srgan")
    with pytest.raises(WeightsError, match="no model called 'edsr'"):
        resolver.find("edsr")
    with pytest.raises(WeightsError, match="not found"):
        resolver.describe(tmp_path / "absent.pth")
    assert resolver.check(model_files["compact2", ".pth"]) == (True, "")
    assert resolver.check(tmp_path / "absent.pth")[0] is False
    entry = resolver.add(model_files["compact2", ".pth"], name="c2")
    assert entry.scale == 2 and entry.path == user / "c2.pth" and entry.source == "user"
    with pytest.raises(WeightsError, match="already a model called 'c2'"):
        resolver.add(model_files["compact2", ".pth"], name="c2")
    assert resolver.describe("c2").scale == 2 and resolver.method("c2").scale == 2
    with pytest.raises(WeightsError, match="×2 model, ×4 was asked for"):
        resolver.method("c2", scale=4)
    assert resolver.method("bicubic", scale=2).scale == 2
    assert resolver.describe(f"nice={model_files['compact', '.pth']}").name == "nice"
    with pytest.raises(WeightsError, match="bundled"):
        resolver.remove("srresnet_x4")
    assert resolver.remove("c2") == user / "c2.pth" and not (user / "c2.pth").exists()
    assert parse_method("bicubic").kind == "bicubic"
    assert parse_method(f"mine={tmp_path}").kind == "results"
    assert parse_method(" k = model.pth ") == MethodSpec("k", "model", "model.pth")  # KEY=FILE, trimmed
    assert parse_method(str(tiny_model_file)).key == "tiny_x4"


# --- the front ends -------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["rrdb", "compact2", "swinir"])
def test_upscale_runs_every_architecture_at_its_scale(tmp_path, model_files, kind, capsys):
    save_image(tmp_path / "in.png", _image(18, 22))
    out = tmp_path / "out.png"
    assert main(["upscale", str(tmp_path / "in.png"), "-m", str(model_files[kind, ".safetensors"]),
                 "-o", str(out), "--tile", "8", "--no-progress"]) == 0
    scale = EXPECTED[kind][1]
    assert load_image(out).rgb.shape == (18 * scale, 22 * scale, 3)


def test_models_command_lists_adds_inspects_and_removes(model_files, capsys):
    path = model_files["swinir", ".pth"]
    assert main(["models", "add", str(path), "--name", "swin"]) == 0
    assert main(["models", "info", "swin"]) == 0
    text = capsys.readouterr().out
    for word in ("SwinIR", "×4", "spandrel", "blended", "sha256", "fp32, bf16"):
        assert word in text, word
    assert main(["models", "list"]) == 0
    assert "swin" in capsys.readouterr().out
    assert main(["models", "remove", "swin"]) == 0
    assert main(["models", "remove", "swin"]) == 2


def test_eval_measures_a_x2_model_with_x2_bicubic_and_results_made_elsewhere(tmp_path, model_files, capsys):
    hr_dir, results = tmp_path / "hr", tmp_path / "results"
    for i in range(2):
        hr = _image(46, 50, seed=i)
        save_image(hr_dir / f"img{i}.png", hr)
        save_image(results / f"img{i}.png", hr[:, :, ::-1])  # an HR-sized "result"
    import json

    assert main(["eval", "--hr", str(hr_dir), "-m", "bicubic", str(model_files["compact2", ".pth"]),
                 f"mine={results}", "--metrics", "psnr", "--no-progress", "--device", "cpu",
                 "--json", str(tmp_path / "e.json")]) == 0
    data = json.loads((tmp_path / "e.json").read_text())["datasets"][0]["methods"]
    assert [(m["method"], m["scale"]) for m in data] == [("bicubic", 2), ("compact2", 2), ("mine", 2)]
    assert data[0]["mean"]["psnr"] > 30  # ×2 bicubic on smooth images


def test_a_stimulus_can_come_from_any_architecture(tmp_path, model_files):
    from mos_util import write_hr_images
    from srgan_desktop.mos.design import make_design, parse_condition
    from srgan_desktop.mos.stimuli import find_sources, generate_stimuli

    sources = find_sources(write_hr_images(tmp_path / "hr", names=("one",)))
    conds = [parse_condition("bicubic"), parse_condition(f"esr={model_files['rrdb', '.pth']}"),
             parse_condition(f"swin={model_files['swinir', '.safetensors']}")]
    design = make_design("any model", list(sources), conds, calibration=0, seed=1)
    _images, stimuli = generate_stimuli(design, sources, tmp_path / "study", device="cpu")
    assert sorted(s.condition for s in stimuli) == ["bicubic", "esr", "swin"]
    shapes = {load_image(tmp_path / "study" / s.file).rgb.shape for s in stimuli}
    assert shapes == {(32, 40, 3)}  # 34×41 cropped to a multiple of 4


def test_a_x2_study_uses_x2_models_and_refuses_a_x4_one(tmp_path, model_files):
    from mos_util import write_hr_images
    from srgan_desktop.mos.design import DesignError, make_design, parse_condition
    from srgan_desktop.mos.stimuli import StimulusError, find_sources, generate_stimuli

    sources = find_sources(write_hr_images(tmp_path / "hr", names=("one",)))
    conds = [parse_condition("nearest"), parse_condition("bicubic"),
             parse_condition(f"compact2={model_files['compact2', '.safetensors']}")]
    design = make_design("x2", list(sources), conds, calibration=0, seed=1, scale=2)
    _images, stimuli = generate_stimuli(design, sources, tmp_path / "study", device="cpu")
    assert sorted(s.condition for s in stimuli) == ["bicubic", "compact2", "nearest"]
    shapes = {load_image(tmp_path / "study" / s.file).rgb.shape for s in stimuli}
    assert shapes == {(34, 40, 3)}  # 34×41 cropped to a multiple of 2
    wrong = make_design("x2 with a x4 model", list(sources),
                        [parse_condition(f"esr={model_files['rrdb', '.pth']}")], calibration=0, seed=1, scale=2)
    with pytest.raises(StimulusError, match="×4.*×2"):
        generate_stimuli(wrong, sources, tmp_path / "wrong", device="cpu")
    with pytest.raises(DesignError, match="×5"):
        make_design("x5", list(sources), conds, calibration=0, scale=5)


def test_a_short_name_finds_the_bundled_model_at_the_scale_asked_else_x4():
    """``-m srresnet`` is srresnet_x4 (the paper's) although srresnet_x2 sorts first; at ×2 it is
    srresnet_x2 (eval ran the ×2 model for ``-m srresnet`` before)."""
    from srgan_desktop.core.models import ModelResolver

    resolver = ModelResolver.default()
    assert resolver.find("srresnet").name == "srresnet_x4"
    assert resolver.find("srresnet", 2).name == "srresnet_x2"
    assert resolver.find("fast").name == "fast_x4"


def test_models_list_probes_user_models_for_damage_and_their_real_scale(tmp_path, model_files, capsys):
    """A truncated file put by hand in the user model folder was listed as "available", and
    every user model as "×?" (issue 21 defect 11)."""
    from srgan_desktop import paths

    user = paths.user_models_dir()
    user.mkdir(parents=True)
    save_model(make_tiny_generator(), user / "tiny.safetensors", {"title": "no scale on this card"})
    (user / "compact.pth").write_bytes(model_files["compact2", ".pth"].read_bytes())
    whole = (user / "tiny.safetensors").read_bytes()
    (user / "cut.safetensors").write_bytes(whole[: len(whole) // 2])
    (user / "half.pth").write_bytes(model_files["compact2", ".pth"].read_bytes()[:5000])
    assert main(["models", "list"]) == 0
    lines = {line.split()[0]: line for line in capsys.readouterr().out.splitlines()[2:]}
    assert "×4" in lines["tiny"] and lines["tiny"].endswith("available")
    assert "×2" in lines["compact"] and "RealESRGAN Compact" in lines["compact"]
    assert "unavailable: damaged or unusable: cut.safetensors" in lines["cut"]
    assert "unavailable: damaged or unusable: half.pth" in lines["half"]
    assert main(["models", "list", "--json"]) == 0
    listed = {e["name"]: e for e in json.loads(capsys.readouterr().out) if e["source"] == "user"}
    assert {n: (e["available"], e["scale"]) for n, e in listed.items()} == {
        "compact": (True, 2), "cut": (False, None), "half": (False, None), "tiny": (True, 4)}
    assert "cut.safetensors: not a valid safetensors file" in listed["cut"]["reason"]
