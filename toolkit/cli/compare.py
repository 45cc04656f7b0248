"""``python -m toolkit compare``: several search methods at one budget, several seeds, one evaluation."""

from __future__ import annotations

import sys

from ..errors import ToolkitError
from .common import add_executor_arguments, output_folder, positive_int

BUDGET_HELP = ("training images each search draws (a DARTS-family step draws a weight batch and an α batch); each "
               "method's base settings are scaled (epochs, ME-DARTS stage epochs, TS-ENAS SuperNet epochs, "
               "population and generations) so its planned images come nearest this. Images, not seconds: the "
               "count is deterministic and means the same on any machine; the table also records each search's "
               "seconds (default: %(default)s)")


def register(sub) -> None:
    from ..compare import comparable

    names = comparable()
    p = sub.add_parser("compare", help="compare search methods at one budget, over seeds, with one evaluation",
                       description="Run each method (through its registry entry) for every seed at the same budget "
                                   "of training images, then train every found architecture with the same settings "
                                   "(a validation split held out of the training images; the test split read once "
                                   "per network). Writes results.csv, results.json and the figures "
                                   "(accuracy against parameters with each method's Pareto front, against search "
                                   "time, mean ± spread) to --out; each (method, seed) runs in its own sub-folder, "
                                   "so --resume continues a stopped comparison without recomputing finished rows.",
                       epilog="Example: python -m toolkit compare --methods darts pcdarts me-darts --dataset digits "
                              "--budget 20000 --seeds 2 --out runs/compare")
    p.add_argument("--methods", nargs="+", metavar="NAME[:PRESET]", default=None,
                   help=f"methods to compare, each optionally with a preset (me-darts:cpu-small); one of "
                        f"{', '.join(names)}; ME-DARTS and TS-ENAS start from their cpu-small preset")
    p.add_argument("--dataset", default=None, help="the data set every method searches and every network trains on "
                                                   "(default: digits)")
    p.add_argument("--data-dir", default=None, help="where downloadable data sets are kept (default: data)")
    p.add_argument("--budget", type=int, default=None, help=BUDGET_HELP.replace("%(default)s", "20000"))
    p.add_argument("--seeds", type=int, default=None, help="seeds 0..N-1, one row per method each (default: 1)")
    g = p.add_argument_group("evaluation (the same final training for every found architecture)")
    g.add_argument("--eval-epochs", type=positive_int, default=None, help="training epochs (default: 10)")
    g.add_argument("--eval-channels", type=positive_int, default=None,
                   help="initial channels of a searched cell pair's network (default: 8)")
    g.add_argument("--eval-cells", type=positive_int, default=None,
                   help="cells a searched cell pair is stacked into; a TS-ENAS network keeps its own (default: 5)")
    p.add_argument("--out", default=None, help="comparison folder (default runs/compare-<time>); must not exist")
    p.add_argument("--resume", action="store_true", help="continue the comparison in --out; finished rows are kept")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--dry-run", action="store_true",
                   help="print each method's settings scaled to the budget and the images they plan; run nothing")
    add_executor_arguments(p)
    p.set_defaults(func=run)


def config_from_args(args):
    """The CompareConfig of the options (a resumed one: the folder's, with any option given checked against it)."""
    import dataclasses

    from ..compare import CompareConfig, saved_config

    given = {"methods": tuple(args.methods) if args.methods else None, "dataset": args.dataset,
             "data_dir": args.data_dir, "budget": args.budget, "seeds": args.seeds}
    evaluation = {"epochs": args.eval_epochs, "channels": args.eval_channels, "cells": args.eval_cells}
    if args.resume:
        config = saved_config(args.out)
    else:
        if args.methods is None:
            from ..compare import comparable

            raise ToolkitError(f"name the methods to compare, e.g. --methods darts me-darts; choose from "
                               f"{', '.join(comparable())}")
        config = CompareConfig(args.methods)
    config = dataclasses.replace(config, **{k: v for k, v in given.items() if v is not None})
    return dataclasses.replace(config, evaluation=dataclasses.replace(
        config.evaluation, **{k: v for k, v in evaluation.items() if v is not None}))


def dry_run(config) -> int:
    """Each method's scaled settings and planned images (seed 0), the evaluation; nothing is run or written."""
    from ..compare import describe, plan_cells

    print(f"dry run of compare: nothing is searched and no folder is written\nbudget {config.budget:,} training "
          f"images per search on {config.dataset}, seeds 0..{config.seeds - 1}")
    for cell in plan_cells(config, "."):
        if cell.seed == 0:
            name = cell.method + (f":{cell.preset}" if cell.preset else "")
            print(f"  {name:<18} {cell.images:>9,} images planned: {describe(cell.config)}")
    e = config.evaluation
    print(f"evaluation of every found architecture: {e.epochs} epoch(s), batch {e.batch_size}, {e.cells} cells, "
          f"C={e.channels} (a TS-ENAS network keeps its own cells), {config.valid_fraction:g} of the training "
          "images held out for validation, the test split read once per network")
    return 0


def run(args) -> int:
    from ..compare import compare, format_table
    from .common import executor_from_args

    if args.dry_run:
        return dry_run(config_from_args(args))
    out = output_folder(args, "compare")
    args.out = out
    config = config_from_args(args)
    bar = None
    if not args.quiet:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(config.methods) * config.seeds, desc=f"compare ({args.executor})", unit="run",
                   file=sys.stderr)

    seen: set[str] = set()

    def follow(event) -> None:  # the rows come in table order: print the one that is new
        if event.kind != "generation":
            return
        row = next(r for r in event["population"] if r["id"] not in seen)
        seen.add(row["id"])
        m = row["metrics"]
        line = (f"{m['method']} seed {m['seed']}: test acc {m['test_acc']:.4f} (val {m['val_acc']:.4f}), "
                f"{m['parameters']:,} parameters, {m['images']:,} images in {m['search_seconds']:.1f} s of search")
        if bar is not None:
            bar.update(1)
            bar.write(line, file=sys.stderr)
        else:
            print(line, file=sys.stderr)

    try:
        with executor_from_args(args) as executor:
            result = compare(config, out, executor=None if args.executor == "local" else executor,
                             resume=args.resume, listeners=(follow,), stop=getattr(args, "stop", None),
                             progress=not args.quiet)
    finally:
        if bar is not None:
            bar.close()
    print(format_table(result.rows))
    print(f"{len(result.rows)}/{result.cells} runs finished; table {out}/results.csv, figures {out}/*.html")
    if result.status != "finished":
        print(f"stopped; continue with: python -m toolkit compare --resume --out {out}")
    return 0
