"""``srgan-train``: train SRResNet / SRGAN and export the app's bundled weights.

Examples::

    srgan-train srresnet --data ../shared/datasets/SunHays80/HR --iterations 100000 --out runs/srresnet
    srgan-train srgan --init resources/weights/srresnet_x4.safetensors --data ... --out runs/srgan
    srgan-train distill --data ../shared/datasets/SunHays80/HR --out runs/fast_x4
    srgan-train export runs/srresnet/last.pt --name srresnet_x4

Under ``torchrun --nproc-per-node N`` the same commands train with DistributedDataParallel.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from srgan_desktop.errors import SrganDesktopError
from trainer.losses import CONTENT_LOSSES, GAN_KINDS, VGGWeightsError

__all__ = ["main", "build_parser"]

_DEFAULT_VALIDATION = ["../shared/datasets/Set5"]


def _add_training_options(p: argparse.ArgumentParser, stage: str) -> None:
    p.add_argument("--data", nargs="+", required=True, metavar="DIR",
                   help="folder(s) of HR training images (PNG/JPEG/...); crops are taken at random")
    p.add_argument("--out", default=f"runs/{stage}", help="run folder: last.pt checkpoint and log.jsonl "
                   "(default: %(default)s)")
    p.add_argument("--iterations", type=int, default=1_000_000 if stage == "srresnet" else 100_000,
                   help="total generator updates (default: %(default)s, as in the paper)")
    p.add_argument("--batch", type=int, default=16, help="HR crops per batch (default: %(default)s)")
    p.add_argument("--crop", type=int, default=96, help="HR crop side in pixels (default: %(default)s)")
    p.add_argument("--scale", type=int, default=4, choices=[2, 4, 8], help="upscaling factor")
    p.add_argument("--blocks", type=int, default=16, help="residual blocks in the generator (paper: 16)")
    p.add_argument("--lr", type=float, default=5e-4 if stage == "distill" else 1e-4,
                   help="Adam learning rate (paper: 1e-4; distill: the start of its cosine, default "
                        "%(default)s)")
    from trainer.loop import SCHEDULES, STAGE_SCHEDULE

    p.add_argument("--schedule", choices=list(SCHEDULES), default="",
                   help="learning-rate schedule: constant, step (×0.1 after --lr-drop-at of the "
                        "iterations) or cosine (from --lr to --lr/100 over --iterations); "
                        f"default: {STAGE_SCHEDULE[stage]}" + (" (paper)" if stage != "distill" else ""))
    p.add_argument("--lr-drop-at", type=float, default=0.5,
                   help="with --schedule step: the fraction of iterations after which lr drops ×0.1 "
                        "(paper: 0.5)")
    p.add_argument("--beta1", type=float, default=0.9, help="Adam beta1 (paper: 0.9)")
    p.add_argument("--content-loss", choices=list(CONTENT_LOSSES), default="mse",
                   help="content loss: pixel MSE (paper: SRGAN-MSE), VGG19 features φ2,2 / φ5,4 scaled by "
                        "1/12.75 (paper; needs ImageNet weights), or srgan only: dfeat = feature matching "
                        "on the discriminator's own features (Salimans et al. 2016; pix2pixHD), an "
                        "ImageNet-free perceptual term, alone or as mse+dfeat (default: %(default)s)")
    p.add_argument("--vgg-weights", metavar="PATH",
                   help="torchvision VGG19 state dict (full or features-only) for the VGG losses; "
                        "default: torchvision's cache/download")
    p.add_argument("--init", metavar="WEIGHTS",
                   help="start the generator from these weights (.safetensors, .pth, or a last.pt)")
    p.add_argument("--resume", metavar="CKPT", help="continue a run exactly from its last.pt")
    p.add_argument("--checkpoint-every", type=int, default=500, help="iterations between checkpoints")
    p.add_argument("--validate-every", type=int, default=500, help="iterations between validations")
    p.add_argument("--log-every", type=int, default=10, help="iterations between log lines")
    p.add_argument("--validation", nargs="*", default=None, metavar="DIR",
                   help="benchmark folders (HR/ + LR_bicubic_x4/) for PSNR/SSIM/texture during training "
                        f"(default: {' '.join(_DEFAULT_VALIDATION)} if present)")
    p.add_argument("--snapshots", action="store_true",
                   help="at every validation also keep the generator (OUT/snapshots/iter_N.pt, a few MB, "
                        "exportable, not resumable): to pick an SRGAN iteration by PSNR and texture")
    p.add_argument("--workers", type=int, default=1, help="DataLoader worker processes")
    p.add_argument("--seed", type=int, default=0, help="seed of the crop stream and the initialisation")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--amp", choices=["auto", "bf16", "fp16", "off"], default="auto",
                   help="mixed precision, always with channels_last. auto: CUDA bf16 where supported, "
                        "else fp16; a CPU with native bf16 (AVX512-BF16/AMX) bf16 autocast (measured: 3.4x fp32 "
                        "with AMX, 2.6x with AVX512-BF16 alone); any other CPU fp32 (bf16 would be emulated). On this machine auto "
                        f"means: {_auto_here()}. The log's first lines say what was picked")
    p.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0: torch's default)")
    p.add_argument("--time-limit", type=float, default=0.0, metavar="MIN",
                   help="save a checkpoint and stop after this many minutes (0: no limit)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    p.add_argument("--ema", type=float, default=0.0, metavar="DECAY",
                   help="keep an exponential moving average of G's weights with this decay (e.g. 0.999; "
                        "Yazici et al. 2019, as in ESRGAN/Real-ESRGAN); validation, snapshots and export "
                        "use the average instead of the raw weights (default: off)")
    p.add_argument("--grid-weight", type=float, default=0.0,
                   help="weight of the lattice-frequency loss: the squared error at the sub-pixel lattice "
                        "frequencies (k/s, l/s), where a pixel-shuffle grid lands (this project's; "
                        "trainer/losses.py; default: off)")
    p.add_argument("--hold-out", metavar="FILE",
                   help="a text file of image names (stems, one per line, # comments) kept out of the "
                        "--data images; '--validation hold-out' validates on them, e.g. "
                        "trainer/splits/sunhays80_validation.txt")
    p.add_argument("--data-scale", type=float, default=1.0, metavar="F",
                   help="reduce every training photo (and the --hold-out photos validated on) by F with the "
                        "MATLAB bicubic before taking crops, e.g. 0.5 for web photos saved as JPEG: it "
                        "takes out their 8-pixel block edges and the detail the compression lost "
                        "(SunHays80: luma gradient across block edges a median 1.19x the mean, up to 1.67x; 1.01x "
                        "after 0.5; Set14's HR 1.04x; scripts/jpeg_blockiness.py) (default: %(default)s)")
    p.add_argument("--freeze-bn", action="store_true",
                   help="keep the generator's batch norms in eval mode: they normalise with their running "
                        "statistics and learn only their scale and shift, so training optimises the very "
                        "function the app runs (for a run continued from trained weights)")
    p.add_argument("--edge-pad", type=int, default=0, metavar="N",
                   help="validate with N LR pixels of each image mirrored around it, and write edge_pad N "
                        "on the exported card so the app does the same (srgan_x4: 8, against the stripes "
                        "a GAN generator paints where its convolutions see zeros; scripts/edge_chroma.py) "
                        "(default: %(default)s)")
    if stage == "srresnet":
        p.add_argument("--icnr", action="store_true",
                       help="ICNR initialisation of the sub-pixel convolutions (Aitken et al. 2017, "
                            "checkerboard-free at initialisation); only for a run from scratch")


def _default_teacher() -> str:
    from srgan_desktop.paths import weights_dir

    return str(weights_dir() / "srresnet_x4.safetensors")


def _add_distill_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--teacher", default=_default_teacher(), metavar="WEIGHTS",
                   help="the teacher: any model the app loads, at the student's scale (default: the "
                        "bundled SRResNet, %(default)s); run frozen on the student's LR crops")
    p.add_argument("--distill-weight", type=float, default=0.5, metavar="W",
                   help="loss = (1 − W) · MSE(student, HR) + W · MSE(student, teacher(LR)) (default: "
                        "%(default)s)")
    p.add_argument("--features", type=int, default=48,
                   help="the student's channels (Real-ESRGAN compact network; default: %(default)s)")
    p.add_argument("--convs", type=int, default=8,
                   help="the student's 3×3 convolutions after the first (default: %(default)s)")


def _auto_here() -> str:
    from srgan_desktop.core.engine import cpu_has_native_bf16

    return ("bf16 autocast + channels_last (this CPU has native bf16)" if cpu_has_native_bf16()
            else "fp32 + channels_last on the CPU (no native bf16 here)")


def read_hold_out(path: str | None) -> list[str]:
    """The image stems listed in a --hold-out file (blank lines and # comments ignored)."""
    if not path:
        return []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"--hold-out {path}: {exc}") from exc
    return [line.split("#", 1)[0].strip() for line in lines if line.split("#", 1)[0].strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="srgan-train", description="Train SRResNet and SRGAN (Ledig et al., CVPR 2017) and "
        "export them as srgan-desktop weights.")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_training_options(sub.add_parser(
        "srresnet", help="stage 1: SRResNet with a content loss (pixel MSE by default)",
        description="Stage 1: train the SRResNet generator."), "srresnet")
    distill = sub.add_parser(
        "distill", help="a small fast ×4 student distilled from a teacher (default: srresnet_x4)",
        description="Knowledge distillation: train Real-ESRGAN's compact network (spandrel's "
                    "SRVGGNetCompact, 48 channels × 8 convolutions by default, 0.19 M parameters) on the "
                    "MSE to (1 − W)·HR + W·teacher(LR), the teacher run frozen on the same LR crops; "
                    "learning rate cosine from --lr to --lr/100.")
    _add_training_options(distill, "distill")
    _add_distill_options(distill)
    srgan = sub.add_parser("srgan", help="stage 2: SRGAN from a stage-1 generator",
                           description="Stage 2: adversarial training, generator initialised with --init.")
    _add_training_options(srgan, "srgan")
    srgan.add_argument("--adversarial-weight", type=float, default=1e-3,
                       help="weight of −log D(G(LR)) in the generator loss (paper: 1e-3)")
    srgan.add_argument("--gan", choices=list(GAN_KINDS), default="standard",
                       help="adversarial loss: standard = the paper's −log D(G(LR)); ragan = relativistic "
                            "average GAN (ESRGAN, Wang et al. 2018) (default: %(default)s)")
    srgan.add_argument("--lr-d", type=float, default=None,
                       help="discriminator learning rate (default: --lr, as in the paper)")
    srgan.add_argument("--spectral-norm", action="store_true",
                       help="spectral normalisation of D's conv and dense weights (Miyato et al. 2018)")
    srgan.add_argument("--low-weight", type=float, default=0.0,
                       help="weight of the low-frequency loss: the squared error of the scale x scale block "
                            "means, where the colour casts of adversarial training show (session 12: up to "
                            "10 levels of green at adversarial weight 1e-2, invisible to Y-only PSNR and "
                            "NIQE); w makes that band count 1 + w times (trainer/losses.py; default: off)")
    srgan.add_argument("--chroma-weight", type=float, default=0.0,
                       help="weight of the chroma loss: the squared error of each pixel's RGB less its grey, "
                            "where the colour that adversarial training paints into grayscale textures shows "
                            "(session 12: 2.5 levels along a grayscale hat); w makes chroma count 1 + w "
                            "times (trainer/losses.py; default: off)")
    srgan.add_argument("--fm-weight", type=float, default=1.0,
                       help="weight of the discriminator feature-matching term of --content-loss "
                            "dfeat / mse+dfeat (default: %(default)s)")
    export = sub.add_parser("export", help="write a checkpoint's generator as app weights + model card",
                            description="Export a training checkpoint to resources/weights/NAME.safetensors "
                                        "with a model card that records the run and its measured figures.")
    export.add_argument("checkpoint", help="a last.pt written by srresnet/srgan")
    export.add_argument("--name", required=True, help="model name, e.g. srresnet_x4 or srgan_x4")
    export.add_argument("--dest", default="resources/weights", help="output folder (default: %(default)s)")
    export.add_argument("--title", help="human title shown in the app")
    export.add_argument("--data-note", default="", help="description of the training data for the card")
    export.add_argument("--eval", nargs="*", default=None, metavar="DIR",
                        help="benchmark folders to measure for the card (default: Set5 and Set14 "
                             "from ../shared/datasets if present)")
    export.add_argument("--notes", default="", help="free text for the card")
    measure = sub.add_parser("measure", help="measure a published model again and rewrite its card's figures",
                             description="Run today's validation (PSNR, SSIM, NIQE, grid, texture) on a model "
                                         "in resources/weights and rewrite the evaluation of its card (the "
                                         "weights are not touched).")
    measure.add_argument("name", help="model name, e.g. srresnet_x4")
    measure.add_argument("--dest", default="resources/weights", help="weights folder (default: %(default)s)")
    measure.add_argument("--eval", nargs="*", default=None, metavar="DIR",
                         help="benchmark folders (default: Set5 and Set14 from ../shared/datasets if present)")
    blend = sub.add_parser(
        "interpolate", help="blend an SRGAN snapshot with the generator it started from",
        description="Network interpolation (ESRGAN, Wang et al. 2018): alpha x the GAN's weights + (1 - alpha) x "
                    "the base's, one exportable snapshot per alpha (OUT/alpha_A.pt). Lower alpha trades texture "
                    "for PSNR and takes a grid down with it; --validate measures each blend on the run's own "
                    "validation sets (e.g. the hold-out photos, with the run's --edge-pad) and appends the figures "
                    "to OUT/log.jsonl, which scripts/pick_snapshot.py reads.")
    blend.add_argument("snapshot", help="an SRGAN snapshot (OUT/snapshots/iter_N.pt) or last.pt")
    blend.add_argument("--base", required=True, help="the generator the GAN was fine-tuned from (e.g. "
                       "resources/weights/srresnet_x4.safetensors)")
    blend.add_argument("--alpha", type=float, nargs="+", required=True, help="weight(s) of the GAN, in [0, 1]")
    blend.add_argument("--out", required=True, help="folder for the blended snapshots and log.jsonl")
    blend.add_argument("--validate", action="store_true", help="measure each blend on the run's validation sets")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "export":
            from trainer.publish import export_checkpoint

            card = export_checkpoint(args.checkpoint, args.name, Path(args.dest), title=args.title,
                                     data_note=args.data_note, eval_dirs=args.eval, notes=args.notes)
            print(json.dumps(card, indent=2))
            return 0
        if args.command == "interpolate":
            from trainer.publish import interpolate_checkpoint

            out = Path(args.out)
            for alpha in args.alpha:
                record = interpolate_checkpoint(args.snapshot, args.base, alpha, out / f"alpha_{alpha:.2f}.pt",
                                                validate_run=args.validate)
                with open(out / "log.jsonl", "a", encoding="utf-8") as log:
                    log.write(json.dumps(record) + "\n")
                print(json.dumps(record))
            return 0
        if args.command == "measure":
            from trainer.publish import remeasure

            print(json.dumps(remeasure(args.name, Path(args.dest), args.eval)["evaluation"], indent=2))
            return 0
        from trainer.loop import TrainConfig, train

        validation = args.validation
        if validation is None:
            validation = [d for d in _DEFAULT_VALIDATION if Path(d).is_dir()]
        cfg = TrainConfig(
            stage=args.command, data=args.data, out=args.out, iterations=args.iterations,
            batch=args.batch, crop=args.crop, scale=args.scale, lr=args.lr, beta1=args.beta1,
            content_loss=args.content_loss, vgg_weights=args.vgg_weights, init=args.init,
            resume=args.resume, checkpoint_every=args.checkpoint_every,
            validate_every=args.validate_every, log_every=args.log_every, validation=validation,
            snapshots=args.snapshots,
            workers=args.workers, seed=args.seed, device=args.device, amp=args.amp,
            threads=args.threads, time_limit=args.time_limit, blocks=args.blocks,
            progress=not args.no_progress,
            adversarial_weight=getattr(args, "adversarial_weight", 1e-3),
            lr_drop_at=args.lr_drop_at, schedule=args.schedule,
            gan=getattr(args, "gan", "standard"), lr_d=getattr(args, "lr_d", None),
            spectral_norm=getattr(args, "spectral_norm", False), ema=args.ema,
            icnr=getattr(args, "icnr", False), fm_weight=getattr(args, "fm_weight", 1.0),
            grid_weight=args.grid_weight, low_weight=getattr(args, "low_weight", 0.0),
            chroma_weight=getattr(args, "chroma_weight", 0.0),
            hold_out=read_hold_out(args.hold_out),
            data_scale=args.data_scale, freeze_bn=args.freeze_bn, edge_pad=args.edge_pad,
            teacher=getattr(args, "teacher", None), distill_weight=getattr(args, "distill_weight", 0.5),
            features=getattr(args, "features", 48), convs=getattr(args, "convs", 8))
        summary = train(cfg)
        print(json.dumps(summary))
        return 0
    except VGGWeightsError as exc:
        print(f"srgan-train: {exc}", file=sys.stderr)
        return 2
    except (SrganDesktopError, OSError, ValueError) as exc:
        # the one base error (e.g. WeightsError for a bad --init) like every other front end: one
        # line naming the file and the reason, no traceback
        detail = f"{exc.filename}: {exc.strerror}" if isinstance(exc, OSError) and exc.filename else exc
        print(f"srgan-train: {detail}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
