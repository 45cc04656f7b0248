"""Datasets for search and evaluation: loading, class-balanced samples, low-resolution copies, splits.

Every dataset built here yields ``(image, label)`` items: a normalised float tensor of shape
``C x H x W`` and an ``int`` class index.

* :func:`load_dataset` gives the train and test sets of one named dataset as :class:`DatasetSplits`.
* :func:`balanced_subset` is ME-DARTS' ``D_sample``: the same number of images from every class.
* :func:`low_resolution` is ME-DARTS' ``D_low``: every image shrunk by an integer factor with LANCZOS.
* :func:`split_train_val` is DARTS' split of the training set into a half that trains the weights
  and a half that trains the architecture parameters.
* :func:`labels_of` reads the labels of any of these datasets without decoding images where it can.
"""

from __future__ import annotations

import gzip
import numbers
import os
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import ConcatDataset, Dataset, Subset, TensorDataset
from torchvision import datasets, transforms
from torchvision.datasets.utils import extract_archive
from torchvision.datasets.vision import VisionDataset

from .errors import ToolkitError

DATASETS = ("digits", "mnist", "fashion_mnist", "cifar10", "cifar100", "folder", "fake")

TEST_FRACTION = 0.2  # held out as the test set where a dataset has no test split of its own
FOLDER_IMAGE_SIZE = 32  # side length of ImageFolder images when no image_size is given
FAKE_NOISE_STD = 1.0  # noise on top of the unit-scale class patterns of the "fake" dataset


@dataclass(frozen=True)
class DatasetSplits:
    """The train and test sets of one dataset and the shape of its images.

    Attributes:
        train: training images; items are ``(normalised float tensor C x H x W, int label)``.
        test: held-out images with the same item format.
        num_classes: number of classes; labels run from 0 to ``num_classes - 1``.
        in_channels: image channels ``C`` (1 for grayscale, 3 for RGB).
        image_size: image height, equal to the width.
        name: canonical dataset name, one of :data:`DATASETS`.
        valid: images held out of the training set to select with (:func:`toolkit.holdout.hold_out`);
            None where nothing is selected.
    """

    train: Dataset
    test: Dataset
    num_classes: int
    in_channels: int
    image_size: int
    name: str
    valid: Dataset | None = None


class ImageTensorDataset(TensorDataset):
    """Images and labels held in memory; items are ``(image tensor, int label)``.

    Args:
        images: float tensor ``N x C x H x W``.
        labels: integer tensor ``N``.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        super().__init__(images.float().contiguous(), torch.as_tensor(labels).long())

    @property
    def images(self) -> torch.Tensor:
        """All images, ``N x C x H x W``."""
        return self.tensors[0]

    @property
    def targets(self) -> torch.Tensor:
        """All labels, ``N``."""
        return self.tensors[1]

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        return self.tensors[0][index], int(self.tensors[1][index])


class LowResolutionDataset(Dataset):
    """A dataset whose images are shrunk with LANCZOS when read (for sets too big to shrink up front).

    Args:
        dataset: items ``(image tensor C x H x W, label)``.
        factor: integer factor that divides height and width.
    """

    def __init__(self, dataset: Dataset, factor: int) -> None:
        self.dataset = dataset
        self.factor = factor

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image, label = self.dataset[index]
        return _downsample(image, self.factor), int(label)

    @property
    def targets(self) -> torch.Tensor:
        """Labels of the wrapped dataset (unchanged by the shrinking)."""
        return labels_of(self.dataset)


class _LocalCIFAR10(datasets.CIFAR10):
    """torchvision's CIFAR-10 that also accepts the user's own copy of the batch files.

    torchvision checks every batch file against the md5 of the official archive, so a copy the
    user re-saved or trimmed is refused as "not found or corrupted". Here the files only have to
    be present and readable, and the pickles may come from Python 2 (the official files, with
    ``str`` keys) or from Python 3 (``bytes`` keys such as ``b'data'``). Images and labels are
    read exactly as torchvision reads them; downloading is torchvision's own.
    """

    def __init__(self, root: str, train: bool = True, transform: Any = None, download: bool = False) -> None:
        VisionDataset.__init__(self, root, transform=transform)
        self.train = train
        if download:
            self.download()
        if not self._check_integrity():
            raise RuntimeError(f"batch files missing in {os.path.join(self.root, self.base_folder)}")
        entries = [self._read(name) for name, _ in (self.train_list if train else self.test_list)]
        data = np.vstack([np.asarray(entry["data"], dtype=np.uint8) for entry in entries])
        self.data = data.reshape(-1, 3, 32, 32).transpose((0, 2, 3, 1))  # HWC, as torchvision keeps it
        self.targets = [int(t) for entry in entries for t in entry.get("labels", entry.get("fine_labels", []))]
        if len(self.targets) != len(self.data):
            raise RuntimeError(f"{len(self.data)} images but {len(self.targets)} labels")
        self._load_meta()

    def _read(self, name: str) -> dict:
        return _read_pickled_dict(os.path.join(self.root, self.base_folder, name))

    def _check_integrity(self) -> bool:
        names = [name for name, _ in self.train_list + self.test_list] + [self.meta["filename"]]
        return all(os.path.isfile(os.path.join(self.root, self.base_folder, name)) for name in names)

    def _load_meta(self) -> None:
        names = self._read(self.meta["filename"])[self.meta["key"]]
        self.classes = [n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names]
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}


class _LocalCIFAR100(_LocalCIFAR10):
    """CIFAR-100 (fine labels) that accepts the user's own copy; see :class:`_LocalCIFAR10`."""

    base_folder = datasets.CIFAR100.base_folder
    url = datasets.CIFAR100.url
    filename = datasets.CIFAR100.filename
    tgz_md5 = datasets.CIFAR100.tgz_md5
    train_list = datasets.CIFAR100.train_list
    test_list = datasets.CIFAR100.test_list
    meta = datasets.CIFAR100.meta


