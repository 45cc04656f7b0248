"""The differentiable search loop (DARTS, PC-DARTS, ADARTS) with events and resumable runs.

Each step: update α on a batch of the α-half (Architect, first or second order), then update w
on a batch of the w-half (DARTS Algorithm 1). Each epoch ends with validation on the α-half,
the derived genotype, an ``epoch_end`` event and, with a run folder, the run record and a
checkpoint. A stop request ends the run after the current step and leaves a checkpoint.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch

from .architect import Architect
from .config import SearchConfig
from .data import DatasetSplits, load_dataset, split_train_val
from .engine import Diverged, Epochs, Session, run_epochs
from .errors import ToolkitError
from .events import Listener, StopSignal
from .genotype import CellPair
from .graphed import GraphedStep
from .memory import StepMemory
from .methods import get_method
from .rundir import RunDir
from .runtime import autocast, compile_plan, grad_scaler, log, prepare_model, seeded, to_device
from .steps import evaluate, make_loader, require, require_run_arguments, weight_update
from .supernet import Supernet, is_arch_name


@dataclass
class SearchResult:
    """What a search returns: the derived cells, the per-epoch record and the trained supernet.

    ``alphas`` holds the final architecture parameters (α, and β where the method has them) as plain
    lists, ready for :func:`run_search`'s ``alphas``. A result pickles without its live ``model``
    (it arrives as None), so it can come back from a process pool or a cluster worker.
    """

    genotype: CellPair
    history: list[dict]
    status: str  # finished | stopped
    model: Supernet | None
    run_dir: Path | None = None
    alphas: dict[str, list] = field(default_factory=dict)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "model": None}


def build_supernet(config: SearchConfig, data: DatasetSplits) -> Supernet:
    """The supernet a config describes, sized for the dataset's channels and classes."""
    edge = get_method(config.method, "search").edge_factory(config.k)  # the registry picks the edge type
    return Supernet(config.space, config.channels, config.cells, data.num_classes, data.in_channels,
                    config.reductions, edge, config.uses_edge_norm)


def skip_counts(genotype: CellPair) -> dict[str, int]:
    """skip_connect edges in the derived normal and reduction cells (ADARTS paper Fig. 9)."""
    return {"normal": genotype.normal.count("skip_connect"), "reduce": genotype.reduce.count("skip_connect")}


def update_memory(memory: dict, meter: StepMemory) -> None:
    """Keep an epoch's largest step peaks (``peak_memory_mb``: CUDA allocator on GPU, else saved tensors)."""
    for key, value in (("peak_memory_mb", meter.peak_mb), ("activation_mb", meter.activation_mb)):
        if value is not None:
            memory[key] = value if memory[key] is None else max(memory[key], value)


def compile_mode(config: SearchConfig, device) -> str:
    """The compile mode the search step uses on ``device``; a fallback is logged as one line."""
    mode, reason = compile_plan(device, config.compile, config.amp)
    if reason:
        log.warning(reason)
    return mode


def load_search_data(config: SearchConfig) -> DatasetSplits:
    return load_dataset(config.dataset, config.data_dir, seed=config.seed, image_size=config.image_size)


def arch_values(model: Supernet) -> dict[str, list]:
    """The supernet's architecture parameters (α, β) as plain nested lists."""
    return {name: p.detach().cpu().tolist() for name, p in model.named_parameters() if is_arch_name(name)}


def set_alphas(model: Supernet, alphas: Mapping) -> None:
    """Copy initial architecture parameters (tensors or nested lists, by name) into ``model``."""
    own = {name: p for name, p in model.named_parameters() if is_arch_name(name)}
    for name, value in alphas.items():
        if name not in own:
            raise ToolkitError(f"alphas has '{name}', which this supernet lacks (it has {', '.join(own)})")
        try:
            value = torch.as_tensor(value, dtype=own[name].dtype)
        except (TypeError, ValueError, RuntimeError) as e:
            raise ToolkitError(f"alphas['{name}'] is not a table of numbers ({e})") from None
        if value.shape != own[name].shape:
            raise ToolkitError(f"alphas['{name}'] has shape {tuple(value.shape)}, this supernet needs "
                               f"{tuple(own[name].shape)}; build the supernet with the same space and method")
        with torch.no_grad():
            own[name].copy_(value)


