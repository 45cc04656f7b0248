"""Benchmark: partial channel connections against K (the shape of ADARTS paper Fig. 10 and Table II).

For each method (PC-DARTS 'random', ADARTS 'attention', and a plain DARTS row for reference) and
each K in 1, 2, 4, 8, 16 it runs a short search and reports:

- saved activations: the peak bytes of tensors autograd keeps for backward during one search
  step (α step + w step), each storage counted once (``toolkit.memory.SavedTensorMeter``);
- CUDA peak (GPU only): ``torch.cuda.max_memory_allocated`` over a step;
- step time: the median wall time and the median process CPU time of the search steps after the
  first (the first one carries the memory hooks); on a shared CPU the CPU time is the steadier one;
- the skip_connect count of the derived normal / reduction cell after the search;
- the test accuracy of the derived cell pair after a short training of an evaluation network.

Usage:
    python bench/partial_channels.py              # CPU, small config (a few minutes on one core)
    python bench/partial_channels.py --gpu        # GPU: C=16, 8 cells, batch 64, 32x32x3 fake images

The searches are far too short for the skip counts and accuracies to rank methods; they show
the shape of the table and that every configuration runs end to end. Memory and step time are
the figures this benchmark is for.
"""

from __future__ import annotations

import argparse
import itertools
import platform
import time

import torch

from toolkit.config import K_VALUES, SearchConfig, TrainConfig
from toolkit.data import load_dataset
from toolkit.methods import methods
from toolkit.profile import profile_search
from toolkit.train import train_network

PROFILES = {
    # Small enough for a laptop core: digits 8x8, C=16 (so K=16 divides it), 5 cells.
    "cpu": dict(dataset="digits", channels=16, cells=5, batch_size=64, steps=5, device="cpu",
                eval_channels=8, eval_cells=3, eval_epochs=2),
    # The paper's search size (ADARTS paper IV.B): C=16, 8 cells, batch 64, 32x32 RGB input.
    "gpu": dict(dataset="fake", channels=16, cells=8, batch_size=64, steps=20, device="cuda",
                eval_channels=16, eval_cells=8, eval_epochs=5),
}
METHOD_OF_MODE = {m.partial: name for name, m in methods("search").items()}  # from the method registry


def load_data(profile: dict, seed: int):
    if profile["dataset"] == "fake":
        return load_dataset("fake", seed=seed, fake_size=4096, fake_image_size=32, fake_channels=3)
    return load_dataset(profile["dataset"], seed=seed)


def run_one(mode: str, k: int, profile: dict, data, args) -> dict:
    """One short search (profile's steps) and a short training of the derived cells."""
    config = SearchConfig(method=METHOD_OF_MODE[mode], dataset=data.name, channels=profile["channels"],
                          cells=profile["cells"], batch_size=profile["batch_size"], k=k,
                          device=profile["device"], seed=args.seed)
    row = profile_search(config, data, steps=profile["steps"])
    train_config = TrainConfig(dataset=data.name, channels=profile["eval_channels"], cells=profile["eval_cells"],
                               epochs=profile["eval_epochs"], batch_size=64, device=profile["device"],
                               seed=args.seed)
    trained = train_network(row["genotype"], train_config, data=data)
    return {**row, "mode": mode, "genotype": str(row["genotype"]), "eval_acc": trained.test_acc,
            "cuda_peak_mb": row["peak_memory_mb"] if profile["device"] == "cuda" else None}


def markdown_table(rows: list[dict], gpu: bool) -> str:
    base = {(r["mode"], 1): r["activation_mb"] for r in rows if r["k"] == 1}
    head = ["method", "K", "saved activations (MiB)", "vs K=1"]
    head += ["CUDA peak (MiB)"] if gpu else []
    head += ["step wall (s)", "step CPU (s)", "skip normal/reduce", "eval acc"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        ref = base.get((r["mode"], 1))
        cells = [r["method"], str(r["k"]), f"{r['activation_mb']:.1f}",
                 f"{100 * r['activation_mb'] / ref:.0f}%" if ref else "-"]
        cells += [f"{r['cuda_peak_mb']:.0f}"] if gpu else []
        cells += [f"{r['step_s']:.2f}", f"{r['step_cpu_s']:.2f}", f"{r['skip_normal']}/{r['skip_reduce']}",
                  f"{100 * r['eval_acc']:.1f}%"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def done_when(rows: list[dict]) -> list[str]:
    """The issue's acceptance checks: memory falls with K; K=4 <= 40% of K=1; K=4 faster than K=1."""
    out = []
    for mode in ("random", "attention"):
        by_k = {r["k"]: r for r in rows if r["mode"] == mode}
        if 1 not in by_k or 4 not in by_k:
            continue
        ks = sorted(by_k)
        falling = all(by_k[a]["activation_mb"] > by_k[b]["activation_mb"] for a, b in itertools.pairwise(ks))
        share = by_k[4]["activation_mb"] / by_k[1]["activation_mb"]
        faster = all(by_k[4][key] < by_k[1][key] for key in ("step_s", "step_cpu_s"))
        out.append(f"{METHOD_OF_MODE[mode]}: memory falls with K: {falling}; "
                   f"K=4 memory = {100 * share:.0f}% of K=1 (<= 40%: {share <= 0.4}); "
                   f"K=4 step {by_k[4]['step_s']:.2f}s wall / {by_k[4]['step_cpu_s']:.2f}s CPU < "
                   f"K=1 {by_k[1]['step_s']:.2f}s / {by_k[1]['step_cpu_s']:.2f}s: {faster}")
    return out


def machine() -> str:
    if torch.cuda.is_available():
        device = torch.cuda.get_device_name()
    else:
        device = "no GPU"
    return (f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} torch thread(s), "
            f"{device}, torch {torch.__version__}, Python {platform.python_version()}")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpu", action="store_true", help="the paper-size GPU configuration")
    parser.add_argument("--k", type=int, nargs="+", default=list(K_VALUES), help="K values (default 1 2 4 8 16)")
    parser.add_argument("--modes", nargs="+", default=["none", "random", "attention"],
                        choices=["none", "random", "attention"], help="'none' adds a DARTS reference row (K=1)")
    parser.add_argument("--steps", type=int, help="search steps per run (default: profile's)")
    parser.add_argument("--threads", type=int, default=1,
                        help="torch intra-op threads on CPU (default 1: stable timings on a shared machine)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    profile = dict(PROFILES["gpu" if args.gpu else "cpu"])
    if args.steps:
        profile["steps"] = args.steps
    if not args.gpu:
        torch.set_num_threads(args.threads)
    data = load_data(profile, args.seed)
    print(f"machine: {machine()}")
    print(f"profile: {profile}")
    rows, start = [], time.time()
    for mode in args.modes:
        for k in ([1] if mode == "none" else args.k):
            rows.append(run_one(mode, k, profile, data, args))
            r = rows[-1]
            print(f"  {r['method']:8s} K={k:<2d} act={r['activation_mb']:.1f}MiB "
                  f"step={r['step_s']:.2f}s wall {r['step_cpu_s']:.2f}s CPU "
                  f"skips={r['skip_normal']}/{r['skip_reduce']} acc={r['eval_acc']:.3f} "
                  f"[{time.time() - start:.0f}s]", flush=True)
    print()
    print(markdown_table(rows, args.gpu))
    print()
    for line in done_when(rows):
        print(line)
    print(f"\ntotal {time.time() - start:.0f}s")


if __name__ == "__main__":
    main()
