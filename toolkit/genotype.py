"""The one architecture data model: cell genotypes, cell pairs and network descriptions.

Node numbering inside a cell (the DARTS numbering, used in the text form, drawings, tables and
reports alike): node 0 is the cell input ``c_{k-2}`` (the output of the cell before the previous
one), node 1 is ``c_{k-1}`` (the previous cell's output), and the intermediate nodes are 2, 3, ...,
n + 1 for a cell with n intermediate nodes. So ``sep_conv_3x3(0)`` is a 3x3 separable convolution
reading ``c_{k-2}``, ``skip_connect(2)`` reads the first intermediate node, and the ``; 2,3,4,5``
after the nodes lists the nodes concatenated into the cell output ``c_k``. ``Genotype.nodes[i]``
holds the edges into node ``node_ids[i]`` (``i + 2`` unless a pruned cell keeps its original
numbers).

A cell forms its output in one of two ways (``Genotype.output``): ``"concat"`` (DARTS, the
default) concatenates the listed nodes along channels; ``"add"`` (TS-ENAS: Zou, Wu, Xia, Jiang,
Wu, Zheng, "TS-ENAS: Two-Stage Evolution for Cell-based Network Architecture Search", section
III.A, Fig. 1b) adds the intermediate nodes that feed no other node (its *loose ends*), so the
cell outputs C channels whatever its size. The text form writes ``; add 4,5`` for such a cell.

Numbering inside a network is separate: state 0 is the stem output and state ``k >= 1`` is the
output of cell ``k`` (cells count from 1). A cell's two inputs name the states it reads as
``c_{k-2}`` and ``c_{k-1}``, so a cell may read any earlier cell (TS-ENAS) and DARTS is the case
"the two previous cells" (``cell 5 reads cells 3, 4``).

All values are frozen, hashable and round-trip exactly through JSON (``to_dict``/``from_dict``)
and through a one-line text form (``str``/``from_text``).

Example:
    >>> g = Genotype.from_text("sep_conv_3x3(0)+skip_connect(1) | max_pool_3x3(2)+sep_conv_5x5(0) ; 2,3")
    >>> str(g)
    'sep_conv_3x3(0)+skip_connect(1) | max_pool_3x3(2)+sep_conv_5x5(0) ; 2,3'
"""

from __future__ import annotations

import json
import operator
import re
from dataclasses import dataclass
from functools import cached_property
from importlib import resources
from pathlib import Path

from .errors import ToolkitError
from .ops import OPS
from .rundir import read_json

Edge = tuple[str, int]
OUTPUTS = ("concat", "add")


def whole_number(value, what: str) -> int:
    """``value`` as an int: node inputs and numbers are whole numbers, so ``1.5``, ``true`` or ``"1"`` in a
    genotype file is an error naming ``what`` instead of silently becoming 1 (NumPy and torch integers pass)."""
    if not isinstance(value, bool):
        try:
            return operator.index(value)
        except TypeError:
            pass
    raise ToolkitError(f"{what} must be a whole number such as 0 or 2, got {value!r:.40}")