class _Search(Epochs):
    """One search as the run loop sees it: α step then w step per batch pair (DARTS Algorithm 1)."""

    kind = "search"
    checkpoint_keys = ("epoch", "model", "w_optimizer", "arch_optimizer", "schedule", "rng", "loader_rng")

    def __init__(self, config: SearchConfig, model: Supernet, data: DatasetSplits, session: Session):
        self.config, self.session, self.model = config, session, model
        self.name = f"search {config.method}"
        w_half, a_half = split_train_val(data.train, config.train_portion, seed=config.seed)
        self.compile = compile_mode(config, session.device)
        # CUDA graphs: the whole step is recorded once per learning rate and replayed (toolkit.graphed)
        self.graphed = GraphedStep(self._update) if self.compile == "cudagraphs" else None
        static = self.compile != "off"  # a compiled step has static shapes: the last short batch is dropped
        self.loaders = (make_loader(w_half, config.batch_size, True, config.seed, drop_last=static),
                        make_loader(a_half, config.batch_size, True, config.seed + 1, drop_last=static))
        if static and not all(len(loader) for loader in self.loaders):
            raise ToolkitError(f"compile needs at least one full batch of {config.batch_size} in each half of the "
                               f"training data; lower --batch-size or use --compile off")
        self.val_loader = make_loader(a_half, 256, False)
        self.w_opt = torch.optim.SGD(model.weight_parameters(), config.lr, momentum=config.momentum,
                                     weight_decay=config.weight_decay)
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(self.w_opt, config.epochs, eta_min=config.lr_min)
        self.architect = Architect(model, self.w_opt, config.order, config.arch_lr, (0.5, 0.999),
                                   config.arch_weight_decay, compile=self.compile)
        self.scaler = grad_scaler(session.device, config.amp)
        self.arch_scaler = grad_scaler(session.device, config.amp)  # fp16: α's gradients get their own scale
        self.epochs, self.steps = config.epochs, min(len(loader) for loader in self.loaders)
        self.alpha_history: list[dict] = []

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "w_optimizer": self.w_opt.state_dict(),
                "arch_optimizer": self.architect.optimizer.state_dict(), "schedule": self.schedule.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.w_opt.load_state_dict(state["w_optimizer"])
        self.architect.optimizer.load_state_dict(state["arch_optimizer"])
        self.schedule.load_state_dict(state["schedule"])

    def start(self, run: RunDir) -> None:
        run.write_json("config.json", {"kind": "search", **self.config.to_dict()})

    def resumed(self, run: RunDir, epochs_done: int) -> None:
        self.alpha_history = run.read_json("alphas.json", [])[:epochs_done]

    def run_start(self) -> dict:
        return {"ops": list(self.config.space.ops), "nodes": self.config.space.nodes}

    def begin_epoch(self, epoch: int, partial: dict | None) -> dict:
        self.epoch, self.lr = epoch, self.schedule.get_last_lr()[0]
        self.partial = {"sums": dict(partial["sums"]), "memory": dict(partial["memory"])} if partial else {
            "sums": {"loss": 0.0, "acc": 0.0, "n": 0}, "memory": {"peak_memory_mb": None, "activation_mb": None}}
        self.model.train()
        return {"lr": self.lr}

    def batches(self):
        return zip(*self.loaders)

    def step(self, batch, epoch: int, step: int) -> dict:
        (xw, yw), (xa, ya) = batch
        cfg, device = self.config, self.session.device
        xw, yw = to_device(xw, device, cfg.channels_last), yw.to(device)
        xa, ya = to_device(xa, device, cfg.channels_last), ya.to(device)
        # Saved-tensor hooks cost a little Python per op: measure them on each epoch's first step
        # (not in a compiled or recorded step, whose saved tensors are the graph's).
        self.alpha_on = epoch >= cfg.warmup_epochs
        with StepMemory(device, self.model, activations=step == 0 and self.compile == "off") as meter:
            if self.graphed:  # a graph holds the learning rate and the step's parts: new ones, a new graph
                loss, acc = self.graphed((self.lr, self.alpha_on), xw, yw, xa, ya)
            else:
                loss, acc = self._update(xw, yw, xa, ya)
            loss, acc = float(loss), float(acc)
        if not math.isfinite(loss):
            raise Diverged(loss)
        update_memory(self.partial["memory"], meter)
        sums = self.partial["sums"]
        sums["loss"], sums["acc"], sums["n"] = sums["loss"] + loss, sums["acc"] + acc, sums["n"] + 1
        return {"loss": loss, "acc": acc, "peak_memory_mb": meter.peak_mb}

    def _update(self, xw, yw, xa, ya) -> tuple[torch.Tensor, torch.Tensor]:
        """DARTS Algorithm 1, one step: the α update on an α-half batch (not in warm-up epochs:
        ``alpha_on``), then the w update on a w-half batch. Returns the w batch's loss and accuracy as
        tensors (nothing is read back from a GPU: a CUDA graph can hold this step)."""
        if self.alpha_on:
            with autocast(self.session.device, self.config.amp):
                self.architect.step(xw, yw, xa, ya, self.lr, self.arch_scaler)
        return weight_update(self.architect.forward, self.w_opt, xw, yw, self.session, self.scaler,
                             params=self.model.weight_parameters())

    def end_epoch(self, epoch: int) -> tuple[dict, dict]:
        self.schedule.step()
        cfg = self.config
        val = evaluate(self.model, self.val_loader, self.session.device, cfg.amp, cfg.channels_last)
        if not math.isfinite(val["loss"]):
            raise Diverged(val["loss"])
        self.genotype = self.model.genotype()
        weights = {k: v.detach().cpu().tolist() for k, v in self.model.alpha_weights().items()}
        sums = self.partial["sums"]
        record = {"epoch": epoch + 1, "lr": self.lr, "train_loss": sums["loss"] / max(sums["n"], 1),
                  "train_acc": sums["acc"] / max(sums["n"], 1), "val_loss": val["loss"], "val_acc": val["acc"],
                  **{f"skip_{kind}": n for kind, n in skip_counts(self.genotype).items()}, **self.partial["memory"]}
        self.alpha_history.append({"epoch": epoch + 1, **weights})
        return record, {"alphas": weights, "genotype": self.genotype.to_dict(), "genotype_text": str(self.genotype)}

    def save_records(self, run: RunDir) -> None:
        run.write_json("alphas.json", self.alpha_history)
        run.write_json("genotype.json", self.genotype.to_dict())

    def finish(self, status: str, history: list[dict], run: RunDir | None) -> tuple[dict, dict]:
        self.genotype = self.model.genotype()
        if run:
            run.write_json("genotype.json", self.genotype.to_dict())
        return ({"epochs_done": len(history), "genotype": str(self.genotype)},
                {"genotype": self.genotype.to_dict(), "genotype_text": str(self.genotype), "epochs_done": len(history)})


