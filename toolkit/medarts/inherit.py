"""α inheritance into a deeper supernet, and crossover of normal and reduction cells.

ME-DARTS paper section III.C.4 and Fig. 4.

- Inheritance: an individual selected from one stage continues in the next as a supernet with
  more cells whose α (normal and reduction) is the individual's, unchanged; its weights are new.
  α's shape depends only on the search space, so it fits a supernet of any depth.
- Crossover: two parents ``g1(α_nor^1, α_red^1)`` and ``g2(α_nor^2, α_red^2)`` give the children
  ``g3(α_nor^1, α_red^2)`` and ``g4(α_nor^2, α_red^1)``, which join the next stage's population
  beside their parents. PC-DARTS' β of a cell type travels with that cell type's α.

Paper: "ME-DARTS: Introduce Multi-stage Evolution to Improve Differentiable Architecture Search",
Y. Chen, R. Shi, J. Luo.

Example:
    >>> from toolkit.supernet import Supernet
    >>> parent = Individual.from_supernet(Supernet(C=4, cells=3), "init-0")
    >>> deeper = inherit(parent, Supernet(C=4, cells=5))
    >>> bool(torch.equal(deeper.alpha_normal, parent.alpha("normal")))
    True
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import torch

from ..errors import ToolkitError
from ..supernet import Supernet
from .individual import CELL_TYPES, Individual


def inherit(individual: Individual, model: Supernet) -> Supernet:
    """Copy an individual's α (and β) exactly into ``model``, in place, and return ``model``.

    Raises:
        ToolkitError: the supernet's search space differs from the individual's, or one has
            PC-DARTS' β and the other not (the edge mode changed between stages).
    """
    if not isinstance(model, Supernet):
        raise ToolkitError(f"α can only be inherited into a Supernet, got {type(model).__name__}")
    if model.space != individual.space:
        raise ToolkitError(f"{individual.name} was searched over {individual.space.to_dict()} but the supernet uses "
                           f"{model.space.to_dict()}; every stage must search the same space")
    if bool(model.edge_norm) != individual.has_beta:
        has, lacks = ("the individual", "the supernet") if individual.has_beta else ("the supernet", "the individual")
        raise ToolkitError(f"{has} has PC-DARTS edge weights β and {lacks} has none; every stage must use the same "
                           f"method and edge normalisation")
    with torch.no_grad():
        for kind in CELL_TYPES:
            getattr(model, f"alpha_{kind}").copy_(individual.alpha(kind))
            if individual.has_beta:
                getattr(model, f"beta_{kind}").copy_(individual.beta(kind))
    return model


def crossover_pairs(parents: int, children: int) -> list[tuple[int, int]]:
    """Which parents cross, as positions in the selection order (best first): ``children // 2`` pairs.

    The paper does not say how parents are paired. Here disjoint neighbours in the selection
    order come first, ``(0, 1), (2, 3), ...``, so every parent crosses once before any crosses
    twice; further pairs follow in lexicographic order ``(0, 2), (0, 3), ...``. Each pair gives two
    children (:func:`crossover`), so ``children`` is even and at most ``parents * (parents - 1)``
    (a :class:`~toolkit.medarts.stages.Stage` checks both).

    Example:
        >>> crossover_pairs(4, 6)
        [(0, 1), (2, 3), (0, 2)]
    """
    if children % 2 or not 0 <= children <= parents * (parents - 1):
        raise ToolkitError(f"{parents} parents cannot give {children} crossover children; it takes an even "
                           f"number up to {parents * (parents - 1)} (two per pair)")
    disjoint = [(i, i + 1) for i in range(0, parents - 1, 2)]
    rest = [pair for pair in itertools.combinations(range(parents), 2) if pair not in disjoint]
    return (disjoint + rest)[: children // 2]


def crossover(first: Individual, second: Individual, names: tuple[str, str],
              seeds: tuple[int, int] | None = None) -> tuple[Individual, Individual]:
    """The two children of a crossover: (normal of first, reduce of second), (normal of second, reduce of first).

    Args:
        first, second: the parents ``g1`` and ``g2``.
        names: the children's names ``(g3, g4)``.
        seeds: the children's weight seeds (default: the parents' seeds, g3 first's, g4 second's).

    Returns:
        ``(g3, g4)``, each naming both parents (first, then second) in ``parents``.
    """
    if first.space != second.space:
        raise ToolkitError(f"cannot cross {first.name} and {second.name}: they were searched over different spaces")
    if first.has_beta != second.has_beta:
        raise ToolkitError(f"cannot cross {first.name} and {second.name}: only one has PC-DARTS edge weights β")
    if len(names) != 2 or names[0] == names[1]:
        raise ToolkitError(f"crossover needs two different names for its two children, got {names!r}")
    seeds = (first.seed, second.seed) if seeds is None else seeds
    lineage = (first.name, second.name)
    g3 = replace(first, name=names[0], alpha_reduce=second.alpha_reduce, beta_reduce=second.beta_reduce,
                 seed=seeds[0], parents=lineage)
    g4 = replace(second, name=names[1], alpha_reduce=first.alpha_reduce, beta_reduce=first.beta_reduce,
                 seed=seeds[1], parents=lineage)
    return g3, g4
