"""``python -m toolkit prune gal --genotype DARTS_V2 ...``: DARTS-GAL node pruning of a stacked network.

Trains the baseline (or loads one with ``--baseline``), learns sparse node masks adversarially,
removes the masked nodes, retrains the smaller network and prints the kept-nodes table with the
parameters and test accuracy before and after. Every option's help text and default is
:class:`~toolkit.gal.GalConfig`'s (whose docstring says what its defaults did to DARTS V2 on digits
in bench/RESULTS.md's λ sweep). A mask training that collapses stops with an error naming a smaller
λ. ``--resume --out RUN`` continues a stopped run where it stopped (add ``--baseline`` again if the
run pruned a given baseline).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from ..config import configure
from ..errors import ToolkitError
from ..gal.config import ADVERSARIAL, RETRAIN, GalConfig
from ..methods import get_method, methods
from .common import (
    Fields,
    add_run_arguments,
    inherit_data_settings,
    output_folder,
    positive_int,
    run_folder_of,
    stopped_hint,
)
from .train import add_network_arguments


def register(sub) -> None:
    p = sub.add_parser("prune", help="prune a stacked network's cell nodes (DARTS-GAL)",
                       description="DARTS-GAL: train a baseline network from a genotype, learn sparse soft masks "
                                   "on its cells' intermediate nodes by generative adversarial learning, delete the "
                                   "masked nodes and retrain. Writes config.json, masks.json, pruned_network.json, "
                                   "report.json and the baseline/, masks/ and retrain/ run folders.")
    p.add_argument("method", choices=tuple(methods("prune")),
                   help="; ".join(f"{n}: {m.label}" for n, m in methods("prune").items()))
    p.add_argument("--genotype", default=None,
                   help="genotype.json / network.json path or a published cell name such as DARTS_V2")
    p.add_argument("--baseline", default=None, metavar="RUN",
                   help="a finished 'train' run folder to prune instead of training a baseline")
    entry = get_method("gal", "prune")
    presets = ", ".join(f"{n} ({entry.preset_sources.get(n, '')})" for n in entry.presets)
    p.add_argument("--preset", default=None, help=f"a paper's settings, under the options you give: {presets}")
    fields = Fields([entry])
    add_run_arguments(p, fields)
    add_network_arguments(p, fields)
    g = p.add_argument_group("pruning (DARTS-GAL paper eqs. 4-7)")
    fields.add(g, "lam", type=float)
    for name in ("gal_epochs", "gal_batch_size", "reference_steps"):
        fields.add(g, name, type=positive_int)
    fields.add(g, "threshold", type=float)
    fields.add(g, "adversarial", choices=ADVERSARIAL)
    fields.add(g, "retrain", choices=RETRAIN)
    for name in ("mask_lr", "g_lr", "d_lr"):
        fields.add(g, name, type=float)
    fields.add(g, "d_steps", type=positive_int)
    fields.add(g, "noise", type=float)
    p.set_defaults(func=run, fields=fields)


def resolve(args) -> tuple[GalConfig, dict]:
    """The GalConfig of the parsed options and each field's source (:func:`toolkit.config.configure`)."""
    entry = get_method("gal", "prune")
    return configure(GalConfig, entry, args.preset, args.fields.given(args, entry))


def config_from_args(args) -> GalConfig:
    return resolve(args)[0]


def saved(folder: str, baseline_run: str | None):
    """A stopped prune run's config and network (or, when it pruned a given baseline, that baseline's folder)."""
    from ..rundir import read_json

    data = read_json(Path(folder) / "config.json")
    if not isinstance(data, dict):
        raise ToolkitError(f"cannot resume: '{folder}' holds no prune run (no config.json)")
    if data.pop("kind", None) != "gal":
        raise ToolkitError(f"'{folder}' is not a prune run")
    network = read_json(Path(folder) / "baseline" / "network.json")
    if network is None and baseline_run is None:
        raise ToolkitError(f"'{folder}' pruned a given baseline: resume with --baseline RUN naming that "
                           "training run again")
    from ..genotype import Network

    return GalConfig.from_dict(data), (Network.from_dict(network) if network is not None else None)


def run(args) -> int:
    """``prune METHOD``: the registry entry's command handler runs it (:attr:`Method.command`)."""
    return get_method(args.method, "prune").command_handler(args)


def run_gal_command(args) -> int:
    """Run ``prune gal`` (the registry's command handler of DARTS-GAL)."""
    from ..data import load_dataset
    from ..gal.run import load_trained
    from ..genotype import load_architecture

    out = output_folder(args, "prune") if not args.dry_run else None
    if args.resume:
        config, architecture = saved(out, args.baseline)
    else:
        if (args.genotype is None) == (args.baseline is None):
            raise ToolkitError("give --genotype (e.g. DARTS_V2) to train a baseline, or --baseline RUN to reuse one")
        if args.baseline:
            inherit_data_settings(args, args.baseline, " (a trained baseline is pruned on the data it learnt)")
        else:
            inherit_data_settings(args, run_folder_of(args.genotype),
                                  " (to prune the cell on other data, copy its genotype.json out of the run folder)")
        config = config_from_args(args)
        architecture = load_architecture(args.genotype) if args.genotype else None
        if args.dry_run:
            from . import dryrun

            config, sources = resolve(args)
            return dryrun.report("prune gal", args.preset, get_method("gal", "prune"), config, sources, config,
                                 dryrun.gal_plan)
    data = load_dataset(config.dataset, config.data_dir, seed=config.seed, image_size=config.image_size)
    baseline = load_trained(args.baseline, data) if args.baseline and architecture is None else None
    result = get_method("gal").run(architecture, config, data=data, baseline=baseline, run_dir=out,
                                   resume=args.resume, stop=getattr(args, "stop", None), progress=not args.quiet)
    if result.status == "collapsed":
        raise ToolkitError(f"{result.message}. Nothing was pruned; run folder {result.run_dir}")
    if result.status == "stopped":
        again = f" --baseline {shlex.quote(args.baseline)}" if args.baseline else ""
        print(stopped_hint(f"prune gal{again}", result.run_dir))
        return 0
    print(result.report)
    print(f"{result.status}; run folder {result.run_dir}")
    return 0
