"""``python -m toolkit search {darts,pcdarts,adarts,me-darts,ts-enas}``: a cell search, or a population method."""

from __future__ import annotations

import argparse
import json
import shlex
from pathlib import Path

from ..config import SearchConfig
from ..errors import ToolkitError
from ..methods import get_method, methods
from ..space import PRESETS, SearchSpace
from . import tsenas
from .common import (
    add_executor_arguments,
    add_run_arguments,
    data_flags,
    inherit_data_settings,
    output_folder,
    parse_reductions,
    positive_int,
    run_config_values,
    stopped_hint,
)


def register(sub) -> None:
    search, population = methods("search"), methods("population")
    p = sub.add_parser("search", help="search a normal and a reduction cell",
                       description="Search cells with " + "; ".join(m.label for m in search.values())
                                   + ". Writes config.json, metrics.json, alphas.json, genotype.json and "
                                   "checkpoint.pt to the run folder. Population methods: " + "; ".join(
                                       m.label for m in population.values()) + "; they write config.json, a "
                                   "record per stage or generation, lineage.json and the final architecture.")
    p.add_argument("method", choices=(*search, *population), help=" | ".join((*search, *population)))
    presets = sorted({f"{n}:{p}" for n, m in (search | population).items() for p in m.presets})
    p.add_argument("--preset", default=None, help="named settings of the method, applied before the options you "
                                                  f"give ({', '.join(presets)})")
    add_run_arguments(p, epochs=10, batch_size=64)
    g = p.add_argument_group("search space and supernet")
    g.add_argument("--space", default="darts", choices=tuple(PRESETS), help="op preset (default darts: 8 ops)")
    g.add_argument("--ops", default=None, help="comma-separated ops to enable instead of the preset")
    g.add_argument("--nodes", type=int, default=4, help="intermediate nodes per cell (default 4)")
    g.add_argument("--channels", type=int, default=8, help="initial channels C (default 8; paper 16)")
    g.add_argument("--cells", nargs="+", default=["5"], metavar="L",
                   help="cells L (default 5; paper 8); ts-enas: cell pairs to add to its cell space, by published "
                        "name or genotype.json of a search")
    g.add_argument("--reductions", type=positive_int, nargs="+", default=None,
                   help="1-based positions of reduction cells (default L//3+1 and 2L//3+1)")
    g.add_argument("--order", type=int, default=1, choices=(1, 2), help="1: first-order, 2: second-order DARTS")
    g.add_argument("--compile", default="off", choices=("off", "on", "cudagraphs"),
                   help="torch.compile the search step (cudagraphs: also CUDA graphs, CUDA only); default off")
    g.add_argument("--arch-lr", type=float, default=3e-4, help="Adam learning rate of α (default 3e-4)")
    g.add_argument("--k", type=int, default=None, help="channel fraction 1/K for pcdarts/adarts (default 4)")
    g.add_argument("--edge-norm", action=argparse.BooleanOptionalAction, default=None,
                   help="edge normalisation β (default: on for pcdarts, off for darts and adarts)")
    g.add_argument("--warmup-epochs", type=int, default=0, help="epochs before α starts to move")
    g = p.add_argument_group("me-darts")
    g.add_argument("--edge", default=None, choices=tuple(search),
                   help="the search each individual runs (default darts); the preset sets cells, channels, "
                        "epochs and batch size per stage")
    add_executor_arguments(p)
    tsenas.add_arguments(p)
    p.set_defaults(func=run, parser_defaults={a.dest: a.default for a in p._actions})


def config_from_args(args, parser_defaults: dict | None = None) -> SearchConfig:
    """The SearchConfig of the parsed options; a preset's values replace options left at their defaults."""
    if args.k is not None and args.method == "darts":
        raise ToolkitError("--k applies to pcdarts and adarts; plain darts sends all channels through each edge")
    ops = tuple(o.strip() for o in args.ops.split(",") if o.strip()) if args.ops else PRESETS[args.space]
    values = dict(**run_config_values(args), space=SearchSpace(ops, args.nodes), channels=args.channels,
                  cells=_cell_count(args.cells), reductions=parse_reductions(args.reductions), order=args.order,
                  arch_lr=args.arch_lr, k=args.k, edge_norm=args.edge_norm, warmup_epochs=args.warmup_epochs,
                  compile=args.compile)
    preset = getattr(args, "preset", None)
    if preset:
        method_name, _, name = preset.rpartition(":")
        if method_name and method_name != args.method:
            raise ToolkitError(f"preset '{preset}' belongs to {method_name}, not {args.method}")
        defaults = {**(parser_defaults or {}), "cells": 5}
        for key, value in get_method(args.method, "search").settings(name).items():
            if key in values and values[key] == defaults.get(key, values[key]):
                values[key] = value
    return SearchConfig(method=args.method, **values)


def _cell_count(values) -> int:
    if len(values) != 1 or not values[0].isdigit():
        raise ToolkitError(f"--cells takes one number of cells for a differentiable search, got {' '.join(values)}")
    return int(values[0])


def saved_config(folder: str) -> SearchConfig:
    file = Path(folder) / "config.json"
    try:
        data = json.loads(file.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise ToolkitError(f"cannot resume: '{file}' is missing or unreadable ({e})") from None
    if data.pop("kind", None) != "search":
        raise ToolkitError(f"'{folder}' is not a search run")
    return SearchConfig.from_dict(data)


def run(args) -> int:
    if args.method == "ts-enas":
        if args.edge is not None:
            raise ToolkitError("--edge applies to me-darts, not ts-enas")
        return tsenas.run(args)
    given = [key for key in tsenas.TUNABLE if getattr(args, key) is not None]
    if given:
        raise ToolkitError(f"--{given[0].replace('_', '-')} applies to ts-enas, not {args.method}")
    if args.method in methods("population"):
        from .medarts import run as run_population

        return run_population(args, config_from_args)
    if args.edge is not None:
        raise ToolkitError(f"--edge applies to me-darts; {args.method} is a single search")
    if args.executor != "local" or args.workers is not None or args.scheduler is not None:
        raise ToolkitError(f"--executor, --workers and --scheduler apply to the population methods (me-darts, "
                           f"ts-enas); {args.method} is a single search")
    from ..search import run_search

    out = output_folder(args, "search")
    if args.resume:
        config = saved_config(out)
    else:
        inherit_data_settings(args, None)
        config = config_from_args(args, getattr(args, "parser_defaults", None))
    result = run_search(config, run_dir=out, resume=args.resume, stop=getattr(args, "stop", None),
                        progress=not args.quiet)
    last = result.history[-1] if result.history else {}
    print(f"{result.status}: {len(result.history)}/{config.epochs} epochs, "
          f"val acc {last.get('val_acc', float('nan')):.3f}, run folder {result.run_dir}")
    print(result.genotype)
    if result.status == "stopped":
        print(stopped_hint(f"search {config.method}", result.run_dir))
    else:
        print(f"train it: python -m toolkit train --genotype {shlex.quote(str(result.run_dir / 'genotype.json'))} "
              f"{data_flags(config)}")
    return 0
