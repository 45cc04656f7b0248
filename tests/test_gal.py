"""Tests for toolkit.gal: masks, pruning to a smaller network, the losses, the prox step and a tiny run."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from torch import nn

from toolkit import PUBLISHED, EvalNetwork, Genotype, NetworkSizes, ToolkitError, count_parameters
from toolkit.data import DatasetSplits, balanced_subset, load_dataset
from toolkit.gal import (
    EMPTY_CELL,
    FISTA,
    Discriminator,
    GalConfig,
    attach_masks,
    build_pruned,
    collapse_message,
    data_loss,
    discriminator_loss,
    epoch_steps,
    kept_from_masks,
    lambda_sweep,
    load_trained,
    masked_copy,
    orphaned_nodes,
    prox_nonneg_l1,
    prune_genotype,
    prune_network,
    run_gal,
    soft_threshold,
    train_masks,
)
from toolkit.gal.masks import mask_parameters
from toolkit.genotype import CellPair
from toolkit.steps import Session
from toolkit.train import train_network

DARTS_V2 = PUBLISHED["DARTS_V2"]



def randomised(model: EvalNetwork, seed: int = 0) -> EvalNetwork:
    """Give every batch norm non-trivial statistics and affine weights, so equalities are not vacuous."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                if m.affine:
                    m.weight.copy_(torch.randn(m.num_features, generator=g))
                    m.bias.copy_(torch.randn(m.num_features, generator=g))
    return model.eval()


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return randomised(EvalNetwork(DARTS_V2.stack(5, (2, 3)), NetworkSizes(C=4, in_channels=1)))


