"""Training an evaluation network from an architecture (DARTS evaluation; DARTS-GAL baseline/retrain)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from .config import TrainConfig
from .data import DatasetSplits, load_dataset
from .events import Listener, StopSignal
from .genotype import CellPair, Network
from .loop import Session, evaluate, make_loader, require, restore, validate_checkpoint, weight_step
from .model import EvalNetwork, NetworkSizes, count_parameters
from .rundir import CHECKPOINT
from .runtime import grad_scaler, prepare_model, rng_state, seed_everything, set_rng_state, to_device


@dataclass
class TrainResult:
    """The trained network, its per-epoch record and the final test figures."""

    model: EvalNetwork
    network: Network
    history: list[dict]
    status: str  # finished | stopped
    test_acc: float
    test_loss: float
    parameters: int
    run_dir: Path | None = None


CHECKPOINT_KEYS = ("epoch", "model", "optimizer", "schedule", "rng", "loader_rng")


def as_network(architecture: CellPair | Network, config: TrainConfig) -> Network:
    """A network description: given as is, or a cell pair stacked with the config's cells/reductions."""
    if isinstance(architecture, CellPair):
        return architecture.stack(config.cells, config.reductions)
    return architecture


def build_network(architecture: CellPair | Network, config: TrainConfig, data: DatasetSplits) -> EvalNetwork:
    sizes = NetworkSizes(C=config.channels, num_classes=data.num_classes, in_channels=data.in_channels,
                         auxiliary=config.auxiliary_weight > 0, dropout=config.dropout)
    return EvalNetwork(as_network(architecture, config), sizes)


