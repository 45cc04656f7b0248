"""``python -m toolkit search ts-enas``: the two-stage evolutionary search (options shared with ``search``)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ToolkitError
from ..methods import get_method
from ..rundir import read_json
from .common import (
    add_field,
    executor_from_args,
    given_fields,
    inherit_data_settings,
    output_folder,
    positive_int,
    stopped_hint,
)

# search options TS-ENAS has no use for: given, they are an error
UNUSED = ("space", "ops", "nodes", "reductions", "order", "arch_lr", "arch_weight_decay", "k", "edge_norm",
          "warmup_epochs", "train_portion")


TUNABLE = ("population", "rough_generations", "survivors", "fine_generations", "supernet_epochs", "n_min", "n_max",
           "crossover_rate", "mutation_rate", "level_threshold", "update_every", "max_train_images", "max_image_size")


def add_arguments(p) -> None:
    """The options only ts-enas has (default: the preset's, else the paper's settings)."""
    from ..tsenas.config import TsEnasConfig

    g = p.add_argument_group("ts-enas (defaults: TsEnasConfig's, TS-ENAS section V.C where it gives one)")
    add_field(g, TsEnasConfig, "population", "P, rough-stage population", type=positive_int)
    add_field(g, TsEnasConfig, "rough_generations", "T0, rough-stage generations", type=int)
    add_field(g, TsEnasConfig, "survivors", "S, individuals of the fine stage", type=positive_int)
    add_field(g, TsEnasConfig, "fine_generations", "T1, fine-stage generations", type=int)
    add_field(g, TsEnasConfig, "supernet_epochs", "SuperNet training epochs", type=positive_int)
    add_field(g, TsEnasConfig, "n_min", "fewest cells N of a network", type=positive_int)
    add_field(g, TsEnasConfig, "n_max", "most cells N of a network", type=positive_int)
    add_field(g, TsEnasConfig, "crossover_rate", "crossover probability", type=float)
    add_field(g, TsEnasConfig, "mutation_rate", "mutation probability", type=float)
    add_field(g, TsEnasConfig, "level_threshold", "accuracies closer than this form one level", type=float)
    add_field(g, TsEnasConfig, "update_every", "generations between SuperNet weight write-backs", type=positive_int)
    add_field(g, TsEnasConfig, "max_train_images", "keep at most this many training images, class-balanced "
                                                   "(cpu-small 1500)", type=positive_int)
    add_field(g, TsEnasConfig, "max_image_size", "shrink larger images to this side (cpu-small 8)",
              type=positive_int)


def resolve(args):
    """The TsEnasConfig of the parsed options and each field's source (:func:`toolkit.config.configure`)."""
    from ..config import configure
    from ..tsenas.config import TsEnasConfig

    for key in UNUSED:
        if getattr(args, key, None) is not None:
            raise ToolkitError(f"--{key.replace('_', '-')} applies to the differentiable searches, not ts-enas")
    return configure(TsEnasConfig, get_method("ts-enas", "population"), args.preset, given_fields(args, TsEnasConfig))


def cell_space(sources):
    """Table II with each named cell pair (published name or genotype file) added."""
    from ..tsenas import table_ii

    space = table_ii()
    for source in sources:
        space = space.with_cells(source)
    return space


def run(args) -> int:
    from ..tsenas.run import run_ts_enas

    sources = [] if args.cells is None else list(args.cells)
    if args.dry_run:
        from . import dryrun

        inherit_data_settings(args, None)
        cell_space(sources)  # the named cells must exist
        config, fields = resolve(args)
        return dryrun.report("search ts-enas", args.preset, get_method("ts-enas", "population"), config, fields,
                             config, dryrun.tsenas_plan)
    out = output_folder(args, "ts-enas")
    if args.resume:
        if sources:
            raise ToolkitError("--cells cannot change the cell space of a run being resumed; drop --cells")
        config = space = None
        saved = read_json(Path(out) / "config.json", fix="restore it, or start a new run in another --out")
        if not isinstance(saved, dict) or saved.get("kind") != "ts-enas":
            raise ToolkitError(f"cannot resume: '{out}' holds no ts-enas run")
    else:
        inherit_data_settings(args, None)
        config, space = resolve(args)[0], cell_space(sources)
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
