"""The ME-DARTS population loop on a tiny plan: stage settings reach every search, α is inherited
exactly, crossover children carry the right parents, a Dask cluster and a resumed run give the
sequential result, the generation events carry the front, and the CLI runs and refuses bad input."""

import dataclasses
import json
import math

import pytest
import torch
from distributed import Client, LocalCluster

import toolkit.medarts.run as medarts_run
from toolkit.cli import main
from toolkit.config import SearchConfig, TrainConfig
from toolkit.data import load_dataset
from toolkit.errors import ToolkitError
from toolkit.events import StopSignal
from toolkit.executors import InlineExecutor
from toolkit.genotype import CellPair
from toolkit.medarts import (
    Individual,
    MeDartsConfig,
    Stage,
    StagePlan,
    non_dominated_fronts,
    objectives,
    para_aug,
    run_me_darts,
    stage_plan,
)
from toolkit.methods import METHODS
from toolkit.train import build_network

TINY = StagePlan(
    Stage("init", cells=3, channels=4, epochs=1, train_samples=100, population=2, batch_size=16),
    Stage("mid", cells=4, channels=4, epochs=1, train_samples=100, population=4, parents=2, batch_size=16),
    Stage("final", cells=5, channels=4, epochs=2, train_samples=200, population=1, parents=1, batch_size=32),
)
CONFIG = MeDartsConfig(SearchConfig(dataset="digits", device="cpu", seed=3), stages=TINY)


def comparable(result) -> list:
    """What must agree between runs: per stage, each member's α, metrics and genotype; front; selection."""
    return [(r["pareto_front"], r["selected"],
             [(m["id"], m["parents"], m["individual"], m["metrics"], m["genotype"]) for m in r["members"]])
            for r in result.stages]


@pytest.fixture(scope="module")
def recorded():
    """An uninterrupted run, its events and what each search was handed (config, data, α before the search)."""
    calls, events = [], []
    original = medarts_run.run_search

    def spy(config, *, data, model, session):
        calls.append({"config": config, "train": len(data.train), "size": data.image_size,
                      "image": tuple(data.train[0][0].shape), "alpha": Individual.from_supernet(model, "x")})
        return original(config, data=data, model=model, session=session)

    medarts_run.run_search = spy
    try:
        result = run_me_darts(CONFIG, listeners=(events.append,))
    finally:
        medarts_run.run_search = original
    return result, calls, events


def test_every_search_gets_its_stage_settings(recorded):
    result, calls, _ = recorded
    stages = [stage for stage in TINY for _ in range(stage.population)]
    assert len(calls) == len(stages) == 7
    for call, stage in zip(calls, stages):
        cfg = call["config"]
        assert (cfg.cells, cfg.channels, cfg.epochs, cfg.batch_size) == (stage.cells, stage.channels, stage.epochs,
                                                                        stage.batch_size)
        assert call["train"] == stage.train_samples  # D_sample: 10 or 20 per class of digits' 10 classes
        assert call["size"] == 4 and call["image"] == (1, 4, 4)  # D_low: 8x8 -> 4x4
    assert [c["config"].seed for c in calls[:2]] == [3, 4]  # init individuals start from different seeds
    assert calls[0]["alpha"].alpha_normal != calls[1]["alpha"].alpha_normal


def test_selected_and_crossed_alpha_is_copied_exactly_into_the_deeper_supernets(recorded):
    result, calls, _ = recorded
    init, mid, final = result.stages
    searched = {m["id"]: Individual.from_dict(m["individual"]) for r in result.stages for m in r["members"]}
    given = dict(zip([m["id"] for r in result.stages for m in r["members"]], (c["alpha"] for c in calls)))
    first, second = (searched[name] for name in init["selected"])
    assert given["mid-0"].alpha_normal == first.alpha_normal and given["mid-0"].alpha_reduce == first.alpha_reduce
    assert given["mid-1"].alpha_normal == second.alpha_normal
    # the crossover children: (normal1, reduce2) and (normal2, reduce1)
    assert (given["mid-2"].alpha_normal, given["mid-2"].alpha_reduce) == (first.alpha_normal, second.alpha_reduce)
    assert (given["mid-3"].alpha_normal, given["mid-3"].alpha_reduce) == (second.alpha_normal, first.alpha_reduce)
    winner = searched[mid["selected"][0]]
    assert given["final-0"].alpha_normal == winner.alpha_normal and given["final-0"].alpha_reduce == winner.alpha_reduce
    assert torch.equal(given["final-0"].alpha("normal"), winner.alpha("normal"))
    # the search moved α: what a stage hands on is the searched α, not the one it was given
    assert searched["mid-0"].alpha_normal != given["mid-0"].alpha_normal


