"""DARTS-GAL end to end: train the baseline, learn sparse masks adversarially, prune, retrain, report.

DARTS-GAL paper Fig. 1: cells (searched or published) are stacked into the baseline; GAL prunes the
intermediate nodes; the pruned network is retrained with the baseline's hyper-parameters.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from torch import nn

from ..data import DatasetSplits, load_dataset
from ..engine import steps_left
from ..errors import ToolkitError
from ..events import Listener, StopSignal
from ..genotype import CellPair, Network
from ..model import EvalNetwork, count_parameters
from ..rundir import CHECKPOINT, RunDir, load_checkpoint, read_json
from ..runtime import pick_device, seeded
from ..stages import StageRun, Stages, run_stages
from ..steps import evaluate, make_loader, require, require_run_arguments, train_batches
from ..train import TrainResult, as_network, build_network, train_network
from .adversarial import epoch_steps, mask_data, train_masks
from .config import GalConfig
from .masks import kept_from_masks
from .prune import build_pruned, prune_network
from .report import GalReport, kept_rows


@dataclass
class GalResult:
    """Everything a DARTS-GAL run produced.

    Attributes:
        baseline: the trained, unpruned network (the teacher).
        generator: the masked network after mask training (None if stopped before).
        masks: final mask values per cell.
        keep: kept node indices per cell (0-based).
        network: the pruned network description (None if stopped before pruning).
        model: the retrained pruned network (None if stopped before).
        report: the kept-nodes table and before/after figures (None if stopped before pruning).
        history: per-stage epoch records: 'baseline', 'gal', 'retrain'.
        status: finished | stopped | collapsed (mask training collapsed: no pruning, see ``message``).
        message: for a collapsed run, what happened and the λ to try.
        run_dir: the run folder, if one was given.
    """

    baseline: EvalNetwork | None
    generator: EvalNetwork | None = None
    masks: list[list[float]] = field(default_factory=list)
    keep: list[tuple[int, ...]] = field(default_factory=list)
    network: Network | None = None
    model: EvalNetwork | None = None
    report: GalReport | None = None
    history: dict[str, list[dict]] = field(default_factory=dict)
    status: str = "finished"
    message: str = ""
    run_dir: Path | None = None


def load_trained(folder: str | Path, data: DatasetSplits) -> EvalNetwork:
    """The trained network of a finished ``train`` run folder (config.json, network.json, checkpoint.pt)."""
    folder = Path(folder)
    fix = "train a baseline again with 'python -m toolkit train'"
    saved, network = (read_json(folder / name, fix=fix) for name in ("config.json", "network.json"))
    if saved is None or network is None:
        raise ToolkitError(f"'{folder}' is not a training run (needs config.json and network.json); {fix}")
    network = Network.from_dict(network)
    if not isinstance(saved, dict) or saved.pop("kind", None) != "train":
        raise ToolkitError(f"'{folder}' is not a training run; train a baseline with 'python -m toolkit train'")
    model = build_network(network, GalConfig.from_dict(saved), data)
    state = load_checkpoint(folder / CHECKPOINT)["model"]
    for k, cell in enumerate(model.cells):  # a network retrained from inherited weights keeps its mask scales
        if f"cells.{k}.node_scale" in state:
            cell.node_scale = nn.Parameter(state[f"cells.{k}.node_scale"].clone(), requires_grad=False)
    try:
        model.load_state_dict(state)
    except RuntimeError:
        raise ToolkitError(f"the network in '{folder}' does not fit dataset '{data.name}' "
                           f"({data.in_channels} channels, {data.num_classes} classes); use its dataset") from None
    return model


def baseline_accuracy(model: EvalNetwork, data: DatasetSplits, config: GalConfig) -> float:
    device = pick_device(config.device)
    return evaluate(model.to(device), make_loader(data.test, 256, False), device, config.amp)["acc"]


STAGES = ("baseline", "masks", "retrain")


def stage_steps(config: GalConfig, data: DatasetSplits) -> dict[str, tuple[int, int]]:
    """(epochs, steps per epoch) of each stage."""
    train_steps = train_batches(len(data.train), config.batch_size)
    masks_steps = epoch_steps(config, train_batches(len(mask_data(data, config).train), config.gal_batch_size))
    return {"baseline": (config.epochs, train_steps), "masks": (config.gal_epochs, masks_steps),
            "retrain": (config.epochs, train_steps)}


def run_gal(architecture: CellPair | Network | None, config: GalConfig = GalConfig(), *,
            data: DatasetSplits | None = None, baseline: EvalNetwork | TrainResult | None = None,
            listeners: tuple[Listener, ...] = (), stop: StopSignal | None = None,
            run_dir: str | Path | None = None, resume: bool = False, progress: bool = False) -> GalResult:
    """Prune a stacked network's intermediate nodes with generative adversarial learning.

    Args:
        architecture: a cell pair (stacked with ``config.cells``/``config.reductions``) or a network
            description; may be None when ``baseline`` is given.
        config: training, mask-training and pruning settings.
        data: preloaded dataset splits (default: load ``config.dataset``).
        baseline: an already-trained baseline network (or its TrainResult) to prune instead of
            training one.
        listeners: event callbacks. The whole run is one run (kind 'gal', its ``run_start`` counting
            every stage's steps) whose stages are child runs: 'baseline' and 'retrain' (kind 'train')
            and 'gal masks' (kind 'prune', which also emits ``masks`` events with the mask values and
            the four losses).
        stop: stops the current stage cleanly (with a checkpoint); later stages are skipped.
        run_dir: folder for ``config.json``, ``masks.json``, ``pruned_network.json``, ``report.json``
            and the stage run folders ``baseline/``, ``masks/`` and ``retrain/``.
        resume: continue the stopped run in ``run_dir`` (give the same architecture or baseline, and
            the config it was started with: :func:`toolkit.stages.check_resume`): finished stages are
            reloaded from their folders, the stopped one continues where it stopped.
        progress: show a tqdm bar.

    The run is a :class:`toolkit.stages.Stages` method on :func:`toolkit.stages.run_stages`.
    With the defaults on digits (DARTS V2, C=16, 5 cells, reductions at cells 2 and 3) the λ sweep
    of ``bench/RESULTS.md`` pruned 49% of the parameters and the retrained network tested 0.56
    points above the baseline. A mask training that collapses returns status 'collapsed' and a
    message naming a smaller λ, with nothing pruned.

    Example:
        >>> from toolkit import PUBLISHED
        >>> result = run_gal(PUBLISHED["DARTS_V2"], GalConfig(reductions=(2, 3)))  # doctest: +SKIP
        >>> print(result.report)  # doctest: +SKIP
    """
    require(architecture, (CellPair, Network, type(None)), "architecture",
            "pass a cell pair such as PUBLISHED['DARTS_V2'], a Network, or None with a baseline")
    require(config, GalConfig, "config")
    require(data, (DatasetSplits, type(None)), "data", "pass load_dataset(...) or None")
    require(baseline, (EvalNetwork, TrainResult, type(None)), "baseline", "pass a trained EvalNetwork, its "
            "TrainResult, or None")
    require_run_arguments(listeners, stop, run_dir, resume, progress)
    if architecture is None and baseline is None:
        raise ToolkitError("run_gal needs an architecture to train a baseline from, or a trained baseline")
    if baseline is None:
        architecture = as_network(architecture, config)  # bad cells/reductions fail before any folder exists
    method = GalStages(architecture, config, data, baseline)
    with seeded(config.seed):  # each stage seeds itself again; the caller's random state is given back
        method.result.status = run_stages(method, listeners=listeners, stop=stop, run_dir=run_dir, resume=resume,
                                          progress=progress)
    return method.result


class GalStages(Stages):
    """DARTS-GAL as units of :func:`toolkit.stages.run_stages`: 'baseline' (unless one is given), 'masks',
    'retrain', each an engine run in its sub-folder. A resumed run runs every unit again: a finished one
    is read back from its folder without computing an epoch (so :meth:`restore` reports none done)."""

    kind = name = "gal"

    def __init__(self, architecture: Network | None, config: GalConfig, data: DatasetSplits | None,
                 baseline: EvalNetwork | TrainResult | None):
        self.architecture, self.config, self.data, self.trained = architecture, config, data, baseline
        self.units = tuple(name for name in STAGES if baseline is None or name != "baseline")
        self.result = GalResult(baseline.model if isinstance(baseline, TrainResult) else baseline)
        self.masking = None
        self.acc_before: float | None = None

    def prepare(self, context: StageRun) -> None:
        self.context, self.result.run_dir = context, context.run.path if context.run else None
        config = self.config
        self.data = self.data or load_dataset(config.dataset, config.data_dir, seed=config.seed,
                                              image_size=config.image_size)

    def restore(self, run: RunDir) -> int:
        masks = run.read_json("masks/run.json", {})
        if isinstance(masks, dict) and masks.get("status") == "collapsed":
            raise ToolkitError(f"the mask training of '{run.path}' collapsed, so there is nothing to resume; "
                               "start a new run with a smaller λ (--lam)")
        return 0

    def run_start(self, done: int) -> dict:
        sizes = stage_steps(self.config, self.data)
        folder = self.context.folder if self.context.resume else (lambda name: None)
        return {"total_steps": sum(steps_left(folder(name), *sizes[name]) for name in self.units)}

    def run_unit(self, index: int, context: StageRun) -> str:
        return getattr(self, f"_{self.units[index]}")(context)

    def _baseline(self, context: StageRun) -> str:
        trained = train_network(self.architecture, self.config, data=self.data, name="baseline",
                                session=context.session("baseline", self.config))
        self.result.history["baseline"], self.result.baseline, self.trained = trained.history, trained.model, trained
        return trained.status

    def _masks(self, context: StageRun) -> str:
        """Learn the masks of the baseline (DARTS-GAL paper Fig. 1, middle); ``masks.json`` however it ends."""
        if isinstance(self.trained, TrainResult):
            self.acc_before, self.result.baseline = self.trained.test_acc, self.trained.model
        else:
            self.acc_before = baseline_accuracy(self.result.baseline, self.data, self.config)
        masking = train_masks(self.result.baseline, self.config, self.data, context.session("masks", self.config))
        self.masking = masking
        self.result.history["gal"], self.result.generator, self.result.masks = (masking.history, masking.generator,
                                                                                masking.masks)
        if context.run:
            context.run.write_json("masks.json", {"masks": masking.masks, "history": masking.history})
        self.result.message = masking.message if masking.status != "finished" else ""
        return masking.status

    def _retrain(self, context: StageRun) -> str:
        """Prune the nodes whose masks fell under the threshold and retrain (Fig. 1, right); the report."""
        result, config, masking = self.result, self.config, self.masking
        result.keep = kept_from_masks(masking.masks, config.threshold)
        result.network = prune_network(result.baseline.network, result.keep)
        if context.run:
            context.run.write_json("pruned_network.json", result.network.to_dict())
        inherited = build_pruned(masking.generator, result.keep) if config.retrain == "inherit" else None
        retrained = train_network(result.network, config, data=self.data, model=inherited, name="retrain",
                                  session=context.session("retrain", config))
        result.history["retrain"], result.model = retrained.history, retrained.model
        masked_acc = masking.history[-1]["val_acc"] if masking.history else None
        result.report = GalReport(kept_rows(result.baseline.network, result.keep, masking.masks),
                                  count_parameters(result.baseline), retrained.parameters, self.acc_before,
                                  masked_acc, retrained.test_acc, config.lam, config.threshold)
        if context.run:
            context.run.write_json("report.json", {**result.report.to_dict(), "status": retrained.status})
        return retrained.status

    def finish(self, status: str, done: int, run: RunDir | None) -> tuple[dict, dict]:
        """The ``run.json`` record (stages, message, parameters and accuracies) and the ``run_end`` data."""
        result = self.result
        record = {"stages": list(result.history)}
        end = {"epochs_done": sum(len(h) for h in result.history.values())}
        if result.message:
            record["message"] = end["message"] = result.message
        if result.report is not None:
            r = result.report
            record.update(parameters_before=r.parameters_before, parameters_after=r.parameters_after,
                          pruning_rate=r.pruning_rate, test_acc_before=r.acc_before, test_acc=r.acc_after)
            end.update(test_acc=r.acc_after, parameters=r.parameters_after)
        return record, end
