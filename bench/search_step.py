"""Speed and memory of one supernet search step: the toolkit against the plain mixed op.

A search step is an α step on a validation batch plus a w step on a training batch (DARTS
Algorithm 1). Variants: first- and second-order DARTS, PC-DARTS and ADARTS at K=4 (edge
normalisation on). Beside the toolkit's step the bench times a plain formulation written here:
every op of every edge run and summed with its softmax weight, each edge's output times its β
(edge normalisation), the α step by a full ``backward()``
(second order: DARTS' original unrolled step on a deep copy of the model). Both run on the same
data in the same process, their repetitions interleaved, so the ratio holds on a busy machine too.

Reported: median ms per step over warm runs, images per second (2 batches per step), peak memory
(CUDA allocator peak on GPU; on CPU the saved-tensor peak of ``toolkit.memory.SavedTensorMeter``
and the max RSS of a fresh process running only that variant), a sweep over batch, channels and
cells (first order), and with ``--contention`` the step time on a quiet machine against the same
with one busy process (started and stopped by the bench, time-limited) per thread setting.

Examples, from the repository root:
    .venv/bin/python bench/search_step.py --config cpu-small
    .venv/bin/python bench/search_step.py --config gpu-cifar --device cuda --amp bf16 --channels-last
    .venv/bin/python bench/search_step.py --config quickstart --contention
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import toolkit.runtime as runtime  # noqa: E402
from toolkit.architect import Architect  # noqa: E402
from toolkit.config import SearchConfig  # noqa: E402
from toolkit.data import load_dataset  # noqa: E402
from toolkit.edges import MixedOp  # noqa: E402
from toolkit.graphed import WARMUP, GraphedStep  # noqa: E402
from toolkit.memory import MB, SavedTensorMeter  # noqa: E402
from toolkit.partial import partial_edge  # noqa: E402
from toolkit.runtime import autocast, compile_plan, configure_threads, prepare_model, to_device  # noqa: E402
from toolkit.search import run_search  # noqa: E402
from toolkit.space import SearchSpace  # noqa: E402
from toolkit.supernet import SearchCell, Supernet  # noqa: E402

CONFIGS = {  # C, cells, batch, image size (square, 3 channels); 8 DARTS ops, 4 nodes
    "cpu-small": {"C": 8, "cells": 5, "batch": 32, "size": 16},
    "gpu-cifar": {"C": 16, "cells": 8, "batch": 64, "size": 32},
    "quickstart": {"C": 4, "cells": 3, "batch": 32, "size": 16},
}
VARIANTS = {  # name: (order, Supernet keyword arguments)
    "darts-1st": (1, {}),
    "darts-2nd": (2, {}),
    "pcdarts-k4": (1, {"edge": partial_edge("random", 4), "edge_norm": True}),
    "adarts-k4": (1, {"edge": partial_edge("attention", 4), "edge_norm": True}),
}
IMPLS = ("toolkit", "plain")
# toolkit settings (--settings): precision (fp32, bf16, fp16) and compile mode (eager, compile: torch.compile,
# cudagraphs: torch.compile with CUDA graphs), joined by "-", e.g. "bf16-compile"
PRECISIONS = {"fp32": "off", "bf16": "bf16", "fp16": "fp16"}
COMPILES = {"eager": "off", "compile": "on", "cudagraphs": "cudagraphs"}
EPOCH_SIZES = {"darts-1st": 64, "darts-2nd": 64, "pcdarts-k4": 256, "adarts-k4": 256}  # the papers' search batches
LR, MOMENTUM, WD, ARCH_LR, CLIP = 0.025, 0.9, 3e-4, 3e-4, 5.0


# ---- the plain formulation ------------------------------------------------------------------

def plain_mixed_forward(self, x, weights, scale=None):
    """DARTS eq. 2 as written: every op runs, each output is multiplied by its weight and summed."""
    assert scale is None  # the plain cell applies β itself
    return sum(w * op(x) for w, op in zip(weights, self.ops))


def plain_cell_forward(self, s0, s1, weights, edge_weights=None):
    """A search cell as written in the papers: each edge's output times its β, summed per node."""
    states = [self.preprocess0(s0), self.preprocess1(s1)]
    for rows in self.node_rows:  # the search space's α layout: node n reads states 0..n-1
        h = 0
        for src, e in enumerate(rows):
            out = self.edges[e](states[src], weights[e])
            h = h + (out if edge_weights is None else edge_weights[e] * out)
        states.append(h)
    return torch.cat(states[2:], dim=1)


