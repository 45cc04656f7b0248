"""The ME-DARTS population loop: three stages of searches, NSGA-II selection, inheritance, crossover.

ME-DARTS paper section III.C (Table I): ``init`` searches ``population`` fresh supernets (seeds
``seed, seed+1, ...``); after each stage the individuals are ranked by non-dominated sorting on
validation accuracy and ``para_aug`` (eq. 6, both maximised) with crowding distance, the next
stage's ``parents`` are selected, their α (and β) is copied into that stage's deeper supernets
and crossover children ``(normal1, reduce2)``, ``(normal2, reduce1)`` join them. The single
individual of ``final`` gives the genotype. Every search runs on its stage's proxy data
(``D_sample`` at ``D_low``); the full data is only for evaluating the result afterwards.

Each individual's search is :func:`search_member` over a :class:`MemberSpec` of plain values, so
any ``concurrent.futures.Executor`` runs it (see :mod:`toolkit.executors`): in this process by
default, a process pool, or a Dask cluster; the same seeds give the same result everywhere.

Run folder: ``config.json``, ``stage_1.json`` .. ``stage_3.json`` (members with α, metrics,
Pareto front, selection, lineage), ``lineage.json``, ``genotype.json`` (the final individual's),
``run.json`` and, for members searched in this process, ``members/<name>/`` (each member's search run
folder with its checkpoint). A stopped run resumes at its first unfinished stage; finished stages are
read back, and so are the stage's finished members, while the member that was stopped continues from
its checkpoint exactly. Members searched on an executor have no run folder: their stage is searched
again.

Paper: "ME-DARTS: Introduce Multi-stage Evolution to Improve Differentiable Architecture Search",
Y. Chen, R. Shi, J. Luo.
"""

from __future__ import annotations

import math
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path

import torch

from ..config import SearchConfig
from ..data import DatasetSplits, load_dataset
from ..engine import Session, steps_left
from ..errors import ToolkitError
from ..events import EventBus, Listener, StopSignal
from ..executors import fan_out
from ..genotype import CellPair
from ..rundir import RunDir
from ..runtime import configure_threads, seeded
from ..search import build_supernet, run_search
from ..stages import StageRun, Stages, run_stages
from ..steps import require, require_run_arguments, train_batches
from .config import MeDartsConfig
from .individual import Individual
from .inherit import crossover, crossover_pairs, inherit
from .proxy import proxy_data, sample_size
from .selection import non_dominated_fronts, objectives, para_aug, select
from .stages import Stage


@dataclass(frozen=True)
class MemberSpec:
    """One individual's search in one stage, as plain values that pickle.

    Attributes:
        individual: its name, seed, lineage and the α (and β) copied into the supernet before the
            search (in the init stage: the random α of its own seed's supernet).
        config: the search (the stage's sizes, the individual's seed).
        stage: gives the proxy data (``D_sample`` size, ``D_low`` factor).
        data_seed: seeds the full data's split and the ``D_sample`` draw (the same for every member).
        eval_cells, eval_channels: the evaluation network ``para_aug`` counts.
    """

    individual: Individual
    config: SearchConfig
    stage: Stage
    data_seed: int
    eval_cells: int
    eval_channels: int


@lru_cache(maxsize=2)
def _full_data(dataset: str, data_dir: str, seed: int, image_size: int | None) -> DatasetSplits:
    """A worker process loads the full dataset once for all the members it searches."""
    return load_dataset(dataset, data_dir, seed=seed, image_size=image_size)


def _proxy(spec: MemberSpec, full: DatasetSplits | None) -> DatasetSplits:
    cfg = spec.config
    full = full if full is not None else _full_data(cfg.dataset, cfg.data_dir, spec.data_seed, cfg.image_size)
    return proxy_data(full, spec.stage, spec.data_seed)


