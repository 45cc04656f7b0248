"""The evaluation network built from any network description (DARTS' NetworkCIFAR, generalised).

Each cell reads two earlier states (stem or cells), brings them to its own resolution and width
with a preprocessing layer, runs its genotype's edges and concatenates the listed nodes (or, for
an ``"add"`` cell of TS-ENAS, adds its loose ends). With the DARTS wiring, sizes and ops this
reproduces the DARTS implementation's parameter counts exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .errors import ToolkitError
from .genotype import CellPair, Genotype, Network
from .ops import FactorizedReduce, Identity, ReLUConvBN, build_op


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero whole samples of a branch with probability ``drop_prob`` (scheduled drop-path)."""
    if drop_prob <= 0.0:
        return x
    keep = 1.0 - drop_prob
    mask = torch.empty(x.size(0), 1, 1, 1, device=x.device, dtype=x.dtype).bernoulli_(keep)
    return x / keep * mask


def preprocess(C_in: int, C_out: int, factor: int, affine: bool = True) -> nn.Module:
    """Map a state to ``C_out`` channels and shrink it by ``factor`` (1, 2, 4, ...).

    Factor 1 is DARTS' ReLU-1x1conv-BN; factor 2 is its FactorizedReduce; larger factors (a
    TS-ENAS cell reading a much earlier cell) chain FactorizedReduce blocks.
    """
    if factor == 1:
        return ReLUConvBN(C_in, C_out, 1, 1, 0, affine)
    layers = [FactorizedReduce(C_in, C_out, affine)]
    factor //= 2
    while factor > 1:
        layers.append(FactorizedReduce(C_out, C_out, affine))
        factor //= 2
    return layers[0] if len(layers) == 1 else nn.Sequential(*layers)


class Cell(nn.Module):
    """A discrete cell (DARTS-GAL paper eq. 1: each node sums its chosen ops over earlier nodes).

    ``node_scale`` (None, or one value per node) holds the soft masks of DARTS-GAL paper section 3.3.
    Mask ``s_i`` scales what node ``i`` passes on: an edge reading it delivers ``s_i * op(x_i)``
    and its channels in the cell output are ``s_i * x_i``. Scaling after the reader's op (not
    before) makes ``s_i = 0`` exactly "node removed": the batch norm ending each conv op would
    otherwise turn a zeroed input into a constant. A node all of whose inputs are removed nodes is
    removed too (:func:`live_scale`), which is the pruning rule of :mod:`toolkit.gal.prune`.
    In a reduction cell, a concatenated cell input (0 or 1) is halved with FactorizedReduce so
    the output keeps the reduction even when no node survives pruning.
    A ``"concat"`` cell outputs ``C * len(concat)`` channels; an ``"add"`` cell sums its loose ends
    (TS-ENAS paper III.A) and outputs ``C``, which the next cells' preprocessing layers follow.
    """

    def __init__(self, genotype: Genotype, C_in: tuple[int, int], factors: tuple[int, int], C: int, reduction: bool):
        super().__init__()
        self.genotype = genotype
        self.reduction = reduction
        # An input no edge or concat reads (e.g. a pruned cell that keeps no node) gets no layer.
        used = {src for node in genotype.nodes for _, src in node} | set(genotype.concat)
        self.preprocess0 = preprocess(C_in[0], C, factors[0]) if 0 in used else None
        self.preprocess1 = preprocess(C_in[1], C, factors[1]) if 1 in used else None
        stride = lambda src: 2 if reduction and src < 2 else 1  # noqa: E731
        self.ops = nn.ModuleList(
            nn.ModuleList(build_op(op, C, stride(src), True) for op, src in node) for node in genotype.nodes
        )
        self.reduce_inputs = nn.ModuleDict(
            {str(c): FactorizedReduce(C, C) for c in genotype.concat if reduction and c < 2}
        )
        self.node_scale: torch.Tensor | None = None
        self.C_out = C if genotype.output == "add" else C * len(genotype.concat)

    def forward(self, s0, s1, drop_prob: float = 0.0):
        states = [p(s) if p is not None else None for p, s in ((self.preprocess0, s0), (self.preprocess1, s1))]
        scale = None if self.node_scale is None else live_scale(self.genotype, self.node_scale)
        for node, ops in zip(self.genotype.nodes, self.ops):
            h = 0
            for (_, src), op in zip(node, ops):
                out = op(states[src])
                if self.training and drop_prob > 0 and not isinstance(op, Identity):
                    out = drop_path(out, drop_prob)
                h = h + (out if scale is None or src < 2 else out * scale[src - 2])
            states.append(h)
        outs = [self.reduce_inputs[str(c)](states[c]) if str(c) in self.reduce_inputs else states[c]
                for c in self.genotype.concat]
        if scale is not None:
            outs = [out if c < 2 else out * scale[c - 2] for out, c in zip(outs, self.genotype.concat)]
        return sum(outs[1:], outs[0]) if self.genotype.output == "add" else torch.cat(outs, dim=1)


