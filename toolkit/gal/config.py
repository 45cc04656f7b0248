"""The DARTS-GAL configuration: baseline/retraining settings plus the adversarial mask training.

The defaults are sized for a laptop CPU. On ``digits`` with DARTS V2 (C=16, 5 cells, reductions
at cells 2 and 3, ``python -m toolkit prune gal --genotype DARTS_V2 --reductions 2 3``) they prune
49% of the parameters in the λ sweep of bench/RESULTS.md, with the retrained network 0.56 points
above the baseline's test accuracy: 10 epochs of baseline training and of retraining (batch 64,
lr 0.025, cosine), 5 epochs of mask training, λ = 12, pruning at exact zeros (threshold 0). The
outcome varies with the seed and the thread count; λ >= 15 collapses there and stops.

The registry's presets ``paper-mnist``, ``paper-fashion-mnist`` and ``paper-cifar10``
(:mod:`toolkit.methods`, ``python -m toolkit prune gal --preset ...``) hold the paper's values per
data set. The paper's values are also given in the comments (section 4 of the paper: lr 0.01, batch 128 for
training and 100 for pruning, 50 epochs on MNIST). λ has no published value; its scale is set by
the data loss (eq. 6, summed over the logits), so useful values are about 10-14 on digits, and a
value like 0.01 prunes nothing. A mask-training epoch takes at most ``reference_steps`` steps
(23: a full pass over digits at batch 64; a fresh random part of a larger data set), so an epoch
is the same amount of optimisation on any data set and a λ prunes about as much on a 10x larger
set as on digits (bench/RESULTS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config import TrainConfig
from ..errors import ToolkitError
from ..methods import get_method

ADVERSARIAL = ("wasserstein", "log")
RETRAIN = ("scratch", "inherit")


@dataclass(frozen=True)
class GalConfig(TrainConfig):
    """Baseline training, GAL mask training, pruning and retraining (DARTS-GAL paper section 3).

    The inherited :class:`~toolkit.config.TrainConfig` fields (epochs, batch_size, lr, ...) train the
    baseline and, unchanged, the pruned network (section 3.4 keeps the hyper-parameters). The
    fields below drive the adversarial pruning stage (eqs. 4-7).

    Attributes:
        epochs: epochs of the baseline training and of the retraining (paper, MNIST: 50).
        lam: λ of the L1 penalty R_λ(s) = λ·||s||_1 on the masks (eq. 7; larger prunes more), in the units of
            eq. 6's data loss on the logits.
        gal_epochs: mask-training epochs of at most reference_steps steps each (paper: not stated).
        gal_batch_size: batch of the mask training (paper: 100).
        g_lr: SGD learning rate of the generator's weights W_G (paper: 0.01, which diverges with frozen batch-norm
            statistics).
        mask_lr: step size of the proximal (FISTA) mask update; the soft threshold is mask_lr·λ per step.
        reference_steps: most steps of one mask-training epoch (a larger value: full passes; 23 is digits at
            batch 64).
        adaptive_restart: FISTA also restarts its momentum when it opposes the step (False: the masks collapse).
        d_lr: Adam learning rate of the discriminator W_D.
        d_steps: discriminator updates per generator update (section 3.4: 5).
        adversarial: adversarial loss: wasserstein (section 3.4) or log (eq. 5).
        gp_weight: gradient penalty keeping the Wasserstein critic 1-Lipschitz (WGAN-GP).
        adv_weight: weight of the adversarial loss in the generator objective.
        data_weight: weight of the data loss (eq. 6) in the generator objective.
        g_weight_decay: R(W_G) = ½·decay·||W_G||² (eq. 7).
        d_weight_decay: R(W_D) = ½·decay·||W_D||² (eq. 7).
        noise: dropout rate of the generator noise z, active only in generator updates (section 3.3).
        d_hidden: width of the discriminator's four hidden layers.
        mask_init: initial soft-mask value (1: the generator starts as the baseline).
        threshold: prune nodes whose mask is <= this (0: exact zeros only).
        retrain: retrain the pruned network from scratch (as the paper) or from the generator's inherited
            weights (inherit).
    """

    epochs: int = 10
    lam: float = get_method("gal").defaults["lam"]
    gal_epochs: int = 5
    gal_batch_size: int = 64
    g_lr: float = 0.001
    mask_lr: float = 0.003
    reference_steps: int = 23
    adaptive_restart: bool = True
    d_lr: float = 1e-4
    d_steps: int = 5
    adversarial: str = "wasserstein"
    gp_weight: float = 10.0
    adv_weight: float = 1.0
    data_weight: float = 1.0
    g_weight_decay: float = 3e-4
    d_weight_decay: float = 3e-4
    noise: float = 0.1
    d_hidden: int = 128
    mask_init: float = 1.0
    threshold: float = 0.0
    retrain: str = "scratch"

    def __post_init__(self):
        super().__post_init__()
        if self.lam < 0:
            raise ToolkitError(f"lam (λ) must be >= 0, got {self.lam}")
        for name in ("gal_epochs", "gal_batch_size", "d_steps", "reference_steps"):
            if getattr(self, name) < 1:
                raise ToolkitError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("g_lr", "mask_lr", "d_lr"):
            if getattr(self, name) <= 0:
                raise ToolkitError(f"{name} must be positive, got {getattr(self, name)}")
        if self.adversarial not in ADVERSARIAL:
            raise ToolkitError(f"unknown adversarial loss '{self.adversarial}'; choose {' or '.join(ADVERSARIAL)}")
        if self.retrain not in RETRAIN:
            raise ToolkitError(f"unknown retrain mode '{self.retrain}'; choose {' or '.join(RETRAIN)}")
        if not 0.0 <= self.noise < 1.0:
            raise ToolkitError(f"noise (dropout rate) must be in [0, 1), got {self.noise}")
        if self.threshold < 0:
            raise ToolkitError(f"threshold must be >= 0, got {self.threshold}")
