"""The search methods side by side on digits, and their search time as the data grows.

Usage:
    python bench/compare.py --part digits [--budget 1600] [--seeds 3] [--methods ...] [--out runs/bench-compare]
                            [--executor process --workers 2] [--reuse] [--dry-run]
    python bench/compare.py --part scaling [--base 128] [--methods ...] [--jobs 1] [--out runs/bench-compare]
                            [--reuse] [--dry-run]

The methods are those ``python -m toolkit compare`` accepts: every registry method that searches an
architecture from scratch (DARTS, PC-DARTS, ADARTS, ME-DARTS, TS-ENAS). DARTS-GAL prunes a given
network instead of searching one, so it has no row here (prune the winner with
``python -m toolkit prune gal``). DARTS runs first order (its default); the second-order
variant is the ``darts:paper`` preset, which also brings the paper's network (8 cells, C=16), far
more than these budgets on a CPU, so it is left out.

``--part digits`` runs one command (as a subprocess, with this checkout on ``PYTHONPATH``)::

    python -m toolkit compare --methods darts pcdarts adarts me-darts ts-enas --dataset digits \\
        --budget B --seeds S --out <out>/digits --quiet

which scales each method's base settings to B training images per search (the smallest budget
at which every method gets at least one epoch on digits is 1,600; ME-DARTS' and TS-ENAS' smallest
``cpu-small`` runs draw more, and the images column says so), trains every found architecture the
same way, and writes ``results.json``; this script prints its rows and each method's mean ± standard
deviation over the seeds.

``--part scaling`` times each method's search on the ``fake`` data set shaped like MNIST (28x28 px,
1 channel, 10 classes) with ``base``, 4 x ``base`` and 16 x ``base`` training images. Every method
runs the smallest run of the base settings compare starts from (``toolkit.compare.scaled(config, 0)``:
one search epoch, one epoch per ME-DARTS stage, one TS-ENAS SuperNet epoch with population 3 and no
further generations), the same at every size, so a method's time grows with the images it reads.
Each (method, size) runs in a fresh process; its seconds are those of the method's run call (not
the data generation or the imports). ME-DARTS' and TS-ENAS' ``cpu-small`` presets search
class-balanced subsets at 8x8 px, so their cost stops growing once the data holds those subsets,
and ME-DARTS refuses data with fewer images per class than its stages sample (the table says so).
No final training: only the search is timed.

Both parts write ``results.json`` into their folder under ``--out``; ``--reuse`` reprints it
without running anything, ``--dry-run`` prints the plan only. ``--jobs 2`` times two scaling cells
at a time (each with one torch thread), so their seconds are then under load.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # this checkout's toolkit, wherever the script is started from

METHODS = ("darts", "pcdarts", "adarts", "me-darts", "ts-enas")
FACTORS = (1, 4, 16)
SHAPE = {"fake_image_size": 28, "fake_channels": 1, "fake_classes": 10}  # MNIST's shape


def machine() -> str:
    """The CPU model and the load averages now (1, 5, 15 min), for the numbers printed beside them."""
    info = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    model = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), "unknown CPU")
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{model}, {os.cpu_count()} cores, load average {load}"


# ------------------------------------------------------------------------------------------- digits
def digits_command(args, folder: Path) -> list[str]:
    """The compare command of the digits part."""
    command = ["-m", "toolkit", "compare", "--methods", *args.methods, "--dataset", "digits", "--budget",
               str(args.budget), "--seeds", str(args.seeds), "--out", str(folder), "--quiet"]
    if args.executor != "local":
        command += ["--executor", args.executor, "--workers", str(args.workers)]
    return command


def run_digits(args, folder: Path) -> list[dict]:
    """Run (unless reused) the comparison and return its rows (``results.json``); a stopped comparison in
    ``folder`` is continued (``--resume``), its finished rows kept."""
    command = digits_command(args, folder)
    print("python " + " ".join(command))
    if args.dry_run:
        return []
    if not (args.reuse and (folder / "results.json").is_file()):
        command += ["--resume"] if (folder / "compare.json").is_file() else []
        env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        start = time.perf_counter()
        subprocess.run([sys.executable, *command], check=True, env=env, cwd=ROOT)
        print(f"wall time {time.perf_counter() - start:.0f} s; {machine()}")
    return json.loads((folder / "results.json").read_text())


def print_digits(rows: list[dict]) -> None:
    """The rows as a markdown table, then each method's mean ± standard deviation over its seeds."""
    from toolkit.compare import summary

    print("\n| method | seed | images planned | search s | parameters | val acc | test acc |\n" + "|---" * 7 + "|")
    for r in rows:
        print(f"| {r['method']} | {r['seed']} | {r['images']:,} | {r['search_seconds']:.1f} | {r['parameters']:,} "
              f"| {r['val_acc']:.4f} | {r['test_acc']:.4f} |")
    print("\n| method | runs | val acc mean ± std | test acc mean ± std | parameters mean ± std | search s mean ± std |"
          "\n|---|---|---|---|---|---|")
    for s in summary(rows):
        print(f"| {s['method']} | {s['runs']} | {s['val_acc']:.4f} ± {s['val_acc_std']:.4f} | {s['test_acc']:.4f} ± "
              f"{s['test_acc_std']:.4f} | {s['parameters']:,.0f} ± {s['parameters_std']:,.0f} | "
              f"{s['search_seconds']:.1f} ± {s['search_seconds_std']:.1f} |")


