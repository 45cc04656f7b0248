"""``--dry-run``: the resolved settings, where each came from, the data sizes and the planned steps.

Nothing is trained and no run folder is written: a user checks a preset against a paper here before
spending a GPU-day on it. Data sets are read without downloading; missing files are reported in the
output instead of failing.
"""

from __future__ import annotations

import math
from dataclasses import fields

import torch
from torch.utils.data import Dataset

from ..errors import ToolkitError
from ..space import SearchSpace

# The published sizes of the downloadable sets: (training images, test images, classes, channels, side).
PUBLISHED_SIZES = {"mnist": (60_000, 10_000, 10, 1, 28), "fashion_mnist": (60_000, 10_000, 10, 1, 28),
                   "cifar10": (50_000, 10_000, 10, 3, 32), "cifar100": (50_000, 10_000, 100, 3, 32)}


class LabelsOnly(Dataset):
    """A stand-in split for planning: ``count`` balanced labels and no images (reading an item is an error)."""

    def __init__(self, count: int, classes: int) -> None:
        self.targets = torch.arange(count) % classes

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        raise ToolkitError("a dry run plans with the published sizes and has no images to read")


def published_splits(name: str, image_size: int | None):
    """Stand-in splits of a downloadable set at its published sizes, for a dry run without its files."""
    from ..data import DatasetSplits

    train, test, classes, channels, side = PUBLISHED_SIZES[name]
    return DatasetSplits(LabelsOnly(train, classes), LabelsOnly(test, classes), classes, channels,
                         image_size or side, name)


def load_quietly(config):
    """``(DatasetSplits, note)`` for the config's data set: the real splits (note None); for a
    downloadable set whose files are missing, stand-ins at its published sizes (note says so); or
    ``(None, why)`` when it cannot be planned without downloading."""
    from ..data import load_dataset

    try:
        return load_dataset(config.dataset, config.data_dir, download=False, seed=config.seed,
                            image_size=config.image_size), None
    except ToolkitError as e:
        if config.dataset in PUBLISHED_SIZES:
            return published_splits(config.dataset, config.image_size), (
                f"its files are not in '{config.data_dir}' (the run needs them; without --dry-run the error "
                "names each file); planned at its published sizes")
        return None, str(e)
    except OSError as e:  # an unreadable file: reported, not raised, in a dry run
        return None, f"cannot read the data ({e})"


def settings_lines(config, sources: dict[str, str], indent: str = "  ") -> list[str]:
    """One line per field: name, value and where the value came from."""
    names = [f.name for f in fields(config)]
    width = max(map(len, names))
    lines = []
    for name in names:
        value = getattr(config, name)
        shown = f"{value.nodes} nodes; ops {', '.join(value.ops)}" if isinstance(value, SearchSpace) else repr(value)
        lines.append(f"{indent}{name:<{width}}  {sources.get(name, 'default'):<20}  {shown}")
    return lines


def header(command: str, preset: str | None, entry) -> list[str]:
    lines = [f"dry run of {command}: nothing is trained and no run folder is written"]
    if preset:
        name = preset.rpartition(":")[2]
        source = entry.preset_sources.get(name, "") if entry is not None else ""
        lines.append(f"preset {name}" + (f": {source}" if source else ""))
    return lines


def steps(n: int, batch: int) -> int:
    return math.ceil(n / batch)


def search_plan(config, data) -> list[str]:
    """Sizes of the weight / α halves and the test split, and the search's steps (a DARTS-style search)."""
    n = len(data.train)
    w = int(config.train_portion * n)
    per_epoch = min(steps(w, config.batch_size), steps(n - w, config.batch_size))
    return [f"data {config.dataset}: {n} training images -> {w} train the weights / {n - w} train α "
            f"(and validate); {len(data.test)} test images",
            f"steps: {per_epoch} per epoch x {config.epochs} epochs = {per_epoch * config.epochs} "
            f"(α moves from epoch {config.warmup_epochs + 1})"]


def train_plan(config, data, label: str = "training") -> list[str]:
    per_epoch = steps(len(data.train), config.batch_size)
    augmentation = config.augmentation
    return [f"data {config.dataset}: {len(data.train)} training images, {len(data.test)} test images; "
            f"augmentation: crop padding {augmentation.padding}, flip {augmentation.flip}, "
            f"cutout {augmentation.cutout}",
            f"steps ({label}): {per_epoch} per epoch x {config.epochs} epochs = {per_epoch * config.epochs}"]