def search_member(spec: MemberSpec, bus: EventBus | None = None, stop: StopSignal | None = None,
                  data: DatasetSplits | None = None, run_dir: Path | None = None) -> dict:
    """Search one individual on its stage's proxy data and return plain values.

    Runs the same here, in a pool worker or on a Dask worker: one torch thread, every generator
    seeded from the spec. In this process only: ``bus`` receives the search's events as a child run,
    ``stop`` ends it after the current step, ``data`` is the full dataset (default: loaded by name)
    and ``run_dir`` is the member's run folder inside the locked ME-DARTS folder (resumed when it
    holds a run: the search continues from its checkpoint, or is read back when finished).

    Returns:
        ``individual`` (its α after the search, as :meth:`Individual.to_dict`), ``status``,
        ``val_acc`` (last epoch, on the α half of ``D_sample``), ``para_aug``, ``genotype`` (dict)
        and ``history`` (the search's per-epoch records).
    """
    require(spec, MemberSpec, "spec")
    previous = torch.get_num_threads()
    configure_threads(1)
    try:
        data = _proxy(spec, data)
        ind = spec.individual
        with seeded(spec.config.seed):
            model = build_supernet(spec.config, data)
        inherit(ind, model)
        session = None
        if bus is not None or stop is not None or run_dir is not None:
            again = run_dir is not None and (Path(run_dir) / "config.json").is_file()
            session = Session(spec.config, stop=stop, bus=bus, run_dir=run_dir, resume=again, lock=False)
        result = run_search(spec.config, data=data, model=model, session=session)
        searched = Individual.from_supernet(result.model, ind.name, ind.seed, ind.parents)
        genotype = searched.genotype()
        last = result.history[-1] if result.history else {}
        return {"individual": searched.to_dict(), "status": result.status,
                "val_acc": float(last.get("val_acc", math.nan)),
                "para_aug": para_aug(genotype, data.num_classes, data.in_channels, spec.eval_cells, spec.eval_channels),
                "genotype": genotype.to_dict(), "history": [dict(r) for r in result.history]}
    finally:
        torch.set_num_threads(previous)


@dataclass
class MeDartsResult:
    """What :func:`run_me_darts` returns.

    Attributes:
        genotype: the final individual's cells (None when the run stopped before the final stage).
        stages: per finished stage, its record (as written to ``stage_N.json``).
        lineage: every individual's parents, by name.
        status: finished | stopped.
        run_dir: the run folder, or None.
    """

    genotype: CellPair | None
    stages: list[dict]
    lineage: dict[str, list[str]]
    status: str
    run_dir: Path | None = None

    @property
    def final(self) -> dict | None:
        """The final individual's member record (name, metrics, genotype, parents)."""
        return self.stages[-1]["members"][0] if self.status == "finished" else None


def member_steps(data: DatasetSplits, stage: Stage, config: SearchConfig) -> int:
    """Steps one search of ``stage`` takes: epochs x batches of the smaller half of ``D_sample``."""
    n = sample_size(data, stage) * data.num_classes
    first = int(config.train_portion * n)
    return stage.epochs * train_batches(min(first, n - first), stage.batch_size)


def next_population(stage: Stage, ranked: list[Individual]) -> list[Individual]:
    """``stage``'s population from the previous stage's selection ``ranked`` (best first): the
    parents under new names with their α (lineage: the old name), then the crossover children."""
    names = [f"{stage.name}-{i}" for i in range(stage.population)]
    members = [replace(ind, name=names[i], parents=(ind.name,)) for i, ind in enumerate(ranked)]
    k = len(members)
    for a, b in crossover_pairs(len(ranked), stage.children):
        members += crossover(ranked[a], ranked[b], (names[k], names[k + 1]))
        k += 2
    return members


def _member_record(result: dict) -> dict:
    """A finished member's search as a member record: its id, parents, genotype and the two objectives
    it is selected on (validation accuracy, ``para_aug``; eq. 6 normalises them once the stage is done)."""
    ind = result["individual"]
    return {"id": ind["name"], "parents": ind["parents"],
            "metrics": {"val_acc": result["val_acc"], "para_aug": result["para_aug"]}, "genotype": result["genotype"]}


def _stage_record(index: int, stage: Stage, results: list[dict], select_count: int | None) -> dict:
    points = objectives([r["val_acc"] for r in results], [r["para_aug"] for r in results])
    names = [r["individual"]["name"] for r in results]
    front = [names[i] for i in non_dominated_fronts(points)[0]]
    chosen = [names[i] for i in select(points, select_count)] if select_count else [names[select(points, 1)[0]]]
    members = []
    for i, r in enumerate(results):
        record = _member_record(r)
        record["metrics"]["objectives"] = [float(v) for v in points[i]]
        members.append({**record, "individual": r["individual"], "history": r["history"]})
    return {"index": index, "stage": stage.name, "settings": asdict(stage), "members": members,
            "pareto_front": front, "selected": chosen}


