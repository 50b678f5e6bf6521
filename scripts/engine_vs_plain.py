#!/usr/bin/env python3
"""The engine of any checkout against the plain forward, in one process: seconds per LR megapixel of
the default upscale of an 800×600 image and of the plain channels_last forward at 128² (bundled
srresnet_x4, fp32).  Run it once with this checkout and once with an older one on PYTHONPATH:

    git worktree add /tmp/old 724d2ec
    PYTHONPATH=/tmp/old SRGAN_DESKTOP_CPU_BF16=off .venv/bin/python scripts/engine_vs_plain.py
    SRGAN_DESKTOP_CPU_BF16=off .venv/bin/python scripts/engine_vs_plain.py

Compare the multiples of the plain forward: the machine's own speed drifts between runs."""
from __future__ import annotations

import time, numpy as np, torch, copy, srgan_desktop
from srgan_desktop.core.models import default_resolver
from srgan_desktop.core.engine import Upscaler
print(srgan_desktop.__file__)
m = default_resolver().method("srresnet")
plain = copy.deepcopy(m.model).eval().to(memory_format=torch.channels_last)
x = torch.rand(1, 3, 128, 128).contiguous(memory_format=torch.channels_last)
with torch.inference_mode():
    plain(x); t = time.perf_counter(); plain(x); plain(x); p = (time.perf_counter() - t) / 2
print("plain 128² channels_last", round(p / 0.016384, 1), "s/LRMP")
rgb = np.random.default_rng(0).integers(0, 256, (600, 800, 3), dtype=np.uint8)
up = Upscaler(m, device="cpu"); up.upscale(rgb[:16, :16])
t = time.perf_counter(); r = up.upscale(rgb); s = time.perf_counter() - t
print("engine default 800×600", round(s / 0.48, 1), "s/LRMP", r.tile, r.tiles, r.precision)
