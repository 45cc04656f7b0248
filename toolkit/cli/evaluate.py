"""``python -m toolkit evaluate A B ...``: train and test several architectures, in parallel if asked."""

from __future__ import annotations

import sys

from ..genotype import load_architecture
from ..methods import TRAINING
from .common import (
    Fields,
    add_executor_arguments,
    add_run_arguments,
    inherit_data_settings,
    run_folder_of,
)
from .train import add_network_arguments, add_preset_argument, resolve


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="train and test several architectures, in parallel if asked",
                       description="Train an evaluation network for each architecture (published cell names such "
                                   "as DARTS_V2, genotype.json or network.json files) with the same settings and "
                                   "print their parameters and test accuracy. --executor process or dask "
                                   "evaluates several at once.",
                       epilog="Example: python -m toolkit evaluate DARTS_V2 PC_DARTS runs/demo/genotype.json "
                              "--dataset digits --epochs 1 --executor process --workers 2")
    p.add_argument("architectures", nargs="+", metavar="ARCHITECTURE",
                   help="a published cell name or a genotype.json / network.json path")
    add_preset_argument(p)
    fields = Fields([TRAINING])
    add_run_arguments(p, fields, run_folder=False)
    add_network_arguments(p, fields)
    add_executor_arguments(p)
    p.set_defaults(func=run, fields=fields)


def run(args) -> int:
    from ..evaluate import EvalSpec, evaluate_all
    from .common import executor_from_args

    for source in args.architectures:  # a searched genotype brings its run's data settings
        inherit_data_settings(args, run_folder_of(source))
    architectures = [load_architecture(source) for source in args.architectures]
    config, sources = resolve(args)
    if args.dry_run:
        from . import dryrun

        plan = lambda config, data: [*dryrun.train_plan(config, data, "each architecture"),  # noqa: E731
                                     f"architectures: {len(architectures)}"]
        return dryrun.report("evaluate", args.preset, TRAINING, config, sources, config, plan)
    specs = [EvalSpec(a, config, name=source) for a, source in zip(architectures, args.architectures)]
    bar = None
    if not args.quiet:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(specs), desc=f"evaluate ({args.executor})", unit="architecture", file=sys.stderr)
    try:
        with executor_from_args(args) as executor:
            results = evaluate_all(specs, executor, stop=getattr(args, "stop", None),
                                   on_result=(lambda i, m: bar.update(1)) if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    print(table(results, args.architectures))
    done = sum(r is not None for r in results)
    print(f"{done}/{len(specs)} evaluated: {config.epochs} epoch(s) each on {config.dataset}, test accuracy on its "
          f"held-out split")
    return 0


def table(results: list[dict | None], names: list[str]) -> str:
    """A plain-text table: name, parameters, test accuracy and loss, wall time (``-`` where not evaluated)."""
    width = max(len("architecture"), *map(len, names))
    lines = [f"{'architecture':<{width}}  {'parameters':>10}  {'test acc':>8}  {'test loss':>9}  {'seconds':>7}"]
    for name, r in zip(names, results):
        if r is None:
            lines.append(f"{name:<{width}}  {'-':>10}  {'-':>8}  {'-':>9}  {'-':>7}  not evaluated (stopped)")
        else:
            lines.append(f"{name:<{width}}  {r['parameters']:>10,}  {r['test_acc']:>8.4f}  {r['test_loss']:>9.4f}  "
                         f"{r['seconds']:>7.1f}")
    return "\n".join(lines)
