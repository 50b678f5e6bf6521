"""Image-quality measures of the SR literature, computed the standard way.

* PSNR and SSIM on the Y channel of BT.601 YCbCr (``Y = 16 + 65.481 R + 128.553 G + 24.966 B``,
  RGB in [0, 1], Y kept as a float in [0, 255]), with ``border`` pixels removed on every side
  (the scale factor, by convention).  SSIM uses an 11×11 Gaussian window with σ = 1.5 and
  ``C1 = (0.01·255)²``, ``C2 = (0.03·255)²``, evaluated on the valid part of the image, as in
  BasicSR and the MATLAB reference code.
* A texture measure: the share of spectral energy of Y above a quarter of the Nyquist
  frequency.  Its ratio to the HR image's (:func:`texture_ratio`) is 1 for a perfect texture
  match, below 1 for an over-smooth result (typical of MSE-trained SR) and above 1 for noise —
  or for a grid, which it counts as texture.
* A grid measure: the share of Y's spectral energy at the sub-pixel lattice frequencies
  ``(k/s, l/s)``; its ratio to the HR image's (:func:`grid_ratio`) is about 1 for an output
  without a pixel-shuffle grid and grows with a visible grid (a GAN's typical artifact).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

__all__ = ["rgb_to_y", "psnr", "ssim", "colour_cast", "high_frequency_share", "texture_ratio", "grid_score", "grid_ratio",
           "lattice_mask", "ImageScores", "score"]


def rgb_to_y(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma of an RGB ``uint8`` (or float in [0, 255]) image, as float64 in [16, 235]."""
    if rgb.ndim == 2:
        return rgb.astype(np.float64)
    x = rgb[..., :3].astype(np.float64) / 255.0
    return 16.0 + 65.481 * x[..., 0] + 128.553 * x[..., 1] + 24.966 * x[..., 2]


def _prepare(a: np.ndarray, b: np.ndarray, border: int) -> tuple[np.ndarray, np.ndarray]:
    if a.shape[:2] != b.shape[:2]:
        raise ValueError(f"images differ in size: {a.shape[:2]} vs {b.shape[:2]}")
    ya, yb = rgb_to_y(a), rgb_to_y(b)
    if border > 0:
        if min(ya.shape) <= 2 * border:
            raise ValueError(f"image {ya.shape} is too small for a border of {border}")
        ya = ya[border:-border, border:-border]
        yb = yb[border:-border, border:-border]
    return ya, yb


def psnr(result: np.ndarray, reference: np.ndarray, border: int = 4) -> float:
    """PSNR in dB on Y, peak 255.  Identical images give ``inf``."""
    ya, yb = _prepare(result, reference, border)
    mse = float(np.mean((ya - yb) ** 2))
    if mse == 0.0:
        return float("inf")
    return 10.0 * float(np.log10(255.0 ** 2 / mse))


def ssim(result: np.ndarray, reference: np.ndarray, border: int = 4) -> float:
    """SSIM on Y with the Gaussian 11×11, σ = 1.5 window (valid region only)."""
    ya, yb = _prepare(result, reference, border)
    if min(ya.shape) < 11:
        raise ValueError(f"image {result.shape[:2]} is too small for SSIM's 11×11 window "
                         f"after a border of {border}")
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    kernel = cv2.getGaussianKernel(11, 1.5)
    window = kernel @ kernel.T

    def blur(img: np.ndarray) -> np.ndarray:
        return cv2.filter2D(img, -1, window)[5:-5, 5:-5]

    mu_a, mu_b = blur(ya), blur(yb)
    var_a = blur(ya * ya) - mu_a ** 2
    var_b = blur(yb * yb) - mu_b ** 2
    cov = blur(ya * yb) - mu_a * mu_b
    ssim_map = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return float(ssim_map.mean())


