"""DARTS-GAL: prune the intermediate nodes of stacked cells with generative adversarial learning.

DARTS-GAL paper section 3: soft masks on every node of every cell of a copy of the trained baseline
(the generator), a 5-layer perceptron discriminator on the softmax outputs, the losses of
eqs. 4-7 with 5 discriminator updates per generator update, proximal (FISTA) mask updates that
drive masks to exact zeros, then pruning to a physically smaller network and retraining.

Example:
    >>> from toolkit import PUBLISHED
    >>> from toolkit.gal import GalConfig, run_gal
    >>> result = run_gal(PUBLISHED["DARTS_V2"], GalConfig(reductions=(2, 3)))  # doctest: +SKIP
    >>> print(result.report)  # doctest: +SKIP
"""

from .adversarial import MaskTraining, collapse_message, epoch_steps, train_masks
from .config import GalConfig
from .discriminator import Discriminator
from .fista import FISTA, prox_nonneg_l1, soft_threshold
from .losses import adversarial_loss, data_loss, discriminator_loss, regularisation
from .masks import attach_masks, kept_from_masks, mask_parameters, mask_values, masked_copy
from .prune import EMPTY_CELL, build_pruned, orphaned_nodes, prune_genotype, prune_network
from .report import CellRow, GalReport, kept_rows
from .run import GalResult, load_trained, run_gal
from .sweep import SweepPoint, lambda_sweep

__all__ = [
    "EMPTY_CELL", "FISTA", "CellRow", "Discriminator", "GalConfig", "GalReport", "GalResult", "MaskTraining",
    "SweepPoint", "adversarial_loss", "attach_masks", "build_pruned", "collapse_message", "data_loss",
    "discriminator_loss", "epoch_steps",
    "kept_from_masks", "kept_rows", "lambda_sweep", "load_trained", "mask_parameters", "mask_values", "masked_copy",
    "orphaned_nodes", "prox_nonneg_l1", "prune_genotype", "prune_network", "regularisation", "run_gal",
    "soft_threshold", "train_masks",
]
