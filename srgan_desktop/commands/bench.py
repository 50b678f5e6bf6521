"""``srgan-desktop bench``: how fast a model runs on this machine, and what memory it takes.

``--model`` names any model the resolver loads (default: the bundled SRResNet, else a randomly
initialised one); ``--tile`` and ``--precision`` set the engine as ``upscale`` does, and the
engine's time is also given as seconds per LR megapixel (the figure to compare architectures by).

* the raw full-frame forward time against the engine's time at its default settings, for
  the same input (their ratio is the engine's overhead: conversions, tiling, clipping);
* the achieved GFLOP/s of the forward (convolution FLOPs counted analytically: 2·k²·Cin·Cout
  per output pixel) next to a measured fp32 matmul peak;
* the peak RSS of a child process that upscales a 4·N × 4·N input (1024 × 1024 by default)
  with the engine's default (auto) tiling, read with ``getrusage(RUSAGE_CHILDREN)``; a second
  child runs the engine's forward of the largest padded tile (staged, for the SRResNet family,
  as the engine runs it), which gives the bytes one padded LR pixel really costs, against the
  method's budget (``BYTES_PER_LR_PIXEL``, or ``STAGED_BYTES_PER_LR_PIXEL`` for a staged model).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import NoReturn

import numpy as np
import torch

from srgan_desktop.commands._common import (CommandError, guarded, load_method, nonnegative_int,
                                            positive_int, write_json)
from srgan_desktop.core import engine
from srgan_desktop.core.arch import SRResNet
from srgan_desktop.core.engine import NetworkMethod, Upscaler, resolve_device, tile_boxes
from srgan_desktop.core.weights import ModelDescriptor, WeightsError
from srgan_desktop.paths import is_frozen

__all__ = ["add_parser", "run", "conv_flops", "matmul_gflops", "largest_padded_span", "BenchSubject",
           "RssReport", "BenchReport", "bench_subject", "format_report"]

DEFAULT_SIZE = 256
DEFAULT_SIZES = "128,512,800x600,1200x900"
PLAIN_SIDE = 128       # the plain forward every engine figure is compared with
COMPARE_TILE = 128     # the small tile set against the default one
COMPARE_UP_TO = 600 * 800  # tile 128 is timed on sizes up to this many LR pixels (it is slow)


def parse_sizes(text: str) -> list[tuple[int, int]]:
    """``"128,512,1200x900"`` → [(128, 128), (512, 512), (900, 1200)] as (height, width)."""
    if str(text).strip().lower() in ("", "none", "0"):
        return []
    sizes = []
    for part in str(text).split(","):
        w, _, h = part.strip().lower().partition("x")
        try:
            width, height = int(w), int(h or w)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{part}' is not N or WxH") from None
        if width < 1 or height < 1:
            raise argparse.ArgumentTypeError(f"'{part}' must be positive")
        sizes.append((height, width))
    return sizes


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "bench", help="time a model here: raw forward vs engine, s per LR megapixel, GFLOP/s, peak RSS",
        description="Benchmark a model on this machine (--model; default: the bundled SRResNet, else a "
                    "randomly initialised SRResNet): raw forward vs the engine, achieved "
                    "GFLOP/s against a measured fp32 matmul peak, and the peak RSS of upscaling a "
                    "4·SIZE × 4·SIZE input with the engine's auto tiling (in a child process).")
    parser.add_argument("--size", type=positive_int, default=DEFAULT_SIZE, metavar="N",
                        help="LR side of the timed input; the memory run uses 4·N "
                             "(default: %(default)s, i.e. 1024×1024 for memory)")
    parser.add_argument("--repeat", type=positive_int, default=3, metavar="K",
                        help="timed runs after one warm-up; the best is reported (default: %(default)s)")
    parser.add_argument("--device", default="auto", metavar="DEV",
                        help="auto, cpu, cuda or mps (default: %(default)s)")
    parser.add_argument("--model", metavar="SPEC",
                        help="a model name or weights file of any architecture (default: srresnet)")
    parser.add_argument("--tile", type=nonnegative_int, default=None, metavar="N",
                        help="the engine's LR tile side; 0 = whole image (default: from free memory)")
    parser.add_argument("--precision", choices=["auto", "fp32", "fp16", "bf16"], default="auto",
                        help="the engine's precision, as for upscale (default: %(default)s)")
    parser.add_argument("--sizes", type=parse_sizes, default=parse_sizes(DEFAULT_SIZES), metavar="LIST",
                        help="LR sizes (N or WxH, comma-separated) for the speed table: the engine's "
                             "seconds per LR megapixel at its default tile and at tile "
                             f"{COMPARE_TILE}, against the plain forward at {PLAIN_SIDE}²; "
                             "'none' skips it (default: %(default)s)")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the peak-RSS child processes (faster)")
    parser.add_argument("--json", metavar="OUT", help="also write the figures here")
    parser.add_argument("--child", choices=["engine", "forward"], help=argparse.SUPPRESS)
    parser.add_argument("--child-size", type=positive_int, help=argparse.SUPPRESS)
    return parser


# --- what is measured ----------------------------------------------------------------------

@dataclass
class BenchSubject:
    model: torch.nn.Module
    descriptor: ModelDescriptor
    label: str
    bundled: bool


def bench_subject(spec: str | None = None) -> BenchSubject:
    """``spec`` through the resolver; by default the bundled SRResNet if it has weights, else a
    randomly initialised one (seed 0)."""
    if spec:
        method = load_method(spec)
        if not isinstance(method, NetworkMethod):
            raise CommandError(f"'{spec}' is not a model (bench times networks)")
        d = method.descriptor
        where = d.path.name if d.path else "?"
        return BenchSubject(method.model, d, f"{d.name} ({d.architecture} ×{d.scale}, {d.params:,} "
                            f"parameters, {where})", d.card != {} and d.loader == "srgan_desktop")
    why = ""
    try:
        method = load_method("srresnet")
        if isinstance(method, NetworkMethod):
            path = method.descriptor.path
            return BenchSubject(method.model, method.descriptor,
                                f"{method.name} (bundled weights: {path.name if path else '?'})", True)
    except WeightsError as exc:
        why = f": {exc}"
    torch.manual_seed(0)
    model = SRResNet().eval()
    descriptor = ModelDescriptor(name="srresnet (random init)", num_blocks=model.num_blocks,
                                 channels=model.channels, scale=model.scale)
    return BenchSubject(model, descriptor, f"randomly initialised 16-block SRResNet (no bundled "
                        f"weights{why})", False)


def conv_flops(model: torch.nn.Module, height: int, width: int) -> int:
    """FLOPs of every convolution in one forward of an (height, width) input: 2·MACs, where a
    conv has k_h·k_w·C_in/groups·C_out MACs per output pixel.

    Counted from the layer shapes alone, for networks like SRResNet whose modules are
    registered in execution order and whose convolutions keep the size ("same" padding): the
    resolution changes only at ``PixelShuffle`` (× its factor) and at strided convolutions.
    """
    total, scale_y, scale_x = 0, float(height), float(width)
    for module in model.modules():
        if isinstance(module, torch.nn.PixelShuffle):
            scale_y *= module.upscale_factor
            scale_x *= module.upscale_factor
        elif isinstance(module, torch.nn.Conv2d):
            scale_y /= module.stride[0]
            scale_x /= module.stride[1]
            kh, kw = module.kernel_size
            macs_per_px = kh * kw * (module.in_channels // module.groups) * module.out_channels
            total += 2 * macs_per_px * round(scale_y) * round(scale_x)
    return total


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def best_time(action: Callable[[], object], device: torch.device, repeat: int) -> list[float]:
    """One warm-up, then ``repeat`` timed runs (seconds, in order)."""
    action()
    _sync(device)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        _sync(device)
        times.append(time.perf_counter() - start)
    return times


def matmul_gflops(n: int, device: torch.device, repeat: int = 5) -> float:
    """Best fp32 ``torch.matmul`` rate of two n×n matrices, in GFLOP/s (2·n³ FLOPs a product)."""
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(n, n, generator=generator).to(device)
    b = torch.rand(n, n, generator=generator).to(device)
    times = best_time(lambda: torch.matmul(a, b), device, repeat)
    return 2.0 * n ** 3 / min(times) / 1e9


def _maxrss_bytes(children: bool) -> int | None:
    """``getrusage(...).ru_maxrss`` in bytes (None on Windows, which has no ``resource``)."""
    try:
        import resource
    except ImportError:
        return None
    value = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF).ru_maxrss
    return int(value if sys.platform == "darwin" else value * 1024)  # macOS: bytes, Linux: KiB


def _own_memory() -> tuple[int | None, int | None]:
    """(resident now, high-water mark) of this process in bytes.

    On Linux both come from ``/proc/self/status`` (``VmRSS``, ``VmHWM``, the high-water mark of
    this process's own address space) rather than from ``ru_maxrss``: ``execve`` carries the
    spawning process's high-water mark over into the child's ``ru_maxrss``, so a child started
    by a large parent never reports less than the parent's size.  Elsewhere ``ru_maxrss``
    stands for both.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            fields = dict(line.split(":", 1) for line in status if ":" in line)
        return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        peak = _maxrss_bytes(children=False)
        return peak, peak


def _random_image(side: int) -> np.ndarray:
    return np.random.default_rng(0).integers(0, 256, size=(side, side, 3), dtype=np.uint8)


# --- the child processes -------------------------------------------------------------------

def _child(mode: str, side: int, device_name: str, spec: str | None = None) -> NoReturn:
    """Run in a fresh process; print one JSON line with its own RSS before and at the peak."""
    subject = bench_subject(spec)
    image = _random_image(side)
    baseline, _ = _own_memory()
    start = time.perf_counter()
    report: dict[str, object] = {"mode": mode, "side": side}
    if mode == "engine":
        upscaler = Upscaler(NetworkMethod(subject.model, subject.descriptor), device=device_name)
        result = upscaler.upscale(image)
        report.update(tile=result.tile, tiles=result.tiles, device=result.device,
                      precision=result.precision, pad=upscaler.method.pad)
    else:  # the engine's forward of one window, as a tile runs it (staged where the engine stages)
        device = resolve_device(device_name)
        method = NetworkMethod(subject.model, subject.descriptor)
        method.prepare(device, "fp32")
        baseline, _ = _own_memory()  # after the fast copy is built: the forward's own memory only
        start = time.perf_counter()
        method.run(image, False)
        _sync(device)
        report.update(budget=method.bytes_per_lr_pixel)
    report.update(seconds=time.perf_counter() - start, baseline_bytes=baseline,
                  peak_bytes=_own_memory()[1])
    print(json.dumps(report), flush=True)
    sys.stderr.flush()
    # Leave without interpreter teardown: with torch loaded, finalisation alone raises the
    # process's peak RSS by ~120 MB, which RUSAGE_CHILDREN would then report.
    os._exit(0)


def _child_command(mode: str, side: int, device: str, spec: str | None = None
                   ) -> tuple[list[str], dict[str, str]]:
    env = dict(os.environ)
    options = ["bench", "--child", mode, "--child-size", str(side), "--device", device]
    options += ["--model", spec] if spec else []
    if is_frozen():
        return [sys.executable, *options], env
    package_root = str(Path(__file__).resolve().parents[2])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    return [sys.executable, "-m", "srgan_desktop", *options], env


def _run_child(mode: str, side: int, device: str, spec: str | None = None) -> dict:
    command, env = _child_command(mode, side, device, spec)
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        detail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise CommandError(f"the memory measurement ({mode}) failed: {detail}")
    return json.loads(lines[-1])


def largest_padded_span(side: int, tile: int, pad: int) -> int:
    """The longest window the engine cuts from a ``side``-pixel axis for an exact model: balanced
    tiles of at most ``tile`` (0 = whole axis) widened by ``pad`` on both sides, shifted inwards
    at the edges."""
    return max(py1 - py0 for _box, (py0, _px0, py1, _px1) in tile_boxes(side, side, tile, pad,
                                                                       same_shape=True))


@dataclass
class RssReport:
    """Peak RSS of the engine upscaling ``side``² and of one forward of its largest padded tile."""

    side: int
    tile: int
    tiles: int
    seconds: float
    peak_rss_bytes: int          # getrusage(RUSAGE_CHILDREN).ru_maxrss right after the engine child
    child_peak_bytes: int        # the engine child's own high-water mark (VmHWM on Linux)
    child_start_bytes: int       # the engine child's RSS before upscaling: interpreter, torch, model
    parent_peak_bytes: int       # this process's high-water mark when it started the child
    padded_side: int
    forward_delta_bytes: int     # peak − RSS before, of a child that runs one forward only
    bytes_per_padded_lr_pixel: float
    engine_assumes: int = engine.BYTES_PER_LR_PIXEL


def measure_rss(side: int, device: str, spec: str | None = None) -> RssReport | None:
    """Both child runs; None where ``getrusage`` does not exist (Windows).

    Run it while this process is still small: on Linux the children's ``ru_maxrss`` is at least
    the parent's high-water mark at the time it started them (see :func:`_own_memory`).
    """
    parent_peak = _own_memory()[1]
    engine_run = _run_child("engine", side, device, spec)
    peak = _maxrss_bytes(children=True)
    if peak is None or parent_peak is None:
        return None
    tile, pad = int(engine_run["tile"]), int(engine_run["pad"])
    padded = largest_padded_span(side, tile, pad)
    forward_run = _run_child("forward", padded, device, spec)
    delta = int(forward_run["peak_bytes"]) - int(forward_run["baseline_bytes"])
    return RssReport(side=side, tile=tile, tiles=int(engine_run["tiles"]),
                     seconds=float(engine_run["seconds"]), peak_rss_bytes=peak,
                     child_peak_bytes=int(engine_run["peak_bytes"]),
                     child_start_bytes=int(engine_run["baseline_bytes"]), parent_peak_bytes=parent_peak,
                     padded_side=padded, forward_delta_bytes=delta,
                     bytes_per_padded_lr_pixel=delta / padded ** 2,
                     engine_assumes=int(forward_run.get("budget", engine.BYTES_PER_LR_PIXEL)))


# --- the speed table -----------------------------------------------------------------------

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def conv_peak_gflops(device: torch.device, dtype: torch.dtype, repeat: int = 5) -> float:
    """The rate of the network's own workhorse, one 3×3 64→64 convolution on a 128² channels_last
    input with weights in ``dtype``: the peak a forward of that precision can be held against
    (a matmul peak flatters it: convolutions reach less of it)."""
    conv = torch.nn.Conv2d(64, 64, 3, padding=1).to(device=device, dtype=dtype)
    conv = conv.to(memory_format=torch.channels_last)
    x = torch.rand(1, 64, 128, 128).to(device=device, dtype=dtype).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        times = best_time(lambda: conv(x), device, repeat)
    return 2.0 * 9 * 64 * 64 * 128 * 128 / min(times) / 1e9


def plain_forward_seconds(model: torch.nn.Module, side: int, device: torch.device, dtype: torch.dtype,
                          repeat: int) -> float:
    """Best time of the *plain* forward of a ``side``² input in the best simple path: the model as
    it is (BN not folded), channels_last, weights in ``dtype`` — what the engine is measured against."""
    plain = copy.deepcopy(model).eval().to(device).to(memory_format=torch.channels_last)
    if dtype != torch.float32:
        plain = plain.to(dtype)
    x = torch.rand(1, 3, side, side).to(device=device, dtype=dtype).contiguous(memory_format=torch.channels_last)
    with torch.inference_mode():
        return min(best_time(lambda: plain(x), device, repeat))


@dataclass
class SpeedRow:
    """One engine run: an LR size at a tile (None = the default rule)."""

    height: int
    width: int
    asked_tile: int | None
    tile: int
    tiles: int
    window_ratio: float          # LR pixels the windows compute / pixels of the image (the margin)
    seconds: float

    @property
    def per_lr_megapixel(self) -> float:
        return self.seconds / (self.height * self.width / 1e6)


@dataclass
class SpeedReport:
    cpu: str
    precision: str
    threads: int
    conv_peak_gflops: float
    plain_side: int
    plain_seconds: float
    plain_gflops: float
    rows: list[SpeedRow]
    gflop_per_lr_pixel: float
    staged: bool = False

    @property
    def plain_per_lr_megapixel(self) -> float:
        return self.plain_seconds / (self.plain_side ** 2 / 1e6)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["plain_per_lr_megapixel"] = self.plain_per_lr_megapixel
        for row, out in zip(self.rows, data["rows"]):
            out["per_lr_megapixel"] = row.per_lr_megapixel
            out["versus_plain"] = row.per_lr_megapixel / self.plain_per_lr_megapixel
        return data


def window_ratio(upscaler: Upscaler, height: int, width: int, tile: int) -> float:
    boxes = tile_boxes(height, width, tile, upscaler.method.pad, same_shape=upscaler.same_shape())
    windows = sum((b[1][2] - b[1][0]) * (b[1][3] - b[1][1]) for b in boxes)
    return windows / (height * width)


def measure_speed(subject: BenchSubject, device: torch.device, args: argparse.Namespace) -> SpeedReport:
    """The plain forward at :data:`PLAIN_SIDE`², then the engine at every size of ``--sizes``
    (default tile, and :data:`COMPARE_TILE` on the sizes up to :data:`COMPARE_UP_TO` pixels)."""
    method = NetworkMethod(subject.model, subject.descriptor)
    default = Upscaler(method, device=args.device, tile=args.tile, precision=args.precision)
    dtype = DTYPES[default.precision]
    peak = conv_peak_gflops(device, dtype)
    plain = plain_forward_seconds(subject.model, PLAIN_SIDE, device, dtype, max(args.repeat, 3))
    per_px = conv_flops(subject.model, PLAIN_SIDE, PLAIN_SIDE) / PLAIN_SIDE ** 2
    rows = []
    for height, width in args.sizes:
        image = np.random.default_rng(0).integers(0, 256, size=(height, width, 3), dtype=np.uint8)
        tiles: list[int | None] = [args.tile]
        if height * width <= COMPARE_UP_TO and args.tile != COMPARE_TILE:
            tiles.append(COMPARE_TILE)
        for asked in tiles:
            upscaler = default if asked == args.tile else Upscaler(method, device=args.device, tile=asked,
                                                                    precision=args.precision)
            repeat = args.repeat if height * width <= 300_000 else 1
            print(f"  engine {width}×{height}, tile {'default' if asked is None else asked} ...",
                  file=sys.stderr)
            results: list[engine.UpscaleResult] = []
            times = best_time(lambda: results.append(upscaler.upscale(image)), device, repeat)
            used = results[-1].tile
            rows.append(SpeedRow(height, width, asked, used, results[-1].tiles,
                                 window_ratio(upscaler, height, width, used), min(times)))
    return SpeedReport(cpu=engine.cpu_description() if device.type == "cpu" else str(device),
                       precision=default.precision, threads=torch.get_num_threads(),
                       conv_peak_gflops=peak, plain_side=PLAIN_SIDE, plain_seconds=plain,
                       plain_gflops=per_px * PLAIN_SIDE ** 2 / plain / 1e9, rows=rows,
                       gflop_per_lr_pixel=per_px / 1e9, staged=method.staged)


def format_speed(speed: SpeedReport) -> list[str]:
    lines = [
        f"speed on {speed.cpu}, {speed.precision}, {speed.threads} torch threads:",
        f"  conv peak (3×3 64→64 on 128², {speed.precision} weights, channels_last): "
        f"{speed.conv_peak_gflops:.1f} GFLOP/s",
        f"  plain forward {speed.plain_side}² ({speed.precision} weights, channels_last, BN not folded): "
        f"{speed.plain_seconds:.3f} s = {speed.plain_per_lr_megapixel:.1f} s per LR megapixel, "
        f"{speed.plain_gflops:.1f} GFLOP/s = {100 * speed.plain_gflops / speed.conv_peak_gflops:.0f} % "
        f"of the conv peak",
    ]
    for row in speed.rows:
        tile = "default" if row.asked_tile is None else f"tile {row.asked_tile}"
        used = "whole image" if row.tile == 0 else f"{row.tiles} tiles ≤ {row.tile}"
        gflops = speed.gflop_per_lr_pixel * row.height * row.width / row.seconds
        lines.append(
            f"  engine {row.width}×{row.height} {tile:<8} ({used}, input windows {row.window_ratio:.2f}× "
            f"the pixels): {row.seconds:7.2f} s = {row.per_lr_megapixel:6.1f} s per LR megapixel = "
            f"{row.per_lr_megapixel / speed.plain_per_lr_megapixel:.2f}× the plain forward, "
            f"{100 * gflops / speed.conv_peak_gflops:.0f} % of the conv peak")
    defaults = {(r.height, r.width): r for r in speed.rows if r.asked_tile is None}
    for row in speed.rows:
        base = defaults.get((row.height, row.width))
        if row.asked_tile is not None and base is not None:
            lines.append(f"  tile {row.asked_tile} against the default at {row.width}×{row.height}: "
                         f"{row.per_lr_megapixel / base.per_lr_megapixel:.2f}×")
    if len(defaults) > 1:
        first, last = min(defaults.values(), key=lambda r: r.height * r.width), max(
            defaults.values(), key=lambda r: r.height * r.width)
        lines.append(f"  cost per LR megapixel from {first.width}×{first.height} to {last.width}×"
                     f"{last.height}: {last.per_lr_megapixel / first.per_lr_megapixel:.2f}× (of which the "
                     f"margin {last.window_ratio / first.window_ratio:.2f}×)")
    if speed.staged and any(r.window_ratio > 1.0 for r in speed.rows):
        lines.append("  (a staged model cuts its windows to each tile's core plus what the later layers "
                     "need after every layer group, so it computes fewer pixels than its input windows)")
    return lines


# --- the report ----------------------------------------------------------------------------

@dataclass
class BenchReport:
    model: str
    bundled_weights: bool
    device: str
    precision: str
    torch_threads: int
    load_average: float | None
    size: int
    scale: int
    forward_seconds: list[float]
    engine_seconds: list[float]
    engine_tile: int
    conv_gflop: float
    forward_gflops: float
    matmul_n: int
    matmul_gflops: float
    rss: RssReport | None = None
    speed: SpeedReport | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def engine_ratio(self) -> float:
        return min(self.engine_seconds) / min(self.forward_seconds)

    @property
    def seconds_per_lr_megapixel(self) -> float:
        return min(self.engine_seconds) / (self.size ** 2 / 1e6)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["engine_ratio"] = self.engine_ratio
        data["seconds_per_lr_megapixel"] = self.seconds_per_lr_megapixel
        data["forward_share_of_matmul_peak"] = self.forward_gflops / self.matmul_gflops
        data["speed"] = self.speed.to_dict() if self.speed is not None else None
        return data


def _mib(value: float) -> str:
    return f"{value / 2 ** 20:.0f} MiB"


def format_report(report: BenchReport) -> str:
    n = report.size
    tile = "0 = whole image" if report.engine_tile == 0 else f"{report.engine_tile} px"
    load = "" if report.load_average is None else f", load average {report.load_average:.1f} at start"
    lines = [
        f"model: {report.model}",
        f"device: {report.device} {report.precision}, {report.torch_threads} torch threads{load}",
        f"input {n}×{n} → {report.scale * n}×{report.scale * n}, best of {len(report.forward_seconds)}:",
        f"  raw forward, full frame, fp32  {min(report.forward_seconds):8.3f} s",
        f"  engine, {report.precision}, tile {tile:<15} {min(report.engine_seconds):8.3f} s   "
        f"ratio {report.engine_ratio:.2f}×   = {report.seconds_per_lr_megapixel:.2f} s per LR megapixel",
        f"  convolutions {report.conv_gflop:.1f} GFLOP ({report.conv_gflop * 1e3 / n ** 2:.2f} MFLOP per "
        f"LR pixel) → {report.forward_gflops:.1f} GFLOP/s",
        f"  fp32 matmul peak ({report.matmul_n}×{report.matmul_n}): {report.matmul_gflops:.1f} GFLOP/s "
        f"→ the forward reaches {100 * report.forward_gflops / report.matmul_gflops:.0f} % of it",
    ]
    rss = report.rss
    if rss is None:
        lines.append("peak RSS: not measured (--no-memory, or no resource module on this platform)")
    else:
        tiling = "whole image (no tiling)" if rss.tile == 0 else f"{rss.tiles} tiles of {rss.tile} px"
        lines += [
            f"memory, upscaling {rss.side}×{rss.side} with the engine's defaults (child process, "
            f"{rss.seconds:.1f} s): auto tile → {tiling}",
            f"  peak RSS {_mib(rss.peak_rss_bytes)} (getrusage RUSAGE_CHILDREN); the child's own "
            f"high-water mark {_mib(rss.child_peak_bytes)}, of which {_mib(rss.child_start_bytes)} "
            f"before upscaling (interpreter, torch, model)",
            f"  one forward of a padded {rss.padded_side}×{rss.padded_side} tile: "
            f"+{_mib(rss.forward_delta_bytes)} = {rss.bytes_per_padded_lr_pixel / 1024:.1f} KiB per "
            f"padded LR pixel (the engine budgets {rss.engine_assumes / 1024:.1f} KiB)",
        ]
        if rss.peak_rss_bytes > rss.child_peak_bytes * 1.05:
            lines.append(f"  (RUSAGE_CHILDREN is above the child's own peak: on Linux it includes this "
                         f"process's {_mib(rss.parent_peak_bytes)} at the time it started the child)")
    if report.speed is not None:
        lines += format_speed(report.speed)
    lines += report.notes
    return "\n".join(lines)


def _bench(args: argparse.Namespace) -> int:
    if args.child:
        return _child(args.child, args.child_size or args.size, args.device, args.model)
    device = resolve_device(args.device)
    subject = bench_subject(args.model)
    method = NetworkMethod(subject.model, subject.descriptor)
    upscaler = Upscaler(method, device=args.device, tile=args.tile, precision=args.precision)
    n = args.size
    image = _random_image(n)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if not args.no_memory:
        print(f"measuring memory with a {4 * n}×{4 * n} input in a child process ...", file=sys.stderr)
    rss = None if args.no_memory else measure_rss(4 * n, args.device, args.model)  # first, while small
    print(f"timing {subject.label} on {device} ...", file=sys.stderr)

    model = subject.model.to(device)
    x = torch.from_numpy(image.transpose(2, 0, 1).copy()).float().div(255.0).unsqueeze(0).to(device)

    def forward() -> None:
        with torch.inference_mode():
            model(x)

    forward_times = best_time(forward, device, args.repeat)
    engine_times = best_time(lambda: upscaler.upscale(image), device, args.repeat)
    flops = conv_flops(subject.model, n, n)
    matmul_n = 2048 if n >= 64 else 1024
    report = BenchReport(
        model=subject.label, bundled_weights=subject.bundled, device=str(device),
        precision=upscaler.precision, torch_threads=torch.get_num_threads(), load_average=load,
        size=n, scale=method.scale, forward_seconds=forward_times, engine_seconds=engine_times,
        engine_tile=upscaler.auto_tile(n, n) if upscaler.tile is None else upscaler.tile,
        conv_gflop=flops / 1e9, forward_gflops=flops / min(forward_times) / 1e9,
        matmul_n=matmul_n, matmul_gflops=matmul_gflops(matmul_n, device), rss=rss,
        speed=measure_speed(subject, device, args) if args.sizes else None)
    if load is not None and load > 0.5 * (os.cpu_count() or 1):
        report.notes.append(f"note: the machine was busy (load average {load:.1f} on "
                            f"{os.cpu_count()} cores): other work competes for the CPU")
    print(format_report(report))
    if args.json:
        print(f"wrote {write_json(args.json, report.to_dict())}")
    return 0


def run(args: argparse.Namespace) -> int:
    return guarded(lambda: _bench(args))