def live_scale(genotype: Genotype, masks: torch.Tensor) -> list[torch.Tensor]:
    """Per node, its mask, or 0 when every input of the node is a node whose (live) mask is 0.

    Such a node reads only removed nodes and would pass on a constant; it is removed as well, so
    a masked cell computes exactly what its pruned form (:func:`toolkit.gal.prune.prune_genotype`)
    computes.
    """
    live: list[torch.Tensor] = []
    for i, node in enumerate(genotype.nodes):
        fed = any(src < 2 or bool(live[src - 2] != 0) for _, src in node)
        live.append(masks[i] if fed else masks[i] * 0)
    return live


class AuxiliaryHead(nn.Module):
    """DARTS' auxiliary classifier, with adaptive pooling so any input size works."""

    def __init__(self, C: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=True),
            nn.AdaptiveAvgPool2d(2),
            nn.Conv2d(C, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=True),
        )
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


def stem(in_channels: int, C_out: int, stride: int = 1) -> nn.Sequential:
    """A 3x3 convolution and batch norm; ``stride=2`` halves large images once more."""
    return nn.Sequential(nn.Conv2d(in_channels, C_out, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(C_out))


@dataclass(frozen=True)
class NetworkSizes:
    """Sizes that, with a network description, fix an evaluation network.

    Attributes:
        C: initial channels per node (doubled at every reduction).
        num_classes: classifier outputs.
        in_channels: image channels (1 for digits/MNIST, 3 for CIFAR).
        stem_multiplier: the stem outputs ``stem_multiplier * C`` channels (DARTS: 3).
        stem_stride: 2 halves large inputs in the stem.
        auxiliary: add DARTS' auxiliary head after the last reduction cell.
        dropout: dropout before the classifier.
    """

    C: int = 16
    num_classes: int = 10
    in_channels: int = 3
    stem_multiplier: int = 3
    stem_stride: int = 1
    auxiliary: bool = False
    dropout: float = 0.0


class EvalNetwork(nn.Module):
    """An ``nn.Module`` for a :class:`Network`: stem, cells wired to their input states, classifier.

    ``forward`` returns logits, or ``(logits, aux_logits)`` in training mode with an auxiliary head.
    Set ``drop_path_prob`` to enable drop-path during training.

    Example:
        >>> from toolkit.genotype import PUBLISHED
        >>> net = EvalNetwork(PUBLISHED["DARTS_V2"].stack(5), NetworkSizes(C=8, in_channels=1))
    """

    def __init__(self, network: Network | CellPair, sizes: NetworkSizes = NetworkSizes()):
        super().__init__()
        if isinstance(network, CellPair):
            network = network.stack()
        if sizes.C < 2 or sizes.C % 2:
            raise ToolkitError(f"channels C must be an even number >= 2, got {sizes.C}")
        self.network, self.sizes = network, sizes
        self.drop_path_prob = 0.0
        C_stem = sizes.stem_multiplier * sizes.C
        self.stem = stem(sizes.in_channels, C_stem, sizes.stem_stride)
        widths, levels = [C_stem], [0]  # per state: channels, number of reductions so far
        self.cells = nn.ModuleList()
        self.aux_after = network.reductions[-1] if sizes.auxiliary and network.reductions else None
        for spec in network.cells:
            # a cell works at the coarsest resolution it reads (in a chain: the previous cell's); a
            # reduction cell halves it and doubles the channels
            level = max(levels[s] for s in spec.inputs)
            C = sizes.C * 2 ** (level + spec.reduction)
            factors = tuple(2 ** (level - levels[s]) for s in spec.inputs)
            cell = Cell(spec.genotype, tuple(widths[s] for s in spec.inputs), factors, C, spec.reduction)
            self.cells.append(cell)
            level += spec.reduction
            widths.append(cell.C_out)
            levels.append(level)
            if self.aux_after == len(self.cells):
                self.auxiliary_head = AuxiliaryHead(cell.C_out, sizes.num_classes)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(sizes.dropout)
        self.classifier = nn.Linear(widths[-1], sizes.num_classes)

    def forward(self, x):
        states = [self.stem(x)]
        aux = None
        for k, (spec, cell) in enumerate(zip(self.network.cells, self.cells), start=1):
            states.append(cell(states[spec.inputs[0]], states[spec.inputs[1]], self.drop_path_prob))
            if k == self.aux_after and self.training:
                aux = self.auxiliary_head(states[-1])
        logits = self.classifier(self.dropout(self.pool(states[-1]).flatten(1)))
        return (logits, aux) if aux is not None else logits


def count_parameters(module: nn.Module, exclude_auxiliary: bool = True) -> int:
    """Number of learnable parameters (DARTS' count leaves out the auxiliary head; GAL masks never count)."""
    return sum(
        p.numel() for name, p in module.named_parameters()
        if not (exclude_auxiliary and "auxiliary" in name) and not name.endswith("node_scale")
    )