@pytest.fixture(scope="module")
def x():
    return torch.randn(3, 1, 8, 8, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module")
def tiny_data():
    digits = load_dataset("digits")
    train = balanced_subset(digits.train, per_class=12, seed=0)
    test = balanced_subset(digits.test, per_class=4, seed=0)
    return DatasetSplits(train, test, digits.num_classes, digits.in_channels, digits.image_size, digits.name)


TINY = GalConfig(channels=4, cells=3, reductions=(2,), epochs=1, batch_size=40, gal_epochs=2, gal_batch_size=40,
                 device="cpu", d_hidden=16)


# ------------------------------------------------------------------------------------------- masks


def test_masks_of_one_reproduce_the_baseline(net, x):
    generator, masks = masked_copy(net)
    assert [m.tolist() for m in masks] == [[1.0] * 4] * 5
    assert torch.equal(generator.eval()(x), net(x))


def test_masks_scale_node_outputs(net, x):
    generator, masks = masked_copy(net)
    with torch.no_grad():
        masks[4].fill_(0.0)  # the last cell outputs zeros: the logits are the classifier bias
    assert torch.allclose(generator.eval()(x), net.classifier.bias.expand(3, -1))


def test_attach_masks_registers_one_parameter_per_cell(net):
    generator, masks = masked_copy(net)
    names = [n for n, _ in generator.named_parameters() if n.endswith("node_scale")]
    assert len(names) == 5 and all(m.requires_grad for m in masks)
    assert not any(n.endswith("node_scale") for n, _ in net.named_parameters())  # the baseline is untouched


# ----------------------------------------------------------------------------------------- pruning


def masked_with(net: EvalNetwork, keep, seed: int = 0):
    """The generator of ``net`` with masks 0 outside ``keep`` and random values in (0.5, 1.5) inside."""
    generator, masks = masked_copy(net)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for mask, kept in zip(masks, keep, strict=True):
            values = torch.rand(len(mask), generator=g) + 0.5
            mask.copy_(torch.tensor([float(values[i]) if i in kept else 0.0 for i in range(len(mask))]))
    return generator.eval()


def test_masked_network_equals_pruned_network(net, x):
    # DARTS V2 reduce: nodes 1-3 read node 0; normal: node 3 reads node 0. Removing node 0 removes those
    # edges too; the readers keep their other edges. Kept masks differ from 1 and carry over as scales.
    keep = [(1, 2, 3), (1, 2, 3), (0, 2), (2,), (1, 3)]
    generator = masked_with(net, keep)
    pruned = build_pruned(generator, keep).eval()
    assert count_parameters(pruned) < count_parameters(net)
    assert [len(c.ops) for c in pruned.cells] == [3, 3, 2, 1, 2]
    assert [e for node in pruned.network.cells[1].genotype.nodes for e in node] == [
        ("max_pool_3x3", 1), ("max_pool_3x3", 0), ("max_pool_3x3", 1)]  # node 0's readers lost one edge each
    torch.testing.assert_close(pruned(x), generator(x), rtol=1e-5, atol=1e-5)
    assert not torch.allclose(pruned(x), net(x), atol=1e-3)  # the masks really changed the function


HAND = Genotype.from_text(
    "conv_1x1(1)+skip_connect(0) | conv_1x1(2)+max_pool_3x3(1) | conv_1x1(3)+skip_connect(3) ; 2,3,4")


def test_masked_equals_pruned_with_a_hand_counted_network(x):
    # Cell 1 keeps nodes 3 and 4 (0-based 1, 2): node 3 loses conv_1x1(2) and keeps max_pool(1); node 4
    # reads only node 3, so it stays. Cell 2 keeps node 2 (0-based 0) only.
    network = CellPair(HAND, HAND).stack(2, reductions=())
    torch.manual_seed(0)
    net = randomised(EvalNetwork(network, NetworkSizes(C=4, in_channels=1)))
    keep = [(1, 2), (0,)]
    generator = masked_with(net, keep)
    pruned = build_pruned(generator, keep).eval()
    stem = 1 * 12 * 9 + 2 * 12  # 3x3 conv to 3C=12 channels + BN
    pre = lambda c_in: c_in * 4 + 2 * 4  # noqa: E731  (ReLU-conv1x1-BN to C=4)
    conv = 4 * 4 + 2 * 4  # conv_1x1 edge
    cell1 = pre(12) + conv  # no edge reads input 0 any more: no preprocess0; max_pool and skip are free
    cell2 = pre(12) + pre(8) + conv  # node 2 = conv_1x1(1) + skip_connect(0)
    assert count_parameters(pruned) == stem + cell1 + cell2 + (4 * 10 + 10) == 382
    assert str(pruned.network.cells[0].genotype) == "3: max_pool_3x3(1) | 4: conv_1x1(3)+skip_connect(3) ; 3,4"
    assert str(pruned.network.cells[1].genotype) == "conv_1x1(1)+skip_connect(0) ; 2"
    torch.testing.assert_close(pruned(x), generator(x), rtol=1e-5, atol=1e-5)


def test_a_node_that_loses_all_inputs_is_removed(x):
    # Removing node 3 (0-based 1) orphans node 4, which reads only node 3: both go, in the masked net too.
    network = CellPair(HAND, HAND).stack(2, reductions=())
    torch.manual_seed(0)
    net = randomised(EvalNetwork(network, NetworkSizes(C=4, in_channels=1)))
    keep = [(0, 2), (0, 1, 2)]
    assert orphaned_nodes(HAND, keep[0]) == (2,)
    assert str(prune_genotype(HAND, keep[0])) == "conv_1x1(1)+skip_connect(0) ; 2"
    generator = masked_with(net, keep)
    pruned = build_pruned(generator, keep).eval()
    torch.testing.assert_close(pruned(x), generator(x), rtol=1e-5, atol=1e-5)


def test_pruned_network_is_physically_smaller(net):
    keep = [(0,), (), (3,), (1,), (2,)]
    pruned = build_pruned(net, keep, inherit=False)
    assert [len(c.ops) for c in pruned.cells] == [1, 0, 1, 1, 1]  # cell 3's node 5 loses the edge from node 2
    assert sum(1 for _ in pruned.modules()) < sum(1 for _ in net.modules())


def test_prune_genotype_removes_masked_nodes_and_keeps_numbers():
    g = DARTS_V2.normal  # node 5 = skip_connect(0) + dil_conv_3x3(2): it reads node 2
    assert str(prune_genotype(g, keep=[3])) == "5: skip_connect(0) ; 5"
    both = "3: sep_conv_3x3(0)+sep_conv_3x3(1) | 4: sep_conv_3x3(1)+skip_connect(0) ; 3,4"
    assert str(prune_genotype(g, keep=[1, 2])) == both
    assert prune_genotype(g, keep=range(4)) == g
    pruned = prune_genotype(g, keep=[0, 3])
    assert pruned.node_ids == (2, 5) and Genotype.from_text(str(pruned)) == pruned
    assert Genotype.from_dict(json.loads(json.dumps(pruned.to_dict()))) == pruned


def test_pruning_an_add_cell_keeps_adding_its_new_loose_ends():
    g = DARTS_V2.normal.with_add_output()  # node 2 feeds node 5: the loose ends are 3, 4, 5
    assert g.output == "add" and g.concat == (3, 4, 5)
    pruned = prune_genotype(g, keep=[0, 1])  # node 2 lost its reader, so it is a loose end now
    assert pruned.output == "add" and str(pruned) == str(prune_genotype(DARTS_V2.normal, keep=[0, 1])).replace(
        "; 2,3", "; add 2,3")
    assert prune_genotype(g, keep=[0]).concat == (2,)


def test_cell_without_kept_nodes_degrades_to_its_previous_cell(net, x):
    assert prune_genotype(DARTS_V2.reduce, keep=()) == EMPTY_CELL == Genotype((), (1,))
    keep = [(), (), (), (0, 1), ()]
    pruned = build_pruned(net, keep).eval()
    assert pruned.cells[1].preprocess0 is None and pruned.cells[1].reduce_inputs  # reduction kept via FactorizedReduce
    shapes = []
    states = [pruned.stem(x)]
    for spec, cell in zip(pruned.network.cells, pruned.cells, strict=True):
        states.append(cell(states[spec.inputs[0]], states[spec.inputs[1]]))
        shapes.append(tuple(states[-1].shape[2:]))
    assert shapes == [(8, 8), (4, 4), (2, 2), (2, 2), (2, 2)]
    assert pruned(x).shape == (3, 10)


def test_prune_rejects_bad_keep(net):
    with pytest.raises(ToolkitError, match="one collection of kept node indices per cell"):
        prune_network(net.network, [(0,)])
    with pytest.raises(ToolkitError, match="do not exist"):
        prune_genotype(DARTS_V2.normal, [4])


def test_kept_from_masks_uses_the_threshold():
    assert kept_from_masks([[0.0, 0.5, 0.01], []], 0.0) == [(1, 2), ()]
    assert kept_from_masks([[0.0, 0.5, 0.01]], 0.05) == [(1,)]


# ---------------------------------------------------------------------------- losses, D, prox step


def test_discriminator_is_a_five_layer_perceptron():
    d = Discriminator(10, hidden=32)
    assert sum(isinstance(m, nn.Linear) for m in d.modules()) == 5
    assert d(torch.softmax(torch.randn(6, 10), 1)).shape == (6,)


def test_data_loss_is_eq6():
    f_b, f_g = torch.tensor([[1.0, 2.0], [0.0, 0.0]]), torch.tensor([[0.0, 0.0], [3.0, 0.0]])
    assert float(data_loss(f_b, f_g)) == pytest.approx((1 + 4 + 9) / (2 * 2))


def test_discriminator_losses_have_the_right_sign():
    torch.manual_seed(0)
    real, fake = torch.softmax(torch.randn(8, 10) * 5, 1), torch.full((8, 10), 0.1)
    d = Discriminator(10, hidden=16)
    with torch.no_grad():
        w = discriminator_loss(d, real, fake, "wasserstein", gp_weight=0.0)
        assert float(w) == pytest.approx(float(d(fake).mean() - d(real).mean()))
        log = discriminator_loss(d, real, fake, "log")
        expected = -(torch.log(torch.sigmoid(d(real))).mean() + torch.log(1 - torch.sigmoid(d(fake))).mean())
        assert float(log) == pytest.approx(float(expected), rel=1e-5)
    assert float(discriminator_loss(d, real, fake, "wasserstein", gp_weight=10.0).detach()) >= float(w)  # GP >= 0


def test_prox_step_gives_exact_zeros_and_keeps_masks_non_negative():
    x = torch.tensor([0.5, 0.05, -0.3, 0.1])
    assert soft_threshold(x, 0.1).tolist() == pytest.approx([0.4, 0.0, -0.2, 0.0])
    assert prox_nonneg_l1(x, 0.1).tolist() == pytest.approx([0.4, 0.0, 0.0, 0.0])
    assert (prox_nonneg_l1(x, 0.1) == 0).sum() == 3  # exact zeros, not small numbers


def test_fista_steps_match_a_hand_computation():
    mask = nn.Parameter(torch.tensor([1.0, 0.02, 0.5]))
    opt = FISTA([mask], lr=0.1, lam=1.0)
    mask.grad = torch.tensor([0.0, 0.5, 20.0])
    opt.step()  # x1 = max(y0 - lr*g - lr*lam, 0); t: 1 -> 1.618, so y1 = x1 + 0 * (x1 - x0) = x1
    assert opt.iterates()[0].tolist() == pytest.approx([0.9, 0.0, 0.0]) and mask.tolist() == pytest.approx([0.9, 0, 0])
    mask.grad = torch.tensor([1.0, 0.0, 0.0])  # the gradient at y1
    opt.step()  # x2 = max(y1 - lr*g - lr*lam, 0); t: 1.618 -> 2.193; y2 = x2 + 0.2818 (x2 - x1)
    t1 = (1 + 5**0.5) / 2
    t2 = (1 + (1 + 4 * t1**2) ** 0.5) / 2
    x2 = 0.9 - 0.1 - 0.1
    assert opt.iterates()[0].tolist() == pytest.approx([x2, 0.0, 0.0])
    assert mask.tolist() == pytest.approx([x2 + (t1 - 1) / t2 * (x2 - 0.9), 0.0, 0.0])  # the extrapolated point
    opt.restart()  # back to the iterate, momentum reset
    assert mask.tolist() == pytest.approx([x2, 0.0, 0.0])


def minimise(objective, x0, lam, steps, **options):
    """Run FISTA on ``objective(s) + lam·||s||_1`` (s >= 0), the gradient taken where the parameter is."""
    s = nn.Parameter(x0.clone())
    opt = FISTA([s], lr=options.pop("lr"), lam=lam, **options)
    for _ in range(steps):
        opt.zero_grad()
        objective(s).backward()
        opt.step()
    return opt.iterates()[0]


def test_fista_reaches_the_closed_form_solution():
    # min ½||s - a||² + λ||s||_1 subject to s >= 0 has the solution max(a - λ, 0).
    a = torch.tensor([2.0, 0.3, -1.0, 0.9, 0.05], dtype=torch.float64)
    exact = torch.clamp(a - 0.5, min=0.0)
    quadratic = lambda s: 0.5 * (s - a).pow(2).sum()  # noqa: E731
    for options in ({}, {"momentum": False}, {"adaptive_restart": True}):
        found = minimise(quadratic, torch.ones(5, dtype=torch.float64), 0.5, 200, lr=0.3, **options)
        torch.testing.assert_close(found, exact, rtol=0, atol=1e-9)
        assert (found[exact == 0] == 0).all()  # exact zeros


def test_fista_is_faster_than_ista_on_an_ill_conditioned_problem():
    # ½||A s - b||² + λ||s||_1 with condition number 1e3: after 100 steps FISTA must be much closer
    # to the optimum (a long ISTA run) than ISTA; a gradient taken at the wrong point is not.
    g = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(20, 20, generator=g, dtype=torch.float64))
    A = q @ torch.diag(torch.logspace(0, -1.5, 20, dtype=torch.float64)) @ q.T
    b = torch.randn(20, generator=g, dtype=torch.float64)
    least_squares = lambda s: 0.5 * (A @ s - b).pow(2).sum()  # noqa: E731
    x0, lam = torch.zeros(20, dtype=torch.float64), 0.01
    optimum = minimise(least_squares, x0, lam, 20_000, lr=1.0, momentum=False)  # ISTA, converged
    value = lambda s: float(least_squares(s) + lam * s.abs().sum())  # noqa: E731
    gap = lambda s: value(s) - value(optimum)  # noqa: E731
    fista = minimise(least_squares, x0, lam, 100, lr=1.0)
    ista = minimise(least_squares, x0, lam, 100, lr=1.0, momentum=False)
    assert -1e-12 <= gap(fista) < gap(ista) / 100  # measured: 6e-5 against 0.066
    assert -1e-12 <= gap(minimise(least_squares, x0, lam, 100, lr=1.0, adaptive_restart=True)) < gap(ista) / 100