# ------------------------------------------------------------------------------------------ scaling
def cell_config(method: str):
    """The fixed settings a method's search runs at every size: the smallest run of compare's base settings."""
    from toolkit.compare import base_config, scaled

    return scaled(base_config(method, "fake", "data", 0), 0)


def plan_cell(method: str, size: int) -> dict:
    """A scaling cell's settings and planned training images, or why the method refuses this data."""
    from toolkit.compare import describe, planned_images
    from toolkit.data import load_dataset
    from toolkit.errors import ToolkitError

    config = cell_config(method)
    row = {"method": method, "size": size, "settings": describe(config)}
    try:
        row["images"] = planned_images(config, load_dataset("fake", fake_size=size, **SHAPE))
    except ToolkitError as error:
        row["refused"] = str(error)
    return row


def time_cell(method: str, size: int, folder: str) -> dict:
    """Run one method's search on ``size`` MNIST-shaped fake images; the row with its seconds."""
    import shutil

    import torch

    from toolkit.data import load_dataset
    from toolkit.methods import get_method

    torch.set_num_threads(1)
    row = plan_cell(method, size)
    if "refused" not in row:
        data = load_dataset("fake", fake_size=size, **SHAPE)
        shutil.rmtree(Path(folder) / "search", ignore_errors=True)  # an interrupted earlier try
        start = time.perf_counter()
        result = get_method(method).run(cell_config(method), data=data, run_dir=Path(folder) / "search")
        row.update(seconds=round(time.perf_counter() - start, 2), status=result.status)
    row["load"] = round(os.getloadavg()[0], 2)
    Path(folder).mkdir(parents=True, exist_ok=True)
    (Path(folder) / "timing.json").write_text(json.dumps(row, indent=1))
    return row


def run_scaling(args, folder: Path) -> list[dict]:
    """Every (method, size) cell: planned (``--dry-run``), read back (``--reuse``) or timed."""
    sizes = [args.base * f for f in FACTORS]
    cells = [(m, n, str(folder / f"{m}-{n}")) for m in args.methods for n in sizes]
    print(f"fake data, {SHAPE['fake_image_size']}x{SHAPE['fake_image_size']} px, {SHAPE['fake_channels']} channel, "
          f"{SHAPE['fake_classes']} classes, training images {', '.join(map(str, sizes))}")
    if args.dry_run:
        return [plan_cell(m, n) for m, n, _ in cells]
    if args.reuse and (folder / "results.json").is_file():
        return json.loads((folder / "results.json").read_text())
    folder.mkdir(parents=True, exist_ok=True)
    print(f"before: {machine()}")
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn"), max_tasks_per_child=1) as pool:
        rows = list(pool.map(time_cell, *zip(*cells)))
    print(f"after:  {machine()}; wall time {time.perf_counter() - start:.0f} s ({args.jobs} job(s) at a time)")
    (folder / "results.json").write_text(json.dumps(rows, indent=1))
    return rows


def print_scaling(rows: list[dict]) -> None:
    """Per method: its fixed settings, then per size the planned images and seconds, and the ratio to 1x."""
    sizes = sorted({r["size"] for r in rows})
    head = " | ".join(f"{n:,} images" for n in sizes)
    print(f"\n| method | fixed settings | {head} | " + " | ".join(f"{f}x / 1x" for f in FACTORS[1:]) + " |")
    print("|---" * (2 + len(sizes) + len(FACTORS) - 1) + "|")
    for method in dict.fromkeys(r["method"] for r in rows):
        by = {r["size"]: r for r in rows if r["method"] == method}
        cells, ratios = [], []
        for n in sizes:
            r = by[n]
            if "refused" in r:
                cells.append("refused (too few images per class)")
            elif "seconds" in r:
                cells.append(f"{r['seconds']:.1f} s ({r['images']:,} drawn)")
            else:
                cells.append(f"plans {r['images']:,} drawn")
        base = by[sizes[0]].get("seconds")
        for n in sizes[1:]:
            ratios.append(f"{by[n]['seconds'] / base:.2f}" if base and "seconds" in by[n] else "-")
        print(f"| {method} | {by[sizes[0]]['settings']} | " + " | ".join(cells + ratios) + " |")
    for r in rows:
        if "refused" in r:
            print(f"{r['method']} at {r['size']:,} images: {r['refused']}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("digits", "scaling"), required=True)
    parser.add_argument("--methods", nargs="+", choices=METHODS, default=list(METHODS),
                        help="the methods to run (default: all that search)")
    parser.add_argument("--out", default="runs/bench-compare", help="the part writes into <out>/<part>")
    parser.add_argument("--budget", type=int, default=1600, help="digits: training images per search")
    parser.add_argument("--seeds", type=int, default=3, help="digits: seeds 0..N-1")
    parser.add_argument("--executor", default="local", choices=("local", "process", "dask"),
                        help="digits: passed to compare (its cells run in parallel on process or dask)")
    parser.add_argument("--workers", type=int, default=2, help="digits: workers of --executor process/dask")
    parser.add_argument("--base", type=int, default=128, help="scaling: training images at 1x (4x, 16x follow)")
    parser.add_argument("--jobs", type=int, default=1, help="scaling: cells timed at the same time")
    parser.add_argument("--reuse", action="store_true", help="reprint <out>/<part>/results.json; run nothing")
    parser.add_argument("--dry-run", action="store_true", help="print the command or the plan; run nothing")
    args = parser.parse_args(argv)
    folder = Path(args.out) / args.part
    if args.part == "digits":
        rows = run_digits(args, folder)
        if rows:
            print_digits(rows)
    else:
        print_scaling(run_scaling(args, folder))


if __name__ == "__main__":
    main()
