"""``srgan-desktop mos``: create, list, check, summarize, export (and rate) MOS studies.

    srgan-desktop mos create NAME --images DIR [--conditions nearest,bicubic,srresnet,srgan,reference]
                                  [--model FILE ...] [--replicates N] [--calibration N]
                                  [--min-view SECONDS] [--seed N] [--out DIR] [--scale N] [--magnification K]
                                  [--grey SECONDS] [--instructions FILE] [--break-every N]
    srgan-desktop mos list
    srgan-desktop mos check STUDY
    srgan-desktop mos summary STUDY [--exclude-flagged] [--json]
    srgan-desktop mos export STUDY [--csv FILE] [--json FILE]
    srgan-desktop mos analyse EXPORT [--exclude-flagged] [--json] [--per-image]
    srgan-desktop mos rate STUDY [--rater ID]        (opens the rating panel)
    srgan-desktop mos station STUDY OUT --name NAME  (a self-contained copy for one rating PC)
    srgan-desktop mos merge STUDY STATION [STATION ...]

STUDY is a study folder, its ``study.sqlite``, or a study name under ``--root`` (default: the
user data folder's ``mos/``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from srgan_desktop.commands._common import DISK_ERRORS, disk_error, fail, jsonable

__all__ = ["add_parser", "run"]

DEFAULT_CONDITIONS = "nearest,bicubic,srresnet,srgan,reference"


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("mos", help="mean opinion score studies (create, rate, analyse)",
                                   description="Mean opinion score studies as in the SRGAN paper.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--root", type=Path, default=None,
                        help="folder that holds studies (default: <user data>/mos)")
    sub = parser.add_subparsers(dest="mos_command", required=True)

    create = sub.add_parser("create", parents=[common],
                            help="generate a study's stimuli from a folder of HR images")
    create.add_argument("name", help="study name")
    create.add_argument("--images", type=Path, required=True, help="folder of HR source images")
    create.add_argument("--conditions", default=DEFAULT_CONDITIONS,
                        help=f"comma-separated: nearest, bicubic, srresnet, srgan, reference, or "
                             f"model files / KEY=FILE, or KEY=DIR: a folder of results made elsewhere, "
                             f"one image per source named like it (default {DEFAULT_CONDITIONS})")
    create.add_argument("--model", action="append", default=[], metavar="FILE",
                        help="add a user model file as a condition (repeatable)")
    create.add_argument("--replicates", type=int, default=1,
                        help="times each trial is shown to a rater (≥ 2 gives test–retest data)")
    create.add_argument("--calibration", type=int, default=1, metavar="N",
                        help="calibrate raters on the first N images (nearest = 1, original = 5); 0 = off")
    create.add_argument("--min-view", type=float, default=0.0, metavar="SECONDS",
                        help="minimum viewing time before a score can be given")
    create.add_argument("--seed", type=int, default=None, help="randomization seed (default: random)")
    create.add_argument("--out", type=Path, default=None, help="study folder (default: ROOT/NAME)")
    create.add_argument("--device", default="cpu", help="device for the networks (auto, cpu, cuda, mps)")
    create.add_argument("--scale", type=int, default=4, metavar="N",
                        help="super-resolution factor of the study: LR made with the MATLAB "
                             "bicubic ×1/N, every model condition must be ×N (2, 3, 4 or 8; default 4)")
    create.add_argument("--magnification", type=int, default=1, metavar="K",
                        help="screen pixels per image pixel, the same for every stimulus (default 1: 1:1)")
    create.add_argument("--grey", type=float, default=0.0, metavar="SECONDS",
                        help="mid-grey screen between stimuli (ITU-T P.910), default 0")
    create.add_argument("--instructions", type=Path, default=None, metavar="FILE",
                        help="a UTF-8 text file with the rater instructions (default: built-in text)")
    create.add_argument("--break-every", type=int, default=0, metavar="N",
                        help="a break page every N trials (default 0: none)")
    create.add_argument("--paired", action="store_true",
                        help="paired comparison: the rater picks the better of two stimuli of the "
                             "same image (every pair of conditions, sides at random)")
    create.add_argument("--show-reference", action="store_true",
                        help="paired comparison: show the HR reference above the pair")

    sub.add_parser("list", parents=[common], help="list the studies under the root folder")
    check = sub.add_parser("check", parents=[common], help="check a study's database and stimulus hashes")
    check.add_argument("study")

    summary = sub.add_parser("summary", parents=[common], help="MOS per condition, pairwise tests, screening")
    summary.add_argument("study")
    summary.add_argument("--exclude-flagged", action="store_true",
                         help="leave out raters rejected by BT.500 screening")
    summary.add_argument("--json", action="store_true", help="print the analysis as JSON")
    summary.add_argument("--per-image", action="store_true", help="also MOS per image and condition")
    _metric_options(summary)

    analyse = sub.add_parser("analyse", parents=[common],
                             help="analyse a ratings export (CSV or JSON) made here or elsewhere")
    analyse.add_argument("file", type=Path, help="a .csv or .json file written by 'mos export'")
    analyse.add_argument("--exclude-flagged", action="store_true",
                         help="leave out raters rejected by BT.500 screening")
    analyse.add_argument("--json", action="store_true", help="print the analysis as JSON")
    analyse.add_argument("--per-image", action="store_true", help="also MOS per image and condition")

    export = sub.add_parser("export", parents=[common], help="write the ratings as long-format CSV and/or JSON")
    export.add_argument("study")
    export.add_argument("--csv", type=Path, default=None)
    export.add_argument("--json", type=Path, default=None,
                        help="ratings, design, sittings and the analysis as one JSON document")
    export.add_argument("--sittings", type=Path, default=None, metavar="CSV",
                        help="one row per sitting: rater, start, end, station, display")
    export.add_argument("--per-image", type=Path, default=None, metavar="CSV",
                        help="MOS with 95 %% CI per image and condition (with each metric when "
                             "--metrics is given)")
    _metric_options(export)

    station = sub.add_parser("station", parents=[common],
                             help="make a self-contained copy of a study for one rating PC")
    station.add_argument("study")
    station.add_argument("out", type=Path, help="new folder for the station copy (on that PC's local disk)")
    station.add_argument("--name", required=True, help="the station's name, recorded with each sitting")
    merge = sub.add_parser("merge", parents=[common],
                           help="bring station copies' ratings back into the study (idempotent)")
    merge.add_argument("study")
    merge.add_argument("stations", nargs="+", help="station study folders or study.sqlite files")

    rate = sub.add_parser("rate", parents=[common], help="open the rating panel for a study")
    rate.add_argument("study")
    rate.add_argument("--rater", default="", help="fill in the rater ID")
    return parser


def _metric_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--metrics", nargs="*", default=None, metavar="NAME",
                        help="metric ↔ MOS agreement for these metrics (psnr ssim lpips niqe; "
                             "no names = all four)")
    parser.add_argument("--hr", type=Path, default=None, metavar="DIR",
                        help="HR source folder for full-reference metrics when the study has no "
                             "'reference' condition (files checked by SHA-256)")
    parser.add_argument("--lpips-backbone", default=None, metavar="PATH",
                        help="torchvision state dict of the LPIPS backbone (default: torchvision's cache)")
    parser.add_argument("--lpips-net", default="alex", choices=("alex", "vgg"))
    parser.add_argument("--resamples", type=int, default=400,
                        help="bootstrap resamples for the agreement intervals (default 400)")


def _agreement(args: argparse.Namespace, study, analysis):
    """The agreement asked for with --metrics, or None."""
    if args.metrics is None:
        return None
    from srgan_desktop.mos.agreement import AGREEMENT_METRICS, study_agreement
    from srgan_desktop.mos.design import DesignError

    names = args.metrics or list(AGREEMENT_METRICS)
    unknown = [n for n in names if n not in AGREEMENT_METRICS]
    if unknown:
        raise DesignError(f"unknown metric(s) {', '.join(unknown)} (use {', '.join(AGREEMENT_METRICS)})")
    return study_agreement(study, analysis, names, hr_dir=args.hr, lpips_net=args.lpips_net,
                           lpips_backbone=args.lpips_backbone, resamples=max(50, args.resamples))


def _conditions(args: argparse.Namespace):
    from srgan_desktop.mos.design import parse_condition

    specs = [s for s in args.conditions.split(",") if s.strip()] + list(args.model)
    return [parse_condition(s) for s in specs]


def _create(args: argparse.Namespace) -> int:
    from srgan_desktop.mos.design import make_design
    from srgan_desktop.mos.stimuli import find_sources
    from srgan_desktop.mos.store import create_study, slugify, studies_root

    from srgan_desktop.mos.design import DesignError

    sources = find_sources(args.images)
    instructions = ""
    if args.instructions is not None:
        try:
            instructions = args.instructions.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DesignError(f"cannot read the instructions {args.instructions}: {exc}") from exc
    design = make_design(args.name, list(sources), _conditions(args), replicates=args.replicates,
                         calibration=args.calibration, min_view_s=args.min_view, seed=args.seed,
                         magnification=args.magnification, grey_s=args.grey,
                         instructions=instructions, break_every=args.break_every,
                         kind="pc" if args.paired else "acr", show_reference=args.show_reference,
                         scale=args.scale)
    folder = args.out or (args.root or studies_root()) / slugify(args.name)

    def progress(done: int, total: int, what: str) -> None:
        end = "\n" if done == total else ""
        print(f"\r  stimuli {done}/{total}", end=end, file=sys.stderr, flush=True)

    with create_study(design, sources, folder, device=args.device, progress=progress) as study:
        info = study.info()
        print(f"created study '{study.name}' in {study.folder}")
        print(f"  {info.images} images × {len(info.conditions)} conditions "
              f"({', '.join(info.conditions)}) × {design.replicates} replicate(s) = "
              f"{info.trials_per_rater} trials per rater; {len(study.stimuli)} stimuli; "
              f"seed {design.seed}")
    return 0


def _list(args: argparse.Namespace) -> int:
    from srgan_desktop.mos.store import list_studies, studies_root

    root = args.root or studies_root()
    studies = list_studies(root)
    if not studies:
        print(f"no studies in {root}")
        return 0
    for info in studies:
        if info.error:
            print(f"{info.name}: ERROR {info.error}")
            continue
        print(f"{info.name}: {info.raters} rater(s) ({info.complete_raters} complete), "
              f"{info.ratings} rating(s); {info.images} images × {len(info.conditions)} conditions "
              f"[{', '.join(info.conditions)}]; {info.path.parent}")
    return 0


def _summary(args: argparse.Namespace) -> int:
    from srgan_desktop.mos.stats import analyse
    from srgan_desktop.mos.store import open_study

    with open_study(args.study, root=args.root) as study:
        if study.design.kind == "pc":
            return _pair_summary(args, study)
        analysis = analyse(study.rows(), study.design.condition_keys,
                           exclude_flagged=args.exclude_flagged)
        analysis.warnings[:0] = [f"ratings changed outside the app: {p}" for p in study.verify_chain()]
        name = study.name
        agreement = _agreement(args, study, analysis)
    return _print_analysis(args, name, analysis, agreement)


def _print_analysis(args: argparse.Namespace, name: str, analysis, agreement=None) -> int:
    if args.json:
        document = asdict(analysis)
        if agreement is not None:
            document["agreement"] = asdict(agreement)
        print(json.dumps(jsonable(document, null_nan=True), indent=1, allow_nan=False))
    else:
        from srgan_desktop.mos.report import format_agreement, format_analysis

        print(format_analysis(name, analysis, per_image=args.per_image))
        if agreement is not None:
            print("\n" + format_agreement(agreement))
    return 0


def _analyse(args: argparse.Namespace) -> int:
    """The analysis of an export file: the same numbers ``mos summary`` gives for the study."""
    from srgan_desktop.mos.ratings_file import ExportError, read_csv, read_json

    if args.file.suffix.lower() == ".json":
        design, rows = read_json(args.file)
    else:
        design, rows = {}, read_csv(args.file)
    if not rows:
        raise ExportError(f"{args.file} holds no ratings")
    listed = design.get("conditions")
    conditions = [c["key"] for c in (listed if isinstance(listed, list) else ())
                  if isinstance(c, dict) and isinstance(c.get("key"), str)]
    name = str(design.get("name") or rows[0].study or args.file.name)
    if any(r.condition_b for r in rows):
        from srgan_desktop.mos.paired import analyse_pairs
        from srgan_desktop.mos.report import format_pairs

        result = analyse_pairs(rows, conditions)
        print(json.dumps(jsonable(asdict(result)), indent=1, allow_nan=False) if args.json
              else format_pairs(name, result))
        return 0
    from srgan_desktop.mos.stats import analyse

    return _print_analysis(args, name, analyse(rows, conditions, exclude_flagged=args.exclude_flagged))


def _pair_summary(args: argparse.Namespace, study) -> int:
    from srgan_desktop.mos.paired import analyse_pairs
    from srgan_desktop.mos.report import format_pairs

    result = analyse_pairs(study.rows(), study.design.condition_keys)
    result.warnings[:0] = [f"ratings changed outside the app: {p}" for p in study.verify_chain()]
    if args.json:
        print(json.dumps(jsonable(asdict(result), null_nan=True), indent=1, allow_nan=False))
    else:
        print(format_pairs(study.name, result))
    return 0


def _export(args: argparse.Namespace) -> int:
    from srgan_desktop.mos.ratings_file import write_csv, write_json
    from srgan_desktop.mos.store import open_study

    from srgan_desktop.mos.ratings_file import sitting_records, write_table_csv
    from srgan_desktop.mos.stats import analyse

    targets = (args.csv, args.json, args.sittings, args.per_image)
    if all(t is None for t in targets):
        return fail("mos export: give --csv FILE, --json FILE, --sittings FILE and/or --per-image FILE")
    problem = _target_problem(dict(zip(("--csv", "--json", "--sittings", "--per-image"), targets)))
    if problem:
        return fail(f"mos export: {problem}")
    with open_study(args.study, root=args.root) as study:
        for target in targets:
            if target is not None and _inside(target, study.folder):
                return fail(f"mos export: {target} is inside the study folder; write the export elsewhere "
                            f"(the study's own files must not be overwritten)")
        rows = study.rows()
        sittings = sitting_records(study.sittings())
        if study.design.kind == "pc":
            from srgan_desktop.mos.paired import analyse_pairs

            analysis = analyse_pairs(rows, study.design.condition_keys)
            agreement = None
            if args.metrics is not None or args.per_image is not None:
                return fail("mos export: --metrics and --per-image are for ACR (score) studies")
        else:
            analysis = analyse(rows, study.design.condition_keys)
            agreement = _agreement(args, study, analysis)
        document = jsonable(asdict(analysis), null_nan=True)
        if agreement is not None:
            document["agreement"] = jsonable(asdict(agreement), null_nan=True)
        if args.csv is not None:
            print(f"wrote {len(rows)} rating(s) to {write_csv(args.csv, rows)}")
        if args.json is not None:
            path = write_json(args.json, rows, study.design.to_dict(), sittings, document)
            print(f"wrote {len(rows)} rating(s), {len(sittings)} sitting(s) and the analysis to {path}")
        if args.sittings is not None:
            print(f"wrote {len(sittings)} sitting(s) to {write_table_csv(args.sittings, sittings)}")
        if args.per_image is not None:
            cells = [jsonable(asdict(c)) for c in analysis.per_image]
            if agreement is not None:
                for cell, metrics in zip(cells, agreement.stimuli):
                    cell.update(jsonable(metrics.values))
            print(f"wrote {len(cells)} image × condition row(s) to {write_table_csv(args.per_image, cells)}")
    return 0


def _target_problem(targets: dict[str, Path | None]) -> str:
    """Why these export targets cannot all be written ('' if they can): two options naming one
    file (the second would silently replace the first), or a target that exists and is not a
    regular file (a device node or FIFO is never replaced).  Checked before anything is written."""
    from srgan_desktop.utils import NotARegularFile, check_writable_target

    seen: dict[Path, str] = {}
    for option, target in targets.items():
        if target is None:
            continue
        try:
            check_writable_target(target)
        except NotARegularFile as exc:
            return f"{option} {target}: {exc.strerror}"
        key = target.resolve()
        if key in seen:
            return f"{seen[key]} and {option} both name {target}; give each export its own file"
        seen[key] = option
    return ""


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def _check(args: argparse.Namespace) -> int:
    from srgan_desktop.mos.store import open_study

    with open_study(args.study, root=args.root) as study:
        problems = study.verify_chain()
        if problems:
            return fail(f"study '{study.name}': ratings were changed outside the app: "
                        + "; ".join(problems[:5]) + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""))
        print(f"study '{study.name}' is intact: database ok, {len(study.stimuli)} stimuli match "
              f"their SHA-256, {len(study.rows())} rating(s) match their hash chain")
    return 0


def _rate(args: argparse.Namespace) -> int:
    from srgan_desktop.mos.store import resolve_study

    path = resolve_study(args.study, args.root)
    from srgan_desktop.ui.mos_window import run_rating_app  # Qt only when the panel is wanted

    return run_rating_app(path, rater=args.rater)


def _station(args: argparse.Namespace) -> int:
    from srgan_desktop.mos.store import make_station, open_study

    with open_study(args.study, root=args.root) as study:
        path = make_station(study, args.out, args.name)
        print(f"station '{' '.join(args.name.split())}' of study '{study.name}': {path.parent} "
              f"({len(study.stimuli)} stimuli). Rate there with: srgan-desktop mos rate {path.parent}")
    return 0


def _merge(args: argparse.Namespace) -> int:
    from contextlib import ExitStack

    from srgan_desktop.mos.store import Study, open_study, resolve_study

    with ExitStack() as stack:
        study = stack.enter_context(open_study(args.study, root=args.root))
        stations = []
        for spec in args.stations:  # every station is checked before anything is merged
            station = stack.enter_context(Study.open(resolve_study(spec, args.root)))
            if station.path.resolve() == study.path.resolve():
                return fail(f"mos merge: {spec} is the study itself, not a station copy")
            study.check_station(station)
            stations.append(station)
        for station in stations:
            result = study.merge_from(station)
            line = (f"station '{result.station}': {result.added} rating(s) added, "
                    f"{result.unchanged} already merged")
            if result.duplicates:
                line += (f", {result.duplicates} trial(s) rated again by {', '.join(result.duplicate_raters)}"
                         f" skipped (each trial counts once)")
            print(line)
        several = study.raters_on_several_stations()
        for rater, places in several.items():
            print(f"rater '{rater}' rated on several stations: {', '.join(places)}")
        info = study.info()
        print(f"study '{study.name}': {info.raters} rater(s), {info.ratings} rating(s)")
    return 0


_COMMANDS = {"station": _station, "merge": _merge, "create": _create, "list": _list, "check": _check, "summary": _summary,
             "export": _export, "analyse": _analyse, "rate": _rate}


def run(args: argparse.Namespace) -> int:
    """One line on stderr and exit code 2 for any user error — also for a damaged study file
    (SQLite's own errors, should one slip past the store's checks), never a traceback."""
    import sqlite3

    from srgan_desktop.errors import SrganDesktopError

    try:
        return _COMMANDS[args.mos_command](args)
    except SrganDesktopError as exc:
        return fail(exc)
    except sqlite3.Error as exc:
        from srgan_desktop.mos.connection import access_error

        access = access_error(exc, Path(getattr(args, "study", "") or "the study file"))
        return fail(access or f"the study file is damaged or unreadable ({exc})")
    except OSError as exc:  # a full or read-only disk the store did not turn into its own error
        if exc.errno not in DISK_ERRORS:
            raise
        return fail(disk_error(exc))