def test_lineage_names_the_parents_of_every_individual(recorded, tmp_path):
    result, _, _ = recorded
    init, mid, _ = result.stages
    assert result.lineage["mid-0"] == [init["selected"][0]] and result.lineage["mid-1"] == [init["selected"][1]]
    assert result.lineage["mid-2"] == result.lineage["mid-3"] == init["selected"]
    assert result.lineage["final-0"] == [mid["selected"][0]]
    assert result.lineage["init-0"] == result.lineage["init-1"] == []


def test_fronts_selection_and_generation_events(recorded):
    result, _, events = recorded
    generations = [e for e in events if e.kind == "generation"]
    assert [g["index"] for g in generations] == [1, 2, 3]
    for event, record in zip(generations, result.stages):
        members = event["population"]
        points = objectives([m["metrics"]["val_acc"] for m in members], [m["metrics"]["para_aug"] for m in members])
        assert event["pareto_front"] == [members[i]["id"] for i in non_dominated_fronts(points)[0]]
        for member in members:
            assert 0.0 <= member["metrics"]["val_acc"] <= 1.0
            cells = CellPair.from_dict(member["genotype"])
            assert member["metrics"]["para_aug"] == para_aug(cells, 10, 1, CONFIG.eval_cells, CONFIG.eval_channels)
        assert [m["id"] for m in members] == [m["id"] for m in record["members"]]
    root = events[0]
    assert root.kind == "run_start" and root["kind"] == "me-darts" and root.parent is None
    steps = [e for e in events if e.kind == "step"]
    assert root["total_steps"] == len(steps) > 0
    stages = [e for e in events if e.kind == "run_start" and e["kind"] == "stage"]
    assert [e.parent for e in stages] == [root.run_id] * 3 and [e["total_steps"] for e in stages] == [8, 16, 8]
    searches = [e for e in events if e.kind == "run_start" and e["kind"] == "search"]
    assert [e.parent for e in searches] == [stages[0].run_id] * 2 + [stages[1].run_id] * 4 + [stages[2].run_id]
    assert events[-1].kind == "run_end" and events[-1]["status"] == "finished"


def test_each_member_is_announced_with_its_metrics_when_its_search_ends(recorded):
    result, _, events = recorded
    members = [e for e in events if e.kind == "member"]
    assert [(e["index"], e["member"]["id"]) for e in members] == [
        (r["index"], m["id"]) for r in result.stages for m in r["members"]]
    for event in members:
        record = next(m for m in result.stages[event["index"] - 1]["members"] if m["id"] == event["member"]["id"])
        assert event["member"]["metrics"] == {k: record["metrics"][k] for k in ("val_acc", "para_aug")}
        assert event["member"]["genotype"] == record["genotype"] and event["member"]["parents"] == record["parents"]
    # on the stage's run, after the member's search ended and before its stage (and its front) ended
    position = {id(e): i for i, e in enumerate(events)}
    stages = [e for e in events if e.kind == "run_start" and e["kind"] == "stage"]
    generations = [e for e in events if e.kind == "generation"]
    for event in members:
        stage = stages[event["index"] - 1]
        assert event.run_id == stage.run_id
        searched = next(e for e in events if e.kind == "run_end" and e.parent == stage.run_id
                        and e.run_id.split("/")[-1].startswith(event["member"]["id"] + "#"))
        assert position[id(searched)] < position[id(event)] < position[id(generations[event["index"] - 1])]


def test_final_genotype_validates_and_is_the_final_individual(recorded):
    result, _, _ = recorded
    assert result.status == "finished" and isinstance(result.genotype, CellPair)
    assert CellPair.from_dict(result.genotype.to_dict()) == result.genotype
    assert result.genotype == Individual.from_dict(result.final["individual"]).genotype()
    ops = set(CONFIG.search.space.ops)
    assert all(op in ops for cell in (result.genotype.normal, result.genotype.reduce) for _, op, _ in cell.edges)
    data = load_dataset("digits", seed=3)  # the full data, for evaluation: the genotype builds and runs
    network = build_network(result.genotype, TrainConfig(channels=4, cells=3, dataset="digits"), data)
    x = torch.stack([data.test[i][0] for i in range(4)])
    assert network.eval()(x).shape == (4, 10)


def test_a_dask_cluster_gives_the_sequential_result(recorded):
    sequential = recorded[0]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        events = []
        on_dask = run_me_darts(CONFIG, executor=client.get_executor(pure=False), listeners=(events.append,))
    assert comparable(on_dask) == comparable(sequential)
    assert on_dask.genotype == sequential.genotype
    ended = [e for e in events if e.kind == "run_end" and e.run_kind == "search"]
    assert len(ended) == 7  # each member announced when it came back
    assert sorted(e["member"]["id"] for e in events if e.kind == "member") == sorted(  # in the order they return
        m["id"] for r in sequential.stages for m in r["members"])


