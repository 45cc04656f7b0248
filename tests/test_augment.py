"""The DARTS training protocol's crop, flip and cutout (toolkit.augment) and their use in training."""

import pytest
import torch

from toolkit.augment import Augmentation, augment, cutout, random_crop, random_flip, step_generator
from toolkit.config import TrainConfig
from toolkit.errors import ToolkitError
from toolkit.genotype import load_architecture
from toolkit.train import train_network


def numbered(n=512, size=8):
    """Images whose pixels are all distinct and positive, so every crop offset and flip is recognisable."""
    return torch.arange(1, n * size * size + 1, dtype=torch.float32).reshape(n, 1, size, size)


def test_every_augmentation_keeps_the_shape():
    x = torch.randn(16, 3, 12, 12)
    g = step_generator(0, 0, 0)
    for out in (random_crop(x, 4, g), random_flip(x, g), cutout(x, 5, g),
                augment(x, Augmentation(padding=4, flip=True, cutout=16), g)):
        assert out.shape == x.shape and out.dtype == x.dtype


def test_crops_are_windows_of_the_padded_image_at_every_offset():
    x, padding = numbered(), 2
    out = random_crop(x, padding, step_generator(1, 0, 0))
    padded = torch.nn.functional.pad(x, (padding,) * 4)
    offsets = []
    for image, source in zip(out, padded):
        found = [(dy, dx) for dy in range(2 * padding + 1) for dx in range(2 * padding + 1)
                 if torch.equal(image, source[:, dy:dy + 8, dx:dx + 8])]
        assert len(found) == 1  # every output is exactly one window of its own padded image
        offsets.append(found[0])
    counts = torch.bincount(torch.tensor([dy * 5 + dx for dy, dx in offsets]), minlength=25)
    assert (counts > 0).all()  # all 25 offsets occur (expected ~20 each of 512)
    assert counts.max() < 60
    unchanged = sum(off == (padding, padding) for off in offsets)
    assert unchanged < 60  # the centred crop (the input itself) only at its 1/25 rate


def test_flips_happen_for_about_half_the_images():
    x = numbered(2000)
    out = random_flip(x, step_generator(2, 0, 0))
    flipped = torch.tensor([torch.equal(o, i.flip(2)) for o, i in zip(out, x)])
    kept = torch.tensor([torch.equal(o, i) for o, i in zip(out, x)])
    assert bool((flipped ^ kept).all())  # each image is either mirrored or untouched
    assert 0.45 < flipped.float().mean().item() < 0.55


def test_cutout_zeros_one_square_of_the_given_side_clipped_at_the_border():
    x = torch.ones(400, 2, 40, 40)
    out = cutout(x, 16, step_generator(3, 0, 0))
    zeros = out[:, 0] == 0
    assert torch.equal(zeros, out[:, 1] == 0)  # the same square in every channel
    for mask in zeros:
        rows, cols = mask.any(1).nonzero().flatten(), mask.any(0).nonzero().flatten()
        h, w = len(rows), len(cols)
        assert 1 <= h <= 16 and 1 <= w <= 16 and mask.sum() == h * w  # one filled rectangle
        assert rows[-1] - rows[0] + 1 == h and cols[-1] - cols[0] + 1 == w
    full = sum(int(m.sum()) == 256 for m in zeros)
    assert full > 100  # centres away from the border give the whole 16 x 16 square (expected ~ 0.36 of 400)


def test_defaults_follow_the_data_set_and_the_fields_override_them():
    assert TrainConfig(dataset="digits").augmentation == Augmentation(0, False, 0)  # flips change digits
    for name in ("mnist", "fashion_mnist", "folder", "fake"):
        assert not TrainConfig(dataset=name).augmentation.active
    assert TrainConfig(dataset="cifar10").augmentation == Augmentation(4, True, 0)  # as the DARTS code
    assert TrainConfig(dataset="cifar100", cutout=16, flip=False).augmentation == Augmentation(4, False, 16)
    assert TrainConfig(dataset="digits", crop_padding=2, flip=True).augmentation == Augmentation(2, True, 0)
    assert TrainConfig(dataset="cifar10", crop_padding=0, flip=False).augmentation.active is False
    with pytest.raises(ToolkitError, match="cutout must be >= 0"):
        TrainConfig(cutout=-1)
    with pytest.raises(ToolkitError, match="crop_padding"):
        TrainConfig(crop_padding=-2)


def test_draws_depend_on_seed_epoch_and_step_only():
    x = numbered(64)
    protocol = Augmentation(padding=2, flip=True, cutout=3)
    torch.manual_seed(123)
    a = augment(x, protocol, step_generator(5, 1, 7))
    torch.manual_seed(999)  # the global RNG (drop-path, dropout) plays no part
    assert torch.equal(a, augment(x, protocol, step_generator(5, 1, 7)))
    assert not torch.equal(a, augment(x, protocol, step_generator(5, 1, 8)))
    assert not torch.equal(a, augment(x, protocol, step_generator(6, 1, 7)))


def test_training_uses_the_augmentation_and_stays_reproducible():
    arch = load_architecture("DARTS_V2")
    base = dict(dataset="fake", epochs=1, batch_size=64, channels=4, cells=3, seed=0)
    plain = train_network(arch, TrainConfig(**base))
    protocol = dict(base, crop_padding=2, flip=True, cutout=4)
    first = train_network(arch, TrainConfig(**protocol))
    second = train_network(arch, TrainConfig(**protocol))
    assert first.history == second.history  # same seed, same draws
    assert first.history[0]["train_loss"] != plain.history[0]["train_loss"]  # the batches were changed
