"""``python -m toolkit search ts-enas``: the two-stage evolutionary search (options shared with ``search``)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ToolkitError
from ..methods import get_method
from ..rundir import read_json
from .common import (
    executor_from_args,
    inherit_data_settings,
    output_folder,
    positive_int,
    run_config_values,
    stopped_hint,
)

# search options TS-ENAS has no use for: given with another value than the default, they are an error
UNUSED = ("space", "ops", "nodes", "reductions", "order", "arch_lr", "k", "edge_norm", "warmup_epochs")


TUNABLE = ("population", "rough_generations", "survivors", "fine_generations", "supernet_epochs", "n_min", "n_max",
           "max_train_images", "max_image_size")


def add_arguments(p) -> None:
    """The options only ts-enas has (default: the preset's, else the paper's settings)."""
    g = p.add_argument_group("ts-enas (default: the preset's value)")
    g.add_argument("--population", type=positive_int, default=None, help="P, rough-stage population (paper 100)")
    g.add_argument("--rough-generations", type=int, default=None, help="T0, rough-stage generations (paper 100)")
    g.add_argument("--survivors", type=positive_int, default=None, help="S, individuals of the fine stage (paper 30)")
    g.add_argument("--fine-generations", type=int, default=None, help="T1, fine-stage generations (paper 50)")
    g.add_argument("--supernet-epochs", type=positive_int, default=None, help="SuperNet training (paper 100)")
    g.add_argument("--n-min", type=positive_int, default=None, help="fewest cells N of a network")
    g.add_argument("--n-max", type=positive_int, default=None, help="most cells N of a network")
    g.add_argument("--max-train-images", type=positive_int, default=None,
                   help="keep at most this many training images, class-balanced (cpu-small 1500; paper: all)")
    g.add_argument("--max-image-size", type=positive_int, default=None,
                   help="shrink larger images to this side (cpu-small 8; paper: as loaded)")


def config_from_args(args, parser_defaults: dict):
    from ..tsenas.config import TsEnasConfig

    for key in UNUSED:
        if getattr(args, key, None) != parser_defaults.get(key):
            raise ToolkitError(f"--{key.replace('_', '-')} applies to the differentiable searches, not ts-enas")
    values = dict(**run_config_values(args), channels=args.channels)
    preset = args.preset.rpartition(":")[2] if args.preset else None
    if args.preset and args.preset.rpartition(":")[0] not in ("", "ts-enas"):
        raise ToolkitError(f"preset '{args.preset}' belongs to {args.preset.rpartition(':')[0]}, not ts-enas")
    for key, value in get_method("ts-enas", "population").settings(preset).items():
        if key not in values or values[key] == parser_defaults.get(key, values[key]):
            values[key] = value
    values.update({key: getattr(args, key) for key in TUNABLE if getattr(args, key) is not None})
    return TsEnasConfig(**values)


def cell_space(sources):
    """Table II with each named cell pair (published name or genotype file) added."""
    from ..tsenas import table_ii

    space = table_ii()
    for source in sources:
        space = space.with_cells(source)
    return space


def run(args) -> int:
    from ..tsenas.run import run_ts_enas

    defaults = getattr(args, "parser_defaults", {})
    out = output_folder(args, "ts-enas")
    sources = [] if args.cells == defaults.get("cells", ["5"]) else list(args.cells)
    if args.resume:
        if sources:
            raise ToolkitError("--cells cannot change the cell space of a run being resumed; drop --cells")
        config = space = None
        saved = read_json(Path(out) / "config.json", fix="restore it, or start a new run in another --out")
        if not isinstance(saved, dict) or saved.get("kind") != "ts-enas":
            raise ToolkitError(f"cannot resume: '{out}' holds no ts-enas run")
    else:
        inherit_data_settings(args, None)
        config, space = config_from_args(args, defaults), cell_space(sources)
    with executor_from_args(args) as executor:
        result = run_ts_enas(config, space=space, executor=executor, run_dir=out, resume=args.resume,
                             stop=getattr(args, "stop", None), progress=not args.quiet)
    if result.status == "stopped":
        print(f"stopped after {len(result.generations)} generation(s), run folder {result.run_dir}")
        supernet = read_json(Path(out) / "supernet" / "run.json", {})  # stopped there: its checkpoint is exact
        in_supernet = isinstance(supernet, dict) and supernet.get("status") == "stopped"
        print(stopped_hint("search ts-enas", out, "" if in_supernet else
                           "the generation in progress is evaluated again from its start, with the same result"))
        return 0
    best = result.best
    print(f"finished: best {best['id']}: validation accuracy {best['val_acc']:.3f} (selected on it), "
          f"test accuracy {best['test_acc']:.3f} (measured once, for this network), {best['parameters']} "
          f"parameters, N={best['N']} cells; run folder {result.run_dir}")
    print(result.network)
    return 0