def test_stop_after_a_stage_and_resume_gives_the_uninterrupted_result(recorded, tmp_path):
    stop = StopSignal()
    out = tmp_path / "run"

    def stop_after_first_stage(event):
        if event.kind == "generation":
            stop.stop()

    first = run_me_darts(CONFIG, run_dir=out, stop=stop, listeners=(stop_after_first_stage,))
    assert first.status == "stopped" and len(first.stages) == 1 and first.genotype is None
    assert json.loads((out / "run.json").read_text())["status"] == "stopped"
    assert not (out / "stage_2.json").exists() and not (out / "genotype.json").exists()
    events = []
    resumed = run_me_darts(CONFIG, run_dir=out, resume=True, listeners=(events.append,))
    assert comparable(resumed) == comparable(recorded[0]) and resumed.genotype == recorded[0].genotype
    assert [e["index"] for e in events if e.kind == "generation"] == [2, 3]  # stage 1 was read back
    assert events[0]["total_steps"] == sum(1 for e in events if e.kind == "step")
    assert CellPair.from_dict(json.loads((out / "genotype.json").read_text())) == resumed.genotype
    assert json.loads((out / "lineage.json").read_text()) == recorded[0].lineage
    with pytest.raises(ToolkitError, match=r"was started with search\.seed=3, .* this call says search\.seed=4"):
        run_me_darts(MeDartsConfig(SearchConfig(dataset="digits", seed=4), stages=TINY), run_dir=out, resume=True)


def test_config_checks_and_round_trip():
    assert MeDartsConfig.from_dict(json.loads(json.dumps(CONFIG.to_dict()))) == CONFIG
    assert MeDartsConfig().stages == stage_plan("cpu-small") and MeDartsConfig(preset="paper").stages.final.epochs == 15
    with pytest.raises(ToolkitError, match="preset 'big'"):
        MeDartsConfig(preset="big")
    with pytest.raises(ToolkitError, match="stage init: K=4 does not divide the 6 channels"):
        MeDartsConfig(SearchConfig(method="pcdarts"), stages=TINY.scaled(channels=6))
    with pytest.raises(ToolkitError, match="eval_cells"):
        MeDartsConfig(eval_cells=1)
    with pytest.raises(ToolkitError, match="drop data= or the executor"):
        run_me_darts(CONFIG, data=load_dataset("digits", seed=3), executor=InlineExecutor())
    with pytest.raises(ToolkitError, match="at most 1390"):
        run_me_darts(MeDartsConfig(SearchConfig(dataset="digits"), preset="paper"))


def test_cli_runs_all_stages_and_refuses_bad_input(tmp_path, capsys, monkeypatch):
    entry = METHODS["me-darts"]  # the registry holds the stage plans: a tiny cpu-small for this test
    tiny = {"stages": TINY.scaled(epochs=1, train_samples=100).to_dict()}
    monkeypatch.setitem(METHODS, "me-darts", dataclasses.replace(entry, presets={**entry.presets, "cpu-small": tiny}))
    out = tmp_path / "md"
    code = main(["search", "me-darts", "--edge", "pcdarts", "--quiet", "--out", str(out)])
    text = capsys.readouterr().out
    assert code == 0 and "finished: final individual final-0" in text and "lineage.json" in text
    assert {p.name for p in out.iterdir()} >= {"config.json", "stage_1.json", "stage_2.json", "stage_3.json",
                                                "lineage.json", "genotype.json", "run.json"}
    stage = json.loads((out / "stage_1.json").read_text())
    assert stage["members"][0]["individual"]["beta_normal"] is not None  # PC-DARTS' β travels with α
    assert not math.isnan(stage["members"][0]["metrics"]["val_acc"])
    assert main(["show", str(out)]) == 0
    shown = capsys.readouterr().out
    assert "ME-DARTS" in shown and "stage 3 final: 1 members" in shown and "Pareto front" in shown, shown
    for argv, message in [
        (["--epochs", "3"], "--epochs is set per stage"),
        (["--preset", "pcdarts:paper"], "belongs to pcdarts"),
        (["--preset", "huge"], "no preset 'huge'"),
        (["--preset", "paper"], "use at most 1390"),
        (["--executor", "nope"], "invalid choice"),
    ]:
        code = main(["search", "me-darts", *argv, "--out", str(tmp_path / "bad")])
        err = capsys.readouterr().err
        assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and message in err, err
        assert not (tmp_path / "bad").exists()
    code = main(["search", "darts", "--edge", "adarts", "--out", str(tmp_path / "bad")])
    assert code == 2 and "applies to me-darts" in capsys.readouterr().err
