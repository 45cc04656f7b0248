"""Pruning: turn kept-node sets into a smaller network description and a physically smaller model.

The rule (DARTS-GAL paper section 3.3, "structural pruning of the intermediate state nodes"), per
cell, chosen so that the pruned network computes exactly what the masked network computed
(:class:`toolkit.model.Cell` applies the same rule to its masks):

1. A node whose mask is zero (not in ``keep``) is removed, with its own input edges and with
   every edge that reads it. A kept node that read a removed node keeps its other edges.
2. A node that loses *all* its inputs that way is removed as well (it would pass on only a
   constant); this can cascade to later nodes. :func:`orphaned_nodes` lists them.
3. Surviving nodes keep their original numbers (``Genotype.node_ids``); surviving nodes that the
   cell concatenated stay in the cell output.
4. A cell with no surviving node becomes ``Genotype(nodes=(), concat=(1,))``: its output is the
   preprocessed previous cell (its second input). A reduction cell still halves the resolution,
   because the evaluation network passes a concatenated cell input through FactorizedReduce
   there; a normal cell becomes a 1x1 ReLU-conv-BN of the previous cell. This is the one case
   where the pruned network differs from the masked one, whose emptied cell outputs zeros.

Removing nodes from a cell output also narrows every later preprocessing layer (and the
classifier) that reads it, which is where much of the parameter saving comes from.

Node indices in ``keep`` are 0-based mask positions (node ``i`` is DARTS node ``i + 2``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import nn

from ..errors import ToolkitError
from ..genotype import CellSpec, Genotype, Network
from ..inherit import InheritanceReport, inherit_weights
from ..model import EvalNetwork

EMPTY_CELL = Genotype(nodes=(), concat=(1,))


def _survivors(genotype: Genotype, keep: Iterable[int]) -> list[int]:
    """The 0-based positions of the nodes that survive rules 1 and 2, in order."""
    keep = set(keep)
    bad = sorted(i for i in keep if not 0 <= i < len(genotype.nodes))
    if bad:
        raise ToolkitError(f"kept node(s) {bad} do not exist; the cell has nodes 0..{len(genotype.nodes) - 1}")
    alive: list[int] = []
    for i, node in enumerate(genotype.nodes):
        if i in keep and any(src < 2 or src - 2 in alive for _, src in node):
            alive.append(i)
    return alive


def prune_genotype(genotype: Genotype, keep: Iterable[int]) -> Genotype:
    """The cell without its removed nodes (rules 1-4 of the module); survivors keep their numbers.

    Example:
        >>> g = Genotype.from_text("sep_conv_3x3(0)+sep_conv_3x3(1) | skip_connect(0)+dil_conv_3x3(2) ; 2,3")
        >>> str(prune_genotype(g, keep=[1]))
        '3: skip_connect(0) ; 3'
        >>> str(prune_genotype(g, keep=[0]))
        'sep_conv_3x3(0)+sep_conv_3x3(1) ; 2'
        >>> str(prune_genotype(g, keep=[]))
        ' ; 1'
    """
    alive = _survivors(genotype, keep)
    adds = genotype.output == "add"  # a TS-ENAS cell adds whichever nodes are loose ends after pruning
    outputs = alive if adds else [c for c in genotype.concat if c >= 2 and c - 2 in alive]
    if not outputs:
        return EMPTY_CELL
    state = {0: 0, 1: 1, **{old + 2: new + 2 for new, old in enumerate(alive)}}
    nodes = tuple(tuple((op, state[src]) for op, src in genotype.nodes[i] if src < 2 or src in state)
                  for i in alive)
    concat = tuple(range(2, 2 + len(alive))) if adds else \
        tuple(state[c] for c in genotype.concat if c < 2 or c in state)
    pruned = Genotype(nodes, concat, tuple(genotype.node_ids[i] for i in alive))
    return pruned.with_add_output() if adds else pruned


def orphaned_nodes(genotype: Genotype, keep: Iterable[int]) -> tuple[int, ...]:
    """Kept nodes (0-based) removed anyway because every input they read was removed (rule 2)."""
    alive = set(_survivors(genotype, keep))
    return tuple(sorted(i for i in set(keep) if i not in alive))


def _check_keep(network: Network, keep: Sequence[Iterable[int]]) -> None:
    if len(keep) != len(network.cells):
        raise ToolkitError(f"keep lists {len(keep)} cell(s) but the network has {len(network.cells)}; "
                           "give one collection of kept node indices per cell")


def prune_network(network: Network, keep: Sequence[Iterable[int]]) -> Network:
    """A new network description whose cells hold only their surviving nodes (rules 1-4).

    Args:
        network: the unpruned description.
        keep: per cell (in order), the 0-based indices of the nodes to keep.

    Cell types and input wiring are unchanged, so reduction cells keep their spatial reduction.
    """
    _check_keep(network, keep)
    return Network(tuple(CellSpec(prune_genotype(spec.genotype, k), spec.reduction, spec.inputs)
                         for spec, k in zip(network.cells, keep, strict=True)))


def build_pruned(model: EvalNetwork, keep: Sequence[Iterable[int]], inherit: bool = True) -> EvalNetwork:
    """A physically smaller :class:`EvalNetwork` for the pruned description.

    Args:
        model: the unpruned (possibly masked) network.
        keep: per cell, the 0-based indices of the kept nodes.
        inherit: copy the surviving weights from ``model`` (ops of surviving nodes, the input
            channels of preprocessing layers and classifier that still exist, stem, batch-norm
            statistics) and the surviving nodes' mask values, as fixed (untrained) node scales
            when any differs from 1; otherwise the new network is freshly initialised.

    With ``inherit`` and every cell keeping a node, the result computes exactly what the masked
    model computes (a cell that keeps no node is the exception of rule 4). The result's
    ``inheritance`` attribute holds the :class:`~toolkit.inherit.InheritanceReport` (None without
    ``inherit``): what was copied, and what was left freshly initialised and why (e.g. the layers
    reading an emptied cell).
    """
    pruned = EvalNetwork(prune_network(model.network, keep), model.sizes)
    pruned.inheritance = None
    if inherit:
        pruned.to(next(model.parameters()).device)
        with torch.no_grad():
            pruned.inheritance = _inherit(pruned, model, keep)
    return pruned


def _inherit(new: EvalNetwork, old: EvalNetwork, keep: Sequence[Iterable[int]]) -> InheritanceReport:
    """Surviving weights by cell and op (:func:`toolkit.inherit.inherit_weights`; kept nodes keep their
    numbers, so no node mapping is needed), then the surviving nodes' masks as fixed node scales."""
    report = inherit_weights(new, old)
    for new_cell, old_cell, k in zip(new.cells, old.cells, keep, strict=True):
        order = _survivors(old_cell.genotype, k)
        if old_cell.node_scale is not None and order:
            scale = old_cell.node_scale.detach()[order].clone()
            if not torch.equal(scale, torch.ones_like(scale)):
                new_cell.node_scale = nn.Parameter(scale, requires_grad=False)
    return report
