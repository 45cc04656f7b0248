"""Compare search methods side by side: one budget, several seeds, one evaluation protocol.

Every method of the registry that searches an architecture from scratch (``kind`` 'search' or
'population': DARTS, PC-DARTS, ADARTS, ME-DARTS, TS-ENAS) runs through its registry entry
(:func:`toolkit.methods.get_method`), each (method, seed) cell of the table in its own run folder,
then the architecture it found is trained by the same :func:`toolkit.evaluate.evaluate` call with the
same :class:`~toolkit.config.TrainConfig`: a validation split held out of the training images
(:class:`~toolkit.holdout.Holdout`) reports the accuracy the methods select on, and the test split
is read once, for that one network.

The budget is the number of training images a search draws (**images seen**), not wall-clock
seconds: it is deterministic and means the same on a laptop and on a GPU, while seconds depend on
the machine and its load. Each method's planned images are counted the way its ``--dry-run`` counts
steps (:mod:`toolkit.cli.dryrun`): a DARTS-family step draws one batch for the weights and one for
α; ME-DARTS sums that over every member of every stage; TS-ENAS counts the SuperNet's batches and
every candidate's brief training. The method's base settings (its preset, else its defaults:
``cpu-small`` for the population methods) are scaled (:func:`fit_budget`: epochs of a search,
stage epochs of ME-DARTS, SuperNet epochs, population and generations of TS-ENAS) until the planned images
come nearest the budget, and the table records the images each cell planned and the search seconds
it took. A method whose smallest run exceeds a tiny budget runs that smallest run; its ``images``
column says so.

DARTS-GAL ('prune') prunes a given network instead of searching one, so it is not compared here.

Example:
    >>> config = CompareConfig(("darts", "pcdarts"), dataset="fake", budget=4000, seeds=1)  # doctest: +SKIP
    >>> result = compare(config, "runs/compare-demo")  # doctest: +SKIP
    >>> [(r["method"], r["test_acc"]) for r in result.rows]  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import statistics
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import SearchConfig, TrainConfig, configure
from .errors import ToolkitError
from .events import EventBus, StopSignal
from .methods import get_method, methods
from .rundir import read_json

COLUMNS = ("method", "preset", "seed", "search_seconds", "images", "parameters", "val_acc", "test_acc",
           "eval_seconds", "run_folder")
COMPARABLE = ("search", "population")  # kinds that find an architecture from scratch
SCALE_GRID = tuple(2 ** (k / 8) for k in range(-80, 41))  # factors tried on a method's base settings


@dataclass(frozen=True)
class CompareConfig:
    """What a comparison runs.

    Attributes:
        methods: registry method names, each optionally ``name:preset`` (e.g. ``me-darts:cpu-small``).
        dataset, data_dir: the one data set every method searches and every found network trains on.
        budget: training images each search draws (see the module docstring), > 0.
        seeds: seeds 0..seeds-1, each a row of the table per method, > 0.
        evaluation: the final training every found architecture gets (its dataset and seed are set
            per cell); ``cells`` and ``channels`` stack a searched cell pair, a TS-ENAS network keeps its own.
        valid_fraction: share of the training images held out to report the validation accuracy.
        overrides: per method name, config fields set over its base settings (e.g. a tiny supernet).
    """

    methods: tuple[str, ...]
    dataset: str = "digits"
    data_dir: str = "data"
    budget: int = 20_000
    seeds: int = 1
    evaluation: TrainConfig = field(default_factory=lambda: TrainConfig(epochs=10, channels=8, cells=5))
    valid_fraction: float = 0.1
    overrides: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "methods", tuple(self.methods))
        if not self.methods:
            raise ToolkitError(f"name at least one method to compare; choose from {', '.join(comparable())}")
        for text in self.methods:
            parse_method(text)
        if len(set(self.methods)) != len(self.methods):
            raise ToolkitError("a method is listed twice; list each name[:preset] once")
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget <= 0:
            raise ToolkitError(f"the budget is a number of training images > 0, got {self.budget!r}; "
                               "e.g. --budget 20000")
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds <= 0:
            raise ToolkitError(f"seeds must be a whole number > 0, got {self.seeds!r}; e.g. --seeds 3")
        if not isinstance(self.evaluation, TrainConfig):
            raise ToolkitError("evaluation must be a TrainConfig, e.g. TrainConfig(epochs=10)")
        unknown = set(self.overrides) - {parse_method(m)[0] for m in self.methods}
        if unknown:
            raise ToolkitError(f"overrides for {', '.join(sorted(unknown))}, which is not compared; "
                               "name it in methods or drop its overrides")

    def to_dict(self) -> dict:
        return {"methods": list(self.methods), "dataset": self.dataset, "data_dir": self.data_dir,
                "budget": self.budget, "budget_unit": "images", "seeds": self.seeds,
                "evaluation": self.evaluation.to_dict(), "valid_fraction": self.valid_fraction,
                "overrides": {k: dict(v) for k, v in self.overrides.items()}}

    @classmethod
    def from_dict(cls, d: Mapping) -> CompareConfig:
        return cls(tuple(d["methods"]), d["dataset"], d["data_dir"], d["budget"], d["seeds"],
                   TrainConfig.from_dict(d["evaluation"]), d["valid_fraction"], d.get("overrides", {}))


def comparable() -> list[str]:
    """The registered methods that can be compared (they search from scratch)."""
    return [name for name, m in methods().items() if m.kind in COMPARABLE]


def parse_method(text: str) -> tuple[str, str | None]:
    """``"name"`` or ``"name:preset"`` -> (name, preset); one ToolkitError line naming the choices otherwise."""
    name, _, preset = str(text).partition(":")
    entry = get_method(name)  # unknown: names the registered methods
    if entry.kind not in COMPARABLE:
        raise ToolkitError(f"{name} prunes a given network instead of searching one; compare "
                           f"{', '.join(comparable())}, then prune the winner with 'python -m toolkit prune {name}'")
    if preset:
        entry.preset(preset)  # unknown: names its presets
    return name, preset or None


def base_config(text: str, dataset: str, data_dir: str, seed: int, overrides: Mapping | None = None):
    """The config method ``text`` (``name[:preset]``) runs before budget scaling: its preset (ME-DARTS and
    TS-ENAS: ``cpu-small`` unless another is named), the comparison's data set and seed, then ``overrides``."""
    name, preset = parse_method(text)
    entry = get_method(name)
    given = {"dataset": dataset, "data_dir": data_dir, "seed": seed}
    if name == "me-darts":
        from .medarts.config import MeDartsConfig

        search_name = (overrides or {}).get("method", entry.defaults["method"])
        fields = {k: v for k, v in (overrides or {}).items() if k != "method"}
        search = configure(SearchConfig, get_method(search_name, "search"), None, {**given, **fields},
                           method=search_name)[0]
        return MeDartsConfig(search, preset=preset or entry.defaults["preset"])
    if name == "ts-enas":
        preset = preset or "cpu-small"
    return configure(entry.config_class, entry, preset, {**given, **(overrides or {})},
                     **({"method": name} if entry.kind == "search" else {}))[0]