def test_fista_without_momentum_is_one_prox_gradient_step():
    mask = nn.Parameter(torch.tensor([1.0, 0.3]))
    mask.grad = torch.tensor([2.0, -1.0])
    FISTA([mask], lr=0.1, lam=0.5, momentum=False).step()
    assert mask.tolist() == pytest.approx([1.0 - 0.2 - 0.05, 0.3 + 0.1 - 0.05])


def test_config_rejects_bad_values():
    with pytest.raises(ToolkitError, match="adversarial"):
        GalConfig(adversarial="hinge")
    with pytest.raises(ToolkitError, match="lam"):
        GalConfig(lam=-1)
    with pytest.raises(ToolkitError, match="retrain"):
        GalConfig(retrain="later")


# ------------------------------------------------------------------------------- mask training


@pytest.fixture(scope="module")
def tiny_baseline(tiny_data):
    """A briefly trained 3-cell network: a real (if weak) teacher whose logits carry signal."""
    config = replace(TINY, epochs=8, lr=0.1, batch_size=12)  # test accuracy well above chance (0.875 here)
    return train_network(DARTS_V2, config, data=tiny_data).model


def zeros_after(baseline, data, lam):
    config = replace(TINY, lam=lam, gal_epochs=3)  # 9 generator updates
    result = train_masks(baseline, config, data, Session(config))
    return sum(v == 0.0 for cell in result.masks for v in cell), result


