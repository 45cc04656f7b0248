"""A λ sweep: how many parameters pruning removes, and what accuracy the pruned network reaches, per λ."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

from ..data import DatasetSplits
from ..events import Listener, StopSignal
from ..model import EvalNetwork
from .config import GalConfig
from .run import run_gal


@dataclass(frozen=True)
class SweepPoint:
    """One λ of a sweep (accuracies are test accuracies; acc_after is None if the run stopped early)."""

    lam: float
    parameters_before: int
    parameters_after: int
    pruning_rate: float
    acc_before: float
    acc_after: float | None
    kept: tuple[tuple[int, ...], ...]

    def to_dict(self) -> dict:
        return asdict(self)


def lambda_sweep(baseline: EvalNetwork, config: GalConfig, lams: Iterable[float], *, data: DatasetSplits,
                 listeners: tuple[Listener, ...] = (), stop: StopSignal | None = None) -> list[SweepPoint]:
    """Prune one trained baseline with each λ (mask training, pruning, retraining) and collect the figures.

    Args:
        baseline: the trained network every λ starts from (trained once, as the paper's baseline).
        config: settings shared by every run; its ``lam`` is replaced by each value of ``lams``.
        lams: the λ values, in the order to run them.
        data, listeners, stop: as in :func:`run_gal`; a stop ends the sweep after the current run.

    A λ whose mask training collapses has no point: a warning gives its message and the sweep goes on.
    """
    stop = stop or StopSignal()
    points = []
    for lam in lams:
        result = run_gal(None, replace(config, lam=float(lam)), data=data, baseline=baseline, listeners=listeners,
                         stop=stop)
        if result.status == "collapsed":
            warnings.warn(f"λ={float(lam):g} left out of the sweep: {result.message}", stacklevel=2)
            continue
        if result.report is None:
            break
        r = result.report
        points.append(SweepPoint(float(lam), r.parameters_before, r.parameters_after, r.pruning_rate,
                                 r.acc_before, r.acc_after, tuple(result.keep)))
        if stop.requested:
            break
    return points
