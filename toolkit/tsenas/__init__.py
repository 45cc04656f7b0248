"""TS-ENAS: two-stage evolution over known cells (rough stage) and their insides (fine stage).

Zou, Wu, Xia, Jiang, Wu, Zheng, "TS-ENAS: Two-Stage Evolution for Cell-based Network Architecture
Search". The rough stage evolves networks written as sequences of known cells and their input
connections (:class:`RoughCode`, Algorithm 2), the fine stage the nodes and edges inside those
cells (:class:`FineCode`, Algorithm 4). Both codes decode to the toolkit's network description,
so :class:`toolkit.model.EvalNetwork`, parameter counts and drawings work on every individual.
The search itself is :func:`toolkit.tsenas.run.run_ts_enas`; :func:`inheritance_gain` (in
:mod:`toolkit.tsenas.gain`) trains one of its networks from scratch and from the SuperNet's cells.

Example:
    >>> import random
    >>> from toolkit.tsenas import FineCode, initial_population, table_ii
    >>> space = table_ii()
    >>> population = initial_population(space, size=4, n_min=3, n_max=6, rng=random.Random(0))
    >>> network = population[0].decode(space)  # a toolkit.genotype.Network
"""

from .cellspace import TABLE_II, CellSpace, KnownCell, table_ii
from .config import TsEnasConfig, ts_enas_config
from .encoding import NO_NODE, FineCell, FineCode, RoughCode, check_depth, initial_population, random_code
from .operators import (
    cell_mutation,
    connection_mutation,
    crossover,
    delete_node,
    edge_mutation,
    fine_mutation,
    matched_cells,
    node_input_mutation,
    node_pruning,
)
from .selection import accuracy_levels, environmental_selection
from .supernet import cell_slots, inherit_cells, supernet_network, write_back

__all__ = [
    "NO_NODE", "TABLE_II", "CellSpace", "FineCell", "FineCode", "KnownCell", "RoughCode", "accuracy_levels",
    "cell_mutation", "check_depth", "connection_mutation", "crossover", "delete_node", "edge_mutation",
    "environmental_selection", "fine_mutation", "initial_population", "matched_cells", "node_input_mutation",
    "node_pruning", "random_code", "table_ii", "TsEnasConfig", "ts_enas_config", "cell_slots", "inherit_cells",
    "supernet_network", "write_back", "InheritanceGain", "inheritance_gain",
]


def __getattr__(name):
    # the comparison trains networks (toolkit.train loads torchvision): load it on first use
    if name in ("InheritanceGain", "inheritance_gain"):
        from . import gain

        return getattr(gain, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