@dataclass(frozen=True)
class Genotype:
    """A discrete cell: each intermediate node's incoming (op, input) edges and the output concat.

    Attributes:
        nodes: ``nodes[i]`` is a tuple of ``(op, input)`` edges summed into node ``i``.
        concat: inputs/nodes (cell numbering) concatenated along channels into the cell output.
        node_ids: the number each intermediate node is shown with (default ``2, 3, ...``). A pruned
            cell keeps its original numbers, e.g. ``(2, 4)`` when node 3 was removed; ``nodes`` and
            ``concat`` still index by position, and the text form shows the original numbers.
        output: ``"concat"`` (DARTS: concatenate ``concat``) or ``"add"`` (TS-ENAS: sum the loose
            ends, which ``concat`` then lists exactly; :meth:`with_add_output` builds such a cell).
    """

    nodes: tuple[tuple[Edge, ...], ...]
    concat: tuple[int, ...]
    node_ids: tuple[int, ...] | None = None  # None: 2, 3, ... (stored as the full tuple)
    output: str = "concat"

    def __post_init__(self):
        nodes = tuple(tuple((str(op), whole_number(src, f"node {i + 2}'s input")) for op, src in node)
                      for i, node in enumerate(self.nodes))
        object.__setattr__(self, "nodes", nodes)
        object.__setattr__(self, "concat", tuple(whole_number(c, "a concat entry") for c in self.concat))
        ids = tuple(whole_number(i, "a node id") for i in self.node_ids) if self.node_ids is not None else None
        if ids is not None:
            if len(ids) != len(nodes):
                raise ToolkitError(f"node_ids names {len(ids)} node(s) but the cell has {len(nodes)}")
            if any(i < 2 for i in ids) or any(b <= a for a, b in zip(ids, ids[1:])):
                raise ToolkitError(f"node_ids must be increasing numbers >= 2 (0 and 1 are the inputs), "
                                   f"got {list(ids)}")
        object.__setattr__(self, "node_ids", ids if ids is not None else tuple(range(2, len(nodes) + 2)))
        self._validate()

    @property
    def renumbered(self) -> bool:
        """True when the nodes keep numbers other than ``2, 3, ...`` (a pruned cell)."""
        return self.node_ids != tuple(range(2, len(self.nodes) + 2))

    def label(self, state: int) -> int:
        """The displayed number of state ``state`` (cell numbering by position: 0, 1, then nodes)."""
        return state if state < 2 else self.node_ids[state - 2]

    def _validate(self):
        for i, node in enumerate(self.nodes):
            if not node:
                raise ToolkitError(f"node {i + 2} has no incoming edge")
            for op, src in node:
                if op not in OPS:
                    raise ToolkitError(f"unknown op '{op}' at node {i + 2}; known ops: {', '.join(OPS)}")
                if not 0 <= src < i + 2:
                    raise ToolkitError(f"node {i + 2} reads input {src}, out of range 0..{i + 1}")
        if not self.concat:
            raise ToolkitError("empty concat: a cell must output at least one node")
        if len(set(self.concat)) != len(self.concat):
            raise ToolkitError(f"concat lists a node twice: {list(self.concat)}")
        for c in self.concat:
            if not 0 <= c < len(self.nodes) + 2:
                raise ToolkitError(f"concat names node {c}, out of range 0..{len(self.nodes) + 1}")
        if self.output not in OUTPUTS:
            raise ToolkitError(f"cell output must be one of {', '.join(OUTPUTS)}, got {self.output!r}")
        if self.output == "add" and not self.nodes:
            raise ToolkitError("an 'add' cell needs at least one intermediate node to add")
        if self.output == "add" and self.concat != self.loose_ends:
            raise ToolkitError(f"an 'add' cell sums the intermediate nodes no other node reads; this cell's are "
                               f"{[self.label(c) for c in self.loose_ends]}, but it lists "
                               f"{[self.label(c) for c in self.concat]} (build it with Genotype.with_add_output())")

    @property
    def loose_ends(self) -> tuple[int, ...]:
        """Intermediate nodes (cell numbering by position) that no other node reads, in order."""
        read = {src for node in self.nodes for _, src in node}
        return tuple(i + 2 for i in range(len(self.nodes)) if i + 2 not in read)

    def with_add_output(self) -> Genotype:
        """This cell with the TS-ENAS output: the sum of its loose ends (TS-ENAS paper III.A)."""
        if not self.nodes:
            raise ToolkitError("a cell without intermediate nodes has nothing to add; keep its 'concat' output")
        return Genotype(self.nodes, self.loose_ends, self.node_ids, "add")

    @property
    def edges(self) -> list[tuple[int, str, int]]:
        """All edges as ``(node, op, input)`` with ``node`` in cell numbering (2, 3, ...)."""
        return [(i + 2, op, src) for i, node in enumerate(self.nodes) for op, src in node]

    def count(self, op: str) -> int:
        """How many edges use ``op`` (e.g. the skip-connection count of ADARTS paper Fig. 9)."""
        return sum(1 for _, o, _ in self.edges if o == op)

    def __str__(self) -> str:
        """The one-line text form; a cell with its own node numbers writes ``n: `` before each node."""
        prefix = (lambda i: f"{self.node_ids[i]}: ") if self.renumbered else (lambda i: "")
        nodes = " | ".join(prefix(i) + "+".join(f"{op}({self.label(src)})" for op, src in node)
                           for i, node in enumerate(self.nodes))
        adds = "add " if self.output == "add" else ""
        return f"{nodes} ; {adds}{','.join(str(self.label(c)) for c in self.concat)}"

    @classmethod
    def from_text(cls, text: str) -> Genotype:
        """Parse ``op(i)+op(j) | ... ; c1,c2`` (``n: op(i)+...`` numbers a node; ``; add c1,c2`` adds)."""
        if not isinstance(text, str):
            raise ToolkitError(f"genotype text must be a string like 'sep_conv_3x3(0)+skip_connect(1) ; 2', "
                               f"got {type(text).__name__}")
        if ";" not in text:
            raise ToolkitError(f"genotype text needs '; concat' at the end: {text!r}")
        body, concat = text.rsplit(";", 1)
        output = "add" if concat.strip().startswith("add") else "concat"
        concat = concat.strip().removeprefix("add")
        nodes, ids = [], []
        for part in filter(None, (p.strip() for p in body.split("|"))):
            numbered = re.fullmatch(r"(\d+)\s*:\s*(.*)", part)
            if numbered:
                ids.append(int(numbered.group(1)))
                part = numbered.group(2)
            edges = []
            for edge in part.split("+"):
                m = re.fullmatch(r"\s*([\w]+)\((\d+)\)\s*", edge)
                if not m:
                    raise ToolkitError(f"cannot read edge {edge.strip()!r}; write it as op(input)")
                edges.append((m.group(1), int(m.group(2))))
            nodes.append(tuple(edges))
        try:
            cat = tuple(int(c) for c in concat.split(",") if c.strip())
        except ValueError:
            raise ToolkitError(f"concat must be comma-separated integers: {concat.strip()!r}") from None
        if not ids:
            return cls(tuple(nodes), cat, None, output)
        if len(ids) != len(nodes):
            raise ToolkitError(f"number every node ('n: op(i)+...') or none: {text!r}")
        position = {0: 0, 1: 1, **{n: k + 2 for k, n in enumerate(ids)}}
        try:
            nodes = [tuple((op, position[src]) for op, src in node) for node in nodes]
            cat = tuple(position[c] for c in cat)
        except KeyError as e:
            raise ToolkitError(f"genotype text reads node {e.args[0]}, which is not one of its nodes "
                               f"{', '.join(map(str, ids))}: {text!r}") from None
        return cls(tuple(nodes), cat, tuple(ids), output)

    def to_dict(self) -> dict:
        d = {"nodes": [[[op, src] for op, src in node] for node in self.nodes], "concat": list(self.concat)}
        if self.renumbered:  # written only when needed, so older readers still load default cells
            d["node_ids"] = list(self.node_ids)
        if self.output != "concat":  # likewise: files without the field are DARTS (concat) cells
            d["output"] = self.output
        return d

    @classmethod
    def from_dict(cls, d: dict) -> Genotype:
        try:
            return cls(tuple(tuple((op, src) for op, src in node) for node in d["nodes"]), tuple(d["concat"]),
                       d.get("node_ids"), d.get("output", "concat"))
        except (KeyError, TypeError, ValueError) as e:
            if isinstance(e, ToolkitError):
                raise
            raise ToolkitError(f"not a cell genotype (need 'nodes' and 'concat'): {e}") from None

    @classmethod
    def from_pairs(cls, pairs, concat, per_node: int = 2) -> Genotype:
        """Build from the DARTS flat list ``[(op, input), ...]`` with ``per_node`` edges per node."""
        pairs = [tuple(p) for p in pairs]
        return cls(tuple(tuple(pairs[i : i + per_node]) for i in range(0, len(pairs), per_node)), tuple(concat))