@dataclass(frozen=True)
class _Builtin:
    """How to load one torchvision dataset and what to tell the user when its files are missing."""

    cls: type
    mean: tuple[float, ...]
    std: tuple[float, ...]
    num_classes: int
    in_channels: int
    image_size: int
    folder: str  # the folder under root that must hold `required`
    required: tuple[str, ...]
    archive: str | None  # CIFAR: the official .tar.gz in root; None: idx files, each may be *.gz
    what: str  # what the user must supply, in words


_IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def _idx_spec(cls: type, mean: float, std: float) -> _Builtin:
    what = ", ".join(f"{name}(.gz)" for name in _IDX_FILES)
    return _Builtin(cls, (mean,), (std,), 10, 1, 28, f"{cls.__name__}/raw", _IDX_FILES, None, what)


def _cifar_spec(cls: type, mean: tuple[float, ...], std: tuple[float, ...], classes: int) -> _Builtin:
    files = tuple(name for name, _ in cls.train_list + cls.test_list) + (cls.meta["filename"],)
    what = f"the extracted {cls.base_folder} folder ({', '.join(files)}) or {cls.filename}"
    return _Builtin(cls, mean, std, classes, 3, 32, cls.base_folder, files, cls.filename, what)


_BUILTINS = {
    "mnist": _idx_spec(datasets.MNIST, 0.1307, 0.3081),
    "fashion_mnist": _idx_spec(datasets.FashionMNIST, 0.2860, 0.3530),
    "cifar10": _cifar_spec(_LocalCIFAR10, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616), 10),
    "cifar100": _cifar_spec(_LocalCIFAR100, (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762), 100),
}