def run_me_darts(config: MeDartsConfig = MeDartsConfig(), *, data: DatasetSplits | None = None,
                 executor: Executor | None = None, listeners: tuple[Listener, ...] = (),
                 stop: StopSignal | None = None, run_dir: str | Path | None = None, resume: bool = False,
                 progress: bool = False) -> MeDartsResult:
    """Run ME-DARTS' three stages and return the final genotype, the stages' records and the lineage.

    Args:
        config: the search every individual runs and the stage plan.
        data: the full dataset, in this process only (default: ``config.search.dataset``, loaded by
            name where each member runs, as an executor's workers do).
        executor: runs the members' searches (default: one after another in this process, their
            events as child runs); a process pool or Dask (:func:`toolkit.executors.make_executor`),
            where a member's result is announced when it returns.
        listeners: event callbacks: a root run of kind 'me-darts', a child run (kind 'stage') per stage
            holding a search run per member and, as each member finishes, a ``member`` event (its
            val_acc, para_aug, genotype, parents), and after each stage one ``generation`` event
            (every member's record; the front).
        stop: ends the run after the current step (in this process) or member; the unfinished stage
            is searched again on resume.
        run_dir: the run folder (see the module docstring); resume continues it at the first
            unfinished stage, given the config it was started with (:func:`toolkit.stages.check_resume`).
        progress: a console bar over all members' steps.

    The run is a :class:`toolkit.stages.Stages` method on :func:`toolkit.stages.run_stages`, whose
    units are the stages; the members fan out through :func:`toolkit.executors.fan_out`.

    Raises:
        ToolkitError: bad input (a stage sample larger than the data, a K that does not divide a
            stage's channels, ...), a member's search that diverged, or a resumed run's config.json
            that differs from ``config``.
    """
    require(config, MeDartsConfig, "config")
    require(data, (DatasetSplits, type(None)), "data", "pass load_dataset(...) or None")
    require(executor, (Executor, type(None)), "executor", "pass make_executor(...)'s executor or None")
    require_run_arguments(listeners, stop, run_dir, resume, progress)
    cfg = config.search
    full = data if data is not None else _full_data(cfg.dataset, cfg.data_dir, cfg.seed, cfg.image_size)
    require(full, DatasetSplits, "data")
    if data is not None and executor is not None:
        raise ToolkitError("data= is for members searched in this process; an executor's workers load "
                           f"'{cfg.dataset}' by name, so drop data= or the executor")
    method = MeDartsStages(config, full, data, executor)
    status = run_stages(method, listeners=listeners, stop=stop, run_dir=run_dir, resume=resume, progress=progress)
    return MeDartsResult(method.genotype, method.records, method.lineage, status,
                         Path(run_dir) if run_dir is not None else None)