def plain_alpha_step(model, arch_opt, w_opt, xt, yt, xv, yv, order):
    """The α step with full backward passes; second order on a deep copy (DARTS' original code)."""
    arch_opt.zero_grad()
    if order == 1:
        model.zero_grad()
        F.cross_entropy(model(xv), yv).backward()
    else:
        weights = model.weight_parameters()
        grads = torch.autograd.grad(F.cross_entropy(model(xt), yt), weights)
        unrolled = copy.deepcopy(model)
        with torch.no_grad():
            for p, q, g in zip(weights, unrolled.weight_parameters(), grads):
                buf = w_opt.state.get(p, {}).get("momentum_buffer")
                q.copy_(p - LR * (g + WD * p + (MOMENTUM * buf if buf is not None else 0)))
        F.cross_entropy(unrolled(xv), yv).backward()
        d_alpha = [a.grad.clone() for a in unrolled.arch_parameters()]
        vector = [q.grad for q in unrolled.weight_parameters()]
        eps = 0.01 / torch.cat([v.flatten() for v in vector]).norm()
        hessian = []
        for sign in (1, -2):
            with torch.no_grad():
                for p, v in zip(weights, vector):
                    p.add_(sign * eps * v)
            model.zero_grad()
            F.cross_entropy(model(xt), yt).backward()
            hessian.append([a.grad.clone() for a in model.arch_parameters()])
        with torch.no_grad():
            for p, v in zip(weights, vector):
                p.add_(eps * v)
        for a, d, gp, gm in zip(model.arch_parameters(), d_alpha, *hessian):
            a.grad = d - LR * (gp - gm) / (2 * eps)
    arch_opt.step()


# ---- one step of either implementation ------------------------------------------------------

class Stepper:
    """A supernet, its optimisers and one search step, for the toolkit or the plain formulation."""

    def __init__(self, impl, variant, cfg, device, amp="off", channels_last=False, compile="off"):
        order, kwargs = VARIANTS[variant]
        torch.manual_seed(0)
        model = Supernet(SearchSpace(), cfg["C"], cfg["cells"], 10, 3, **kwargs)
        self.plain = impl == "plain"
        if self.plain:
            for m in model.modules():
                if isinstance(m, MixedOp):
                    m.forward = types.MethodType(plain_mixed_forward, m)
                if isinstance(m, SearchCell):
                    m.forward = types.MethodType(plain_cell_forward, m)
            amp, channels_last, compile = "off", False, "off"  # the reference runs eager in fp32, default layout
        self.model = prepare_model(model, device, channels_last)
        self.device, self.amp, self.channels_last, self.order = device, amp, channels_last, order
        self.w_opt = torch.optim.SGD(self.model.weight_parameters(), LR, momentum=MOMENTUM, weight_decay=WD)
        self.compile, reason = compile_plan(device, compile, amp)
        if reason:
            print(f"({variant}: {reason})", file=sys.stderr)
        self.architect = Architect(self.model, self.w_opt, order, ARCH_LR, (0.5, 0.999), 1e-3, compile=self.compile)
        self.scaler = torch.amp.GradScaler(device.type, enabled=amp == "fp16" and device.type == "cuda")
        self.arch_scaler = torch.amp.GradScaler(device.type, enabled=self.scaler.is_enabled())
        self.graphed = GraphedStep(self.eager_step) if self.compile == "cudagraphs" else None

    def batches(self, data):
        return [to_device(t, self.device, self.channels_last) for t in data]

    def step(self, xt, yt, xv, yv):
        """One step; a recorded setting replays its CUDA graph (recorded after its eager warm-up steps)."""
        return self.graphed(LR, xt, yt, xv, yv) if self.graphed else self.eager_step(xt, yt, xv, yv)

    def eager_step(self, xt, yt, xv, yv):
        if self.plain:
            plain_alpha_step(self.model, self.architect.optimizer, self.w_opt, xt, yt, xv, yv, self.order)
        else:
            with autocast(self.device, self.amp):
                self.architect.step(xt, yt, xv, yv, LR, self.arch_scaler)
        self.w_opt.zero_grad(set_to_none=True)
        with autocast(self.device, self.amp):
            loss = F.cross_entropy(self.architect.forward(xt), yt)
        self.scaler.scale(loss).backward()
        self.scaler.unscale_(self.w_opt)
        torch.nn.utils.clip_grad_norm_(self.model.weight_parameters(), CLIP)
        self.scaler.step(self.w_opt)
        self.scaler.update()
        return (loss.detach(),)


