"""The differentiable search loop (DARTS, PC-DARTS, ADARTS) with events and resumable runs.

Each step: update α on a batch of the α-half (Architect, first or second order), then update w
on a batch of the w-half (DARTS Algorithm 1). Each epoch ends with validation on the α-half,
the derived genotype, an ``epoch_end`` event and, with a run folder, the run record and a
checkpoint. A stop request ends the run after the current step and leaves a checkpoint.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from .architect import Architect
from .config import SearchConfig
from .data import DatasetSplits, load_dataset, split_train_val
from .events import Listener, StopSignal
from .genotype import CellPair
from .loop import Session, evaluate, make_loader, require, restore, validate_checkpoint, weight_step
from .memory import StepMemory
from .methods import get_method
from .rundir import CHECKPOINT
from .runtime import autocast, grad_scaler, prepare_model, rng_state, seed_everything, set_rng_state, to_device
from .supernet import Supernet


@dataclass
class SearchResult:
    """What a search returns: the derived cells, the per-epoch record and the trained supernet."""

    genotype: CellPair
    history: list[dict]
    status: str  # finished | stopped
    model: Supernet
    run_dir: Path | None = None


CHECKPOINT_KEYS = ("epoch", "model", "w_optimizer", "arch_optimizer", "schedule", "rng", "loader_rng")


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


def load_search_data(config: SearchConfig) -> DatasetSplits:
    return load_dataset(config.dataset, config.data_dir, seed=config.seed, image_size=config.image_size)


def run_search(config: SearchConfig = SearchConfig(), *, data: DatasetSplits | None = None,
               listeners: tuple[Listener, ...] = (), stop: StopSignal | None = None,
               run_dir: str | Path | None = None, resume: bool = False, progress: bool = False) -> SearchResult:
    """Run a search and return its result.

    Args:
        config: what to search (method, space, sizes, optimiser settings).
        data: preloaded dataset splits (default: load ``config.dataset``).
        listeners: callbacks receiving events.
        stop: set it from another thread to stop cleanly after the current step; the checkpoint
            then holds the position inside the epoch, and ``resume`` continues exactly where the
            run stopped (the records match an uninterrupted run's).
        run_dir: folder for config.json, metrics.json, alphas.json, genotype.json, checkpoint.pt.
        resume: continue from ``run_dir``'s checkpoint (from the start if it stopped before one).
        progress: show a tqdm bar.

    Raises:
        ToolkitError: bad input, a checkpoint that does not fit, or a loss that turned NaN/inf
            (the run is then marked diverged and its last checkpoint kept).

    Example:
        >>> result = run_search(SearchConfig(dataset="fake", epochs=1, channels=4, cells=3))  # doctest: +SKIP
    """
    require(config, SearchConfig, "config")
    if data is not None:
        require(data, DatasetSplits, "data")
    seed_everything(config.seed)
    data = data or load_search_data(config)
    model = build_supernet(config, data)  # bad input fails here, before a run folder is created
    session = Session(config, listeners, stop, run_dir, resume, progress)
    model = prepare_model(model, session.device, config.channels_last)
    w_half, a_half = split_train_val(data.train, config.train_portion, seed=config.seed)
    w_loader = make_loader(w_half, config.batch_size, True, config.seed)
    a_loader = make_loader(a_half, config.batch_size, True, config.seed + 1)
    val_loader = make_loader(a_half, 256, False)
    w_opt = torch.optim.SGD(model.weight_parameters(), config.lr, momentum=config.momentum,
                            weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(w_opt, config.epochs, eta_min=config.lr_min)
    architect = Architect(model, w_opt, config.order, config.arch_lr, (0.5, 0.999), config.arch_weight_decay)
    scaler = grad_scaler(session.device, config.amp)
    steps = min(len(w_loader), len(a_loader))
    history: list[dict] = []
    alpha_history: list[dict] = []
    state = session.checkpoint_to_resume()
    if state is not None:
        where = session.run.path / CHECKPOINT
        validate_checkpoint(state, where, CHECKPOINT_KEYS, config.epochs, steps, model)
        restore(where, lambda: (model.load_state_dict(state["model"]), w_opt.load_state_dict(state["w_optimizer"]),
                                architect.optimizer.load_state_dict(state["arch_optimizer"]),
                                schedule.load_state_dict(state["schedule"])))
        history = session.run.read_json("metrics.json", [])[:state["epoch"]]
        alpha_history = session.run.read_json("alphas.json", [])[:state["epoch"]]
    elif session.run:
        session.run.write_json("config.json", {"kind": "search", **config.to_dict()})
    start, done = (state["epoch"], state.get("step", 0)) if state else (0, 0)
    pending_rng = state["rng"] if state else None  # restored just before the first step computed

    def checkpoint(epoch: int, step: int, loaders_rng: list, partial: dict | None) -> None:
        if session.run:
            session.run.save_checkpoint({
                "epoch": epoch, "step": step, "model": model.state_dict(), "w_optimizer": w_opt.state_dict(),
                "arch_optimizer": architect.optimizer.state_dict(), "schedule": schedule.state_dict(),
                "rng": rng_state(), "loader_rng": loaders_rng, "partial": partial,
            })

    session.bus.emit("run_start", name=f"search {config.method}", kind="search", config=config.to_dict(),
                     epochs=config.epochs, start_epoch=start, steps_per_epoch=steps,
                     total_steps=(config.epochs - start) * steps - done, ops=list(config.space.ops),
                     nodes=config.space.nodes)
    status = "finished"
    for epoch in range(start, config.epochs):
        lr = schedule.get_last_lr()[0]
        session.bus.emit("epoch_start", epoch=epoch + 1, lr=lr)
        if state is not None and epoch == start:  # rebuild this epoch's batch order
            restore(session.run.path / CHECKPOINT, lambda: (w_loader.generator.set_state(state["loader_rng"][0]),
                                                            a_loader.generator.set_state(state["loader_rng"][1])))
        loaders_rng = [w_loader.generator.get_state(), a_loader.generator.get_state()]
        partial = state.get("partial") if state is not None and epoch == start and done else None
        sums = dict(partial["sums"]) if partial else {"loss": 0.0, "acc": 0.0, "n": 0}
        memory = dict(partial["memory"]) if partial else {"peak_memory_mb": None, "activation_mb": None}
        model.train()
        for step, ((xw, yw), (xa, ya)) in enumerate(zip(w_loader, a_loader)):
            if epoch == start and step < done:
                continue  # done before the stop: the batch order is rebuilt, nothing is computed
            if pending_rng is not None:
                restore(session.run.path / CHECKPOINT, lambda rng=pending_rng: set_rng_state(rng))
                pending_rng = None
            if session.stop.requested:
                status = "stopped"
                checkpoint(epoch, step, loaders_rng, {"sums": sums, "memory": memory})
                break
            xw, yw = to_device(xw, session.device, config.channels_last), yw.to(session.device)
            xa, ya = to_device(xa, session.device, config.channels_last), ya.to(session.device)
            # Saved-tensor hooks cost a little Python per op: measure them on each epoch's first step.
            with StepMemory(session.device, model, activations=step == 0) as meter:
                if epoch >= config.warmup_epochs:
                    with autocast(session.device, config.amp):
                        architect.step(xw, yw, xa, ya, lr)
                loss, acc = weight_step(model, w_opt, xw, yw, session, scaler, params=model.weight_parameters())
            if not math.isfinite(loss):
                raise session.diverged("search", epoch + 1, step + 1, loss, len(history))
            update_memory(memory, meter)
            sums["loss"] += loss
            sums["acc"] += acc
            sums["n"] += 1
            session.bus.emit("step", epoch=epoch + 1, step=step + 1, steps=steps, loss=loss, acc=acc,
                             peak_memory_mb=meter.peak_mb)
        if status == "stopped":
            break
        schedule.step()
        val = evaluate(model, val_loader, session.device, config.amp, config.channels_last)
        if not math.isfinite(val["loss"]):
            raise session.diverged("search", epoch + 1, steps, val["loss"], len(history))
        genotype = model.genotype()
        weights = {k: v.detach().cpu().tolist() for k, v in model.alpha_weights().items()}
        record = {"epoch": epoch + 1, "lr": lr, "train_loss": sums["loss"] / max(sums["n"], 1),
                  "train_acc": sums["acc"] / max(sums["n"], 1), "val_loss": val["loss"], "val_acc": val["acc"],
                  **{f"skip_{kind}": n for kind, n in skip_counts(genotype).items()}, **memory}
        history.append(record)
        alpha_history.append({"epoch": epoch + 1, **weights})
        if session.run:
            session.run.write_json("metrics.json", history)
            session.run.write_json("alphas.json", alpha_history)
            session.run.write_json("genotype.json", genotype.to_dict())
            checkpoint(epoch + 1, 0, [w_loader.generator.get_state(), a_loader.generator.get_state()], None)
        session.bus.emit("epoch_end", **record, alphas=weights, genotype=genotype.to_dict(),
                         genotype_text=str(genotype))
    genotype = model.genotype()
    if session.run:
        session.run.write_json("genotype.json", genotype.to_dict())
        session.run.write_json("run.json", {"kind": "search", "status": status, "epochs_done": len(history),
                                            "genotype": str(genotype)})
    session.bus.emit("run_end", status=status, genotype=genotype.to_dict(), genotype_text=str(genotype),
                     epochs_done=len(history))
    return SearchResult(genotype, history, status, model, session.run.path if session.run else None)
