"""NIQE, the no-reference "naturalness" measure (Mittal, Soundararajan and Bovik, IEEE SPL 2013).

Lower is more natural.  This follows MATLAB's ``niqe`` (and BasicSR's port of it) exactly:

* the image is converted to Y of BT.601 as MATLAB's ``rgb2ycbcr`` does (16–235), ``border``
  pixels are cropped on each side and Y is rounded to integers — the rounding is what makes
  the values agree with MATLAB's;
* the image is cut to whole 96×96 blocks (no overlap); a second scale is made with the
  project's MATLAB-compatible bicubic ×1/2 (:mod:`srgan_desktop.core.resize`) with MATLAB's
  symmetric edges (``edge="symmetric"``, as ``imresize`` itself does; the degradation keeps
  replicated edges, which reproduce the benchmark LR files), whose blocks are 48×48;
* the local statistics are computed in float32, as BasicSR's port does: the reference values
  depend on it (``E[Y²] − μ²`` cancels in float32 on flat areas; in float64 the Set5/Set14
  references are missed by up to 0.37 on images with large flat regions, in float32 by < 0.001);
* at each scale: local mean and deviation with the 7×7 Gaussian window (σ = 7/6, edges
  replicated), normalised coefficients ``(Y − μ) / (σ + 1)``; per block 18 features: the
  generalised Gaussian fit (α, β) and, for the four neighbour products (right, down, two
  diagonals, circular within the block), the asymmetric fit (α, mean, β_l, β_r);
* the blocks' features are fitted by a multivariate Gaussian and compared with the pristine
  model: ``sqrt((μp − μ)ᵀ pinv((Σp + Σ)/2) (μp − μ))``.

The pristine model is LIVE's, shipped as ``resources/metrics/niqe_pristine.json`` (source and
licence beside it).  ``tests/test_niqe.py`` checks every value of the independent reference
set in ``../shared/reference/niqe`` to 0.01.

The moment-matching fits are vectorised over all blocks at once (the α table lookup in chunks
of 1024 rows to bound memory): a 512×512 image takes 41 ms on this project's 2-core EPYC
(``python -m srgan_desktop.core.niqe`` prints the figure; BasicSR's per-block loop: ~1 s).

An image with fewer than 2×2 blocks (a side under 192 pixels after the border) is refused
with :class:`NiqeError` ("too small for NIQE") — never a NaN, a crash or a linear-algebra
error; so is an image whose statistics are undefined (e.g. flat).
"""

from __future__ import annotations

import json
import time
from functools import lru_cache

import numpy as np
from scipy.ndimage import convolve
from scipy.special import gamma

from srgan_desktop import paths
from srgan_desktop.core.metrics import rgb_to_y
from srgan_desktop.core.resize import imresize
from srgan_desktop.errors import SrganDesktopError

__all__ = ["NiqeError", "BLOCK", "MIN_SIDE", "niqe", "niqe_of_y", "pristine_model"]

BLOCK = 96
MIN_BLOCKS = 2          # per side: the covariance of the blocks' features needs a few blocks
MIN_SIDE = BLOCK * MIN_BLOCKS
_SHIFTS = ((0, 1), (1, 0), (1, 1), (1, -1))
_CHUNK = 1024


class NiqeError(SrganDesktopError):
    """NIQE cannot be computed for this image (too small, or statistics undefined)."""


@lru_cache(maxsize=1)
def pristine_model() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(μ (36,), Σ (36, 36), 7×7 Gaussian window) of the pristine model resource."""
    path = paths.resource("metrics", "niqe_pristine.json")
    if not path.is_file():  # SRGAN_DESKTOP_RESOURCES may point at a folder without metrics/
        path = paths.default_resources_dir() / "metrics" / "niqe_pristine.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return (np.asarray(data["mu"], dtype=np.float64), np.asarray(data["cov"], dtype=np.float64),
                np.asarray(data["gaussian_window"], dtype=np.float64))
    except (OSError, ValueError, KeyError) as exc:
        raise NiqeError(f"NIQE's pristine model {path} is missing or damaged: {exc}") from exc


@lru_cache(maxsize=1)
def _gamma_table() -> tuple[np.ndarray, np.ndarray]:
    alphas = np.arange(0.2, 10.001, 0.001)
    r = gamma(2 / alphas) ** 2 / (gamma(1 / alphas) * gamma(3 / alphas))
    return alphas, r


def _aggd(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Asymmetric generalised Gaussian fit of each row of ``x`` (n, m): (α, β_l, β_r).

    Rows without negative (or positive) values give NaN betas, as MATLAB does."""
    neg, pos = x < 0, x > 0
    sq = x * x
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.sqrt((sq * neg).sum(1) / neg.sum(1))
        right = np.sqrt((sq * pos).sum(1) / pos.sum(1))
        gammahat = left / right
        rhat = np.abs(x).mean(1) ** 2 / sq.mean(1)
        rhatnorm = rhat * (gammahat ** 3 + 1) * (gammahat + 1) / (gammahat ** 2 + 1) ** 2
    alphas, r = _gamma_table()
    # argmin over the table, like MATLAB's min(): the first index on ties, 0 for a NaN row
    index = np.concatenate([np.argmin((r[None, :] - rhatnorm[i:i + _CHUNK, None]) ** 2, axis=1)
                            for i in range(0, len(rhatnorm), _CHUNK)])
    alpha = alphas[index]
    factor = np.sqrt(gamma(1 / alpha) / gamma(3 / alpha))
    return alpha, left * factor, right * factor


