"""Evaluating candidate architectures: one function over plain values, run by any executor.

Population methods decide what to try next; how a candidate is trained and tested sits behind
one module-level function, :func:`evaluate`, whose argument (:class:`EvalSpec`) and result (a
dict of plain values) pickle. So the same call runs in this process, in a process pool or on a
Dask cluster (see :mod:`toolkit.executors`), and gives the same figures wherever it runs on the
same machine: it seeds every generator from the spec and trains with a fixed thread count.

What gets evaluated is what both evolutionary methods need: ME-DARTS (Y. Chen, R. Shi, J. Luo,
"ME-DARTS: Introduce Multi-stage Evolution to Improve Differentiable Architecture Search",
section III.C) trains and tests each individual's discretised network; TS-ENAS (J. Zou, S. Wu,
Y. Xia, W. Jiang, Z. Wu, J. Zheng, "TS-ENAS: Two-Stage Evolution for Cell-based Network
Architecture Search", section IV.B, Algorithm 2 lines 6 and 12) starts each network from
inherited weights, trains it briefly and takes its accuracy as the fitness.

Example:
    >>> from toolkit import PUBLISHED, TrainConfig
    >>> specs = [EvalSpec(PUBLISHED[n], TrainConfig(epochs=1, channels=4, cells=3), name=n)
    ...          for n in ("DARTS_V2", "PC_DARTS")]
    >>> [(m["name"], m["epochs"]) for m in evaluate_all(specs)]  # doctest: +SKIP
    [('DARTS_V2', 1), ('PC_DARTS', 1)]
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from functools import lru_cache

import torch

from .config import TrainConfig
from .data import DatasetSplits, load_dataset
from .errors import ToolkitError
from .events import StopSignal
from .genotype import CellPair, Network
from .holdout import Holdout, hold_out
from .runtime import configure_threads
from .steps import require
from .train import build_network, train_network

TIMING_KEYS = ("seconds",)  # result keys that depend on the machine's load, not on the computation
ResultCallback = Callable[[int, dict], None]


@dataclass(frozen=True)
class EvalSpec:
    """One candidate to train and test, as plain values that pickle.

    Attributes:
        architecture: a cell pair (stacked with the config's cells and reductions) or a network
            description.
        config: training settings, dataset included; the data is loaded where the candidate runs.
        seed: seeds weights, data order and the split (None keeps ``config.seed``).
        weights: a state dict of the network's parameters and buffers to start from instead of a
            random initialisation (inherited weights); every entry must match the network.
        name: shown in tables and error messages.
        threads: torch threads the training uses; the same count wherever it runs, so results agree
            (several workers on one machine each want one).
        keep_weights: also return the trained state dict (on the CPU) under ``"weights"``.
        holdout: hold out a validation split of the training images (and cap the data) with
            :func:`toolkit.holdout.hold_out`; the dataset is then loaded with ``holdout.seed``, the
            same for every candidate of a run, so each reproduces the run's split. None: no split.
        test: measure the trained network on the test split; a search's candidates pass False
            (their ``val_acc`` selects; only the final network is tested).
    """

    architecture: CellPair | Network
    config: TrainConfig = field(default_factory=TrainConfig)
    seed: int | None = None
    weights: dict[str, torch.Tensor] | None = field(default=None, repr=False, compare=False)
    name: str = "candidate"
    threads: int = 1
    keep_weights: bool = False
    holdout: Holdout | None = None
    test: bool = True

    def __post_init__(self):
        require(self.architecture, (CellPair, Network), "architecture")
        require(self.config, TrainConfig, "config")
        if self.holdout is not None:
            require(self.holdout, Holdout, "holdout")
        if self.holdout is None and not self.test:
            raise ToolkitError("a candidate with test=False needs a holdout: without a validation split nothing "
                               "would measure it")
        self.train_config  # noqa: B018 -- validates the seed through the config's own checks
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) or self.threads < 1:
            raise ToolkitError(f"threads must be a positive whole number, got {self.threads!r}")
        if self.weights is not None:
            if not isinstance(self.weights, dict) or \
                    not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in self.weights.items()):
                raise ToolkitError("weights must be a state dict (parameter name -> tensor), "
                                   "e.g. network.state_dict()")
            # on the CPU and detached, so the spec pickles to any worker, with or without a GPU
            object.__setattr__(self, "weights", {k: v.detach().cpu() for k, v in self.weights.items()})

    @property
    def train_config(self) -> TrainConfig:
        """The config this candidate trains with (``seed`` applied)."""
        return self.config if self.seed is None else dataclasses.replace(self.config, seed=self.seed)


@lru_cache(maxsize=4)
def _dataset(name: str, root: str, seed: int, image_size: int | None, holdout: Holdout | None) -> DatasetSplits:
    """Each worker process loads a dataset (and makes its hold-out) once for all the candidates it evaluates."""
    data = load_dataset(name, root, seed=seed, image_size=image_size)
    return data if holdout is None else hold_out(data, holdout)


def _load_weights(model: torch.nn.Module, weights: dict[str, torch.Tensor], name: str) -> None:
    """Start from ``weights``; any missing, unexpected or mis-shaped entry is an error, never skipped."""
    own = model.state_dict()
    missing, unexpected = sorted(set(own) - set(weights)), sorted(set(weights) - set(own))
    wrong = [f"{k} {tuple(weights[k].shape)} vs {tuple(v.shape)}" for k, v in own.items()
             if k in weights and weights[k].shape != v.shape]
    if missing or unexpected or wrong:
        detail = "; ".join(f"{what}: {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
                           for what, keys in (("missing", missing), ("unexpected", unexpected),
                                              ("shape differs", wrong)) if keys)
        raise ToolkitError(f"weights of '{name}' do not fit its network ({detail}); pass the state dict of a "
                           f"network built from the same architecture and config")
    model.load_state_dict(weights)


def evaluate(spec: EvalSpec) -> dict:
    """Train and test one candidate (:func:`toolkit.train.train_network`) and return plain metrics.

    Runs the same in this process, a pool worker or a Dask worker: the dataset is loaded by name
    (once per process), torch uses ``spec.threads`` threads (the caller's count is restored after)
    and every generator is seeded from the spec.

    Returns:
        ``name``, ``status``, ``seed``, ``val_acc``, ``val_loss`` (None without a holdout),
        ``test_acc``, ``test_loss`` (None with ``test=False``), ``parameters``, ``epochs``
        (epochs done), ``train_loss`` and ``train_acc`` (last epoch), ``history`` (one record per
        epoch), ``seconds`` (wall time, listed in :data:`TIMING_KEYS`) and, with
        ``keep_weights``, ``weights`` (the trained state dict on the CPU).
    """
    require(spec, EvalSpec, "spec")
    config = spec.train_config
    threads = torch.get_num_threads()
    configure_threads(spec.threads)
    try:
        start = time.perf_counter()
        data_seed = config.seed if spec.holdout is None else spec.holdout.seed
        data = _dataset(config.dataset, config.data_dir, data_seed, config.image_size, spec.holdout)
        model = None
        if spec.weights is not None:
            model = build_network(spec.architecture, config, data)
            _load_weights(model, spec.weights, spec.name)
        result = train_network(spec.architecture, config, data=data, model=model, name=spec.name, test=spec.test)
        last = result.history[-1] if result.history else {}
        metrics = {"name": spec.name, "status": result.status, "seed": config.seed,
                   "val_acc": result.val_acc, "val_loss": result.val_loss,
                   "test_acc": result.test_acc, "test_loss": result.test_loss, "parameters": result.parameters,
                   "epochs": len(result.history), "train_loss": last.get("train_loss"),
                   "train_acc": last.get("train_acc"), "history": [dict(r) for r in result.history]}
        if spec.keep_weights:
            metrics["weights"] = {k: v.detach().cpu() for k, v in result.model.state_dict().items()}
        metrics["seconds"] = time.perf_counter() - start
        return metrics
    finally:
        torch.set_num_threads(threads)


def evaluate_all(specs: Iterable[EvalSpec], executor: Executor | None = None, *,
                 on_result: ResultCallback | None = None, stop: StopSignal | None = None) -> list[dict | None]:
    """Evaluate every spec through ``executor`` and return the metrics in spec order.

    Args:
        specs: the candidates.
        executor: any ``concurrent.futures.Executor`` (default: one at a time in this process);
            see :func:`toolkit.executors.make_executor` for process pools and Dask clusters.
        on_result: called as ``on_result(index, metrics)`` in this thread as each candidate
            finishes (in completion order), e.g. to update a progress bar.
        stop: once set, candidates the executor has not started are cancelled (a process pool
            hands its workers one candidate more than it has workers in advance: those still run);
            the running ones finish and are returned, the cancelled ones are ``None``.

    The futures are polled (:func:`toolkit.executors.wait_some`), so a stop is seen while waiting and a
    Dask cluster left without any worker becomes an error instead of a wait for ever (Dask itself moves
    a lost worker's candidates to the other workers).

    Raises:
        ToolkitError: a candidate's training failed on bad input or diverged, a worker process died, or
            a Dask cluster had no worker left; the message names the candidate or the cluster. Other
            exceptions from a worker propagate as is.
    """
    require(specs, Iterable, "specs", "pass a list of EvalSpec")
    require(executor, (Executor, type(None)), "executor", "pass make_executor(...)'s executor or None")
    require(stop, (StopSignal, type(None)), "stop", "pass a StopSignal() or None")
    if on_result is not None and not callable(on_result):
        raise ToolkitError(f"on_result must be a callable on_result(index, metrics), got {type(on_result).__name__}")
    specs = list(specs)
    for spec in specs:
        require(spec, EvalSpec, "each spec")
    from .executors import fan_out  # the worker side (evaluate) does not need the executors

    return fan_out(evaluate, [(spec,) for spec in specs], [spec.name for spec in specs], executor,
                   on_result=on_result, stop=stop)
