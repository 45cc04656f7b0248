"""``python -m toolkit train --genotype ...``: train an evaluation network from a genotype."""

from __future__ import annotations

import shlex
from pathlib import Path

from ..config import TrainConfig
from ..errors import ToolkitError
from ..genotype import load_architecture
from ..rundir import read_json
from .common import (
    add_run_arguments,
    data_flags,
    inherit_data_settings,
    output_folder,
    parse_reductions,
    positive_int,
    run_config_values,
    run_folder_of,
    stopped_hint,
)


def register(sub) -> None:
    p = sub.add_parser("train", help="train a network built from a genotype",
                       description="Train an evaluation network from a searched genotype.json, a network "
                                   "description or a published cell name (e.g. DARTS_V2) and report test accuracy.")
    p.add_argument("--genotype", default=None,
                   help="genotype.json / network.json path or a published cell name (not needed with --resume)")
    add_run_arguments(p, epochs=20, batch_size=64)
    g = p.add_argument_group("network")
    g.add_argument("--channels", type=positive_int, default=16, help="initial channels C (default 16; paper 36)")
    g.add_argument("--cells", type=positive_int, default=5, help="cells when stacking a cell pair (default 5)")
    g.add_argument("--reductions", type=positive_int, nargs="+", default=None,
                   help="1-based reduction positions (default L//3+1 and 2L//3+1)")
    g.add_argument("--auxiliary-weight", type=float, default=0.0, help="auxiliary head loss weight (paper 0.4)")
    g.add_argument("--drop-path", type=float, default=0.0, help="drop-path probability (paper 0.2)")
    p.set_defaults(func=run)


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

    out = output_folder(args, "train")
    if args.resume:
        config, architecture = saved(out)
    else:
        if args.genotype is None:
            raise ToolkitError("--genotype is required: a genotype.json from a search or a name such as DARTS_V2")
        inherit_data_settings(args, run_folder_of(args.genotype),
                              " (to train the cell on other data, copy its genotype.json out of the run folder)")
        architecture = load_architecture(args.genotype)
        config = TrainConfig(**run_config_values(args), channels=args.channels, cells=args.cells,
                             reductions=parse_reductions(args.reductions), auxiliary_weight=args.auxiliary_weight,
                             drop_path=args.drop_path)
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
