"""Tests for toolkit.data: every loader reads files written here in the real on-disk formats."""

from __future__ import annotations

import gzip
import pickle
import struct
import tarfile
from typing import ClassVar

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import ConcatDataset, Dataset, Subset, TensorDataset

from toolkit.data import (
    DATASETS,
    DatasetSplits,
    ImageTensorDataset,
    LowResolutionDataset,
    balanced_subset,
    labels_of,
    load_dataset,
    low_resolution,
    split_train_val,
)
from toolkit.errors import ToolkitError

# ---------------------------------------------------------------- writers for the real file formats


def write_idx(path, array: np.ndarray, gz: bool = False) -> None:
    """Writes an unsigned-byte idx file: magic 0x0000 08 <ndim>, big-endian dims, then the bytes."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    payload = header + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    if gz:
        with gzip.open(str(path) + ".gz", "wb") as handle:
            handle.write(payload)
    else:
        path.write_bytes(payload)


def write_mnist(root, folder: str, n_train: int = 20, n_test: int = 10, gz: bool = False, seed: int = 0):
    """Writes the four MNIST idx files under ``root/<folder>/raw``; returns the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, array in arrays.items():
        write_idx(root / folder / "raw" / name, array, gz=gz)
    return arrays


class Py2Pickler(pickle._Pickler):
    """Pickles like Python 2 did for the official CIFAR files: ``str`` and ``bytes`` become byte strings.

    Python 2 wrote its ``str`` (keys, names and the raw array data) as SHORT_BINSTRING / BINSTRING,
    which Python 3 reads back as ``str`` under torchvision's ``encoding="latin1"``.
    """

    dispatch: ClassVar[dict] = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj: str | bytes) -> None:
        raw = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[str] = save_py2_str
    dispatch[bytes] = save_py2_str


def dump(path, obj: dict, style: str) -> None:
    """``py2``: the official format; ``bytes``: a Python 3 re-save whose keys are ``b'data'`` etc."""
    with open(path, "wb") as handle:
        if style == "py2":
            Py2Pickler(handle, protocol=2).dump(obj)
        else:
            pickle.dump({key.encode(): value for key, value in obj.items()}, handle)


def cifar_batch(rng, n: int, classes: int, label_key: str) -> dict:
    batch = {
        "batch_label": "batch",
        "data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
        label_key: [int(v) for v in rng.integers(0, classes, n)],
        "filenames": [f"img_{i}.png" for i in range(n)],
    }
    if label_key == "fine_labels":
        batch["coarse_labels"] = [v % 20 for v in batch[label_key]]
    return batch


def write_cifar10(folder, n: int = 3, style: str = "py2", seed: int = 0) -> dict:
    """Writes cifar-10-batches-py: data_batch_1..5, test_batch and batches.meta."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    batches = {f"data_batch_{i}": cifar_batch(rng, n, 10, "labels") for i in range(1, 6)}
    batches["test_batch"] = cifar_batch(rng, n + 1, 10, "labels")
    for name, batch in batches.items():
        dump(folder / name, batch, style)
    meta = {"num_cases_per_batch": n, "label_names": [f"class{i}" for i in range(10)], "num_vis": 3072}
    dump(folder / "batches.meta", meta, style)
    return batches


def write_cifar100(folder, n: int = 6, style: str = "py2", seed: int = 0) -> dict:
    """Writes cifar-100-python: train, test and meta with fine and coarse labels."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    batches = {"train": cifar_batch(rng, n, 100, "fine_labels"), "test": cifar_batch(rng, n // 2, 100, "fine_labels")}
    for name, batch in batches.items():
        dump(folder / name, batch, style)
    meta = {"fine_label_names": [f"f{i}" for i in range(100)], "coarse_label_names": [f"c{i}" for i in range(20)]}
    dump(folder / "meta", meta, style)
    return batches


COLOURS = {"cat": (200, 30, 40), "dog": (10, 220, 90), "owl": (128, 128, 255)}


