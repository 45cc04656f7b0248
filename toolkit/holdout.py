"""The validation hold-out of a search: the one place that decides which images select and which test.

TS-ENAS (J. Zou, S. Wu, Y. Xia, W. Jiang, Z. Wu, J. Zheng, "TS-ENAS: Two-Stage Evolution for
Cell-based Network Architecture Search", section V.C) evaluates every candidate's fitness on
``D_valid``, 10% of the training images, and tests only the final network. :func:`hold_out` builds
that split from a dataset's splits and a :class:`Holdout` of plain values, so a worker process that
loads the dataset by name reproduces exactly the split of the process that planned the run.

The same function applies a search's size caps (a class-balanced cap on the training images and
a largest image side): they make a laptop preset plan the same work on a 60,000-image set as on
a small one. The test split is never read here: it is only shrunk lazily, item by item, when the
final network is tested at the size it was trained at.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset, Subset

from .config import check_range, check_types
from .data import DatasetSplits, ImageTensorDataset, _in_memory_images, _stratified_split, labels_of

VALID_FRACTION = 0.1  # TS-ENAS section V.C: D_valid is 10% of the training images


@dataclass(frozen=True)
class Holdout:
    """How a search splits and caps its data, as plain values that pickle.

    Attributes:
        fraction: share of each class's training images held out as the validation split.
        seed: seeds the cap's sample and the hold-out; every candidate of a run uses the same one.
        max_train_images: keep at most this many training images (before the hold-out), the same
            number from every class; None keeps them all.
        max_image_size: shrink larger images to this side length; None keeps the loaded size.
    """

    fraction: float = VALID_FRACTION
    seed: int = 0
    max_train_images: int | None = None
    max_image_size: int | None = None

    def __post_init__(self):
        check_types(self)
        check_range(self, "fraction", 0, 1, low_open=True, high_open=True,
                    hint="the paper holds out 0.1 of the training images")
        check_range(self, "seed", 0)
        check_range(self, "max_train_images", 2, hint="None keeps every training image")
        check_range(self, "max_image_size", 1, hint="None keeps the loaded image size")


class ResizedDataset(Dataset):
    """A dataset whose images are resized when read (bilinear with antialiasing), labels unchanged."""

    def __init__(self, dataset: Dataset, size: int) -> None:
        self.dataset, self.size = dataset, size

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image, label = self.dataset[index]
        return _resize(image.unsqueeze(0), self.size)[0], int(label)

    @property
    def targets(self) -> torch.Tensor:
        return labels_of(self.dataset)


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


def resized(dataset: Dataset, size: int, eager: bool = True) -> Dataset:
    """``dataset`` at ``size``: at once for in-memory images when ``eager``, else item by item when read."""
    found = _in_memory_images(dataset) if eager else None
    if found is None:
        return ResizedDataset(dataset, size)
    images, labels = found
    return ImageTensorDataset(_resize(images, size), labels)


def capped_count(labels: torch.Tensor, max_images: int | None) -> int | None:
    """Images per class that ``max_images`` keeps (None: no cap needed, the set is small enough)."""
    if max_images is None or len(labels) <= max_images:
        return None
    counts = torch.unique(labels, return_counts=True)[1]
    return max(1, min(max_images // len(counts), int(counts.min())))


def hold_out(data: DatasetSplits, holdout: Holdout) -> DatasetSplits:
    """``data`` with its training images capped, shrunk and split into train and validation.

    1. At most ``max_train_images`` training images, the same count from every class (seeded).
    2. Images larger than ``max_image_size`` shrunk to it (the test split lazily, never read here).
    3. ``fraction`` of each class held out as ``valid`` (seeded, at least one image per class).

    Returns:
        Splits whose ``train`` trains the candidates, ``valid`` ranks them, ``test`` is the
        untouched test split (at the same image size) for the final network only.
    """
    train, test, size = data.train, data.test, data.image_size
    labels = labels_of(train)
    per_class = capped_count(labels, holdout.max_train_images)
    if per_class is not None:
        generator = torch.Generator().manual_seed(holdout.seed)
        keep = []
        for label in torch.unique(labels):
            members = torch.nonzero(labels == label).flatten()
            keep.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
        indices = sorted(torch.cat(keep).tolist())
        train, labels = Subset(train, indices), labels[indices]
    if holdout.max_image_size is not None and size > holdout.max_image_size:
        size = holdout.max_image_size
        train, test = resized(train, size), resized(test, size, eager=False)
    rest, held = _stratified_split(labels, holdout.fraction, holdout.seed)
    return replace(data, train=Subset(train, rest), valid=Subset(train, held), test=test, image_size=size)
