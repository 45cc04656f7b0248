"""Partial channel edges (PC-DARTS 'random', ADARTS 'attention'), the step memory meter and a tiny search."""

import pytest
import torch
import torch.nn.functional as F

from toolkit.config import K_VALUES, SearchConfig
from toolkit.data import load_dataset
from toolkit.edges import MixedOp
from toolkit.errors import ToolkitError
from toolkit.memory import SavedTensorMeter, StepMemory
from toolkit.partial import PartialChannelEdge, channel_shuffle, partial_edge, select_channels
from toolkit.search import run_search
from toolkit.space import DARTS_OPS, SearchSpace
from toolkit.supernet import Supernet

SKIP = ("skip_connect",)



ONE = torch.tensor([1.0])  # softmax weight of a single-op edge


def rank_attention(edge: PartialChannelEdge, ranks: list[float]) -> None:
    """Hand-set the MLP so that, for positive inputs, attention of channel c grows with ranks[c].

    w1 averages the channels into every hidden unit; w2 scales that mean by ranks[c]. So
    MLP(f)_c = hidden * mean(f) * ranks[c] (> 0 for positive f) and F_c = sigmoid(2 * that) is
    ordered like ``ranks``.
    """
    C, hidden = edge.C, edge.op_channels
    with torch.no_grad():
        edge.attention.mlp[0].weight.fill_(1.0 / C)
        edge.attention.mlp[2].weight.copy_(torch.tensor(ranks)[:, None].expand(C, hidden) / 10)


def capture_op_input(edge: PartialChannelEdge) -> list[torch.Tensor]:
    seen = []
    edge.mixed.register_forward_pre_hook(lambda module, args: seen.append(args[0].detach().clone()))
    return seen


def test_attention_sends_exactly_the_top_c_over_k_channels_into_the_op():
    edge = PartialChannelEdge(8, 1, SKIP, "attention", k=4)
    rank_attention(edge, [0, 5, 1, 7, 2, 3, 6, 4])  # highest: channel 3 (7), then channel 6 (6)
    seen = capture_op_input(edge)
    x = torch.rand(3, 8, 5, 5) + 0.1
    edge(x, ONE)
    att = edge.last_attention
    assert att.shape == (3, 8)
    assert seen[0].shape == (3, 2, 5, 5)  # C/K = 2 channels enter the op
    assert edge.last_selected.tolist() == [3, 6]
    expected = torch.stack([x[:, 3] * att[:, 3, None, None], x[:, 6] * att[:, 6, None, None]], dim=1)
    assert torch.allclose(seen[0], expected)  # the attention-weighted F' enters (Algorithm 3)


def test_attention_matches_eq7_recomputed_by_hand():
    torch.manual_seed(0)
    edge = PartialChannelEdge(8, 1, SKIP, "attention", k=2)
    x = torch.randn(2, 8, 4, 4)
    edge(x, ONE)
    w1, w2 = edge.attention.mlp[0].weight, edge.attention.mlp[2].weight

    def mlp(f):
        return F.relu(f @ w1.T) @ w2.T

    expected = torch.sigmoid(mlp(x.mean((2, 3))) + mlp(x.amax((2, 3))))
    assert w1.shape == (4, 8)  # hidden layer of C/K units
    assert torch.allclose(edge.last_attention, expected, atol=1e-6)


def test_attention_output_keeps_the_original_channel_order():
    # With only skip_connect the op is the identity, so the output must be F' = F_c * F in the
    # input's channel order, whichever channels were selected.
    edge = PartialChannelEdge(8, 1, SKIP, "attention", k=4)
    rank_attention(edge, [0, 5, 1, 7, 2, 3, 6, 4])
    x = torch.arange(1, 9, dtype=torch.float32)[None, :, None, None].expand(2, 8, 3, 3).clone()
    out = edge(x, ONE)
    assert torch.allclose(out, x * edge.last_attention[:, :, None, None])
    assert edge.last_selected.tolist() == [3, 6]


