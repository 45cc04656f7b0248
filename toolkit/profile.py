"""Profiling a search: memory and time of its steps (ADARTS paper Fig. 10's quantities).

This orchestrates a short search; the measuring itself is :mod:`toolkit.memory` (a leaf utility
the search loop uses), so the loop and the profiler each import only what lies below them.

Example:
    >>> profile_search(SearchConfig(method="adarts", k=4, dataset="fake"), steps=3)  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import itertools
import statistics
import time

import torch
from torch.utils.data import Subset

from .search import load_search_data, run_search


def profile_search(config, data=None, *, steps: int | None = None, listeners=()) -> dict:
    """Memory and time of search steps: a one-epoch search, optionally on ``steps`` batches only.

    The first step of the epoch carries the saved-tensor hooks (see :class:`StepMemory`), so the
    step times are medians over the steps after it: wall time, and the CPU time of this process
    (on a CPU shared with other work, CPU time is the steadier measure of the work a step does).

    Args:
        config: a SearchConfig (its ``epochs`` is replaced by 1).
        data: DatasetSplits (default: load ``config.dataset``).
        steps: search steps to run (the training set is cut to a seeded random ``2 * steps *
            batch_size`` images, half for w and half for α); None runs the full epoch.
        listeners: event callbacks, passed on to the search.

    Returns:
        A dict: method, k, activation_mb (saved-tensor peak of a step), peak_memory_mb (CUDA
        allocator peak on GPU, else the same as activation_mb), step_s (median wall seconds per
        step, NaN with a single step), step_cpu_s (median process CPU seconds per step), steps,
        skip_normal, skip_reduce, val_acc, genotype (CellPair).

    Example:
        >>> profile_search(SearchConfig(method="adarts", k=4, dataset="fake"), steps=3)  # doctest: +SKIP
    """
    config = dataclasses.replace(config, epochs=1)
    data = data or load_search_data(config)
    if steps is not None and 2 * steps * config.batch_size < len(data.train):
        order = torch.randperm(len(data.train), generator=torch.Generator().manual_seed(config.seed))
        keep = sorted(order[: 2 * steps * config.batch_size].tolist())
        data = dataclasses.replace(data, train=Subset(data.train, keep))
    clocks = []  # (wall, CPU) time at each step event; listeners run in the loop's thread

    def clock(event):
        if event.kind == "step":
            clocks.append((time.perf_counter(), time.process_time()))

    result = run_search(config, data=data, listeners=(clock, *listeners))
    record = result.history[-1]

    def median_gap(i):
        gaps = [b[i] - a[i] for a, b in itertools.pairwise(clocks)]
        return statistics.median(gaps) if gaps else float("nan")

    return {"method": config.method, "k": config.k, "activation_mb": record["activation_mb"],
            "peak_memory_mb": record["peak_memory_mb"], "step_s": median_gap(0), "step_cpu_s": median_gap(1),
            "steps": len(clocks), "skip_normal": record["skip_normal"], "skip_reduce": record["skip_reduce"],
            "val_acc": record["val_acc"], "genotype": result.genotype}