def gal_plan(config, data) -> list[str]:
    from ..gal.adversarial import epoch_steps

    per_epoch = steps(len(data.train), config.batch_size)
    masks = epoch_steps(config, steps(len(data.train), config.gal_batch_size))
    return [*train_plan(config, data, "baseline")[:1],
            f"steps (baseline): {per_epoch} per epoch x {config.epochs} epochs = {per_epoch * config.epochs}",
            f"steps (masks): {masks} per epoch x {config.gal_epochs} epochs = {masks * config.gal_epochs} "
            f"(generator steps; {config.d_steps} discriminator updates each)",
            f"steps (retrain): {per_epoch} per epoch x {config.epochs} epochs = {per_epoch * config.epochs}"]


def medarts_plan(config, data) -> list[str]:
    from ..medarts.proxy import sample_size
    from ..medarts.run import member_steps

    lines = [f"data {config.search.dataset}: {len(data.train)} training images, {len(data.test)} test images"]
    total = 0
    for stage in config.stages:
        try:
            n = sample_size(data, stage) * data.num_classes
            one = member_steps(data, stage, config.member_config(stage, config.search.seed))
        except ToolkitError as e:
            lines.append(f"cannot be planned on this data: {e}")
            total = None
            continue
        w = int(config.search.train_portion * n)
        side = max(data.image_size // stage.downsample, 1)
        side = min(side, stage.max_image_size) if stage.max_image_size is not None else side
        total = None if total is None else total + one * stage.population
        lines.append(f"stage {stage.name}: {stage.population} individual(s) ({stage.parents} parents), "
                     f"{stage.cells} cells, C={stage.channels}, batch {stage.batch_size}, D_sample {n} images "
                     f"({w} weights / {n - w} α) at {side}x{side}; {one // stage.epochs} steps "
                     f"per epoch x {stage.epochs} epochs = {one} per individual, {one * stage.population} in all")
    lines.append(f"steps: {total} in all stages" if total is not None else "steps: not planned (see above)")
    return lines


def tsenas_plan(config, data) -> list[str]:
    """The run's data after its caps and D_valid hold-out (:func:`toolkit.tsenas.run.search_data`) and its steps."""
    from ..tsenas.run import search_data, search_plan

    caps = (f"caps: at most {config.max_train_images or 'all'} training images (class-balanced), images at most "
            f"{config.max_image_size or 'their loaded'} pixels a side")
    plan = search_plan(config, search_data(config, data))
    per_epoch = plan["candidate_steps"] // config.epochs
    rough = config.population * (config.rough_generations + 1)
    fine = 2 * config.survivors * config.fine_generations
    return [f"data {config.dataset}: {len(data.train)} training images, {len(data.test)} test images; {caps}",
            f"search data: {plan['train_images']} train the SuperNet and the candidates, {plan['valid_images']} "
            f"(D_valid) rank them, at {plan['image_size']}x{plan['image_size']}; the test split is read once, "
            "for the chosen network",
            f"steps (SuperNet): {per_epoch} per epoch x {config.supernet_epochs} epochs = {plan['supernet_steps']}",
            f"steps (each individual): {per_epoch} per epoch x {config.epochs} epochs = {plan['candidate_steps']}",
            f"individuals trained: rough stage {config.population} x {config.rough_generations + 1} generations "
            f"= {rough}, fine stage 2 x {config.survivors} x {config.fine_generations} generations = {fine}; "
            f"{plan['supernet_steps'] + plan['candidates'] * plan['candidate_steps']} steps in all"]


def report(command: str, preset: str | None, entry, config, sources: dict[str, str], data_config, plan,
           extra: list[str] = ()) -> int:
    """Print the dry run of ``command`` (``plan(config, data)`` gives the sizes and steps lines)."""
    lines = [*header(command, preset, entry), "settings (where each value came from, then the value):",
             *settings_lines(config, sources), *extra]
    data, why = load_quietly(data_config)
    if data is None:
        lines.append(f"data {data_config.dataset}: not counted: {why}")
    else:
        lines += ([f"data {data_config.dataset}: {why}"] if why else []) + plan(config, data)
    print("\n".join(lines))
    return 0
