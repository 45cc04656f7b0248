"""``python -m toolkit show RUN_OR_GENOTYPE``: summarise a run folder or a genotype and draw it."""

from __future__ import annotations

from pathlib import Path

from ..errors import ToolkitError
from ..genotype import CellPair, Network, load_architecture
from ..rundir import read_json


def register(sub) -> None:
    p = sub.add_parser("show", help="summarise a run folder or a genotype; draw its cells",
                       description="Print a run's status, last metrics and genotype (or a genotype file / "
                                   "published cell name) and optionally draw the cells with graphviz.")
    p.add_argument("target", help="a run folder, a genotype/network JSON file or a published name (DARTS_V2)")
    p.add_argument("--draw", metavar="FILE", default=None, help="write a drawing to FILE (.svg or .png)")
    p.set_defaults(func=run)


def summarise_run(folder: Path) -> CellPair | Network | None:
    config, run, metrics = (read_json(folder / name) for name in ("config.json", "run.json", "metrics.json"))
    if config is None:
        raise ToolkitError(f"'{folder}' is not a run folder (no config.json)")
    kind = config.get("kind", "run")
    status = run["status"] if run else "running or interrupted (resume with --resume)"
    print(f"{kind} run {folder}: {status}")
    keys = ("method", "dataset", "epochs", "channels", "cells", "k", "order", "seed")
    print("  " + ", ".join(f"{k}={config[k]}" for k in keys if k in config))
    if metrics:
        last = metrics[-1]
        print(f"  epoch {last['epoch']}: " + ", ".join(
            f"{k}={v:.4f}" for k, v in last.items() if k != "epoch" and isinstance(v, float)))
    for name in ("genotype.json", "network.json", "pruned_network.json"):
        if (folder / name).is_file():
            architecture = load_architecture(folder / name)
            print(architecture)
            return architecture
    return None


def run(args) -> int:
    suffix = Path(args.draw).suffix.lower().lstrip(".") if args.draw else None
    if args.draw and suffix not in ("svg", "png"):
        raise ToolkitError(f"--draw needs a .svg or .png file name, got '{args.draw}'")
    if args.draw and not Path(args.draw).resolve().parent.is_dir():
        raise ToolkitError(f"the folder of --draw {args.draw} does not exist; create it or choose another file name")
    target = Path(args.target)
    architecture = summarise_run(target) if target.is_dir() else load_architecture(args.target)
    if not target.is_dir():
        print(architecture)
    if args.draw:
        if architecture is None:
            raise ToolkitError(f"'{target}' has no genotype yet to draw")
        from ..draw import draw_network, draw_pair, render

        graph = draw_pair(architecture) if isinstance(architecture, CellPair) else draw_network(architecture)
        print(f"drawing written to {render(graph, args.draw, suffix)}")
    return 0
