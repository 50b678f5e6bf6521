"""Plain-text presentation of an analysis, shared by ``mos summary`` and the results view."""

from __future__ import annotations

import math

from srgan_desktop.mos.stats import TOO_WIDE, Analysis, RetestResult

__all__ = ["format_value", "format_p", "format_ci", "format_model_ci", "format_ci3", "format_test_p", "format_analysis",
           "format_agreement", "format_pairs",
           "format_retest", "TOO_FEW_SHORT", "TOO_WIDE_SHORT"]

#: What a table shows where an interval or test was withheld (see ``stats.TOO_FEW``).
TOO_FEW_SHORT = "too few"
TOO_WIDE_SHORT = "too wide"


def format_value(value: float | None, digits: int = 2) -> str:
    """A number with ``digits`` decimals; NaN and None become an en dash."""
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"


def format_p(p: float) -> str:
    """A p-value with 4 decimals, or ``<0.0001``."""
    return "<0.0001" if p < 1e-4 else format_value(p, 4)


def format_ci(low: float, high: float, note: str = "") -> str:
    """``[low, high]``, or "too few" / "too wide" when the interval was withheld."""
    if TOO_WIDE in note:
        return TOO_WIDE_SHORT
    if note or math.isnan(low) or math.isnan(high):
        return TOO_FEW_SHORT
    return f"[{format_value(low)}, {format_value(high)}]"


def format_model_ci(low: float, high: float, note: str = "") -> str:
    """A subject-model interval: "too few" where the plain CI would say it (``note``) and where
    the interval has no width at the shown two decimals.  With few ratings the fit can explain a
    rater's or a stimulus's scores exactly (inconsistency → 0), which gives [2.34, 2.34]: not a
    measured certainty, only too few ratings."""
    if not (note or math.isnan(low) or math.isnan(high)) and format_value(low) == format_value(high):
        note = TOO_FEW_SHORT
    return format_ci(low, high, note)


def format_test_p(p: float) -> str:
    """A test's p, or "too few" when the test was not run."""
    return TOO_FEW_SHORT if math.isnan(p) else format_p(p)


def format_analysis(name: str, analysis: Analysis, per_image: bool = False) -> str:
    """The summary as plain text tables (``per_image``: also MOS per image and condition)."""
    lines = [f"Study '{name}': {analysis.raters} rater(s), {analysis.ratings} rating(s)"
             + (f"; excluded: {', '.join(analysis.excluded)}" if analysis.excluded else "")]
    lines += [f"WARNING: {w}" for w in analysis.warnings]
    lines.append(f"{'condition':<16}{'n':>6}{'MOS':>7}{'SD':>7}{'95% CI':>16}{'mean rank':>11}")
    for s in analysis.summary:
        ci = format_ci(s.ci_low, s.ci_high, s.note)
        lines.append(f"{s.condition:<16}{s.n:>6}{format_value(s.mos):>7}{format_value(s.sd):>7}{ci:>16}"
                     f"{format_value(analysis.mean_ranks.get(s.condition, math.nan)):>11}")
    if per_image and analysis.per_image:
        lines += ["", "MOS per image:", f"{'image':<20}{'condition':<16}{'n':>5}{'MOS':>7}{'95% CI':>16}"]
        for c in analysis.per_image:
            lines.append(f"{c.image:<20}{c.condition:<16}{c.n:>5}{format_value(c.mos):>7}"
                         f"{format_ci(c.ci_low, c.ci_high, c.note):>16}")
    if analysis.pairwise:
        lines += ["", "Pairwise tests (Holm-corrected p):",
                  f"{'pair':<28}{'ΔMOS':>7}{'raters':>8}{'Wilcoxon p':>12}{'MWU p':>10}"]
        for t in analysis.pairwise:
            lines.append(f"{t.a + ' vs ' + t.b:<28}{format_value(t.mos_diff):>7}{t.raters:>8}"
                         f"{format_test_p(t.wilcoxon_p_holm):>12}{format_test_p(t.mwu_p_holm):>10}")
    model = analysis.subject_model
    if model is not None:
        lines += ["", "Subject model (Li & Bampis ML, as sureal's MLE_CO_AP2): quality with rater "
                      "bias and inconsistency removed"]
        if model.note:
            lines.append(f"  {model.note}")
        else:
            lines.append(f"{'condition':<16}{'score':>7}{'95% CI':>16}")
            notes = {s.condition: s.note for s in analysis.summary}
            for c in model.conditions:
                lines.append(f"{c.condition:<16}{format_value(c.score):>7}"
                             f"{format_model_ci(c.ci_low, c.ci_high, notes.get(c.condition, '')):>16}")
            lines += [f"{'rater':<16}{'bias':>7}{'95% CI':>17}{'inconsistency':>15}{'95% CI':>16}"]
            for r in model.raters:
                lines.append(f"{r.rater:<16}{r.bias:>+7.2f}{format_model_ci(r.bias_ci_low, r.bias_ci_high):>17}"
                             f"{format_value(r.inconsistency):>15}"
                             f"{format_model_ci(r.inconsistency_ci_low, r.inconsistency_ci_high):>16}")
    lines += ["", "BT.500 observer screening:",
              f"{'rater':<16}{'P':>4}{'Q':>4}{'(P+Q)/n':>9}{'|P-Q|/(P+Q)':>13}  flagged"]
    for s in analysis.screening:
        lines.append(f"{s.rater:<16}{s.p:>4}{s.q:>4}{format_value(s.ratio, 3):>9}{format_value(s.balance, 3):>13}"
                     f"  {'yes' if s.rejected else 'no'}")
    lines += ["", format_retest(analysis.retest)]
    return "\n".join(lines)


