"""Weight inheritance between networks, by cell and op, with a report of every tensor.

Copies the weights of one network into another when their module trees differ: an evaluation
network (:class:`~toolkit.model.EvalNetwork`) and its pruned form, a cell moved to another
position, a supernet (:class:`~toolkit.supernet.Supernet`) and a deeper one. Every tensor of the
target is matched by what it *is*, not by where it sits in the module tree:

- outside the cells (stem, classifier, auxiliary head, α and β): by name;
- a cell's preprocessing layers, its reduction of a concatenated input, its node masks: by name
  inside the cell;
- an op: by ``(node, input, op name)`` in the DARTS numbering of :mod:`toolkit.genotype`, nodes by
  the numbers they are shown with (``Genotype.node_ids``). A pruned cell keeps its nodes' original
  numbers, so its ops meet their originals without any mapping. In a supernet, edge ``e`` is the
  search space's ``space.edges[e]`` and column ``o`` of it is ``space.ops[o]``.

Target cell ``k`` (1-based, as in :class:`~toolkit.genotype.Network`) reads from source cell
``cells.get(k, k)``, and node ``n`` of it from node ``nodes[k].get(n, n)`` of that source cell: the
cell-based inheritance of TS-ENAS (J. Zou, S. Wu, Y. Xia, W. Jiang, Z. Wu, J. Zheng, "TS-ENAS:
Two-Stage Evolution for Cell-based Network Architecture Search", section IV.B.2: a cell's trained
weights initialise that cell wherever a new individual uses it) and the move of a search into a
deeper supernet of ME-DARTS (Y. Chen, R. Shi, J. Luo, "ME-DARTS: Introduce Multi-stage Evolution
to Improve Differentiable Architecture Search", section III.C: α, here also the weights, carried
into a network with more cells).

A layer that reads a cell output (the next cells' preprocessing, the classifier, the auxiliary
head) gets, for each of its input channels, the source channel of the same node, so a cell whose
output lost a node (DARTS-GAL pruning) passes on the weights of the nodes that are left; a channel
with no source keeps the target's own initial value.

Nothing is skipped silently (as nanoGPT's ``from_pretrained`` checks every copied shape): the
:class:`InheritanceReport` lists each copied tensor and each skipped one with the reason, and
``strict=True`` raises instead of copying anything when a tensor would be skipped.

Example:
    >>> from toolkit import PUBLISHED, EvalNetwork, NetworkSizes
    >>> a = EvalNetwork(PUBLISHED["DARTS_V2"].stack(3), NetworkSizes(C=4, in_channels=1))
    >>> b = EvalNetwork(PUBLISHED["DARTS_V2"].stack(3), NetworkSizes(C=4, in_channels=1))
    >>> inherit_weights(b, a).skipped
    []
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from .errors import ToolkitError
from .model import AuxiliaryHead, EvalNetwork
from .ops import FactorizedReduce, ReLUConvBN
from .supernet import Supernet

Address = tuple


@dataclass(frozen=True)
class Copied:
    """A target tensor that received source values.

    Attributes:
        target, source: the tensor names (``state_dict`` keys) in the two networks.
        note: how, when not a plain copy (e.g. which input channels were taken).
    """

    target: str
    source: str
    note: str = ""


@dataclass(frozen=True)
class Skipped:
    """A target tensor that kept its own values, and why.

    Attributes:
        target: the tensor name in the target network.
        reason: e.g. 'missing in source', 'shape mismatch: source (8, 4), target (8, 2)'.
        source: the source tensor it was matched with, if any.
    """

    target: str
    reason: str
    source: str | None = None


@dataclass
class InheritanceReport:
    """What :func:`inherit_weights` copied and what it left as it was.

    Attributes:
        copied: target tensors that received source values.
        skipped: target tensors that kept their values, each with the reason.
        unused: source tensors no target tensor took values from (e.g. the ops of pruned nodes).
    """

    copied: list[Copied] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    unused: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """True when every target tensor received source values."""
        return not self.skipped

    def reasons(self) -> dict[str, int]:
        """How many tensors were skipped for each kind of reason (the text before any ':')."""
        counts: dict[str, int] = {}
        for s in self.skipped:
            key = s.reason.split(":", 1)[0]
            counts[key] = counts.get(key, 0) + 1
        return counts

    def __str__(self) -> str:
        lines = [f"copied {len(self.copied)} tensor(s), skipped {len(self.skipped)}, "
                 f"{len(self.unused)} source tensor(s) unused"]
        lines += [f"  skipped {s.target}: {s.reason}" for s in self.skipped]
        return "\n".join(lines)


@dataclass(frozen=True)
class _CellLayout:
    """What inheritance needs to know about one cell: the states it reads and what it outputs."""

    inputs: tuple[int, int]  # the states (0 = stem, k = cell k) its two inputs read
    outputs: tuple[int, ...]  # the DARTS numbers of the states concatenated into its output
    node_ids: tuple[int, ...]  # the numbers of its intermediate nodes, in order
    width: int  # channels of each concatenated state


_OP = re.compile(r"ops\.(\d+)\.(\d+)\.(.+)")
_EDGE_OP = re.compile(r"edges\.(\d+)\.(?:mixed\.)?ops\.(\d+)\.(.+)")
_EDGE_ATTENTION = re.compile(r"edges\.(\d+)\.attention\.(.+)")


def _layouts(net: nn.Module) -> list[_CellLayout]:
    if isinstance(net, EvalNetwork):
        return [_CellLayout(spec.inputs, tuple(cell.genotype.label(c) for c in cell.genotype.concat),
                            cell.genotype.node_ids, cell.C_out // len(cell.genotype.concat))
                for spec, cell in zip(net.network.cells, net.cells, strict=True)]
    ids = tuple(net.space.node_ids)
    return [_CellLayout((max(k - 2, 0), k - 1), ids, ids, cell.preprocess1[1].out_channels)  # DARTS wiring
            for k, cell in enumerate(net.cells, start=1)]


def _cell_address(net: nn.Module, cell: nn.Module, rest: str) -> Address:
    """The address of tensor ``rest`` (its name inside the cell) of a cell of ``net``."""
    if isinstance(net, EvalNetwork) and (m := _OP.fullmatch(rest)):
        g, i, j = cell.genotype, int(m.group(1)), int(m.group(2))
        op, src = g.nodes[i][j]
        repeat = g.nodes[i][:j].count((op, src))  # a node may read one input twice with one op
        return ("op", g.node_ids[i], g.label(src), op, repeat, m.group(3))
    if isinstance(net, Supernet):
        if m := _EDGE_OP.fullmatch(rest):
            node, src = net.space.edges[int(m.group(1))]
            return ("op", node, src, net.space.ops[int(m.group(2))], 0, m.group(3))
        if m := _EDGE_ATTENTION.fullmatch(rest):
            node, src = net.space.edges[int(m.group(1))]
            return ("attention", node, src, m.group(2))
    return ("in cell", rest)


def _addresses(net: nn.Module) -> dict[Address, str]:
    """Every tensor of ``net`` (``state_dict`` name) under its address."""
    if not isinstance(net, EvalNetwork | Supernet):
        raise ToolkitError(f"weight inheritance works between EvalNetwork and Supernet models, "
                           f"not {type(net).__name__}")
    found = {}
    for name in net.state_dict():
        m = re.fullmatch(r"cells\.(\d+)\.(.+)", name)
        if m is None:
            found[("net", name)] = name
        else:
            k = int(m.group(1))
            found[("cell", k + 1, *_cell_address(net, net.cells[k], m.group(2)))] = name
    return found


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


def _reader_states(net: nn.Module, layouts: list[_CellLayout]) -> dict[str, int]:
    """For each weight that reads a state's channels (input dimension 1), the state it reads."""
    blocks = [("classifier", net.classifier, len(layouts))]
    for k, (cell, layout) in enumerate(zip(net.cells, layouts, strict=True), start=1):
        blocks += [(f"cells.{k - 1}.preprocess{i}", getattr(cell, f"preprocess{i}"), layout.inputs[i])
                   for i in (0, 1) if getattr(cell, f"preprocess{i}", None) is not None]
    if isinstance(net, EvalNetwork) and net.aux_after is not None:
        blocks.append(("auxiliary_head", net.auxiliary_head, net.aux_after))
    found = {}
    for prefix, block, state in blocks:
        names = {id(m): n for n, m in block.named_modules()}
        for layer in _readers(block):
            found[".".join(filter(None, (prefix, names[id(layer)], "weight")))] = state
    return found


