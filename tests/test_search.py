import json

import pytest
import torch

from toolkit.config import SearchConfig
from toolkit.errors import ToolkitError
from toolkit.genotype import CellPair
from toolkit.search import run_search
from toolkit.space import SearchSpace

TINY = SearchConfig(dataset="fake", epochs=2, channels=4, cells=3, batch_size=32,
                    space=SearchSpace(("skip_connect", "sep_conv_3x3", "max_pool_3x3"), nodes=2))


def test_events_arrive_in_order_with_snapshots():
    events = []
    result = run_search(TINY, listeners=[events.append])
    kinds = [e.kind for e in events]
    assert kinds[0] == "run_start" and kinds[-1] == "run_end"
    assert kinds.count("epoch_end") == 2 and kinds.count("step") == 2 * events[0]["steps_per_epoch"]
    end = [e for e in events if e.kind == "epoch_end"][-1]
    assert len(end["alphas"]["normal"]) == 5 and len(end["alphas"]["normal"][0]) == 3
    assert abs(sum(end["alphas"]["normal"][0]) - 1) < 1e-5
    assert CellPair.from_dict(end["genotype"]) == result.genotype
    assert end["skip_normal"] == result.genotype.normal.count("skip_connect")
    with pytest.raises(TypeError):
        end.data["val_acc"] = 1.0  # listeners get read-only snapshots
    assert result.status == "finished" and len(result.history) == 2


def test_same_seed_same_genotype_and_curves():
    a, b = run_search(TINY), run_search(TINY)
    assert a.genotype == b.genotype
    assert [h["train_loss"] for h in a.history] == [h["train_loss"] for h in b.history]
    assert torch.equal(a.model.alpha_normal, b.model.alpha_normal)


def stop_at_start_of(epoch, signal_holder):
    def listener(event):
        if event.kind == "epoch_start" and event["epoch"] == epoch:
            signal_holder["stop"].stop()
    return listener


def test_stop_leaves_a_checkpoint_and_resume_finishes_identically(tmp_path):
    from toolkit.events import StopSignal

    full = run_search(TINY)
    holder = {"stop": StopSignal()}
    # Stop is checked before each step: a stop as epoch 2 starts ends the run before its first step...
    stopped = run_search(TINY, stop=holder["stop"], listeners=[stop_at_start_of(2, holder)], run_dir=tmp_path / "run")
    assert stopped.status == "stopped" and len(stopped.history) == 1
    assert json.loads((tmp_path / "run" / "run.json").read_text())["status"] == "stopped"
    resumed = run_search(TINY, run_dir=tmp_path / "run", resume=True)
    assert resumed.status == "finished" and len(resumed.history) == 2
    # ...and epoch 2 is replayed from its start with the saved random state: same result as no stop.
    assert resumed.genotype == full.genotype
    assert torch.allclose(resumed.model.alpha_normal, full.model.alpha_normal)
    files = {p.name for p in (tmp_path / "run").iterdir()}
    assert {"config.json", "metrics.json", "alphas.json", "genotype.json", "checkpoint.pt", "run.json"} <= files
    assert len(json.loads((tmp_path / "run" / "alphas.json").read_text())) == 2


def test_existing_run_folder_is_never_overwritten(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "metrics.json").write_text("precious")
    with pytest.raises(ToolkitError, match="already exists"):
        run_search(TINY, run_dir=run)
    assert (run / "metrics.json").read_text() == "precious"


def test_corrupt_checkpoint_is_a_clear_error(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "checkpoint.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ToolkitError, match="corrupt"):
        run_search(TINY, run_dir=run, resume=True)


def test_second_order_search_runs():
    result = run_search(SearchConfig(**{**TINY.to_dict(), "space": TINY.space, "epochs": 1, "order": 2}))
    assert result.status == "finished" and result.history[0]["val_acc"] >= 0