@dataclass(frozen=True)
class CellPair:
    """The result of a DARTS-style search: one normal and one reduction cell."""

    normal: Genotype
    reduce: Genotype

    def __str__(self) -> str:
        return f"normal: {self.normal}\nreduce: {self.reduce}"

    def stack(self, cells: int = 8, reductions: tuple[int, ...] | None = None) -> Network:
        """A network of ``cells`` cells wired like DARTS (each reads the two previous cells).

        Args:
            cells: number of cells L.
            reductions: 1-based positions of reduction cells; default L//3+1 and 2L//3+1 (the
                DARTS positions L//3 and 2L//3 counted from 0).
        """
        reductions = default_reductions(cells) if reductions is None else tuple(reductions)
        bad = [r for r in reductions if not 1 <= r <= cells]
        if bad:
            raise ToolkitError(f"reduction positions {bad} are outside cells 1..{cells}")
        specs = tuple(
            CellSpec(self.reduce if k in reductions else self.normal, k in reductions, (max(k - 2, 0), k - 1))
            for k in range(1, cells + 1)
        )
        return Network(specs)

    def to_dict(self) -> dict:
        return {"normal": self.normal.to_dict(), "reduce": self.reduce.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> CellPair:
        if not isinstance(d, dict) or "normal" not in d or "reduce" not in d:
            raise ToolkitError("not a cell pair: need 'normal' and 'reduce' cells")
        cells = []
        for kind in ("normal", "reduce"):
            try:
                cells.append(Genotype.from_dict(d[kind]))
            except ToolkitError as e:
                raise ToolkitError(f"{kind} cell: {e}") from None
        return cls(*cells)


def default_reductions(cells: int) -> tuple[int, ...]:
    """DARTS places reductions at L//3 and 2L//3 (0-based); returned 1-based, without repeats."""
    if cells < 1:
        raise ToolkitError(f"a network needs at least one cell, got {cells}")
    return tuple(sorted({cells // 3 + 1, 2 * cells // 3 + 1} & set(range(1, cells + 1)))) if cells >= 3 else ()


@dataclass(frozen=True)
class CellSpec:
    """One cell of a network: its genotype, whether it reduces, and its two input states."""

    genotype: Genotype
    reduction: bool
    inputs: tuple[int, int]

    def __post_init__(self):
        object.__setattr__(self, "inputs", tuple(whole_number(i, "a cell input") for i in self.inputs))
        if len(self.inputs) != 2:
            raise ToolkitError(f"a cell has exactly two inputs, got {list(self.inputs)}")

    def to_dict(self) -> dict:
        return {"type": "reduce" if self.reduction else "normal", "inputs": list(self.inputs),
                "genotype": self.genotype.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> CellSpec:
        if not isinstance(d, dict):
            raise ToolkitError(f"a cell must be a mapping with 'type', 'inputs' and 'genotype', got {d!r}")
        if d.get("type") not in ("normal", "reduce"):
            raise ToolkitError(f"cell type must be 'normal' or 'reduce', got {d.get('type')!r}")
        return cls(Genotype.from_dict(d["genotype"]), d["type"] == "reduce", tuple(d["inputs"]))


@dataclass(frozen=True)
class Network:
    """A whole architecture: the ordered cells with their types and input states."""

    cells: tuple[CellSpec, ...]

    def __post_init__(self):
        object.__setattr__(self, "cells", tuple(self.cells))
        if not self.cells:
            raise ToolkitError("a network needs at least one cell")
        for k, cell in enumerate(self.cells, start=1):
            for src in cell.inputs:
                if not 0 <= src < k:
                    raise ToolkitError(f"cell {k} reads state {src}; it may read 0 (stem) .. {k - 1}")

    @cached_property
    def reductions(self) -> tuple[int, ...]:
        """1-based positions of the reduction cells."""
        return tuple(k for k, c in enumerate(self.cells, start=1) if c.reduction)

    def __str__(self) -> str:
        """One line per cell: its type, the states it reads as c_{k-2} and c_{k-1}, and its genotype.

        Example: ``cell 3 reduce, reads cells 1, 2: sep_conv_3x3(0)+... ; 2,3,4,5``; state 0 is the
        stem, and a cell without intermediate nodes prints as ``no intermediate nodes; outputs c_{k-1}``.
        """
        return "\n".join(f"cell {k} {'reduce' if c.reduction else 'normal'}, reads {_states(c.inputs)}: "
                         f"{_cell_text(c.genotype)}" for k, c in enumerate(self.cells, start=1))

    def to_dict(self) -> dict:
        return {"cells": [c.to_dict() for c in self.cells]}

    @classmethod
    def from_dict(cls, d: dict) -> Network:
        if not isinstance(d, dict) or not isinstance(d.get("cells"), list):
            raise ToolkitError("not a network description: need a 'cells' list")
        specs = []
        for k, cell in enumerate(d["cells"], start=1):
            try:
                specs.append(CellSpec.from_dict(cell))
            except ToolkitError as e:
                raise ToolkitError(f"cell {k}: {e}") from None
            except (KeyError, TypeError, AttributeError, ValueError) as e:
                raise ToolkitError(f"not a network description: cell {k} has a missing or bad field {e}") from None
        return cls(tuple(specs))


def _states(inputs: tuple[int, int]) -> str:
    """``stem, cell 1`` for the two states a cell reads (c_{k-2} first)."""
    names = ["stem" if i == 0 else f"cell {i}" for i in inputs]
    if names[0] == names[1]:
        return f"{names[0]} twice"
    both_cells = all(i > 0 for i in inputs)
    return f"cells {inputs[0]}, {inputs[1]}" if both_cells else ", ".join(names)


def _cell_text(genotype: Genotype) -> str:
    """The text form, or a readable line for a cell whose intermediate nodes were all pruned."""
    if genotype.nodes:
        return str(genotype)
    outputs = " + ".join(("c_{k-2}", "c_{k-1}")[c] for c in genotype.concat)
    return f"no intermediate nodes; outputs {outputs}"


def _load_published() -> dict[str, CellPair]:
    data = json.loads(resources.files("toolkit").joinpath("published_cells.json").read_text())
    return {
        name: CellPair(Genotype.from_pairs(c["normal"], c["normal_concat"]),
                       Genotype.from_pairs(c["reduce"], c["reduce_concat"]))
        for name, c in data["cells"].items()
    }


PUBLISHED: dict[str, CellPair] = _load_published()


def load_architecture(source: str | Path) -> CellPair | Network:
    """Read a published cell name (e.g. 'DARTS_V2') or a JSON file holding a pair or a network.

    Raises:
        ToolkitError: the name is unknown, the file is missing or the JSON is not a valid genotype.
    """
    if not isinstance(source, (str, Path)):
        raise ToolkitError(f"an architecture source must be a file path or a published cell name such as "
                           f"'DARTS_V2', got {type(source).__name__}")
    if str(source) in PUBLISHED:
        return PUBLISHED[str(source)]
    path = Path(source)
    if not path.is_file():
        raise ToolkitError(
            f"no genotype file '{path}' and no published cell of that name; published: {', '.join(PUBLISHED)}"
        )
    data = read_json(path, fix="rerun the search or fix the file")
    if isinstance(data, dict) and "genotype" in data and "cells" not in data and "normal" not in data:
        data = data["genotype"]
    try:
        return Network.from_dict(data) if isinstance(data, dict) and "cells" in data else CellPair.from_dict(data)
    except ToolkitError as e:
        raise ToolkitError(f"invalid genotype file '{path}': {e}; rerun the search or fix the file") from None
