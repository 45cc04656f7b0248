"""``python -m toolkit show RUN_OR_GENOTYPE``: summarise a run folder or a genotype and draw it.

A run folder of any kind (``search``, ``train``, ``gal`` from ``prune gal``, ``prune`` for its
mask-training stage, the population methods ``me-darts`` and ``ts-enas``, and kinds this version
does not know) is summarised with its headline figures (a comparison folder of ``compare`` by
its table and each method's mean ± standard deviation):
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
RESUMABLE = ("search", "train", "gal", "me-darts", "ts-enas")
METHOD_NAMES = {"darts": "DARTS", "pcdarts": "PC-DARTS", "adarts": "ADARTS"}
NUMBERING = ("(nodes: 0 = c_{k-2}, 1 = c_{k-1}, 2.. intermediate; '; 2,3' lists the nodes concatenated into the "
             "output, '; add 4,5' the loose ends summed into it)")


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
    if kind == "me-darts":
        search = config.get("search") or {}
        return (f"ME-DARTS ({config.get('preset', '?')} stages, each member a "
                f"{METHOD_NAMES.get(search.get('method'), search.get('method', '?'))} search)")
    if kind == "ts-enas":
        return (f"TS-ENAS (population {config.get('population', '?')}, {config.get('rough_generations', '?')} rough + "
                f"{config.get('fine_generations', '?')} fine generations)")
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
    lines.append(f"  test accuracy: baseline {_percent(report.get('acc_before'))}, pruned and retrained "
                 f"{_percent(report.get('acc_after'))}; masked (before pruning) {_percent(report.get('acc_masked'))} "
                 f"on validation images")
    return lines


def _population_lines(folder: Path, kind: str) -> list[str]:
    """One line per ME-DARTS stage (best member, Pareto front) or the best TS-ENAS network so far."""
    if kind == "me-darts":
        lines = []
        for file in sorted(folder.glob("stage_*.json"), key=lambda f: int(f.stem.split("_")[1])):
            stage = read_json(file)
            members = stage.get("members", []) if isinstance(stage, dict) else []
            if members:
                best = max(members, key=lambda m: m["metrics"]["val_acc"])
                front, chosen = (", ".join(stage.get(key, [])) for key in ("pareto_front", "selected"))
                lines.append(f"  stage {stage['index']} {stage['stage']}: {len(members)} members, best val acc "
                             f"{_percent(best['metrics']['val_acc'])} ({best['id']}), Pareto front {front}, "
                             f"selected {chosen}")
        return lines or ["  no stage finished yet"]
    generations = sorted(folder.glob("gen_*.json"))
    record = read_json(generations[-1]) if generations else None
    population = record.get("population", []) if isinstance(record, dict) else []
    if not population:
        return ["  no generation finished yet"]
    key = "val_acc" if "val_acc" in population[0] else "accuracy"  # "accuracy": older runs ranked on the test split
    label = "validation accuracy" if key == "val_acc" else "test accuracy (an older run that selected on it)"
    best = max(population, key=lambda m: m[key])
    lines = [f"  generations done: {len(generations) - 1} after the initial population (last: "
             f"{record.get('stage', '?')} stage)",
             f"  best network so far: {best['id']}, {label} {_percent(best[key])}, "
             f"{best['parameters']:,} parameters, {best['N']} cells"]
    run = read_json(folder / "run.json")
    chosen = run.get("best") if isinstance(run, dict) else None
    if isinstance(chosen, dict) and chosen.get("test_acc") is not None:
        lines.append(f"  chosen network {chosen['id']}: test accuracy {_percent(chosen['test_acc'])} "
                     f"(the one measurement on the test split)")
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
    total = {"gal": None, "prune": config.get("gal_epochs"), "me-darts": None, "ts-enas": None}.get(
        kind, config.get("epochs"))
    print(f"{kind} run {folder}: {_status(kind, run, done, total)}")
    print(f"  method: {_method(kind, config)}")
    settings = config.get("search", config) if kind == "me-darts" else config  # its members' search settings
    data = [str(settings.get("dataset", "dataset not recorded")), f"image size {image_size(settings)}"]
    shown = (("seed", "seed"),) if kind == "me-darts" else (("batch_size", "batch"), ("seed", "seed"))
    data += [f"{name} {settings[key]}" for key, name in shown if key in settings]
    print(f"  data: {', '.join(data)}")
    if _network(config):
        print(f"  network: {_network(config)}")
    if kind == "gal":
        print("\n".join(_gal_lines(folder, config)))
    if kind in ("me-darts", "ts-enas"):
        print("\n".join(_population_lines(folder, kind)))
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


def show_comparison(folder: Path) -> int:
    """Print a comparison folder (``python -m toolkit compare``): its settings, table and per-method mean ± std."""
    from ..compare import format_table, load_rows, saved_config

    config = saved_config(folder)
    rows = load_rows(folder)
    cells = len(config.methods) * config.seeds
    print(f"comparison {folder}: {len(rows)}/{cells} runs finished"
          + ("" if len(rows) == cells else f" (continue with: python -m toolkit compare --resume --out {folder})"))
    print(f"  data {config.dataset}, budget {config.budget:,} training images per search, seeds {config.seeds}; "
          f"evaluation {config.evaluation.epochs} epoch(s), {config.evaluation.cells} cells, "
          f"C={config.evaluation.channels}, validation {config.valid_fraction:g} of the training images")
    print(format_table(rows))
    return 0


def run(args) -> int:
    suffix = Path(args.draw).suffix.lower().lstrip(".") if args.draw else None
    if args.draw and suffix not in ("svg", "png"):
        raise ToolkitError(f"--draw needs a .svg or .png file name, got '{args.draw}'")
    if args.draw and not Path(args.draw).resolve().parent.is_dir():
        raise ToolkitError(f"the folder of --draw {args.draw} does not exist; create it or choose another file name")
    target = Path(args.target)
    if (target / "compare.json").is_file():
        if args.draw:
            raise ToolkitError("a comparison folder holds many architectures; --draw one run's folder inside it")
        return show_comparison(target)
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
