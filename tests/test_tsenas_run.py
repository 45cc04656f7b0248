"""The TS-ENAS loop: events, records, resume per generation, executors, cell-based weight inheritance."""

import json

import pytest
import torch
from distributed import Client, LocalCluster

from toolkit.cli import main
from toolkit.data import load_dataset
from toolkit.errors import ToolkitError
from toolkit.events import StopSignal
from toolkit.genotype import Network
from toolkit.model import EvalNetwork, NetworkSizes, count_parameters
from toolkit.tsenas import (
    TsEnasConfig,
    cell_slots,
    inherit_cells,
    initial_population,
    supernet_network,
    table_ii,
    ts_enas_config,
    write_back,
)
from toolkit.tsenas.run import _Evaluator, _member, _rng, run_ts_enas

TINY = dict(dataset="digits", device="cpu", channels=4, population=3, rough_generations=1, survivors=2,
            fine_generations=1, epochs=1, supernet_epochs=1, n_min=2, n_max=3, batch_size=256)
SIZES = NetworkSizes(C=4, in_channels=1, num_classes=10)


@pytest.fixture(scope="module")
def data():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def finished(tmp_path_factory, data):
    events = []
    folder = tmp_path_factory.mktemp("tsenas") / "run"
    result = run_ts_enas(TsEnasConfig(**TINY), data=data, listeners=[events.append], run_dir=folder)
    return result, events, folder


def outcome(folder):
    gens = sorted(folder.glob("gen_*.json"))
    return ([[(m["id"], m["val_acc"], m["parameters"], m["code"]) for m in json.loads(g.read_text())["population"]]
             for g in gens], json.loads((folder / "network.json").read_text()))


def test_generation_events_and_records(finished):
    result, events, folder = finished
    assert result.status == "finished"
    root = events[0]
    assert root.kind == "run_start" and root["kind"] == "ts-enas" and root.parent is None
    generations = [e for e in events if e.kind == "generation"]
    assert [e["index"] for e in generations] == [0, 1, 2]  # initial, one rough, one fine generation
    assert all(e.run_id == root.run_id for e in generations)
    supernet = next(e for e in events if e.kind == "run_start" and e is not root)
    assert supernet.parent == root.run_id and supernet["kind"] == "train"
    steps = [e for e in events if e.kind == "step" and e.run_id == root.run_id]
    assert len(steps) == 3 + 3 + 2 * 2  # one per evaluated candidate
    for e in generations:
        for m in e["population"]:
            network = Network.from_dict(m["genotype"])
            assert 0.0 <= m["metrics"]["val_acc"] <= 1.0 and "test_acc" not in m["metrics"]
            assert m["metrics"]["N"] == len(network.cells)
            assert m["metrics"]["parameters"] == count_parameters(EvalNetwork(network, SIZES))
    assert [len(e["population"]) for e in generations] == [3, 3, 2]
    assert generations[-1]["population"][0]["metrics"]["stage"] == "fine"
    for name in ("config.json", "space.json", "lineage.json", "network.json", "run.json", "checkpoint.pt"):
        assert (folder / name).is_file(), name
    lineage = json.loads((folder / "lineage.json").read_text())
    assert len(lineage) == 3 + 3 + 4
    for mid, record in lineage.items():
        assert all(p in lineage for p in record["parents"]), mid
    run = json.loads((folder / "run.json").read_text())
    assert run["status"] == "finished" and run["best"]["id"] == result.best["id"]
    assert result.best["val_acc"] == max(m["metrics"]["val_acc"] for m in generations[-1]["population"])
    assert run["best"]["val_acc"] == result.best["val_acc"] and 0.0 <= run["best"]["test_acc"] <= 1.0
    end = events[-1]
    assert end.kind == "run_end" and end["test_acc"] == run["best"]["test_acc"]
    assert end["val_acc"] == result.best["val_acc"]
    assert all("val_acc" in r and "test_acc" not in r for r in lineage.values())  # no member was tested
    for g in sorted(folder.glob("gen_*.json")):
        assert all(m["val_acc"] is not None and "test_acc" not in m for m in json.loads(g.read_text())["population"])


