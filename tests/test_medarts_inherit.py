"""ME-DARTS individuals: exact α (and β) inheritance into deeper supernets, crossover, pickling."""

from __future__ import annotations

import json
import pickle

import pytest
import torch

from toolkit import EvalNetwork, NetworkSizes, ToolkitError
from toolkit.config import search_config
from toolkit.genotype import CellPair
from toolkit.medarts.individual import Individual
from toolkit.medarts.inherit import crossover, crossover_pairs, inherit
from toolkit.methods import get_method
from toolkit.space import SearchSpace
from toolkit.supernet import Supernet

SEARCH_METHODS = ("darts", "pcdarts", "adarts")


def supernet(method: str, cells: int, seed: int, space: SearchSpace = SearchSpace()) -> Supernet:
    """A supernet of ``method``'s edge mode whose α and β are far from their near-zero start."""
    config = search_config(method, channels=4, cells=cells, space=space)
    torch.manual_seed(seed)
    edge = get_method(method, "search").edge_factory(config.k)
    model = Supernet(space, 4, cells, 10, 1, None, edge, config.uses_edge_norm)
    with torch.no_grad():
        for p in model.arch_parameters():
            p.copy_(torch.randn(p.shape))
    return model


@pytest.mark.parametrize("method", SEARCH_METHODS)
def test_inheritance_copies_alpha_exactly_into_a_deeper_supernet(method):
    source = supernet(method, cells=3, seed=1)
    parent = Individual.from_supernet(source, "init-0", seed=1)
    assert parent.has_beta == (method == "pcdarts")
    target = supernet(method, cells=5, seed=2)
    assert not torch.equal(target.alpha_normal, source.alpha_normal)
    assert inherit(parent, target) is target
    names = [n for n, _ in source.named_parameters() if n.startswith(("alpha_", "beta_"))]
    assert names == [n for n, _ in target.named_parameters() if n.startswith(("alpha_", "beta_"))]
    for name in names:
        assert torch.equal(getattr(target, name), getattr(source, name)), name
    assert target.genotype() == source.genotype() == parent.genotype()
    assert target(torch.randn(2, 1, 8, 8)).shape == (2, 10)  # the deeper supernet runs with inherited α
    assert Individual.from_supernet(target, "mid-0") == Individual.from_supernet(source, "mid-0")


@pytest.mark.parametrize("method", SEARCH_METHODS)
def test_crossover_swaps_the_reduction_cells(method):
    g1 = Individual.from_supernet(supernet(method, cells=3, seed=1), "init-1", seed=1)
    g2 = Individual.from_supernet(supernet(method, cells=3, seed=2), "init-2", seed=2)
    g3, g4 = crossover(g1, g2, ("mid-c0", "mid-c1"))
    assert (g3.alpha_normal, g3.alpha_reduce) == (g1.alpha_normal, g2.alpha_reduce)
    assert (g4.alpha_normal, g4.alpha_reduce) == (g2.alpha_normal, g1.alpha_reduce)
    assert (g3.beta_normal, g3.beta_reduce) == (g1.beta_normal, g2.beta_reduce)  # None, None outside PC-DARTS
    assert (g4.beta_normal, g4.beta_reduce) == (g2.beta_normal, g1.beta_reduce)
    assert g3.parents == g4.parents == ("init-1", "init-2")
    assert (g3.name, g4.name, g3.seed, g4.seed) == ("mid-c0", "mid-c1", 1, 2)
    p1, p2 = g1.genotype(), g2.genotype()
    assert p1.reduce != p2.reduce  # the swap is visible in the derived cells
    assert g3.genotype() == CellPair(p1.normal, p2.reduce)
    assert g4.genotype() == CellPair(p2.normal, p1.reduce)
    model = inherit(g3, supernet(method, cells=4, seed=3))
    assert model.genotype() == g3.genotype()
    evaluation = EvalNetwork(g4.genotype().stack(5), NetworkSizes(C=4, num_classes=10, in_channels=1))
    assert evaluation(torch.randn(2, 1, 8, 8)).shape == (2, 10)


def test_individual_crosses_process_boundaries_and_json():
    ind = Individual.from_supernet(supernet("pcdarts", cells=3, seed=4), "init-4", seed=4, parents=("x",))
    assert pickle.loads(pickle.dumps(ind)) == ind
    again = Individual.from_dict(json.loads(json.dumps(ind.to_dict())))
    assert again == ind
    assert torch.equal(again.alpha("reduce"), ind.alpha("reduce"))
    assert torch.equal(again.beta("normal"), ind.beta("normal"))


def test_mismatches_are_refused():
    darts = Individual.from_supernet(supernet("darts", cells=3, seed=1), "a")
    pcdarts = Individual.from_supernet(supernet("pcdarts", cells=3, seed=1), "b")
    small = SearchSpace(nodes=3)
    with pytest.raises(ToolkitError, match="same space"):
        inherit(darts, supernet("darts", cells=4, seed=1, space=small))
    with pytest.raises(ToolkitError, match="has PC-DARTS edge weights β and the supernet has none"):
        inherit(pcdarts, supernet("darts", cells=4, seed=1))
    with pytest.raises(ToolkitError, match="the supernet has PC-DARTS"):
        inherit(darts, supernet("pcdarts", cells=4, seed=1))
    with pytest.raises(ToolkitError, match="only one has"):
        crossover(darts, pcdarts, ("c", "d"))
    with pytest.raises(ToolkitError, match="two different names"):
        crossover(darts, darts, ("c", "c"))
    with pytest.raises(ToolkitError, match="different spaces"):
        crossover(darts, Individual.from_supernet(supernet("darts", cells=3, seed=1, space=small), "s"), ("c", "d"))
    with pytest.raises(ToolkitError, match="14 edges x 8 ops"):
        Individual("bad", SearchSpace(), darts.alpha_normal[:-1], darts.alpha_reduce)
    nan = tuple((float("nan"),) + row[1:] for row in darts.alpha_normal)
    with pytest.raises(ToolkitError, match="NaN"):
        Individual("bad", SearchSpace(), nan, darts.alpha_reduce)
    with pytest.raises(ToolkitError, match="both cell types"):
        Individual("bad", SearchSpace(), darts.alpha_normal, darts.alpha_reduce, beta_normal=[0.0] * 14)


def test_crossover_pairs_use_every_parent_once_first():
    assert crossover_pairs(2, 2) == [(0, 1)]
    assert crossover_pairs(4, 4) == [(0, 1), (2, 3)]
    assert crossover_pairs(3, 6) == [(0, 1), (0, 2), (1, 2)]
    assert crossover_pairs(5, 0) == []
    pairs = crossover_pairs(4, 12)
    assert len(set(pairs)) == 6 and all(i < j for i, j in pairs)  # every pair once
    for parents, children in ((2, 4), (3, 3), (1, 2)):
        with pytest.raises(ToolkitError, match="crossover children"):
            crossover_pairs(parents, children)
