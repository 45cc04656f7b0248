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

import contextlib
import dataclasses
import random
from collections.abc import Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from ..config import RunConfig, TrainConfig
from ..data import DatasetSplits, load_dataset
from ..engine import Session, event_bus, steps_left
from ..errors import ToolkitError
from ..evaluate import EvalSpec, evaluate_all
from ..events import StopSignal
from ..genotype import Network
from ..holdout import VALID_FRACTION, Holdout, hold_out
from ..model import EvalNetwork
from ..rundir import RunDir
from ..runtime import pick_device
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


def run_ts_enas(config: TsEnasConfig, *, space: CellSpace | None = None, data: DatasetSplits | None = None,
                executor: Executor | None = None, listeners: Sequence = (), stop: StopSignal | None = None,
                run_dir: str | Path | None = None, resume: bool = False, progress: bool = False) -> TsEnasResult:
    """Run TS-ENAS (Algorithm 1) and return the best network found.

    Args:
        config: the settings (:func:`toolkit.tsenas.config.ts_enas_config` for a preset).
        space: the cell space (default Table II; :meth:`CellSpace.with_cells` adds searched cells).
        data: preloaded dataset splits for the SuperNet and the final test (candidates load the
            dataset by name); D_valid is held out of its training split either way.
        executor: where candidates are evaluated (default: one after another in this process).
        listeners, stop, progress: events (one root run, a ``generation`` event per generation), a
            stop signal checked between candidates and generations, a console bar.
        run_dir, resume: the run folder (locked while the run lasts); ``resume`` continues a SuperNet
            training that stopped from its checkpoint (``supernet/``), else after the last complete
            generation (with the config and cell space saved there).
    """
    require(space, (CellSpace, type(None)), "space", "pass table_ii() or None")
    require(data, (DatasetSplits, type(None)), "data", "pass load_dataset(...) or None")
    require(executor, (Executor, type(None)), "executor", "pass make_executor(...)'s executor or None")
    require_run_arguments(listeners, stop, run_dir, resume, progress)
    if resume and run_dir is None:
        raise ToolkitError("resume needs the run folder (run_dir) of the run to continue")
    if not resume:
        require(config, TsEnasConfig, "config")
    run = RunDir(run_dir, resume=resume) if run_dir is not None else None
    with run if run is not None else contextlib.nullcontext():  # the folder's lock, released however this ends
        return _run(config, space, data, executor, listeners, stop, run, resume, progress)