def test_each_candidate_is_announced_as_a_member_when_it_is_evaluated(finished):
    result, events, folder = finished
    members = [e for e in events if e.kind == "member"]
    assert [e["index"] for e in members] == [0] * 3 + [1] * 3 + [2] * 4  # one per evaluated candidate
    lineage = json.loads((folder / "lineage.json").read_text())
    for e in members:
        record = lineage[e["member"]["id"]]
        assert e["member"]["metrics"]["val_acc"] == record["val_acc"] and e["member"]["parents"] == record["parents"]
        assert e["member"]["metrics"]["parameters"] == record["parameters"]
    position = {id(e): i for i, e in enumerate(events)}
    generations = {e["index"]: e for e in events if e.kind == "generation"}
    assert all(position[id(e)] < position[id(generations[e["index"]])] for e in members)  # before selection
    announced = {e["member"]["id"]: e["member"] for e in members}
    for e in generations.values():  # a survivor keeps the metrics announced when it was evaluated
        for m in e["population"]:
            was = announced[m["id"]]
            assert (m["genotype"], m["parents"]) == (was["genotype"], was["parents"])
            assert [m["metrics"][k] for k in ("val_acc", "parameters", "N")] == [
                was["metrics"][k] for k in ("val_acc", "parameters", "N")]


def test_final_network_builds_and_runs(finished, data):
    _, _, folder = finished
    network = Network.from_dict(json.loads((folder / "network.json").read_text()))
    x, _ = next(iter(torch.utils.data.DataLoader(data.test, batch_size=5)))
    net = EvalNetwork(network, SIZES).eval()
    assert net(x).shape == (5, 10)


def test_resume_after_a_generation_equals_the_uninterrupted_run(finished, tmp_path, data):
    _, _, uninterrupted = finished
    stop = StopSignal()

    def stop_after_first(event):
        if event.kind == "generation" and event["index"] == 0:
            stop.stop()

    folder = tmp_path / "run"
    first = run_ts_enas(TsEnasConfig(**TINY), data=data, listeners=[stop_after_first], stop=stop, run_dir=folder)
    assert first.status == "stopped" and len(first.generations) == 1
    assert json.loads((folder / "run.json").read_text())["status"] == "stopped"
    with pytest.raises(ToolkitError, match="already exists"):
        run_ts_enas(TsEnasConfig(**TINY), data=data, run_dir=folder)
    resumed = run_ts_enas(None, data=data, run_dir=folder, resume=True)
    assert resumed.status == "finished" and len(resumed.generations) == 3
    assert outcome(folder) == outcome(uninterrupted)


def tiny_generation(data):
    config = TsEnasConfig(**TINY)
    space = table_ii()
    codes = initial_population(space, 3, 2, 3, _rng(0, 0))
    members = [_member(f"g0-{i}", 0, "rough", c, [g[2] for g in c.genes], c.decode(space), [], "initial")
               for i, c in enumerate(codes)]
    network, slots = supernet_network(space, 1)
    return config, space, members, slots


def test_a_generation_gives_the_same_metrics_in_process_and_on_a_dask_cluster(data):
    from toolkit.engine import event_bus

    config, space, members, slots = tiny_generation(data)
    results = []
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        for executor in (None, client.get_executor(pure=False)):
            evaluator = _Evaluator(config, space, data, executor, event_bus(), StopSignal())
            supernet = evaluator.build(supernet_network(space, 1)[0], 0)
            batch = [dict(m) for m in members]
            weights = evaluator(batch, 0, supernet, slots)
            results.append(([(m["val_acc"], m["parameters"]) for m in batch], weights))
    (local, w_local), (dask, w_dask) = results
    assert local == dask
    for mid in w_local:
        assert all(torch.equal(w_local[mid][k], w_dask[mid][k]) for k in w_local[mid])


def test_inherited_weights_are_bit_identical_to_the_supernet():
    space = table_ii()
    network, slots = supernet_network(space, 1)
    torch.manual_seed(0)
    supernet = EvalNetwork(network, SIZES)
    source = supernet.state_dict()
    for code in initial_population(space, 5, 3, 4, _rng(1, 0)):
        target = EvalNetwork(code.decode(space), SIZES)
        codes = [g[2] for g in code.genes]
        report = inherit_cells(target, supernet, codes, space, slots)
        state = target.state_dict()
        for copied in report.copied:
            assert torch.equal(state[copied.target], source[copied.source]), copied
        for k, slot in enumerate(cell_slots(codes, space)):
            ops = [c for c in report.copied if c.target.startswith(f"cells.{k}.ops.")]
            assert all(c.source.startswith(f"cells.{slots[slot] - 1}.ops.") for c in ops)
            own = [n for n in state if n.startswith(f"cells.{k}.ops.")]
            assert sorted(c.target for c in ops) == sorted(own)  # every op tensor of every cell (DartsRC has none)
        assert report.copied
        assert all("preprocess" in s.target or s.target.startswith("classifier") for s in report.skipped)


