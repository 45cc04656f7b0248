"""Soft masks on the intermediate nodes of every cell (DARTS-GAL paper section 3.3).

The generator is a copy of the baseline whose cells scale each node's output by a learnable,
non-negative mask ``s`` through :attr:`toolkit.model.Cell.node_scale`: a node then contributes
``s * x_node`` to everything that reads it (later nodes and the cell output). A mask at exactly
zero removes the node's contribution, which is what pruning makes permanent.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from ..model import EvalNetwork


def attach_masks(model: EvalNetwork, init: float = 1.0) -> list[nn.Parameter]:
    """Give every cell of ``model`` one mask per intermediate node, in place.

    Args:
        model: the network to mask (its cells get ``node_scale`` parameters).
        init: the initial mask value (1 reproduces the unmasked network exactly).

    Returns:
        The masks, one 1-D parameter per cell (a cell without nodes gets an empty one).
    """
    masks = []
    for cell in model.cells:
        device = next(cell.parameters()).device
        mask = nn.Parameter(torch.full((len(cell.genotype.nodes),), float(init), device=device))
        cell.node_scale = mask  # registered as the cell's parameter "node_scale"
        masks.append(mask)
    return masks


def masked_copy(baseline: EvalNetwork, init: float = 1.0) -> tuple[EvalNetwork, list[nn.Parameter]]:
    """The generator: a deep copy of ``baseline`` (same weights) with fresh soft masks."""
    generator = copy.deepcopy(baseline)
    return generator, attach_masks(generator, init)


def mask_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The masks of a masked network (parameters named ``...node_scale``)."""
    return [p for name, p in model.named_parameters() if name.endswith("node_scale")]


def weight_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Every parameter of a masked network except the masks (the generator weights W_G)."""
    return [p for name, p in model.named_parameters() if not name.endswith("node_scale")]


def mask_values(masks: list[torch.Tensor]) -> list[list[float]]:
    """Plain per-cell lists of mask values (for events, JSON and tables)."""
    return [m.detach().cpu().tolist() for m in masks]


def kept_from_masks(masks: list[torch.Tensor] | list[list[float]], threshold: float = 0.0) -> list[tuple[int, ...]]:
    """Per cell, the node indices (0-based, as in the paper's tables) whose mask exceeds ``threshold``."""
    values = [m.detach().cpu().tolist() if isinstance(m, torch.Tensor) else list(m) for m in masks]
    return [tuple(i for i, v in enumerate(cell) if v > threshold) for cell in values]
