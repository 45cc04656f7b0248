"""``python -m toolkit train --genotype ...``: train an evaluation network from a genotype."""

from __future__ import annotations

import argparse
import shlex
from pathlib import Path

from ..config import TrainConfig, configure
from ..errors import ToolkitError
from ..genotype import load_architecture
from ..methods import TRAINING
from ..rundir import read_json
from . import dryrun
from .common import (
    Fields,
    add_run_arguments,
    data_flags,
    inherit_data_settings,
    output_folder,
    positive_int,
    run_folder_of,
    stopped_hint,
)


def add_network_arguments(p, fields: Fields) -> None:
    """Network size and regularisation options of an evaluation network (train, evaluate, prune)."""
    g = p.add_argument_group("network")
    fields.add(g, "channels", type=positive_int)
    fields.add(g, "cells", type=positive_int)
    fields.add(g, "reductions", type=positive_int, nargs="+")
    for name in ("auxiliary_weight", "drop_path", "dropout"):
        fields.add(g, name, type=float)
    g = p.add_argument_group("augmentation of the training images (DARTS protocol)")
    fields.add(g, "crop_padding", type=int)
    fields.add(g, "flip", action=argparse.BooleanOptionalAction)
    fields.add(g, "cutout", type=int)


def add_preset_argument(p) -> None:
    presets = ", ".join(f"{n} ({s})" for n, s in TRAINING.preset_sources.items())
    p.add_argument("--preset", default=None,
                   help=f"a paper's evaluation protocol, under the options you give: {presets}")


def register(sub) -> None:
    p = sub.add_parser("train", help="train a network built from a genotype",
                       description="Train an evaluation network from a searched genotype.json, a network "
                                   "description or a published cell name (e.g. DARTS_V2) and report test accuracy.")
    p.add_argument("--genotype", default=None,
                   help="genotype.json / network.json path or a published cell name (not needed with --resume)")
    add_preset_argument(p)
    fields = Fields([TRAINING])
    add_run_arguments(p, fields)
    add_network_arguments(p, fields)
    p.set_defaults(func=run, fields=fields)


def resolve(args) -> tuple[TrainConfig, dict]:
    """The TrainConfig of the parsed options and each field's source (:func:`toolkit.config.configure`)."""
    return configure(TrainConfig, TRAINING, args.preset, args.fields.given(args, TRAINING))


def saved(folder: str):
    fix = "restore it, or start a new run in another --out"
    data, network = (read_json(Path(folder) / name, fix=fix) for name in ("config.json", "network.json"))
    if data is None or network is None:
        raise ToolkitError(f"cannot resume: '{folder}' lacks config.json or network.json; start a new run")
    if data.pop("kind", None) != "train":
        raise ToolkitError(f"'{folder}' is not a training run")
    from ..genotype import Network

    return TrainConfig.from_dict(data), Network.from_dict(network)


def run(args) -> int:
    from ..train import train_network

    if args.dry_run:
        if args.genotype is not None:
            inherit_data_settings(args, run_folder_of(args.genotype))
            load_architecture(args.genotype)  # a wrong name or file is an error here too
        config, sources = resolve(args)
        return dryrun.report("train", args.preset, TRAINING, config, sources, config, dryrun.train_plan)
    out = output_folder(args, "train")
    if args.resume:
        config, architecture = saved(out)
    else:
        if args.genotype is None:
            raise ToolkitError("--genotype is required: a genotype.json from a search or a name such as DARTS_V2")
        inherit_data_settings(args, run_folder_of(args.genotype),
                              " (to train the cell on other data, copy its genotype.json out of the run folder)")
        architecture = load_architecture(args.genotype)
        config = resolve(args)[0]
    result = train_network(architecture, config, run_dir=out, resume=args.resume,
                           stop=getattr(args, "stop", None), progress=not args.quiet)
    print(f"{result.status}: {len(result.history)}/{config.epochs} epochs, test acc {result.test_acc:.4f} "
          f"({config.dataset} held-out split), {result.parameters:,} parameters, run folder {result.run_dir}")
    if result.status == "stopped":
        print(stopped_hint("train", result.run_dir))
    else:
        print(f"prune it: python -m toolkit prune gal --baseline {shlex.quote(str(result.run_dir))} "
              f"{data_flags(config)}")
    return 0