def train_network(architecture: CellPair | Network, config: TrainConfig = TrainConfig(), *,
                  data: DatasetSplits | None = None, model: EvalNetwork | None = None,
                  listeners: tuple[Listener, ...] = (), stop: StopSignal | None = None,
                  run_dir: str | Path | None = None, resume: bool = False, progress: bool = False,
                  name: str = "train") -> TrainResult:
    """Train a network on the dataset's training split and test it on the held-out split.

    Args:
        architecture: a cell pair (stacked with ``config.cells``) or a network description.
        config: sizes and optimiser settings (SGD, cosine schedule, grad clip 5).
        data: preloaded dataset splits (default: load ``config.dataset``).
        model: an already-built network to continue training (e.g. inherited weights).
        listeners, stop, run_dir, resume, progress: as in :func:`toolkit.search.run_search`.
    """
    require(config, TrainConfig, "config")
    require(architecture, (CellPair, Network), "architecture")
    if data is not None:
        require(data, DatasetSplits, "data")
    seed_everything(config.seed)
    data = data or load_dataset(config.dataset, config.data_dir, seed=config.seed, image_size=config.image_size)
    model = model if model is not None else build_network(architecture, config, data)
    session = Session(config, listeners, stop, run_dir, resume, progress)
    network = model.network
    model = prepare_model(model, session.device, config.channels_last)
    train_loader = make_loader(data.train, config.batch_size, True, config.seed)
    test_loader = make_loader(data.test, 256, False)
    optimizer = torch.optim.SGD(model.parameters(), config.lr, momentum=config.momentum,
                                weight_decay=config.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, config.epochs, eta_min=config.lr_min)
    scaler = grad_scaler(session.device, config.amp)
    steps = len(train_loader)
    history: list[dict] = []
    state = session.checkpoint_to_resume()
    if state is not None:
        where = session.run.path / CHECKPOINT
        validate_checkpoint(state, where, CHECKPOINT_KEYS, config.epochs, steps, model)
        restore(where, lambda: (model.load_state_dict(state["model"]), optimizer.load_state_dict(state["optimizer"]),
                                schedule.load_state_dict(state["schedule"])))
        history = session.run.read_json("metrics.json", [])[:state["epoch"]]
    elif session.run:
        session.run.write_json("config.json", {"kind": "train", **config.to_dict()})
        session.run.write_json("network.json", network.to_dict())
    start, done = (state["epoch"], state.get("step", 0)) if state else (0, 0)
    pending_rng = state["rng"] if state else None  # restored just before the first step computed

    def checkpoint(epoch: int, step: int, loader_rng, partial: dict | None) -> None:
        if session.run:
            session.run.save_checkpoint({"epoch": epoch, "step": step, "model": model.state_dict(),
                                         "optimizer": optimizer.state_dict(), "schedule": schedule.state_dict(),
                                         "rng": rng_state(), "loader_rng": loader_rng, "partial": partial})

    parameters = count_parameters(model)
    session.bus.emit("run_start", name=name, kind="train", config=config.to_dict(), epochs=config.epochs,
                     start_epoch=start, steps_per_epoch=steps, total_steps=(config.epochs - start) * steps - done,
                     parameters=parameters)
    status = "finished"
    for epoch in range(start, config.epochs):
        lr = schedule.get_last_lr()[0]
        model.drop_path_prob = config.drop_path * epoch / config.epochs
        session.bus.emit("epoch_start", epoch=epoch + 1, lr=lr)
        if state is not None and epoch == start:  # rebuild this epoch's batch order
            restore(session.run.path / CHECKPOINT, lambda: train_loader.generator.set_state(state["loader_rng"]))
        loader_rng = train_loader.generator.get_state()
        partial = state.get("partial") if state is not None and epoch == start and done else None
        loss_sum, acc_sum, n = (partial["loss"], partial["acc"], partial["n"]) if partial else (0.0, 0.0, 0)
        model.train()
        for step, (x, y) in enumerate(train_loader):
            if epoch == start and step < done:
                continue  # done before the stop: the batch order is rebuilt, nothing is computed
            if pending_rng is not None:
                restore(session.run.path / CHECKPOINT, lambda rng=pending_rng: set_rng_state(rng))
                pending_rng = None
            if session.stop.requested:
                status = "stopped"
                checkpoint(epoch, step, loader_rng, {"loss": loss_sum, "acc": acc_sum, "n": n})
                break
            x, y = to_device(x, session.device, config.channels_last), y.to(session.device)
            loss, acc = weight_step(model, optimizer, x, y, session, scaler, config.auxiliary_weight)
            if not math.isfinite(loss):
                raise session.diverged("train", epoch + 1, step + 1, loss, len(history))
            loss_sum, acc_sum, n = loss_sum + loss, acc_sum + acc, n + 1
            session.bus.emit("step", epoch=epoch + 1, step=step + 1, steps=steps, loss=loss, acc=acc)
        if status == "stopped":
            break
        schedule.step()
        test = evaluate(model, test_loader, session.device, config.amp, config.channels_last)
        if not math.isfinite(test["loss"]):
            raise session.diverged("train", epoch + 1, steps, test["loss"], len(history))
        record = {"epoch": epoch + 1, "lr": lr, "train_loss": loss_sum / max(n, 1), "train_acc": acc_sum / max(n, 1),
                  "test_loss": test["loss"], "test_acc": test["acc"]}
        history.append(record)
        if session.run:
            session.run.write_json("metrics.json", history)
            checkpoint(epoch + 1, 0, train_loader.generator.get_state(), None)
        session.bus.emit("epoch_end", **record)
    test = evaluate(model, test_loader, session.device, config.amp, config.channels_last)
    if session.run:
        session.run.write_json("run.json", {"kind": "train", "status": status, "epochs_done": len(history),
                                            "test_acc": test["acc"], "parameters": parameters})
    session.bus.emit("run_end", status=status, test_acc=test["acc"], test_loss=test["loss"], parameters=parameters,
                     epochs_done=len(history))
    return TrainResult(model, network, history, status, test["acc"], test["loss"], parameters,
                       session.run.path if session.run else None)
