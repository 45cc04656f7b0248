"""The DARTS-GAL report: which nodes each cell kept (the paper's Tables 1, 3, 5, 7) and the totals."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from ..genotype import Network
from .prune import orphaned_nodes


@dataclass(frozen=True)
class CellRow:
    """One row of the kept-nodes table (node numbers are DARTS numbers: intermediate nodes 2, 3, ...).

    Attributes:
        cell: 1-based cell position.
        type: 'normal' or 'reduction'.
        kept: the nodes the pruned cell still computes (empty: "None").
        orphaned: nodes whose mask stayed above the threshold but which were removed because every
            node they read was removed (see :mod:`toolkit.gal.prune`, rule 2).
        masks: the final mask value of every node, in node order.
    """

    cell: int
    type: str
    kept: tuple[int, ...]
    orphaned: tuple[int, ...]
    masks: tuple[float, ...]


def kept_rows(network: Network, keep: Sequence[Iterable[int]], masks: Sequence[Sequence[float]]) -> tuple[CellRow, ...]:
    """The table rows for an unpruned network, its kept mask positions (0-based) and its mask values."""
    rows = []
    for k, (spec, kept, values) in enumerate(zip(network.cells, keep, masks, strict=True), start=1):
        ids = spec.genotype.node_ids
        orphaned = orphaned_nodes(spec.genotype, kept)
        survivors = sorted(set(kept) - set(orphaned))
        rows.append(CellRow(k, "reduction" if spec.reduction else "normal", tuple(ids[i] for i in survivors),
                            tuple(ids[i] for i in orphaned), tuple(float(v) for v in values)))
    return tuple(rows)


def _nodes(nodes: tuple[int, ...]) -> str:
    return ", ".join(map(str, nodes)) if nodes else "None"


@dataclass(frozen=True)
class GalReport:
    """What pruning did: per-cell kept nodes, parameters and test accuracy before and after.

    Attributes:
        rows: one :class:`CellRow` per cell.
        parameters_before: parameters of the baseline network.
        parameters_after: parameters of the pruned network (a physically smaller model).
        acc_before: the baseline's test accuracy.
        acc_masked: the masked generator's accuracy at the end of mask training, on the validation
            images the mask training held out (not the test split: it decided whether the run collapsed).
        acc_after: the retrained pruned network's test accuracy (None if retraining did not run).
        lam: λ used.
        threshold: masks at or below it were pruned.
    """

    rows: tuple[CellRow, ...]
    parameters_before: int
    parameters_after: int
    acc_before: float | None = None
    acc_masked: float | None = None
    acc_after: float | None = None
    lam: float = 0.0
    threshold: float = 0.0

    @property
    def pruning_rate(self) -> float:
        """Share of the baseline's parameters removed."""
        return 1.0 - self.parameters_after / self.parameters_before

    @property
    def kept(self) -> list[tuple[int, ...]]:
        return [row.kept for row in self.rows]

    def table(self) -> str:
        """The kept-nodes table in the layout of the paper's Table 1."""
        lines = [f"{'cell':<5}{'type':<11}{'kept nodes':<14}{'orphaned':<10}masks (nodes 2, 3, ...)"]
        for r in self.rows:
            masks = " ".join(f"{v:.2f}" for v in r.masks)
            lines.append(f"{r.cell:<5}{r.type:<11}{_nodes(r.kept):<14}{_nodes(r.orphaned) if r.orphaned else '-':<10}"
                         f"{masks}")
        return "\n".join(lines)

    def summary(self) -> str:
        """Parameters and accuracy before and after, one line each."""
        lines = [f"parameters: {self.parameters_before:,} -> {self.parameters_after:,} "
                 f"({100 * self.pruning_rate:.1f}% pruned, λ={self.lam:g})"]
        if self.acc_before is not None and self.acc_after is not None:
            change = 100 * (self.acc_after - self.acc_before)
            masked = (f"; masked network before pruning: {100 * self.acc_masked:.2f}% on validation images"
                      if self.acc_masked else "")
            lines.append(f"test accuracy: {100 * self.acc_before:.2f}% -> {100 * self.acc_after:.2f}% "
                         f"({change:+.2f} points{masked})")
        return "\n".join(lines)

    def __str__(self) -> str:
        return f"{self.table()}\n{self.summary()}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["rows"] = [asdict(r) for r in self.rows]
        d["pruning_rate"] = self.pruning_rate
        return d
