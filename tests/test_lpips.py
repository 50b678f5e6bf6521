"""LPIPS: the lpips package's network with a backbone from a user file or torchvision's cache
(a randomly initialised torchvision network stands in for the ImageNet weights, which exist
nowhere here), the clear refusal without one, no download, no unpickling of code."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from srgan_desktop.core import lpips_metric
from srgan_desktop.core.backbones import BackboneWeightsError, cache_path, load_backbone_features
from srgan_desktop.core.lpips_metric import (LpipsError, LpipsWeightsError, load_lpips, lpips_distance,
                                             lpips_missing)
from srgan_desktop.errors import SrganDesktopError


def _random_backbone(path: Path, arch: str = "alexnet", seed: int = 0, features_only: bool = False) -> Path:
    torch.manual_seed(seed)
    model = getattr(torchvision.models, arch)(weights=None)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.features.state_dict() if features_only else model.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def alex_files(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("backbones")
    return (_random_backbone(folder / "alex_seed0.pth", seed=0),
            _random_backbone(folder / "alex_seed1.pth", seed=1, features_only=True))


@pytest.fixture
def empty_torch_home(tmp_path, monkeypatch) -> Path:
    home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(home))

    def no_download(*args, **kwargs):
        raise AssertionError("LPIPS tried to download something")

    monkeypatch.setattr(torch.hub, "download_url_to_file", no_download)
    return home


def _pair(side: int = 48, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
    b = np.clip(a.astype(np.int16) + rng.integers(-40, 41, a.shape), 0, 255).astype(np.uint8)
    return a, b


def test_lpips_uses_the_backbone_file(alex_files):
    first, second = alex_files
    a, b = _pair()
    model = load_lpips("alex", first)
    assert model.backbone == first
    torch.manual_seed(0)
    expected_conv1 = torchvision.models.alexnet(weights=None).features[0].weight
    assert torch.equal(model.module.net.slice1[0].weight, expected_conv1)
    value = model.distance(a, b)
    assert value > 0 and np.isfinite(value)
    assert model.distance(a, a) == 0.0
    other = lpips_distance(a, b, backbone=second)  # features-only state dict, another seed
    assert other > 0 and abs(other - value) > 1e-4
    assert load_lpips("alex", second) is load_lpips("alex", second)  # built once, reused


def test_lpips_equals_the_packages_own_network(alex_files, monkeypatch):
    """Same value as ``lpips.LPIPS`` building its AlexNet itself from the same torchvision
    model, with its heads loaded by the package."""
    import lpips

    first, _ = alex_files
    a, b = _pair(64, seed=3)
    torch.manual_seed(0)
    injected = torchvision.models.alexnet(weights=None)
    monkeypatch.setattr(lpips.pretrained_networks.tv, "alexnet", lambda *args, **kwargs: injected)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = lpips.LPIPS(net="alex", pnet_rand=True, verbose=False).eval()
    with torch.no_grad():
        to = lambda x: torch.from_numpy(x.transpose(2, 0, 1)[None].astype(np.float32) / 127.5 - 1)  # noqa: E731
        expected = float(reference(to(a), to(b)).flatten()[0])
    assert load_lpips("alex", first).distance(a, b) == pytest.approx(expected, rel=1e-5, abs=1e-6)


@pytest.mark.slow
def test_lpips_vgg_reads_torchvisions_cache(tmp_path, monkeypatch):
    home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    _random_backbone(cache_path("vgg16"), "vgg16", features_only=True)
    assert cache_path("vgg16").is_relative_to(home)
    assert lpips_missing("vgg") is None
    a, b = _pair(32)
    model = load_lpips("vgg")
    assert model.backbone == cache_path("vgg16")
    assert model.distance(a, b) > 0 and model.distance(b, b) == 0.0


def test_without_backbone_weights_the_error_says_what_and_where(empty_torch_home, tmp_path):
    with pytest.raises(LpipsWeightsError) as info:
        load_lpips("alex")
    message = str(info.value)
    assert isinstance(info.value, SrganDesktopError) and isinstance(info.value, BackboneWeightsError)
    assert "alexnet-owt-7be5be79.pth" in message and str(empty_torch_home / "hub" / "checkpoints") in message
    assert "--lpips-backbone" in message and "\n" not in message
    reason = lpips_missing("alex")
    assert reason is not None and "alexnet-owt-7be5be79.pth" in reason
    missing = tmp_path / "nowhere" / "alexnet.pth"
    with pytest.raises(LpipsWeightsError, match="nowhere"):
        load_lpips("alex", missing)
    assert "nowhere" in lpips_missing("alex", missing)


def test_a_wrong_backbone_file_is_refused(tmp_path, empty_torch_home):
    wrong = _random_backbone(tmp_path / "vgg16.pth", "vgg16", features_only=True)
    with pytest.raises(LpipsWeightsError, match="does not match torchvision's AlexNet"):
        load_lpips("alex", wrong)
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(LpipsWeightsError, match="not a readable weights-only AlexNet"):
        load_lpips("alex", junk)
    # a zip bomb (32 MB of zeros deflated to ~40 kB) is refused from its zip directory
    from test_weights import _recompress

    torch.save({"features.0.weight": torch.zeros(8 << 20)}, tmp_path / "plain.pth")
    _recompress(tmp_path / "plain.pth", tmp_path / "bomb.pth")
    with pytest.raises(LpipsWeightsError, match=r"bomb\.pth was refused: its zip directory claims"):
        load_lpips("alex", tmp_path / "bomb.pth")


class _TouchOnUnpickle:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


@pytest.mark.parametrize("where", ["file", "cache"])
def test_a_malicious_pickle_is_refused_and_runs_nothing(tmp_path, empty_torch_home, where):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth" if where == "file" else cache_path("alexnet")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"features.0.weight": torch.zeros(1), "hook": _TouchOnUnpickle(marker)}, path)
    with pytest.raises(LpipsWeightsError, match="weights-only"):
        load_lpips("alex", path if where == "file" else None)
    assert not marker.exists()


def test_images_lpips_cannot_measure_get_a_reason(alex_files):
    model = load_lpips("alex", alex_files[0])
    a, b = _pair(30)
    with pytest.raises(LpipsError, match="too small for LPIPS"):
        model.distance(a, b)
    big, _ = _pair(48)
    with pytest.raises(LpipsError, match="differ in size"):
        model.distance(big, a)
    with pytest.raises(LpipsError, match="after a border of 4"):
        model.distance(*_pair(36), border=4)
    gray = big[..., 0]
    assert model.distance(gray, np.repeat(gray[..., None], 3, axis=2)) == 0.0  # gray = RGB repeated
    rgba = np.dstack([big, np.full(big.shape[:2], 7, np.uint8)])
    assert model.distance(rgba, big) == 0.0                                    # alpha dropped


def test_the_trainer_shares_the_backbone_loader(tmp_path, empty_torch_home):
    from trainer.losses import VGGWeightsError, load_vgg19_features

    with pytest.raises(VGGWeightsError, match="vgg19-dcbb9e9d.pth") as info:
        load_vgg19_features(None, 9)
    assert isinstance(info.value, BackboneWeightsError) and "--content-loss mse" in str(info.value)
    alex = load_backbone_features("alexnet", _random_backbone(tmp_path / "a.pth"), end=5)
    assert len(alex) == 5 and not any(p.requires_grad for p in alex.parameters())
    assert lpips_metric.LPIPS_NETS["alex"] == "alexnet"
