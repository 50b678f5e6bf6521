"""Training data: random HR crops, flips/rotations, LR made on the fly with the core's bicubic.

Every sample is a pure function of ``(seed, sample index)``, and the sampler hands out indices
from a running counter; so iteration *k* always sees the same batch, which makes resuming a
run exact and lets several DistributedDataParallel ranks split the stream without overlap.
Decoded images are kept in memory (loaded once in the parent process, shared with forked
DataLoader workers), so decoding never starves the model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from srgan_desktop.core.benchmarks import reduced
from srgan_desktop.core.images import IMAGE_SUFFIXES, load_image
from srgan_desktop.core.resize import imresize
from srgan_desktop.utils import rgb_to_tensor

__all__ = ["find_images", "load_images", "CropDataset", "DistillDataset", "StreamSampler", "make_loader"]


def find_images(folders: Sequence[str | Path]) -> list[Path]:
    """All image files directly inside ``folders`` (sorted, so runs are reproducible)."""
    files: list[Path] = []
    for folder in folders:
        folder = Path(folder)
        if not folder.is_dir():
            raise FileNotFoundError(f"training folder not found: {folder}")
        files += sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise FileNotFoundError(f"no images in {', '.join(map(str, folders))}")
    return files


def load_images(files: Sequence[Path], min_size: int, reduce: float = 1.0) -> list[np.ndarray]:
    """Decode every file once to RGB ``uint8``, reduced by ``reduce`` (MATLAB bicubic; see
    :data:`trainer.loop.TrainConfig.data_scale`); images smaller than a crop are skipped."""
    images = []
    for path in files:
        rgb = reduced(load_image(path).rgb, reduce)
        if min(rgb.shape[:2]) >= min_size:
            images.append(rgb)
    if not images:
        raise ValueError(f"no training image is at least {min_size}×{min_size} pixels")
    return images


def random_dihedral(rng: np.random.Generator) -> Callable[[np.ndarray], np.ndarray]:
    """One of the 8 flips/rotations, drawn from ``rng`` (a mirror with probability ½, then 0–3
    quarter turns), as a function to apply alike to every aligned array of one sample."""
    flip, turns = bool(rng.random() < 0.5), int(rng.integers(4))
    return lambda a: np.rot90(a[:, ::-1] if flip else a, turns)


class CropDataset(Dataset):
    """Sample ``i`` = one random ``crop``×``crop`` HR patch (flipped/rotated) and its ×``scale`` LR.

    Returns float tensors in [0, 1]: ``lr`` (3, crop/scale, crop/scale), ``hr`` (3, crop, crop).
    The LR is rounded to 8 bits, like the LR images of the benchmarks.
    """

    def __init__(self, images: Sequence[np.ndarray], crop: int = 96, scale: int = 4,
                 seed: int = 0, augment: bool = True) -> None:
        if crop % scale:
            raise ValueError(f"crop {crop} is not a multiple of scale {scale}")
        self.images = list(images)
        self.crop, self.scale, self.seed, self.augment = crop, scale, seed, augment

    def __len__(self) -> int:
        return 2 ** 62

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        img = self.images[int(rng.integers(len(self.images)))]
        top = int(rng.integers(img.shape[0] - self.crop + 1))
        left = int(rng.integers(img.shape[1] - self.crop + 1))
        hr = img[top:top + self.crop, left:left + self.crop]
        if self.augment:
            hr = random_dihedral(rng)(hr)
        hr = np.ascontiguousarray(hr)
        lr = imresize(hr, output_shape=(self.crop // self.scale, self.crop // self.scale))
        return _to_tensor(lr), _to_tensor(hr)


@dataclass(frozen=True)
class DistillImage:
    """One training photo for distillation: HR (cropped to a multiple of the scale), its LR by the
    core's bicubic (8 bits), and the teacher's output on that whole LR image (float16, [0, 1])."""

    hr: np.ndarray
    lr: np.ndarray
    teacher: np.ndarray


class DistillDataset(CropDataset):
    """Sample ``i`` = an aligned crop of LR, HR and the teacher's output, flipped/rotated alike.

    Returns ``lr`` and the target ``(1 − w) · HR + w · teacher``.  The teacher ran once on each
    whole LR photo (:func:`trainer.loop.distill_images`), so its output has no crop-border
    artefacts (its receptive radius, 40 LR pixels, exceeds a 24-pixel LR crop) and costs nothing
    per step; the LR crop is cut from the same whole-image LR the teacher saw."""

    def __init__(self, images: Sequence[DistillImage], crop: int = 96, scale: int = 4,
                 weight: float = 0.5, seed: int = 0) -> None:
        super().__init__([im.hr for im in images], crop, scale, seed)
        self.distill_images = list(images)
        self.weight = weight

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        rng = np.random.default_rng([self.seed, index])
        image = self.distill_images[int(rng.integers(len(self.distill_images)))]
        s, side = self.scale, self.crop // self.scale
        top = int(rng.integers(image.lr.shape[0] - side + 1))
        left = int(rng.integers(image.lr.shape[1] - side + 1))
        lr = image.lr[top:top + side, left:left + side]
        hr = image.hr[top * s:(top + side) * s, left * s:(left + side) * s]
        soft = image.teacher[top * s:(top + side) * s, left * s:(left + side) * s]
        turn = random_dihedral(rng)
        lr, hr, soft = (np.ascontiguousarray(turn(a)) for a in (lr, hr, soft))
        target = (1.0 - self.weight) * (hr.astype(np.float32) / 255.0) + self.weight * soft.astype(np.float32)
        return _to_tensor(lr), torch.from_numpy(np.ascontiguousarray(target.transpose(2, 0, 1)))


def _to_tensor(rgb: np.ndarray) -> torch.Tensor:
    return rgb_to_tensor(rgb)[0]


class StreamSampler(Sampler[int]):
    """Yields the sample indices of iterations ``start`` … ``stop - 1`` for one rank.

    Iteration ``k`` of rank ``r`` (of ``world``) uses samples
    ``(k·world + r)·batch`` … ``(k·world + r)·batch + batch − 1``.
    """

    def __init__(self, start: int, stop: int, batch: int, rank: int = 0, world: int = 1) -> None:
        self.start, self.stop, self.batch, self.rank, self.world = start, stop, batch, rank, world

    def __iter__(self) -> Iterator[int]:
        for k in range(self.start, self.stop):
            base = (k * self.world + self.rank) * self.batch
            yield from range(base, base + self.batch)

    def __len__(self) -> int:
        return max(0, self.stop - self.start) * self.batch


def make_loader(dataset: CropDataset, start: int, stop: int, batch: int, workers: int,
                rank: int = 0, world: int = 1) -> DataLoader:
    """A DataLoader over iterations ``start`` … ``stop - 1`` (one batch per iteration)."""
    return DataLoader(
        dataset, batch_size=batch, sampler=StreamSampler(start, stop, batch, rank, world),
        num_workers=workers, pin_memory=torch.cuda.is_available(), drop_last=True,
        persistent_workers=False,
    )
