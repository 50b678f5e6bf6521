"""What a MOS study is: its conditions, images and trials, and the per-rater randomization.

A study follows the SRGAN paper's protocol (Ledig et al., CVPR 2017, §3.4): absolute
category rating 1–5, every rater sees every (image, condition) in a fully random order of its
own, optionally after a calibration block of nearest-neighbour (score 1) and original HR
(score 5) examples.  ``replicates`` > 1 repeats every trial for test–retest agreement.

Viewing conditions are part of the design (ITU-T P.910): ``magnification`` (1 = one image
pixel on one screen pixel; an integer k shows every stimulus k× in both directions, the same
for all), ``grey_ms`` (a mid-grey screen between stimuli), the rater ``instructions`` (empty =
the built-in text) and ``break_every`` (a break prompt every N trials; 0 = none).

Study kinds: ``acr`` (absolute category rating 1–5, the paper's) and ``pc`` (paired
comparison: two stimuli of the same image side by side, the rater picks the better one;
optionally the HR reference is shown above them).  A ``pc`` schedule is balanced: every pair of
conditions of every image once per replicate, in the rater's own random order, each with its
sides drawn at random for that rater.

Everything here is pure: the same design, seed and rater ID always give the same order.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import numpy as np

from srgan_desktop.errors import SrganDesktopError

__all__ = ["DesignError", "Condition", "StudyDesign", "Trial", "CalibrationExample",
           "CONDITION_KINDS", "STUDY_KINDS", "STUDY_SCALES", "BUILTIN_CONDITIONS", "SCORE_LABELS", "ANCHORS",
           "parse_condition", "rater_seed", "normalize_rater", "trial_list", "trial_order",
           "calibration_examples", "validate_design", "make_design"]

#: How a condition's stimulus is made from the HR image.
CONDITION_KINDS = ("nearest", "bicubic", "model", "reference", "results")

#: ACR labels of ITU-T P.910 / BT.500, as the SRGAN paper used them.
SCORE_LABELS = {1: "Bad", 2: "Poor", 3: "Fair", 4: "Good", 5: "Excellent"}

#: Study kinds: absolute category rating, paired comparison.
STUDY_KINDS = ("acr", "pc")
#: The scales a study may have: LR made with the MATLAB bicubic ×1/N, models of that scale.
STUDY_SCALES = (2, 3, 4, 8)

#: Calibration anchors: nearest-neighbour is a 1, the original HR image a 5.
ANCHORS = {"nearest": 1, "reference": 5}

MAX_RATER_LEN = 64
_KEY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,47}$")


class DesignError(SrganDesktopError, ValueError):
    """A study design that cannot be run; the message says what to change."""


@dataclass(frozen=True)
class Condition:
    """One method to rate.  ``key`` names it in the database, exports and results only."""

    key: str
    kind: str
    model: str = ""      # registry name or weights file (kind ``model``); results folder (``results``)
    label: str = ""      # a longer name for results tables

    @property
    def title(self) -> str:
        return self.label or self.key


BUILTIN_CONDITIONS: dict[str, Condition] = {
    "nearest": Condition("nearest", "nearest", label="Nearest neighbour"),
    "bicubic": Condition("bicubic", "bicubic", label="Bicubic"),
    "srresnet": Condition("srresnet", "model", model="srresnet_x4", label="SRResNet"),
    "srgan": Condition("srgan", "model", model="srgan_x4", label="SRGAN"),
    "reference": Condition("reference", "reference", label="Original HR"),
}
_ALIASES = {"nn": "nearest", "nearest-neighbour": "nearest", "nearest_neighbour": "nearest",
            "hr": "reference", "original": "reference", "bicubic": "bicubic",
            "srresnet_x4": "srresnet", "srgan_x4": "srgan"}


def parse_condition(spec: str) -> Condition:
    """``nearest | nn | bicubic | srresnet | srgan | reference | hr``, a weights file path,
    ``KEY=FILE`` (a user model under the name KEY) or ``KEY=DIR`` (a folder of results made
    elsewhere, one image per source named like it: :mod:`srgan_desktop.core.external`)."""
    spec = spec.strip()
    if not spec:
        raise DesignError("empty condition")
    low = spec.lower()
    if low in BUILTIN_CONDITIONS or low in _ALIASES:
        return BUILTIN_CONDITIONS[_ALIASES.get(low, low)]
    key, sep, path = spec.partition("=")
    if not sep:
        path, key = spec, Path(spec).stem
    if not path.strip():
        raise DesignError(f"condition '{spec}': no model file after '='")
    if sep and Path(path).is_dir():
        key = key.strip()
        if not _KEY_RE.match(key):
            raise DesignError(f"condition name '{key}' must be 1–48 letters, digits, '_', '.', '+' "
                              f"or '-'")
        return Condition(key=key, kind="results", model=str(Path(path).resolve()), label=key)
    if Path(path).suffix.lower() not in (".safetensors", ".pth", ".pt", ".ckpt"):
        raise DesignError(f"unknown condition '{spec}' (use nearest, bicubic, srresnet, srgan, "
                          f"reference, or a .safetensors/.pth model file)")
    key = key.strip()
    if not _KEY_RE.match(key):
        raise DesignError(f"condition name '{key}' must be 1–48 letters, digits, '_', '.', '+' "
                          f"or '-'")
    return Condition(key=key, kind="model", model=str(Path(path)), label=key)


@dataclass(frozen=True)
class Trial:
    """One rating a rater must give: a stimulus, and which repeat of it this is."""

    image: str
    condition: str
    replicate: int = 0
    condition_b: str = ""    # paired comparison: the right-hand stimulus ('' in ACR)


@dataclass(frozen=True)
class CalibrationExample:
    """An anchor shown before the trials with its score; never recorded as data."""

    image: str
    condition: str       # ``nearest`` or ``reference``
    score: int


@dataclass
class StudyDesign:
    """Everything that defines a study, before any stimulus exists."""

    name: str
    images: list[str]                        # image IDs (source file stems), in order
    conditions: list[Condition]
    replicates: int = 1
    calibration_images: list[str] = field(default_factory=list)
    min_view_ms: int = 0
    seed: int = 0
    scale: int = 4
    magnification: int = 1                   # integer screen pixels per image pixel
    grey_ms: int = 0                         # mid-grey screen between stimuli
    instructions: str = ""                   # shown to raters; empty = the built-in text
    break_every: int = 0                     # break prompt every N trials; 0 = never
    kind: str = "acr"                        # "acr" (scores 1–5) or "pc" (paired comparison)
    show_reference: bool = False             # pc: show the HR reference above the pair

    @property
    def condition_keys(self) -> list[str]:
        return [c.key for c in self.conditions]

    def condition(self, key: str) -> Condition:
        for cond in self.conditions:
            if cond.key == key:
                return cond
        if key in BUILTIN_CONDITIONS:
            return BUILTIN_CONDITIONS[key]
        raise KeyError(key)

    def stimulus_keys(self) -> list[tuple[str, str]]:
        """Every (image, condition) that needs a stimulus file: the trials' and the anchors'."""
        keys = [(image, cond.key) for image in self.images for cond in self.conditions]
        if self.kind == "pc" and self.show_reference:
            keys += [(image, "reference") for image in self.images if (image, "reference") not in keys]
        for example in calibration_examples(self):
            if (example.image, example.condition) not in keys:
                keys.append((example.image, example.condition))
        return keys

    def to_dict(self) -> dict:
        return {"name": self.name, "images": list(self.images),
                "conditions": [{"key": c.key, "kind": c.kind, "model": c.model, "label": c.label}
                               for c in self.conditions],
                "replicates": self.replicates, "calibration_images": list(self.calibration_images),
                "min_view_ms": self.min_view_ms, "seed": self.seed, "scale": self.scale,
                "magnification": self.magnification, "grey_ms": self.grey_ms,
                "instructions": self.instructions, "break_every": self.break_every,
                "kind": self.kind, "show_reference": self.show_reference}

    @classmethod
    def from_dict(cls, data: dict) -> StudyDesign:
        return cls(name=str(data["name"]), images=[str(i) for i in data["images"]],
                   conditions=[Condition(**c) for c in data["conditions"]],
                   replicates=int(data.get("replicates", 1)),
                   calibration_images=[str(i) for i in data.get("calibration_images", [])],
                   min_view_ms=int(data.get("min_view_ms", 0)), seed=int(data.get("seed", 0)),
                   scale=int(data.get("scale", 4)), magnification=int(data.get("magnification", 1)),
                   grey_ms=int(data.get("grey_ms", 0)),
                   instructions=str(data.get("instructions", "") or ""),
                   break_every=int(data.get("break_every", 0)), kind=str(data.get("kind", "acr")),
                   show_reference=bool(data.get("show_reference", False)))


def validate_design(design: StudyDesign) -> None:
    """Raise :class:`DesignError` for a design that cannot be run as a study."""
    if not design.name.strip():
        raise DesignError("the study needs a name")
    if not design.images:
        raise DesignError("the study needs at least one source image")
    if len(set(design.images)) != len(design.images):
        raise DesignError("two source images have the same name; rename one of them")
    if not design.conditions:
        raise DesignError("choose at least one condition to rate")
    keys = design.condition_keys
    if len(set(keys)) != len(keys):
        raise DesignError(f"a condition is listed twice ({', '.join(keys)})")
    for cond in design.conditions:
        if cond.kind not in CONDITION_KINDS:
            raise DesignError(f"condition '{cond.key}' has unknown kind '{cond.kind}'")
        if cond.kind in ("model", "results") and not cond.model:
            raise DesignError(f"condition '{cond.key}' names no model or results folder")
        if cond.key in ANCHORS and cond.kind != cond.key:
            # the calibration anchors are looked up by these keys: a model called 'reference'
            # would be shown to raters as the example of a 5 (and listed as the original)
            raise DesignError(f"the condition name '{cond.key}' is reserved for the "
                              f"{BUILTIN_CONDITIONS[cond.key].label.lower()} images; choose another")
    if not 1 <= design.replicates <= 10:
        raise DesignError("replicates must be between 1 and 10")
    missing = [i for i in design.calibration_images if i not in design.images]
    if missing:
        raise DesignError(f"calibration image(s) not in the study: {', '.join(missing)}")
    if not 0 <= design.min_view_ms <= 600_000:
        raise DesignError("the minimum viewing time must be between 0 and 600 s")
    if design.scale not in STUDY_SCALES:
        raise DesignError(f"a study's scale is one of {', '.join(f'×{k}' for k in STUDY_SCALES)} "
                          f"(the paper's: ×4), not ×{design.scale}")
    if not 1 <= design.magnification <= 8:
        raise DesignError("the magnification is a whole number from 1 (one image pixel on one "
                          "screen pixel) to 8")
    if not 0 <= design.grey_ms <= 60_000:
        raise DesignError("the grey screen between stimuli lasts 0 to 60 s")
    if not 0 <= design.break_every <= 100_000:
        raise DesignError("a break every N trials needs N ≥ 0 (0 = no breaks)")
    if design.kind not in STUDY_KINDS:
        raise DesignError(f"unknown study kind '{design.kind}' (acr or pc)")
    if design.kind == "pc":
        if len(design.conditions) < 2:
            raise DesignError("a paired comparison needs at least two conditions")
        if design.calibration_images:
            raise DesignError("a paired comparison has no calibration anchors (they are ACR scores)")
    if len(design.instructions) > 20_000:
        raise DesignError("the rater instructions are limited to 20,000 characters")


def normalize_rater(raw: str) -> str:
    """Rater IDs: surrounding and repeated blanks dropped; compared case-insensitively."""
    rater = " ".join(raw.split())
    if not rater:
        raise DesignError("enter a rater ID")
    if len(rater) > MAX_RATER_LEN:
        raise DesignError(f"a rater ID has at most {MAX_RATER_LEN} characters")
    return rater


def rater_seed(study_seed: int, rater: str) -> int:
    """The rater's own seed: a hash of the study seed and the (case-folded) rater ID, 63 bits."""
    digest = hashlib.sha256(f"{int(study_seed)}\x00{rater.casefold()}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def trial_list(design: StudyDesign) -> list[Trial]:
    """Every trial of the design exactly once, in design order (pc: every pair of conditions
    of every image, the first condition of the design on the left)."""
    if design.kind == "pc":
        return [Trial(image, a.key, rep, condition_b=b.key) for image in design.images
                for a, b in combinations(design.conditions, 2) for rep in range(design.replicates)]
    return [Trial(image, cond.key, rep) for image in design.images for cond in design.conditions
            for rep in range(design.replicates)]


def trial_order(design: StudyDesign, seed: int) -> list[Trial]:
    """The trials fully randomized with ``seed`` (use :func:`rater_seed`); in a paired
    comparison each pair's sides are also drawn at random."""
    trials = trial_list(design)
    rng = np.random.default_rng(seed)
    permutation = rng.permutation(len(trials))
    ordered = [trials[int(i)] for i in permutation]
    if design.kind == "pc":
        swap = rng.random(len(ordered)) < 0.5
        ordered = [Trial(t.image, t.condition_b, t.replicate, condition_b=t.condition) if s else t
                   for t, s in zip(ordered, swap)]
    return ordered


def calibration_examples(design: StudyDesign) -> list[CalibrationExample]:
    """For each calibration image: its nearest-neighbour (1) then its original (5) example."""
    return [CalibrationExample(image, cond, ANCHORS[cond])
            for image in design.calibration_images for cond in ("nearest", "reference")]


def make_design(name: str, images: list[str], conditions: list[Condition], replicates: int = 1,
                calibration: int = 1, min_view_s: float = 0.0, seed: int | None = None,
                magnification: int = 1, grey_s: float = 0.0, instructions: str = "",
                break_every: int = 0, kind: str = "acr", show_reference: bool = False,
                scale: int = 4) -> StudyDesign:
    """A validated design from form or command-line values: the first ``calibration`` images
    are the anchors' images, times are in seconds, no seed means a random one; every model
    condition must be a ×``scale`` model (checked when the stimuli are made)."""
    design = StudyDesign(name=name.strip(), images=list(images), conditions=list(conditions),
                         replicates=replicates,
                         calibration_images=[] if kind == "pc" else list(images)[:max(0, calibration)],
                         min_view_ms=int(round(min_view_s * 1000)),
                         seed=secrets.randbelow(2 ** 31) if seed is None else int(seed),
                         magnification=int(magnification), grey_ms=int(round(grey_s * 1000)),
                         instructions=instructions.strip(), break_every=int(break_every),
                         kind=kind, show_reference=bool(show_reference), scale=int(scale))
    validate_design(design)
    return design
