"""Does the proxy data keep the ranking? ME-DARTS paper section IV.D.2, Figs. 5 and 6.

The search only needs the *relative* performance of the individuals (section III.C.1), so the
proxy data ``D_sample`` / ``D_low`` is good enough when architectures rank the same on it as on the
full data. The paper trains 10 random networks on both, plots the pairs of accuracies and gives
the correlation coefficient of their trend line (0.9899 for D_sample, 0.8827 for D_low): Pearson's
r, :func:`pearson_r`, reported here as the paper does. Since the search only needs the order, the
agreement of the two rankings is also measured with Kendall's τ (:func:`kendall_tau`), which the
paper does not use: 1 for the same order, -1 for the reverse, about 0 for unrelated orders.

:func:`check_proxy` samples random cell pairs, trains each on the stage's proxy data and on the
full data with the same settings, and returns both accuracy lists, r and τ. A stage with
``downsample=1`` checks ``D_sample`` alone (Fig. 5); one whose ``train_samples`` covers the whole
training set checks ``D_low`` alone (Fig. 6).

Paper: "ME-DARTS: Introduce Multi-stage Evolution to Improve Differentiable Architecture Search",
Y. Chen, R. Shi, J. Luo.

Example:
    >>> round(kendall_tau([0.61, 0.70, 0.52, 0.66], [0.90, 0.95, 0.85, 0.93])[0], 6)
    1.0
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass

from ..config import TrainConfig
from ..data import DatasetSplits
from ..errors import ToolkitError
from ..genotype import CellPair, Genotype
from ..space import SearchSpace
from ..train import train_network
from .proxy import proxy_data
from .stages import Stage


@dataclass(frozen=True)
class ProxyCheck:
    """Accuracies of the same architectures trained on proxy and on full data, and their rank agreement.

    Attributes:
        architectures: the cell pairs, in the order of the accuracy lists.
        proxy_acc: test accuracy after training on the proxy data (scored at the proxy resolution).
        full_acc: test accuracy after training on the full data.
        tau: Kendall's τ (τ-b, which accounts for ties) between the two lists; NaN when one list
            has a single value throughout (no ranking to compare).
        p_value: the two-sided p-value of τ under "no association" (NaN with τ).
        r: Pearson's correlation coefficient of the two lists, the figure the paper reports (NaN
            when one list is constant).
    """

    architectures: tuple[CellPair, ...]
    proxy_acc: tuple[float, ...]
    full_acc: tuple[float, ...]
    tau: float
    p_value: float
    r: float = math.nan


def _check_pairs(proxy_acc: Sequence[float], full_acc: Sequence[float]) -> None:
    if len(proxy_acc) != len(full_acc):
        raise ToolkitError(f"{len(proxy_acc)} proxy accuracies but {len(full_acc)} full-data accuracies; "
                           f"give one of each per architecture")
    if len(proxy_acc) < 2:
        raise ToolkitError(f"a ranking needs at least two architectures, got {len(proxy_acc)}")
    values = [float(v) for v in (*proxy_acc, *full_acc)]
    if not all(math.isfinite(v) for v in values):
        raise ToolkitError("accuracies must be finite numbers (a diverged training has none)")


def pearson_r(proxy_acc: Sequence[float], full_acc: Sequence[float]) -> float:
    """Pearson's correlation coefficient of two accuracy lists (the paper's Figs. 5 and 6 figure).

    Returns:
        r in [-1, 1]; NaN when either list is constant.

    Raises:
        ToolkitError: lists of different lengths, fewer than two entries, or non-finite values.
    """
    _check_pairs(proxy_acc, full_acc)
    x, y = [float(v) for v in proxy_acc], [float(v) for v in full_acc]
    mx, my = sum(x) / len(x), sum(y) / len(y)
    sxy = sum((a - mx) * (b - my) for a, b in zip(x, y))
    sxx, syy = sum((a - mx) ** 2 for a in x), sum((b - my) ** 2 for b in y)
    return sxy / math.sqrt(sxx * syy) if sxx > 0 and syy > 0 else math.nan


def kendall_tau(proxy_acc: Sequence[float], full_acc: Sequence[float]) -> tuple[float, float]:
    """Kendall's τ-b between two accuracy lists and its p-value (``scipy.stats.kendalltau``).

    Returns:
        ``(tau, p_value)``; both NaN when either list is constant.

    Raises:
        ToolkitError: lists of different lengths, fewer than two entries, or non-finite values.
    """
    _check_pairs(proxy_acc, full_acc)
    from scipy.stats import kendalltau  # scipy.stats takes a noticeable time to import; only needed here

    result = kendalltau(proxy_acc, full_acc)
    return float(result.statistic), float(result.pvalue)


def random_cell_pair(space: SearchSpace, rng: random.Random) -> CellPair:
    """A uniformly random DARTS cell pair: each node reads two different earlier states with random non-'none' ops."""
    ops = [op for op in space.ops if op != "none"]

    def cell() -> Genotype:
        nodes = []
        for i in range(space.nodes):
            inputs = sorted(rng.sample(range(2 + i), min(2, 2 + i)))
            nodes.append(tuple((rng.choice(ops), j) for j in inputs))
        return Genotype(tuple(nodes), tuple(range(2, 2 + space.nodes)))

    return CellPair(cell(), cell())


def check_proxy(data: DatasetSplits, stage: Stage, config: TrainConfig, count: int = 5, seed: int = 0,
                space: SearchSpace = SearchSpace()) -> ProxyCheck:
    """Train ``count`` random cell pairs on the stage's proxy data and on the full data; compare rankings.

    Args:
        data: the full dataset.
        stage: gives the proxy: ``D_sample`` of ``train_samples`` images at ``1/downsample`` resolution.
        config: training settings for both sides (cells, channels, epochs, optimiser; the paper: 8
            cells, 100 epochs, batch 96).
        count: architectures to sample (the paper: 10).
        seed: seeds the architectures and the sample; every training uses ``config.seed``.
        space: the search space the random cells are drawn from.

    Returns:
        The architectures, both accuracy lists, Kendall's τ and Pearson's r.
    """
    if isinstance(count, bool) or not isinstance(count, int) or count < 2:
        raise ToolkitError(f"a ranking needs at least two architectures, got count={count!r}")
    if not isinstance(config, TrainConfig):
        raise ToolkitError(f"config must be a TrainConfig, got {type(config).__name__}")
    proxy = proxy_data(data, stage, seed)
    rng = random.Random(seed)
    architectures = tuple(random_cell_pair(space, rng) for _ in range(count))
    proxy_acc = tuple(train_network(a, config, data=proxy, name="proxy").test_acc for a in architectures)
    full_acc = tuple(train_network(a, config, data=data, name="full").test_acc for a in architectures)
    tau, p_value = kendall_tau(proxy_acc, full_acc)
    return ProxyCheck(architectures, proxy_acc, full_acc, tau, p_value, pearson_r(proxy_acc, full_acc))