def _run(config: TsEnasConfig | None, space: CellSpace | None, data: DatasetSplits | None, executor: Executor | None,
         listeners: Sequence, stop: StopSignal | None, run: RunDir | None, resume: bool,
         progress: bool) -> TsEnasResult:
    """Algorithm 1 in the (locked) run folder ``run``: the SuperNet, then the generations not done yet."""
    if resume and run is not None:
        config = TsEnasConfig.from_dict({k: v for k, v in run.read_json("config.json").items() if k != "kind"})
        space = CellSpace.from_dict(run.read_json("space.json"))
    space = space or table_ii()
    if run is not None and not resume:
        run.write_json("config.json", {"kind": "ts-enas", **config.to_dict()})
        run.write_json("space.json", space.to_dict())
    stop = stop or StopSignal()
    data = search_data(config, data)
    bus = event_bus(listeners, progress)
    evaluator = _Evaluator(config, space, data, executor, bus, stop)
    max_reductions = (config.n_max - 1) // 2
    sn_network, slots = supernet_network(space, max_reductions)
    supernet = evaluator.build(sn_network, config.seed)
    last = config.rough_generations + config.fine_generations
    state = run.load_checkpoint() if run is not None and run.has_checkpoint else None
    start = 0 if state is None else state["generation"] + 1
    steps_per_epoch = train_batches(len(data.train), config.batch_size)
    sn_folder = run.path / SUPERNET if run is not None else None
    evaluations = sum(config.population if g <= config.rough_generations else 2 * config.survivors
                      for g in range(start, last + 1))
    sn_steps = steps_left(sn_folder if resume else None, config.supernet_epochs, steps_per_epoch)
    bus.emit("run_start", name="ts-enas", kind="ts-enas", epochs=last + 1, start_epoch=start,
             total_steps=evaluations + (sn_steps if state is None else 0), config=config.to_dict())
    lineage = run.read_json("lineage.json", {}) if run is not None and state is not None else {}
    generations = [run.read_json(f"gen_{g:03d}.json") for g in range(start)] if start else []
    if generations and any("val_acc" not in m for m in generations[-1]["population"]):
        raise ToolkitError(f"'{run.path}' was made by a version that selected on the test split; it cannot be "
                           "resumed with validation selection: start a new run")
    if state is None:  # Algorithm 2 lines 2-3, through the run loop: checkpointed, resumed mid-epoch exactly
        sn_config = dataclasses.replace(evaluator.train_config, epochs=config.supernet_epochs)
        again = resume and sn_folder is not None and (sn_folder / "config.json").is_file()
        session = Session(sn_config, stop=stop, bus=bus.child("supernet"), run_dir=sn_folder, resume=again,
                          lock=False)
        trained = train_network(sn_network, sn_config, data=data, model=supernet, name="supernet", test=False,
                                session=session)
        if trained.status != "finished":
            return _end(bus, run, "stopped", 0, None, generations, space, supernet)
        population, weights = [], {}
    else:
        supernet.load_state_dict(state["supernet"])
        population, weights = state["population"], state["weights"]

    for generation in range(start, last + 1):
        if stop.requested:
            return _end(bus, run, "stopped", generation, None, generations, space, supernet)
        if generation == 0:
            codes = initial_population(space, config.population, config.n_min, config.n_max, _rng(config.seed, 0))
            born = [_member(f"g0-{i}", 0, "rough", c, [g[2] for g in c.genes], c.decode(space), [], "initial")
                    for i, c in enumerate(codes)]
        elif generation <= config.rough_generations:
            born = _offspring(population, config, space, generation)
        else:
            if generation == config.rough_generations + 1:  # Algorithm 1 line 9 and Algorithm 4 line 1
                population = [{**m, "stage": "fine", "code": FineCode.from_rough(RoughCode.from_list(m["code"]),
                                                                                   space).to_list()}
                              for m in _ranked(population)[:config.survivors]]
            born = _fine_children(population, config, space, generation)
        new_weights = evaluator(born, generation, supernet, slots)
        if new_weights is None:
            return _end(bus, run, "stopped", generation, None, generations, space, supernet)
        weights = {**weights, **new_weights}
        if generation == 0:
            population = born
        elif generation <= config.rough_generations:
            pool = population + born
            keep = environmental_selection([m["val_acc"] for m in pool], [m["N"] for m in pool],
                                           config.population, config.level_threshold)
            population = [pool[i] for i in sorted(keep)]
        else:
            population = [max([p, *born[2 * i:2 * i + 2]], key=lambda m: m["val_acc"])  # ties keep p
                          for i, p in enumerate(population)]
        weights = {m["id"]: weights[m["id"]] for m in population}
        if generation % config.update_every == 0:
            ranked = []
            for m in _ranked(population):
                net = evaluator.build(Network.from_dict(m["network"]), 0)
                net.load_state_dict(weights[m["id"]])
                ranked.append((net, m["codes"]))
            write_back(supernet, ranked, space, slots)
        lineage.update({m["id"]: {k: m[k] for k in ("generation", "stage", "parents", "origin", "val_acc",
                                                    "parameters", "N")} for m in born})
        record = {"index": generation, "stage": "rough" if generation <= config.rough_generations else "fine",
                  "population": population, "born": [m["id"] for m in born]}
        generations.append(record)
        if run is not None:
            run.write_json(f"gen_{generation:03d}.json", record)
            run.write_json("lineage.json", lineage)
            run.save_checkpoint({"generation": generation, "population": population, "weights": weights,
                                 "supernet": supernet.state_dict()})
        bus.emit("generation", index=generation, population=[
            {"id": m["id"], "parents": m["parents"], "genotype": m["network"],
             "metrics": {"val_acc": m["val_acc"], "parameters": m["parameters"], "N": m["N"], "stage": m["stage"]}}
            for m in population])
    best = _ranked(population)[0]
    best = {**best, "test_acc": evaluator.test(best, weights[best["id"]])}
    return _end(bus, run, "finished", last + 1, best, generations, space, supernet)


def _end(bus, run: RunDir | None, status: str, done: int, best: dict | None, generations: list[dict],
         space: CellSpace, supernet: EvalNetwork) -> TsEnasResult:
    summary = None
    if best is not None:
        summary = {k: best[k] for k in ("id", "val_acc", "test_acc", "parameters", "N")}
    if run is not None:
        if best is not None:
            run.write_json("network.json", best["network"])
        run.write_json("run.json", {"status": status, "generations_done": done, "best": summary})
    bus.emit("run_end", status=status, epochs_done=done,
             **({"val_acc": best["val_acc"], "test_acc": best["test_acc"], "parameters": best["parameters"],
                 "genotype": best["network"]}
                if best else {}))
    return TsEnasResult(status, best, generations, space, run.path if run is not None else None, supernet)