def load_dataset(
    name: str,
    root: str | Path = "data",
    *,
    download: bool = True,
    seed: int = 0,
    image_size: int | None = None,
    fake_size: int = 256,
    fake_classes: int = 10,
    fake_image_size: int = 8,
    fake_channels: int = 1,
) -> DatasetSplits:
    """Loads the train and test sets of a named dataset.

    Args:
        name: one of :data:`DATASETS` (``-`` is read as ``_``, case is ignored).
        root: data folder: torchvision sets live under it (``root/MNIST/raw``,
            ``root/cifar-10-batches-py``); for ``folder`` it holds ``train/<class>/*.png``.
        download: let torchvision download missing MNIST / Fashion-MNIST / CIFAR files.
        seed: seeds the test split of ``digits`` (and of ``folder`` without ``test/``) and the
            ``fake`` images.
        image_size: resize every image to this square size; ``None`` keeps the native size
            (32 for ``folder``).
        fake_size: number of ``fake`` training images; the test set has a quarter as many.
        fake_classes: number of ``fake`` classes.
        fake_image_size: side length of ``fake`` images.
        fake_channels: channels of ``fake`` images.

    Returns:
        The train and test sets with their class count and image shape.

    Raises:
        ToolkitError: unknown name, bad sizes, or data files that are missing or unreadable.
    """
    key = _canonical_name(name)
    _check_positive("image_size", image_size, allow_none=True)
    if key == "digits":
        return _load_digits(seed, image_size)
    if key == "fake":
        return _load_fake(seed, image_size, fake_size, fake_classes, fake_image_size, fake_channels)
    if key == "folder":
        return _load_folder(root, seed, image_size)
    return _load_builtin(key, root, download, image_size)


def balanced_subset(
    dataset: Dataset, fraction: float | None = None, per_class: int | None = None, seed: int = 0
) -> Subset:
    """Samples the same number of images from every class (ME-DARTS' ``D_sample``).

    Args:
        dataset: any dataset :func:`labels_of` can read.
        fraction: keep ``min over classes of round(fraction * class count)`` images per class.
        per_class: keep exactly this many images per class.
        seed: seeds which images are kept.

    Returns:
        A subset with equal class counts, indices in ascending order.

    Raises:
        ToolkitError: both or neither of ``fraction`` and ``per_class`` given, or a size that
            keeps no image or more images than the smallest class has.
    """
    if (fraction is None) == (per_class is None):
        raise ToolkitError("balanced_subset needs exactly one of fraction or per_class")
    labels = labels_of(dataset)
    classes, counts = torch.unique(labels, return_counts=True)
    if len(classes) == 0:
        raise ToolkitError("balanced_subset got an empty dataset")
    keep = _per_class_count(counts, fraction, per_class)
    generator = torch.Generator().manual_seed(seed)
    picked = []
    for label in classes:
        members = torch.nonzero(labels == label).flatten()
        picked.append(members[torch.randperm(len(members), generator=generator)[:keep]])
    return Subset(dataset, sorted(torch.cat(picked).tolist()))


def low_resolution(dataset: Dataset, factor: int = 2) -> Dataset:
    """Shrinks every image by ``factor`` with PIL's LANCZOS filter (ME-DARTS' ``D_low``).

    Each channel is resized on its own as a 32-bit float PIL image to ``(H // factor, W // factor)``;
    labels are unchanged. In-memory datasets (and subsets of them) are shrunk at once; others
    are shrunk item by item when read.

    Args:
        dataset: items ``(image tensor C x H x W, label)``.
        factor: integer shrink factor, at least 1.

    Returns:
        A dataset of the shrunk images with the same labels and order.

    Raises:
        ToolkitError: a factor below 1 or one that leaves no pixel.
    """
    _check_positive("factor", factor)
    found = _in_memory_images(dataset)
    if found is None:
        if len(dataset) > 0:
            _check_shrinkable(dataset[0][0].shape, factor)
        return LowResolutionDataset(dataset, factor)
    images, labels = found
    _check_shrinkable(images.shape[1:], factor)
    shrunk = [_downsample(image, factor) for image in images]
    out_shape = (0, images.shape[1], images.shape[2] // factor, images.shape[3] // factor)
    return ImageTensorDataset(torch.stack(shrunk) if shrunk else torch.zeros(out_shape), labels)


def split_train_val(dataset: Dataset, fraction: float = 0.5, seed: int = 0) -> tuple[Subset, Subset]:
    """Splits a training set in two after a seeded shuffle, as DARTS does for weights vs. alphas.

    Args:
        dataset: the set to split.
        fraction: share that goes to the first part (``floor(fraction * len)`` items).
        seed: seeds the shuffle.

    Returns:
        ``(first, second)``: disjoint subsets that together cover the dataset, indices ascending.

    Raises:
        ToolkitError: a fraction outside (0, 1) or too few items for two non-empty parts.
    """
    if not 0 < fraction < 1:
        raise ToolkitError(f"the train/val fraction must lie between 0 and 1, not {fraction}")
    total = len(dataset)
    first = int(fraction * total)
    if first == 0 or first == total:
        raise ToolkitError(f"cannot split {total} images with fraction {fraction}: one part would be empty")
    order = torch.randperm(total, generator=torch.Generator().manual_seed(seed)).tolist()
    return Subset(dataset, sorted(order[:first])), Subset(dataset, sorted(order[first:]))


def labels_of(dataset: Dataset) -> torch.Tensor:
    """Reads the labels of a dataset, through any nesting of ``Subset`` and ``ConcatDataset``.

    Uses ``targets`` attributes (torchvision and this module's datasets) and ``TensorDataset``
    tensors where present; otherwise reads every item.

    Args:
        dataset: any dataset whose items are ``(input, label)``.

    Returns:
        A new 1-D ``torch.long`` tensor with one label per item, in dataset order.
    """
    if isinstance(dataset, Subset):
        return labels_of(dataset.dataset)[torch.as_tensor(list(dataset.indices), dtype=torch.long)]
    if isinstance(dataset, ConcatDataset):
        parts = [labels_of(part) for part in dataset.datasets]
        return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long)
    targets = getattr(dataset, "targets", None)
    if targets is not None:
        return torch.as_tensor(np.asarray(targets), dtype=torch.long).flatten().clone()
    if isinstance(dataset, TensorDataset) and len(dataset.tensors) >= 2:
        return dataset.tensors[1].long().flatten().clone()
    return torch.tensor([int(dataset[i][1]) for i in range(len(dataset))], dtype=torch.long)