def _features(blocks: np.ndarray) -> np.ndarray:
    """The 18 features of each block of ``blocks`` (n, h, w) of normalised coefficients."""
    n = blocks.shape[0]
    flat = blocks.reshape(n, -1)
    alpha, bl, br = _aggd(flat)
    columns = [alpha, (bl + br) / 2]
    for shift in _SHIFTS:
        product = (blocks * np.roll(blocks, shift, axis=(1, 2))).reshape(n, -1)
        alpha, bl, br = _aggd(product)
        mean = (br - bl) * gamma(2 / alpha) / gamma(1 / alpha)
        columns += [alpha, mean, bl, br]
    return np.stack(columns, axis=1)


def _blocks(img: np.ndarray, rows: int, cols: int, size: int) -> np.ndarray:
    """(rows·cols, size, size) blocks, column by column (MATLAB's order; it does not matter
    to the statistics but keeps the features comparable with the reference)."""
    cut = img[: rows * size, : cols * size].reshape(rows, size, cols, size)
    return cut.transpose(2, 0, 1, 3).reshape(rows * cols, size, size)


def niqe_of_y(y: np.ndarray) -> float:
    """NIQE of a luma image (float, 0–255, already cropped and rounded)."""
    rows, cols = y.shape[0] // BLOCK, y.shape[1] // BLOCK
    if rows < MIN_BLOCKS or cols < MIN_BLOCKS:
        raise NiqeError(f"too small for NIQE: {y.shape[1]}×{y.shape[0]} has {cols}×{rows} blocks of "
                        f"{BLOCK}×{BLOCK}; it needs at least {MIN_BLOCKS}×{MIN_BLOCKS} "
                        f"({MIN_SIDE} pixels a side after the border)")
    mu_p, cov_p, window = pristine_model()
    img = y[: rows * BLOCK, : cols * BLOCK].astype(np.float32)
    feats = []
    for scale in (1, 2):
        mu = convolve(img, window, mode="nearest")
        sigma = np.sqrt(np.abs(convolve(img * img, window, mode="nearest") - mu * mu))
        feats.append(_features(_blocks((img - mu) / (sigma + 1), rows, cols, BLOCK // scale)))
        if scale == 1:
            img = (imresize(img / np.float32(255), scale=0.5, edge="symmetric").astype(np.float32)
                   * np.float32(255))
    dist = np.concatenate(feats, axis=1)
    complete = dist[~np.isnan(dist).any(axis=1)]
    if len(complete) < 2:
        raise NiqeError("NIQE is undefined for this image: its blocks have no usable statistics "
                        "(flat or nearly flat)")
    with np.errstate(invalid="ignore"):
        mu_d = np.nanmean(dist, axis=0)
    cov_d = np.cov(complete, rowvar=False)
    diff = mu_p - mu_d
    try:
        quality = float(np.sqrt(diff @ np.linalg.pinv((cov_p + cov_d) / 2) @ diff))
    except np.linalg.LinAlgError as exc:
        raise NiqeError(f"NIQE is undefined for this image ({exc})") from exc
    if not np.isfinite(quality):
        raise NiqeError("NIQE is undefined for this image (its statistics are not finite)")
    return quality


def niqe(rgb: np.ndarray, border: int = 0) -> float:
    """NIQE of an RGB (or grayscale) ``uint8`` image on Y, ``border`` pixels cropped per side.

    By convention ``border`` = the SR scale when scoring a super-resolved image."""
    if rgb.ndim not in (2, 3):
        raise NiqeError(f"NIQE needs an image, got an array of shape {rgb.shape}")
    y = rgb_to_y(rgb)
    if border > 0:
        y = y[border:-border, border:-border]
    return niqe_of_y(np.round(y))


def _benchmark(side: int = 512, repeat: int = 3) -> None:
    rng = np.random.default_rng(0)
    from srgan_desktop.core.resize import upscale
    img = upscale(rng.integers(0, 256, (side // 4, side // 4, 3), dtype=np.uint8), 4)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        value = niqe(img)
        times.append(time.perf_counter() - t)
    print(f"NIQE of a {side}×{side} image: {value:.4f}, best of {repeat}: {min(times) * 1000:.0f} ms")


if __name__ == "__main__":
    _benchmark()