def test_lambda_zero_prunes_nothing(tiny_baseline, tiny_data):
    zeros, result = zeros_after(tiny_baseline, tiny_data, 0.0)
    assert zeros == 0
    assert kept_from_masks(result.masks) == [(0, 1, 2, 3)] * 3


def test_large_lambda_prunes_more_than_small(tiny_baseline, tiny_data):
    small, _ = zeros_after(tiny_baseline, tiny_data, 10.0)
    large, result = zeros_after(tiny_baseline, tiny_data, 100.0)
    assert large > small
    assert all(v >= 0 for cell in result.masks for v in cell)


def test_mask_training_emits_masks_and_the_four_losses(tiny_baseline, tiny_data):
    seen = []
    config = replace(TINY, gal_epochs=1)
    train_masks(tiny_baseline, config, tiny_data, Session(config, (seen.append,)))
    kinds = [e.kind for e in seen]
    assert kinds[0] == "run_start" and kinds[-1] == "run_end" and "epoch_end" in kinds
    masks = [e for e in seen if e.kind == "masks"]
    assert len(masks) == len([e for e in seen if e.kind == "step"]) == 3  # 120 images / batch 40
    fields = {"d_loss", "adv_loss", "data_loss", "reg_loss", "masks", "kept", "epoch", "step", "steps"}
    assert fields <= set(masks[0].data)
    assert len(masks[0]["masks"]) == 3 and len(masks[0]["masks"][0]) == 4