def high_frequency_share(rgb: np.ndarray, cutoff: float = 0.25, border: int = 4) -> float:
    """Share of the Y spectrum's energy (DC removed) above ``cutoff`` × Nyquist (radially)."""
    y = rgb_to_y(rgb)
    if border > 0:
        y = y[border:-border, border:-border]
    if not np.any(y != y.flat[0]):
        return 0.0  # flat: no spectrum (subtracting the mean would leave only rounding noise)
    y = y - y.mean()
    window = np.outer(np.hanning(y.shape[0]), np.hanning(y.shape[1]))
    power = np.abs(np.fft.fft2(y * window)) ** 2
    fy = np.fft.fftfreq(y.shape[0])[:, None] / 0.5  # in units of Nyquist
    fx = np.fft.fftfreq(y.shape[1])[None, :] / 0.5
    radius = np.sqrt(fx ** 2 + fy ** 2)
    total = float(power.sum())
    if total == 0.0:
        return 0.0
    return float(power[radius > cutoff].sum() / total)


def _lattice_power(rgb: np.ndarray, scale: int, border: int) -> tuple[float, float, float]:
    """(power on the lattice bins, total power, Parseval's divisor: pixels × Σ window²) of the
    Hann-windowed Y spectrum (mean removed, border left out, sides cut to multiples of ``scale``)."""
    y = rgb_to_y(rgb)
    if border > 0:
        y = y[border:-border, border:-border]
    h, w = y.shape[0] - y.shape[0] % scale, y.shape[1] - y.shape[1] % scale
    if min(h, w) < 8 * scale:
        raise ValueError(f"image {rgb.shape[:2]} is too small for the grid measure")
    y = y[:h, :w] - y[:h, :w].mean()
    window = np.outer(np.hanning(h), np.hanning(w))
    power = np.abs(np.fft.fft2(y * window)) ** 2
    return float(power[lattice_mask(h, w, scale)].sum()), float(power.sum()), h * w * float((window ** 2).sum())


def grid_score(rgb: np.ndarray, scale: int = 4, border: int = 4) -> float:
    """Share of the Y spectrum's energy at the sub-pixel lattice frequencies (see :func:`grid_ratio`).

    The frequencies are ``(k/scale, l/scale)`` cycles per pixel, ``(k, l) ≠ (0, 0)``: an output
    made ``scale`` × larger that repeats a ``scale × scale`` phase pattern — a pixel-shuffle grid,
    or any visible LR-pixel lattice — puts its energy exactly there.  Measured as the
    Hann-windowed power in the 3×3 bins around each such point (the window's main lobe), over
    the total power (mean removed)."""
    lattice, total, _ = _lattice_power(rgb, scale, border)
    return lattice / total if total > 0.0 else 0.0


def grid_level(rgb: np.ndarray, scale: int = 4, border: int = 4) -> float:
    """The lattice component's RMS amplitude in 8-bit levels of Y (no reference needed).

    The same bins as :func:`grid_score`, as an amplitude rather than a share: a pattern of RMS A
    in Y that repeats every ``scale`` pixels reads A (Parseval over the Hann window, whose
    spectrum lies in those 3×3 bins); Y spans 219 levels from black to white (BT.601), so a ±A
    pattern in R = G = B reads 0.859·A.  It is what :func:`grid_ratio` cannot say where the HR image has almost
    nothing on the lattice: at ×2 the lattice is the Nyquist frequency, which camera photos barely
    reach, so Set5's HR has 0.015–0.24 levels there and a ratio of 160 can be 0.19 levels — a
    fifth of one 8-bit step (``srgan-desktop eval --hr ../shared/datasets/Set5 -m srresnet_x2 hr
    --metrics grid grid_level --json F``: per image in F)."""
    lattice, _, divisor = _lattice_power(rgb, scale, border)
    return float(np.sqrt(lattice / divisor))


