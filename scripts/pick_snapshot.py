"""Pick a run's snapshot by a rule fixed before looking: the validation rows of each run's
log.jsonl as a table, and the snapshot the rule picks.

Rule (issue 19: snapshots are chosen on data that is not reported): on the ``--benchmark``
validation set (the SunHays80 hold-out photos, ``--validation hold-out``), among the iterations
whose grid median is at most ``--max-grid``, whose PSNR is at least ``--min-psnr`` and whose
colour cast is at most ``--max-colour``, whose worst image's grid level is at most
``--max-grid-level-worst``, whose grayscale chroma is at most ``--max-gray-chroma`` and whose NIQE
is at most ``--max-niqe`` (a row without a figure its limit needs is not eligible then), the one with
the lowest ``--by`` measure (NIQE for an SRGAN; ``psnr`` picks the highest). Set5/Set14 are never
read here: they are test figures, measured afterwards with ``srgan-desktop eval``.

    python scripts/pick_snapshot.py runs/srgan_s12r runs/blend_r --max-grid 1.25 --min-psnr 28.2 --max-colour 1
    python scripts/pick_snapshot.py runs/srgan_s13t runs/srgan_s13u runs/blend_s13_incumbent --max-grid 1.25 \
        --min-psnr 28.2 --max-colour 1 --max-grid-level-worst 0.473 --max-gray-chroma 0.86 --max-niqe 4.31
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path


def validation_rows(run: Path, benchmark: str) -> list[tuple[str, Path, dict[str, float]]]:
    """(label, snapshot, figures) of every validation of ``benchmark`` in ``run``/log.jsonl: a
    training run's (snapshots/iter_N.pt; a resumed run's repeated iteration keeps its last row)
    or ``srgan-train interpolate --validate``'s (each row names its blend and alpha)."""
    rows: dict[Path, tuple[str, Path, dict[str, float]]] = {}
    for line in (run / "log.jsonl").read_text().splitlines():
        record = json.loads(line)
        if benchmark in record.get("validation", {}):
            iteration = int(record["iteration"])
            snapshot = Path(record.get("snapshot") or run / "snapshots" / f"iter_{iteration:07d}.pt")
            label = f"{iteration}" + (f" a{record['alpha']:.2f}" if "alpha" in record else "")
            rows[snapshot] = (label, snapshot, record["validation"][benchmark])
    return list(rows.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (log.jsonl, snapshots/)")
    parser.add_argument("--benchmark", default="hold-out", help="validation set that picks (default: %(default)s)")
    parser.add_argument("--by", default="niqe", help="measure to optimise: niqe (lowest) or psnr (highest)")
    parser.add_argument("--max-grid", type=float, default=math.inf, help="grid median at most this")
    parser.add_argument("--min-psnr", type=float, default=-math.inf, help="PSNR at least this (dB)")
    parser.add_argument("--max-colour", type=float, default=math.inf, help="colour cast at most this (levels)")
    parser.add_argument("--max-grid-level-worst", type=float, default=math.inf,
                        help="the worst image's grid level at most this (levels)")
    parser.add_argument("--max-gray-chroma", type=float, default=math.inf,
                        help="mean chroma of the output of the grayscale LR at most this (levels)")
    parser.add_argument("--max-niqe", type=float, default=math.inf, help="NIQE at most this")
    args = parser.parse_args()
    sign = -1.0 if args.by == "psnr" else 1.0
    best: tuple[float, Path] | None = None
    limits = {"grid": args.max_grid, "colour_cast": args.max_colour, "grid_level_worst": args.max_grid_level_worst,
              "gray_chroma": args.max_gray_chroma, "niqe": args.max_niqe}
    columns = ("psnr", "niqe", "grid", "texture", "colour_cast", "grid_level_worst", "gray_chroma")
    print(f"{'run':<22} {'iter':>10} " + " ".join(f"{c[:8]:>8}" for c in columns) + "  eligible")
    for run in args.runs:
        for label, snapshot, v in validation_rows(run, args.benchmark):
            eligible = v.get("psnr", -math.inf) >= args.min_psnr and all(
                v.get(name, math.inf) <= limit for name, limit in limits.items() if limit < math.inf)
            print(f"{run.name:<22} {label:>10} " + " ".join(f"{v.get(c, math.nan):>8.3f}" for c in columns)
                  + f"  {'yes' if eligible else '-'}")
            if eligible and args.by in v and (best is None or sign * v[args.by] < best[0]):
                best = (sign * v[args.by], snapshot)
    if best is None:
        print("no snapshot meets the rule")
        return 1
    print(f"picked: {best[1]} ({args.by} {sign * best[0]:.3f} on {args.benchmark})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
