"""Randomly initialised models of the published sizes, for `srgan-desktop bench --model` and
scripts/seam_error.py (time does not depend on the weights; nothing is downloaded).

    .venv/bin/python scripts/make_bench_models.py OUT_DIR
writes OUT_DIR/{rrdbnet_x4,srvggnet_compact_x4,swinir_small_x4}.safetensors (seed 0).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
from safetensors.torch import save_file
from spandrel.architectures.Compact import Compact
from spandrel.architectures.ESRGAN import ESRGAN
from spandrel.architectures.SwinIR import SwinIR


def main(out: Path) -> None:
    torch.manual_seed(0)
    nets = {
        "rrdbnet_x4": ESRGAN(num_filters=64, num_blocks=23, scale=4),          # ESRGAN / RealESRGAN_x4plus
        "srvggnet_compact_x4": Compact(num_feat=64, num_conv=32, upscale=4),  # realesr-general-x4v3
        "swinir_small_x4": SwinIR(img_size=64, embed_dim=60, depths=[6, 6, 6, 6],
                                  num_heads=[6, 6, 6, 6], window_size=8, mlp_ratio=2.0, upscale=4,
                                  upsampler="pixelshuffledirect"),            # SwinIR lightweight
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, net in nets.items():
        save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(out / f"{name}.safetensors"))
        print(f"{out / name}.safetensors: {sum(p.numel() for p in net.parameters()):,} parameters")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
