"""The model registry and the one safe checkpoint loader."""

from __future__ import annotations

import json
import os
import pathlib
import pickle
import shutil
from collections import OrderedDict

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import make_tiny_generator
from srgan_desktop.core.arch import Discriminator, SRResNet
from srgan_desktop.core.models import ModelResolver
from srgan_desktop.__main__ import main
from srgan_desktop.core.weights import WeightsError, load_model, load_state_dict, save_model


def _same_weights(loaded: torch.nn.Module, original: torch.nn.Module) -> bool:
    """Same tensors under the same names (so the same function), and the loaded one in eval mode."""
    sa, sb = loaded.state_dict(), original.state_dict()
    return not loaded.training and list(sa) == list(sb) and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.fixture
def bundled(tmp_path):
    """A bundled folder with one model that has weights and one card without."""
    folder = tmp_path / "weights"
    save_model(make_tiny_generator(), folder / "srresnet_x4.safetensors",
               {"name": "srresnet_x4", "title": "SRResNet (MSE)", "variant": "srresnet-mse"})
    (folder / "srgan_x4.json").write_text(json.dumps({"name": "srgan_x4", "title": "SRGAN"}))
    return folder


# --- registry ----------------------------------------------------------------------------

def test_registry_lists_bundled_cards_and_marks_missing_weights(bundled, tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    torch.save(make_tiny_generator(seed=1).state_dict(), user / "mine.pth")
    (user / "readme.txt").write_text("not a model")
    entries = {e.name: e for e in ModelResolver(bundled, user).entries()}
    assert set(entries) == {"srresnet_x4", "srgan_x4", "mine"}
    assert entries["srresnet_x4"].available and entries["srresnet_x4"].bundled
    assert entries["srresnet_x4"].title == "SRResNet (MSE)"
    gan = entries["srgan_x4"]
    assert not gan.available and gan.path is None and gan.bundled
    assert "srgan_x4.safetensors" in gan.reason and "missing" in gan.reason
    assert entries["mine"].available and not entries["mine"].bundled


def test_registry_finds_short_names_and_refuses_unavailable_ones(bundled):
    registry = ModelResolver(bundled)
    assert registry.find("srresnet").name == "srresnet_x4"
    model, descriptor = registry.load("srresnet")
    assert descriptor.name == "srresnet_x4" and descriptor.num_blocks == 2
    assert descriptor.variant == "srresnet-mse" and not model.training
    with pytest.raises(WeightsError, match="no weights yet"):
        registry.load("srgan")
    with pytest.raises(WeightsError, match="no model called 'edsr'"):
        registry.find("edsr")


def test_registry_of_a_missing_folder_is_empty(tmp_path):
    assert ModelResolver(tmp_path / "nothing", tmp_path / "nothing either").entries() == []


def test_a_broken_card_marks_only_its_model_unavailable(tmp_path, tiny_model_file):
    bundled = tmp_path / "bundled"
    bundled.mkdir()
    (bundled / "broken.json").write_text("{ not json")
    shutil.copy(tiny_model_file, bundled / "tiny_x4.safetensors")
    shutil.copy(tiny_model_file.with_suffix(".json"), bundled / "tiny_x4.json")
    entries = {e.name: e for e in ModelResolver(bundled).entries()}
    assert not entries["broken"].available and "broken.json" in entries["broken"].reason
    assert entries["tiny_x4"].available
    with pytest.raises(WeightsError, match="broken.json"):
        ModelResolver(bundled).load("broken")


def test_a_failed_save_leaves_no_partial_files(tmp_path, monkeypatch):
    import srgan_desktop.core.weights as weights

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(weights, "save_file", full_disk)
    with pytest.raises(OSError):
        weights.save_model(make_tiny_generator(), tmp_path / "m.safetensors", {"name": "m"})
    assert list(tmp_path.iterdir()) == []


# --- loading -----------------------------------------------------------------------------

@pytest.mark.parametrize("wrapper", [None, "state_dict", "params", "params_ema", "model"])
@pytest.mark.parametrize("prefix", ["", "module."])
def test_loads_pth_checkpoints_in_the_usual_containers(tmp_path, wrapper, prefix):
    original = make_tiny_generator(seed=2)
    state = OrderedDict((prefix + k, v) for k, v in original.state_dict().items())
    payload = state if wrapper is None else {wrapper: state, "iteration": 1000}
    path = tmp_path / "ckpt.pth"
    torch.save(payload, path)
    model, descriptor = load_model(path)
    assert (descriptor.num_blocks, descriptor.channels, descriptor.scale) == (2, 64, 4)
    assert descriptor.name == "ckpt"
    assert _same_weights(model, original)


def test_loads_foreign_key_names_by_position(tmp_path):
    original = make_tiny_generator(seed=4)
    renamed = OrderedDict((f"net.layer{i}.param", v) for i, v in enumerate(original.state_dict().values()))
    torch.save(renamed, tmp_path / "foreign.pth")
    model, _ = load_model(tmp_path / "foreign.pth")
    assert _same_weights(model, original)


def test_detects_a_x2_model_and_reads_its_card(tmp_path):
    torch.manual_seed(0)
    path = save_model(SRResNet(num_blocks=3, scale=2), tmp_path / "two.safetensors",
                      {"name": "two_x2", "input_range": [-1, 1], "output_range": [-1, 1]})
    _, descriptor = load_model(path)
    assert (descriptor.scale, descriptor.num_blocks, descriptor.name) == (2, 3, "two_x2")
    assert descriptor.input_range == (-1.0, 1.0) and descriptor.output_range == (-1.0, 1.0)


class _Evil:
    """Unpickling this would run a command (or create a file) of the attacker's choice."""

    def __init__(self, action):
        self.action = action

    def __reduce__(self):
        return self.action


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("how", ["os.system", "pathlib"])
@pytest.mark.parametrize("writer", ["torch.save", "pickle"])
def test_a_malicious_pickle_is_refused_and_runs_nothing(tmp_path, how, writer):
    marker = tmp_path / "pwned"
    action = ((os.system, (f"touch '{marker}'",)) if how == "os.system"
              else (pathlib.Path.touch, (pathlib.Path(marker),)))
    payload = {"state_dict": make_tiny_generator().state_dict(), "hook": _Evil(action)}
    path = tmp_path / "evil.pth"
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        with open(path, "wb") as handle:
            pickle.dump(payload, handle)
    with pytest.raises(WeightsError) as info:
        load_model(path)
    assert "evil.pth was refused" in str(info.value) and "could run code" in str(info.value)
    assert not marker.exists()


def test_a_shape_mismatch_names_the_key(tmp_path):
    state = make_tiny_generator().state_dict()
    state["body.1.body.1.running_mean"] = torch.zeros(32)
    torch.save(state, tmp_path / "odd.pth")
    with pytest.raises(WeightsError, match=r"body\.1\.body\.1\.running_mean.*\(32,\).*\(64,\)"):
        load_model(tmp_path / "odd.pth")


def test_a_missing_tensor_is_reported(tmp_path):
    state = make_tiny_generator().state_dict()
    del state["tail.bias"]
    torch.save(state, tmp_path / "short.pth")
    with pytest.raises(WeightsError, match="tail.bias"):
        load_model(tmp_path / "short.pth")


def test_a_discriminator_is_not_an_srresnet(tmp_path):
    torch.save(Discriminator(input_size=32).state_dict(), tmp_path / "disc.pth")
    with pytest.raises(WeightsError, match="not an SRResNet"):
        load_model(tmp_path / "disc.pth")


@pytest.mark.parametrize("name, content", [
    ("junk.safetensors", b"\x00" * 64),
    ("junk.pth", b"hello, I am text"),
    ("empty.pth", b""),
])
def test_garbage_files_are_weights_errors(tmp_path, name, content):
    (tmp_path / name).write_bytes(content)
    with pytest.raises(WeightsError, match=name.replace(".", r"\.")):
        load_model(tmp_path / name)


def test_non_tensor_payloads_are_refused(tmp_path):
    torch.save({"epoch": 3, "note": "no tensors here"}, tmp_path / "meta.pth")
    with pytest.raises(WeightsError, match="no tensors"):
        load_model(tmp_path / "meta.pth")
    torch.save([1, 2, 3], tmp_path / "list.pth")
    with pytest.raises(WeightsError, match="not a state dict"):
        load_model(tmp_path / "list.pth")
    with pytest.raises(WeightsError, match="not found"):
        load_model(tmp_path / "absent.safetensors")


def test_save_model_round_trip(tmp_path):
    original = make_tiny_generator(seed=5)
    path = save_model(original, tmp_path / "deep" / "m.safetensors", {"name": "m", "title": "M"})
    assert json.loads(path.with_suffix(".json").read_text())["title"] == "M"
    model, descriptor = load_model(path)
    assert descriptor.card["title"] == "M" and descriptor.path == path
    assert _same_weights(model, original)


@pytest.mark.parametrize("poison, reason", [
    (lambda s: s["tail.bias"].fill_(float("nan")), "NaN or infinite"),
    (lambda s: s["tail.weight"].view(-1)[0].fill_(float("inf")), "NaN or infinite"),
    (lambda s: s.__setitem__("tail.bias", s["tail.bias"].to(torch.int8)), "int8 values"),
    (lambda s: s.__setitem__("tail.bias", s["tail.bias"] > 0), "bool values"),
])
@pytest.mark.slow
def test_non_finite_or_integer_weights_are_refused_by_models_add(tmp_path, poison, reason):
    import subprocess
    import sys

    from safetensors.torch import save_file

    state = {k: v.clone().contiguous() for k, v in make_tiny_generator().state_dict().items()}
    poison(state)
    bad = tmp_path / "bad.safetensors"
    save_file(state, str(bad))
    env = dict(os.environ, SRGAN_DESKTOP_DATA=str(tmp_path / "data"))
    env["PYTHONPATH"] = str(pathlib.Path(__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")
    for command in (["models", "add", str(bad)], ["models", "info", str(bad)]):
        done = subprocess.run([sys.executable, "-m", "srgan_desktop", *command], capture_output=True,
                              text=True, env=env, timeout=120)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1, done.stderr
        assert "bad.safetensors" in lines[0] and reason in lines[0] and "tail." in lines[0]
    assert not any((tmp_path / "data").rglob("*.safetensors"))  # nothing was copied


@pytest.mark.parametrize("card_bytes, reason", [
    (b"\xff\xfe{\"name\": 1}", "unreadable"),
    (b"[1, 2, 3]", "not a JSON object"),
    (b"[" * 100_000 + b"]" * 100_000, "unreadable"),
    (b'{"scale": 1000000000}', "'scale' must be an integer"),
    (b'{"output_range": [0, "x"]}', "'output_range'"),
    (b'{"input_range": [0, 1e400]}', "'input_range'"),
    (b'{"title": {"a": 1}}', "'title' is not a string"),
    (b'{"scale": ' + b"9" * 5000 + b"}", "unreadable"),
])
@pytest.mark.slow
def test_a_hostile_card_in_the_user_folder_breaks_nothing_else(tmp_path, card_bytes, reason):
    """A card placed by hand beside a user model: ``models list`` still lists every model, the
    bundled SRResNet still upscales, and the model with the card is refused in one line."""
    import subprocess
    import sys

    from srgan_desktop.core.weights import save_model

    models = tmp_path / "data" / "models"
    weights = save_model(make_tiny_generator(), models / "mine.safetensors", {"name": "mine"})
    weights.with_suffix(".json").write_bytes(card_bytes)
    env = dict(os.environ, SRGAN_DESKTOP_DATA=str(tmp_path / "data"))
    env["PYTHONPATH"] = str(pathlib.Path(__file__).resolve().parents[1]) + os.pathsep + env.get("PYTHONPATH", "")

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "srgan_desktop", *args], capture_output=True, text=True,
                              env=env, timeout=300, cwd=tmp_path)

    listed = cli("models", "list")
    assert listed.returncode == 0 and "Traceback" not in listed.stderr, listed.stderr
    assert "srresnet_x4" in listed.stdout and "mine" in listed.stdout
    info = cli("models", "info", str(weights))
    lines = info.stderr.strip().splitlines()
    assert info.returncode == 2 and len(lines) == 1 and "mine.json" in lines[0] and reason in lines[0], info.stderr
    image = tmp_path / "in.png"
    Image.fromarray(np.full((12, 12, 3), 90, np.uint8)).save(image)
    done = cli("upscale", str(image), "-m", "srresnet", "--output", str(tmp_path / "out.png"), "--no-progress")
    assert done.returncode == 0 and (tmp_path / "out.png").is_file(), done.stderr


@pytest.mark.parametrize("value", [-1, 65, 1.5, True, "8", 10 ** 9])
def test_a_card_edge_pad_out_of_range_is_refused_in_one_line(tmp_path, value):
    from srgan_desktop.core.weights import WeightsError, read_card

    card = tmp_path / "mine.json"
    card.write_text(json.dumps({"name": "mine", "edge_pad": value}))
    with pytest.raises(WeightsError, match="mine.json: 'edge_pad' must be an integer from 0 to 64"):
        read_card(card)


def test_a_card_edge_pad_reaches_the_descriptor(tmp_path):
    from srgan_desktop.core.weights import load_model, save_model

    path = save_model(make_tiny_generator(), tmp_path / "mine.safetensors", {"name": "mine", "edge_pad": 6})
    assert load_model(path)[1].edge_pad == 6


@pytest.mark.parametrize("name, content, says", [
    ("notes.pth", b"model weights: see README\n", "notes.pth is a plain text file, not model weights"),
    ("lfs.pth", b"version https://git-lfs.github.com/spec/v1\noid sha256:ab12\nsize 6291456\n",
     "lfs.pth is a plain text file, not model weights"),
    ("noise.pt", bytes(range(256)) * 4, "noise.pt is neither a PyTorch checkpoint nor a safetensors file"),
])
def test_a_file_that_is_not_a_pickle_is_not_said_to_run_code(tmp_path, capsys, name, content, says):
    """These used to be "refused: … loading it could run code" (the weights-only unpickler's
    refusal of their first byte)."""
    (tmp_path / name).write_bytes(content)
    assert main(["models", "info", str(tmp_path / name)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0] and "could run code" not in err[0]


def test_a_safetensors_file_with_another_suffix_says_what_it_is(tmp_path, capsys):
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in make_tiny_generator().state_dict().items()},
              str(tmp_path / "model.bin"))
    assert main(["models", "info", str(tmp_path / "model.bin")]) == 2
    err = capsys.readouterr().err
    assert "model.bin is a safetensors file, not a PyTorch checkpoint: rename it to model.safetensors" in err
    torch.save(make_tiny_generator().state_dict(), tmp_path / "wrong.safetensors")
    assert main(["models", "info", str(tmp_path / "wrong.safetensors")]) == 2
    assert "wrong.safetensors is a PyTorch zip checkpoint, not a safetensors file; rename it to " \
           "wrong.pth" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_a_hostile_pickle_says_it_is_a_pickle(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"w": torch.zeros(2), "hook": _Evil((os.getcwd, ()))}, path)
    with pytest.raises(WeightsError, match="it is a PyTorch zip checkpoint holding Python objects"):
        load_state_dict(path)
    with open(path, "wb") as handle:
        pickle.dump({"w": torch.zeros(2), "hook": _Evil((os.getcwd, ()))}, handle)
    with pytest.raises(WeightsError, match="it is a Python pickle holding Python objects"):
        load_state_dict(path)


