"""bench/compare.py: its commands, plans and printed tables, without training anything."""

import importlib.util
import json
from pathlib import Path

PATH = Path(__file__).resolve().parents[1] / "bench" / "compare.py"


def load_bench():
    spec = importlib.util.spec_from_file_location("compare_bench", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


BENCH = load_bench()


def digits_row(method, seed, val_acc, test_acc, parameters, seconds):
    return {"method": method, "preset": None, "seed": seed, "search_seconds": seconds, "images": 1536,
            "parameters": parameters, "val_acc": val_acc, "test_acc": test_acc, "eval_seconds": 5.0,
            "run_folder": f"runs/x/{method}-seed{seed}"}


def test_digits_part_names_its_command_and_prints_mean_and_spread(tmp_path, capsys):
    rows = [digits_row("darts", 0, 0.99, 0.98, 40_000, 10.0), digits_row("darts", 1, 0.97, 0.96, 60_000, 14.0),
            digits_row("ts-enas", 0, 0.95, 0.94, 13_000, 3.0)]
    (tmp_path / "digits").mkdir()
    (tmp_path / "digits" / "results.json").write_text(json.dumps(rows))
    BENCH.main(["--part", "digits", "--out", str(tmp_path), "--seeds", "2", "--reuse"])
    out = capsys.readouterr().out
    assert (f"python -m toolkit compare --methods darts pcdarts adarts me-darts ts-enas --dataset digits "
            f"--budget 1600 --seeds 2 --out {tmp_path / 'digits'} --quiet") in out
    assert "| darts | 1 | 1,536 | 14.0 | 60,000 | 0.9700 | 0.9600 |" in out
    assert "| darts | 2 | 0.9800 ± 0.0141 | 0.9700 ± 0.0141 | 50,000 ± 14,142 | 12.0 ± 2.8 |" in out
    assert "| ts-enas | 1 | 0.9500 ± 0.0000 | 0.9400 ± 0.0000 | 13,000 ± 0 | 3.0 ± 0.0 |" in out


def test_digits_dry_run_passes_the_methods_and_executor_and_runs_nothing(tmp_path, capsys):
    BENCH.main(["--part", "digits", "--out", str(tmp_path), "--methods", "darts", "ts-enas", "--executor", "process",
                "--workers", "2", "--dry-run"])
    out = capsys.readouterr().out
    assert "compare --methods darts ts-enas --dataset digits" in out
    assert "--quiet --executor process --workers 2" in out
    assert not (tmp_path / "digits").exists()


def test_scaling_reuse_prints_seconds_and_ratio_to_the_smallest_size(tmp_path, capsys):
    settings = "1 epoch(s) of C=8, 5 cells, batch 64"
    rows = [{"method": "darts", "size": n, "settings": settings, "images": n, "seconds": s}
            for n, s in ((100, 2.0), (400, 5.0), (1600, 17.0))]
    rows += [{"method": "me-darts", "size": n, "settings": "stages", "refused": "stage init: too few"}
             for n in (100, 400)] + [{"method": "me-darts", "size": 1600, "settings": "stages", "images": 6336,
                                      "seconds": 30.0}]
    (tmp_path / "scaling").mkdir()
    (tmp_path / "scaling" / "results.json").write_text(json.dumps(rows))
    BENCH.main(["--part", "scaling", "--out", str(tmp_path), "--reuse"])
    out = capsys.readouterr().out
    assert "| 100 images | 400 images | 1,600 images | 4x / 1x | 16x / 1x |" in out
    assert (f"| darts | {settings} | 2.0 s (100 drawn) | 5.0 s (400 drawn) | 17.0 s (1,600 drawn) | 2.50 | 8.50 |"
            in out)
    assert "| me-darts | stages | refused (too few images per class) | refused (too few images per class) " \
           "| 30.0 s (6,336 drawn) | - | - |" in out
    assert "me-darts at 100 images: stage init: too few" in out


def test_scaling_dry_run_plans_fixed_settings_on_mnist_shaped_data(tmp_path, capsys):
    BENCH.main(["--part", "scaling", "--out", str(tmp_path), "--base", "64", "--dry-run"])
    out = capsys.readouterr().out
    assert "28x28 px, 1 channel, 10 classes, training images 64, 256, 1024" in out
    lines = {line.split(" | ")[0].strip("| "): line for line in out.splitlines() if line.startswith("| ")}
    assert "| 1 epoch(s) of C=8, 5 cells, batch 64 | plans 128 drawn | plans 256 drawn | plans 1,024 drawn |" \
        in lines["darts"]  # one epoch: the images drawn grow with the data
    assert lines["me-darts"].count("refused") == 3  # its final stage samples 120 images per class
    assert "me-darts at 1,024 images: stage final: 1200 training samples" in out
    assert not (tmp_path / "scaling").exists()