def write_folder_split(folder, per_class: int) -> None:
    """Writes ``per_class`` 12x10 PNGs of one solid colour into each class folder."""
    for name, colour in COLOURS.items():
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            Image.new("RGB", (12, 10), colour).save(folder / name / f"{i}.png")


def cifar_pixel(row: np.ndarray, channel: int, y: int, x: int) -> int:
    return int(row[channel * 1024 + y * 32 + x])


# ---------------------------------------------------------------- digits and fake


@pytest.fixture(scope="module")
def digits() -> DatasetSplits:
    return load_dataset("digits")


def test_digits_shapes_and_split(digits):
    assert (digits.name, digits.num_classes, digits.in_channels, digits.image_size) == ("digits", 10, 1, 8)
    assert len(digits.train) + len(digits.test) == 1797
    assert 350 <= len(digits.test) <= 370
    image, label = digits.train[0]
    assert image.shape == (1, 8, 8) and image.dtype == torch.float32 and isinstance(label, int)
    assert abs(float(digits.train.images.mean())) < 1e-4 and abs(float(digits.train.images.std()) - 1) < 1e-3
    test_counts = torch.bincount(labels_of(digits.test), minlength=10)
    all_counts = test_counts + torch.bincount(labels_of(digits.train), minlength=10)
    assert torch.all((test_counts.float() - 0.2 * all_counts.float()).abs() <= 1)  # stratified


def test_digits_seeded_and_disjoint(digits):
    again = load_dataset("digits", seed=0)
    other = load_dataset("digits", seed=1)
    assert torch.equal(again.train.images, digits.train.images)
    assert torch.equal(again.test.targets, digits.test.targets)
    assert not torch.equal(other.test.images, digits.test.images)
    train_rows = {row.numpy().tobytes() for row in digits.train.images.flatten(1)}
    assert not any(row.numpy().tobytes() in train_rows for row in digits.test.images.flatten(1))


def test_digits_resize():
    splits = load_dataset("digits", image_size=16)
    assert splits.image_size == 16 and splits.train[0][0].shape == (1, 16, 16)


def test_fake_is_seeded_sized_and_learnable():
    kwargs = {"fake_size": 40, "fake_classes": 4, "fake_image_size": 12, "fake_channels": 3}
    splits = load_dataset("fake", seed=3, **kwargs)
    assert (len(splits.train), len(splits.test), splits.num_classes, splits.in_channels) == (40, 10, 4, 3)
    assert splits.train[0][0].shape == (3, 12, 12) and splits.image_size == 12
    assert torch.equal(load_dataset("fake", seed=3, **kwargs).train.images, splits.train.images)
    assert not torch.equal(load_dataset("fake", seed=4, **kwargs).train.images, splits.train.images)
    assert torch.bincount(splits.train.targets).tolist() == [10, 10, 10, 10]
    default = load_dataset("fake")
    assert (len(default.train), len(default.test), default.train[0][0].shape) == (256, 64, (1, 8, 8))
    means = torch.stack([default.train.images[default.train.targets == c].mean(0) for c in range(10)])
    guesses = torch.cdist(default.test.images.flatten(1), means.flatten(1)).argmin(1)
    assert (guesses == default.test.targets).float().mean() > 0.8  # nearest class mean already learns it


def test_unknown_and_bad_arguments():
    with pytest.raises(ToolkitError, match=r"unknown dataset 'imagenet'; choose one of: digits, mnist"):
        load_dataset("imagenet")
    assert set(DATASETS) == {"digits", "mnist", "fashion_mnist", "cifar10", "cifar100", "folder", "fake"}
    with pytest.raises(ToolkitError, match="image_size"):
        load_dataset("digits", image_size=0)
    with pytest.raises(ToolkitError, match="fake"):
        load_dataset("fake", fake_classes=1)


# ---------------------------------------------------------------- MNIST and Fashion-MNIST


