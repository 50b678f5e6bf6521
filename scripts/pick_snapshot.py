"""Pick a run's snapshot by a rule fixed before looking: the validation rows of each run's
log.jsonl as a table, and the snapshot the rule picks.

Rule (issue 19: snapshots are chosen on data that is not reported): on the ``--benchmark``
validation set (the SunHays80 hold-out photos, ``--validation hold-out``), among the iterations
whose grid median is at most ``--max-grid``, whose PSNR is at least ``--min-psnr`` and whose
colour cast is at most ``--max-colour`` (a row without one is not eligible then), the one with
the lowest ``--by`` measure (NIQE for an SRGAN; ``psnr`` picks the highest). Set5/Set14 are never
read here: they are test figures, measured afterwards with ``srgan-desktop eval``.

    python scripts/pick_snapshot.py runs/srgan_s12r runs/blend_r --max-grid 1.25 --min-psnr 28.2 --max-colour 1
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
    args = parser.parse_args()
    sign = -1.0 if args.by == "psnr" else 1.0
    best: tuple[float, Path] | None = None
    print(f"{'run':<22} {'iter':>10} {'psnr':>7} {'niqe':>6} {'grid':>6} {'texture':>7} {'colour':>6}  eligible")
    for run in args.runs:
        for label, snapshot, v in validation_rows(run, args.benchmark):
            colour = v.get("colour_cast", math.inf if args.max_colour < math.inf else math.nan)
            eligible = (v.get("grid", math.inf) <= args.max_grid and v.get("psnr", -math.inf) >= args.min_psnr
                        and not colour > args.max_colour)
            print(f"{run.name:<22} {label:>10} {v.get('psnr', math.nan):>7.3f} {v.get('niqe', math.nan):>6.3f} "
                  f"{v.get('grid', math.nan):>6.2f} {v.get('texture', math.nan):>7.3f} {v.get('colour_cast', math.nan):>6.2f}  {'yes' if eligible else '-'}")
            if eligible and args.by in v and (best is None or sign * v[args.by] < best[0]):
                best = (sign * v[args.by], snapshot)
    if best is None:
        print("no snapshot meets the rule")
        return 1
    print(f"picked: {best[1]} ({args.by} {sign * best[0]:.3f} on {args.benchmark})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
