"""``python -m toolkit search {darts,pcdarts,adarts,me-darts,ts-enas}``: a cell search, or a population method."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from ..config import SearchConfig, configure, field_default
from ..errors import ToolkitError
from ..methods import get_method, methods
from ..rundir import read_json
from ..space import SPACE_PRESETS, SearchSpace
from . import dryrun, tsenas
from .common import (
    Fields,
    add_executor_arguments,
    add_run_arguments,
    data_flags,
    inherit_data_settings,
    join_names,
    output_folder,
    positive_int,
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
    p.add_argument("--preset", default=None, help="named settings of the method (a paper's, with its section in "
                                                  "--dry-run), applied under the options you give "
                                                  f"({', '.join(presets)})")
    fields = Fields([*search.values(), *population.values()])
    add_run_arguments(p, fields)
    add_space_arguments(p, fields)
    add_executor_arguments(p)
    tsenas.add_arguments(p, fields)
    p.set_defaults(func=run, fields=fields)


def add_space_arguments(p, fields: Fields) -> None:
    """The search space and supernet options (defaults: the configs' and the registry's)."""
    space = field_default(SearchConfig, "space")
    name = next(n for n, ops in SPACE_PRESETS.items() if ops == space.ops)
    g = p.add_argument_group("search space and supernet")
    g.add_argument("--space", default=None, choices=tuple(SPACE_PRESETS),
                   help=f"op preset (default: {name}, {len(space.ops)} ops)")
    g.add_argument("--ops", default=None, help="comma-separated ops to enable instead of the preset")
    g.add_argument("--nodes", type=int, default=None, help=f"intermediate nodes per cell (default: {space.nodes})")
    fields.options.update(space="space", ops="space", nodes="space")  # the three options set the field space
    fields.add(g, "channels", type=int)
    g.add_argument("--cells", nargs="+", default=None, metavar="L",
                   help=f"{fields.help('cells')}; ts-enas takes instead cell pairs to add to its cell space, by "
                        "published name or genotype.json of a search")
    fields.add(g, "reductions", type=positive_int, nargs="+")
    fields.add(g, "order", type=int, choices=(1, 2))
    fields.add(g, "compile", choices=("off", "on", "cudagraphs"))
    fields.add(g, "arch_lr", type=float)
    fields.add(g, "arch_weight_decay", type=float)
    fields.add(g, "k", type=int)
    fields.add(g, "edge_norm", action=argparse.BooleanOptionalAction)
    fields.add(g, "warmup_epochs", type=int)
    fields.add(g, "train_portion", type=float)
    g = p.add_argument_group("me-darts")
    edge = get_method("me-darts").defaults["method"]
    g.add_argument("--edge", default=None, choices=tuple(methods("search")),
                   help=f"the search each individual runs (default: {edge}); the preset sets cells, channels, "
                        "epochs and batch size per stage")


def search_flags(args, entry) -> dict:
    """The SearchConfig fields the options give for method ``entry`` (None: not given)."""
    values = args.fields.given(args, entry)
    if args.space is not None or args.ops is not None or args.nodes is not None:
        nodes = field_default(SearchConfig, "space").nodes if args.nodes is None else args.nodes
        ops = tuple(o.strip() for o in args.ops.split(",") if o.strip()) if args.ops else \
            SPACE_PRESETS[args.space or "darts"]
        values["space"] = SearchSpace(ops, nodes)
    if args.cells is not None:
        values["cells"] = _cell_count(args.cells)
    return values


def resolve(args, method: str | None = None, preset: str | None = None) -> tuple[SearchConfig, dict]:
    """The SearchConfig of the parsed options and each field's source: the config's defaults, the method's,
    the preset's, then the options given (:func:`toolkit.config.configure`)."""
    method = method or args.method
    entry = get_method(method, "search")
    if args.k is not None and entry.partial == "none":
        partial = [n for n, m in methods("search").items() if m.partial != "none"]
        raise ToolkitError(f"--k applies to {join_names(partial)}; plain {method} sends all channels through "
                           "each edge")
    return configure(SearchConfig, entry, preset, search_flags(args, entry), method=method)


def config_from_args(args) -> SearchConfig:
    """The SearchConfig of the parsed options; the preset's values apply to options not given."""
    return resolve(args, preset=getattr(args, "preset", None))[0]


def _cell_count(values) -> int:
    if len(values) != 1 or not values[0].isdigit():
        raise ToolkitError(f"--cells takes one number of cells for a differentiable search, got {' '.join(values)}")
    return int(values[0])


def saved_config(folder: str) -> SearchConfig:
    file = Path(folder) / "config.json"
    data = read_json(file, fix="restore it, or start a new run in another --out")
    if data is None:
        raise ToolkitError(f"cannot resume: '{file}' is missing; start a new run in another --out")
    if data.pop("kind", None) != "search":
        raise ToolkitError(f"'{folder}' is not a search run")
    return SearchConfig.from_dict(data)


def run(args) -> int:
    """``search METHOD``: the registry entry's command handler runs it (:attr:`Method.command`)."""
    return get_method(args.method).command_handler(args)


def run_single(args) -> int:
    """``search darts|pcdarts|adarts``: one cell search (the search methods' command handler)."""
    if args.edge is not None:
        raise ToolkitError(f"--edge applies to me-darts; {args.method} is a single search")
    if args.executor != "local" or args.workers is not None or args.scheduler is not None or \
            args.connect_timeout is not None:
        raise ToolkitError(f"--executor, --workers, --scheduler and --connect-timeout apply to the population "
                           f"methods (me-darts, ts-enas); {args.method} is a single search")
    if args.dry_run:
        inherit_data_settings(args, None)
        config, sources = resolve(args, preset=args.preset)
        entry = get_method(args.method, "search")
        return dryrun.report(f"search {args.method}", args.preset, entry, config, sources, config,
                             dryrun.search_plan)
    out = output_folder(args, "search")
    if args.resume:
        config = saved_config(out)
    else:
        inherit_data_settings(args, None)
        config = config_from_args(args)
    result = get_method(config.method).run(config, run_dir=out, resume=args.resume, stop=getattr(args, "stop", None),
                        progress=not args.quiet)
    if result.history:
        print(f"{result.status}: {len(result.history)}/{config.epochs} epochs, "
              f"val acc {result.history[-1]['val_acc']:.3f}, run folder {result.run_dir}")
        print(result.genotype)
    else:  # no validation yet: no accuracy to print, and the untrained α's genotype is no result
        print(f"{result.status}: no epoch finished (0/{config.epochs}), so no validation accuracy or genotype yet; "
              f"run folder {result.run_dir}")
    if result.status == "stopped":
        print(stopped_hint(f"search {config.method}", result.run_dir))
    else:
        print(f"train it: python -m toolkit train --genotype {shlex.quote(str(result.run_dir / 'genotype.json'))} "
              f"{data_flags(config)}")
    return 0
