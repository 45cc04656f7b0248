"""``python -m toolkit search {darts,pcdarts,adarts,me-darts,ts-enas}``: a cell search, or a population method."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from ..config import SearchConfig, configure
from ..errors import ToolkitError
from ..methods import get_method, methods
from ..rundir import read_json
from ..space import PRESETS, SearchSpace
from . import dryrun, tsenas
from .common import (
    add_executor_arguments,
    add_field,
    add_run_arguments,
    data_flags,
    given_fields,
    inherit_data_settings,
    output_folder,
    positive_int,
    shown_default,
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
    add_run_arguments(p, SearchConfig)
    g = p.add_argument_group("search space and supernet (defaults: SearchConfig's, then the method's)")
    g.add_argument("--space", default=None, choices=tuple(PRESETS), help="op preset (default darts: 8 ops)")
    g.add_argument("--ops", default=None, help="comma-separated ops to enable instead of the preset")
    g.add_argument("--nodes", type=int, default=None, help="intermediate nodes per cell (default 4)")
    add_field(g, SearchConfig, "channels", "initial channels C (DARTS: 16)", type=int)
    g.add_argument("--cells", nargs="+", default=None, metavar="L",
                   help=f"cells L (default: {shown_default(SearchConfig, 'cells')}; DARTS: 8); ts-enas: cell pairs to "
                        "add to its cell space, by published name or genotype.json of a search")
    add_field(g, SearchConfig, "reductions", "1-based positions of reduction cells (None: L//3+1 and 2L//3+1)",
              type=positive_int, nargs="+")
    add_field(g, SearchConfig, "order", "1: first-order, 2: second-order DARTS", type=int, choices=(1, 2))
    add_field(g, SearchConfig, "compile", "torch.compile the search step (cudagraphs: also CUDA graphs, CUDA only)",
              choices=("off", "on", "cudagraphs"))
    add_field(g, SearchConfig, "arch_lr", "Adam learning rate of α", type=float)
    add_field(g, SearchConfig, "arch_weight_decay", "weight decay of α", type=float)
    add_field(g, SearchConfig, "k", "channel fraction 1/K for pcdarts/adarts (None: the method's, 4)", type=int)
    add_field(g, SearchConfig, "edge_norm", "edge normalisation β (None: on for pcdarts, off for darts and adarts)",
              action=argparse.BooleanOptionalAction)
    add_field(g, SearchConfig, "warmup_epochs", "epochs before α starts to move", type=int)
    add_field(g, SearchConfig, "train_portion", "share of the training images that train the weights (the rest α)",
              type=float)
    g = p.add_argument_group("me-darts")
    g.add_argument("--edge", default=None, choices=tuple(search),
                   help="the search each individual runs (default darts); the preset sets cells, channels, "
                        "epochs and batch size per stage")
    add_executor_arguments(p)
    tsenas.add_arguments(p)
    p.set_defaults(func=run)


def search_flags(args) -> dict:
    """The SearchConfig fields the options give (None: not given)."""
    values = given_fields(args, SearchConfig)
    if args.space is not None or args.ops is not None or args.nodes is not None:
        ops = tuple(o.strip() for o in args.ops.split(",") if o.strip()) if args.ops else PRESETS[args.space or "darts"]
        values["space"] = SearchSpace(ops, 4 if args.nodes is None else args.nodes)
    if args.cells is not None:
        values["cells"] = _cell_count(args.cells)
    return values


def resolve(args, method: str | None = None, preset: str | None = None) -> tuple[SearchConfig, dict]:
    """The SearchConfig of the parsed options and each field's source: the config's defaults, the method's,
    the preset's, then the options given (:func:`toolkit.config.configure`)."""
    method = method or args.method
    if args.k is not None and method == "darts":
        raise ToolkitError("--k applies to pcdarts and adarts; plain darts sends all channels through each edge")
    return configure(SearchConfig, get_method(method, "search"), preset, search_flags(args), method=method)


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
    if args.method == "ts-enas":
        if args.edge is not None:
            raise ToolkitError("--edge applies to me-darts, not ts-enas")
        return tsenas.run(args)
    given = [key for key in tsenas.TUNABLE if getattr(args, key) is not None]
    if given:
        raise ToolkitError(f"--{given[0].replace('_', '-')} applies to ts-enas, not {args.method}")
    if args.method in methods("population"):
        from .medarts import run as run_population

        return run_population(args, lambda a, method: resolve(a, method))
    if args.edge is not None:
        raise ToolkitError(f"--edge applies to me-darts; {args.method} is a single search")
    if args.executor != "local" or args.workers is not None or args.scheduler is not None or \
            args.connect_timeout is not None:
        raise ToolkitError(f"--executor, --workers, --scheduler and --connect-timeout apply to the population "
                           f"methods (me-darts, ts-enas); {args.method} is a single search")
    from ..search import run_search

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
    result = run_search(config, run_dir=out, resume=args.resume, stop=getattr(args, "stop", None),
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
