"""The TS-ENAS loop: rough stage (Algorithm 2), then fine stage (Algorithm 4), resumable per generation.

TS-ENAS (Zou, Wu, Xia, Jiang, Wu, Zheng, "TS-ENAS: Two-Stage Evolution for Cell-based Network
Architecture Search", Algorithm 1):

1. Algorithm 3 draws P networks of known cells; a SuperNet of every known cell is trained
   (:mod:`toolkit.tsenas.supernet`, Algorithm 2 lines 2-3).
2. Rough stage, T0 generations: binary tournaments pick parents; crossover with probability γ
   gives two children, cell or connection mutation (one of the two, equally likely) with
   probability β a third (lines 8-18), until P children exist; each child starts from its cells'
   SuperNet weights, trains ``epochs`` epochs and is scored on D_valid (line 6); environmental selection
   keeps P of parents and children (line 19, IV.B.4); the best individuals write their cells'
   weights back into the SuperNet every ``update_every`` generations (IV.B.2 steps 1-4).
3. Fine stage, T1 generations on the best S: each individual gets a node/edge-mutated child and a
   pruned child, evaluated the same way, and the best of the three stays (Algorithm 4).

Fitness is validation accuracy (section V.C): :func:`toolkit.holdout.hold_out` keeps 10% of each
class's training images apart as D_valid, the SuperNet and every candidate train on the rest, and
every choice (tournaments, environmental selection, the top-S cut, the best of three, the chosen
network) ranks on ``val_acc``. The test split is read once, for the chosen network, after the
last generation (``test_acc`` in the result's ``best``, ``run.json`` and the ``run_end`` event).

Every individual is trained once, when it is born (Algorithm 2 evaluates P_t at each generation's
start; with its weights already inherited and trained, a second brief training would only add
epochs). Parent selection is a binary tournament on validation accuracy (the paper does not say
how parents are picked). Candidates are evaluated through any executor (:func:`toolkit.evaluate.evaluate_all`)
as plain values, so a process pool or a Dask cluster runs them.

Random draws come from ``random.Random`` seeded by (seed, generation) and evaluations from seeds
derived from (seed, generation, index), so a run stopped after generation t and resumed computes
what an uninterrupted run computes. The run folder holds ``config.json``, ``space.json``,
``supernet/`` (the SuperNet training's run folder: a checkpoint after every epoch and at a stop, so a
stopped SuperNet training resumes mid-epoch exactly as ``train --resume`` does), ``gen_NNN.json`` (the
population after each generation, members with ``val_acc``), ``lineage.json`` (every evaluated
individual: parents, operator and ``val_acc``), ``checkpoint.pt`` (SuperNet and population weights
after the last complete generation), and at the end ``network.json`` (the best network) and
``run.json``. A stop during a generation keeps the generations before it; resuming evaluates that
generation again from its start (its draws and seeds are fixed, so the records equal an
uninterrupted run's).
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..config import RunConfig, TrainConfig
from ..data import DatasetSplits, load_dataset
from ..engine import steps_left
from ..errors import ToolkitError
from ..evaluate import EvalSpec, evaluate_all
from ..events import StopSignal
from ..genotype import Network
from ..holdout import VALID_FRACTION, Holdout, hold_out
from ..model import EvalNetwork
from ..rundir import RunDir
from ..runtime import pick_device
from ..stages import StageRun, Stages, run_stages
from ..steps import evaluate, make_loader, require, require_run_arguments, train_batches
from ..train import build_network, train_network
from .cellspace import CellSpace, table_ii
from .config import TsEnasConfig
from .encoding import FineCode, RoughCode, initial_population
from .operators import cell_mutation, connection_mutation, crossover, fine_mutation, node_pruning
from .selection import environmental_selection
from .supernet import inherit_cells, supernet_network, write_back


@dataclass
class TsEnasResult:
    """What a TS-ENAS run found.

    Attributes:
        status: 'finished' or 'stopped'.
        best: the chosen individual's record (id, val_acc, parameters, N, network, code, parents) with
            ``test_acc``, its accuracy on the test split (the only figure measured there).
        generations: per generation: ``index``, ``stage`` and ``population`` (member records).
        space: the cell space searched.
        run_dir: the run folder, if any.
    """

    status: str
    best: dict | None
    generations: list[dict]
    space: CellSpace
    run_dir: Path | None = None
    supernet: EvalNetwork | None = field(default=None, repr=False)

    @property
    def network(self) -> Network | None:
        """The best individual's network description."""
        return Network.from_dict(self.best["network"]) if self.best else None


