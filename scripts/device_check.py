"""The prepared GPU check of a lent accelerator (issue 12 §5): run it first, then train.

    bash scripts/device_check.sh            # on the device machine: writes $OUT/device_check.json

What it measures, each printed as one line and saved as JSON:

1. CUDA inference of the bundled models against CPU fp32 on Set5 (the benchmark LR images):
   largest absolute difference in fp32 (must be ≤ 1e-3 of the [0, 1] range) and Set5 PSNR in
   fp32 / bf16 / fp16 against the CPU's (must be within 0.05 dB);
2. seconds per LR megapixel (512×512 LR input, best of 3) per precision;
3. a forced out-of-memory: ``torch.cuda.set_per_process_memory_fraction`` makes the first tile
   fail; the engine must halve the tile and still give the same image (max difference reported);
4. training iterations per second of both stages (batch 16, 96² crops, the trainer's own step).

``--device cpu --quick`` runs the same code paths on the CPU with tiny sizes (what the tests and
a machine without a GPU can check).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from srgan_desktop import paths  # noqa: E402
from srgan_desktop.core.arch import Discriminator, SRResNet  # noqa: E402
from srgan_desktop.core.benchmarks import find_dataset  # noqa: E402
from srgan_desktop.core.engine import NetworkMethod, Upscaler  # noqa: E402
from srgan_desktop.core.metrics import psnr  # noqa: E402
from srgan_desktop.core.models import default_resolver  # noqa: E402


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def inference_checks(device: str, names: list[str], data: Path, quick: bool) -> dict:
    resolver = default_resolver()
    pairs = find_dataset(data).pairs(4)[: 2 if quick else None]
    report = {}
    for name in names:
        model, descriptor = resolver.load(name)
        cpu = Upscaler(NetworkMethod(model, descriptor), device="cpu", tile=0, precision="fp32")
        reference = [cpu.upscale(p.lr, as_float=True).rgb for p in pairs]
        cpu_psnr = float(np.mean([psnr(cpu.upscale(p.lr).rgb, p.hr) for p in pairs]))
        row = {"cpu_fp32_psnr": cpu_psnr}
        for precision in ("fp32", "bf16", "fp16") if device != "cpu" else ("fp32",):
            try:
                up = Upscaler(NetworkMethod(model, descriptor), device=device, tile=0, precision=precision)
            except Exception as exc:  # noqa: BLE001 - report what this device cannot do
                row[precision] = f"unavailable: {exc}"
                continue
            outs = [up.upscale(p.lr) for p in pairs]
            entry = {"psnr": float(np.mean([psnr(o.rgb, p.hr) for o, p in zip(outs, pairs)]))}
            entry["psnr_delta_db"] = entry["psnr"] - cpu_psnr
            if precision == "fp32":
                floats = [up.upscale(p.lr, as_float=True).rgb for p in pairs]
                entry["max_abs_diff"] = float(max(np.abs(a - b).max() for a, b in zip(floats, reference)))
            side = 128 if quick else 512
            image = np.random.default_rng(0).integers(0, 256, (side, side, 3), dtype=np.uint8)
            up.upscale(image)
            times = []
            for _ in range(1 if quick else 3):
                _sync(up.device)
                start = time.perf_counter()
                up.upscale(image)
                _sync(up.device)
                times.append(time.perf_counter() - start)
            entry["seconds_per_lr_megapixel"] = min(times) / (side * side / 1e6)
            row[precision] = entry
            print(f"{name} {device} {precision}: {json.dumps(entry)}", flush=True)
        report[name] = row
    return report


def oom_check(device: str, name: str, quick: bool) -> dict:
    """Force the first tile out of memory; the engine must halve it and give the same image."""
    model, descriptor = default_resolver().load(name)
    side = 96 if quick else 768
    image = np.random.default_rng(1).integers(0, 256, (side, side, 3), dtype=np.uint8)
    whole = Upscaler(NetworkMethod(model, descriptor), device=device, tile=0, precision="fp32").upscale(image)
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, 2.0 * 1024 ** 3 / total))
    try:
        tiled = Upscaler(NetworkMethod(model, descriptor), device=device, tile=side, precision="fp32").upscale(image)
    finally:
        if device.startswith("cuda"):
            torch.cuda.set_per_process_memory_fraction(1.0)
    diff = int(np.abs(whole.rgb.astype(np.int16) - tiled.rgb.astype(np.int16)).max())
    result = {"asked_tile": side, "used_tile": tiled.tile, "tiles": tiled.tiles, "max_diff_8bit": diff}
    print(f"oom {name}: {json.dumps(result)}", flush=True)
    return result


def training_rate(device: str, quick: bool) -> dict:
    from trainer.losses import content_loss
    from trainer.loop import TrainConfig, _amp_dtype, training_step

    dev = torch.device(device)
    batch, crop, steps = (2, 32, 2) if quick else (16, 96, 20)
    rates = {}
    for stage in ("srresnet", "srgan"):
        cfg = TrainConfig(stage=stage, crop=crop)
        gen = SRResNet(num_blocks=2 if quick else 16).to(dev)
        disc = Discriminator(crop).to(dev) if stage == "srgan" else None
        opt_g = torch.optim.Adam(gen.parameters(), lr=1e-4)
        opt_d = torch.optim.Adam(disc.parameters(), lr=1e-4) if disc is not None else None
        amp = _amp_dtype("auto", dev)
        scaler = torch.amp.GradScaler("cuda", enabled=amp == torch.float16)
        lr, hr = torch.rand(batch, 3, crop // 4, crop // 4, device=dev), torch.rand(batch, 3, crop, crop, device=dev)
        criterion = content_loss("mse").to(dev)
        training_step(cfg, gen, disc, opt_g, opt_d, criterion, scaler, amp, dev, lr, hr)  # warm-up
        _sync(dev)
        start = time.perf_counter()
        for _ in range(steps):
            training_step(cfg, gen, disc, opt_g, opt_d, criterion, scaler, amp, dev, lr, hr)
        _sync(dev)
        rates[stage] = steps / (time.perf_counter() - start)
        print(f"training {stage} on {device} ({amp}): {rates[stage]:.2f} it/s (batch {batch}, {crop}² crops)",
              flush=True)
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "datasets" / "Set5"))
    parser.add_argument("--quick", action="store_true", help="tiny sizes (a CPU dry run)")
    parser.add_argument("--out", default=os.environ.get("OUT", "."))
    args = parser.parse_args()
    names = sorted(p.stem for p in paths.weights_dir().glob("*.safetensors"))
    report = {"device": args.device, "torch": torch.__version__,
              "name": torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "cpu",
              "inference": inference_checks(args.device, names, Path(args.data), args.quick),
              "oom": oom_check(args.device, names[0], args.quick),
              "training_it_per_s": training_rate(args.device, args.quick)}
    ok = all(isinstance(r.get("fp32"), dict) and r["fp32"]["max_abs_diff"] <= 1e-3
             and all(abs(r[p]["psnr_delta_db"]) <= 0.05 for p in ("fp32", "bf16", "fp16") if isinstance(r.get(p), dict))
             for r in report["inference"].values()) and report["oom"]["max_diff_8bit"] == 0
    report["pass"] = bool(ok)
    target = Path(args.out) / "device_check.json"
    target.write_text(json.dumps(report, indent=2) + "\n")
    print(f"device check {'PASS' if ok else 'FAIL'} -> {target}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
