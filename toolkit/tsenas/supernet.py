"""Cell-based weight inheritance (TS-ENAS section IV.B.2): a SuperNet of every known cell, copied from and back.

TS-ENAS (Zou, Wu, Xia, Jiang, Wu, Zheng, "TS-ENAS: Two-Stage Evolution for Cell-based Network
Architecture Search") stacks all cells of the search space into a SuperNet, trains it, and starts
every new individual from the trained weights of its cells (Algorithm 2 lines 2-3 and 6); after
some generations the best individuals write their cells' weights back (steps 1-4).

Shapes: a cell's op weights depend on its channel width, which doubles at every reduction, so one
copy per code is not enough. The SuperNet holds each known cell once **per resolution level**
(level = reductions before the cell): levels ``0 .. max_reductions`` of normal cells and, between
two levels, every reduction cell. It is an ordinary network description
(:class:`~toolkit.genotype.Network`), so it trains with :func:`toolkit.train.train_network`:

- level ``r``: the normal cells chained in code order (cell ``i`` reads cells ``i-1`` and ``i-2``);
- every reduction cell reads the last two normal cells of level ``r``;
- normal cell ``i`` of level ``r+1`` reads reduction cell ``i`` (mod their count) and the cell before
  it, so every cell lies on a path to the classifier and is trained.

An individual's cell ``k`` with code ``a3`` after ``r`` reductions copies SuperNet cell
``slot(a3, r)`` through :func:`toolkit.inherit.inherit_weights` (ops by node, input and op; the
input preprocessing where its shape matches, i.e. where the individual reads a state of the same
width and level difference; anything else keeps its fresh initialisation and is listed in the
report). Writing back (:func:`write_back`) follows steps 1-4: the best individual updates the
slots of its cells, then the next best the slots still not updated, until every slot is updated or
the population is used up.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch

from ..genotype import CellSpec, Network
from ..inherit import InheritanceReport, inherit_weights
from ..model import EvalNetwork
from .cellspace import CellSpace

Slot = tuple[int, int]  # (cell code, level = reductions before the cell)


def supernet_network(space: CellSpace, max_reductions: int) -> tuple[Network, dict[Slot, int]]:
    """The SuperNet's description and, per ``(code, level)``, its 1-based cell position."""
    cells: list[CellSpec] = []
    slots: dict[Slot, int] = {}
    feeds: list[int] = []  # reduction cells of the previous level, read by this level's normal cells
    for level in range(max_reductions + 1):
        for i, code in enumerate(space.normal_codes):
            k = len(cells) + 1
            prev = k - 1
            other = feeds[i % len(feeds)] if feeds else max(prev - 1, 0)
            cells.append(CellSpec(space.cell(code).genotype, False, (other, prev)))
            slots[(code, level)] = k
        if level == max_reductions:
            break
        last = len(cells)
        feeds = []
        for code in space.reduce_codes:
            cells.append(CellSpec(space.cell(code).genotype, True, (last - 1, last)))
            slots[(code, level)] = len(cells)
            feeds.append(len(cells))
    return Network(tuple(cells)), slots


def cell_slots(codes: Sequence[int], space: CellSpace) -> list[Slot]:
    """``(code, level)`` of each cell of an individual whose cells have these codes, in order."""
    slots, level = [], 0
    for code in codes:
        slots.append((code, level))
        level += space.cell(code).reduction
    return slots


def inherit_cells(target: EvalNetwork, supernet: EvalNetwork, codes: Sequence[int], space: CellSpace,
                  slots: dict[Slot, int]) -> InheritanceReport:
    """Copy each cell's weights from its SuperNet slot into ``target`` (IV.B.2; stem and head by name)."""
    mapping = {k: slots[s] for k, s in enumerate(cell_slots(codes, space), start=1)}
    return inherit_weights(target, supernet, cells=mapping)


@torch.no_grad()
def write_back(supernet: EvalNetwork, ranked: Sequence[tuple[EvalNetwork, Sequence[int]]], space: CellSpace,
               slots: dict[Slot, int]) -> list[Slot]:
    """Steps 1-4 of IV.B.2: the best individual's cells update their slots, then the next best's
    not-yet-updated slots, and so on until every slot is updated or ``ranked`` (best first) ends.

    Returns:
        the updated slots in update order.
    """
    updated: list[Slot] = []
    for network, codes in ranked:
        fresh = {k: s for k, s in enumerate(cell_slots(codes, space), start=1) if s not in updated and s in slots}
        if not fresh:
            continue
        staging = copy.deepcopy(supernet)
        mapping: dict[int, int] = {}
        for k, s in fresh.items():
            mapping.setdefault(slots[s], k)  # a code used twice at one level: its first cell
        inherit_weights(staging, network, cells=mapping)
        new = staging.state_dict()
        own = supernet.state_dict()
        for s in dict.fromkeys(fresh.values()):
            prefix = f"cells.{slots[s] - 1}."
            for name, tensor in own.items():
                if name.startswith(prefix):
                    tensor.copy_(new[name])
            updated.append(s)
        if len(updated) == len(slots):
            break
    return updated
