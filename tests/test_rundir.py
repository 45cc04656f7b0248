import json
import os

import pytest
import torch

from toolkit import rundir
from toolkit.errors import ToolkitError
from toolkit.rundir import RunDir, atomic_write_json, load_checkpoint, save_checkpoint


def test_a_crash_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    atomic_write_json(target, [1, 2])

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(rundir.os, "replace", crash)
    with pytest.raises(OSError):
        atomic_write_json(target, [1, 2, 3])
    assert json.loads(target.read_text()) == [1, 2]
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]  # no temporary file left behind


def test_written_files_have_normal_permissions(tmp_path):
    atomic_write_json(tmp_path / "a.json", {})
    mode = os.stat(tmp_path / "a.json").st_mode & 0o777
    assert mode & 0o044 == 0o044 or os.umask(0o22) & 0o044  # readable by others unless the umask forbids it


def test_checkpoint_round_trip_with_weights_only(tmp_path):
    state = {"epoch": 3, "w": torch.arange(4.0), "rng": [1, (2, 3), None]}
    save_checkpoint(tmp_path / "c.pt", state)
    loaded = load_checkpoint(tmp_path / "c.pt")
    assert loaded["epoch"] == 3 and torch.equal(loaded["w"], state["w"])


def test_checkpoint_with_arbitrary_objects_is_refused(tmp_path):
    torch.save({"x": object.__new__(RunDir)}, tmp_path / "evil.pt")
    with pytest.raises(ToolkitError, match="corrupt or not a toolkit checkpoint"):
        load_checkpoint(tmp_path / "evil.pt")


def test_resume_needs_a_checkpoint(tmp_path):
    with pytest.raises(ToolkitError, match="cannot resume"):
        RunDir(tmp_path / "nothing", resume=True)
