"""Training an evaluation network from an architecture (DARTS evaluation; DARTS-GAL baseline/retrain)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch

from .augment import augment, step_generator
from .config import TrainConfig
from .data import DatasetSplits, load_dataset
from .engine import Diverged, Epochs, Session, run_epochs
from .events import Listener, StopSignal
from .genotype import CellPair, Network
from .model import EvalNetwork, NetworkSizes, count_parameters
from .rundir import RunDir
from .runtime import grad_scaler, prepare_model, seeded, to_device
from .steps import evaluate, make_loader, require, require_run_arguments, weight_step


@dataclass
class TrainResult:
    """The trained network, its per-epoch record and the final figures.

    ``val_acc``/``val_loss`` are on the data's validation split (None without one); ``test_acc``/
    ``test_loss`` on its test split (None when the training was told not to read it).
    """

    model: EvalNetwork
    network: Network
    history: list[dict]
    status: str  # finished | stopped
    test_acc: float | None
    test_loss: float | None
    parameters: int
    run_dir: Path | None = None
    val_acc: float | None = None
    val_loss: float | None = None


def as_network(architecture: CellPair | Network, config: TrainConfig) -> Network:
    """A network description: given as is, or a cell pair stacked with the config's cells/reductions."""
    if isinstance(architecture, CellPair):
        return architecture.stack(config.cells, config.reductions)
    return architecture


def build_network(architecture: CellPair | Network, config: TrainConfig, data: DatasetSplits) -> EvalNetwork:
    sizes = NetworkSizes(C=config.channels, num_classes=data.num_classes, in_channels=data.in_channels,
                         auxiliary=config.auxiliary_weight > 0, dropout=config.dropout)
    return EvalNetwork(as_network(architecture, config), sizes)


class _Training(Epochs):
    """One training run as the run loop sees it: an SGD step per batch, then an evaluation after each
    epoch on the validation split where the data has one, else on the test split (unless ``test`` is
    False: then the test split is never read)."""

    kind = "train"
    checkpoint_keys = ("epoch", "model", "optimizer", "schedule", "rng", "loader_rng")

    def __init__(self, config: TrainConfig, model: EvalNetwork, data: DatasetSplits, session: Session, name: str,
                 test: bool = True):
        self.config, self.model, self.session, self.name = config, model, session, name
        self.loaders = (make_loader(data.train, config.batch_size, True, config.seed),)
        self.valid_loader = make_loader(data.valid, 256, False) if data.valid is not None else None
        self.test_loader = make_loader(data.test, 256, False) if test else None
        self.optimizer = torch.optim.SGD(model.parameters(), config.lr, momentum=config.momentum,
                                         weight_decay=config.weight_decay)
        self.schedule = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, config.epochs,
                                                                   eta_min=config.lr_min)
        self.scaler = grad_scaler(session.device, config.amp)
        self.epochs, self.steps = config.epochs, len(self.loaders[0])
        self.parameters = count_parameters(model)
        self.augmentation = config.augmentation  # crop / flip / cutout of the training batches (DARTS protocol)

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
                "schedule": self.schedule.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.schedule.load_state_dict(state["schedule"])

    def start(self, run: RunDir) -> None:
        run.write_json("config.json", {"kind": "train", **self.config.to_dict()})
        run.write_json("network.json", self.model.network.to_dict())

    def run_start(self) -> dict:
        return {"parameters": self.parameters}

    def begin_epoch(self, epoch: int, partial: dict | None) -> dict:
        self.lr = self.schedule.get_last_lr()[0]
        self.model.drop_path_prob = self.config.drop_path * epoch / self.config.epochs
        self.partial = dict(partial) if partial else {"loss": 0.0, "acc": 0.0, "n": 0}
        self.model.train()
        return {"lr": self.lr}

    def batches(self):
        return self.loaders[0]

    def step(self, batch, epoch: int, step: int) -> dict:
        cfg, device = self.config, self.session.device
        x, y = to_device(batch[0], device, cfg.channels_last), batch[1].to(device)
        if self.augmentation.active:  # on the step's device; draws depend on (seed, epoch, step) only
            x = to_device(augment(x, self.augmentation, step_generator(cfg.seed, epoch, step)), device,
                          cfg.channels_last)
        loss, acc = weight_step(self.model, self.optimizer, x, y, self.session, self.scaler, cfg.auxiliary_weight)
        if not math.isfinite(loss):
            raise Diverged(loss)
        p = self.partial
        p["loss"], p["acc"], p["n"] = p["loss"] + loss, p["acc"] + acc, p["n"] + 1
        return {"loss": loss, "acc": acc}

    def measure(self, split: str) -> dict[str, float]:
        """Loss and accuracy on the ``"val"`` or ``"test"`` split, as ``{split}_loss``/``{split}_acc``."""
        loader = self.valid_loader if split == "val" else self.test_loader
        found = evaluate(self.model, loader, self.session.device, self.config.amp, self.config.channels_last)
        return {f"{split}_loss": found["loss"], f"{split}_acc": found["acc"]}

    def end_epoch(self, epoch: int) -> tuple[dict, dict]:
        self.schedule.step()
        split = "val" if self.valid_loader is not None else "test" if self.test_loader is not None else None
        measured = self.measure(split) if split else {}
        if split and not math.isfinite(measured[f"{split}_loss"]):
            raise Diverged(measured[f"{split}_loss"])
        p = self.partial
        return {"epoch": epoch + 1, "lr": self.lr, "train_loss": p["loss"] / max(p["n"], 1),
                "train_acc": p["acc"] / max(p["n"], 1), **measured}, {}

    def finish(self, status: str, history: list[dict], run: RunDir | None) -> tuple[dict, dict]:
        self.final = {}
        if self.valid_loader is not None:
            self.final.update(self.measure("val"))
        if self.test_loader is not None:  # the final report: the one read of the test split
            self.final.update(self.measure("test"))
        accuracies = {k: v for k, v in self.final.items() if k.endswith("_acc")}
        return ({"epochs_done": len(history), **accuracies, "parameters": self.parameters},
                {**self.final, "parameters": self.parameters, "epochs_done": len(history)})