def format_agreement(result) -> str:
    """The metric ↔ MOS table (an :class:`~srgan_desktop.mos.agreement.Agreement`)."""
    lines = ["Metric ↔ MOS agreement over rated stimuli (95 % bootstrap CI over images; "
             "PLCC after the VQEG 4-parameter logistic):",
             f"{'metric':<8}{'stimuli':>8}{'SROCC':>8}{'95% CI':>18}{'Kendall':>9}{'95% CI':>18}"
             f"{'PLCC':>7}{'95% CI':>18}"]
    for m in result.metrics:
        if m.note:
            lines.append(f"{m.metric:<8}{m.stimuli:>8}  {m.note}")
            continue
        lines.append(f"{m.metric:<8}{m.stimuli:>8}{format_value(m.srocc, 3):>8}{format_ci3(*m.srocc_ci):>18}"
                     f"{format_value(m.krocc, 3):>9}{format_ci3(*m.krocc_ci):>18}"
                     f"{format_value(m.plcc, 3):>7}{format_ci3(*m.plcc_ci):>18}")
    lines += [f"  {note}" for note in result.notes]
    return "\n".join(lines)


def format_ci3(low: float, high: float) -> str:
    return TOO_FEW_SHORT if math.isnan(low) or math.isnan(high) else \
        f"[{format_value(low, 3)}, {format_value(high, 3)}]"


def format_pairs(name: str, result) -> str:
    """A paired-comparison study (a :class:`~srgan_desktop.mos.paired.PairAnalysis`) as text."""
    lines = [f"Study '{name}' (paired comparison): {result.raters} rater(s), {result.comparisons} "
             f"choice(s)"]
    lines += [f"WARNING: {w}" for w in result.warnings]
    lines.append("Bradley–Terry scale values (log-odds, mean 0; 95 % bootstrap CI over raters; "
                 "fitted by choix):")
    lines.append(f"{'condition':<16}{'value':>8}{'95% CI':>18}{'wins':>7}{'compared':>10}")
    for v in sorted(result.scale, key=lambda v: -v.value):
        lines.append(f"{v.condition:<16}{v.value:>+8.2f}{format_ci(v.ci_low, v.ci_high):>18}"
                     f"{v.wins:>7}{v.comparisons:>10}")
    if result.conditions:
        lines += ["", "Preferences (row preferred to column):",
                  f"{'':<16}" + "".join(f"{c[:9]:>10}" for c in result.conditions)]
        for a in result.conditions:
            lines.append(f"{a:<16}" + "".join(f"{'–' if a == b else result.wins[a][b]:>10}"
                                            for b in result.conditions))
    return "\n".join(lines)


def format_retest(retest: RetestResult | None) -> str:
    """One sentence on test–retest agreement."""
    if retest is None:
        return "Test–retest: no replicate trials in this study."
    return (f"Test–retest over {retest.pairs} repeated pairs: Pearson r {format_value(retest.pearson, 3)}, "
            f"Spearman ρ {format_value(retest.spearman, 3)}, mean |Δ| "
            f"{format_value(retest.mean_abs_diff, 3)}, identical "
            f"{format_value(100 * retest.exact_agreement, 1)} %.")