def run_search(config: SearchConfig = SearchConfig(), *, data: DatasetSplits | None = None,
               model: Supernet | None = None, alphas: Mapping | None = None,
               listeners: tuple[Listener, ...] = (), stop: StopSignal | None = None,
               run_dir: str | Path | None = None, resume: bool = False, progress: bool = False,
               session: Session | None = None) -> SearchResult:
    """Run a search and return its result.

    A search is composable: hand in a ``model`` (a supernet built elsewhere, e.g. with
    :func:`build_supernet` and weights inherited from another network) and/or initial ``alphas`` (e.g.
    a shallower search's :attr:`SearchResult.alphas`, as ME-DARTS copies α into a deeper supernet;
    Chen, Shi, Luo, "ME-DARTS: Introduce Multi-stage Evolution to Improve Differentiable Architecture
    Search"). The search trains the given model in place; the result's ``alphas`` are plain lists and
    the result pickles without the model.

    Args:
        config: what to search (method, space, sizes, optimiser settings).
        data: preloaded dataset splits (default: load ``config.dataset``).
        model: the supernet to search with (default: build the one ``config`` describes).
        alphas: initial architecture parameters by name (``alpha_normal``, ``alpha_reduce`` and, for
            ADARTS/PC-DARTS edge normalisation, ``beta_normal``, ``beta_reduce``), tensors or lists.
        listeners: callbacks receiving events.
        stop: set it from another thread to stop cleanly after the current step; the checkpoint
            then holds the position inside the epoch, and ``resume`` continues exactly where the
            run stopped (the records match an uninterrupted run's).
        run_dir: folder for config.json, metrics.json, alphas.json, genotype.json, checkpoint.pt.
        resume: continue from ``run_dir``'s checkpoint (from the start if it stopped before one).
        progress: show a tqdm bar.
        session: run inside this session (its bus, stop signal and folder) instead of one built from
            ``listeners``, ``stop``, ``run_dir``, ``resume`` and ``progress``.

    Raises:
        ToolkitError: bad input, a checkpoint that does not fit, or a loss that turned NaN/inf
            (the run is then marked diverged and its last checkpoint kept).

    Example:
        >>> result = run_search(SearchConfig(dataset="fake", epochs=1, channels=4, cells=3))  # doctest: +SKIP
        >>> deeper = SearchConfig(dataset="fake", epochs=1, channels=4, cells=5)
        >>> run_search(deeper, alphas=result.alphas)  # doctest: +SKIP
    """
    require(config, SearchConfig, "config")
    require(data, (DatasetSplits, type(None)), "data", "pass load_dataset(...) or None")
    require(model, (Supernet, type(None)), "model", "pass build_supernet(config, data) or None")
    require(alphas, (Mapping, type(None)), "alphas", "pass architecture parameters by name, e.g. result.alphas")
    require(session, (Session, type(None)), "session", "pass a Session or None")
    require_run_arguments(listeners, stop, run_dir, resume, progress)
    with seeded(config.seed):
        data = data or load_search_data(config)
        # bad input fails here, before a run folder is created
        model = model if model is not None else build_supernet(config, data)
        if alphas is not None:
            set_alphas(model, alphas)
        session = session or Session(config, listeners, stop, run_dir, resume, progress)
        with session:  # the run folder's lock is released however this ends, also before the first step
            model = prepare_model(model, session.device, config.channels_last)
            search = _Search(config, model, data, session)
            status, history = run_epochs(search, session)
    return SearchResult(search.genotype, history, status, model, session.run.path if session.run else None,
                        arch_values(model))