def test_a_mask_training_epoch_is_at_most_reference_steps_steps(tiny_baseline, tiny_data):
    # The same optimisation per epoch on any data size: digits (23 batches of 64) keeps its full
    # passes; a 10x set (230 batches) takes 23 steps per epoch, at the configured rates.
    config = GalConfig()
    assert config.reference_steps == 23
    assert [epoch_steps(config, n) for n in (1, 10, 23, 24, 230)] == [1, 10, 23, 23, 23]
    seen = []
    short = replace(TINY, gal_epochs=2, reference_steps=2)  # 3 batches of 40 per full pass
    train_masks(tiny_baseline, short, tiny_data, Session(short, (seen.append,)))
    steps = [(e["epoch"], e["step"], e["steps"]) for e in seen if e.kind == "masks"]
    assert steps == [(1, 1, 2), (1, 2, 2), (2, 1, 2), (2, 2, 2)]
    assert [e["steps_per_epoch"] for e in seen if e.kind == "run_start"] == [2]


def test_a_collapsing_mask_run_stops_with_the_lambda_to_try(tiny_baseline, tiny_data, tmp_path):
    # λ = 1e4 zeroes every mask in the first epoch: the masked network is at chance level.
    config = replace(TINY, lam=1e4, gal_epochs=3)
    result = run_gal(None, config, data=tiny_data, baseline=tiny_baseline, run_dir=tmp_path / "run")
    assert result.status == "collapsed" and result.report is None and result.network is None
    assert "collapsed in epoch 1" in result.message and "--lam 2.5e+03" in result.message
    assert len(result.history["gal"]) == 1  # stopped after the epoch that collapsed
    record = json.loads((tmp_path / "run" / "run.json").read_text())
    assert record["status"] == "collapsed" and record["message"] == result.message
    assert not (tmp_path / "run" / "pruned_network.json").exists()