def _recompress(source, target, claim: int | None = None) -> None:
    """``source``'s zip members deflated into ``target``; ``claim``: then patch the central
    directory to say the first member is ``claim`` bytes uncompressed."""
    import zipfile

    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, src.read(info.filename))
    if claim is not None:
        data = bytearray(target.read_bytes())
        at = data.index(b"PK\x01\x02")                       # first central directory entry
        data[at + 24:at + 28] = claim.to_bytes(4, "little")  # its uncompressed size
        target.write_bytes(bytes(data))


def test_a_zip_bomb_checkpoint_is_refused_from_its_directory(tmp_path, capsys):
    """A checkpoint whose members deflate 32 MB of zeros into ~40 kB, and one whose directory
    claims 4 GB: refused from the zip directory before torch extracts anything."""
    torch.save({"w": torch.zeros(8 << 20)}, tmp_path / "plain.pth")
    _recompress(tmp_path / "plain.pth", tmp_path / "bomb.pth")
    assert (tmp_path / "bomb.pth").stat().st_size < 1 << 20
    _recompress(tmp_path / "plain.pth", tmp_path / "liar.pth", claim=0xFFFF0000)
    for name, claimed in (("bomb.pth", "33,554,"), ("liar.pth", "4,328,")):
        assert main(["models", "info", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and f"{name} was refused: its zip directory claims {claimed}" in err[0]
        assert "zip bomb" in err[0]
