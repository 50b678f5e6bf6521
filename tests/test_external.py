"""Results made elsewhere (``KEY=DIR``): names and sizes are checked, the first mismatch named."""

from __future__ import annotations

import numpy as np
import pytest

from srgan_desktop.__main__ import main
from srgan_desktop.core.external import Expected, ExternalResults, ResultsError
from srgan_desktop.core.images import save_image


def _rgb(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_results_of_lr_times_scale_or_hr_size_are_taken(tmp_path):
    save_image(tmp_path / "a.png", _rgb(40, 48))          # LR 10×12 × 4
    save_image(tmp_path / "bx4.png", _rgb(42, 50, 1))     # the uncropped HR 42×50: cropped to 40×48
    found = ExternalResults.open("mine", tmp_path, 4)
    a = found.load(Expected("a", (10, 12)))
    b = found.load(Expected("b", (10, 12), hr_size=(42, 50)))
    assert a.shape == b.shape == (40, 48, 3)
    assert np.array_equal(b, _rgb(42, 50, 1)[:40, :48])


def test_the_first_wrong_size_is_named(tmp_path):
    save_image(tmp_path / "a.png", _rgb(40, 48))
    save_image(tmp_path / "b.png", _rgb(40, 40))
    save_image(tmp_path / "c.png", _rgb(8, 8))
    found = ExternalResults.open("mine", tmp_path, 4)
    with pytest.raises(ResultsError, match=r"mine: b\.png is 40×40, expected 48×40 \(LR 12×10 × 4\)"):
        found.check([Expected(n, (10, 12)) for n in ("a", "b", "c")])
    with pytest.raises(ResultsError, match="no result for 'd'"):
        found.check([Expected("a", (10, 12)), Expected("d", (10, 12))])
    with pytest.raises(ResultsError, match="not a folder"):
        ExternalResults.open("mine", tmp_path / "absent", 4)


def test_eval_refuses_a_results_folder_with_a_wrong_size_image_by_name(tmp_path, capsys):
    hr, results = tmp_path / "hr", tmp_path / "results"
    for i, name in enumerate(("bird", "face")):
        save_image(hr / f"{name}.png", _rgb(48, 48, i))
    save_image(results / "bird.png", _rgb(48, 48))
    save_image(results / "face.png", _rgb(47, 48))
    assert main(["eval", "--hr", str(hr), "-m", "bicubic", f"mine={results}", "--metrics", "psnr",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("srgan-desktop: error: mine: face.png is 48×47, expected 48×48"), err
    save_image(results / "face.png", _rgb(48, 48, 1))  # the HR itself: PSNR inf
    assert main(["eval", "--hr", str(hr), "-m", "bicubic", f"mine={results}", "--metrics", "psnr",
                 "--no-progress", "--summary"]) == 0
    assert "mine" in capsys.readouterr().out


def test_a_corrupt_or_hostile_result_file_is_refused_in_one_line(tmp_path, capsys):
    from srgan_desktop.errors import SrganDesktopError

    hr, results = tmp_path / "hr", tmp_path / "results"
    save_image(hr / "bird.png", _rgb(48, 48))
    results.mkdir()
    (results / "bird.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00garbage" * 50)  # truncated/corrupt PNG
    with pytest.raises(SrganDesktopError, match="bird.png"):
        ExternalResults.open("mine", results, 4).check([Expected("bird", (12, 12))])
    assert main(["eval", "--hr", str(hr), "-m", "bicubic", f"mine={results}", "--metrics", "psnr",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("srgan-desktop: error:") and "bird.png" in err and "\n" not in err, err
