"""Pruning: turn kept-node sets into a smaller network description and a physically smaller model.

The rule (darts-gal.md section 3.3, "structural pruning of the intermediate state nodes"), per cell:

1. A node is *kept* when its index (0-based, as in the paper's tables) is in ``keep``; kept nodes
   that the cell concatenated stay in the cell output.
2. A node that a kept node reads from, directly or through other nodes, keeps its ops even when
   its own mask is zero: it becomes a *feeding* node, computed but left out of the cell output.
3. Every other node is removed with all its ops; the remaining nodes are renumbered in order.
4. A cell with no kept node becomes ``Genotype(nodes=(), concat=(1,))``: its output is the
   preprocessed previous cell (its second input). A reduction cell still halves the resolution,
   because the evaluation network passes a concatenated cell input through FactorizedReduce
   there; a normal cell becomes a 1x1 ReLU-conv-BN of the previous cell. Its first input is no
   longer read, so the cell has no preprocessing layer for it.

Removing nodes from a cell output also narrows every later preprocessing layer (and the
classifier) that reads it, which is where much of the parameter saving comes from.
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


def _plan(genotype: Genotype, keep: Iterable[int]) -> tuple[list[int], list[int]]:
    """The old node indices the pruned cell computes (in order) and the old states it outputs."""
    keep = set(keep)
    bad = sorted(i for i in keep if not 0 <= i < len(genotype.nodes))
    if bad:
        raise ToolkitError(f"kept node(s) {bad} do not exist; the cell has nodes 0..{len(genotype.nodes) - 1}")
    outputs = [c for c in genotype.concat if c < 2 or c - 2 in keep]
    needed, todo = set(), [c - 2 for c in outputs if c >= 2]
    while todo:  # rule 2: everything a kept output reads from
        i = todo.pop()
        if i not in needed:
            needed.add(i)
            todo.extend(src - 2 for _, src in genotype.nodes[i] if src >= 2)
    return sorted(needed), outputs


def prune_genotype(genotype: Genotype, keep: Iterable[int]) -> Genotype:
    """The cell with only the kept nodes and the nodes they read from (rules 1-4 of the module).

    Example:
        >>> g = Genotype.from_text("sep_conv_3x3(0)+sep_conv_3x3(1) | skip_connect(0)+dil_conv_3x3(2) ; 2,3")
        >>> str(prune_genotype(g, keep=[1]))
        'sep_conv_3x3(0)+sep_conv_3x3(1) | skip_connect(0)+dil_conv_3x3(2) ; 3'
        >>> str(prune_genotype(g, keep=[0]))
        'sep_conv_3x3(0)+sep_conv_3x3(1) ; 2'
        >>> str(prune_genotype(g, keep=[]))
        ' ; 1'
    """
    order, outputs = _plan(genotype, keep)
    if not outputs:
        return EMPTY_CELL
    state = {0: 0, 1: 1, **{old + 2: new + 2 for new, old in enumerate(order)}}
    nodes = tuple(tuple((op, state[src]) for op, src in genotype.nodes[i]) for i in order)
    return Genotype(nodes, tuple(state[c] for c in outputs))


def _check_keep(network: Network, keep: Sequence[Iterable[int]]) -> None:
    if len(keep) != len(network.cells):
        raise ToolkitError(f"keep lists {len(keep)} cell(s) but the network has {len(network.cells)}; "
                           "give one collection of kept node indices per cell")


def prune_network(network: Network, keep: Sequence[Iterable[int]]) -> Network:
    """A new network description whose cells hold only their kept (and feeding) nodes.

    Args:
        network: the unpruned description.
        keep: per cell (in order), the 0-based indices of the nodes to keep.

    Cell types and input wiring are unchanged, so reduction cells keep their spatial reduction.
    """
    _check_keep(network, keep)
    return Network(tuple(CellSpec(prune_genotype(spec.genotype, k), spec.reduction, spec.inputs)
                         for spec, k in zip(network.cells, keep, strict=True)))


def feeding_nodes(genotype: Genotype, keep: Iterable[int]) -> tuple[int, ...]:
    """Nodes not kept that survive because a kept node reads from them (rule 2)."""
    keep = set(keep)
    order, _ = _plan(genotype, keep)
    return tuple(i for i in order if i not in keep)


def build_pruned(model: EvalNetwork, keep: Sequence[Iterable[int]], inherit: bool = True) -> EvalNetwork:
    """A physically smaller :class:`EvalNetwork` for the pruned description.

    Args:
        model: the unpruned (possibly masked) network.
        keep: per cell, the 0-based indices of the kept nodes.
        inherit: copy the surviving weights from ``model`` (ops of kept and feeding nodes,
            the input channels of preprocessing layers and classifier that still exist, stem,
            batch-norm statistics); otherwise the new network is freshly initialised.

    Masks are not carried over: with masks of exactly 1 on kept nodes and 0 on removed ones
    (and no removed node read by a kept one) the result computes what the masked model does.
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
        order, _ = _plan(old_cell.genotype, k)
        for name, source in zip(("preprocess0", "preprocess1"), spec.inputs, strict=True):
            if getattr(new_cell, name) is not None and getattr(old_cell, name) is not None:
                _copy_reader(getattr(new_cell, name), getattr(old_cell, name), states[source])
        for new_ops, old_index in zip(new_cell.ops, order, strict=True):
            _copy_same(new_ops, old_cell.ops[old_index])
        for key, module in new_cell.reduce_inputs.items():
            if key in old_cell.reduce_inputs:
                _copy_same(module, old_cell.reduce_inputs[key])
        states.append(_state_channels(old_cell, new_cell.genotype, order))
    _copy_reader(new.classifier, old.classifier, states[-1])
    if new.aux_after is not None:
        _copy_reader(new.auxiliary_head, old.auxiliary_head, states[new.aux_after])