def make_data(cfg, device, seed=1):
    g = torch.Generator().manual_seed(seed)
    b, s = cfg["batch"], cfg["size"]
    return [torch.randn(b, 3, s, s, generator=g), torch.randint(0, 10, (b,), generator=g),
            torch.randn(b, 3, s, s, generator=g), torch.randint(0, 10, (b,), generator=g)]


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(stepper, batch):
    sync(stepper.device)
    start = time.perf_counter()
    stepper.step(*batch)
    sync(stepper.device)
    return time.perf_counter() - start


def peak_memory_mb(stepper, batch):
    """CUDA allocator peak of one step on GPU; the saved-tensor peak on CPU."""
    if stepper.device.type == "cuda":
        torch.cuda.synchronize(stepper.device)
        torch.cuda.reset_peak_memory_stats(stepper.device)
        stepper.step(*batch)
        return torch.cuda.max_memory_allocated(stepper.device) / MB
    with SavedTensorMeter(stepper.model) as meter:
        stepper.step(*batch)
    return meter.peak_mb


def parse_setting(name):
    """(amp, compile) of a toolkit setting such as 'fp32', 'bf16-compile' or 'fp32-cudagraphs'."""
    parts = name.split("-")
    amp = next((PRECISIONS[p] for p in parts if p in PRECISIONS), "off")
    compile = next((COMPILES[p] for p in parts if p in COMPILES), "off")
    if not all(p in PRECISIONS or p in COMPILES for p in parts):
        raise SystemExit(f"unknown setting '{name}': join one of {', '.join(PRECISIONS)} "
                         f"and one of {', '.join(COMPILES)}")
    return amp, compile


def compare(variant, cfg, args, repeats, settings=None):
    """Median step seconds and peak memory of the plain formulation and each toolkit setting, interleaved."""
    settings = settings or args.settings
    steppers = {"plain": Stepper("plain", variant, cfg, args.device)}
    for name in settings:
        amp, compile = parse_setting(name)
        steppers[name] = Stepper("toolkit", variant, cfg, args.device, amp, args.channels_last, compile)
    names = list(steppers)
    data = make_data(cfg, args.device)
    batches = {name: s.batches(data) for name, s in steppers.items()}
    recorded = any(s.graphed for s in steppers.values())  # a CUDA-graph setting records after its eager steps
    for _ in range(max(args.warmup, WARMUP + 1) if recorded else args.warmup):  # a compiled setting compiles here
        for name in names:
            steppers[name].step(*batches[name])
    times = {name: [] for name in names}
    for r in range(repeats):
        for name in names if r % 2 == 0 else names[::-1]:  # alternate the order against drift
            times[name].append(timed(steppers[name], batches[name]))
    row = {name: {"s": statistics.median(times[name])} for name in names}
    for name in names:
        row[name]["mb"] = peak_memory_mb(steppers[name], batches[name])
    return row


# ---- fresh-process measurements -------------------------------------------------------------

def child(argv):
    """Run in a fresh process so its figures are its own (max RSS; thread settings)."""
    return json.loads(subprocess.run([sys.executable, __file__, *argv], check=True, capture_output=True,
                                     text=True, env=os.environ.copy()).stdout.strip().splitlines()[-1])


