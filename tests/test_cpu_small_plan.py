"""The cpu-small presets plan the same work on a 60,000-image 28x28 set as on digits (the plan, not the time).

Nothing is trained here: the data is seeded ``fake`` images of MNIST's shape, and the test reads
the planned image counts, image sizes and steps.
"""

import pytest

from toolkit.config import SearchConfig
from toolkit.data import load_dataset
from toolkit.medarts import MeDartsConfig, proxy_data
from toolkit.medarts.run import member_steps
from toolkit.tsenas import ts_enas_config
from toolkit.tsenas.run import search_data, search_plan


@pytest.fixture(scope="module")
def mnist_sized():
    return load_dataset("fake", fake_size=60_000, fake_image_size=28)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def test_ts_enas_cpu_small_plans_digits_sized_work_on_60000_images(mnist_sized, digits):
    big_config, small_config = ts_enas_config("cpu-small", dataset="fake"), ts_enas_config("cpu-small")
    big = search_plan(big_config, search_data(big_config, mnist_sized))
    small = search_plan(small_config, search_data(small_config, digits))
    assert big["train_images"] + big["valid_images"] == 1500  # the class-balanced cap, 150 per class
    assert big["valid_images"] == 150  # D_valid: 10% of them
    assert small["train_images"] + small["valid_images"] == len(digits.train)  # digits stays whole
    assert big["image_size"] == small["image_size"] == 8  # 28x28 shrunk to digits' 8x8
    for key in ("supernet_steps", "candidate_steps"):
        assert big[key] <= 1.1 * small[key], key
    assert big["candidates"] == small["candidates"]
    shrunk = search_data(big_config, mnist_sized)
    assert tuple(shrunk.train[0][0].shape) == (1, 8, 8)
    assert len(shrunk.test) == len(mnist_sized.test)  # the test split keeps every image, shrunk when read


def test_the_paper_preset_keeps_every_image_at_full_size(mnist_sized):
    config = ts_enas_config("paper", dataset="fake")
    plan = search_plan(config, search_data(config, mnist_sized))
    assert plan["train_images"] + plan["valid_images"] == 60_000 and plan["image_size"] == 28
    assert plan["valid_images"] == 6_000  # section V.C: 10% of the training images


def test_me_darts_cpu_small_plans_digits_sized_work_on_60000_images(mnist_sized, digits):
    config = MeDartsConfig(SearchConfig(dataset="fake"), preset="cpu-small")
    for stage in config.stages:
        search = config.member_config(stage, 0)
        proxy = proxy_data(mnist_sized, stage)
        assert len(proxy.train) == stage.train_samples and proxy.image_size == 8  # 28 -> 14 (D_low) -> 8
        assert tuple(proxy.train[0][0].shape) == (1, 8, 8)
        assert member_steps(mnist_sized, stage, search) == member_steps(digits, stage, search)
        assert proxy_data(digits, stage).image_size == 4  # digits' D_low is unchanged: 8x8 -> 4x4