def test_write_back_copies_the_best_cells_into_their_slots():
    space = table_ii()
    network, slots = supernet_network(space, 1)
    supernet = EvalNetwork(network, SIZES)
    best, second = (EvalNetwork(c.decode(space), SIZES) for c in
                    initial_population(space, 2, 3, 3, _rng(2, 0)))
    codes = [[g[2] for g in c.genes] for c in initial_population(space, 2, 3, 3, _rng(2, 0))]
    updated = write_back(supernet, [(best, codes[0]), (second, codes[1])], space, slots)
    first = list(dict.fromkeys(cell_slots(codes[0], space)))
    assert updated[:len(first)] == first and len(set(updated)) == len(updated)
    sn, b = supernet.state_dict(), best.state_dict()
    for k, slot in enumerate(cell_slots(codes[0], space)):
        if cell_slots(codes[0], space).index(slot) != k:
            continue  # a code repeated at one level: its first cell wrote it
        for name, tensor in b.items():
            if name.startswith(f"cells.{k}.ops."):
                assert torch.equal(sn[name.replace(f"cells.{k}.", f"cells.{slots[slot] - 1}.", 1)], tensor)


def test_config_presets_and_validation():
    paper = ts_enas_config("paper")
    assert (paper.population, paper.rough_generations, paper.survivors, paper.fine_generations) == (100, 100, 30, 50)
    assert (paper.crossover_rate, paper.mutation_rate, paper.supernet_epochs, paper.epochs) == (0.8, 0.2, 100, 10)
    small = ts_enas_config("cpu-small")
    assert small.population < paper.population and small.epochs < paper.epochs
    for bad, match in ((dict(survivors=5, population=3), "survivors"), (dict(n_min=4, n_max=3), "N_min"),
                       (dict(crossover_rate=1.5), "crossover_rate"), (dict(population=2.5), "population"),
                       (dict(channels=5), "channels")):
        with pytest.raises(ToolkitError, match=match):
            ts_enas_config("cpu-small", **bad)


def test_cli_runs_both_stages_and_adds_a_searched_cell(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["search", "ts-enas", "--dataset", "digits", "--preset", "cpu-small", "--population", "2",
            "--rough-generations", "1", "--survivors", "1", "--fine-generations", "1", "--supernet-epochs", "1",
            "--n-min", "2", "--n-max", "2", "--batch-size", "256", "--device", "cpu", "--quiet", "--out", str(out)]
    assert main([*args, "--cells", "PC_DARTS"]) == 0
    printed = capsys.readouterr().out
    assert "finished: best" in printed and "validation accuracy" in printed and "test accuracy" in printed
    space = json.loads((out / "space.json").read_text())
    assert [c["name"] for c in space["cells"]][-2:] == ["PC_DARTS-normal", "PC_DARTS-reduce"]
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "TS-ENAS" in shown and "best network so far" in shown
    assert "generations done: 2 after the initial population (last: fine stage)" in shown
    assert main([*args[:-1], str(tmp_path / "bad"), "--cells", "nope"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "nope" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())


@pytest.mark.parametrize("levels", [0, 1, 2])
def test_supernet_holds_every_cell_once_per_level_on_a_path_to_the_classifier(levels):
    space = table_ii()
    network, slots = supernet_network(space, levels)
    assert sorted(slots) == sorted({(c, r) for c in space.normal_codes for r in range(levels + 1)}
                                   | {(c, r) for c in space.reduce_codes for r in range(levels)})
    assert sorted(slots.values()) == list(range(1, len(network.cells) + 1))
    reached, todo = set(), [len(network.cells)]
    while todo:
        k = todo.pop()
        if k and k not in reached:
            reached.add(k)
            todo.extend(network.cells[k - 1].inputs)
    assert reached == set(range(1, len(network.cells) + 1))  # every cell feeds the classifier
    net = EvalNetwork(network, SIZES)
    for (code, level), k in slots.items():
        reduction = space.cell(code).reduction
        assert net.cells[k - 1].C_out == SIZES.C * 2 ** (level + reduction)  # add cells output C channels