SUPERNET = "supernet"  # the SuperNet training's run folder inside the run folder


def _rng(seed: int, generation: int, what: str = "") -> random.Random:
    return random.Random(f"ts-enas/{seed}/{generation}/{what}")


def _eval_seed(seed: int, generation: int, index: int) -> int:
    return (seed * 1_000_003 + generation * 10_007 + index) % (2**31)


def _member(mid: str, generation: int, stage: str, code, codes, network: Network, parents, origin: str) -> dict:
    return {"id": mid, "generation": generation, "stage": stage,
            "code": code.to_list(), "codes": list(codes), "network": network.to_dict(), "N": len(network.cells),
            "parents": list(parents), "origin": origin, "val_acc": None, "parameters": None}


def member_record(m: dict) -> dict:
    """An evaluated individual as the member record of a ``member`` or ``generation`` event."""
    return {"id": m["id"], "parents": m["parents"], "genotype": m["network"],
            "metrics": {"val_acc": m["val_acc"], "parameters": m["parameters"], "N": m["N"], "stage": m["stage"]}}


def _tournament(population: list[dict], rng: random.Random) -> dict:
    a, b = rng.sample(population, 2)
    return a if a["val_acc"] >= b["val_acc"] else b


def _offspring(population: list[dict], config: TsEnasConfig, space: CellSpace, generation: int) -> list[dict]:
    """Algorithm 2 lines 7-18: children until there are P of them."""
    rng, children = _rng(config.seed, generation, "offspring"), []
    while len(children) < config.population:
        p1, p2 = _tournament(population, rng), _tournament(population, rng)
        c1, c2 = RoughCode.from_list(p1["code"]), RoughCode.from_list(p2["code"])
        if rng.random() < config.crossover_rate:
            q1, q2 = crossover(c1, c2, space, rng)
            made = [(q1, [p1["id"], p2["id"]], "crossover"), (q2, [p1["id"], p2["id"]], "crossover")]
        else:
            made = [(c1, [p1["id"]], "copy"), (c2, [p2["id"]], "copy")]
        p3 = _tournament(population, rng)
        c3 = RoughCode.from_list(p3["code"])
        cell = rng.random() < 0.5
        if rng.random() < config.mutation_rate:
            made.append((cell_mutation(c3, space, rng) if cell else connection_mutation(c3, rng), [p3["id"]],
                         "cell mutation" if cell else "connection mutation"))
        else:
            made.append((c3, [p3["id"]], "copy"))
        for code, parents, origin in made[:config.population - len(children)]:
            mid = f"g{generation}-{len(children)}"
            children.append(_member(mid, generation, "rough", code, [g[2] for g in code.genes], code.decode(space),
                                    parents, origin))
    return children


def _fine_children(population: list[dict], config: TsEnasConfig, space: CellSpace, generation: int) -> list[dict]:
    """Algorithm 4 lines 5-6: a mutated and a pruned child of every individual."""
    rng, children = _rng(config.seed, generation, "fine"), []
    for p in population:
        code = FineCode.from_list(p["code"])
        for op, child in (("node/edge mutation", fine_mutation(code, space, rng)),
                          ("node pruning", node_pruning(code, rng))):
            mid = f"g{generation}-{len(children)}"
            children.append(_member(mid, generation, "fine", child, p["codes"], child.decode(space), [p["id"]], op))
    return children


def search_holdout(config: TsEnasConfig) -> Holdout:
    """D_valid (section V.C: 10% of the training images, class-balanced, seeded) and the data caps."""
    return Holdout(VALID_FRACTION, config.seed, config.max_train_images, config.max_image_size)


def search_data(config: TsEnasConfig, data: DatasetSplits | None = None) -> DatasetSplits:
    """The run's data: ``data`` (default: ``config.dataset`` by name) capped and split by :func:`search_holdout`."""
    data = data or load_dataset(config.dataset, config.data_dir, seed=config.seed, image_size=config.image_size)
    return hold_out(data, search_holdout(config))


