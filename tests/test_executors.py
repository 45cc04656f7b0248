"""Evaluating candidates through executors: the same metrics in this process, a process pool and a
real Dask LocalCluster (same machine, one thread per evaluation), results in spec order, specs and
results that pickle, and one clear error for a scheduler that is not there."""

import pickle
import re
import socket
from concurrent.futures import Executor, Future

import pytest
import torch
from distributed import Client, LocalCluster, default_client

from toolkit import PUBLISHED, CellPair, CellSpec, Genotype, Network, TrainConfig
from toolkit.cli import main
from toolkit.data import load_dataset
from toolkit.errors import ToolkitError
from toolkit.evaluate import TIMING_KEYS, EvalSpec, evaluate, evaluate_all
from toolkit.events import StopSignal
from toolkit.executors import make_executor
from toolkit.train import build_network, train_network

# on the CPU: GPU kernels need not repeat bit for bit between processes
CONFIG = TrainConfig(dataset="digits", epochs=1, channels=4, cells=3, batch_size=256, device="cpu")
HAND_MADE = CellPair(Genotype.from_text("sep_conv_3x3(0)+skip_connect(1) | max_pool_3x3(2)+dil_conv_3x3(1) ; 2,3"),
                     Genotype.from_text("avg_pool_3x3(0)+sep_conv_5x5(1) | skip_connect(2)+max_pool_3x3(1) ; 2,3"))
# cell 3 reads the stem and cell 2 (not the DARTS wiring), so a network description travels as well
WIRED = Network((CellSpec(HAND_MADE.normal, False, (0, 0)), CellSpec(HAND_MADE.reduce, True, (0, 1)),
                 CellSpec(HAND_MADE.normal, False, (0, 2))))


def start_weights() -> dict:
    """A state dict for WIRED built under another seed than the spec's: inherited, not re-created."""
    torch.manual_seed(123)
    data = load_dataset("digits", seed=3)
    return build_network(WIRED, CONFIG, data).state_dict()


def candidates() -> list[EvalSpec]:
    return [EvalSpec(PUBLISHED["DARTS_V2"], CONFIG, seed=0, name="DARTS_V2"),
            EvalSpec(PUBLISHED["PC_DARTS"], CONFIG, seed=1, name="PC_DARTS"),
            EvalSpec(HAND_MADE, CONFIG, seed=2, name="hand-made pair"),
            EvalSpec(WIRED, CONFIG, seed=3, weights=start_weights(), name="wired, inherited", keep_weights=True)]


def comparable(metrics: dict) -> dict:
    """Everything but wall time and the weights (compared bit for bit separately)."""
    return {k: v for k, v in metrics.items() if k not in TIMING_KEYS and k != "weights"}


@pytest.fixture(scope="module")
def sequential():
    return evaluate_all(candidates())


def assert_same(results, sequential):
    assert [r["name"] for r in results] == [s.name for s in candidates()]  # spec order
    assert [comparable(r) for r in results] == [comparable(s) for s in sequential]
    assert set(results[3]["weights"]) == set(sequential[3]["weights"])
    assert all(torch.equal(results[3]["weights"][k], v) for k, v in sequential[3]["weights"].items())


def test_sequential_metrics_are_the_training_run_itself(sequential):
    spec = candidates()[3]
    data = load_dataset("digits", seed=3)
    model = build_network(WIRED, CONFIG, data)
    model.load_state_dict(start_weights())
    threads = torch.get_num_threads()
    torch.set_num_threads(spec.threads)  # the thread count evaluate() trains with, whatever OMP_NUM_THREADS says
    try:
        direct = train_network(WIRED, spec.train_config, data=data, model=model)
    finally:
        torch.set_num_threads(threads)
    metrics = sequential[3]
    assert (metrics["test_acc"], metrics["test_loss"], metrics["parameters"]) == \
           (direct.test_acc, direct.test_loss, direct.parameters)
    assert metrics["epochs"] == 1 and metrics["history"] == direct.history
    assert all(torch.equal(metrics["weights"][k], v) for k, v in direct.model.state_dict().items())
    assert [m["seed"] for m in sequential] == [0, 1, 2, 3]
    assert all(0.0 <= m["test_acc"] <= 1.0 and m["parameters"] > 0 and m["seconds"] > 0 for m in sequential)
    assert sequential[0]["parameters"] != sequential[1]["parameters"]  # four different networks really ran


def test_same_metrics_in_a_process_pool_and_on_a_dask_cluster(sequential):
    with make_executor("process", workers=2) as pool:
        in_pool = evaluate_all(candidates(), pool)
    assert_same(in_pool, sequential)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        on_dask = evaluate_all(candidates(), client.get_executor(pure=False))
    assert_same(on_dask, sequential)


def test_make_executor_starts_a_local_dask_cluster_of_single_thread_workers(sequential):
    with make_executor("dask", workers=2) as executor:
        info = default_client().scheduler_info()
        assert sorted(w["nthreads"] for w in info["workers"].values()) == [1, 1]
        (result,) = evaluate_all(candidates()[:1], executor)
    assert comparable(result) == comparable(sequential[0])


def test_specs_and_results_pickle(sequential):
    for spec in candidates():
        copy = pickle.loads(pickle.dumps(spec))
        assert copy == spec and copy.architecture == spec.architecture
        if spec.weights is not None:
            assert all(torch.equal(copy.weights[k], v) for k, v in spec.weights.items())
    copies = pickle.loads(pickle.dumps(sequential))
    assert [comparable(c) for c in copies] == [comparable(s) for s in sequential]


