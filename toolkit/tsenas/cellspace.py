"""The TS-ENAS cell search space: known cells with integer codes, and the op codes of the fine stage.

TS-ENAS (Zou, Wu, Xia, Jiang, Wu, Zheng, "TS-ENAS: Two-Stage Evolution for Cell-based Network
Architecture Search") builds networks from cells that earlier searches found (section III.A,
Table II): the normal and reduction cells of AmoebaNet-A, NASNet-A, DARTS and CARS-H, with codes
1-4 (normal) and 5-8 (reduction). The rough stage's chromosomes name cells by these codes; the fine
stage names ops by their code in Table I (1 = identity ... 13 = 7x7 separable conv), 0 being "no op".

Each known cell is taken from the published cells shipped with the toolkit (``PUBLISHED``) and
given the TS-ENAS output: it *adds* the intermediate nodes that feed no other node (III.A,
Fig. 1b) instead of concatenating them, so every cell outputs C channels.

Ops a known cell uses outside Table I (CARS-H's ``dil_conv_5x5``) get the next codes (14, ...) so
every cell of the space can be written in the fine stage's 4-tuples.

Example:
    >>> space = table_ii()
    >>> space.cell(3).name, space.normal_codes, space.reduce_codes
    ('DartsNC', (1, 2, 3, 4), (5, 6, 7, 8))
    >>> space.with_cells("PC_DARTS").cell(10).name
    'PC_DARTS-reduce'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import ToolkitError
from ..genotype import PUBLISHED, CellPair, Genotype, load_architecture
from ..space import TS_ENAS_OPS

# Table II: (abbreviation, published cell name, reduction) in code order 1..8.
TABLE_II = (
    ("AmoebaNC", "AmoebaNet_A", False), ("NASNetNC", "NASNet_A", False), ("DartsNC", "DARTS_V2", False),
    ("CarsNC", "CARS_H", False), ("AmoebaRC", "AmoebaNet_A", True), ("NASNetRC", "NASNet_A", True),
    ("DartsRC", "DARTS_V2", True), ("CarsRC", "CARS_H", True),
)


@dataclass(frozen=True)
class KnownCell:
    """One cell of the space.

    Attributes:
        name: a short name (Table II's abbreviation for the eight built-in cells).
        genotype: the cell, with the TS-ENAS "add" output.
        reduction: True for a reduction cell (it halves the resolution and doubles the channels).
        source: where the cell comes from (a published cell name or a file).
    """

    name: str
    genotype: Genotype
    reduction: bool
    source: str

    def __post_init__(self):
        if self.genotype.output != "add":
            raise ToolkitError(f"cell '{self.name}' must add its loose ends (TS-ENAS III.A); "
                               "give genotype.with_add_output()")


@dataclass(frozen=True)
class CellSpace:
    """The known cells (cell ``k`` has code ``k``, counted from 1) and the fine stage's op table.

    Attributes:
        cells: the known cells in code order.
        ops: op names by code (op ``k`` has code ``k``; code 0 means no op). Table I's 13 ops first.
    """

    cells: tuple[KnownCell, ...]
    ops: tuple[str, ...] = TS_ENAS_OPS

    def __post_init__(self):
        object.__setattr__(self, "cells", tuple(self.cells))
        object.__setattr__(self, "ops", tuple(self.ops))
        names = [c.name for c in self.cells]
        if len(set(names)) != len(names):
            raise ToolkitError(f"the cell space names a cell twice: {', '.join(names)}")
        missing = sorted({op for c in self.cells for _, op, _ in c.genotype.edges} - set(self.ops))
        if missing:
            raise ToolkitError(f"op(s) {', '.join(missing)} of the known cells have no code; add them to ops")
        if len(self.ops) < 2:
            raise ToolkitError(f"the fine stage needs at least two ops to choose from, got {list(self.ops)}")
        if not self.normal_codes:
            raise ToolkitError("the cell space needs at least one normal cell")

    @property
    def normal_codes(self) -> tuple[int, ...]:
        return tuple(k for k, c in enumerate(self.cells, start=1) if not c.reduction)

    @property
    def reduce_codes(self) -> tuple[int, ...]:
        return tuple(k for k, c in enumerate(self.cells, start=1) if c.reduction)

    def cell(self, code: int) -> KnownCell:
        """The cell with this code; unknown codes raise a ToolkitError naming the valid range."""
        if not isinstance(code, int) or not 1 <= code <= len(self.cells):
            raise ToolkitError(f"cell code {code!r} is not in the cell space (codes 1..{len(self.cells)})")
        return self.cells[code - 1]

    def code_of(self, genotype: Genotype, reduction: bool) -> int:
        """The code of a known cell, found by its genotype and type."""
        for k, c in enumerate(self.cells, start=1):
            if c.genotype == genotype and c.reduction == reduction:
                return k
        kind = "reduction" if reduction else "normal"
        raise ToolkitError(f"{kind} cell '{genotype}' is not one of the space's known cells "
                           f"({', '.join(c.name for c in self.cells)})")

    def op_code(self, op: str) -> int:
        """Code of an op in the fine stage's 4-tuples (1-based)."""
        if op not in self.ops:
            raise ToolkitError(f"op '{op}' has no code in this cell space; coded ops: {', '.join(self.ops)}")
        return self.ops.index(op) + 1

    def op_name(self, code: int) -> str:
        if not isinstance(code, int) or not 1 <= code <= len(self.ops):
            raise ToolkitError(f"op code {code!r} is out of range 1..{len(self.ops)}")
        return self.ops[code - 1]

    def with_cells(self, source: str | Path | CellPair, name: str | None = None) -> CellSpace:
        """This space with the normal and reduction cell of another search added (next two codes).

        Args:
            source: a published cell name (``'PC_DARTS'``), a genotype JSON file holding a cell pair
                (what ``search`` writes), or a :class:`CellPair`.
            name: the new cells are called ``{name}-normal`` and ``{name}-reduce``; default the
                published name or the file name without its suffix.

        Raises:
            ToolkitError: unknown name or file, a file holding a whole network, a cell already in the
                space, or a name already taken.
        """
        if isinstance(source, CellPair):
            pair, origin, default = source, "a cell pair", "cells"
        else:
            pair = load_architecture(source)
            origin = str(source)
            default = str(source) if str(source) in PUBLISHED else Path(source).stem
            if not isinstance(pair, CellPair):
                raise ToolkitError(f"'{source}' describes a whole network; the cell space needs a normal and a "
                                   "reduction cell (a search result or a published cell name)")
        name = name or default
        added = []
        for kind, genotype, reduction in (("normal", pair.normal, False), ("reduce", pair.reduce, True)):
            genotype = genotype.with_add_output()
            for k, c in enumerate(self.cells, start=1):
                if c.genotype == genotype and c.reduction == reduction:
                    raise ToolkitError(f"the {kind} cell of {origin} is already in the space as code {k} ({c.name})")
            added.append(KnownCell(f"{name}-{kind}", genotype, reduction, origin))
        new_ops = [op for c in added for _, op, _ in c.genotype.edges if op not in self.ops]
        return CellSpace(self.cells + tuple(added), self.ops + tuple(dict.fromkeys(new_ops)))

    def to_dict(self) -> dict:
        return {"ops": list(self.ops),
                "cells": [{"name": c.name, "type": "reduce" if c.reduction else "normal", "source": c.source,
                           "genotype": c.genotype.to_dict()} for c in self.cells]}

    @classmethod
    def from_dict(cls, d: dict) -> CellSpace:
        try:
            cells = tuple(KnownCell(c["name"], Genotype.from_dict(c["genotype"]), c["type"] == "reduce", c["source"])
                          for c in d["cells"])
            return cls(cells, tuple(d["ops"]))
        except (KeyError, TypeError) as e:
            raise ToolkitError(f"not a cell space: missing or bad field {e}") from None


def table_ii() -> CellSpace:
    """The eight known cells of TS-ENAS Table II with codes 1-8 and Table I's op codes (+ CARS-H's)."""
    cells = tuple(KnownCell(abbr, getattr(PUBLISHED[name], "reduce" if red else "normal").with_add_output(), red,
                            name) for abbr, name, red in TABLE_II)
    extra = [op for c in cells for _, op, _ in c.genotype.edges if op not in TS_ENAS_OPS]
    return CellSpace(cells, TS_ENAS_OPS + tuple(dict.fromkeys(extra)))
