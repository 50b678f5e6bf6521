"""Shared test set-up: headless Qt, a private user-data folder, tiny real models."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# fp32 on every CPU, subprocesses included: exact comparisons must not depend on whether the
# CI machine has native bf16 (test_models checks the auto-bf16 rule itself)
os.environ["SRGAN_DESKTOP_CPU_BF16"] = "off"

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DATASETS = (REPO.parent / "shared" / "datasets").resolve()

torch.set_num_threads(1)  # steady timings on small CI machines, whatever else runs


@pytest.fixture(autouse=True)
def _private_user_data(tmp_path_factory, monkeypatch):
    """Never touch the real user's data folder or settings."""
    data = tmp_path_factory.mktemp("userdata")
    monkeypatch.setenv("SRGAN_DESKTOP_DATA", str(data))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(data / "config"))
    yield


@pytest.fixture
def datasets() -> Path:
    if not (DATASETS / "Set5" / "HR").is_dir():
        pytest.skip(f"benchmark datasets not found at {DATASETS}")
    return DATASETS


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def make_tiny_generator(num_blocks: int = 2, seed: int = 0):
    """A small real SRResNet with non-trivial BN statistics (outputs not all clipped)."""
    from srgan_desktop.core.arch import SRResNet

    torch.manual_seed(seed)
    model = SRResNet(num_blocks=num_blocks)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.05, 0.05)
            module.running_var.uniform_(0.8, 1.2)
    with torch.no_grad():
        model.tail.weight.mul_(0.1)
        model.tail.bias.fill_(0.5)
    return model.eval()


@pytest.fixture
def tiny_model_file(tmp_path) -> Path:
    """A 2-block SRResNet saved as safetensors with a model card."""
    from srgan_desktop.core.weights import save_model

    return save_model(make_tiny_generator(), tmp_path / "tiny_x4.safetensors",
                      {"name": "tiny_x4", "title": "Tiny test model", "variant": "srresnet-mse"})