def test_selection_breaks_ties_by_channel_index_and_averages_over_the_batch():
    att = torch.tensor([[0.1, 0.9, 0.5, 0.5], [0.1, 0.1, 0.5, 0.5]])  # batch mean: .1 .5 .5 .5
    selected, bypassed = select_channels(att, 2)
    assert selected.tolist() == [1, 2] and bypassed.tolist() == [0, 3]


def test_random_mode_uses_the_first_channels_then_shuffles():
    edge = PartialChannelEdge(8, 1, SKIP, "random", k=4)
    seen = capture_op_input(edge)
    x = torch.arange(8, dtype=torch.float32)[None, :, None, None].expand(1, 8, 2, 2).clone()
    out = edge(x, ONE)
    assert torch.equal(seen[0], x[:, :2])
    # concat [x0 x1 | x2..x7] as a 4x2 grid, transposed (PC-DARTS channel_shuffle with K groups)
    assert out[0, :, 0, 0].tolist() == [0, 2, 4, 6, 1, 3, 5, 7]
    assert torch.equal(channel_shuffle(x, 1), x)


@pytest.mark.parametrize("stride", [1, 2])
def test_k1_random_edge_equals_the_plain_darts_edge(stride):
    torch.manual_seed(1)
    plain = MixedOp(8, stride, DARTS_OPS)
    edge = PartialChannelEdge(8, stride, DARTS_OPS, "random", k=1)
    edge.mixed.load_state_dict(plain.state_dict())
    x, w = torch.randn(4, 8, 7, 7), torch.softmax(torch.randn(len(DARTS_OPS)), 0)
    assert torch.equal(edge(x, w), plain(x, w))


def test_k1_random_supernet_equals_the_darts_supernet():
    space = SearchSpace(("skip_connect", "sep_conv_3x3", "max_pool_3x3"), nodes=2)
    torch.manual_seed(2)
    darts = Supernet(space, C=4, cells=3)
    pc = Supernet(space, C=4, cells=3, edge=partial_edge("random", 1))
    plain = darts.state_dict()
    pc.load_state_dict({name: plain[name.replace(".mixed.", ".")] for name in pc.state_dict()})
    x = torch.randn(2, 1, 8, 8)
    assert torch.equal(pc(x), darts(x))


@pytest.mark.parametrize("mode", ["random", "attention"])
@pytest.mark.parametrize(("size", "expected"), [(8, 4), (7, 4), (5, 3), (1, 1)])
def test_reduction_edge_shapes(mode, size, expected):
    edge = PartialChannelEdge(8, 2, DARTS_OPS, mode, k=4)
    out = edge(torch.randn(2, 8, size, size), torch.softmax(torch.randn(len(DARTS_OPS)), 0))
    assert out.shape == (2, 8, expected, expected)


@pytest.mark.parametrize("k", K_VALUES)
def test_c_divisible_by_k_is_enough_for_every_cell(k):
    # Channels double at each reduction, so every cell's C is a multiple of K once the first is;
    # stride-2 edges live in reduction cells (2C/K channels: even, as FactorizedReduce needs).
    C = max(k, 2)
    space = SearchSpace(("skip_connect", "sep_conv_3x3"), nodes=1)
    net = Supernet(space, C=C, cells=3, edge=partial_edge("attention", k), edge_norm=True)
    assert net(torch.randn(2, 1, 7, 7)).shape == (2, 10)
    widths = [cell.edges[0].C for cell in net.cells]
    assert widths == [C, 2 * C, 4 * C] and all(w % k == 0 for w in widths)


def test_bad_k_is_an_error_before_training():
    with pytest.raises(ToolkitError, match="K=4 does not divide"):
        PartialChannelEdge(6, 1, SKIP, "attention", k=4)
    with pytest.raises(ToolkitError, match="K=4 does not divide"):
        Supernet(C=6, cells=3, edge=partial_edge("random", 4))
    with pytest.raises(ToolkitError, match="does not divide"):
        SearchConfig(method="adarts", channels=12, k=8)
    with pytest.raises(ToolkitError, match="positive integer"):
        PartialChannelEdge(8, 1, SKIP, "random", k=0)
    with pytest.raises(ToolkitError, match="unknown partial-channel mode"):
        PartialChannelEdge(8, 1, SKIP, "shuffle", k=2)


