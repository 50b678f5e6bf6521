"""The PyInstaller packaging, checked without building: the spec, the bundled resources, and the
resource locator in a (simulated) frozen app.  The real build + smoke test is scripts/build_app.sh.
"""

from __future__ import annotations

import ast
import inspect
import json
import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest

from srgan_desktop import paths

REPO = Path(__file__).resolve().parent.parent
SPEC = REPO / "srgan-desktop.spec"
RESOURCES = REPO / "resources"

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


class _Recorder:
    """Stands in for PyInstaller's Analysis/PYZ/EXE/COLLECT: records its arguments."""

    calls: list[_Recorder]

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs
        type(self).calls.append(self)


def _spec_namespace(monkeypatch, env: dict[str, str] | None = None) -> dict:
    """Execute the spec with stub PyInstaller classes and helpers; return its namespace."""
    for key, value in (env or {}).items():
        monkeypatch.setenv(key, value)
    copied: list[str] = []

    def copy_metadata(name):
        copied.append(name)
        return []

    hooks = types.ModuleType("PyInstaller.utils.hooks")
    hooks.copy_metadata = copy_metadata
    hooks.collect_submodules = lambda package, **kw: [package]
    pyinstaller = types.ModuleType("PyInstaller")
    utils = types.ModuleType("PyInstaller.utils")
    pyinstaller.utils, utils.hooks = utils, hooks
    for name, module in (("PyInstaller", pyinstaller), ("PyInstaller.utils", utils),
                         ("PyInstaller.utils.hooks", hooks)):
        monkeypatch.setitem(sys.modules, name, module)

    class Analysis(_Recorder):
        calls = []

        def __init__(self, scripts, **kwargs):
            super().__init__(scripts, **kwargs)
            # what PyInstaller does with (source, destination folder) pairs
            self.datas = [(f"{dest}/{Path(src).name}", src, "DATA") for src, dest in kwargs["datas"]]
            self.binaries, self.pure, self.scripts = [], [], []

    class PYZ(_Recorder):
        calls = []

    class EXE(_Recorder):
        calls = []

    class COLLECT(_Recorder):
        calls = []

    namespace = {"__name__": "__main__", "__file__": str(SPEC), "SPECPATH": str(REPO),
                 "Analysis": Analysis, "PYZ": PYZ, "EXE": EXE, "COLLECT": COLLECT}
    exec(compile(SPEC.read_text(encoding="utf-8"), str(SPEC), "exec"), namespace)
    namespace["_copied_metadata"] = copied
    return namespace


@pytest.fixture
def spec(monkeypatch) -> dict:
    monkeypatch.delenv("SRGAN_DESKTOP_CUDA", raising=False)
    return _spec_namespace(monkeypatch)


def _card_names() -> list[str]:
    return sorted(p.stem for p in (RESOURCES / "weights").glob("*.json"))


def _samples_listed() -> list[str]:
    text = (RESOURCES / "samples" / "SOURCES.md").read_text(encoding="utf-8")
    return sorted(set(re.findall(r"^\|\s*`([^`]+\.(?:png|jpe?g))`", text, flags=re.MULTILINE)))


# --- the spec --------------------------------------------------------------------------------

def test_spec_parses_and_builds_a_one_folder_gui_app(spec):
    analysis, = spec["Analysis"].calls
    exe, = spec["EXE"].calls
    collect, = spec["COLLECT"].calls
    entry = Path(analysis.args[0][0])
    assert entry == REPO / "srgan_desktop" / "__main__.py" and entry.is_file()
    assert "def main(" in entry.read_text(encoding="utf-8")
    assert exe.kwargs["exclude_binaries"] is True  # one-folder: binaries go to COLLECT
    assert exe.kwargs["name"] == collect.kwargs["name"] == "srgan-desktop"
    assert collect.args[0] is exe
    assert spec["ICON"].is_file() and spec["ICON"].suffix == ".ico"
    assert not exe.kwargs.get("upx") and not collect.kwargs.get("upx")
    # subcommands are imported by name at run time: they must be hidden imports
    assert "srgan_desktop.commands" in analysis.kwargs["hiddenimports"]
    # the frozen app can read its own version
    assert "srgan-desktop" in spec["_copied_metadata"]
    for hook in analysis.kwargs["runtime_hooks"]:
        assert Path(hook).is_file()