@pytest.mark.parametrize(
    ("name", "folder", "mean", "std", "gz"),
    [("mnist", "MNIST", 0.1307, 0.3081, False), ("fashion_mnist", "FashionMNIST", 0.2860, 0.3530, True)],
)
def test_mnist_like_from_idx_files(tmp_path, name, folder, mean, std, gz):
    arrays = write_mnist(tmp_path, folder, gz=gz)
    splits = load_dataset(name, tmp_path, download=False)
    assert (splits.name, splits.num_classes, splits.in_channels, splits.image_size) == (name, 10, 1, 28)
    assert (len(splits.train), len(splits.test)) == (20, 10)
    image, label = splits.train[3]
    assert image.shape == (1, 28, 28) and label == arrays["train-labels-idx1-ubyte"][3]
    expected = (arrays["train-images-idx3-ubyte"][3, 5, 7] / 255 - mean) / std
    assert float(image[0, 5, 7]) == pytest.approx(expected, abs=1e-5)
    assert splits.test[9][1] == arrays["t10k-labels-idx1-ubyte"][9]
    assert labels_of(splits.train).tolist() == arrays["train-labels-idx1-ubyte"].tolist()


def test_mnist_resize(tmp_path):
    write_mnist(tmp_path, "MNIST")
    splits = load_dataset("mnist", tmp_path, download=False, image_size=14)
    assert splits.image_size == 14 and splits.train[0][0].shape == (1, 14, 14)


# ---------------------------------------------------------------- CIFAR-10 and CIFAR-100

CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)


@pytest.mark.parametrize("style", ["py2", "bytes"])
def test_cifar10_from_batch_files(tmp_path, style):
    batches = write_cifar10(tmp_path / "cifar-10-batches-py", style=style)
    splits = load_dataset("cifar10", tmp_path, download=False)
    assert (splits.num_classes, splits.in_channels, splits.image_size) == (10, 3, 32)
    assert (len(splits.train), len(splits.test)) == (15, 4)
    image, label = splits.train[4]  # second image of data_batch_2
    row = batches["data_batch_2"]["data"][1]
    assert image.shape == (3, 32, 32) and label == batches["data_batch_2"]["labels"][1]
    for channel, y, x in [(0, 0, 0), (1, 5, 9), (2, 31, 30)]:
        expected = (cifar_pixel(row, channel, y, x) / 255 - CIFAR10_MEAN[channel]) / CIFAR10_STD[channel]
        assert float(image[channel, y, x]) == pytest.approx(expected, abs=1e-5)
    assert labels_of(splits.test).tolist() == batches["test_batch"]["labels"]
    assert splits.train.classes[3] == "class3"