def rss_child(args):
    """Peak resident memory of two steps in a fresh process (Linux: the peak is reset after setup)."""
    stepper = Stepper(args.impl, args.variant, CONFIGS[args.config], args.device)
    batch = stepper.batches(make_data(CONFIGS[args.config], args.device))
    status, base = Path("/proc/self/status"), 0.0
    try:  # importing torch peaks above a small step; "5" resets the peak (VmHWM) to the current RSS
        Path("/proc/self/clear_refs").write_text("5")
        base = proc_status_mb(status, "VmRSS")
    except OSError:
        status = None
    for _ in range(2):
        stepper.step(*batch)
    if status is not None:
        peak = proc_status_mb(status, "VmHWM")
        print(json.dumps({"rss_mb": peak, "growth_mb": peak - base}))
    else:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"rss_mb": peak, "growth_mb": float("nan")}))


def proc_status_mb(status: Path, key: str) -> float:
    line = next(line for line in status.read_text().splitlines() if line.startswith(key))
    return int(line.split()[1]) / 1024


BUSY = "import time\nend = time.time() + {limit}\nwhile time.time() < end:\n    pass\n"


def contention_child(args):
    """Quiet median, then the median with one busy process on the same CPUs (toolkit, first order)."""
    threads = configure_threads(args.threads)
    cfg = CONFIGS[args.config]
    stepper = Stepper("toolkit", "darts-1st", cfg, torch.device("cpu"))
    batch = stepper.batches(make_data(cfg, torch.device("cpu")))
    for _ in range(args.warmup):
        stepper.step(*batch)
    quiet = statistics.median(timed(stepper, batch) for _ in range(args.repeats))
    busy = subprocess.Popen([sys.executable, "-c", BUSY.format(limit=90)])
    loaded, start = [], time.perf_counter()
    try:
        time.sleep(0.5)
        while len(loaded) < args.repeats and time.perf_counter() - start < 40:  # a slow setting stops early
            loaded.append(timed(stepper, batch))
    finally:
        busy.kill()
        busy.wait()
    print(json.dumps({"threads": threads, "quiet": quiet, "busy": statistics.median(loaded), "busy_steps": len(loaded),
                      "wait_policy": os.environ.get("OMP_WAIT_POLICY", "(default)")}))


# ---- report ---------------------------------------------------------------------------------

def machine(args):
    if args.device.type == "cuda":
        name = torch.cuda.get_device_name(args.device)
        return f"{name}; torch {torch.__version__}, CUDA {torch.version.cuda}, amp {args.amp}, " \
               f"channels_last {args.channels_last} (the plain formulation: fp32, default layout)"
    return (f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs visible, "
            f"{torch.get_num_threads()} torch thread(s); torch {torch.__version__}")


def main_table(args, cfg):
    rows = []
    mem = "CUDA peak MiB" if args.device.type == "cuda" else "saved MiB"
    rss = " toolkit RSS MiB | plain RSS MiB | toolkit RSS growth | plain RSS growth | growth ratio |"
    print(f"| variant | toolkit | toolkit ms | plain ms | time ratio | toolkit img/s | plain img/s | toolkit {mem} "
          f"| plain {mem} | memory ratio |" + (rss if args.rss else ""))
    print("|---" * (10 + 5 * args.rss) + "|")
    for variant in args.variants:
        row = compare(variant, cfg, args, args.repeats)
        images = 2 * cfg["batch"]
        p = row["plain"]
        for name in args.settings:
            t = row[name]
            line = (f"| {variant} | {name} | {1e3 * t['s']:.0f} | {1e3 * p['s']:.0f} | {t['s'] / p['s']:.2f} | "
                    f"{images / t['s']:.0f} | {images / p['s']:.0f} | {t['mb']:.0f} | {p['mb']:.0f} | "
                    f"{t['mb'] / p['mb']:.2f} |")
            if args.rss and name == args.settings[0]:
                rss = {impl: child(["--rss-child", "--config", args.config, "--variant", variant, "--impl", impl,
                                    "--threads", str(torch.get_num_threads())]) for impl in IMPLS}
                t, p2 = rss["toolkit"], rss["plain"]
                line += (f" {t['rss_mb']:.0f} | {p2['rss_mb']:.0f} | {t['growth_mb']:.0f} | {p2['growth_mb']:.0f} | "
                         f"{t['growth_mb'] / p2['growth_mb']:.2f} |")
            print(line, flush=True)
        rows.append(row)
    return rows