class MeDartsStages(Stages):
    """ME-DARTS as units of :func:`toolkit.stages.run_stages`: one unit per stage (paper Table I), its
    record ``stage_N.json`` written when it finishes and read back on resume."""

    kind = "me-darts"

    def __init__(self, config: MeDartsConfig, full: DatasetSplits, data: DatasetSplits | None,
                 executor: Executor | None):
        self.config, self.full, self.data, self.executor = config, full, data, executor
        self.name = "me-darts " + config.search.method
        self.stages = list(config.stages)
        self.units = tuple(stage.name for stage in self.stages)
        self.steps = [member_steps(full, stage, config.member_config(stage, config.search.seed))
                      for stage in self.stages]
        self.records: list[dict] = []
        self.lineage: dict[str, list[str]] = {}
        self.genotype: CellPair | None = None

    def prepare(self, context: StageRun) -> None:
        self.context = context
        self.members = context.folder("members") if self.executor is None else None  # in this process: resumable

    def restore(self, run: RunDir) -> int:
        for index in range(len(self.stages)):
            record = run.read_json(f"stage_{index + 1}.json")
            if record is None:
                break
            self.records.append(record)
        return len(self.records)

    def run_start(self, done: int) -> dict:
        """Steps left: the later stages' members, and the first unfinished stage's, counting their checkpoints."""
        left = sum(self.steps[i] * stage.population for i, stage in enumerate(self.stages) if i > done)
        if done < len(self.stages):
            left += _stage_steps_left(self.stages[done], done, self.steps[done],
                                      self.members if self.context.resume else None)
        return {"total_steps": left, "epochs": self.config.stages.total_epochs}

    def run_unit(self, index: int, context: StageRun) -> str:
        """Stage ``index``: its population (fresh, or the previous selection and its children), searched."""
        config, stage = self.config, self.stages[index]
        if index == 0:
            population = [_fresh(config, self.full, f"init-{i}", config.search.seed + i)
                          for i in range(stage.population)]
        else:
            prev = self.records[index - 1]
            by_name = {m["id"]: Individual.from_dict(m["individual"]) for m in prev["members"]}
            population = next_population(stage, [by_name[name] for name in prev["selected"]])
        specs = [MemberSpec(ind, config.member_config(stage, ind.seed), stage, config.search.seed,
                            config.eval_cells, config.eval_channels) for ind in population]
        stage_bus = context.bus.child(stage.name)
        stage_bus.emit("run_start", name=f"stage {index + 1}/{len(self.stages)} {stage.name}", kind="stage",
                       total_steps=self.steps[index] * stage.population, epochs=stage.epochs)
        results = self._search_all(index + 1, specs, stage_bus, context.stop)
        stage_bus.emit("run_end", status="stopped" if results is None else "finished",
                       epochs_done=0 if results is None else stage.epochs)
        if results is None:
            return "stopped"
        following = self.stages[index + 1].parents if index + 1 < len(self.stages) else None
        self.records.append(_stage_record(index + 1, stage, results, following))
        return "finished"

    def _search_all(self, stage: int, specs: list[MemberSpec], bus: EventBus, stop: StopSignal) -> list[dict] | None:
        """Every member's result in spec order, or None when a stop came first; each finished member
        is announced on the stage's ``bus`` as a ``member`` event (stage number ``stage``) as it returns.

        In this process each member searches in its own run folder ``members/<name>/`` (with a run
        folder), resumed when it holds one: a finished member is read back, a stopped one continues
        from its checkpoint exactly. On an executor a stopped stage is searched again."""
        names = [spec.individual.name for spec in specs]
        if self.executor is None:
            jobs = [(spec, bus.child(name), stop, self.data, self.members / name if self.members else None)
                    for spec, name in zip(specs, names)]
        else:
            jobs = [(spec,) for spec in specs]

        def announce(index: int, result: dict) -> None:
            if self.executor is not None:
                _announce(bus.child(names[index]), specs[index], result)
            if result["status"] == "finished":
                bus.emit("member", index=stage, member=_member_record(result))

        results = fan_out(search_member, jobs, names, self.executor, on_result=announce, stop=stop, what="member")
        return None if any(r is None or r["status"] != "finished" for r in results) else results

    def save_unit(self, index: int, run: RunDir) -> None:
        run.write_json(f"stage_{index + 1}.json", self.records[index])

    def generation(self, index: int) -> dict:
        record = self.records[index]
        return {"index": index + 1, "pareto_front": record["pareto_front"], "population": [
            {k: m[k] for k in ("id", "metrics", "genotype", "parents")} for m in record["members"]]}

    def finish(self, status: str, done: int, run: RunDir | None) -> tuple[dict, dict]:
        """The lineage and, when finished, the final individual's genotype (``genotype.json``)."""
        records = self.records
        self.lineage = {m["id"]: m["parents"] for r in records for m in r["members"]}
        if status == "finished":
            final = records[-1]["members"][[m["id"] for m in records[-1]["members"]].index(records[-1]["selected"][0])]
            self.genotype = CellPair.from_dict(final["genotype"])
        genotype = self.genotype
        if run:
            run.write_json("lineage.json", self.lineage)
            if genotype is not None:
                run.write_json("genotype.json", genotype.to_dict())
        end = {"epochs_done": sum(self.stages[i].epochs for i in range(len(records))),
               **({"genotype": genotype.to_dict(), "genotype_text": str(genotype)} if genotype else {})}
        return {"stages_done": len(records), "final": genotype and str(genotype)}, end


def _stage_steps_left(stage: Stage, index: int, steps: int, members: Path | None) -> int:
    """Steps the stage's members still compute (``steps`` each), counting what their folders under
    ``members`` hold (None: nothing done yet)."""
    prefix = "init" if index == 0 else stage.name  # the names _fresh and next_population give
    per_epoch = steps // max(stage.epochs, 1)
    return sum(steps_left(members / f"{prefix}-{i}" if members is not None else None, stage.epochs, per_epoch)
               for i in range(stage.population))


def _fresh(config: MeDartsConfig, data: DatasetSplits, name: str, seed: int) -> Individual:
    """An init individual: the random α of the supernet its own seed builds (the member builds the same)."""
    member = config.member_config(config.stages.init, seed)
    with seeded(seed):
        return Individual.from_supernet(build_supernet(member, data), name, seed)


def _announce(bus: EventBus, spec: MemberSpec, result: dict) -> None:
    """A member searched elsewhere: its run as start and end events (its steps happened in the worker)."""
    bus.emit("run_start", name=f"search {spec.config.method}", kind="search", total_steps=0,
             epochs=spec.config.epochs)
    bus.emit("run_end", status=result["status"], epochs_done=len(result["history"]), genotype=result["genotype"])

