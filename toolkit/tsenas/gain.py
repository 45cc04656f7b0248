"""Does cell-based weight inheritance pay? One network of a run, trained from scratch and from SuperNet cells.

TS-ENAS (Zou, Wu, Xia, Jiang, Wu, Zheng, "TS-ENAS: Two-Stage Evolution for Cell-based Network
Architecture Search", section IV.B.2 and Algorithm 2 line 6) starts every candidate from its cells'
weights in a trained SuperNet, so that a brief training already ranks it well. :func:`inheritance_gain`
measures what that start is worth for one individual of a run: with each seed it trains the network
``epochs`` epochs from a fresh initialisation ("scratch") and from the same initialisation with its
cells' tensors copied from a SuperNet (:func:`toolkit.tsenas.supernet.inherit_cells`), and scores both
on the run's validation split D_valid. The arms share the architecture, training config, seed, data
and code path (both start from given weights); only the starting weights differ. The test split is
never read: the arms are compared, so only validation figures may compare them.

Example:
    >>> gain = inheritance_gain("runs/ts-enas", seeds=(0, 1))  # doctest: +SKIP
    >>> gain.means  # doctest: +SKIP
    {'scratch': 0.93, 'final SuperNet': 0.97}
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import ToolkitError
from ..evaluate import EvalSpec, _load_weights, evaluate_all
from ..events import StopSignal
from ..genotype import Network
from ..rundir import load_checkpoint, read_json
from .cellspace import CellSpace
from .config import TsEnasConfig
from .run import TsEnasResult, _Evaluator, search_data
from .supernet import inherit_cells, supernet_network

SCRATCH = "scratch"
FINAL = "final SuperNet"  # the SuperNet after the run's last complete generation (checkpoint.pt)


@dataclass(frozen=True)
class InheritanceGain:
    """Validation accuracies of one network per start and seed.

    Attributes:
        individual: the network's id in the run.
        epochs: epochs each arm trained.
        seeds: the training seeds, the same for every arm.
        val_acc: per arm (``"scratch"``, then each SuperNet's name), one D_valid accuracy per seed.
    """

    individual: str
    epochs: int
    seeds: tuple[int, ...]
    val_acc: dict[str, tuple[float, ...]]

    @property
    def means(self) -> dict[str, float]:
        """Mean validation accuracy over the seeds, per arm."""
        return {arm: statistics.mean(accs) for arm, accs in self.val_acc.items()}


@dataclass(frozen=True)
class SavedRun:
    """What a TS-ENAS run folder holds for this comparison."""

    folder: Path
    config: TsEnasConfig
    space: CellSpace
    population: list[dict]  # the last complete generation's members
    best: str | None  # the chosen network's id (None: the run stopped before choosing)
    supernet: dict[str, torch.Tensor]  # the SuperNet's state after the last complete generation


def read_run(run: str | Path | TsEnasResult) -> SavedRun:
    """Read a TS-ENAS run folder (or a result's ``run_dir``); ToolkitError says what is missing."""
    if isinstance(run, TsEnasResult):
        if run.run_dir is None:
            raise ToolkitError("this TS-ENAS result has no run folder; run it with run_dir=... to compare starts")
        run = run.run_dir
    folder = Path(run)
    saved = read_json(folder / "config.json") or {}
    if saved.get("kind") != "ts-enas":
        raise ToolkitError(f"'{folder}' holds no TS-ENAS run (no config.json of kind 'ts-enas'); pass the folder "
                           "given to run_ts_enas(run_dir=...) or to 'search ts-enas --out'")
    generations = sorted(folder.glob("gen_*.json"))
    if not generations:
        raise ToolkitError(f"'{folder}' holds no complete generation yet; resume the run first")
    config = TsEnasConfig.from_dict({k: v for k, v in saved.items() if k != "kind"})
    best = (read_json(folder / "run.json") or {}).get("best") or {}
    return SavedRun(folder, config, CellSpace.from_dict(read_json(folder / "space.json")),
                    read_json(generations[-1])["population"], best.get("id"),
                    load_checkpoint(folder / "checkpoint.pt")["supernet"])


def pick_member(run: SavedRun, individual: str | dict | None) -> dict:
    """The member record to compare: ``individual`` itself, the member of the last generation with that id,
    or (None) the run's chosen network."""
    if isinstance(individual, dict):
        missing = [k for k in ("id", "network", "codes") if k not in individual]
        if missing:
            raise ToolkitError(f"the individual lacks {', '.join(missing)}; pass a member of a generation "
                               "(result.generations[-1]['population'][i]) or its id")
        return individual
    if individual is None:
        if run.best is None:
            raise ToolkitError(f"the run in '{run.folder}' chose no network (it stopped); resume it to the end "
                               "or pass individual= the id of a member of its last generation")
        individual = run.best
    ids = [m["id"] for m in run.population]
    if individual not in ids:
        raise ToolkitError(f"no individual {individual!r} in the last generation of '{run.folder}'; "
                           f"pick one of {', '.join(ids)}")
    return run.population[ids.index(individual)]


def inheritance_specs(run: SavedRun, member: dict, supernets: Mapping[str, dict], seeds: Sequence[int],
                      epochs: int | None = None) -> dict[str, list[EvalSpec]]:
    """The evaluations of :func:`inheritance_gain`, per arm one per seed (Algorithm 2 line 6's start
    for the SuperNet arms): every spec of a seed has the same architecture, config, seed and hold-out,
    and starts from the same fresh initialisation, into which the SuperNet arms copy their cells."""
    config, space = run.config, run.space
    evaluator = _Evaluator(config, space, search_data(config), None, None, StopSignal())
    train = evaluator.train_config if epochs is None else dataclasses.replace(evaluator.train_config, epochs=epochs)
    sn_network, slots = supernet_network(space, (config.n_max - 1) // 2)
    sources = {}
    for name, state in supernets.items():
        sources[name] = evaluator.build(sn_network, config.seed)
        _load_weights(sources[name], state, name)
    network = Network.from_dict(member["network"])
    arms: dict[str, list[EvalSpec]] = {SCRATCH: [], **{name: [] for name in sources}}
    for seed in seeds:
        for arm in arms:
            net = evaluator.build(network, seed)  # the same fresh initialisation for every arm of this seed
            if arm != SCRATCH:
                inherit_cells(net, sources[arm], member["codes"], space, slots)
            arms[arm].append(EvalSpec(network, train, seed=seed, weights=net.state_dict(), name=f"{member['id']} "
                                      f"({arm}, seed {seed})", holdout=evaluator.holdout, test=False))
    return arms


def inheritance_gain(run: str | Path | TsEnasResult, individual: str | dict | None = None, *,
                     seeds: Sequence[int] = (0, 1), epochs: int | None = None,
                     supernets: Mapping[str, dict] | None = None, executor=None) -> InheritanceGain:
    """Train one network of a TS-ENAS run from scratch and from SuperNet cells; return D_valid accuracies.

    Args:
        run: the run folder, or the result of a run made with a run folder.
        individual: a member id of the last complete generation, a member record, or None for the
            network the run chose.
        seeds: training seeds, each used by every arm.
        epochs: epochs per training (default: the run's ``epochs``, what every candidate trained).
        supernets: SuperNet state dicts to start from, by arm name (default: ``{"final SuperNet": the
            state in checkpoint.pt}``, which holds weights written back by the run's best networks).
        executor: where the trainings run (:func:`toolkit.evaluate.evaluate_all`; default here, in turn).
    """
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, Sequence) or not seeds or \
            not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds):
        raise ToolkitError(f"seeds must be a non-empty list of whole numbers such as (0, 1), got {seeds!r}")
    saved = read_run(run)
    member = pick_member(saved, individual)
    arms = inheritance_specs(saved, member, {FINAL: saved.supernet} if supernets is None else supernets, seeds,
                             epochs)
    results = iter(evaluate_all([s for specs in arms.values() for s in specs], executor))
    val_acc = {arm: tuple(float(next(results)["val_acc"]) for _ in specs) for arm, specs in arms.items()}
    return InheritanceGain(member["id"], next(iter(arms.values()))[0].config.epochs, tuple(seeds), val_acc)