def epoch_table(args):
    """One full search epoch per variant on CIFAR-10-sized fake data, projected to 50 epochs.

    25,000 + 25,000 images of 32x32x3 (the CIFAR-10 training set split in the w half and the α half),
    the papers' search batch (DARTS 64, PC-DARTS 256), C=16, 8 cells; the epoch includes validation on
    the α half. A compiled setting's epoch includes the compilation (in its first steps); the 50-epoch
    figure adds 49 epochs of every step at the mean pace after the first ten, plus the validation.
    """
    data = load_dataset("fake", seed=0, fake_size=args.epoch_images, fake_image_size=32, fake_channels=3)
    print(f"\n# One search epoch, fake data: {len(data.train)} training images of 32x32x3 (half for w, half for α), "
          f"C=16, 8 cells\n\nMachine: {machine(args)}\n")
    print("| variant | toolkit | batch | steps | epoch s | of it steps 1-10 s | step ms after 10 | 50 epochs (h) |")
    print("|---|---|---|---|---|---|---|---|")
    for variant in args.variants:
        for name in args.settings:
            amp, compile = parse_setting(name)
            order = VARIANTS[variant][0]
            method = variant.split("-")[0]
            config = SearchConfig(method=method, dataset="fake", epochs=1, channels=16, cells=8, order=order,
                                  batch_size=EPOCH_SIZES[variant], device=str(args.device), amp=amp,
                                  channels_last=args.channels_last, compile=compile)
            start = time.perf_counter()
            stamps = step_times(config, data)
            sync(args.device)
            total = time.perf_counter() - start
            first = stamps[min(9, len(stamps) - 1)] - start
            step = (stamps[-1] - stamps[9]) / (len(stamps) - 10) if len(stamps) > 10 else float("nan")
            rest = total - (stamps[-1] - stamps[9]) - first  # validation and set-up
            projected = total + 49 * (len(stamps) * step + rest)
            print(f"| {variant} | {name} | {config.batch_size} | {len(stamps)} | {total:.0f} | {first:.1f} | "
                  f"{1e3 * step:.0f} | {projected / 3600:.2f} |", flush=True)


def mmap_threshold_table(args):
    """Step time with glibc's mmap threshold at 128 KiB (the toolkit's) against 32 MiB, alternated in one process."""
    import ctypes

    libc, cfg = ctypes.CDLL("libc.so.6"), CONFIGS[args.config]
    thresholds = (128 * 1024, 32 * 1024 * 1024)
    print("| variant | impl | 128 KiB ms | 32 MiB ms | ratio |\n|---|---|---|---|---|")
    for variant in args.variants:
        for impl in IMPLS:
            stepper = Stepper(impl, variant, cfg, args.device)
            batch = stepper.batches(make_data(cfg, args.device))
            stepper.step(*batch)
            times = {t: [] for t in thresholds}
            for r in range(args.repeats):
                for threshold in thresholds if r % 2 == 0 else thresholds[::-1]:
                    libc.mallopt(-3, threshold)  # M_MMAP_THRESHOLD
                    times[threshold].append(timed(stepper, batch))
            low, high = (statistics.median(times[t]) for t in thresholds)
            print(f"| {variant} | {impl} | {1e3 * low:.0f} | {1e3 * high:.0f} | {low / high:.2f}x |", flush=True)


def step_times(config, data):
    """Run the search ``config`` and return the clock time at the end of each step."""
    stamps = []
    run_search(config, data=data, listeners=(lambda e: e.kind == "step" and stamps.append(time.perf_counter()),))
    return stamps