def train_network(architecture: CellPair | Network, config: TrainConfig = TrainConfig(), *,
                  data: DatasetSplits | None = None, model: EvalNetwork | None = None,
                  listeners: tuple[Listener, ...] = (), stop: StopSignal | None = None,
                  run_dir: str | Path | None = None, resume: bool = False, progress: bool = False,
                  name: str = "train", session: Session | None = None, test: bool = True) -> TrainResult:
    """Train a network on the dataset's training split and test it on the held-out split.

    Where ``data`` has a validation split (:func:`toolkit.holdout.hold_out`), every epoch is
    evaluated on it and the result carries ``val_acc``; with ``test=False`` the test split is never
    read (a candidate of a search: only validation figures may select it).

    Args:
        architecture: a cell pair (stacked with ``config.cells``) or a network description.
        config: sizes and optimiser settings (SGD, cosine schedule, grad clip 5).
        data: preloaded dataset splits (default: load ``config.dataset``).
        model: an already-built network to continue training (e.g. inherited weights).
        listeners, stop, run_dir, resume, progress, session: as in :func:`toolkit.search.run_search`.
        name: the run's name in its events.
    """
    require(config, TrainConfig, "config")
    require(architecture, (CellPair, Network), "architecture")
    require(data, (DatasetSplits, type(None)), "data", "pass load_dataset(...) or None")
    require(model, (EvalNetwork, type(None)), "model", "pass build_network(architecture, config, data) or None")
    require(name, str, "name", "pass a short text such as 'train'")
    require(session, (Session, type(None)), "session", "pass a Session or None")
    require_run_arguments(listeners, stop, run_dir, resume, progress)
    with seeded(config.seed):
        data = data or load_dataset(config.dataset, config.data_dir, seed=config.seed, image_size=config.image_size)
        model = model if model is not None else build_network(architecture, config, data)
        session = session or Session(config, listeners, stop, run_dir, resume, progress)
        with session:  # the run folder's lock is released however this ends, also before the first step
            network = model.network
            model = prepare_model(model, session.device, config.channels_last)
            training = _Training(config, model, data, session, name, test)
            status, history = run_epochs(training, session)
    final = training.final
    return TrainResult(model, network, history, status, final.get("test_acc"), final.get("test_loss"),
                       training.parameters, session.run.path if session.run else None,
                       final.get("val_acc"), final.get("val_loss"))