def _state_channels(target: list[_CellLayout], source: list[_CellLayout], cells: dict[int, int],
                    nodes: dict[int, dict[int, int]], stem: tuple[int, int]) -> dict[int, list[int | None]]:
    """Per target state, the source channel each of its channels carries (None: no source)."""
    channels = {0: list(range(stem[0])) if stem[0] == stem[1] else [None] * stem[0]}
    for k, layout in enumerate(target, start=1):
        j = cells.get(k, k)
        if not 1 <= j <= len(source) or source[j - 1].width != layout.width:
            channels[k] = [None] * layout.width * len(layout.outputs)
            continue
        position = {state: p for p, state in enumerate(source[j - 1].outputs)}
        rename = nodes.get(k, {})
        channels[k] = []
        for state in layout.outputs:
            p = position.get(rename.get(state, state) if state >= 2 else state)
            channels[k] += [None] * layout.width if p is None else list(range(p * layout.width, (p + 1) * layout.width))
    return channels


def _source_address(address: Address, cells: dict[int, int], nodes: dict[int, dict[int, int]]) -> Address:
    if address[0] != "cell":
        return address
    k = address[1]
    rename = nodes.get(k, {})
    node = lambda n: rename.get(n, n) if n >= 2 else n  # noqa: E731 (inputs 0 and 1 stay)
    rest = address[2:]
    if rest[0] in ("op", "attention"):
        rest = (rest[0], node(rest[1]), node(rest[2]), *rest[3:])
    return ("cell", cells.get(k, k), *rest)


