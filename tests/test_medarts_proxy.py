"""ME-DARTS proxy data: class-balanced, seeded, nested D_sample and half-resolution LANCZOS D_low."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from toolkit import ToolkitError
from toolkit.data import balanced_subset, labels_of, load_dataset
from toolkit.medarts.proxy import proxy_data
from toolkit.medarts.stages import Stage

STAGE = Stage("init", cells=3, channels=8, epochs=1, train_samples=300, population=4)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def rows(dataset) -> set[bytes]:
    return {image.numpy().tobytes() for image, _ in dataset}


def test_sample_is_exactly_class_balanced(digits):
    for samples, per_class in ((300, 30), (305, 30), (10, 1)):  # rounded down to a multiple of the classes
        data = proxy_data(digits, replace(STAGE, train_samples=samples))
        counts = torch.bincount(labels_of(data.train), minlength=10)
        assert counts.tolist() == [per_class] * 10
        assert len(data.train) == 10 * per_class


def test_sample_is_seeded_and_nested_across_stages(digits):
    small = proxy_data(digits, STAGE, seed=3)
    assert rows(small.train) == rows(proxy_data(digits, STAGE, seed=3).train)
    assert rows(small.train) != rows(proxy_data(digits, STAGE, seed=4).train)
    large = proxy_data(digits, replace(STAGE, name="final", train_samples=600), seed=3)
    assert rows(small.train) < rows(large.train)  # the stage with more samples keeps the smaller one's


def test_low_resolution_halves_with_lanczos(digits):
    data = proxy_data(digits, STAGE, seed=1)
    assert data.image_size == 4 and data.train[0][0].shape == (1, 4, 4)
    assert len(data.test) == len(digits.test) and data.test[0][0].shape == (1, 4, 4)
    index = balanced_subset(digits.train, per_class=30, seed=1).indices[0]  # the first sampled image
    plane = Image.fromarray(digits.train[index][0][0].numpy().astype(np.float32))
    expected = np.asarray(plane.resize((4, 4), Image.Resampling.LANCZOS), dtype=np.float32)
    np.testing.assert_array_equal(data.train[0][0][0].numpy(), expected)  # plain PIL recomputation
    assert data.train[0][1] == digits.train[index][1]


def test_native_resolution_keeps_the_full_test_set(digits):
    data = proxy_data(digits, replace(STAGE, downsample=1))
    assert data.image_size == 8 and data.train[0][0].shape == (1, 8, 8)
    assert data.test is digits.test


@pytest.mark.parametrize("fields, words", [
    ({"train_samples": 9}, "one image of each of the 10 classes"),
    ({"train_samples": 2000}, "use at most 1390 training samples"),
    ({"downsample": 16}, "leaves no pixel"),
])
def test_impossible_proxies_are_refused(digits, fields, words):
    with pytest.raises(ToolkitError, match=words):
        proxy_data(digits, replace(STAGE, **fields))