def test_gradients_reach_attention_mlp_alpha_and_beta():
    torch.manual_seed(0)
    space = SearchSpace(("skip_connect", "sep_conv_3x3", "avg_pool_3x3"), nodes=2)
    net = Supernet(space, C=4, cells=3, edge=partial_edge("attention", 2), edge_norm=True)
    F.cross_entropy(net(torch.randn(4, 1, 8, 8)), torch.tensor([0, 1, 2, 3])).backward()
    mlp = {n: p for n, p in net.named_parameters() if ".attention.mlp." in n}
    assert mlp and all(p.grad is not None and p.grad.abs().sum() > 0 for p in mlp.values())
    weight_ids = {id(p) for p in net.weight_parameters()}
    arch = {n: p for n, p in net.named_parameters() if n.startswith(("alpha_", "beta_"))}
    assert sorted(arch) == ["alpha_normal", "alpha_reduce", "beta_normal", "beta_reduce"]
    assert all(id(p) in weight_ids for p in mlp.values())  # the MLP is trained with w, not with α
    assert all(p.grad.abs().sum() > 0 for p in arch.values())


def test_saved_tensor_meter_counts_each_storage_once_and_tracks_release():
    lin = torch.nn.Linear(4, 4)
    x = torch.ones(2, 4)
    with SavedTensorMeter(lin) as meter:
        h = lin(x)  # saves x (32 bytes); the weight is the model's, not counted
        y = torch.relu(h)  # saves its output (32 bytes)
        z = (y * y).sum()  # saves y twice: one storage, already counted
        assert meter.live_bytes == 64
        z.backward()
    assert meter.peak_bytes == 64 and meter.live_bytes == 0


def test_partial_channels_cut_saved_activations():
    space = SearchSpace(("skip_connect", "sep_conv_3x3", "avg_pool_3x3"), nodes=2)
    x, y = torch.randn(8, 1, 8, 8), torch.randint(0, 10, (8,))
    peaks = {}
    for k in (1, 4):
        torch.manual_seed(0)
        net = Supernet(space, C=8, cells=3, edge=partial_edge("random", k), edge_norm=True)
        with StepMemory("cpu", net) as meter:
            F.cross_entropy(net(x), y).backward()
        peaks[k] = meter.activation_mb
        assert meter.cuda_peak_mb is None and meter.peak_mb == meter.activation_mb
    assert peaks[4] < 0.6 * peaks[1]


def test_tiny_adarts_search_reports_skip_counts_and_memory():
    data = load_dataset("fake", fake_size=64, fake_image_size=8)
    config = SearchConfig(method="adarts", dataset="fake", epochs=1, channels=4, cells=3, k=2, batch_size=16,
                          space=SearchSpace(("skip_connect", "sep_conv_3x3", "max_pool_3x3"), nodes=2))
    events = []
    result = run_search(config, data=data, listeners=(events.append,))
    record = result.history[0]
    counts = (result.genotype.normal.count("skip_connect"), result.genotype.reduce.count("skip_connect"))
    assert (record["skip_normal"], record["skip_reduce"]) == counts
    end = next(e for e in events if e.kind == "epoch_end")
    assert end["skip_normal"] == counts[0] and end["skip_reduce"] == counts[1]
    steps = [e for e in events if e.kind == "step"]
    assert steps[0]["peak_memory_mb"] > 0 and all(s["peak_memory_mb"] is None for s in steps[1:])
    assert record["activation_mb"] == record["peak_memory_mb"] == steps[0]["peak_memory_mb"]
    assert isinstance(result.model.cells[0].edges[0], PartialChannelEdge)