def sweep_table(args, cfg):
    points = [(f"batch {v}", {"batch": v}) for v in (cfg["batch"] // 2, cfg["batch"] * 2)] \
        + [(f"C {v}", {"C": v}) for v in (cfg["C"] // 2, cfg["C"] * 2)] \
        + [(f"cells {v}", {"cells": v}) for v in (3, cfg["cells"] + 3)]
    print("\nSweep (darts-1st; one setting changed from the table's at a time):\n")
    print("| setting | toolkit ms | plain ms | time ratio | toolkit img/s |")
    print("|---|---|---|---|---|")
    for label, change in points:
        point = {**cfg, **change}
        row = compare("darts-1st", point, argparse.Namespace(**{**vars(args), "warmup": 1}), max(2, args.repeats // 2),
                      args.settings[:1])
        t, p = row[args.settings[0]]["s"], row["plain"]["s"]
        print(f"| {label} | {1e3 * t:.0f} | {1e3 * p:.0f} | {t / p:.2f} | {2 * point['batch'] / t:.0f} |", flush=True)


def contention_table(args):
    settings = [("auto", None), ("1", None), ("2", "PASSIVE"), ("2", None)]  # the slowest last
    print(f"\nContention ({args.config}, toolkit first order, one busy process on the same CPUs):\n")
    print("| threads | OMP_WAIT_POLICY | quiet ms | with a busy process ms | slowdown |")
    print("|---|---|---|---|---|")
    for threads, policy in settings:
        env_policy = {"OMP_WAIT_POLICY": policy} if policy else {}
        saved = dict(os.environ)
        os.environ.pop("OMP_NUM_THREADS", None)
        os.environ.pop("OMP_WAIT_POLICY", None)
        os.environ.update(env_policy)
        try:
            argv = ["--contention-child", "--config", args.config, "--repeats", str(args.repeats),
                    "--warmup", str(args.warmup)] + ([] if threads == "auto" else ["--threads", threads])
            r = child(argv)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        label = f"{r['threads']} (toolkit's choice)" if threads == "auto" else str(r["threads"])
        print(f"| {label} | {r['wait_policy']} | {1e3 * r['quiet']:.0f} | {1e3 * r['busy']:.0f} | "
              f"{r['busy'] / r['quiet']:.2f}x ({r['busy_steps']} busy steps) |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=CONFIGS, default="cpu-small")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--amp", choices=("off", "bf16", "fp16"), default="off",
                        help="toolkit autocast (CUDA), when --settings is not given")
    parser.add_argument("--settings", nargs="+", default=None,
                        help="toolkit settings timed side by side against the plain formulation, e.g. fp32 "
                             "bf16 fp32-compile bf16-cudagraphs (precision fp32|bf16|fp16, compile "
                             "eager|compile|cudagraphs)")
    parser.add_argument("--compile-backend", default="inductor",
                        help="torch.compile backend (aot_eager: a quick CPU check of the compiled path)")
    parser.add_argument("--epoch", action="store_true", help="only one full search epoch per variant and setting")
    parser.add_argument("--mmap-threshold", action="store_true",
                        help="only the step time with glibc's mmap threshold at 128 KiB against 32 MiB (Linux)")
    parser.add_argument("--epoch-images", type=int, default=50000, help="fake training images for --epoch")
    parser.add_argument("--channels-last", action="store_true", help="toolkit in channels-last layout")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: the toolkit's choice)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--repeats", type=int, default=5, help="timed steps per implementation")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps first")
    parser.add_argument("--no-sweep", dest="sweep", action="store_false")
    parser.add_argument("--no-rss", dest="rss", action="store_false", help="skip the max-RSS subprocesses (CPU)")
    parser.add_argument("--contention", action="store_true", help="only the quiet vs busy measurement")
    parser.add_argument("--rss-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--contention-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.device = torch.device(args.device)
    args.settings = args.settings or [{"off": "fp32"}.get(args.amp, args.amp)]
    for name in args.settings:
        parse_setting(name)
    runtime.COMPILE_BACKEND = args.compile_backend
    if args.contention_child:
        return contention_child(args)
    configure_threads(args.threads)
    if args.rss_child:
        return rss_child(args)
    if args.contention:
        return contention_table(args)
    if args.epoch:
        return epoch_table(args)
    if args.mmap_threshold:
        return mmap_threshold_table(args)
    args.rss = args.rss and args.device.type == "cpu"
    cfg = CONFIGS[args.config]
    start = time.time()
    print(f"# Search step, {args.config}: C={cfg['C']}, {cfg['cells']} cells, batch {cfg['batch']}, "
          f"{cfg['size']}x{cfg['size']}x3, 8 ops, 4 nodes\n\nMachine: {machine(args)}\n")
    main_table(args, cfg)
    if args.sweep:
        sweep_table(args, cfg)
    print(f"\nTotal {time.time() - start:.0f} s")


if __name__ == "__main__":
    main()
