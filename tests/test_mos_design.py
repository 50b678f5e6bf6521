"""MOS study design: conditions, validation, per-rater randomization."""

from __future__ import annotations

from collections import Counter

import pytest

from mos_util import design_only
from srgan_desktop.mos.design import (BUILTIN_CONDITIONS, DesignError, StudyDesign,
                                      calibration_examples, make_design, normalize_rater,
                                      parse_condition, rater_seed, trial_list, trial_order)


def test_order_is_reproducible_complete_and_differs_between_raters():
    design = design_only(replicates=2, seed=5)
    expected = Counter((t.image, t.condition, t.replicate) for t in trial_list(design))
    assert len(expected) == 4 * 3 * 2 and set(expected.values()) == {1}

    orders = {}
    for rater in ("r01", "r02", "r03", "anna"):
        seed = rater_seed(design.seed, rater)
        first, again = trial_order(design, seed), trial_order(design, seed)
        assert first == again, "the same seed must give the same order"
        assert Counter((t.image, t.condition, t.replicate) for t in first) == expected
        orders[rater] = tuple(first)
    assert len(set(orders.values())) == len(orders), "raters must get different orders"
    # the rater seed depends on the study seed and is case-insensitive in the ID
    assert rater_seed(5, "Anna") == rater_seed(5, "anna") != rater_seed(6, "anna")
    # recorded seeds are positive 63-bit integers (fit SQLite's INTEGER)
    assert 0 <= rater_seed(5, "x") < 2 ** 63


def test_order_is_not_design_order():
    design = design_only(replicates=3)
    assert trial_order(design, rater_seed(design.seed, "r1")) != trial_list(design)


def test_parse_condition_builtins_aliases_and_models(tmp_path):
    assert parse_condition("NN") == BUILTIN_CONDITIONS["nearest"]
    assert parse_condition("hr").kind == "reference"
    assert parse_condition("srgan").model == "srgan_x4"
    model = parse_condition(str(tmp_path / "my_model.safetensors"))
    assert (model.key, model.kind) == ("my_model", "model")
    named = parse_condition(f"esr={tmp_path / 'x.pth'}")
    assert named.key == "esr" and named.model.endswith("x.pth")
    with pytest.raises(DesignError):
        parse_condition("lanczos")
    with pytest.raises(DesignError):
        parse_condition(f"bad name={tmp_path / 'x.pth'}")


def test_design_validation_and_round_trip():
    conds = [BUILTIN_CONDITIONS["bicubic"], BUILTIN_CONDITIONS["reference"]]
    design = make_design("s", ["a", "b"], conds, replicates=2, calibration=1, min_view_s=1.5, seed=3)
    assert design.min_view_ms == 1500 and design.calibration_images == ["a"]
    assert StudyDesign.from_dict(design.to_dict()) == design
    # calibration anchors need NN and HR stimuli even when those are not rated
    assert ("a", "nearest") in design.stimulus_keys()
    assert [(e.condition, e.score) for e in calibration_examples(design)] == [("nearest", 1), ("reference", 5)]
    for bad in (dict(images=[]), dict(conditions=[]), dict(replicates=0),
                dict(conditions=conds + conds[:1]), dict(images=["a", "a"])):
        kwargs = dict(name="s", images=["a"], conditions=conds) | bad
        with pytest.raises(DesignError):
            make_design(**kwargs)
    assert make_design("s", ["a"], conds).seed >= 0  # random seed when none is given
    # a model may not take an anchor's name: it would be shown as the example of a 1 or a 5
    for anchor in ("nearest", "reference"):
        with pytest.raises(DesignError, match="reserved"):
            make_design("s", ["a"], [BUILTIN_CONDITIONS["bicubic"], parse_condition(f"{anchor}=m.pth")])


def test_rater_ids():
    assert normalize_rater("  r 01 \t") == "r 01"
    with pytest.raises(DesignError):
        normalize_rater("   ")
    with pytest.raises(DesignError):
        normalize_rater("x" * 65)


def test_conditions_from_folders_are_checked_and_copied_with_their_hash(tmp_path):
    import numpy as np
    from PIL import Image

    from mos_util import write_hr_images
    from srgan_desktop.core.images import load_image
    from srgan_desktop.mos.stimuli import StimulusError, find_sources, sha256_file
    from srgan_desktop.mos.store import create_study

    sources = find_sources(write_hr_images(tmp_path / "hr"))   # 34×41 → cropped to 32×40
    theirs = tmp_path / "srcnn"
    theirs.mkdir()
    rng = np.random.default_rng(0)
    made = {}
    for k, name in enumerate(sources):
        size = (34, 41) if k == 0 else (32, 40)   # an HR-sized result is cropped like the HR
        made[name] = rng.integers(0, 256, (*size, 3), dtype=np.uint8)
        Image.fromarray(made[name]).save(theirs / (f"{name}_x4.png" if k == 1 else f"{name}.png"))
    cond = parse_condition(f"SRCNN={theirs}")
    assert (cond.key, cond.kind, cond.model) == ("SRCNN", "results", str(theirs.resolve()))
    design = make_design("folders", list(sources), [parse_condition("bicubic"), cond], calibration=0)
    with create_study(design, sources, tmp_path / "s1") as study:
        for name in sources:
            stim = study.stimulus_for(name, "SRCNN")
            shown = load_image(study.stimulus_path(stim.id)).rgb
            np.testing.assert_array_equal(shown, made[name][:32, :40])
            assert stim.sha256 == sha256_file(study.stimulus_path(stim.id))
    # a missing result is named before anything is rendered; a wrong size names the file
    missing = next(iter(sources))
    (theirs / f"{missing}.png").rename(tmp_path / "away.png")
    with pytest.raises(StimulusError, match=f"no result for '{missing}'"):
        create_study(design, sources, tmp_path / "s2")
    assert not (tmp_path / "s2").exists()
    Image.fromarray(made[missing][:30, :30]).save(theirs / f"{missing}.png")
    with pytest.raises(StimulusError, match="30×30, expected"):
        create_study(design, sources, tmp_path / "s3")