# ---------------------------------------------------------------- checks and small helpers


def _canonical_name(name: str) -> str:
    key = str(name).strip().lower().replace("-", "_")
    if key not in DATASETS:
        raise ToolkitError(f"unknown dataset {name!r}; choose one of: {', '.join(DATASETS)}")
    return key


def _check_positive(what: str, value: Any, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ToolkitError(f"{what} must be a whole number of at least 1, not {value!r}")


def _check_shrinkable(shape: tuple[int, ...], factor: int) -> None:
    if len(shape) != 3:
        raise ToolkitError(f"low_resolution needs C x H x W image tensors, got shape {tuple(shape)}")
    if shape[-2] // factor < 1 or shape[-1] // factor < 1:
        raise ToolkitError(f"factor {factor} leaves no pixel of a {shape[-2]}x{shape[-1]} image; use a smaller factor")


def _per_class_count(counts: torch.Tensor, fraction: float | None, per_class: int | None) -> int:
    smallest = int(counts.min())
    if per_class is not None:
        _check_positive("per_class", per_class)
        if per_class > smallest:
            raise ToolkitError(f"per_class={per_class} is more than the smallest class holds ({smallest} images)")
        return per_class
    if not 0 < fraction <= 1:
        raise ToolkitError(f"fraction must lie in (0, 1], not {fraction}")
    keep = min(int(fraction * int(count) + 0.5) for count in counts)
    if keep < 1:
        raise ToolkitError(f"fraction {fraction} keeps no image of the smallest class ({smallest} images)")
    return keep


def _stratified_split(labels: torch.Tensor, test_fraction: float, seed: int) -> tuple[list[int], list[int]]:
    """Holds out ``round(test_fraction * n)`` of each class (at least 1 when it has 2+ images)."""
    generator = torch.Generator().manual_seed(seed)
    train: list[int] = []
    test: list[int] = []
    for label in torch.unique(labels):
        members = torch.nonzero(labels == label).flatten()
        members = members[torch.randperm(len(members), generator=generator)].tolist()
        held = min(max(int(test_fraction * len(members) + 0.5), 1), len(members) - 1)
        test += members[:held]
        train += members[held:]
    return sorted(train), sorted(test)


def _downsample(image: torch.Tensor, factor: int) -> torch.Tensor:
    """Resizes each channel of ``C x H x W`` as a PIL "F" image with LANCZOS to ``H//factor x W//factor``."""
    height, width = image.shape[-2:]
    size = (width // factor, height // factor)  # PIL sizes are (width, height)
    channels = []
    for channel in image.detach().cpu().float():
        plane = Image.fromarray(np.ascontiguousarray(channel.numpy(), dtype=np.float32))  # mode "F"
        channels.append(np.asarray(plane.resize(size, Image.Resampling.LANCZOS), dtype=np.float32))
    return torch.from_numpy(np.stack(channels))


def _in_memory_images(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor] | None:
    """Images and labels of a TensorDataset (through Subsets), or None for other datasets."""
    indices = None
    while isinstance(dataset, Subset):
        step = torch.as_tensor(list(dataset.indices), dtype=torch.long)
        indices = step if indices is None else step[indices]
        dataset = dataset.dataset
    if not (isinstance(dataset, TensorDataset) and len(dataset.tensors) >= 2 and dataset.tensors[0].dim() == 4):
        return None
    images, labels = dataset.tensors[0], dataset.tensors[1]
    if indices is not None:
        images, labels = images[indices], labels[indices]
    return images, labels


def _resize_batch(images: torch.Tensor, size: int | None) -> torch.Tensor:
    if size is None or tuple(images.shape[-2:]) == (size, size):
        return images
    return F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)


def _in_memory_splits(
    name: str, images: torch.Tensor, labels: torch.Tensor, train_idx: list[int], test_idx: list[int], classes: int
) -> DatasetSplits:
    """Normalises with the per-channel mean and std of the training images and wraps both splits."""
    train_images, test_images = images[train_idx], images[test_idx]
    mean = train_images.mean(dim=(0, 2, 3), keepdim=True)
    std = train_images.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-6)
    return DatasetSplits(
        train=ImageTensorDataset((train_images - mean) / std, labels[train_idx]),
        test=ImageTensorDataset((test_images - mean) / std, labels[test_idx]),
        num_classes=classes,
        in_channels=images.shape[1],
        image_size=images.shape[-1],
        name=name,
    )


