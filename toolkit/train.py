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
from .loop import evaluate, make_loader, require, weight_step
from .model import EvalNetwork, NetworkSizes, count_parameters
from .rundir import RunDir
from .runtime import grad_scaler, prepare_model, seeded, to_device


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
    """One training run as the run loop sees it: an SGD step per batch, a test after each epoch."""

    kind = "train"
    checkpoint_keys = ("epoch", "model", "optimizer", "schedule", "rng", "loader_rng")

    def __init__(self, config: TrainConfig, model: EvalNetwork, data: DatasetSplits, session: Session, name: str):
        self.config, self.model, self.session, self.name = config, model, session, name
        self.loaders = (make_loader(data.train, config.batch_size, True, config.seed),)
        self.test_loader = make_loader(data.test, 256, False)
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

    def test(self) -> dict[str, float]:
        return evaluate(self.model, self.test_loader, self.session.device, self.config.amp, self.config.channels_last)

    def end_epoch(self, epoch: int) -> tuple[dict, dict]:
        self.schedule.step()
        test = self.test()
        if not math.isfinite(test["loss"]):
            raise Diverged(test["loss"])
        p = self.partial
        return {"epoch": epoch + 1, "lr": self.lr, "train_loss": p["loss"] / max(p["n"], 1),
                "train_acc": p["acc"] / max(p["n"], 1), "test_loss": test["loss"], "test_acc": test["acc"]}, {}

    def finish(self, status: str, history: list[dict], run: RunDir | None) -> tuple[dict, dict]:
        self.final = self.test()
        return ({"epochs_done": len(history), "test_acc": self.final["acc"], "parameters": self.parameters},
                {"test_acc": self.final["acc"], "test_loss": self.final["loss"], "parameters": self.parameters,
                 "epochs_done": len(history)})


def train_network(architecture: CellPair | Network, config: TrainConfig = TrainConfig(), *,
                  data: DatasetSplits | None = None, model: EvalNetwork | None = None,
                  listeners: tuple[Listener, ...] = (), stop: StopSignal | None = None,
                  run_dir: str | Path | None = None, resume: bool = False, progress: bool = False,
                  name: str = "train", session: Session | None = None) -> TrainResult:
    """Train a network on the dataset's training split and test it on the held-out split.

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
    if data is not None:
        require(data, DatasetSplits, "data")
    with seeded(config.seed):
        data = data or load_dataset(config.dataset, config.data_dir, seed=config.seed, image_size=config.image_size)
        model = model if model is not None else build_network(architecture, config, data)
        session = session or Session(config, listeners, stop, run_dir, resume, progress)
        network = model.network
        model = prepare_model(model, session.device, config.channels_last)
        training = _Training(config, model, data, session, name)
        status, history = run_epochs(training, session)
    final = training.final
    return TrainResult(model, network, history, status, final["acc"], final["loss"], training.parameters,
                       session.run.path if session.run else None)