def test_a_sweep_leaves_out_a_collapsed_lambda_with_a_warning(tiny_baseline, tiny_data):
    with pytest.warns(UserWarning, match="λ=10000 left out of the sweep: mask training collapsed"):
        assert lambda_sweep(tiny_baseline, TINY, [1e4], data=tiny_data) == []


def test_collapse_rules():
    config = GalConfig(lam=8.0)
    healthy = {"epoch": 2, "data_loss": 1.0, "constant_loss": 30.0, "val_acc": 0.9, "masks": [[0.0, 0.5], [0.0, 0.0]]}
    assert collapse_message(healthy, config, 10) == ""  # an empty cell alone is allowed (the paper's "None")
    assert "cell(s) 2" in collapse_message({**healthy, "val_acc": 0.1}, config, 10)
    assert "--lam 2" in collapse_message({**healthy, "data_loss": 31.0}, config, 10)
    assert "data loss" in collapse_message({**healthy, "data_loss": float("nan")}, config, 10)


# --------------------------------------------------------------------------------- whole run


def test_run_gal_writes_its_run_files(tmp_path, tiny_data):
    result = run_gal(DARTS_V2, replace(TINY, lam=100.0), data=tiny_data, run_dir=tmp_path / "run")
    assert result.status == "finished"
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"config.json", "masks.json", "pruned_network.json", "report.json", "baseline", "retrain"} <= files
    report = json.loads((tmp_path / "run" / "report.json").read_text())
    assert report["parameters_before"] == count_parameters(result.baseline)
    assert report["parameters_after"] == count_parameters(result.model) < report["parameters_before"]
    assert [r["kept"] for r in report["rows"]] == [list(k) for k in result.keep]
    assert json.loads((tmp_path / "run" / "pruned_network.json").read_text()) == result.network.to_dict()
    assert "kept nodes" in result.report.table() and "pruned" in result.report.summary()


def test_run_gal_prunes_a_given_baseline_and_can_inherit_weights(tiny_baseline, tiny_data):
    config = replace(TINY, lam=30.0, retrain="inherit")
    result = run_gal(None, config, data=tiny_data, baseline=tiny_baseline)
    assert result.report.acc_before is not None and len(result.report.rows) == 3
    assert result.network == prune_network(tiny_baseline.network, result.keep)


