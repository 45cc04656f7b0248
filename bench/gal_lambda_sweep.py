"""DARTS-GAL λ sweep: parameters and test accuracy of the retrained pruned network for several λ.

Trains one baseline (DARTS V2 on digits by default, C=16, 5 cells, reductions at cells 2 and 3),
then for every λ learns the masks, prunes and retrains from scratch, and prints one row per λ.

    .venv/bin/python bench/gal_lambda_sweep.py --lams 0 3 10 20 40 --out bench/gal_lambda_sweep.json
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from dataclasses import replace
from pathlib import Path

import torch

from toolkit import PUBLISHED
from toolkit.data import load_dataset
from toolkit.gal import GalConfig, lambda_sweep
from toolkit.model import count_parameters
from toolkit.steps import evaluate, make_loader
from toolkit.train import TrainResult, build_network, train_network


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--genotype", default="DARTS_V2")
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--lr", type=float, default=GalConfig.lr)
    parser.add_argument("--cells", type=int, default=5)
    parser.add_argument("--reductions", type=int, nargs="+", default=[2, 3])
    parser.add_argument("--epochs", type=int, default=GalConfig.epochs)
    parser.add_argument("--gal-epochs", type=int, default=GalConfig.gal_epochs)
    parser.add_argument("--lams", type=float, nargs="+", default=[0.0, 3.0, 10.0, 20.0, 40.0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="write the points as JSON here")
    parser.add_argument("--no-adaptive-restart", action="store_true",
                        help="FISTA without adaptive momentum restart (the earlier behaviour)")
    parser.add_argument("--baseline-state", default=None,
                        help="a saved state_dict of the same baseline (skips its training when the file exists)")
    args = parser.parse_args()

    config = GalConfig(dataset=args.dataset, channels=args.channels, cells=args.cells,
                       reductions=tuple(args.reductions), epochs=args.epochs, gal_epochs=args.gal_epochs,
                       seed=args.seed, lr=args.lr, adaptive_restart=not args.no_adaptive_restart)
    data = load_dataset(config.dataset, seed=config.seed)
    start = time.perf_counter()
    if args.baseline_state and Path(args.baseline_state).exists():
        model = build_network(PUBLISHED[args.genotype], config, data)
        model.load_state_dict(torch.load(args.baseline_state, weights_only=True))
        test = evaluate(model, make_loader(data.test, 256, False), torch.device("cpu"))
        baseline = TrainResult(model, model.network, [], "finished", test["acc"], test["loss"], count_parameters(model))
    else:
        baseline = train_network(PUBLISHED[args.genotype], config, data=data, name="baseline")
    print(f"baseline: {baseline.parameters:,} parameters, test acc {baseline.test_acc:.4f} "
          f"({time.perf_counter() - start:.0f} s)")
    rows = []
    print(f"{'λ':>6} {'parameters':>11} {'pruned':>7} {'acc before':>11} {'acc after':>10} {'seconds':>8}  "
          "kept nodes (2-5) per cell")
    for lam in args.lams:
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            points = lambda_sweep(baseline.model, replace(config, lam=lam), [lam], data=data)
        seconds = time.perf_counter() - start
        if not points:  # mask training collapsed
            rows.append({"lam": lam, "status": "collapsed", "message": str(caught[-1].message), "seconds": seconds})
            print(f"{lam:>6g} {'collapsed: mask training stopped, nothing pruned':>50} {seconds:>8.0f}", flush=True)
            continue
        (point,) = points
        rows.append({**point.to_dict(), "seconds": seconds})
        kept = " | ".join(",".join(str(i + 2) for i in k) or "None" for k in point.kept)  # DARTS node numbers
        print(f"{lam:>6g} {point.parameters_after:>11,} {100 * point.pruning_rate:>6.1f}% "
              f"{100 * point.acc_before:>10.2f}% {100 * point.acc_after:>9.2f}% {seconds:>8.0f}  {kept}", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"config": config.to_dict(), "baseline_acc": baseline.test_acc, "points": rows}, f, indent=1)


if __name__ == "__main__":
    main()
