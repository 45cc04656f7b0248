"""Where a search step's resident memory goes on CPU: a one-time part, each step's part, live tensors.

``bench/search_step.py`` reports the peak RSS growth of a fresh process over two steps. This bench
splits it, per variant, for the toolkit and the plain formulation (the one in ``search_step.py``),
each figure from a fresh process (Linux: ``/proc/self/status``, glibc's ``malloc_trim``):

- two steps: the peak RSS over two steps above the RSS before them (search_step.py's figure);
- one-time: the RSS the first step leaves behind once glibc has handed every free page back
  (``malloc_trim(0)``): what a process keeps after its first step whatever it computes next;
- one step: the peak RSS of the third step above the trimmed RSS before it;
- tensors: the peak of live tensor memory during one step (the torch profiler's memory timeline);
- oneDNN cache: how much less the two-step figure is with oneDNN's primitive cache off
  (``ONEDNN_PRIMITIVE_CACHE_CAPACITY=0``).

Example, from the repository root:
    .venv/bin/python bench/step_memory.py --config cpu-small --variants pcdarts-k4 adarts-k4
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from search_step import CONFIGS, IMPLS, VARIANTS, Stepper, make_data  # noqa: E402

from toolkit.runtime import configure_threads  # noqa: E402

STATUS = Path("/proc/self/status")


def mb(key: str) -> float:
    line = next(line for line in STATUS.read_text().splitlines() if line.startswith(key))
    return int(line.split()[1]) / 1024


def reset_peak() -> float:
    """Reset VmHWM to the current RSS ("5" to clear_refs) and return that RSS in MiB."""
    Path("/proc/self/clear_refs").write_text("5")
    return mb("VmRSS")


def tensor_peak_mb(stepper, batch) -> float:
    """Peak live tensor memory of one step, from the torch profiler's memory timeline."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], record_shapes=True, profile_memory=True, with_stack=True) as prof:
        stepper.step(*batch)
    path = Path(f"/tmp/step-memory-{os.getpid()}.json")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # the export is deprecated, not yet removed
        prof.export_memory_timeline(str(path), device="cpu")
    _, sizes = json.loads(path.read_text())
    path.unlink()
    return max(sum(row) for row in sizes) / 2**20


def child(args) -> None:
    configure_threads(1)
    cfg = CONFIGS[args.config]
    stepper = Stepper(args.impl, args.variant, cfg, torch.device("cpu"))
    batch = stepper.batches(make_data(cfg, torch.device("cpu")))
    trim = ctypes.CDLL("libc.so.6").malloc_trim
    if args.part == "two-steps":
        before = reset_peak()
        for _ in range(2):
            stepper.step(*batch)
        print(json.dumps(mb("VmHWM") - before))
        return
    before = reset_peak()
    stepper.step(*batch)
    trim(0)
    one_time = mb("VmRSS") - before
    stepper.step(*batch)
    trim(0)
    start = reset_peak()
    stepper.step(*batch)
    one_step = mb("VmHWM") - start
    print(json.dumps({"one_time": one_time, "one_step": one_step, "tensors": tensor_peak_mb(stepper, batch)}))


def run_child(args, variant, impl, part, env=None) -> dict | float:
    argv = [sys.executable, __file__, "--child", "--config", args.config, "--variant", variant, "--impl", impl,
            "--part", part]
    done = subprocess.run(argv, check=True, capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})})
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", choices=CONFIGS, default="cpu-small")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--variant", help=argparse.SUPPRESS)
    parser.add_argument("--impl", help=argparse.SUPPRESS)
    parser.add_argument("--part", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child(args)
    print(f"# Resident memory of a search step, {args.config}, one torch thread (MiB)\n")
    print("| variant | impl | two steps | one-time | one step | tensors | oneDNN cache |")
    print("|---|---|---|---|---|---|---|")
    rows = {}
    for variant in args.variants:
        for impl in IMPLS:
            two = run_child(args, variant, impl, "two-steps")
            without_cache = run_child(args, variant, impl, "two-steps", {"ONEDNN_PRIMITIVE_CACHE_CAPACITY": "0"})
            parts = run_child(args, variant, impl, "parts")
            rows[variant, impl] = {"two": two, **parts}
            print(f"| {variant} | {impl} | {two:.0f} | {parts['one_time']:.0f} | {parts['one_step']:.0f} | "
                  f"{parts['tensors']:.0f} | {two - without_cache:.0f} |", flush=True)
    print("\n| variant | two steps ratio | one step ratio | tensors ratio |")
    print("|---|---|---|---|")
    for variant in args.variants:
        t, p = rows[variant, "toolkit"], rows[variant, "plain"]
        print(f"| {variant} | {t['two'] / p['two']:.2f} | {t['one_step'] / p['one_step']:.2f} | "
              f"{t['tensors'] / p['tensors']:.2f} |")


if __name__ == "__main__":
    main()