@lru_cache(maxsize=32)
def lattice_mask(height: int, width: int, scale: int) -> np.ndarray:
    """The sub-pixel lattice of an FFT of ``height × width`` (sides multiples of ``scale`` and
    at least 8 × scale): True on the 3×3 bins around each ``(k·H/s, l·W/s)``, ``(k, l) ≠ (0, 0)``.
    The one definition of the grid frequencies, for :func:`grid_score` and the trainer's loss.
    Read-only (cached)."""
    rows = (np.arange(scale)[:, None] * (height // scale) + np.arange(-1, 2)[None, :]) % height
    cols = (np.arange(scale)[:, None] * (width // scale) + np.arange(-1, 2)[None, :]) % width
    mask = np.zeros((height, width), dtype=bool)
    mask[np.ix_(rows.ravel(), cols.ravel())] = True
    mask[np.ix_(rows[0], cols[0])] = False
    mask.flags.writeable = False
    return mask


def grid_ratio(result: np.ndarray, reference: np.ndarray, scale: int = 4, border: int = 4) -> float:
    """:func:`grid_score` of ``result`` divided by that of the HR ``reference``.

    1 = as much energy on the lattice frequencies as the real image has there; above 1 = an
    added grid (the bundled SRGAN's target is ≤ 1.25 on Set14).  Unlike :func:`texture_ratio`
    (everything above ¼ Nyquist) it looks only at the lattice points, where broadband texture
    puts little and a grid puts all of its energy."""
    ref = grid_score(reference, scale, border)
    return grid_score(result, scale, border) / ref if ref > 0 else float("nan")


def colour_cast(result: np.ndarray, reference: np.ndarray, border: int) -> float:
    """The largest shift of a channel's mean, ``max |mean(result_c − reference_c)|`` over R, G, B,
    in 8-bit levels, ``border`` pixels left out (required: the registry passes the scale): a
    colour cast over the whole image, which PSNR and SSIM on Y and NIQE do not see. Why:
    adversarial training moved whole images by up to 10 levels of green while their Y figures
    improved (session 12, docs/RESULTS.md)."""
    if result.shape != reference.shape or result.ndim != 3:
        raise ValueError(f"colour_cast needs two RGB images of one size, not {result.shape} and {reference.shape}")
    if min(result.shape[:2]) <= 2 * border:
        raise ValueError(f"image {result.shape[:2]} is too small for a border of {border}")
    inner = (slice(border, result.shape[0] - border), slice(border, result.shape[1] - border))
    shift = result[inner][..., :3].astype(np.float64).mean(axis=(0, 1)) - \
        reference[inner][..., :3].astype(np.float64).mean(axis=(0, 1))
    return float(np.abs(shift).max())


def chroma(rgb: np.ndarray) -> np.ndarray:
    """Per pixel, ``|RGB − their mean|`` averaged over the three channels, in the image's levels:
    zero wherever the picture is grey."""
    f = rgb[..., :3].astype(np.float64)
    return np.abs(f - f.mean(axis=2, keepdims=True)).mean(axis=2)


def mean_chroma(rgb: np.ndarray, border: int) -> float:
    """The mean :func:`chroma` in 8-bit levels, ``border`` pixels left out (required, as for
    every measure here). On the output of a grayscale input every level of it is the network's
    own colour (session 12's GAN: 1.4 inside the grayscale baby, 2.5 along its hat;
    srresnet_x4: 0.3)."""
    if rgb.ndim != 3 or min(rgb.shape[:2]) <= 2 * border:
        raise ValueError(f"mean_chroma needs an RGB image larger than twice the border, not {rgb.shape}")
    return float(chroma(rgb[border:rgb.shape[0] - border, border:rgb.shape[1] - border]).mean())


def texture_ratio(result: np.ndarray, reference: np.ndarray, border: int = 4) -> float:
    """High-frequency share of ``result`` divided by that of ``reference`` (1 = HR-like)."""
    ref = high_frequency_share(reference, border=border)
    return high_frequency_share(result, border=border) / ref if ref > 0 else float("nan")


@dataclass(frozen=True)
class ImageScores:
    """The figures reported for one result against its ground truth."""

    psnr: float
    ssim: float
    texture: float  # texture_ratio: 1.0 = the HR image's high-frequency energy


def score(result: np.ndarray, reference: np.ndarray, border: int = 4) -> ImageScores:
    """PSNR, SSIM and texture ratio of ``result`` against ``reference``."""
    return ImageScores(psnr(result, reference, border), ssim(result, reference, border),
                       texture_ratio(result, reference, border))
