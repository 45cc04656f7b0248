"""``python -m toolkit prune gal --genotype DARTS_V2 ...``: DARTS-GAL node pruning of a stacked network.

Trains the baseline (or loads one with ``--baseline``), learns sparse node masks adversarially,
removes the masked nodes, retrains the smaller network and prints the kept-nodes table with the
parameters and test accuracy before and after. The defaults (λ=12, 10 epochs of baseline training
and of retraining, 5 epochs of mask training, threshold 0) pruned DARTS V2 on digits (C=16, 5 cells,
``--reductions 2 3``) by 49% with no loss of test accuracy in bench/RESULTS.md's λ sweep. A mask
training that collapses stops with an error naming a smaller λ. ``--resume --out RUN`` continues a
stopped run where it stopped (add ``--baseline`` again if the run pruned a given baseline).
"""

from __future__ import annotations

import shlex
from pathlib import Path

from ..errors import ToolkitError
from ..gal.config import ADVERSARIAL, RETRAIN, GalConfig
from .common import (
    add_run_arguments,
    inherit_data_settings,
    output_folder,
    parse_reductions,
    positive_int,
    run_config_values,
    run_folder_of,
    stopped_hint,
)

DEFAULTS = GalConfig()


def register(sub) -> None:
    p = sub.add_parser("prune", help="prune a stacked network's cell nodes (DARTS-GAL)",
                       description="DARTS-GAL: train a baseline network from a genotype, learn sparse soft masks "
                                   "on its cells' intermediate nodes by generative adversarial learning, delete the "
                                   "masked nodes and retrain. Writes config.json, masks.json, pruned_network.json, "
                                   "report.json and the baseline/, masks/ and retrain/ run folders.")
    p.add_argument("method", choices=("gal",), help="gal (generative adversarial learning)")
    p.add_argument("--genotype", default=None,
                   help="genotype.json / network.json path or a published cell name such as DARTS_V2")
    p.add_argument("--baseline", default=None, metavar="RUN",
                   help="a finished 'train' run folder to prune instead of training a baseline")
    add_run_arguments(p, epochs=DEFAULTS.epochs, batch_size=DEFAULTS.batch_size)
    g = p.add_argument_group("network")
    g.add_argument("--channels", type=positive_int, default=16, help="initial channels C (default 16)")
    g.add_argument("--cells", type=positive_int, default=5, help="cells when stacking a cell pair (default 5)")
    g.add_argument("--reductions", type=positive_int, nargs="+", default=None,
                   help="1-based reduction positions (paper, MNIST: 2 3; default L//3+1 and 2L//3+1)")
    g = p.add_argument_group("pruning (DARTS-GAL paper eqs. 4-7)")
    g.add_argument("--lam", type=float, default=DEFAULTS.lam,
                   help=f"λ of the L1 penalty on the masks (default {DEFAULTS.lam:g}; larger prunes more)")
    g.add_argument("--gal-epochs", type=positive_int, default=DEFAULTS.gal_epochs,
                   help=f"mask-training epochs of at most {DEFAULTS.reference_steps} steps each "
                        f"(default {DEFAULTS.gal_epochs})")
    g.add_argument("--threshold", type=float, default=DEFAULTS.threshold,
                   help="prune nodes whose mask is <= this (default 0: exact zeros only)")
    g.add_argument("--adversarial", choices=ADVERSARIAL, default=DEFAULTS.adversarial,
                   help="adversarial loss: wasserstein (default) or log (eq. 5)")
    g.add_argument("--retrain", choices=RETRAIN, default=DEFAULTS.retrain,
                   help="retrain the pruned network from scratch (default, as the paper) or from inherited weights")
    g.add_argument("--mask-lr", type=float, default=DEFAULTS.mask_lr,
                   help=f"step size of the proximal mask update (default {DEFAULTS.mask_lr:g})")
    g.add_argument("--noise", type=float, default=DEFAULTS.noise,
                   help=f"dropout rate of the generator noise z (default {DEFAULTS.noise:g})")
    p.set_defaults(func=run)


def config_from_args(args) -> GalConfig:
    return GalConfig(**run_config_values(args), channels=args.channels, cells=args.cells,
                     reductions=parse_reductions(args.reductions), lam=args.lam, gal_epochs=args.gal_epochs,
                     threshold=args.threshold, adversarial=args.adversarial, retrain=args.retrain,
                     mask_lr=args.mask_lr, noise=args.noise)


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
    from ..data import load_dataset
    from ..gal.run import load_trained, run_gal
    from ..genotype import load_architecture

    out = output_folder(args, "prune")
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
    data = load_dataset(config.dataset, config.data_dir, seed=config.seed, image_size=config.image_size)
    baseline = load_trained(args.baseline, data) if args.baseline and architecture is None else None
    result = run_gal(architecture, config, data=data, baseline=baseline, run_dir=out, resume=args.resume,
                     stop=getattr(args, "stop", None), progress=not args.quiet)
    if result.status == "collapsed":
        raise ToolkitError(f"{result.message}. Nothing was pruned; run folder {result.run_dir}")
    if result.status == "stopped":
        again = f" --baseline {shlex.quote(args.baseline)}" if args.baseline else ""
        print(stopped_hint(f"prune gal{again}", result.run_dir))
        return 0
    print(result.report)
    print(f"{result.status}; run folder {result.run_dir}")
    return 0
