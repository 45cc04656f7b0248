"""``python -m toolkit search me-darts``: ME-DARTS' three stages of searches (population branch of search)."""

from __future__ import annotations

import shlex
from pathlib import Path

from ..errors import ToolkitError
from ..methods import get_method
from ..rundir import read_json
from .common import data_flags, executor_from_args, inherit_data_settings, output_folder, stopped_hint


def resolve(args, resolve_search):
    """The MeDartsConfig of the parsed options and the sources of its search's fields:
    ``resolve_search(args, method)`` (the search command's) resolves the edge mode's SearchConfig, the
    preset names the stage plan (the registry's ME-DARTS presets, :mod:`toolkit.methods`)."""
    from ..medarts.config import STAGE_FIELDS, MeDartsConfig

    method = get_method("me-darts", "population")
    given = [f"--{k.replace('_', '-')}" for k in STAGE_FIELDS if getattr(args, k) is not None]
    if given:
        raise ToolkitError(f"{', '.join(given)} is set per stage by the ME-DARTS preset; drop it and choose "
                           f"--preset {' or --preset '.join(method.presets)}")
    args.fields.given(args, method)  # an option of another method only (e.g. ts-enas's) is an error
    preset = args.preset or method.defaults["preset"]
    method.preset(preset)  # one error line listing the presets for an unknown one
    search, sources = resolve_search(args, args.edge or method.defaults["method"])
    return MeDartsConfig(search, preset=preset.rpartition(":")[2]), sources


def config_from_args(args, resolve_search):
    return resolve(args, resolve_search)[0]


def dry_run(args, resolve_search) -> int:
    from . import dryrun

    config, sources = resolve(args, resolve_search)
    entry = get_method("me-darts", "population")
    preset = args.preset or entry.defaults["preset"]
    extra = [f"stage plan: {preset} (the registry's me-darts presets; cells, channels, epochs, batch size, "
             f"D_sample and population per stage below replace the search's), evaluation network "
             f"{config.eval_cells} cells, C={config.eval_channels}"]
    return dryrun.report("search me-darts", preset, entry, config.search, sources, config.search,
                         lambda _, data: dryrun.medarts_plan(config, data), extra)


def saved_config(folder: str):
    from ..medarts import MeDartsConfig

    file = Path(folder) / "config.json"
    data = read_json(file, fix="restore it, or start a new run in another --out")
    if data is None:
        raise ToolkitError(f"cannot resume: '{file}' is missing; start a new run in another --out")
    if not isinstance(data, dict) or data.pop("kind", None) != "me-darts":
        raise ToolkitError(f"'{folder}' is not an ME-DARTS run")
    return MeDartsConfig.from_dict(data)


def run(args) -> int:
    """Run ``search me-darts`` (the registry's command handler of ME-DARTS)."""
    from .search import resolve as resolve_search

    if args.dry_run:
        inherit_data_settings(args, None)
        return dry_run(args, resolve_search)
    out = output_folder(args, "me-darts")
    if args.resume:
        config = saved_config(out)
    else:
        inherit_data_settings(args, None)
        config = config_from_args(args, resolve_search)
    with executor_from_args(args) as executor:
        result = get_method("me-darts").run(config, executor=None if args.executor == "local" else executor,
                                            run_dir=out, resume=args.resume, stop=getattr(args, "stop", None),
                                            progress=not args.quiet)
    for record in result.stages:
        best = max(record["members"], key=lambda m: m["metrics"]["val_acc"])
        print(f"stage {record['index']} ({record['stage']}): {len(record['members'])} individual(s), Pareto front "
              f"{', '.join(record['pareto_front'])}, best val acc {best['metrics']['val_acc']:.3f} ({best['id']})")
    if result.status == "stopped":
        # members searched here checkpoint in members/<name>/; an executor's members have no run folder
        redone = "" if args.executor == "local" else "the stage in progress is searched again from its start"
        print(stopped_hint("search me-darts", result.run_dir, redone))
        return 0
    print(f"finished: final individual {result.final['id']}, run folder {result.run_dir}")
    print(result.genotype)
    print(f"Pareto fronts and members: {result.run_dir / 'stage_1.json'} .. stage_{len(result.stages)}.json; "
          f"lineage: {result.run_dir / 'lineage.json'}")
    print(f"train it: python -m toolkit train --genotype {shlex.quote(str(result.run_dir / 'genotype.json'))} "
          f"{data_flags(config.search)}")
    return 0
