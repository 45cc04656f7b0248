"""Does a λ prune as much on a 10x larger data set with the same epochs? (DARTS-GAL epoch length)

Trains one DARTS V2 baseline on digits (C=16, 5 cells, reductions at cells 2 and 3), then learns
the masks with the same λ and the same number of mask-training epochs on

* digits itself (1,438 training images: 23 steps of batch 64 per epoch),
* digits x10: every digits training image 10 times (14,380 images, 225 batches), the same
  distribution, so only the size changes, and
* with ``--shifted``, digits x10 shifted: each copy rolled by up to one pixel (with wrap-around)
  and given a little Gaussian noise, images the baseline never saw (size and distribution change),

and prints, per λ, how many nodes each run keeps and the share of parameters the pruned network
loses (no retraining: the pruning decision is what λ controls). A mask-training epoch takes at
most ``reference_steps`` (23) steps; ``--full-passes`` also runs the 10x sets with full 225-step
epochs (``reference_steps`` huge), which is how λ behaved before.

    .venv/bin/python bench/gal_lambda_scale.py --lams 12 --gal-epochs 5 --full-passes --shifted
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import replace
from pathlib import Path

import torch

from toolkit import PUBLISHED
from toolkit.data import DatasetSplits, ImageTensorDataset, load_dataset
from toolkit.gal import GalConfig, kept_from_masks, prune_network, train_masks
from toolkit.model import EvalNetwork, count_parameters
from toolkit.steps import Session, evaluate, make_loader
from toolkit.train import TrainResult, build_network, train_network


def ten_times(data: DatasetSplits, copies: int = 10, seed: int = 0, shifted: bool = False) -> DatasetSplits:
    """Every training image ``copies`` times; ``shifted``: each copy rolled by up to a pixel and slightly noisy."""
    g = torch.Generator().manual_seed(seed)
    images = torch.stack([x for x, _ in data.train])
    labels = torch.tensor([y for _, y in data.train])
    out = []
    for _ in range(copies):
        if not shifted:
            out.append(images)
            continue
        dx, dy = (int(v) for v in torch.randint(-1, 2, (2,), generator=g))
        out.append(torch.roll(images, (dy, dx), dims=(2, 3)) + 0.1 * torch.randn(images.shape, generator=g))
    train = ImageTensorDataset(torch.cat(out), labels.repeat(copies))
    name = f"{data.name} x{copies}{' shifted' if shifted else ''}"
    return DatasetSplits(train, data.test, data.num_classes, data.in_channels, data.image_size, name)


def prune_figures(baseline, config: GalConfig, data: DatasetSplits) -> dict:
    start = time.perf_counter()
    result = train_masks(baseline, config, data, Session(config))
    keep = kept_from_masks(result.masks, config.threshold)
    pruned = count_parameters(EvalNetwork(prune_network(baseline.network, keep), baseline.sizes))
    values = [v for cell in result.masks for v in cell]
    return {"status": result.status, "kept_nodes": sum(map(len, keep)), "kept": [list(k) for k in keep],
            "mean_mask": sum(values) / len(values), "masks": result.masks,
            "pruning_rate": 1 - pruned / count_parameters(baseline),
            "masked_test_acc": result.history[-1]["test_acc"] if result.history else None,
            "seconds_under_load": time.perf_counter() - start}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lams", type=float, nargs="+", default=[6.0, 12.0, 24.0])
    parser.add_argument("--gal-epochs", type=int, default=GalConfig.gal_epochs)
    parser.add_argument("--full-passes", action="store_true",
                        help="also run the 10x sets with full 225-step epochs (the earlier behaviour)")
    parser.add_argument("--shifted", action="store_true", help="also run the shifted, noisy 10x set")
    parser.add_argument("--mask-seeds", type=int, nargs="+", default=[GalConfig.seed],
                        help="seeds of the mask training (batch order, noise, discriminator), not of the baseline")
    parser.add_argument("--out", default=None)
    parser.add_argument("--baseline-state", default=None,
                        help="a saved state_dict of the same baseline (skips its training when the file exists)")
    args = parser.parse_args()
    config = GalConfig(channels=16, cells=5, reductions=(2, 3), gal_epochs=args.gal_epochs)
    digits = load_dataset("digits", seed=config.seed)
    bigger = ten_times(digits)
    if args.baseline_state and Path(args.baseline_state).exists():
        model = build_network(PUBLISHED["DARTS_V2"], config, digits)
        model.load_state_dict(torch.load(args.baseline_state, weights_only=True))
        test = evaluate(model, make_loader(digits.test, 256, False), torch.device("cpu"))
        baseline = TrainResult(model, model.network, [], "finished", test["acc"], test["loss"], count_parameters(model))
    else:
        baseline = train_network(PUBLISHED["DARTS_V2"], config, data=digits, name="baseline")
        if args.baseline_state:
            torch.save(baseline.model.state_dict(), args.baseline_state)
    print(f"baseline: {baseline.parameters:,} parameters, test acc {baseline.test_acc:.4f}", flush=True)
    rows = []
    bigger_sets = [("digits x10", bigger)] + [("digits x10 shifted", ten_times(digits, shifted=True))] * args.shifted
    runs = [("digits", digits, {})]
    for name, data in bigger_sets:
        runs.append((name, data, {}))
        if args.full_passes:
            runs.append((f"{name}, full passes", data, {"reference_steps": 10**9}))
    for name, data in bigger_sets:
        acc = evaluate(baseline.model, make_loader(data.train, 256, False), torch.device("cpu"))["acc"]
        print(f"baseline accuracy on the {name} training images: {100 * acc:.2f}%", flush=True)
    print(f"{'λ':>5} {'seed':>4} {'data':<32} {'status':<10} {'kept nodes':>10} {'mean mask':>9} {'pruned':>7} "
          f"{'masked acc':>10}")
    for lam, seed in ((lam, seed) for lam in args.lams for seed in args.mask_seeds):
        for name, data, extra in runs:
            run_config = replace(config, lam=lam, seed=seed, **extra)
            row = {"lam": lam, "seed": seed, "data": name, **prune_figures(baseline.model, run_config, data)}
            rows.append(row)
            acc = f"{100 * row['masked_test_acc']:.2f}%" if row["masked_test_acc"] is not None else "-"
            print(f"{lam:>5g} {seed:>4} {name:<32} {row['status']:<10} {row['kept_nodes']:>10} "
                  f"{row['mean_mask']:>9.3f} {100 * row['pruning_rate']:>6.1f}% {acc:>10}", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"config": config.to_dict(), "baseline_acc": baseline.test_acc, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
