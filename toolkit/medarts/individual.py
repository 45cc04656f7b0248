"""One member of an ME-DARTS population, as plain values that can cross a process pool.

An individual is what survives from one stage to the next (ME-DARTS paper section III.C.4): its
architecture parameters α for the normal and the reduction cell (and PC-DARTS' edge weights β
where the edge mode has them), not its supernet weights. α's shape is ``edges x ops`` of the
search space, the same for a supernet of any depth, which is what lets a deeper supernet of the
next stage inherit it.

The values are Python floats (a float32 tensor converts to them and back exactly), so an
:class:`Individual` pickles for ``concurrent.futures`` executors and Dask, compares with ``==``,
and round-trips through JSON for the run records. ``parents`` names the individuals it came
from: the one it inherited α from, or the two crossover parents.

Paper: "ME-DARTS: Introduce Multi-stage Evolution to Improve Differentiable Architecture Search",
Y. Chen, R. Shi, J. Luo.

Example:
    >>> from toolkit.supernet import Supernet
    >>> net = Supernet(C=4, cells=3)
    >>> ind = Individual.from_supernet(net, "init-0", seed=0)
    >>> ind.genotype() == net.genotype()
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ..errors import ToolkitError
from ..genotype import CellPair
from ..space import SearchSpace, derive_cell, node_softmax
from ..supernet import Supernet

CELL_TYPES = ("normal", "reduce")

Matrix = tuple[tuple[float, ...], ...]


def _matrix(value) -> Matrix:
    if isinstance(value, torch.Tensor):
        value = value.detach().float().cpu().tolist()
    return tuple(tuple(float(v) for v in row) for row in value)


def _vector(value) -> tuple[float, ...] | None:
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        value = value.detach().float().cpu().tolist()
    return tuple(float(v) for v in value)


@dataclass(frozen=True)
class Individual:
    """An individual's architecture state and lineage.

    Attributes:
        name: unique within a run (e.g. ``"init-3"``); lineage refers to it.
        space: the search space α's columns and rows refer to.
        alpha_normal: α of the normal cell, ``edges x ops`` (rows: edges in DARTS order).
        alpha_reduce: α of the reduction cell, same shape.
        beta_normal: PC-DARTS edge weights β of the normal cell (one per edge), or None when the
            edge mode has none.
        beta_reduce: β of the reduction cell, or None.
        seed: the seed its supernet's weights were (or will be) initialised with.
        parents: names of the individuals it came from (none in the first stage).
    """

    name: str
    space: SearchSpace
    alpha_normal: Matrix
    alpha_reduce: Matrix
    beta_normal: tuple[float, ...] | None = None
    beta_reduce: tuple[float, ...] | None = None
    seed: int = 0
    parents: tuple[str, ...] = ()

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name:
            raise ToolkitError(f"an individual needs a non-empty name, got {self.name!r}")
        if not isinstance(self.space, SearchSpace):
            raise ToolkitError(f"space must be a SearchSpace, got {type(self.space).__name__}")
        object.__setattr__(self, "parents", tuple(str(p) for p in self.parents))
        shape = (self.space.edges_per_cell, len(self.space.ops))
        for kind in CELL_TYPES:
            alpha = _matrix(getattr(self, f"alpha_{kind}"))
            object.__setattr__(self, f"alpha_{kind}", alpha)
            if (len(alpha), len(alpha[0]) if alpha else 0) != shape or any(len(r) != shape[1] for r in alpha):
                raise ToolkitError(f"{self.name}: α of the {kind} cell must be {shape[0]} edges x {shape[1]} ops for "
                                   f"this search space ({self.space.nodes} nodes, {shape[1]} ops)")
            beta = _vector(getattr(self, f"beta_{kind}"))
            object.__setattr__(self, f"beta_{kind}", beta)
            if beta is not None and len(beta) != shape[0]:
                raise ToolkitError(f"{self.name}: β of the {kind} cell must have {shape[0]} edges, got {len(beta)}")
            values = [v for row in alpha for v in row] + list(beta or ())
            if not all(math.isfinite(v) for v in values):
                raise ToolkitError(f"{self.name}: the {kind} cell's α/β holds NaN or inf (the search diverged)")
        if (self.beta_normal is None) != (self.beta_reduce is None):
            raise ToolkitError(f"{self.name}: β must be given for both cell types or for neither")

    @property
    def has_beta(self) -> bool:
        """Whether the individual carries PC-DARTS' edge weights β."""
        return self.beta_normal is not None

    @classmethod
    def from_supernet(cls, model: Supernet, name: str, seed: int = 0, parents: tuple[str, ...] = ()) -> Individual:
        """Capture a supernet's α (and β) exactly."""
        if not isinstance(model, Supernet):
            raise ToolkitError(f"expected a Supernet, got {type(model).__name__}")
        beta = {kind: getattr(model, f"beta_{kind}", None) if model.edge_norm else None for kind in CELL_TYPES}
        return cls(name, model.space, _matrix(model.alpha_normal), _matrix(model.alpha_reduce),
                   _vector(beta["normal"]), _vector(beta["reduce"]), seed, tuple(parents))

    def alpha(self, kind: str) -> torch.Tensor:
        """α of the ``"normal"`` or ``"reduce"`` cell as a float32 tensor."""
        return torch.tensor(getattr(self, f"alpha_{_kind(kind)}"), dtype=torch.float32)

    def beta(self, kind: str) -> torch.Tensor | None:
        """β of the ``"normal"`` or ``"reduce"`` cell as a float32 tensor, or None."""
        value = getattr(self, f"beta_{_kind(kind)}")
        return None if value is None else torch.tensor(value, dtype=torch.float32)

    def genotype(self) -> CellPair:
        """The DARTS discretisation of α (with β's per-node softmax where present), as a supernet derives it."""
        cells = []
        for kind in CELL_TYPES:
            beta = self.beta(kind)
            edge_weights = None if beta is None else node_softmax(beta, self.space)
            cells.append(derive_cell(torch.softmax(self.alpha(kind), dim=-1), self.space, edge_weights))
        return CellPair(*cells)

    def to_dict(self) -> dict:
        """Plain JSON values (round-trips exactly through :meth:`from_dict`)."""
        return {"name": self.name, "space": self.space.to_dict(), "seed": self.seed, "parents": list(self.parents),
                "alpha_normal": [list(r) for r in self.alpha_normal],
                "alpha_reduce": [list(r) for r in self.alpha_reduce],
                "beta_normal": None if self.beta_normal is None else list(self.beta_normal),
                "beta_reduce": None if self.beta_reduce is None else list(self.beta_reduce)}

    @classmethod
    def from_dict(cls, d: dict) -> Individual:
        try:
            return cls(d["name"], SearchSpace.from_dict(d["space"]), d["alpha_normal"], d["alpha_reduce"],
                       d.get("beta_normal"), d.get("beta_reduce"), int(d.get("seed", 0)), tuple(d.get("parents", ())))
        except (KeyError, TypeError) as e:
            raise ToolkitError(f"not an ME-DARTS individual (need name, space, alpha_normal, alpha_reduce): "
                               f"{e}") from None


def _kind(kind: str) -> str:
    if kind not in CELL_TYPES:
        raise ToolkitError(f"cell type must be 'normal' or 'reduce', got {kind!r}")
    return kind
