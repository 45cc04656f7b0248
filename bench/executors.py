"""Wall time of evaluating four candidates one after another vs in a 2-process pool (and a Dask cluster).

Usage: python bench/executors.py [--epochs 2] [--channels 8] [--cells 5] [--workers 2] [--no-dask]

The four candidates are those of tests/test_executors.py (DARTS V2, PC-DARTS, a hand-made cell pair
and a network whose third cell reads the stem), trained on digits with one torch thread each.
Every executor's time runs from creating it to its shutdown, so process start-up, importing torch
in each worker and loading the data there are included. Prints a markdown table and checks that
every executor returned the same metrics as the sequential run.
"""

import argparse
import os
import time

from toolkit import PUBLISHED, CellPair, CellSpec, Genotype, Network, TrainConfig
from toolkit.evaluate import TIMING_KEYS, EvalSpec, evaluate_all
from toolkit.executors import make_executor

HAND_MADE = CellPair(Genotype.from_text("sep_conv_3x3(0)+skip_connect(1) | max_pool_3x3(2)+dil_conv_3x3(1) ; 2,3"),
                     Genotype.from_text("avg_pool_3x3(0)+sep_conv_5x5(1) | skip_connect(2)+max_pool_3x3(1) ; 2,3"))


def candidates(config: TrainConfig) -> list[EvalSpec]:
    wired = HAND_MADE.stack(config.cells, config.reductions)
    third = wired.cells[2]
    wired = Network((*wired.cells[:2], CellSpec(third.genotype, third.reduction, (0, 2)), *wired.cells[3:]))
    return [EvalSpec(PUBLISHED["DARTS_V2"], config, seed=0, name="DARTS_V2"),
            EvalSpec(PUBLISHED["PC_DARTS"], config, seed=1, name="PC_DARTS"),
            EvalSpec(HAND_MADE, config, seed=2, name="hand-made pair"),
            EvalSpec(wired, config, seed=3, name="wired network")]


def timed(kind: str, specs: list[EvalSpec], workers: int) -> tuple[float, list[dict]]:
    start = time.perf_counter()
    with make_executor(kind, workers=workers) as executor:
        results = evaluate_all(specs, executor)
    return time.perf_counter() - start, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--channels", type=int, default=8)
    parser.add_argument("--cells", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-dask", action="store_true", help="leave out the Dask LocalCluster")
    args = parser.parse_args()
    config = TrainConfig(dataset="digits", epochs=args.epochs, channels=args.channels, cells=args.cells,
                         device="cpu")
    specs = candidates(config)
    kinds = [("local", 1), ("process", args.workers)] + ([] if args.no_dask else [("dask", args.workers)])
    load = os.getloadavg()[0]
    rows, reference = [], None
    for kind, workers in kinds:
        wall, results = timed(kind, specs, workers)
        plain = [{k: v for k, v in r.items() if k not in TIMING_KEYS} for r in results]
        reference = reference or (wall, plain)
        busy = sum(r["seconds"] for r in results)
        rows.append(f"| {kind} | {workers} | {wall:.1f} | {busy:.1f} | {reference[0] / wall:.2f}x | "
                    f"{'yes' if plain == reference[1] else 'NO'} |")
    print(f"4 candidates, digits, C={args.channels}, {args.cells} cells, {args.epochs} epoch(s), batch 64, one torch "
          f"thread each; load average {load:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs\n")
    print("| executor | workers | wall (s) | sum of evaluations (s) | speed-up | same metrics |")
    print("|---|---|---|---|---|---|")
    print("\n".join(rows))
    accuracy = ", ".join(f"{m['name']} {m['test_acc']:.3f} ({m['parameters']:,} parameters)" for m in reference[1])
    print(f"\ntest accuracy: {accuracy}")


if __name__ == "__main__":
    main()