def search_plan(config: TsEnasConfig, data: DatasetSplits) -> dict:
    """What a run of ``config`` on ``data`` (as :func:`search_data` gives it) will train: images, their
    size, the SuperNet's steps, each candidate's steps and the number of candidates."""
    steps_per_epoch = -(-len(data.train) // config.batch_size)
    evaluations = sum(config.population if g <= config.rough_generations else 2 * config.survivors
                      for g in range(config.rough_generations + config.fine_generations + 1))
    return {"train_images": len(data.train), "valid_images": len(data.valid), "image_size": data.image_size,
            "supernet_steps": config.supernet_epochs * steps_per_epoch,
            "candidate_steps": config.epochs * steps_per_epoch, "candidates": evaluations}


class _Evaluator:
    """Builds each candidate from its cells' SuperNet weights and evaluates the batch through the executor
    (trained on the training images, scored on D_valid, the test split left unread)."""

    def __init__(self, config: TsEnasConfig, space: CellSpace, data: DatasetSplits, executor, bus, stop):
        self.config, self.space, self.data = config, space, data
        self.executor, self.bus, self.stop = executor, bus, stop
        common = {f.name: getattr(config, f.name) for f in dataclasses.fields(RunConfig)}
        self.train_config = TrainConfig(**common, channels=config.channels)
        self.holdout = search_holdout(config)

    def build(self, network: Network, seed: int) -> EvalNetwork:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            return build_network(network, self.train_config, self.data)

    def __call__(self, members: list[dict], generation: int, supernet: EvalNetwork, slots) -> list[dict] | None:
        specs = []
        for i, m in enumerate(members):
            seed = _eval_seed(self.config.seed, generation, i)
            network = Network.from_dict(m["network"])
            net = self.build(network, seed)
            inherit_cells(net, supernet, m["codes"], self.space, slots)
            specs.append(EvalSpec(network, self.train_config, seed=seed, weights=net.state_dict(), name=m["id"],
                                  keep_weights=True, holdout=self.holdout, test=False))

        def done(index: int, metrics: dict) -> None:
            self.bus.emit("step", epoch=generation + 1, step=index + 1, steps=len(specs),
                          loss=float(metrics["train_loss"] or 0.0), acc=float(metrics["val_acc"]))
            evaluated = {"val_acc": float(metrics["val_acc"]), "parameters": int(metrics["parameters"])}
            self.bus.emit("member", index=generation, member=member_record({**members[index], **evaluated}))

        results = evaluate_all(specs, self.executor, on_result=done, stop=self.stop)
        if any(r is None for r in results):
            return None
        weights = {}
        for m, r in zip(members, results):
            m["val_acc"], m["parameters"] = float(r["val_acc"]), int(r["parameters"])
            weights[m["id"]] = r["weights"]
        return weights

    def test(self, member: dict, weights: dict) -> float:
        """The chosen network's accuracy on the test split: the run's one read of it."""
        net = self.build(Network.from_dict(member["network"]), 0)
        net.load_state_dict(weights)
        device = pick_device(self.config.device)
        loader = make_loader(self.data.test, 256, False)
        return float(evaluate(net.to(device), loader, device, self.config.amp)["acc"])


def _ranked(population: list[dict]) -> list[dict]:
    return sorted(population, key=lambda m: -m["val_acc"])


def run_ts_enas(config: TsEnasConfig | None, *, space: CellSpace | None = None, data: DatasetSplits | None = None,
                executor: Executor | None = None, listeners: Sequence = (), stop: StopSignal | None = None,
                run_dir: str | Path | None = None, resume: bool = False, progress: bool = False) -> TsEnasResult:
    """Run TS-ENAS (Algorithm 1) and return the best network found.

    Args:
        config: the settings (:func:`toolkit.tsenas.config.ts_enas_config` for a preset); None when
            resuming takes the run's saved config.json.
        space: the cell space (default Table II; :meth:`CellSpace.with_cells` adds searched cells; None
            when resuming takes the run's saved space.json).
        data: preloaded dataset splits for the SuperNet and the final test (candidates load the
            dataset by name); D_valid is held out of its training split either way.
        executor: where candidates are evaluated (default: one after another in this process).
        listeners, stop, progress: events (one root run; a ``step`` and a ``member`` event per evaluated
            candidate, as it is evaluated; a ``generation`` event per generation, its survivors), a
            stop signal checked between candidates and generations, a console bar.
        run_dir, resume: the run folder (locked while the run lasts); ``resume`` continues a SuperNet
            training that stopped from its checkpoint (``supernet/``), else after the last complete
            generation. A config or space given to a resumed run must equal the saved one
            (:func:`toolkit.stages.check_resume`).

    The run is a :class:`toolkit.stages.Stages` method on :func:`toolkit.stages.run_stages`, whose
    units are the SuperNet's training and then one per generation.
    """
    require(space, (CellSpace, type(None)), "space", "pass table_ii() or None")
    require(data, (DatasetSplits, type(None)), "data", "pass load_dataset(...) or None")
    require(executor, (Executor, type(None)), "executor", "pass make_executor(...)'s executor or None")
    require_run_arguments(listeners, stop, run_dir, resume, progress)
    if resume and run_dir is None:
        raise ToolkitError("resume needs the run folder (run_dir) of the run to continue")
    require(config, (TsEnasConfig, type(None)) if resume else TsEnasConfig, "config")
    method = TsEnasStages(config, space if space is not None or resume else table_ii(), data, executor)
    status = run_stages(method, listeners=tuple(listeners), stop=stop, run_dir=run_dir, resume=resume,
                        progress=progress)
    return TsEnasResult(status, method.best, method.generations, method.space,
                        Path(run_dir) if run_dir is not None else None, method.supernet)


class TsEnasStages(Stages):
    """TS-ENAS as units of :func:`toolkit.stages.run_stages`: the SuperNet's training (Algorithm 2 lines
    2-3, an engine run in ``supernet/``), then generations 0..T0+T1, each saved as ``gen_NNN.json``,
    ``lineage.json`` and ``checkpoint.pt`` (SuperNet and population weights) when it finishes."""

    kind = name = "ts-enas"
    described = ("config", "space")

    def __init__(self, config: TsEnasConfig | None, space: CellSpace | None, data: DatasetSplits | None,
                 executor: Executor | None):
        self.config, self.space, self.data, self.executor = config, space, data, executor
        self.population: list[dict] = []
        self.weights: dict = {}
        self.lineage: dict = {}
        self.generations: list[dict] = []
        self.best: dict | None = None
        self.supernet: EvalNetwork | None = None

    def parse(self, name: str, saved: dict):
        return TsEnasConfig.from_dict(saved) if name == "config" else CellSpace.from_dict(saved)

    def prepare(self, context: StageRun) -> None:
        config = self.config
        self.context, self.data = context, search_data(config, self.data)
        self.evaluator = _Evaluator(config, self.space, self.data, self.executor, context.bus, context.stop)
        self.sn_network, self.slots = supernet_network(self.space, (config.n_max - 1) // 2)
        self.supernet = self.evaluator.build(self.sn_network, config.seed)
        self.last = config.rough_generations + config.fine_generations
        self.units = (SUPERNET, *(f"generation {g}" for g in range(self.last + 1)))

    def restore(self, run: RunDir) -> int:
        """After a complete generation: its checkpoint, the generations and the lineage (else from the start,
        the SuperNet's training continuing from its own folder)."""
        if not run.has_checkpoint:
            return 0
        state = run.load_checkpoint()
        start = state["generation"] + 1
        self.lineage = run.read_json("lineage.json", {})
        self.generations = [run.read_json(f"gen_{g:03d}.json") for g in range(start)]
        if self.generations and any("val_acc" not in m for m in self.generations[-1]["population"]):
            raise ToolkitError(f"'{run.path}' was made by a version that selected on the test split; it cannot be "
                               "resumed with validation selection: start a new run")
        self.supernet.load_state_dict(state["supernet"])
        self.population, self.weights = state["population"], state["weights"]
        return start + 1

    def run_start(self, done: int) -> dict:
        config, start = self.config, max(done - 1, 0)
        evaluations = sum(config.population if g <= config.rough_generations else 2 * config.survivors
                          for g in range(start, self.last + 1))
        steps_per_epoch = train_batches(len(self.data.train), config.batch_size)
        sn_folder = self.context.folder(SUPERNET) if self.context.resume else None
        sn_steps = steps_left(sn_folder, config.supernet_epochs, steps_per_epoch) if done == 0 else 0
        return {"epochs": self.last + 1, "start_epoch": start, "total_steps": evaluations + sn_steps}

    def run_unit(self, index: int, context: StageRun) -> str:
        if index > 0:
            return self._generation(index - 1)
        # Algorithm 2 lines 2-3, through the run loop: checkpointed, resumed mid-epoch exactly
        sn_config = dataclasses.replace(self.evaluator.train_config, epochs=self.config.supernet_epochs)
        trained = train_network(self.sn_network, sn_config, data=self.data, model=self.supernet, name="supernet",
                                test=False, session=context.session(SUPERNET, sn_config))
        return trained.status

    def _generation(self, generation: int) -> str:
        """One generation: children born (Algorithm 2 lines 7-18, or Algorithm 4 lines 5-6), evaluated,
        selected, and every ``update_every`` generations written back into the SuperNet."""
        config, space = self.config, self.space
        if generation == 0:
            codes = initial_population(space, config.population, config.n_min, config.n_max, _rng(config.seed, 0))
            born = [_member(f"g0-{i}", 0, "rough", c, [g[2] for g in c.genes], c.decode(space), [], "initial")
                    for i, c in enumerate(codes)]
        elif generation <= config.rough_generations:
            born = _offspring(self.population, config, space, generation)
        else:
            if generation == config.rough_generations + 1:  # Algorithm 1 line 9 and Algorithm 4 line 1
                self.population = [{**m, "stage": "fine", "code": FineCode.from_rough(RoughCode.from_list(m["code"]),
                                                                                     space).to_list()}
                                   for m in _ranked(self.population)[:config.survivors]]
            born = _fine_children(self.population, config, space, generation)
        new_weights = self.evaluator(born, generation, self.supernet, self.slots)
        if new_weights is None:
            return "stopped"
        weights = {**self.weights, **new_weights}
        self.population = _survivors(self.population, born, generation, config)
        self.weights = {m["id"]: weights[m["id"]] for m in self.population}
        if generation % config.update_every == 0:
            self._write_back()
        self.lineage.update({m["id"]: {k: m[k] for k in ("generation", "stage", "parents", "origin", "val_acc",
                                                         "parameters", "N")} for m in born})
        self.generations.append({"index": generation, "stage": "rough" if generation <= config.rough_generations
                                 else "fine", "population": self.population, "born": [m["id"] for m in born]})
        return "finished"

    def _write_back(self) -> None:
        """IV.B.2 steps 1-4: the best individuals' cell weights go back into the SuperNet."""
        ranked = []
        for m in _ranked(self.population):
            net = self.evaluator.build(Network.from_dict(m["network"]), 0)
            net.load_state_dict(self.weights[m["id"]])
            ranked.append((net, m["codes"]))
        write_back(self.supernet, ranked, self.space, self.slots)

    def save_unit(self, index: int, run: RunDir) -> None:
        if index == 0:
            return  # the SuperNet's training keeps its own run folder
        generation = index - 1
        run.write_json(f"gen_{generation:03d}.json", self.generations[-1])
        run.write_json("lineage.json", self.lineage)
        run.save_checkpoint({"generation": generation, "population": self.population, "weights": self.weights,
                             "supernet": self.supernet.state_dict()})

    def generation(self, index: int) -> dict | None:
        if index == 0:
            return None
        return {"index": index - 1, "population": [member_record(m) for m in self.population]}

    def finish(self, status: str, done: int, run: RunDir | None) -> tuple[dict, dict]:
        """The chosen network, tested once on the test split (``network.json``), when the run finished."""
        summary, end = None, {"epochs_done": max(done - 1, 0)}
        if status == "finished":
            best = _ranked(self.population)[0]
            self.best = best = {**best, "test_acc": self.evaluator.test(best, self.weights[best["id"]])}
            summary = {k: best[k] for k in ("id", "val_acc", "test_acc", "parameters", "N")}
            end.update(val_acc=best["val_acc"], test_acc=best["test_acc"], parameters=best["parameters"],
                       genotype=best["network"])
            if run is not None:
                run.write_json("network.json", best["network"])
        return {"generations_done": end["epochs_done"], "best": summary}, end


def _survivors(population: list[dict], born: list[dict], generation: int, config: TsEnasConfig) -> list[dict]:
    """Who stays: the born generation 0; environmental selection of parents and children in the rough stage
    (Algorithm 2 line 19); the best of each individual and its two children in the fine stage (Algorithm 4)."""
    if generation == 0:
        return born
    if generation <= config.rough_generations:
        pool = population + born
        keep = environmental_selection([m["val_acc"] for m in pool], [m["N"] for m in pool],
                                       config.population, config.level_threshold)
        return [pool[i] for i in sorted(keep)]
    return [max([p, *born[2 * i:2 * i + 2]], key=lambda m: m["val_acc"])  # ties keep p
            for i, p in enumerate(population)]