def _describe(address: Address) -> str:
    """An address in words, for the report."""
    if address[0] == "net":
        return f"no tensor {address[1]}"
    k, kind, rest = address[1], address[2], address[3:]
    if kind == "op":
        return f"no {rest[2]} edge {rest[1]} -> node {rest[0]} in source cell {k}"
    if kind == "attention":
        return f"no channel attention on edge {rest[1]} -> node {rest[0]} in source cell {k}"
    return f"no {rest[0]} in source cell {k}"


def _check_maps(target: nn.Module, source: nn.Module, cells: Mapping | None, nodes: Mapping | None):
    cells = {int(k): int(v) for k, v in (cells or {}).items()}
    nodes = {int(k): {int(a): int(b) for a, b in m.items()} for k, m in (nodes or {}).items()}
    bad = [f"{k} <- {v}" for k, v in cells.items()
           if not 1 <= k <= len(target.cells) or not 1 <= v <= len(source.cells)]
    if bad:
        raise ToolkitError(f"cell mapping {', '.join(bad)} names cells that do not exist; the target has cells "
                           f"1..{len(target.cells)} and the source 1..{len(source.cells)}")
    bad = [k for k in nodes if not 1 <= k <= len(target.cells)]
    if bad or any(n < 2 for m in nodes.values() for pair in m.items() for n in pair):
        raise ToolkitError("node mapping: give {target cell: {target node: source node}} with cells "
                           f"1..{len(target.cells)} and intermediate nodes numbered from 2")
    return cells, nodes


