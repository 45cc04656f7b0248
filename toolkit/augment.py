"""The DARTS training protocol's data augmentation, as tensor ops on whole batches.

DARTS (H. Liu, K. Simonyan, Y. Yang, "DARTS: Differentiable Architecture Search", arXiv:1806.09055,
section 3.3 and its code) trains CIFAR evaluation networks on images randomly cropped after a
4-pixel padding, flipped left-right with probability 1/2 and, with cutout, with a 16x16 square
zeroed at a random centre (DeVries and Taylor, "Improved Regularization of Convolutional Neural
Networks with Cutout"). PC-DARTS, ADARTS and ME-DARTS evaluate with the same protocol.

The data sets here are in-memory tensors, so the augmentation runs on the batch where the step
runs (CPU or GPU), as a few indexing ops per batch rather than per-image work in a loader. The
randomness comes from a generator seeded by the run's seed, the epoch and the step, so a resumed
run draws exactly the crops, flips and squares an uninterrupted run draws, and the global RNG
(drop-path, dropout) is left untouched.

Two differences from the per-image torchvision transforms, both from working on normalised
tensors: the crop's padding is 0 in normalised units (the mean colour, where torchvision pads
raw pixels with black), and cutout zeroes normalised values, as the DARTS code's ``Cutout``
(applied after ``Normalize``) does.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

# Data sets whose training images the DARTS code crops and flips by default. Digits, MNIST-like
# sets, image folders and the synthetic set are left alone: a flip turns a 2 into something else.
AUGMENTED_BY_DEFAULT = ("cifar10", "cifar100")
DEFAULT_PADDING = 4  # DARTS: transforms.RandomCrop(32, padding=4)


@dataclass(frozen=True)
class Augmentation:
    """What is done to each training batch: crop after ``padding`` pixels (0: no crop), flip, cutout length."""

    padding: int = 0
    flip: bool = False
    cutout: int = 0

    @property
    def active(self) -> bool:
        return bool(self.padding or self.flip or self.cutout)


def resolve_augmentation(dataset: str, crop_padding: int | None, flip: bool | None, cutout: int) -> Augmentation:
    """The augmentation a config asks for; None takes the data set's default (on for CIFAR, off otherwise)."""
    default_on = dataset in AUGMENTED_BY_DEFAULT
    padding = (DEFAULT_PADDING if default_on else 0) if crop_padding is None else crop_padding
    return Augmentation(padding, default_on if flip is None else flip, cutout)


def step_generator(seed: int, epoch: int, step: int) -> torch.Generator:
    """A CPU generator for one step's draws, a function of (seed, epoch, step) only (resume-safe)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + epoch) * 1_000_003 + step)


def random_crop(x: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """Each image cropped back to its size at a random offset after zero-padding by ``padding``."""
    n, _, h, w = x.shape
    padded = F.pad(x, (padding, padding, padding, padding))
    dy = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(x.device)
    dx = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(x.device)
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]  # n x 1 x h x 1
    cols = (dx[:, None] + torch.arange(w, device=x.device))[:, None, None, :]  # n x 1 x 1 x w
    index = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(x.shape[1], device=x.device)[None, :, None, None]
    return padded[index, channel, rows, cols]


def random_flip(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image mirrored left-right with probability 1/2."""
    flip = (torch.rand(x.shape[0], generator=generator) < 0.5).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(3), x)


def cutout(x: torch.Tensor, length: int, generator: torch.Generator) -> torch.Tensor:
    """Each image with a ``length`` x ``length`` square zeroed around a uniform random centre, clipped at
    the border (the DARTS code's ``Cutout``: rows ``[cy - length//2, cy + length//2)``)."""
    n, _, h, w = x.shape
    cy = torch.randint(0, h, (n,), generator=generator).to(x.device)
    cx = torch.randint(0, w, (n,), generator=generator).to(x.device)
    half = length // 2
    ys, xs = torch.arange(h, device=x.device), torch.arange(w, device=x.device)
    in_rows = (ys[None, :] >= cy[:, None] - half) & (ys[None, :] < cy[:, None] + half)  # n x h
    in_cols = (xs[None, :] >= cx[:, None] - half) & (xs[None, :] < cx[:, None] + half)  # n x w
    square = in_rows[:, None, :, None] & in_cols[:, None, None, :]
    return x.masked_fill(square, 0.0)


def augment(x: torch.Tensor, augmentation: Augmentation, generator: torch.Generator) -> torch.Tensor:
    """A training batch ``N x C x H x W`` cropped, flipped and cut out as ``augmentation`` says (same shape)."""
    if augmentation.padding:
        x = random_crop(x, augmentation.padding, generator)
    if augmentation.flip:
        x = random_flip(x, generator)
    if augmentation.cutout:
        x = cutout(x, augmentation.cutout, generator)
    return x
