"""``python -m toolkit show RUN_OR_GENOTYPE``: summarise a run folder or a genotype and draw it.

A run folder of any kind (``search``, ``train``, ``gal`` from ``prune gal``, ``prune`` for its
mask-training stage, and kinds this version does not know) is summarised with its headline figures:
method, dataset and image size, epochs done and status, best and final accuracies, parameter counts
and the architecture. Node numbers in the printed genotypes are the DARTS numbering of
:mod:`toolkit.genotype`.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import ToolkitError
from ..genotype import CellPair, Network, load_architecture
from ..rundir import read_json

# The run's result first; a GAL run stopped before pruning still has its baseline network.
ARCHITECTURE_FILES = {"pruned_network.json": "pruned network", "genotype.json": "genotype", "network.json": "network",
                      "baseline/network.json": "baseline network (not pruned yet)"}
RESUMABLE = ("search", "train", "gal")
METHOD_NAMES = {"darts": "DARTS", "pcdarts": "PC-DARTS", "adarts": "ADARTS"}
NUMBERING = "(nodes: 0 = c_{k-2}, 1 = c_{k-1}, 2.. intermediate; '; 2,3' lists the nodes concatenated into the output)"


def register(sub) -> None:
    p = sub.add_parser("show", help="summarise a run folder or a genotype; draw its cells",
                       description="Print a run's method, data, status, accuracies, parameter counts and genotype "
                                   "(or a genotype file / published cell name) and optionally draw the cells "
                                   "with graphviz.")
    p.add_argument("target", help="a run folder, a genotype/network JSON file or a published name (DARTS_V2)")
    p.add_argument("--draw", metavar="FILE", default=None, help="write a drawing to FILE (.svg or .png)")
    p.set_defaults(func=run)


def image_size(config: dict) -> str:
    """The image side length a run used: the configured one, else the dataset's native size."""
    if config.get("image_size"):
        return f"{config['image_size']} px"
    from ..data import _BUILTINS, FOLDER_IMAGE_SIZE

    native = {"digits": 8, "fake": 8, "folder": FOLDER_IMAGE_SIZE} | {k: v.image_size for k, v in _BUILTINS.items()}
    size = native.get(config.get("dataset"))
    return f"{size} px (native)" if size else "native"


def _percent(value) -> str:
    return f"{100 * value:.2f}%" if isinstance(value, int | float) else "-"


def _status(kind: str, run: dict | None, done: int | None, total) -> str:
    epochs = f"{done}/{total} epochs" if done is not None and total else None
    if run is None:
        hint = " (continue it with --resume)" if kind in RESUMABLE else ""
        return ", ".join(filter(None, (epochs, f"running or interrupted{hint}")))
    return ", ".join(filter(None, (str(run.get("status", "unknown")), epochs)))


def _best(metrics: list[dict], key: str) -> str:
    values = [(m[key], m.get("epoch")) for m in metrics if isinstance(m.get(key), int | float)]
    if not values:
        return ""
    best, epoch = max(values, key=lambda v: v[0])
    return f"{key.replace('_', ' ')}: best {_percent(best)} (epoch {epoch}), final {_percent(values[-1][0])}"


def _method(kind: str, config: dict) -> str:
    if kind == "search":
        name = METHOD_NAMES.get(config.get("method"), config.get("method", "?"))
        order = {1: "first order", 2: "second order"}.get(config.get("order"), "")
        k = f"K={config['k']}" if config.get("method") != "darts" and "k" in config else ""
        space = config.get("space") or {}
        ops = f"{len(space['ops'])} ops, {space['nodes']} nodes per cell" if "ops" in space and "nodes" in space else ""
        return f"{name} search ({', '.join(filter(None, (order, k, ops)))})"
    if kind == "train":
        return "training an evaluation network"
    if kind in ("gal", "prune"):
        lam = config.get("lam")
        lam = f"{lam:g}" if isinstance(lam, int | float) else "?"
        what = "node pruning (" if kind == "gal" else "mask training (a stage of a prune run; "
        return f"DARTS-GAL {what}λ={lam}, {config.get('adversarial', '?')} adversarial loss)"
    return f"'{kind}' run (a kind this version does not know; generic summary)"


def _network(config: dict) -> str:
    parts = [f"C={config['channels']}" if "channels" in config else "", f"{config['cells']} cells" if "cells" in config
             else ""]
    return ", ".join(filter(None, parts))


def _gal_lines(folder: Path, config: dict) -> list[str]:
    report = read_json(folder / "report.json")
    masks = read_json(folder / "masks.json")
    mask_epochs = len(masks.get("history", [])) if isinstance(masks, dict) else 0
    stages = []
    for stage, total in (("baseline", config.get("epochs")), ("retrain", config.get("epochs"))):
        record = read_json(folder / stage / "run.json")
        done = record.get("epochs_done", 0) if isinstance(record, dict) else 0
        reused = stage == "baseline" and masks is not None and not (folder / stage).is_dir()
        stages.append("baseline reused from a training run" if reused else f"{stage} {done}/{total}")
    stages.insert(1, f"masks {mask_epochs}/{config.get('gal_epochs', '?')}")
    lines = [f"  stages (epochs): {', '.join(stages)}"]
    if not report:
        return lines + ["  no report.json yet: the run ended before pruning"]
    lines.append(f"  parameters: baseline {report['parameters_before']:,} -> pruned {report['parameters_after']:,} "
                 f"({100 * report.get('pruning_rate', 0):.1f}% removed)")
    lines.append(f"  test accuracy: baseline {_percent(report.get('acc_before'))}, masked (before pruning) "
                 f"{_percent(report.get('acc_masked'))}, pruned and retrained {_percent(report.get('acc_after'))}")
    return lines


def summarise_run(folder: Path) -> CellPair | Network | None:
    """Print the summary of a run folder and return its architecture (None when it has none yet)."""
    config, run, metrics = (read_json(folder / name) for name in ("config.json", "run.json", "metrics.json"))
    if not isinstance(config, dict):
        raise ToolkitError(f"'{folder}' is not a run folder (no config.json); give a run folder made by "
                           "search, train or prune, a genotype file or a published cell name")
    metrics = [m for m in metrics if isinstance(m, dict)] if isinstance(metrics, list) else []
    run = run if isinstance(run, dict) else None
    kind = str(config.get("kind", "unknown"))
    done = run.get("epochs_done") if run and "epochs_done" in run else (len(metrics) if metrics else None)
    total = {"gal": None, "prune": config.get("gal_epochs")}.get(kind, config.get("epochs"))
    print(f"{kind} run {folder}: {_status(kind, run, done, total)}")
    print(f"  method: {_method(kind, config)}")
    data = [str(config.get("dataset", "dataset not recorded")), f"image size {image_size(config)}"]
    data += [f"{name} {config[key]}" for key, name in (("batch_size", "batch"), ("seed", "seed")) if key in config]
    print(f"  data: {', '.join(data)}")
    if _network(config):
        print(f"  network: {_network(config)}")
    if kind == "gal":
        print("\n".join(_gal_lines(folder, config)))
    for key in ("val_acc", "test_acc"):
        if line := _best(metrics, key):
            print(f"  {line}")
    if run and isinstance(run.get("parameters"), int):
        print(f"  parameters: {run['parameters']:,}")
    for name, what in ARCHITECTURE_FILES.items():
        if (folder / name).is_file():
            architecture = load_architecture(folder / name)
            print(f"{what} {NUMBERING}:")
            print(architecture)
            return architecture
    print("  no genotype yet")
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