def planned_images(config, data) -> int:
    """Training images a run of ``config`` draws on ``data`` (the counts of its ``--dry-run`` plan)."""
    if isinstance(config, SearchConfig):  # DARTS section 2.3: a weight batch and an α batch each step
        n = len(data.train)
        w = int(config.train_portion * n)
        steps = min(-(-w // config.batch_size), -(-(n - w) // config.batch_size))
        return config.epochs * steps * 2 * config.batch_size
    from .medarts.config import MeDartsConfig

    if isinstance(config, MeDartsConfig):
        from .medarts.run import member_steps

        return sum(member_steps(data, s, config.member_config(s, config.search.seed)) * 2 * s.batch_size
                   * s.population for s in config.stages)
    from .tsenas.config import TsEnasConfig
    from .tsenas.run import search_data, search_plan

    if not isinstance(config, TsEnasConfig):
        raise ToolkitError(f"compare cannot count the images a {type(config).__name__} run draws; teach "
                           "toolkit.compare.planned_images and scaled about it, or leave that method out")
    plan = search_plan(config, search_data(config, data))
    return (plan["supernet_steps"] + plan["candidates"] * plan["candidate_steps"]) * config.batch_size


def scaled(config, factor: float):
    """``config`` with its length scaled by ``factor``: a search's epochs, every ME-DARTS stage's epochs,
    TS-ENAS's SuperNet epochs, population and generations (each at least its smallest valid value)."""
    def times(value: int, low: int = 1) -> int:
        return max(low, round(value * factor))

    if isinstance(config, SearchConfig):
        return dataclasses.replace(config, epochs=times(config.epochs),
                                   warmup_epochs=min(config.warmup_epochs, times(config.epochs) - 1))
    from .medarts.config import MeDartsConfig

    if isinstance(config, MeDartsConfig):
        from .medarts.stages import StagePlan

        stages = StagePlan(*(dataclasses.replace(s, epochs=times(s.epochs)) for s in config.stages))
        return dataclasses.replace(config, stages=stages)
    return dataclasses.replace(config, supernet_epochs=times(config.supernet_epochs),
                               population=times(config.population, config.survivors),
                               rough_generations=times(config.rough_generations, 0),
                               fine_generations=times(config.fine_generations, 0))


def fit_budget(config, data, budget: int):
    """``(config, images)``: ``config`` scaled (:func:`scaled`) so its planned images come nearest ``budget``
    (ties: the smaller run)."""
    best = None
    for factor in SCALE_GRID:
        candidate = scaled(config, factor)
        images = planned_images(candidate, data)
        if best is None or abs(images - budget) < abs(best[1] - budget):
            best = (candidate, images)
    return best


def describe(config) -> str:
    """The settings :func:`scaled` changes, as one line (``8 epochs``; ``stages init 4x2, ...``)."""
    if isinstance(config, SearchConfig):
        return f"{config.epochs} epoch(s) of C={config.channels}, {config.cells} cells, batch {config.batch_size}"
    if hasattr(config, "stages"):
        return "stages " + ", ".join(f"{s.name} {s.population} x {s.epochs} epoch(s)" for s in config.stages)
    return (f"SuperNet {config.supernet_epochs} epoch(s), population {config.population}, generations "
            f"{config.rough_generations} rough + {config.fine_generations} fine, {config.epochs} epoch(s) each")


@dataclass(frozen=True)
class Cell:
    """One row of the table to compute: a method (with preset) and seed, its scaled config and folder."""

    method: str
    preset: str | None
    seed: int
    config: Any
    images: int
    folder: str

    @property
    def name(self) -> str:
        return f"{self.method}{':' + self.preset if self.preset else ''} seed {self.seed}"


def plan_cells(config: CompareConfig, out: str | Path) -> list[Cell]:
    """Every (method, seed) cell with its config scaled to the budget, in table order."""
    from .data import load_dataset

    data = load_dataset(config.dataset, config.data_dir, seed=0)
    cells = []
    for text in config.methods:
        name, preset = parse_method(text)
        for seed in range(config.seeds):
            base = base_config(text, config.dataset, config.data_dir, seed, config.overrides.get(name))
            scaled_config, images = fit_budget(base, data, config.budget)
            folder = Path(out) / f"{name}{'-' + preset if preset else ''}-seed{seed}"
            cells.append(Cell(name, preset, seed, scaled_config, images, str(folder)))
    return cells


def _search(cell: Cell, stop: StopSignal | None, progress: bool):
    """Run (or resume) the cell's search in ``<cell>/search``; ``(architecture or None, status, seconds)``."""
    from .genotype import load_architecture

    folder = Path(cell.folder)
    found = folder / "architecture.json"
    saved = read_json(folder / "search_seconds.json", 0.0)
    if found.is_file():
        return load_architecture(found), "finished", saved
    run_dir = folder / "search"
    resume = (run_dir / "config.json").is_file()
    if run_dir.exists() and not resume:
        shutil.rmtree(run_dir)  # stopped before it wrote anything to continue from
    folder.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    result = get_method(cell.method).run(cell.config, run_dir=run_dir, resume=resume, stop=stop, progress=progress)
    seconds = saved + time.perf_counter() - start
    (folder / "search_seconds.json").write_text(json.dumps(seconds))
    if result.status != "finished":
        return None, result.status, seconds
    architecture = getattr(result, "network", None) or result.genotype
    found.write_text(json.dumps(architecture.to_dict(), indent=1))
    return architecture, "finished", seconds


def run_cell(cell: Cell, evaluation: TrainConfig, valid_fraction: float, stop: StopSignal | None = None,
             progress: bool = False) -> dict:
    """Search, then train and test the found architecture with ``evaluation`` (the same for every cell):
    the row of the table (written to ``<cell>/result.json``), or ``{"status": "stopped"}``."""
    from .evaluate import EvalSpec, evaluate
    from .holdout import Holdout

    done = read_json(Path(cell.folder) / "result.json")
    if isinstance(done, dict):
        return done
    architecture, status, seconds = _search(cell, stop, progress)
    if architecture is None or (stop is not None and stop.requested):
        return {"status": "stopped" if status == "finished" else status, "name": cell.name}
    spec = EvalSpec(architecture, dataclasses.replace(evaluation, seed=cell.seed), name=cell.name,
                    holdout=Holdout(valid_fraction, seed=cell.seed))
    metrics = evaluate(spec)
    row = {"method": cell.method, "preset": cell.preset, "seed": cell.seed, "search_seconds": round(seconds, 2),
           "images": cell.images, "parameters": metrics["parameters"], "val_acc": metrics["val_acc"],
           "test_acc": metrics["test_acc"], "eval_seconds": round(metrics["seconds"], 2),
           "run_folder": cell.folder, "status": "finished", "architecture": architecture.to_dict()}
    (Path(cell.folder) / "result.json").write_text(json.dumps(row, indent=1))
    return row


@dataclass
class CompareResult:
    """A comparison's rows (finished cells, in table order), its status and folder."""

    rows: list[dict]
    status: str
    folder: Path
    cells: int = 0


def _start(config: CompareConfig, out: Path, resume: bool) -> CompareConfig:
    """Check a new comparison's folder is free, or a resumed one's settings against its ``compare.json``."""
    file = out / "compare.json"
    if resume:
        saved = read_json(file, fix="restore it, or start a new comparison in another --out")
        if not isinstance(saved, dict):
            raise ToolkitError(f"cannot resume: '{file}' is missing; start a new comparison in another --out")
        saved_config = CompareConfig.from_dict(saved)
        if saved_config != config:
            raise ToolkitError(f"'{out}' was started with other settings ({_differences(saved_config, config)}); "
                               "resume with its settings or start a new comparison in another --out")
        return saved_config
    if out.exists() and any(out.iterdir()):
        raise ToolkitError(f"'{out}' exists; continue it with --resume or choose another --out")
    return config


def _differences(a: CompareConfig, b: CompareConfig) -> str:
    da, db = a.to_dict(), b.to_dict()
    return ", ".join(f"{k} {da[k]!r} there, {db[k]!r} now" for k in da if da[k] != db[k])


def saved_config(out: str | Path) -> CompareConfig:
    """The settings a comparison folder was started with (its ``compare.json``)."""
    saved = read_json(Path(out) / "compare.json", fix="restore it, or start a new comparison in another --out")
    if not isinstance(saved, dict):
        raise ToolkitError(f"'{out}' holds no comparison (no compare.json); run 'python -m toolkit compare' first")
    return CompareConfig.from_dict(saved)


def compare(config: CompareConfig, out: str | Path, *, executor: Executor | None = None, resume: bool = False,
            listeners: Sequence = (), stop: StopSignal | None = None, progress: bool = False) -> CompareResult:
    """Run every (method, seed) cell of ``config`` and write the table and figures to ``out``.

    Args:
        config: the methods, data set, budget, seeds and evaluation.
        out: the comparison folder: ``compare.json``, one sub-folder per cell (its search's run folder
            ``search/``, ``architecture.json``, ``result.json``), ``results.csv``, ``results.json`` and
            the figures.
        executor: runs the cells (default: one after another in this process); cells run in workers of
            a process pool or Dask cluster are stopped between cells only.
        resume: continue the comparison in ``out``: finished cells are read back, never recomputed; a
            stopped search continues from its checkpoint.
        listeners: event callbacks: one root run (kind 'compare', ``total_steps`` = cells), a
            ``generation`` event after each finished cell whose ``population`` is every finished row
            (metrics and architecture) and ``pareto_front`` the ids on each method's front, and ``run_end``.
        stop: ends the comparison after the current step (in this process) or cell.
        progress: each in-process search shows its own console bar.
    """
    from .executors import InlineExecutor, fan_out

    out = Path(out)
    config = _start(config, out, resume)
    saved = config
    config = dataclasses.replace(config, evaluation=dataclasses.replace(
        config.evaluation, dataset=config.dataset, data_dir=config.data_dir))
    cells = plan_cells(config, out)  # bad settings fail here, before anything is written
    if not resume:
        out.mkdir(parents=True, exist_ok=True)
        (out / "compare.json").write_text(json.dumps(saved.to_dict(), indent=1))
    bus = EventBus(listeners)
    bus.emit("run_start", name="compare", kind="compare", total_steps=len(cells), config=config.to_dict())
    rows: dict[int, dict] = {}

    def finished(index: int, row: dict) -> None:
        if row.get("status") != "finished":
            return
        rows[index] = row
        table = [rows[i] for i in sorted(rows)]
        front = [row_id(r) for r in table if on_front(r, table)]
        bus.emit("generation", index=len(rows), population=[member(r) for r in table], pareto_front=front)

    inline = executor is None or isinstance(executor, InlineExecutor)
    jobs = [(cell, config.evaluation, config.valid_fraction, stop if inline else None, progress and inline)
            for cell in cells]
    fan_out(run_cell, jobs, [c.name for c in cells], executor, on_result=finished, stop=stop, what="comparison cell")
    table = [rows[i] for i in sorted(rows)]
    write_results(out, table)
    status = "finished" if len(table) == len(cells) else "stopped"
    bus.emit("run_end", status=status, epochs_done=len(table))
    return CompareResult(table, status, out, len(cells))


def row_id(row: Mapping) -> str:
    return f"{row['method']}{':' + row['preset'] if row.get('preset') else ''} seed {row['seed']}"


def member(row: Mapping) -> dict:
    """A finished row as a ``generation`` event's member: the table's columns as metrics, its architecture."""
    return {"id": row_id(row), "metrics": {k: row[k] for k in COLUMNS if k not in ("method", "preset", "run_folder")}
            | {"method": label(row)}, "genotype": row["architecture"], "parents": None}


def label(row: Mapping) -> str:
    """The method as the table names it: ``name`` or ``name:preset``."""
    return f"{row['method']}{':' + row['preset'] if row.get('preset') else ''}"


def on_front(row: Mapping, rows: Sequence[Mapping]) -> bool:
    """Whether ``row`` is on its method's Pareto front of (fewer parameters, higher validation accuracy):
    no row of the same method has at most its parameters and at least its accuracy, one of them strictly."""
    same = [r for r in rows if label(r) == label(row)]
    return not any(r["parameters"] <= row["parameters"] and r["val_acc"] >= row["val_acc"]
                   and (r["parameters"], r["val_acc"]) != (row["parameters"], row["val_acc"]) for r in same)


def summary(rows: Sequence[Mapping]) -> list[dict]:
    """Per method (in table order): rows, mean and standard deviation (0 for one row) of the validation and
    test accuracy, the parameters, search seconds and images."""
    by: dict[str, list[Mapping]] = {}
    for row in rows:
        by.setdefault(label(row), []).append(row)
    out = []
    for name, group in by.items():
        entry = {"method": name, "runs": len(group)}
        for key in ("val_acc", "test_acc", "parameters", "search_seconds", "images"):
            values = [float(r[key]) for r in group]
            entry[key] = statistics.fmean(values)
            entry[key + "_std"] = statistics.stdev(values) if len(values) > 1 else 0.0
        out.append(entry)
    return out


def write_results(out: Path, rows: Sequence[Mapping]) -> None:
    """``results.csv`` and ``results.json`` (the table's columns, one row per finished cell) and the figures."""
    import csv

    with open(out / "results.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, COLUMNS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows([{**r, "preset": r.get("preset") or ""} for r in rows])
    (out / "results.json").write_text(json.dumps([{k: r[k] for k in COLUMNS} for r in rows], indent=1))
    if rows:
        write_figures(out, rows)


def load_rows(out: str | Path) -> list[dict]:
    """The finished rows of a comparison folder: every cell's ``result.json`` (also of a stopped comparison)."""
    config = saved_config(out)
    rows = []
    for text in config.methods:
        name, preset = parse_method(text)
        for seed in range(config.seeds):
            row = read_json(Path(out) / f"{name}{'-' + preset if preset else ''}-seed{seed}" / "result.json")
            if isinstance(row, dict):
                rows.append(row)
    return rows


def figures(rows: Sequence[Mapping]) -> dict:
    """The three plotly figures: accuracy against parameters (each method's Pareto front as a line),
    accuracy against search seconds, and each method's mean test accuracy ± standard deviation."""
    import plotly.graph_objects as go

    scatter, timing = go.Figure(), go.Figure()
    for name in dict.fromkeys(label(r) for r in rows):
        group = [r for r in rows if label(r) == name]
        text = [f"seed {r['seed']}" for r in group]
        scatter.add_scatter(x=[r["parameters"] for r in group], y=[r["test_acc"] for r in group], mode="markers",
                            name=name, legendgroup=name, text=text)
        front = sorted((r for r in group if on_front(r, group)), key=lambda r: r["parameters"])
        scatter.add_scatter(x=[r["parameters"] for r in front], y=[r["test_acc"] for r in front], mode="lines",
                            name=f"{name} front", legendgroup=name, line={"dash": "dot"})
        timing.add_scatter(x=[r["search_seconds"] for r in group], y=[r["test_acc"] for r in group],
                           mode="markers", name=name, text=text)
    scatter.update_layout(title="Test accuracy against parameters (dotted: each method's Pareto front on "
                                "validation accuracy)", xaxis_title="parameters", yaxis_title="test accuracy")
    timing.update_layout(title="Test accuracy against search time", xaxis_title="search seconds",
                         yaxis_title="test accuracy")
    stats = summary(rows)
    spread = go.Figure(go.Bar(x=[s["method"] for s in stats], y=[s["test_acc"] for s in stats],
                              error_y={"type": "data", "array": [s["test_acc_std"] for s in stats]}))
    spread.update_layout(title="Mean test accuracy ± standard deviation over seeds", yaxis_title="test accuracy")
    return {"accuracy_vs_parameters": scatter, "accuracy_vs_search_time": timing, "accuracy_spread": spread}


def write_figures(out: Path, rows: Sequence[Mapping]) -> list[Path]:
    """Each figure as a self-contained HTML file; also as PNG where kaleido is installed and works.
    Without plotly (not a core dependency: ``pip install nas-toolkit[ui]``) none is written;
    the table files hold every figure's data."""
    try:
        import plotly  # noqa: F401 -- optional: the figures only
    except ImportError:
        return []
    written = []
    for name, fig in figures(rows).items():
        path = out / f"{name}.html"
        fig.write_html(path, include_plotlyjs=True)
        written.append(path)
        try:
            import kaleido  # noqa: F401 -- optional: PNG export only

            fig.write_image(out / f"{name}.png")
            written.append(out / f"{name}.png")
        except Exception:  # not installed, or no browser for it offline: the HTML is the figure
            pass
    return written


def format_table(rows: Sequence[Mapping]) -> str:
    """The table as text: one line per row, then per method mean ± standard deviation."""
    lines = [f"{'method':<20} {'seed':>4} {'search s':>9} {'images':>9} {'params':>9} {'val acc':>8} {'test acc':>8}"]
    for r in rows:
        lines.append(f"{label(r):<20} {r['seed']:>4} {r['search_seconds']:>9.1f} {r['images']:>9,} "
                     f"{r['parameters']:>9,} {r['val_acc']:>8.4f} {r['test_acc']:>8.4f}")
    if rows:
        lines.append("per method (mean ± std over seeds):")
        for s in summary(rows):
            lines.append(f"  {s['method']:<18} {s['runs']} run(s): test acc {s['test_acc']:.4f} ± "
                         f"{s['test_acc_std']:.4f}, val acc {s['val_acc']:.4f} ± {s['val_acc_std']:.4f}, "
                         f"{s['parameters']:,.0f} ± {s['parameters_std']:,.0f} parameters, search "
                         f"{s['search_seconds']:.1f} ± {s['search_seconds_std']:.1f} s")
    return "\n".join(lines)