def _one_line(exc: BaseException) -> str:
    """``Type: message`` on one line: the first line of the message, and its last when they differ."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if len(lines) > 1:
        lines = [f"{lines[0].rstrip(':')}: {lines[-1]}"]
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _read_pickled_dict(path: str) -> dict:
    """Reads a CIFAR batch pickle (Python 2 or 3); ``bytes`` keys become ``str``."""
    with open(path, "rb") as handle:
        entry = pickle.load(handle, encoding="latin1")
    if not isinstance(entry, dict):
        raise TypeError(f"{os.path.basename(path)} holds a {type(entry).__name__}, not a dict")
    return {key.decode("latin1") if isinstance(key, bytes) else key: value for key, value in entry.items()}


# ---------------------------------------------------------------- the individual datasets


def _load_digits(seed: int, image_size: int | None) -> DatasetSplits:
    """scikit-learn's bundled 8x8 digits, scaled to [0, 1], with a stratified 20% test split."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    labels = torch.as_tensor(bunch.target, dtype=torch.long)
    images = _resize_batch(images, image_size)
    train_idx, test_idx = _stratified_split(labels, TEST_FRACTION, seed)
    return _in_memory_splits("digits", images, labels, train_idx, test_idx, 10)


def _load_fake(
    seed: int, image_size: int | None, size: int, classes: int, side: int, channels: int
) -> DatasetSplits:
    """Seeded images: a smooth random pattern per class plus Gaussian noise."""
    for what, value in (("fake_size", size), ("fake_image_size", side), ("fake_channels", channels)):
        _check_positive(what, value)
    _check_positive("fake_classes", classes)
    if classes < 2 or size < classes:
        raise ToolkitError(f"fake data needs at least 2 classes and one image per class (got {classes}, {size})")
    generator = torch.Generator().manual_seed(seed)
    coarse = min(side, 4)
    patterns = torch.randn(classes, channels, coarse, coarse, generator=generator)
    patterns = F.interpolate(patterns, size=(side, side), mode="bilinear", align_corners=False)
    test_size = max(1, size // 4)
    labels = torch.cat([_shuffled_labels(n, classes, generator) for n in (size, test_size)])
    noise = torch.randn(len(labels), channels, side, side, generator=generator)
    images = _resize_batch(patterns[labels] + FAKE_NOISE_STD * noise, image_size)
    train_idx, test_idx = list(range(size)), list(range(size, size + test_size))
    return _in_memory_splits("fake", images, labels, train_idx, test_idx, classes)


def _shuffled_labels(count: int, classes: int, generator: torch.Generator) -> torch.Tensor:
    """``count`` labels as evenly spread over the classes as possible, in seeded order."""
    return (torch.arange(count) % classes)[torch.randperm(count, generator=generator)]


def _load_folder(root: str | Path, seed: int, image_size: int | None) -> DatasetSplits:
    """An ImageFolder tree ``root/train/<class>/*`` with an optional ``root/test/<class>/*``."""
    root = Path(root).expanduser().resolve()
    layout = f"{root / 'train'}/<class>/*.png and optionally {root / 'test'}/<class>/*.png"
    train_dir, test_dir = root / "train", root / "test"
    if not train_dir.is_dir():
        raise ToolkitError(f"no folder {train_dir}: the folder dataset needs {layout}; --data-dir chooses the folder")
    size = FOLDER_IMAGE_SIZE if image_size is None else image_size
    transform = _image_transform((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), size)
    train = _image_folder(train_dir, transform, layout)
    classes = len(train.classes)
    if classes < 2:
        raise ToolkitError(f"{train_dir} has {classes} class folder(s) ({', '.join(train.classes)}); a classifier "
                           f"needs at least 2: add a folder per class, {layout}")
    if test_dir.is_dir():
        test = _image_folder(test_dir, transform, layout)
        if test.classes != train.classes:
            raise ToolkitError(
                f"{test_dir} has classes {test.classes} but {train_dir} has {train.classes}; use the same class folders"
            )
        _refuse_repeated_files(train.samples, test.samples)
    else:
        train_idx, test_idx = _stratified_split(torch.as_tensor(train.targets), TEST_FRACTION, seed)
        if not test_idx:
            raise ToolkitError(f"too few images in {train_dir} to hold out a test set; add {test_dir}/<class>/*.png")
        test, train = Subset(train, test_idx), Subset(train, train_idx)
    return DatasetSplits(train, test, classes, 3, size, "folder")


def _rgb_loader(path: str) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


class _LoopFreeImageFolder(datasets.ImageFolder):
    """An ImageFolder that follows directory symlinks but not loops (``train/a/self -> .``).

    torchvision's walk follows every link, so a loop adds each image again at every depth until the
    path grows too long. Here a directory whose real path is the link's own or an enclosing
    folder's is skipped: it holds no image not already found. The order of the samples is
    torchvision's (folders sorted by path, files by name), so trees without loops load as before.
    """

    @staticmethod
    def make_dataset(directory, class_to_idx, extensions=None, is_valid_file=None, allow_empty=False):
        samples = []
        for name in sorted(class_to_idx):
            top = os.path.join(directory, name)
            enclosing = {top: {os.path.realpath(top)}}  # each folder: its own and its parents' real paths
            walked = []
            for root, dirs, files in os.walk(top, followlinks=True):
                seen = enclosing.pop(root)
                dirs[:] = [d for d in dirs if os.path.realpath(os.path.join(root, d)) not in seen]
                for d in dirs:
                    enclosing[os.path.join(root, d)] = seen | {os.path.realpath(os.path.join(root, d))}
                walked.append((root, files))
            samples += [(os.path.join(root, f), class_to_idx[name]) for root, files in sorted(walked)
                        for f in sorted(files) if datasets.folder.has_file_allowed_extension(f, extensions)]
        empty = sorted(set(class_to_idx) - {os.path.relpath(p, directory).split(os.sep)[0] for p, _ in samples})
        if empty and not allow_empty:
            raise FileNotFoundError(f"no image files for the classes {', '.join(empty)}")
        return samples


def _refuse_repeated_files(train: list[tuple[str, int]], test: list[tuple[str, int]] = ()) -> None:
    """A ToolkitError when one image file is reached twice (by a symlink or hard link), in the training
    set or in both the training and the test set: accuracy on images also trained on means nothing."""
    first: dict[tuple[int, int], tuple[str, str]] = {}
    for split, samples in (("train", train), ("test", test)):
        for path, _ in samples:
            stat = os.stat(path)
            key = (stat.st_dev, stat.st_ino)
            if key not in first:
                first[key] = (split, path)
                continue
            other_split, other = first[key]
            why = ("a test image the network trains on tests nothing: remove it from one of the two folders"
                   if other_split != split else "it would count twice: remove one of them")
            raise ToolkitError(f"image '{path}' is the same file as '{other}' (a symlink or hard link); {why}")


def _image_folder(folder: Path, transform: Any, layout: str) -> datasets.ImageFolder:
    """An ImageFolder whose every image was checked to decode, so a bad file fails before a run starts;
    directory symlink loops are not followed and an image reached twice is refused."""
    try:
        found = _LoopFreeImageFolder(str(folder), transform=transform, loader=_rgb_loader)
    except (FileNotFoundError, OSError) as exc:
        raise ToolkitError(f"no usable class folders in {folder} ({_one_line(exc)}); the layout is {layout}") from None
    _refuse_repeated_files(found.samples)
    for path, _ in found.samples:
        try:
            with Image.open(path) as image:
                image.verify()
        except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError... for broken files
            raise ToolkitError(f"image '{path}' cannot be read ({_one_line(exc)}); remove or replace it") from None
    return found


def _image_transform(mean: tuple[float, ...], std: tuple[float, ...], size: int | None) -> transforms.Compose:
    steps = [] if size is None else [transforms.Resize((size, size))]
    return transforms.Compose(steps + [transforms.ToTensor(), transforms.Normalize(mean, std)])


def _load_builtin(name: str, root: str | Path, download: bool, image_size: int | None) -> DatasetSplits:
    """MNIST, Fashion-MNIST, CIFAR-10 or CIFAR-100 through torchvision, with one-line errors."""
    spec = _BUILTINS[name]
    root = Path(root).expanduser().resolve()
    transform = _image_transform(spec.mean, spec.std, image_size)
    try:
        _unpack_local_copy(spec, root)
        missing = _missing_files(spec, root)
        if missing and not download:
            why = f"{_describe_missing(spec, missing)}, downloading is off"
            raise ToolkitError(_missing_message(name, spec, root, why))
        train = spec.cls(str(root), train=True, transform=transform, download=download)
        test = spec.cls(str(root), train=False, transform=transform, download=False)
    except ToolkitError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure becomes one line that names the fix
        missing = _missing_files(spec, root)
        why = f"{_describe_missing(spec, missing)}, the download failed" if missing else "its files could not be read"
        raise ToolkitError(_missing_message(name, spec, root, f"{why}: {_one_line(exc)}")) from None
    size = spec.image_size if image_size is None else image_size
    return DatasetSplits(train, test, spec.num_classes, spec.in_channels, size, name)


def _missing_files(spec: _Builtin, root: Path) -> list[str]:
    folder = root / spec.folder
    return [name for name in spec.required if not (folder / name).is_file()]


def _describe_missing(spec: _Builtin, missing: list[str]) -> str:
    if len(missing) == len(spec.required):
        return "no files found"
    return f"{', '.join(missing)} missing"


def _missing_message(name: str, spec: _Builtin, root: Path, why: str) -> str:
    place = root if spec.archive else root / spec.folder
    return (
        f"cannot load {name} ({why}); put {spec.what} in {place} "
        f"(--data-dir chooses the data folder, now {root})"
    )


def _unpack_local_copy(spec: _Builtin, root: Path) -> None:
    """Unpacks files the user supplied packed: ``*.gz`` idx files, or the CIFAR ``.tar.gz`` archive."""
    folder = root / spec.folder
    if spec.archive is None:
        for name in spec.required:
            packed = folder / (name + ".gz")
            if not (folder / name).is_file() and packed.is_file():
                _gunzip(packed, folder / name)
    elif _missing_files(spec, root) and (root / spec.archive).is_file():
        extract_archive(str(root / spec.archive), str(root))


def _gunzip(source: Path, target: Path) -> None:
    partial = target.with_name(target.name + ".partial")
    with gzip.open(source, "rb") as src, open(partial, "wb") as dst:
        shutil.copyfileobj(src, dst)
    partial.replace(target)
