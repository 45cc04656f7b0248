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
from ..model import AuxiliaryHead, EvalNetwork
from ..ops import FactorizedReduce, ReLUConvBN

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
    outputs = [c for c in genotype.concat if c >= 2 and c - 2 in alive]
    if not outputs:
        return EMPTY_CELL
    state = {0: 0, 1: 1, **{old + 2: new + 2 for new, old in enumerate(alive)}}
    nodes = tuple(tuple((op, state[src]) for op, src in genotype.nodes[i] if src < 2 or src in state)
                  for i in alive)
    concat = tuple(state[c] for c in genotype.concat if c < 2 or c in state)
    return Genotype(nodes, concat, tuple(genotype.node_ids[i] for i in alive))


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
    model computes (a cell that keeps no node is the exception of rule 4).
    """
    pruned = EvalNetwork(prune_network(model.network, keep), model.sizes)
    if inherit:
        pruned.to(next(model.parameters()).device)
        with torch.no_grad():
            _inherit(pruned, model, keep)
    return pruned


def _readers(module: nn.Module) -> list[nn.Module]:
    """The layers of a preprocessing block, classifier or auxiliary head that read a cell output."""
    if isinstance(module, ReLUConvBN):
        return [module[1]]
    if isinstance(module, FactorizedReduce):
        return [module.conv_1, module.conv_2]
    if isinstance(module, nn.Sequential) and isinstance(module[0], FactorizedReduce):
        return _readers(module[0])
    if isinstance(module, AuxiliaryHead):
        return [module.features[2]]
    return [module]  # the classifier (nn.Linear)


def _copy_same(new: nn.Module, old: nn.Module) -> None:
    """Copy every parameter and buffer whose name and shape match."""
    old_state = old.state_dict()
    for name, tensor in new.state_dict().items():
        if name in old_state and old_state[name].shape == tensor.shape:
            tensor.copy_(old_state[name])


def _copy_reader(new: nn.Module, old: nn.Module, channels: list[int | None]) -> None:
    """Copy a module that reads a state whose channels were selected: ``channels[i]`` is the old
    channel feeding new channel ``i`` (None: a new channel, left freshly initialised)."""
    fresh = [layer.weight.detach().clone() for layer in _readers(new)]
    _copy_same(new, old)
    pairs = [(i, c) for i, c in enumerate(channels) if c is not None]
    for layer, old_layer, init in zip(_readers(new), _readers(old), fresh, strict=True):
        layer.weight.copy_(init)
        if pairs:
            new_idx, old_idx = zip(*pairs, strict=True)
            layer.weight[:, list(new_idx)] = old_layer.weight[:, list(old_idx)]


def _state_channels(old_cell, new_genotype: Genotype, order: list[int]) -> list[int | None]:
    """For each channel of a pruned cell's output, the old output channel it carries (or None)."""
    C = old_cell.C_out // len(old_cell.genotype.concat)
    if not order:  # rule 4: the bridge's output is new
        return [None] * C * len(new_genotype.concat)
    origin = {0: 0, 1: 1, **{new + 2: old + 2 for new, old in enumerate(order)}}
    old_position = {c: p for p, c in enumerate(old_cell.genotype.concat)}
    channels: list[int | None] = []
    for c in new_genotype.concat:
        p = old_position.get(origin[c])
        channels.extend(range(p * C, (p + 1) * C) if p is not None else [None] * C)
    return channels


def _inherit(new: EvalNetwork, old: EvalNetwork, keep: Sequence[Iterable[int]]) -> None:
    _copy_same(new.stem, old.stem)
    states: list[list[int | None]] = [list(range(new.stem[0].out_channels))]
    for spec, new_cell, old_cell, k in zip(new.network.cells, new.cells, old.cells, keep, strict=True):
        order = _survivors(old_cell.genotype, k)
        for name, source in zip(("preprocess0", "preprocess1"), spec.inputs, strict=True):
            if getattr(new_cell, name) is not None and getattr(old_cell, name) is not None:
                _copy_reader(getattr(new_cell, name), getattr(old_cell, name), states[source])
        for new_ops, old_index in zip(new_cell.ops, order, strict=True):
            old_edges = old_cell.genotype.nodes[old_index]
            kept_ops = [op for (_, src), op in zip(old_edges, old_cell.ops[old_index], strict=True)
                        if src < 2 or src - 2 in order]
            for new_op, old_op in zip(new_ops, kept_ops, strict=True):
                _copy_same(new_op, old_op)
        if old_cell.node_scale is not None and order:
            scale = old_cell.node_scale.detach()[order].clone()
            if not torch.equal(scale, torch.ones_like(scale)):
                new_cell.node_scale = nn.Parameter(scale, requires_grad=False)
        for key, module in new_cell.reduce_inputs.items():
            if key in old_cell.reduce_inputs:
                _copy_same(module, old_cell.reduce_inputs[key])
        states.append(_state_channels(old_cell, new_cell.genotype, order))
    _copy_reader(new.classifier, old.classifier, states[-1])
    if new.aux_after is not None:
        _copy_reader(new.auxiliary_head, old.auxiliary_head, states[new.aux_after])