def inherit_weights(target: nn.Module, source: nn.Module, *, cells: Mapping[int, int] | None = None,
                    nodes: Mapping[int, Mapping[int, int]] | None = None, strict: bool = False) -> InheritanceReport:
    """Copy ``source``'s weights into ``target`` by cell and op (see the module); return the report.

    Args:
        target: the network to fill (an EvalNetwork or a Supernet); changed in place.
        source: the network to copy from (an EvalNetwork or a Supernet); not changed.
        cells: ``{target cell: source cell}`` (1-based); cells not named read the source cell at
            the same position.
        nodes: ``{target cell: {target node: source node}}`` in DARTS numbering (2, 3, ...); nodes
            not named read the source node with the same number.
        strict: raise instead of copying anything when a tensor would be skipped.

    Returns:
        An :class:`InheritanceReport` of every target tensor.

    Raises:
        ToolkitError: a network of another kind, a mapping naming cells that do not exist, or with
            ``strict``, a tensor that cannot be copied (the message lists them with reasons).

    Example:
        >>> report = inherit_weights(pruned, parent)  # doctest: +SKIP
        >>> report.skipped  # what kept its own values, and why  # doctest: +SKIP
    """
    cells, nodes = _check_maps(target, source, cells, nodes)
    tgt, src = _addresses(target), _addresses(source)
    t_state, s_state = target.state_dict(), source.state_dict()
    t_layout, s_layout = _layouts(target), _layouts(source)
    stem = (target.stem[0].out_channels, source.stem[0].out_channels)
    state_channels = _state_channels(t_layout, s_layout, cells, nodes, stem)
    t_readers, s_readers = _reader_states(target, t_layout), _reader_states(source, s_layout)
    state_of_source = {0: 0, **{k: cells.get(k, k) for k in range(1, len(t_layout) + 1)}}
    report, plan = InheritanceReport(), []
    for address, name in tgt.items():
        if address[0] == "cell" and not 1 <= cells.get(address[1], address[1]) <= len(s_layout):
            report.skipped.append(Skipped(name, f"no source cell: the source has {len(s_layout)} cell(s)"))
            continue
        wanted = _source_address(address, cells, nodes)
        source_name = src.get(wanted)
        if source_name is None:
            report.skipped.append(Skipped(name, f"missing in source: {_describe(wanted)}"))
            continue
        new, old = t_state[name], s_state[source_name]
        reads = t_readers.get(name)
        if reads is not None and s_readers.get(source_name) == state_of_source.get(reads):
            item = _select_inputs(name, source_name, new, old, state_channels[reads])
        elif address[2:3] == ("in cell",) and address[3] == "node_scale":
            item = _select_nodes(name, source_name, new, old, t_layout[address[1] - 1],
                                 s_layout[cells.get(address[1], address[1]) - 1], nodes.get(address[1], {}))
        elif new.shape != old.shape:
            item = Skipped(name, f"shape mismatch: source {tuple(old.shape)}, target {tuple(new.shape)}", source_name)
        else:
            item = (Copied(name, source_name), old)
        if isinstance(item, Skipped):
            report.skipped.append(item)
        else:
            report.copied.append(item[0])
            plan.append((new, item[1]))
    return _carry_out(report, plan, s_state, strict)


def _carry_out(report: InheritanceReport, plan: list, source_state: dict, strict: bool) -> InheritanceReport:
    """Copy the planned tensors (none with ``strict`` when any would be skipped) and list the unused ones."""
    if strict and report.skipped:
        shown = "; ".join(f"{s.target}: {s.reason}" for s in report.skipped[:5])
        more = f" and {len(report.skipped) - 5} more" if len(report.skipped) > 5 else ""
        raise ToolkitError(f"cannot copy {len(report.skipped)} tensor(s) from the source network: {shown}{more}; "
                           "pass strict=False to copy what fits and read the returned report")
    with torch.no_grad():
        for new, values in plan:
            new.copy_(values)
    used = {c.source for c in report.copied}
    report.unused = [n for n in source_state if n not in used]
    return report


def _select_inputs(name: str, source_name: str, new: torch.Tensor, old: torch.Tensor,
                   channels: list[int | None]):
    """A reader weight with the source's input channels that still exist, others left as they are."""
    if new.shape[:1] != old.shape[:1] or new.shape[2:] != old.shape[2:] or new.shape[1] != len(channels):
        return Skipped(name, f"shape mismatch: source {tuple(old.shape)}, target {tuple(new.shape)}", source_name)
    pairs = [(i, c) for i, c in enumerate(channels) if c is not None and c < old.shape[1]]
    if not pairs:
        return Skipped(name, "no input channel has a source: the source has no state of this width with the "
                             "nodes it reads", source_name)
    if len(pairs) == new.shape[1] == old.shape[1] and all(i == c for i, c in pairs):
        return Copied(name, source_name), old
    values = new.detach().clone()
    into, take = zip(*pairs, strict=True)
    values[:, list(into)] = old[:, list(take)].to(values.device)
    return Copied(name, source_name, f"input channels: {len(pairs)} of {new.shape[1]} from the source"), values


def _select_nodes(name: str, source_name: str, new: torch.Tensor, old: torch.Tensor, target: _CellLayout,
                  source: _CellLayout, rename: dict[int, int]):
    """Per-node values (DARTS-GAL masks) of the nodes the target cell keeps."""
    position = {n: p for p, n in enumerate(source.node_ids)}
    picked = [position.get(rename.get(n, n)) for n in target.node_ids]
    if None in picked or new.shape != (len(picked),) or old.dim() != 1:
        return Skipped(name, "node(s) missing in source", source_name)
    return Copied(name, source_name, "" if picked == list(range(len(old))) else "nodes selected"), old[picked]
