"""TS-ENAS with the cpu-small preset on digits: wall time, the best network, and whether inheritance pays.

Usage: python bench/ts_enas.py [--out runs/bench-ts-enas] [--preset cpu-small] [--seeds 3] [--reuse]

1. Runs ``python -m toolkit search ts-enas --dataset digits --preset cpu-small`` as a subprocess and
   times it (both stages, SuperNet training included, process start-up included).
2. Reads the chosen network from the run folder (``run.json``): its validation accuracy (on D_valid,
   10% of the training images, which selected it) and its test accuracy (the run's one read of the
   test split), and its parameters.
3. Takes the final population (the fine stage's survivors) and trains each individual for the
   preset's ``epochs`` three times with the same seeds: from a fresh initialisation ("scratch"),
   from its cells' weights in the SuperNet as trained before the first generation ("SuperNet only":
   retrained here with the run's seed, no write-back yet), and from the run's final SuperNet
   ("final SuperNet", which holds cell weights written back by the best individuals, these
   included), and prints the validation accuracies on the run's D_valid (the arms are compared, so
   the test split stays out), through :func:`toolkit.tsenas.inheritance_gain`: all arms use the same
   network, data, seed, initialisation (the SuperNet arms copy their cells into it), epochs and thread
   count.
   ``--reuse`` skips the search and reads the run folder ``--out``.
"""

import argparse
import dataclasses
import json
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from toolkit.events import StopSignal
from toolkit.train import train_network
from toolkit.tsenas import inheritance_gain, supernet_network
from toolkit.tsenas.gain import FINAL, SCRATCH, read_run
from toolkit.tsenas.run import _Evaluator, search_data


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/bench-ts-enas")
    parser.add_argument("--preset", default="cpu-small")
    parser.add_argument("--seeds", type=int, default=3, help="training seeds per individual and arm")
    parser.add_argument("--reuse", action="store_true", help="use the finished run in --out")
    args = parser.parse_args()
    out = Path(args.out)
    command = [sys.executable, "-m", "toolkit", "search", "ts-enas", "--dataset", "digits", "--preset", args.preset,
               "--device", "cpu", "--quiet", "--out", str(out)]
    if not args.reuse:
        if out.exists():
            shutil.rmtree(out)
        start = time.perf_counter()
        subprocess.run(command, check=True)
        print(f"wall time (both stages, under whatever load the machine has): {time.perf_counter() - start:.0f} s")
    run = json.loads((out / "run.json").read_text())
    saved = read_run(out)
    config, space = saved.config, saved.space
    print(f"command: {' '.join(command[1:])}")
    best = run["best"]
    print(f"best network {best['id']}: validation accuracy {best['val_acc']:.4f} (selected on it), test accuracy "
          f"{best['test_acc']:.4f} (measured once), {best['parameters']:,} parameters, N={best['N']}")

    data = search_data(config)  # the run's own split: candidates train on the rest of D_valid's training images
    evaluator = _Evaluator(config, space, data, None, None, StopSignal())
    network, _ = supernet_network(space, (config.n_max - 1) // 2)
    first = evaluator.build(network, config.seed)  # as run_ts_enas builds and trains it before generation 0
    train_network(network, dataclasses.replace(evaluator.train_config, epochs=config.supernet_epochs), data=data,
                  model=first, name="supernet", test=False)
    supernets = {"SuperNet only": first.state_dict(), FINAL: saved.supernet}
    last = sorted(out.glob("gen_*.json"))[-1].name
    print(f"\n{len(saved.population)} individuals of the final population ({last}), {config.epochs} epoch(s) "
          f"each, seeds 0..{args.seeds - 1}:\n")
    print("| individual | parameters | scratch | SuperNet only | final SuperNet |")
    print("|---|---|---|---|---|")
    means = {SCRATCH: [], "SuperNet only": [], FINAL: []}
    for m in saved.population:
        accs = inheritance_gain(out, m, seeds=range(args.seeds), supernets=supernets).val_acc
        for arm in means:
            means[arm].extend(accs[arm])
        print(f"| {m['id']} | {m['parameters']:,} | " + " | ".join(
            f"{statistics.mean(accs[a]):.4f} (min {min(accs[a]):.4f}, max {max(accs[a]):.4f})" for a in means) + " |")
    print("\nmean validation accuracy over all: "
          + ", ".join(f"{a} {statistics.mean(v):.4f}" for a, v in means.items()))

if __name__ == "__main__":
    main()