def test_cifar10_from_archive(tmp_path):
    write_cifar10(tmp_path / "src" / "cifar-10-batches-py")
    (tmp_path / "data").mkdir()
    with tarfile.open(tmp_path / "data" / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    splits = load_dataset("cifar10", tmp_path / "data", download=False)
    assert (len(splits.train), len(splits.test)) == (15, 4)


def test_cifar100_from_batch_files(tmp_path):
    batches = write_cifar100(tmp_path / "cifar-100-python")
    splits = load_dataset("cifar100", tmp_path, download=False)
    assert (splits.num_classes, splits.in_channels, len(splits.train), len(splits.test)) == (100, 3, 6, 3)
    image, label = splits.test[2]
    assert label == batches["test"]["fine_labels"][2]
    expected = (cifar_pixel(batches["test"]["data"][2], 1, 7, 3) / 255 - 0.4865) / 0.2564
    assert float(image[1, 7, 3]) == pytest.approx(expected, abs=1e-5)
    assert splits.train.classes[99] == "f99"


def test_unreadable_cifar_file_is_one_line_error(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    write_cifar10(folder)
    (folder / "test_batch").write_bytes(b"not a pickle")
    with pytest.raises(ToolkitError, match="could not be read") as caught:
        load_dataset("cifar10", tmp_path, download=False)
    assert str(tmp_path.resolve()) in str(caught.value) and "\n" not in str(caught.value)


# ---------------------------------------------------------------- missing files


@pytest.mark.parametrize(
    ("name", "place", "needs"),
    [
        ("mnist", "data/MNIST/raw", "train-images-idx3-ubyte(.gz)"),
        ("Fashion-MNIST", "data/FashionMNIST/raw", "t10k-labels-idx1-ubyte(.gz)"),
        ("cifar10", "data", "cifar-10-batches-py"),
        ("cifar100", "data", "cifar-100-python"),
    ],
)
def test_missing_files_name_absolute_folder(tmp_path, monkeypatch, name, place, needs):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ToolkitError) as caught:
        load_dataset(name, "data", download=False)
    message = str(caught.value)
    assert f"in {tmp_path.resolve() / place} " in message and needs in message and "--data-dir" in message
    assert "\n" not in message


def test_partly_missing_mnist_names_missing_file(tmp_path):
    write_mnist(tmp_path, "MNIST")
    (tmp_path / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(ToolkitError, match=r"t10k-labels-idx1-ubyte missing"):
        load_dataset("mnist", tmp_path, download=False)


# ---------------------------------------------------------------- ImageFolder trees


def test_folder_with_test_split(tmp_path):
    write_folder_split(tmp_path / "train", 4)
    write_folder_split(tmp_path / "test", 2)
    Image.new("L", (9, 9), 77).save(tmp_path / "train" / "owl" / "gray.png")  # grayscale becomes RGB
    splits = load_dataset("folder", tmp_path)
    assert (splits.num_classes, splits.in_channels, splits.image_size) == (3, 3, 32)
    assert (len(splits.train), len(splits.test)) == (13, 6)
    image, label = splits.train[0]
    assert image.shape == (3, 32, 32) and label == 0  # "cat" sorts first
    expected = [(value / 255 - 0.5) / 0.5 for value in COLOURS["cat"]]
    assert image[:, 16, 16].tolist() == pytest.approx(expected, abs=1e-5)
    assert sorted(labels_of(splits.test).tolist()) == [0, 0, 1, 1, 2, 2]
    assert load_dataset("folder", tmp_path, image_size=16).train[0][0].shape == (3, 16, 16)


def test_folder_without_test_split_holds_out_stratified_20_percent(tmp_path):
    write_folder_split(tmp_path / "train", 5)
    splits = load_dataset("folder", tmp_path, seed=1)
    assert (len(splits.train), len(splits.test)) == (12, 3)
    assert set(splits.train.indices).isdisjoint(splits.test.indices)
    assert sorted(labels_of(splits.test).tolist()) == [0, 1, 2]
    assert load_dataset("folder", tmp_path, seed=1).test.indices == splits.test.indices


def test_folder_errors_name_layout(tmp_path):
    with pytest.raises(ToolkitError, match="train/<class>/") as caught:
        load_dataset("folder", tmp_path / "nowhere")
    assert str((tmp_path / "nowhere" / "train").resolve()) in str(caught.value)
    (tmp_path / "train").mkdir()
    with pytest.raises(ToolkitError, match="no usable class folders.*train/<class>/"):
        load_dataset("folder", tmp_path)
    write_folder_split(tmp_path / "train", 2)
    (tmp_path / "test" / "cat").mkdir(parents=True)
    Image.new("RGB", (4, 4)).save(tmp_path / "test" / "cat" / "0.png")
    with pytest.raises(ToolkitError, match="same class folders"):
        load_dataset("folder", tmp_path)


# ---------------------------------------------------------------- subsets, low resolution, splits, labels


def test_balanced_subset_counts_are_equal(digits):
    subset = balanced_subset(digits.train, per_class=7, seed=2)
    assert torch.bincount(labels_of(subset)).tolist() == [7] * 10
    counts = torch.bincount(labels_of(digits.train))
    by_fraction = balanced_subset(digits.train, fraction=0.25)
    expected = min(int(0.25 * int(c) + 0.5) for c in counts)
    assert torch.bincount(labels_of(by_fraction)).tolist() == [expected] * 10
    assert balanced_subset(digits.train, per_class=7, seed=2).indices == subset.indices
    assert balanced_subset(digits.train, per_class=7, seed=3).indices != subset.indices


def test_balanced_subset_errors(digits):
    for kwargs in ({}, {"fraction": 0.5, "per_class": 3}, {"per_class": 10_000}, {"fraction": 0.0}):
        with pytest.raises(ToolkitError):
            balanced_subset(digits.train, **kwargs)


def test_low_resolution_halves_with_lanczos(digits):
    low = low_resolution(digits.train)
    assert isinstance(low, ImageTensorDataset) and len(low) == len(digits.train)
    image, label = low[5]
    assert image.shape == (1, 4, 4) and label == digits.train[5][1]
    plane = Image.fromarray(digits.train[5][0][0].numpy())
    lanczos = np.asarray(plane.resize((4, 4), Image.LANCZOS))
    bilinear = np.asarray(plane.resize((4, 4), Image.BILINEAR))
    assert np.allclose(image[0].numpy(), lanczos, atol=1e-6)
    assert not np.allclose(image[0].numpy(), bilinear, atol=1e-3)
    assert torch.equal(labels_of(low), labels_of(digits.train))


def test_low_resolution_of_subsets_and_lazy_datasets(tmp_path, digits):
    subset = Subset(digits.train, [9, 2, 4])
    low = low_resolution(subset, factor=2)
    assert torch.equal(low.images[0], low_resolution(digits.train)[9][0])
    write_folder_split(tmp_path / "train", 2)
    folder = load_dataset("folder", tmp_path, image_size=8)
    lazy = low_resolution(folder.train, factor=4)
    assert isinstance(lazy, LowResolutionDataset)
    assert lazy[0][0].shape == (3, 2, 2) and labels_of(lazy).tolist() == labels_of(folder.train).tolist()
    with pytest.raises(ToolkitError, match="factor"):
        low_resolution(digits.train, factor=9)


def test_split_train_val_is_seeded_disjoint_and_covering(digits):
    first, second = split_train_val(digits.train, seed=4)
    assert len(first) == len(digits.train) // 2 and len(first) + len(second) == len(digits.train)
    assert set(first.indices).isdisjoint(second.indices)
    assert split_train_val(digits.train, seed=4)[0].indices == first.indices
    assert split_train_val(digits.train, seed=5)[0].indices != first.indices
    assert len(split_train_val(digits.train, fraction=0.25)[0]) == int(0.25 * len(digits.train))
    with pytest.raises(ToolkitError):
        split_train_val(digits.train, fraction=1.0)
    with pytest.raises(ToolkitError):
        split_train_val(Subset(digits.train, [0]))


class PlainDataset(Dataset):
    def __len__(self) -> int:
        return 3

    def __getitem__(self, index: int):
        return torch.zeros(1, 2, 2), torch.tensor(2 - index)


def test_labels_of_every_kind_of_dataset():
    tensors = TensorDataset(torch.zeros(5, 1, 2, 2), torch.tensor([4, 3, 2, 1, 0]))
    nested = Subset(Subset(tensors, [4, 3, 1]), [2, 0])
    assert labels_of(nested).tolist() == [3, 0]
    assert labels_of(ConcatDataset([tensors, PlainDataset()])).tolist() == [4, 3, 2, 1, 0, 2, 1, 0]
    assert labels_of(ImageTensorDataset(torch.zeros(2, 1, 2, 2), torch.tensor([1, 0]))).dtype == torch.long
    low = low_resolution(nested)
    assert labels_of(low).tolist() == [3, 0] and low[0][0].shape == (1, 1, 1)
