"""ME-DARTS' proxy data: D_sample and D_low (ME-DARTS paper section III.C.2 and IV.A).

The search never sees the full training set. Each stage searches on

- ``D_sample``: the same number of images from every class of the training split (a
  "partial sample" whose class distribution equals the full set's), more images each stage
  (Table II: 10000, 10000, 20000 of CIFAR-10's 50000);
- ``D_low``: those images shrunk with LANCZOS to half the native resolution (32x32 -> 16x16).

Evaluation (the final network's training and test) uses the original data only.

Samples are seeded and nested: for one seed, the images of a smaller stage's sample are part of
every larger stage's sample, because :func:`toolkit.data.balanced_subset` takes the first images
of one seeded shuffle per class.

Shrinking uses PIL's LANCZOS filter on each channel as a 32-bit float image
(:func:`toolkit.data.low_resolution`); torchvision's ``InterpolationMode.LANCZOS`` works on PIL
images only, not on the normalised float tensors the toolkit's datasets hold.

Paper: "ME-DARTS: Introduce Multi-stage Evolution to Improve Differentiable Architecture Search",
Y. Chen, R. Shi, J. Luo.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from ..data import DatasetSplits, LowResolutionDataset, balanced_subset, labels_of, low_resolution
from ..errors import ToolkitError
from ..holdout import resized
from .stages import Stage


def sample_size(data: DatasetSplits, stage: Stage) -> int:
    """Images per class in the stage's ``D_sample``: ``train_samples // num_classes``.

    Raises:
        ToolkitError: fewer samples than classes, or more per class than the smallest class holds.
    """
    per_class = stage.train_samples // data.num_classes
    if per_class < 1:
        raise ToolkitError(f"stage {stage.name}: {stage.train_samples} training samples cannot hold one image of "
                           f"each of the {data.num_classes} classes; raise train_samples")
    smallest = int(torch.unique(labels_of(data.train), return_counts=True)[1].min())
    if per_class > smallest:
        raise ToolkitError(f"stage {stage.name}: {stage.train_samples} training samples need {per_class} images per "
                           f"class, but {data.name}'s smallest class has {smallest}; use at most "
                           f"{smallest * data.num_classes} training samples")
    return per_class


def proxy_data(data: DatasetSplits, stage: Stage, seed: int = 0) -> DatasetSplits:
    """The stage's search data: ``D_sample`` of the training split at ``D_low`` resolution.

    Args:
        data: the full dataset (train and test splits).
        stage: gives the sample size (``train_samples``, rounded down to a multiple of the class
            count so every class has the same count) and the shrink factor (``downsample``).
        seed: seeds which images are sampled; the same seed gives nested samples across stages.

    Returns:
        Splits whose train set is ``D_low(D_sample(train))`` (shrunk further to the stage's
        ``max_image_size`` where it is set) and whose test set is the test split at the same size,
        shrunk lazily when read (the search never reads it: it selects on the α half of D_sample).

    Raises:
        ToolkitError: a sample too small or too big for the data, or a shrink factor that leaves no
            pixel (e.g. ``downsample=16`` on 8x8 images).
    """
    per_class = sample_size(data, stage)
    train = balanced_subset(data.train, per_class=per_class, seed=seed)
    test, size = data.test, data.image_size
    if stage.downsample > 1:
        if data.image_size // stage.downsample < 1:
            raise ToolkitError(f"stage {stage.name}: downsample {stage.downsample} leaves no pixel of "
                               f"{data.image_size}x{data.image_size} images; use a factor up to {data.image_size}")
        train, test = low_resolution(train, stage.downsample), LowResolutionDataset(test, stage.downsample)
        size = data.image_size // stage.downsample
    if stage.max_image_size is not None and size > stage.max_image_size:
        size = stage.max_image_size
        train, test = resized(train, size), resized(test, size, eager=False)
    return replace(data, train=train, test=test, image_size=size)
