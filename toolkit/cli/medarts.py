"""``python -m toolkit search me-darts``: ME-DARTS' three stages of searches (population branch of search)."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from ..errors import ToolkitError
from ..methods import get_method
from ..rundir import read_json
from .common import data_flags, executor_from_args, inherit_data_settings, output_folder, stopped_hint

STAGE_FLAGS = ("epochs", "batch_size", "cells", "channels")  # set per stage by the preset


def config_from_args(args, parser_defaults: dict, search_config):
    """The MeDartsConfig of the parsed options: ``search_config(args, parser_defaults)`` (the search
    command's) builds the edge mode's SearchConfig, the preset gives the stages."""
    from ..medarts import MeDartsConfig

    given = [f"--{k.replace('_', '-')}" for k in STAGE_FLAGS if getattr(args, k) != parser_defaults.get(k)]
    if given:
        raise ToolkitError(f"{', '.join(given)} is set per stage by the ME-DARTS preset; drop it and choose "
                           f"--preset cpu-small or --preset paper")
    method = get_method("me-darts", "population")
    preset = args.preset or method.defaults["preset"]
    owner, _, preset = preset.rpartition(":")
    if owner and owner != "me-darts":
        raise ToolkitError(f"preset '{args.preset}' belongs to {owner}, not me-darts; use cpu-small or paper")
    if preset not in method.presets:
        raise ToolkitError(f"me-darts has no preset '{preset}'; presets: {', '.join(method.presets)}")
    edge = argparse.Namespace(**{**vars(args), "method": args.edge or method.defaults["method"], "preset": None})
    return MeDartsConfig(search_config(edge, parser_defaults), **method.presets[preset])


def saved_config(folder: str):
    from ..medarts import MeDartsConfig

    file = Path(folder) / "config.json"
    data = read_json(file, fix="restore it, or start a new run in another --out")
    if data is None:
        raise ToolkitError(f"cannot resume: '{file}' is missing; start a new run in another --out")
    if not isinstance(data, dict) or data.pop("kind", None) != "me-darts":
        raise ToolkitError(f"'{folder}' is not an ME-DARTS run")
    return MeDartsConfig.from_dict(data)


def run(args, search_config) -> int:
    """Run ``search me-darts``; ``search_config`` builds a SearchConfig from the options (see above)."""
    from ..medarts import run_me_darts

    out = output_folder(args, "me-darts")
    if args.resume:
        config = saved_config(out)
    else:
        inherit_data_settings(args, None)
        config = config_from_args(args, getattr(args, "parser_defaults", {}), search_config)
    with executor_from_args(args) as executor:
        result = run_me_darts(config, executor=None if args.executor == "local" else executor, run_dir=out,
                              resume=args.resume, stop=getattr(args, "stop", None), progress=not args.quiet)
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
