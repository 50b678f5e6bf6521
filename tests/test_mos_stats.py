"""MOS statistics against numbers worked out by hand on small fixed tables."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mos_util import row
from srgan_desktop.mos.report import format_analysis
from srgan_desktop.mos.stats import (ScoreError, analyse, bt500_screen, holm, mean_ci, mean_ranks,
                                     pairwise_tests, per_image, retest_agreement, score_distribution,
                                     summarize)

# 3 raters × 2 images × 3 conditions, one replicate:  {condition: {rater: (image 1, image 2)}}
TABLE = {
    "A": {"r1": (1, 2), "r2": (2, 2), "r3": (1, 1)},
    "B": {"r1": (4, 5), "r2": (3, 4), "r3": (5, 5)},
    "C": {"r1": (3, 3), "r2": (3, 4), "r3": (2, 3)},
}


def fixed_rows():
    return [row(rater, f"i{k + 1}", cond, score)
            for cond, raters in TABLE.items() for rater, scores in raters.items()
            for k, score in enumerate(scores)]


def test_mos_sd_and_t_interval_by_hand():
    by_cond = {s.condition: s for s in summarize(fixed_rows(), ["A", "B", "C"])}
    # A = 1,2,2,2,1,1: mean 1.5, SD √(1.5/5) = 0.547723; t(.975, 5) = 2.570582;
    # half width 2.570582 · 0.547723 / √6 = 0.574800
    a = by_cond["A"]
    assert (a.n, a.raters) == (6, 3)
    assert a.mos == pytest.approx(1.5)
    assert a.sd == pytest.approx(0.547723, abs=1e-6)
    # the formula's low end 0.925200 lies below the scale: the summary clips it to 1
    assert mean_ci([1, 2, 2, 2, 1, 1])[2:] == pytest.approx((0.925200, 2.074800), abs=2e-6)
    assert (a.ci_low, a.ci_high) == pytest.approx((1.0, 2.074800), abs=2e-6) and a.note == ""
    # B = 4,5,3,4,5,5: mean 4.333333, SD √(3.333333/5) = 0.816497, half 0.856861
    b = by_cond["B"]
    assert b.mos == pytest.approx(4.333333, abs=1e-6)
    assert b.sd == pytest.approx(0.816497, abs=1e-6)
    assert mean_ci([4, 5, 3, 4, 5, 5])[3] - b.mos == pytest.approx(0.856861, abs=1e-6)
    assert b.ci_high == 5.0 and b.ci_low == pytest.approx(4.333333 - 0.856861, abs=1e-6)  # clipped
    # C = 3,3,3,4,2,3: mean 3, SD √0.4 = 0.632456, half 0.663721
    c = by_cond["C"]
    assert (c.mos, c.sd, c.half_width) == pytest.approx((3.0, 0.632456, 0.663721), abs=2e-6)
    assert mean_ci([4])[0] == 4.0 and math.isnan(mean_ci([4])[1])


def test_distribution_and_mean_ranks_by_hand():
    rows = fixed_rows()
    assert score_distribution(rows, ["A", "B", "C"]) == {
        "A": [3, 3, 0, 0, 0], "B": [0, 0, 1, 2, 3], "C": [0, 1, 4, 1, 0]}
    # per (rater, image) block, rank 1 = best; r2 ties B and C twice (1.5 each)
    ranks = mean_ranks(rows, ["A", "B", "C"])
    assert ranks == pytest.approx({"A": 3.0, "B": 7 / 6, "C": 11 / 6})


def test_holm_by_hand():
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([0.01, 0.02, 0.03, 0.04]) == pytest.approx([0.04, 0.06, 0.06, 0.06])
    adjusted = holm([0.02, math.nan, 0.5])
    assert adjusted[0] == pytest.approx(0.04) and math.isnan(adjusted[1]) and adjusted[2] == 0.5
    assert holm([0.9, 0.8]) == [1.0, 1.0]
    assert holm([]) == []


def test_pairwise_tests_by_hand():
    tests = {(t.a, t.b): t for t in pairwise_tests(fixed_rows(), ["A", "B", "C"])}
    ab = tests[("A", "B")]
    # 3 raters: the smallest exact two-sided Wilcoxon p would be 2 / 2³ = 0.25, so the test is
    # not run and says why (too few ratings) instead of printing a p that can never be small
    assert ab.raters == 3 and math.isnan(ab.wilcoxon_stat) and math.isnan(ab.wilcoxon_p)
    assert "too few ratings" in ab.note and math.isnan(ab.wilcoxon_p_holm)
    # 6 raters, A = 1 everywhere, B per image (1,2) (2,2) (2,3) (3,3) (3,4) (4,4): per-rater
    # differences 0.5, 1, …, 3, all positive and distinct → W = 0, exact p = 2 / 2⁶ = 0.03125
    b_scores = [(1, 2), (2, 2), (2, 3), (3, 3), (3, 4), (4, 4)]
    six = [row(f"r{k}", f"i{j}", "A", 1) for k in range(6) for j in range(2)]
    six += [row(f"r{k}", f"i{j}", "B", b_scores[k][j]) for k in range(6) for j in range(2)]
    w6 = pairwise_tests(six, ["A", "B"])[0]
    assert (w6.raters, w6.wilcoxon_stat, w6.note) == (6, 0.0, "")
    assert w6.wilcoxon_p == pytest.approx(0.03125)
    assert ab.mos_diff == pytest.approx(1.5 - 4.333333, abs=1e-6)
    # Mann–Whitney on raw scores: every A below every B → U = 0; normal approximation with tie
    # correction σ² = 36/12 · (13 − 78/132) = 37.227273 and continuity 0.5:
    # z = 17.5 / 6.101416 = 2.868185 → p = 0.0041283
    assert ab.mwu_stat == 0 and ab.mwu_p == pytest.approx(0.0041283, abs=2e-6)
    # Holm over the three pairs of each family
    for family in ("wilcoxon", "mwu"):
        raw = [getattr(tests[k], f"{family}_p") for k in tests]
        assert [getattr(tests[k], f"{family}_p_holm") for k in tests] == pytest.approx(holm(raw), nan_ok=True)
    # identical per-rater means: no rater told them apart → p = 1 (not NaN)
    same = [row(f"r{k}", "i", c, 3) for k in range(6) for c in ("X", "Y")]
    assert pairwise_tests(same)[0].wilcoxon_p == 1.0


def test_retest_by_hand():
    # rater r1: (i1, A) 1→2, (i1, B) 4→4, (i2, A) 2→2, (i2, B) 5→4
    pairs = [("i1", "A", 1, 2), ("i1", "B", 4, 4), ("i2", "A", 2, 2), ("i2", "B", 5, 4)]
    rows = [row("r1", i, c, s, replicate=rep) for i, c, a, b in pairs for rep, s in ((0, a), (1, b))]
    result = retest_agreement(rows)
    assert result.pairs == 4
    assert result.mean_abs_diff == pytest.approx(0.5) and result.exact_agreement == pytest.approx(0.5)
    # x = 1,4,2,5; y = 2,4,2,4: Σdxdy = 6, Σdx² = 10, Σdy² = 4 → r = 6/√40
    assert result.pearson == pytest.approx(6 / math.sqrt(40))
    # ranks x = 1,3,2,4; y = 1.5,3.5,1.5,3.5 → ρ = 4/√20
    assert result.spearman == pytest.approx(4 / math.sqrt(20))
    assert result.per_rater_mad == {"r1": 0.5}
    assert retest_agreement(fixed_rows()) is None  # no replicates


def planted_outlier_rows(seed: int = 0, raters: int = 26):
    """26 raters as in the paper; rater 'odd' rates against the consensus (6 − typical score)."""
    rng = np.random.default_rng(seed)
    truth = {"nearest": 1.3, "bicubic": 2.2, "srgan": 3.6, "reference": 4.6}
    rows = []
    for r in range(raters):
        name = "odd" if r == raters - 1 else f"r{r:02d}"
        for image in range(5):
            for cond, mos in truth.items():
                for rep in range(2):
                    score = 6 - round(mos) if name == "odd" else round(mos + rng.normal(0, 0.6))
                    rows.append(row(name, f"i{image}", cond, int(np.clip(score, 1, 5)), rep))
    return rows


def test_bt500_flags_the_planted_outlier_only():
    rows = planted_outlier_rows()
    screening = {s.rater: s for s in bt500_screen(rows)}
    assert len(screening) == 26
    odd = screening["odd"]
    assert odd.rejected
    assert odd.ratio > 0.05 and odd.balance < 0.3 and odd.presentations == 40
    assert [r for r, s in screening.items() if s.rejected] == ["odd"]

    kept = analyse(rows, ["nearest", "bicubic", "srgan", "reference"], exclude_flagged=True)
    assert kept.excluded == ["odd"] and kept.raters == 25 and kept.ratings == 25 * 40
    full = analyse(rows, ["nearest", "bicubic", "srgan", "reference"])
    assert full.excluded == [] and full.raters == 26
    # the outlier pulled the extremes towards the middle
    assert kept.summary[0].mos < full.summary[0].mos and kept.summary[-1].mos > full.summary[-1].mos
    text = format_analysis("planted", kept)
    assert "odd" in text and "excluded: odd" in text


def test_bt500_rule_by_hand():
    # image i1: 1,1,2,2,2,2,4 → mean 2, S = √(6/6) = 1, m2 = 6/7, m4 = 18/7, β2 = 3.5 (normal):
    # the 2S band is [0, 4], so r6's 4 counts in P.  Image i2 mirrors it (6 − score): mean 4,
    # band [2, 6], r6's 2 counts in Q.  r6: P = Q = 1 of 2 → ratio 1 > 0.05, balance 0 < 0.3.
    first = [1, 1, 2, 2, 2, 2, 4]
    rows = [row(f"r{i}", "i1", "A", s) for i, s in enumerate(first)]
    rows += [row(f"r{i}", "i2", "A", 6 - s) for i, s in enumerate(first)]
    screening = {s.rater: s for s in bt500_screen(rows)}
    assert (screening["r6"].p, screening["r6"].q, screening["r6"].presentations) == (1, 1, 2)
    assert screening["r6"].ratio == 1.0 and screening["r6"].balance == 0.0 and screening["r6"].rejected
    assert all(s.p + s.q == 0 and not s.rejected for r, s in screening.items() if r != "r6")
    # one-sided deviation (P only) is not rejected: |P − Q|/(P + Q) = 1
    one_sided = {s.rater: s for s in bt500_screen(rows[:7])}
    assert (one_sided["r6"].p, one_sided["r6"].rejected) == (1, False)
    # 1,1,1,1,5: β2 = 1.3 → not normal → √20·S = 8.0 band: nobody is outside
    wide = [row(f"r{i}", "i", "A", s) for i, s in enumerate([1, 1, 1, 1, 5])]
    assert all(s.p + s.q == 0 for s in bt500_screen(wide))


@pytest.mark.parametrize("bad", [3.5, math.nan, "4", True, 0, 6, np.float64(4.0)])
def test_scores_that_are_not_whole_numbers_1_to_5_are_refused(bad):
    rows = fixed_rows() + [row("r9", "i1", "A", bad)]
    with pytest.raises(ScoreError, match="not a whole number 1–5"):
        analyse(rows)
    analyse(fixed_rows() + [row("r9", "i1", "A", np.int64(4))])  # a NumPy integer is an integer


def test_two_raters_get_too_few_ratings_instead_of_an_interval():
    # 2 raters × 1 image: the t interval would be [−15.6, 22.6]-like nonsense
    rows = [row("a", "i", "A", 1), row("b", "i", "A", 4), row("a", "i", "B", 5), row("b", "i", "B", 5)]
    result = analyse(rows, ["A", "B"])
    a = result.summary[0]
    assert math.isnan(a.ci_low) and math.isnan(a.ci_high) and a.note.startswith("too few ratings")
    assert a.mos == 2.5 and a.n == 2
    text = format_analysis("two", result)
    assert "too few ratings" in text and "too few" in text.split("\n")[3] and "nan" not in text.lower()
    assert any("BT.500 screening cannot flag anyone" in w for w in result.warnings)
    assert any("Wilcoxon" in w for w in result.warnings)
    assert all(math.isnan(t.wilcoxon_p) for t in result.pairwise)
    # per image: the same rule
    assert all(math.isnan(s.ci_low) and s.note for s in result.per_image)


def test_bt500_excluding_every_rater_excludes_nobody_and_warns(monkeypatch):
    import srgan_desktop.mos.stats as stats
    rows = fixed_rows()
    real = stats.bt500_screen
    monkeypatch.setattr(stats, "bt500_screen",
                        lambda r: [s.__class__(**{**s.__dict__, "rejected": True}) for s in real(r)])
    result = stats.analyse(rows, ["A", "B", "C"], exclude_flagged=True)
    assert result.excluded == [] and result.raters == 3
    assert any("would exclude every rater" in w for w in result.warnings)


def test_per_image_mos_by_hand():
    cells = {(s.image, s.condition): s for s in per_image(fixed_rows(), ["A", "B", "C"])}
    # image i1, condition B: r1 4, r2 3, r3 5 → mean 4, SD 1, t(.975, 2) = 4.302653 → ±2.484138
    b1 = cells[("i1", "B")]
    assert (b1.n, b1.raters, b1.mos, b1.sd) == (3, 3, 4.0, 1.0)
    # [1.515862, 6.484138] is wider than the 1–5 scale itself: withheld, "too wide to use"
    assert mean_ci([4, 3, 5])[2:] == pytest.approx((4 - 2.484138, 4 + 2.484138), abs=1e-6)
    assert math.isnan(b1.ci_low) and math.isnan(b1.ci_high) and "too wide to use" in b1.note
    assert "[1.52, 6.48]" in b1.note
    assert list(cells)[:3] == [("i1", "A"), ("i1", "B"), ("i1", "C")]
