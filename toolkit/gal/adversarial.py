"""Adversarial mask training: the min-max of DARTS-GAL paper eq. 4 with events.

Per batch (section 3.3's two alternating phases, 5:1 as section 3.4 says):

1. the frozen baseline gives ``f_b`` (eval mode); the generator gives ``f_g`` without noise;
2. the discriminator takes ``d_steps`` (5) updates on these softmax outputs, generator fixed;
3. the generator takes one update with the noise z (dropout before its classifier) active:
   SGD on its weights W_G and a proximal FISTA step on the masks s, discriminator fixed.

L2 on W_G and W_D is weight decay; ``λ·||s||_1`` is the FISTA soft threshold (eq. 7).

λ means the same on every dataset: a mask-training epoch is the same amount of optimisation
whatever the data size. It takes ``min(n, reference_steps)`` steps of the shuffled training data
(``n`` steps make a full pass; ``reference_steps`` = 23 is digits at batch 64, so digits keeps its
full passes), with the configured rates: the same number of FISTA mask steps (soft threshold
``mask_lr·λ`` each, eq. 7), of SGD steps on the generator weights W_G and of Adam steps on the
discriminator W_D (the two players of eq. 4), on a fresh random part of a larger data set each
epoch. Scaling the rates by ``reference_steps/n`` instead was not enough: over full passes of a
10x set the same λ still pruned far more than on digits (bench/RESULTS.md).

A run that collapses stops with status 'collapsed' and a message naming a smaller λ: after an
epoch, every mask of some cell is 0 while the masked network's validation accuracy is at chance
level, or the data loss (eq. 6) is not finite or worse than that of a constant output (the
baseline's mean logits), which is what the masks would give if they carried no information.
Only a baseline that is itself better than chance (on the same validation images) can collapse.
The validation images are 10% of each class's training images, held out of the mask training
(:func:`mask_data`); the test split is left for the report of the retrained network.

The generator's batch norms stay in eval mode, using the baseline's statistics. A mask placed
before a batch norm that renormalises every batch would be scale-free: shrinking all of a cell's
masks would change nothing until they hit zero together, so the L1 penalty could not tell an
important node from an unimportant one. With fixed statistics a smaller mask really weakens the
node, and the data and adversarial losses push back where the node matters.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..data import DatasetSplits
from ..engine import Diverged, Epochs, Session, run_epochs
from ..events import EventBus
from ..holdout import VALID_FRACTION, Holdout, hold_out
from ..model import EvalNetwork, count_parameters
from ..rundir import RunDir
from ..runtime import seeded, to_device
from ..steps import evaluate, make_loader
from .config import GalConfig
from .discriminator import Discriminator
from .fista import FISTA
from .losses import adversarial_loss, data_loss, discriminator_loss, regularisation
from .masks import kept_from_masks, mask_values, masked_copy, weight_parameters

LOSSES = ("d_loss", "adv_loss", "data_loss", "reg_loss")


@dataclass
class MaskTraining:
    """The outcome of the adversarial stage.

    Attributes:
        generator: the masked network (its cells' ``node_scale`` are the masks).
        masks: final mask values, one list per cell.
        discriminator: the trained discriminator.
        history: one record per epoch (mean losses, masked test accuracy, kept nodes).
        status: finished | stopped | collapsed.
        message: why a collapsed run stopped, and the λ to try ('' otherwise).
    """

    generator: EvalNetwork
    masks: list[list[float]]
    discriminator: Discriminator
    history: list[dict]
    status: str
    message: str = ""


def epoch_steps(config: GalConfig, batches: int) -> int:
    """The steps of one mask-training epoch over ``batches`` batches: at most ``reference_steps``."""
    return min(batches, config.reference_steps)


class _Stage:
    """The models and optimisers of one adversarial run (kept together so the steps stay short)."""

    def __init__(self, baseline: EvalNetwork, config: GalConfig, num_classes: int, device: torch.device):
        self.config = config
        self.baseline = baseline.to(device).eval()  # frozen: only read under no_grad
        self.generator, self.masks = masked_copy(self.baseline, config.mask_init)
        self.generator.requires_grad_(True)
        self.generator.dropout.p = config.noise  # the noise z of eq. 5
        self.weights = weight_parameters(self.generator)
        self.discriminator = Discriminator(num_classes, config.d_hidden).to(device)
        self.g_opt = torch.optim.SGD(self.weights, config.g_lr, momentum=config.momentum,
                                     weight_decay=config.g_weight_decay)
        self.s_opt = FISTA(self.masks, lr=config.mask_lr, lam=config.lam,
                           adaptive_restart=config.adaptive_restart)
        self.d_opt = torch.optim.Adam(self.discriminator.parameters(), config.d_lr, betas=(0.5, 0.9),
                                      weight_decay=config.d_weight_decay)

    def step(self, x: torch.Tensor) -> dict[str, float]:
        cfg = self.config
        with torch.no_grad():
            f_b = self.baseline(x)
            self.generator.eval()  # no noise while the discriminator learns
            p_g = F.softmax(self.generator(x), dim=1)
        p_b = F.softmax(f_b, dim=1)
        self.discriminator.requires_grad_(True)
        for _ in range(cfg.d_steps):
            self.d_opt.zero_grad(set_to_none=True)
            d_loss = discriminator_loss(self.discriminator, p_b, p_g, cfg.adversarial, cfg.gp_weight)
            d_loss.backward()
            self.d_opt.step()
        self.discriminator.requires_grad_(False)
        self.generator.dropout.train()  # the noise z, only in generator updates
        f_g = self.generator(x)
        adv = adversarial_loss(self.discriminator, F.softmax(f_g, dim=1), cfg.adversarial)
        dat = data_loss(f_b, f_g)
        self.g_opt.zero_grad(set_to_none=True)
        self.s_opt.zero_grad(set_to_none=True)
        (cfg.adv_weight * adv + cfg.data_weight * dat).backward()
        torch.nn.utils.clip_grad_norm_(self.weights, cfg.grad_clip)
        self.g_opt.step()
        self.s_opt.step()
        reg = regularisation(self.weights, self.s_opt.iterates(), self.discriminator.parameters(), cfg.lam,
                             cfg.g_weight_decay, cfg.d_weight_decay)
        return {"d_loss": float(d_loss.detach()), "adv_loss": float(adv.detach()), "data_loss": float(dat.detach()),
                "reg_loss": reg, "agree": float((f_g.detach().argmax(1) == f_b.argmax(1)).float().mean()),
                "constant_loss": float(0.5 * (f_b - f_b.mean(0)).pow(2).sum(1).mean())}


def collapse_message(record: dict, config: GalConfig, num_classes: int) -> str:
    """Why an epoch's record shows a collapsed mask run ('' if it does not), with the λ to try.

    ``record`` holds the epoch's mean ``data_loss`` and ``constant_loss`` (eq. 6 for the
    baseline's mean logits), the masked network's ``val_acc`` and the ``masks`` per cell.
    """
    advice = (f"try a smaller λ, e.g. --lam {config.lam / 4:.3g} (λ={config.lam:g} now), "
              "or fewer mask-training epochs")
    loss = record["data_loss"]
    if not math.isfinite(loss) or loss > record["constant_loss"]:
        return (f"mask training collapsed in epoch {record['epoch']}: the data loss (eq. 6) reached {loss:.3g}, "
                f"worse than a constant output ({record['constant_loss']:.3g}); {advice}")
    empty = [k for k, cell in enumerate(record["masks"], start=1) if cell and not any(cell)]
    if empty and record["val_acc"] <= 1.5 / num_classes:  # chance level
        return (f"mask training collapsed in epoch {record['epoch']}: every mask of cell(s) "
                f"{', '.join(map(str, empty))} is 0 and the masked network's validation accuracy fell to "
                f"{record['val_acc']:.3f} (chance: {1 / num_classes:.3f}); {advice}")
    return ""


def mask_data(data: DatasetSplits, config: GalConfig) -> DatasetSplits:
    """The mask training's data: 10% of each class's training images held out (seeded by the config)
    as the validation images the collapse check reads; the masks train on the rest."""
    return hold_out(data, Holdout(VALID_FRACTION, config.seed))


class _Masking(Epochs):
    """Mask training as the run loop sees it: one adversarial step per batch, a masked validation per epoch."""

    kind = "prune"
    checkpoint_keys = ("epoch", "model", "discriminator", "g_optimizer", "s_optimizer", "d_optimizer", "rng",
                       "loader_rng")

    def __init__(self, baseline: EvalNetwork, config: GalConfig, data: DatasetSplits, session: Session, name: str):
        self.config, self.session, self.name, self.baseline = config, session, name, baseline
        data = mask_data(data, config)
        self.loaders = (make_loader(data.train, config.gal_batch_size, True, config.seed),)
        self.valid_loader = make_loader(data.valid, 256, False)
        self.epochs, self.steps = config.gal_epochs, epoch_steps(config, len(self.loaders[0]))
        self.stage = _Stage(baseline, config, data.num_classes, session.device)
        self.model, self.num_classes = self.stage.generator, data.num_classes
        self.chance = 1.5 / data.num_classes  # accuracies at or below this count as chance level
        self.can_collapse = evaluate(self.stage.baseline, self.valid_loader, session.device, config.amp)["acc"] > \
            self.chance
        self.message = ""

    def state_dict(self) -> dict:
        s = self.stage
        return {"model": s.generator.state_dict(), "discriminator": s.discriminator.state_dict(),
                "g_optimizer": s.g_opt.state_dict(), "s_optimizer": s.s_opt.state_dict(),
                "d_optimizer": s.d_opt.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        s = self.stage
        s.generator.load_state_dict(state["model"])
        s.discriminator.load_state_dict(state["discriminator"])
        s.g_opt.load_state_dict(state["g_optimizer"])
        s.s_opt.load_state_dict(state["s_optimizer"])
        s.d_opt.load_state_dict(state["d_optimizer"])

    def start(self, run: RunDir) -> None:
        run.write_json("config.json", {"kind": "prune", **self.config.to_dict()})

    def run_start(self) -> dict:
        return {"parameters": count_parameters(self.baseline), "masks": mask_values(self.stage.masks),
                "cell_types": ["reduction" if c.reduction else "normal" for c in self.baseline.network.cells]}

    def begin_epoch(self, epoch: int, partial: dict | None) -> dict:
        self.partial = dict(partial) if partial else {**dict.fromkeys((*LOSSES, "agree", "constant_loss"), 0.0),
                                                      "n": 0}
        return {"lr": self.config.g_lr}

    def batches(self):
        loader = self.loaders[0]
        # a full pass runs the loader to its end, which draws the sampler's numbers as it always did
        return loader if self.steps == len(loader) else itertools.islice(loader, self.steps)

    def step(self, batch, epoch: int, step: int) -> dict:
        self.losses = losses = self.stage.step(to_device(batch[0], self.session.device))
        for key, value in losses.items():
            self.partial[key] += value
        self.partial["n"] += 1
        self.values = mask_values(self.stage.s_opt.iterates())
        finite = all(bool(torch.isfinite(m).all()) for m in self.stage.masks)  # the extrapolated point too
        finite = finite and all(math.isfinite(v) for v in [*losses.values(), *(v for c in self.values for v in c)])
        if not finite:
            raise Diverged(losses["adv_loss"] + losses["data_loss"])
        return {"loss": losses["adv_loss"] + losses["data_loss"], "acc": losses["agree"]}

    def after_step(self, bus: EventBus, epoch: int, step: int) -> None:
        bus.emit("masks", epoch=epoch + 1, step=step + 1, steps=self.steps, iteration=epoch * self.steps + step + 1,
                 masks=self.values, kept=[list(k) for k in kept_from_masks(self.values, self.config.threshold)],
                 **{key: self.losses[key] for key in LOSSES})

    def end_epoch(self, epoch: int) -> tuple[dict, dict]:
        self.stage.s_opt.restart()  # the masks become FISTA's iterates; momentum restarts every epoch, as in GAL
        valid = evaluate(self.stage.generator, self.valid_loader, self.session.device, self.config.amp)
        values, n = mask_values(self.stage.masks), self.partial["n"]
        record = {"epoch": epoch + 1, **{key: self.partial[key] / max(n, 1) for key in (*LOSSES, "agree",
                                                                                         "constant_loss")},
                  "val_acc": valid["acc"], "val_loss": valid["loss"], "masks": values,
                  "kept": [list(k) for k in kept_from_masks(values, self.config.threshold)]}
        self.message = collapse_message(record, self.config, self.num_classes) if self.can_collapse else ""
        self.halt = "collapsed" if self.message else ""
        return record, {}

    def finish(self, status: str, history: list[dict], run: RunDir | None) -> tuple[dict, dict]:
        values = mask_values(self.stage.masks)
        kept = [list(k) for k in kept_from_masks(values, self.config.threshold)]
        message = {"message": self.message} if self.message else {}
        return ({"epochs_done": len(history), "masks": values, **message},
                {"epochs_done": len(history), "masks": values, "kept": kept, **message})


def train_masks(baseline: EvalNetwork, config: GalConfig, data: DatasetSplits, session: Session,
                name: str = "gal masks") -> MaskTraining:
    """Learn sparse soft masks for ``baseline``'s nodes adversarially (eq. 4), emitting events.

    Events: ``run_start`` (kind 'prune'; also the initial masks and the cell types),
    ``epoch_start``, ``step`` (loss = adversarial + data loss, acc = agreement with the baseline's
    predictions), ``masks`` after every generator update (epoch, step, steps, iteration, masks per
    cell, kept nodes per cell, d_loss, adv_loss, data_loss, reg_loss), ``epoch_end`` (mean losses,
    the masked generator's validation accuracy, masks, kept nodes) and ``run_end`` (status, final masks,
    kept nodes; for a collapsed run also the message). The caller's session decides the device, the
    stop signal and the run folder (``config.json``, ``metrics.json``, ``checkpoint.pt``, ``run.json``;
    with ``session.resume`` a stopped mask training continues where it stopped). Mask values are
    FISTA's iterates (exact zeros), not its extrapolated points.
    """
    with seeded(config.seed):  # the same baseline and config always prune the same way
        masking = _Masking(baseline, config, data, session, name)
        status, history = run_epochs(masking, session)
    stage = masking.stage
    return MaskTraining(stage.generator, mask_values(stage.masks), stage.discriminator, history, status,
                        masking.message)
