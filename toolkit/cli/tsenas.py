"""``python -m toolkit search ts-enas``: the two-stage evolutionary search (options shared with ``search``)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ToolkitError
from ..methods import get_method
from ..rundir import read_json
from .common import executor_from_args, inherit_data_settings, output_folder, positive_int, stopped_hint


def add_arguments(p, fields) -> None:
    """The options only ts-enas has (help and defaults: TsEnasConfig's, the registry's for ts-enas)."""
    g = p.add_argument_group("ts-enas")
    for name, kind in (("population", positive_int), ("rough_generations", int), ("survivors", positive_int),
                       ("fine_generations", int), ("supernet_epochs", positive_int), ("n_min", positive_int),
                       ("n_max", positive_int), ("crossover_rate", float), ("mutation_rate", float),
                       ("level_threshold", float), ("update_every", positive_int)):
        fields.add(g, name, type=kind)
    small = get_method("ts-enas", "population").preset("cpu-small")
    for name in ("max_train_images", "max_image_size"):
        fields.add(g, name, f"cpu-small: {small[name]}", type=positive_int)


def resolve(args):
    """The TsEnasConfig of the parsed options and each field's source (:func:`toolkit.config.configure`);
    an option ts-enas has no setting for is an error naming the methods it applies to."""
    from ..config import configure
    from ..tsenas.config import TsEnasConfig

    entry = get_method("ts-enas", "population")
    return configure(TsEnasConfig, entry, args.preset, args.fields.given(args, entry))


def cell_space(sources):
    """Table II with each named cell pair (published name or genotype file) added."""
    from ..tsenas import table_ii

    space = table_ii()
    for source in sources:
        space = space.with_cells(source)
    return space


def run(args) -> int:
    """Run ``search ts-enas`` (the registry's command handler of TS-ENAS)."""
    if args.edge is not None:
        raise ToolkitError("--edge applies to me-darts, not ts-enas")
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
        result = get_method("ts-enas").run(config, space=space, executor=executor, run_dir=out, resume=args.resume,
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