def test_inherited_pruned_network_starts_from_the_masked_function_and_reloads(tiny_baseline, tiny_data, tmp_path,
                                                                             monkeypatch):
    import toolkit.gal.run as gal_run

    # Where mask training ends depends on the CPU's float rounding; fix the masks it hands on (some
    # nodes off in every cell, none emptied, the others away from 1) so the test holds everywhere.
    pattern = [[1.2, 0.0, 0.7, 0.9], [0.8, 1.1, 0.0, 0.6], [0.0, 0.9, 1.3, 0.5]]
    real_train_masks = gal_run.train_masks

    def fixed_masks(*args, **kwargs):
        masking = real_train_masks(*args, **kwargs)
        with torch.no_grad():
            for mask, values in zip(mask_parameters(masking.generator), pattern, strict=True):
                mask.copy_(torch.tensor(values))
        return replace(masking, masks=[list(v) for v in pattern], status="finished", message="")

    monkeypatch.setattr(gal_run, "train_masks", fixed_masks)
    config = replace(TINY, lam=30.0, retrain="inherit", epochs=1)
    result = run_gal(None, config, data=tiny_data, baseline=tiny_baseline, run_dir=tmp_path / "run")
    assert result.keep == [(0, 2, 3), (0, 1, 3), (1, 2, 3)]
    start = build_pruned(result.generator, result.keep).eval()
    x = torch.stack([tiny_data.test[i][0] for i in range(8)])
    torch.testing.assert_close(start(x), result.generator.eval()(x), rtol=1e-4, atol=1e-4)
    assert any(c.node_scale is not None for c in result.model.cells)  # the masks (not 1) carried over as scales
    reloaded = load_trained(tmp_path / "run" / "retrain", tiny_data).eval()
    torch.testing.assert_close(reloaded(x), result.model.eval()(x))


def test_run_gal_needs_an_architecture_or_a_baseline():
    with pytest.raises(ToolkitError, match="architecture"):
        run_gal(None, TINY)


def test_attach_masks_accepts_an_initial_value():
    model = EvalNetwork(DARTS_V2.stack(3, (2,)), NetworkSizes(C=4, in_channels=1))
    masks = attach_masks(model, init=0.5)
    assert [m.tolist() for m in masks] == [[0.5] * 4] * 3


# ----------------------------------------------------------------------------------------------- CLI


def prune_args(*argv):
    import argparse

    from toolkit.cli import prune

    parser = argparse.ArgumentParser()
    prune.register(parser.add_subparsers(dest="command"))
    return parser.parse_args(["prune", *argv])


def test_cli_builds_the_config_of_the_documented_command():
    from toolkit.cli.prune import config_from_args

    args = prune_args("gal", "--genotype", "DARTS_V2", "--dataset", "digits", "--lam", "0.5", "--channels", "16",
                      "--cells", "5", "--reductions", "2", "3", "--epochs", "3", "--out", "runs/gal")
    assert config_from_args(args) == GalConfig(dataset="digits", lam=0.5, channels=16, cells=5, reductions=(2, 3),
                                               epochs=3)


def test_cli_rejects_bad_input_with_one_clear_message(tmp_path):
    args = prune_args("gal", "--genotype", "DARTS_V2", "--resume", "--out", str(tmp_path))
    with pytest.raises(ToolkitError, match="holds no prune run"):
        args.func(args)
    args = prune_args("gal", "--out", str(tmp_path / "x"))
    with pytest.raises(ToolkitError, match="--genotype"):
        args.func(args)
    args = prune_args("gal", "--genotype", "DARTS_V2", "--reductions", "9", "--out", str(tmp_path / "y"))
    with pytest.raises(ToolkitError, match="outside cells"):
        args.func(args)
    assert not (tmp_path / "y").exists()  # bad input leaves no run folder behind
    args = prune_args("gal", "--baseline", str(tmp_path), "--out", str(tmp_path / "z"))
    with pytest.raises(ToolkitError, match="not a training run"):
        args.func(args)
