"""Weight inheritance by cell and op: bit-exact copies, cell and node mappings, and a report of every skip."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from toolkit import PUBLISHED, CellPair, CellSpec, EvalNetwork, Genotype, Network, NetworkSizes, ToolkitError
from toolkit.gal import attach_masks, build_pruned
from toolkit.inherit import inherit_weights
from toolkit.partial import partial_edge
from toolkit.space import SearchSpace
from toolkit.supernet import Supernet

V2 = PUBLISHED["DARTS_V2"]
SIZES = NetworkSizes(C=4, in_channels=1)


def randomised(net: nn.Module, seed: int) -> nn.Module:
    """Every tensor (weights, α, β, batch-norm statistics) filled with seeded noise, so a copy is not vacuous."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for t in net.state_dict().values():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) + 0.5)
    return net


def fresh(net_fn, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return randomised(net_fn(), seed)


def masked(net: EvalNetwork) -> EvalNetwork:
    attach_masks(net)
    return net


def op_modules(net: EvalNetwork, k: int) -> dict[tuple[int, str, int], nn.Module]:
    """The ops of cell k (1-based) of an evaluation network by (node number, op, input number)."""
    cell = net.cells[k - 1]
    g = cell.genotype
    return {(g.node_ids[i], op, g.label(src)): module
            for i, (node, ops) in enumerate(zip(g.nodes, cell.ops)) for (op, src), module in zip(node, ops)}


def same_tensors(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


@pytest.mark.parametrize("kind", ["eval", "supernet", "pcdarts"])
def test_identical_networks_copy_every_tensor_bit_exactly(kind):
    build = {
        "eval": lambda: EvalNetwork(V2.stack(4), NetworkSizes(C=4, in_channels=1, auxiliary=True)),
        "supernet": lambda: Supernet(SearchSpace(nodes=3), C=4, cells=3),
        "pcdarts": lambda: Supernet(SearchSpace(nodes=3), C=4, cells=3, edge=partial_edge("attention", 2),
                                    edge_norm=True),
    }[kind]
    source, target = fresh(build, 0), fresh(build, 1)
    assert not same_tensors(source, target)
    report = inherit_weights(target, source)
    assert same_tensors(source, target)
    assert report.complete and report.skipped == [] and report.unused == []
    assert len(report.copied) == len(target.state_dict())


def test_a_pruned_network_takes_its_parents_weights_by_node_number():
    parent = fresh(lambda: EvalNetwork(V2.stack(4), SIZES), 0)
    attach_masks(parent)
    keep = [[0, 2, 3], [1, 3], [0, 1, 2, 3], [2]]
    pruned = build_pruned(parent, keep, inherit=False)
    randomised(pruned, 5)
    report = inherit_weights(pruned, parent)
    for k in range(1, 5):
        new, old = op_modules(pruned, k), op_modules(parent, k)
        assert new and set(new) <= set(old)
        for key, module in new.items():  # the same op on the same edge, nodes keep their numbers
            assert same_tensors(module, old[key]), (k, key)
    assert torch.equal(pruned.stem[0].weight, parent.stem[0].weight)
    # Cell 1 kept nodes 2, 4, 5 (positions 0, 2, 3): cell 2 reads those channels of cell 1's output.
    old_channels = [c for p in (0, 2, 3) for c in range(p * 4, (p + 1) * 4)]
    reader = pruned.cells[1].preprocess1[1].weight
    assert torch.equal(reader, parent.cells[1].preprocess1[1].weight[:, old_channels])
    # Cell 4 (16 channels per node after two reductions) kept node 4: the classifier reads its channels.
    assert torch.equal(pruned.classifier.weight, parent.classifier.weight[:, 2 * 16 : 3 * 16])
    assert report.complete, str(report)
    assert any("input channels: 12 of 12" in c.note for c in report.copied)
    assert {n for n in report.unused if ".ops." in n}  # the removed nodes' ops are left behind, and listed


def test_gal_pruning_reports_what_an_emptied_cell_could_not_inherit():
    parent = fresh(lambda: EvalNetwork(V2.stack(4), SIZES), 0)
    pruned = build_pruned(parent, [[0, 1, 2, 3], [], [0, 1, 2, 3], [0, 1, 2, 3]])
    skipped = {s.target: s.reason for s in pruned.inheritance.skipped}
    # Cell 2 (a reduction cell) keeps no node: its output is new, so cell 3's reader of it is new too.
    assert skipped["cells.2.preprocess1.1.weight"].startswith("no input channel has a source")
    assert skipped["cells.1.reduce_inputs.1.conv_1.weight"].startswith("missing in source")
    assert all(reason for reason in skipped.values())


def test_a_cell_copied_into_another_position():
    other = Genotype.from_text("dil_conv_3x3(0)+sep_conv_5x5(1) | sep_conv_3x3(2)+skip_connect(0) ; 2,3")
    source_net = Network((CellSpec(V2.normal, False, (0, 0)), CellSpec(other, False, (0, 1)),
                          CellSpec(V2.normal, False, (1, 2))))
    target_net = Network((CellSpec(other, False, (0, 0)), CellSpec(V2.normal, False, (0, 1)),
                          CellSpec(V2.normal, False, (1, 2))))
    source, target = fresh(lambda: EvalNetwork(source_net, SIZES), 0), fresh(lambda: EvalNetwork(target_net, SIZES), 1)
    report = inherit_weights(target, source, cells={1: 2, 2: 1})
    for k, j in ((1, 2), (2, 1), (3, 3)):
        new, old = op_modules(target, k), op_modules(source, j)
        assert new.keys() == old.keys()
        assert all(same_tensors(module, old[key]) for key, module in new.items()), (k, j)
    skipped = {s.target: s.reason for s in report.skipped}
    # Target cell 1 reads the stem (12 channels) as c_{k-1}; source cell 2 read cell 1 (4 nodes x 4 channels).
    assert skipped["cells.0.preprocess1.1.weight"] == "shape mismatch: source (4, 16, 1, 1), target (4, 12, 1, 1)"
    assert not any(".ops." in name for name in skipped)


def test_a_node_mapping_moves_a_node_and_the_channels_that_read_it():
    source_cell = Genotype.from_text("sep_conv_3x3(0)+skip_connect(1) | dil_conv_3x3(0)+sep_conv_5x5(2) ; 2,3")
    target_cell = Genotype.from_text("dil_conv_3x3(0)+max_pool_3x3(1) | sep_conv_3x3(0)+skip_connect(1) ; 2,3")
    source = fresh(lambda: masked(EvalNetwork(CellPair(source_cell, source_cell).stack(3), SIZES)), 0)
    target = fresh(lambda: masked(EvalNetwork(CellPair(target_cell, target_cell).stack(3), SIZES)), 1)
    report = inherit_weights(target, source, nodes={1: {2: 3, 3: 2}})
    new, old = op_modules(target, 1), op_modules(source, 1)
    assert same_tensors(new[(2, "dil_conv_3x3", 0)], old[(3, "dil_conv_3x3", 0)])
    assert same_tensors(new[(3, "sep_conv_3x3", 0)], old[(2, "sep_conv_3x3", 0)])
    # Cell 1's output is (node 2, node 3) = source (node 3, node 2): the next cell's reader swaps its halves.
    reader, old_reader = target.cells[1].preprocess1[1].weight, source.cells[1].preprocess1[1].weight
    assert torch.equal(reader, torch.cat([old_reader[:, 4:8], old_reader[:, 0:4]], dim=1))
    assert not any(s.target.startswith("cells.0.ops") for s in report.skipped)
    # The DARTS-GAL masks follow their nodes too.
    assert torch.equal(target.cells[0].node_scale, source.cells[0].node_scale.flip(0))
    assert torch.equal(target.cells[1].node_scale, source.cells[1].node_scale)


def test_a_deeper_supernet_inherits_alpha_and_the_cells_it_shares():
    space = SearchSpace(nodes=2)
    shallow = fresh(lambda: Supernet(space, C=4, cells=3, edge_norm=True), 0)
    deep = fresh(lambda: Supernet(space, C=4, cells=5, edge_norm=True), 1)
    assert (deep.reductions, shallow.reductions) == ((2, 4), (2, 3))
    report = inherit_weights(deep, shallow, cells={4: 3})  # deep cell 4 is the shallow net's second reduction
    for name in ("alpha_normal", "alpha_reduce", "beta_normal", "beta_reduce"):
        assert torch.equal(getattr(deep, name), getattr(shallow, name))
    for k, j in ((1, 1), (2, 2), (4, 3)):
        assert same_tensors(deep.cells[k - 1].edges, shallow.cells[j - 1].edges), (k, j)
    skipped = {s.target: s.reason for s in report.skipped}
    # Deep cell 3 (normal, 8 channels) meets shallow cell 3 (reduction, 16): nothing fits; cell 5 has no source.
    assert skipped["cells.2.edges.0.ops.4.0.1.weight"].startswith("shape mismatch")
    assert skipped["cells.4.edges.0.ops.4.0.1.weight"] == "no source cell: the source has 3 cell(s)"
    assert not any(name.startswith(("cells.0.", "cells.1.", "cells.3.edges")) for name in skipped)


def test_an_evaluation_network_inherits_its_ops_from_a_trained_supernet():
    space = SearchSpace(nodes=4)
    supernet = fresh(lambda: Supernet(space, C=4, cells=3), 0)
    genotype = supernet.genotype()
    net = fresh(lambda: EvalNetwork(genotype.stack(3), SIZES), 1)
    report = inherit_weights(net, supernet)
    for k in range(1, len(net.cells) + 1):
        for (node, op, src), module in op_modules(net, k).items():
            edge = supernet.cells[k - 1].edges[space.edge_index(node, src)]
            old = edge.ops[space.ops.index(op)].state_dict()
            for name, t in module.state_dict().items():
                if name in old:  # conv weights and batch-norm statistics; the affine scale/shift are new
                    assert torch.equal(t, old[name]), (k, node, op, src, name)
                else:
                    assert name.endswith(("weight", "bias")) and t.dim() == 1
    reasons = {s.target: s.reason for s in report.skipped}
    assert reasons  # the evaluation network's affine batch norms have no supernet counterpart
    assert all(r.startswith("missing in source") for r in reasons.values())
    assert any(t.endswith(".3.weight") or t.endswith("bn.weight") for t in reasons)


def test_strict_mode_raises_before_changing_anything():
    source = fresh(lambda: EvalNetwork(V2.stack(3), SIZES), 0)
    target = fresh(lambda: EvalNetwork(V2.stack(3), NetworkSizes(C=6, in_channels=1)), 1)
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(ToolkitError, match="shape mismatch"):
        inherit_weights(target, source, strict=True)
    assert all(torch.equal(before[k], v) for k, v in target.state_dict().items())
    report = inherit_weights(target, source)
    assert report.skipped and all(s.reason for s in report.skipped)
    assert report.reasons()["shape mismatch"] > 0
    assert "skipped" in str(report)


def test_bad_mappings_and_networks_are_named():
    net = EvalNetwork(V2.stack(3), SIZES)
    with pytest.raises(ToolkitError, match="cells that do not exist"):
        inherit_weights(net, net, cells={4: 1})
    with pytest.raises(ToolkitError, match="node mapping"):
        inherit_weights(net, net, nodes={1: {1: 2}})
    with pytest.raises(ToolkitError, match="EvalNetwork and Supernet"):
        inherit_weights(net, nn.Linear(2, 2))
