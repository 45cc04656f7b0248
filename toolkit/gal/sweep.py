"""A λ sweep: how many parameters pruning removes, and what accuracy the pruned network reaches, per λ."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace

from ..data import DatasetSplits
from ..events import Listener, StopSignal
from ..model import EvalNetwork, count_parameters
from .config import GalConfig
from .run import baseline_accuracy, run_gal


@dataclass(frozen=True)
class SweepPoint:
    """One λ of a sweep (accuracies are test accuracies; acc_after is None if the run stopped early).

    A λ whose mask training collapsed has status 'collapsed' and no pruned figures (None).
    """

    lam: float
    parameters_before: int
    parameters_after: int | None
    pruning_rate: float | None
    acc_before: float
    acc_after: float | None
    kept: tuple[tuple[int, ...], ...]
    status: str = "finished"

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
    """
    stop = stop or StopSignal()
    points = []
    acc_before = None
    for lam in lams:
        result = run_gal(None, replace(config, lam=float(lam)), data=data, baseline=baseline, listeners=listeners,
                         stop=stop)
        if result.status == "collapsed":
            if acc_before is None:
                acc_before = baseline_accuracy(result.baseline, data, config)
            points.append(SweepPoint(float(lam), count_parameters(result.baseline), None, None, acc_before, None, (),
                                     "collapsed"))
            continue
        if result.report is None:
            break
        acc_before = result.report.acc_before
        r = result.report
        points.append(SweepPoint(float(lam), r.parameters_before, r.parameters_after, r.pruning_rate,
                                 r.acc_before, r.acc_after, tuple(result.keep)))
        if stop.requested:
            break
    return points