class ReverseExecutor(Executor):
    """Finishes the submitted calls last to first once ``expected`` have arrived (without training)."""

    def __init__(self, expected: int):
        self.expected, self.calls = expected, []

    def submit(self, fn, /, *args, **kwargs):
        self.calls.append((Future(), args[0]))
        if len(self.calls) == self.expected:
            for future, spec in reversed(self.calls):
                future.set_result({"name": spec.name})
        return self.calls[-1][0]


def test_results_come_back_in_spec_order_whatever_finishes_first():
    specs = candidates()
    seen = []
    results = evaluate_all(specs, ReverseExecutor(len(specs)), on_result=lambda i, m: seen.append((i, m["name"])))
    assert [r["name"] for r in results] == [s.name for s in specs]
    assert sorted(seen) == [(i, s.name) for i, s in enumerate(specs)]  # each once, with its own index


def test_stop_leaves_the_rest_unevaluated():
    stop = StopSignal()
    results = evaluate_all(candidates()[:2], on_result=lambda i, m: stop.stop(), stop=stop)
    assert results[0]["name"] == "DARTS_V2" and results[1] is None


def test_weights_that_do_not_fit_and_bad_specs_are_errors():
    weights = start_weights()
    del weights[next(iter(weights))]
    with pytest.raises(ToolkitError, match="candidate 'x': weights of 'x' do not fit its network \\(missing: "):
        evaluate_all([EvalSpec(WIRED, CONFIG, weights=weights, name="x")])
    with pytest.raises(ToolkitError, match="architecture must be a CellPair or Network"):
        EvalSpec("DARTS_V2", CONFIG)
    with pytest.raises(ToolkitError, match="choose a seed between 0 and 2"):
        EvalSpec(HAND_MADE, CONFIG, seed=-1)
    with pytest.raises(ToolkitError, match="threads must be a positive whole number"):
        EvalSpec(HAND_MADE, CONFIG, threads=0)
    threads = torch.get_num_threads()
    with pytest.raises(ToolkitError, match="spec must be an EvalSpec"):
        evaluate(HAND_MADE)
    assert torch.get_num_threads() == threads


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_and_bad_options_are_one_clear_error(monkeypatch, capsys):
    address = f"tcp://127.0.0.1:{closed_port()}"
    # a refused connection is named as such, or, where Dask's retries outlast the deadline on a busy
    # machine, as an address that did not answer: one line with what to check either way
    unreachable = f"(cannot reach the Dask scheduler at '{address}'|the Dask scheduler at '{address}' did not answer)"
    with pytest.raises(ToolkitError, match=f"{unreachable}.*dask scheduler"):
        with make_executor("dask", scheduler=address, timeout=1):
            pass
    with pytest.raises(ToolkitError, match="needs the dask executor"):
        with make_executor("process", scheduler=address):
            pass
    with pytest.raises(ToolkitError, match="unknown executor 'threads'; choose one of: local, process, dask"):
        with make_executor("threads"):
            pass
    monkeypatch.setattr("toolkit.executors.CONNECT_TIMEOUT", 1)
    code = main(["evaluate", "DARTS_V2", "--quiet", "--executor", "dask", "--scheduler", address])
    err = capsys.readouterr().err
    assert code == 2 and re.match(f"error: {unreachable}", err) and err.count("\n") == 1
    assert "Traceback" not in err


def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)  # as if not installed
    with pytest.raises(ToolkitError, match=r"pip install 'nas-toolkit\[cluster\]'"):
        with make_executor("dask", workers=1):
            pass


def test_cli_evaluates_several_architectures_into_a_table(tmp_path, capsys):
    path = tmp_path / "pair.json"
    path.write_text(__import__("json").dumps(HAND_MADE.to_dict()))
    code = main(["evaluate", "DARTS_V2", str(path), "--dataset", "digits", "--epochs", "1", "--channels", "4",
                 "--cells", "3", "--batch-size", "256", "--device", "cpu", "--quiet"])
    out = capsys.readouterr().out
    assert code == 0, out
    lines = out.splitlines()
    assert lines[0].split() == ["architecture", "parameters", "test", "acc", "test", "loss", "seconds"]
    assert lines[1].startswith("DARTS_V2") and lines[2].startswith(str(path))
    # the table shows what evaluate() returns for the same spec
    expected = evaluate(EvalSpec(PUBLISHED["DARTS_V2"], CONFIG))
    assert lines[1].split()[1:3] == [f"{expected['parameters']:,}", f"{expected['test_acc']:.4f}"]
    assert "2/2 evaluated" in lines[3]


@pytest.mark.parametrize("argv, message", [
    (["NOT_A_CELL"], "no genotype file 'NOT_A_CELL'"),
    (["DARTS_V2", "--scheduler", "tcp://127.0.0.1:1"], "needs the dask executor (--executor dask)"),
    (["DARTS_V2", "--executor", "threads"], "argument --executor: invalid choice"),
    (["DARTS_V2", "--workers", "0"], "expected a number >= 1"),
    (["DARTS_V2", "--dataset", "nope"], "unknown dataset 'nope'"),
])
def test_cli_bad_input_gives_one_error_line(argv, message, capsys):
    code = main(["evaluate", *argv, "--quiet", "--epochs", "1"])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and message in err, err