def test_spec_bundles_torchvisions_compiled_operators(spec):
    """Without them the frozen app's ``import lpips`` (and spandrel) dies at start-up."""
    import torchvision

    analysis, = spec["Analysis"].calls
    folder = Path(torchvision.__file__).parent
    ops = {Path(src).name: dest for src, dest in analysis.kwargs["binaries"]}
    expected = {p.name for p in folder.glob("_C*.so")}
    assert expected, f"no compiled operators in {folder}"
    assert set(ops) == expected and set(ops.values()) == {"torchvision"}


def test_spec_without_spandrel_excludes_it(monkeypatch):
    namespace = _spec_namespace(monkeypatch, {"SRGAN_DESKTOP_SPANDREL": "off"})
    analysis, = namespace["Analysis"].calls
    assert {"spandrel", "einops"} <= set(analysis.kwargs["excludes"])
    assert not any(name.startswith("spandrel") for name in analysis.kwargs["hiddenimports"])


def test_spec_is_valid_python_without_pyinstaller():
    tree = ast.parse(SPEC.read_text(encoding="utf-8"))
    called = {node.func.id for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
    assert {"Analysis", "PYZ", "EXE", "COLLECT"} <= called


def test_spec_collects_every_resource_and_only_resources(spec):
    analysis, = spec["Analysis"].calls
    collected = {dest: Path(src) for dest, src, _ in analysis.datas}
    import lpips  # its published linear heads are bundled where lpips.__file__ finds them

    heads = Path(lpips.__file__).parent / "weights" / "v0.1"
    for net in ("alex", "vgg"):
        assert collected.pop(f"lpips/weights/v0.1/{net}.pth") == heads / f"{net}.pth"
    assert not any(dest.startswith("lpips/") for dest in collected)
    for dest, src in collected.items():
        assert src.is_file(), f"the spec collects a missing file: {src}"
        assert dest.startswith(spec["RESOURCES_DEST"] + "/"), dest
        assert src.resolve().is_relative_to(RESOURCES.resolve()), src
        assert "__pycache__" not in src.parts and src.suffix not in (".py", ".pyc", ".pt", ".pth")
    expected = (
        [f"weights/{p.name}" for p in (RESOURCES / "weights").iterdir()
         if p.suffix in (".json", ".safetensors")]
        + [f"samples/{name}" for name in _samples_listed()] + ["samples/SOURCES.md"]
        + [f"icons/{p.name}" for p in (RESOURCES / "icons").iterdir() if p.suffix in (".png", ".ico")]
        + ["metrics/niqe_pristine.json", "metrics/SOURCES.md", "metrics/LICENSE-BasicSR.txt"]
        + ["fonts/DejaVuSans.ttf", "fonts/LICENSE_DejaVu.txt"]
    )
    for rel in expected:
        assert f"resources/{rel}" in collected, f"resources/{rel} is not bundled"


def test_spec_excludes_the_big_unused_modules(spec):
    excludes = set(spec["EXCLUDES"])
    must = {"trainer", "tests", "tkinter", "matplotlib", "IPython", "triton",
            "PySide6.QtWebEngineCore", "PySide6.QtWebEngineWidgets",
            "PySide6.Qt3DCore", "PySide6.QtQuick", "PySide6.QtQml", "PySide6.QtMultimedia",
            "PyQt5", "PyQt6", "PySide2"}
    assert must <= excludes, must - excludes
    analysis, = spec["Analysis"].calls
    assert set(analysis.kwargs["excludes"]) == excludes
    # torchvision's start-up imports these (test_excluded_modules_are_not_needed_at_run_time)
    assert not {"sympy", "torch._inductor", "torch.onnx"} & excludes
    assert "torch/_inductor/" not in spec["DROP_ALWAYS"]  # its config reads its own source


def _excluded(name: str, excludes) -> bool:
    return any(name == e or name.startswith(e + ".") for e in excludes)


def test_app_code_imports_no_excluded_module(spec):
    """A module the spec excludes must never be imported by the app (trainer/ may: not bundled)."""
    offenders = []
    for path in (REPO / "srgan_desktop").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                continue
            offenders += [f"{path.relative_to(REPO)}:{node.lineno} {name}" for name in names
                          if _excluded(name, spec["EXCLUDES"])]
    assert not offenders, offenders


@pytest.mark.slow
def test_excluded_modules_are_not_needed_at_run_time(spec):
    """Import every app module and run a tiny network with the excluded modules made unimportable,
    as they are in the frozen app (a fresh interpreter, so nothing is imported beforehand)."""
    code = f"""
import importlib, importlib.abc, importlib.util, pkgutil, sys
EXCLUDES = {sorted(spec["EXCLUDES"])!r}
{inspect.getsource(_excluded)}
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if _excluded(name, EXCLUDES):
            raise ModuleNotFoundError(f"No module named {{name!r}} (excluded from the bundle)", name=name)
sys.meta_path.insert(0, Block())
_find_spec = importlib.util.find_spec
def find_spec(name, package=None):  # probing an absent module gives None, as in the bundle
    if _excluded(name, EXCLUDES):
        return None
    return _find_spec(name, package)
importlib.util.find_spec = find_spec
import srgan_desktop
names = ["srgan_desktop.__main__", "srgan_desktop.paths"] + [
    m.name for m in pkgutil.walk_packages(srgan_desktop.__path__, "srgan_desktop.")]
for name in names:
    importlib.import_module(name)
from srgan_desktop.__main__ import build_parser
build_parser()  # imports every subcommand
import torch
from srgan_desktop.core.arch import SRResNet
with torch.no_grad():
    out = SRResNet(num_blocks=1).eval()(torch.rand(1, 3, 8, 8))
assert out.shape == (1, 3, 32, 32), out.shape
# the third-party paths load torchvision (its ops import torch.onnx): LPIPS and spandrel
import lpips
import numpy as np
from srgan_desktop.commands.selftest import spandrel_check
check, rgb = spandrel_check(np.random.default_rng(0).integers(0, 256, (8, 8, 3), dtype=np.uint8))
assert check.ok and rgb.shape == (32, 32, 3), check.error
print("OK", len(names))
"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                            cwd=REPO, timeout=300)
    assert result.returncode == 0 and "OK" in result.stdout, result.stderr[-3000:]


def _toc(*entries):
    return [(dest, src, kind) for dest, src, kind in entries]


def test_trim_keeps_linked_nvidia_libraries_and_drops_dlopened_ones(spec, monkeypatch):
    needed = {
        "/x/torch/lib/libtorch_cuda.so": ["libcudnn.so.9", "libcublas.so.13", "libc.so.6"],
        "/x/nvidia/cublas/lib/libcublas.so.13": ["libcublasLt.so.13"],
    }
    monkeypatch.setitem(spec, "elf_needed", lambda path: needed.get(path, []))
    binaries = _toc(
        ("torch/lib/libtorch_cuda.so", "/x/torch/lib/libtorch_cuda.so", "BINARY"),
        ("torch/lib/libtorch_cuda_linalg.so", "/x/torch/lib/libtorch_cuda_linalg.so", "BINARY"),
        ("nvidia/cudnn/lib/libcudnn.so.9", "/x/nvidia/cudnn/lib/libcudnn.so.9", "BINARY"),
        ("nvidia/cudnn/lib/libcudnn_engines_precompiled.so.9",
         "/x/nvidia/cudnn/lib/libcudnn_engines_precompiled.so.9", "BINARY"),
        ("nvidia/cublas/lib/libcublas.so.13", "/x/nvidia/cublas/lib/libcublas.so.13", "BINARY"),
        ("nvidia/cublas/lib/libcublasLt.so.13", "/x/nvidia/cublas/lib/libcublasLt.so.13", "BINARY"),
        ("nvidia/cusolver/lib/libcusolver.so.12", "/x/nvidia/cusolver/lib/libcusolver.so.12", "BINARY"),
    )
    datas = _toc(
        ("resources/weights/srresnet_x4.json", "/x/resources/weights/srresnet_x4.json", "DATA"),
        ("torch/include/ATen/ATen.h", "/x/torch/include/ATen/ATen.h", "DATA"),
        ("libcusolver.so.12", "nvidia/cusolver/lib/libcusolver.so.12", "SYMLINK"),
        ("libcudnn.so.9", "nvidia/cudnn/lib/libcudnn.so.9", "SYMLINK"),
    )
    kept_bin, kept_data, dropped = spec["trim_toc"](binaries, datas, "trim")
    kept = {e[0] for e in kept_bin + kept_data}
    assert kept == {"torch/lib/libtorch_cuda.so", "nvidia/cudnn/lib/libcudnn.so.9",
                    "nvidia/cublas/lib/libcublas.so.13", "nvidia/cublas/lib/libcublasLt.so.13",
                    "resources/weights/srresnet_x4.json", "libcudnn.so.9"}
    assert {d for d, _ in dropped} == {e[0] for e in binaries + datas} - kept

    kept_bin, kept_data, _ = spec["trim_toc"](binaries, datas, "full")
    kept = {e[0] for e in kept_bin + kept_data}
    assert kept == {e[0] for e in binaries + datas} - {"torch/include/ATen/ATen.h"}


def test_elf_reader_finds_the_links_of_a_real_library(spec):
    import torch

    needed = spec["elf_needed"](torch._C.__file__)
    if not needed:
        pytest.skip("not a 64-bit little-endian ELF platform")
    assert "libtorch_python.so" in needed
    assert spec["elf_needed"](str(SPEC)) == []


def test_cuda_mode_is_validated(monkeypatch):
    with pytest.raises(SystemExit, match="SRGAN_DESKTOP_CUDA"):
        _spec_namespace(monkeypatch, {"SRGAN_DESKTOP_CUDA": "sometimes"})


# --- the resources themselves ----------------------------------------------------------------

def test_every_model_card_is_valid_json_and_every_weights_file_has_a_card():
    cards = _card_names()
    assert cards, "no model cards in resources/weights"
    for name in cards:
        card = json.loads((RESOURCES / "weights" / f"{name}.json").read_text(encoding="utf-8"))
        assert isinstance(card, dict) and card, name
        assert card.get("name", name) == name, f"{name}.json names another model"
    for weights in (RESOURCES / "weights").glob("*.safetensors"):
        assert weights.stem in cards, f"{weights.name} has no model card"
        with weights.open("rb") as fh:  # safetensors: u64 header length, then a JSON header
            length = int.from_bytes(fh.read(8), "little")
            assert 0 < length < 10_000_000 and json.loads(fh.read(length)), weights.name


def test_every_listed_sample_exists_and_every_sample_is_listed():
    listed = _samples_listed()
    assert "astronaut_lr.png" in listed
    on_disk = sorted(p.name for p in (RESOURCES / "samples").iterdir()
                     if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    assert listed == on_disk


def test_icons_are_small_valid_images():
    png = RESOURCES / "icons" / "srgan-desktop.png"
    ico = RESOURCES / "icons" / "srgan-desktop.ico"
    assert png.read_bytes()[:8] == PNG_MAGIC
    assert ico.read_bytes()[:4] == b"\x00\x00\x01\x00"  # ICO header: reserved 0, type 1
    assert png.stat().st_size < 100_000 and ico.stat().st_size < 200_000


# --- the resource locator ----------------------------------------------------------------------

def test_resources_dir_from_source_is_the_spec_source(spec, monkeypatch):
    monkeypatch.delenv("SRGAN_DESKTOP_RESOURCES", raising=False)
    monkeypatch.delattr(sys, "frozen", raising=False)
    assert paths.resources_dir() == spec["ROOT"] / "resources" == RESOURCES
    for rel in ("weights", "samples", "icons"):
        assert (paths.resources_dir() / rel).is_dir()


def test_resources_dir_when_frozen_is_where_the_spec_puts_resources(spec, monkeypatch, tmp_path):
    monkeypatch.delenv("SRGAN_DESKTOP_RESOURCES", raising=False)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(tmp_path / "_internal"), raising=False)
    assert paths.is_frozen()
    bundle = tmp_path / "_internal"
    assert paths.resources_dir() == bundle / spec["RESOURCES_DEST"]
    assert paths.weights_dir() == bundle / "resources" / "weights"
    assert paths.samples_dir() == bundle / "resources" / "samples"
    # and every file the spec collects is found there under its bundle name
    analysis, = spec["Analysis"].calls
    for dest, _src, _kind in analysis.datas:
        if dest.startswith("resources/"):
            assert paths.resource(*dest.split("/")[1:]) == bundle / dest


# --- the scripts -------------------------------------------------------------------------------

@pytest.mark.parametrize("script", ["build_app.sh", "smoke_frozen.sh"])
def test_build_scripts_are_executable_bash(script):
    path = REPO / "scripts" / script
    assert os.access(path, os.X_OK), f"{path} is not executable"
    subprocess.run(["bash", "-n", str(path)], check=True)
    assert "srgan-desktop.spec" in (REPO / "scripts" / "build_app.sh").read_text(encoding="utf-8")
