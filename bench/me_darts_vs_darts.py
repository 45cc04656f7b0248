"""ME-DARTS against plain DARTS at the same total search-epoch budget, over several seeds.

Usage: python bench/me_darts_vs_darts.py [--out runs/bench-me-darts] [--seeds 0 10 20] [--jobs 1] [--reuse]

For every seed ``s``:

1. ME-DARTS: ``python -m toolkit search me-darts --dataset digits --preset cpu-small --seed s``
   (individuals of the init stage get seeds ``s .. s+3``).
2. Plain DARTS: ``python -m toolkit search darts --dataset digits --seed s`` with the ME-DARTS final
   stage's supernet (cells, channels, batch) and ``--epochs`` equal to the sum over ME-DARTS's stages
   of population x epochs (cpu-small: 4x2 + 4x2 + 1x6 = 22), i.e. the same number of supernet
   epochs. (ME-DARTS's epochs run on its proxy data, smaller and at half resolution, so DARTS gets
   more search steps; the bench prints both step counts.)
3. Each arm's genotype is trained like any DARTS result: ``python -m toolkit train --genotype
   <run>/genotype.json --dataset digits --seed s`` (the train command's defaults: 20 epochs, C=16,
   5 cells), and its test accuracy and parameter count are read from the run's ``run.json``.

Prints one row per seed and arm, then each arm's mean and standard deviation (statistics.stdev),
and each command's wall time. ``--jobs 2`` runs two commands at a time (each with one torch thread:
the toolkit's choice on 2 cores), so wall times are then under load. ``--reuse`` reads finished run
folders in ``--out`` instead of running them again.
"""

import argparse
import json
import math
import shutil
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from toolkit.data import load_dataset
from toolkit.medarts import MeDartsConfig
from toolkit.medarts.run import member_steps


def budget(preset: str) -> tuple[int, int, int, int]:
    """(total supernet epochs over all stages, final stage's cells, channels, batch size)."""
    plan = MeDartsConfig(preset=preset).stages
    total = sum(stage.population * stage.epochs for stage in plan)
    return total, plan.final.cells, plan.final.channels, plan.final.batch_size


def run(command: list[str], out: Path, reuse: bool) -> float:
    """Run one toolkit command writing ``out`` unless ``reuse`` and it finished; returns wall seconds."""
    if reuse and (out / "run.json").exists():
        return float("nan")
    if out.exists():
        shutil.rmtree(out)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "toolkit", *command, "--quiet", "--device", "cpu", "--out", str(out)],
                   check=True)
    return time.perf_counter() - start


def arm(name: str, seed: int, search: list[str], root: Path, reuse: bool) -> dict:
    """Search, then train the genotype; the row of the results table."""
    folder = root / f"{name}-seed{seed}"
    search_s = run(["search", *search, "--dataset", "digits", "--seed", str(seed)], folder / "search", reuse)
    train_s = run(["train", "--genotype", str(folder / "search" / "genotype.json"), "--dataset", "digits",
                   "--seed", str(seed)], folder / "train", reuse)
    trained = json.loads((folder / "train" / "run.json").read_text())
    return {"arm": name, "seed": seed, "test_acc": trained["test_acc"], "parameters": trained["parameters"],
            "search_s": search_s, "train_s": train_s,
            "genotype": json.loads((folder / "search" / "genotype.json").read_text())}


def search_steps(preset: str, darts_epochs: int, batch: int) -> dict[str, int]:
    """Supernet steps each arm's search takes: ME-DARTS summed over its stages' members
    (:func:`toolkit.medarts.run.member_steps`), DARTS epochs x batches of the smaller half."""
    data = load_dataset("digits")
    config = MeDartsConfig(preset=preset)
    me = sum(stage.population * member_steps(data, stage, config.member_config(stage, 0))
             for stage in config.stages)
    n = len(data.train)
    first = int(config.search.train_portion * n)
    return {"me-darts": me, "darts": darts_epochs * math.ceil(min(first, n - first) / batch)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/bench-me-darts")
    parser.add_argument("--preset", default="cpu-small", help="ME-DARTS stage plan")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 10, 20])
    parser.add_argument("--jobs", type=int, default=1, help="commands run at the same time")
    parser.add_argument("--reuse", action="store_true", help="read finished run folders in --out")
    args = parser.parse_args()
    root = Path(args.out)
    root.mkdir(parents=True, exist_ok=True)
    epochs, cells, channels, batch = budget(args.preset)
    arms = {"me-darts": ["me-darts", "--preset", args.preset],
            "darts": ["darts", "--epochs", str(epochs), "--cells", str(cells), "--channels", str(channels),
                      "--batch-size", str(batch)]}
    for name, search in arms.items():
        print(f"{name}: python -m toolkit search {' '.join(search)} --dataset digits --seed S")
    print("train:   python -m toolkit train --genotype <search>/genotype.json --dataset digits --seed S")
    start = time.perf_counter()
    with ThreadPoolExecutor(args.jobs) as pool:
        futures = [pool.submit(arm, name, seed, search, root, args.reuse)
                   for seed in args.seeds for name, search in arms.items()]
        rows = [f.result() for f in futures]
    print(f"\ntotal wall time: {time.perf_counter() - start:.0f} s ({args.jobs} job(s) at a time)\n")
    steps = search_steps(args.preset, epochs, batch)
    print("| arm | seed | search steps | search s | train s | test accuracy | parameters |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['arm']} | {r['seed']} | {steps[r['arm']]} | {r['search_s']:.0f} "
              f"| {r['train_s']:.0f} | {r['test_acc']:.4f} | {r['parameters']:,} |")
    print("\n| arm | test accuracy mean | std | parameters mean |")
    print("|---|---|---|---|")
    for name in arms:
        accs = [r["test_acc"] for r in rows if r["arm"] == name]
        params = [r["parameters"] for r in rows if r["arm"] == name]
        spread = statistics.stdev(accs) if len(accs) > 1 else float("nan")
        print(f"| {name} | {statistics.mean(accs):.4f} | {spread:.4f} | {statistics.mean(params):,.0f} |")
    (root / "results.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
