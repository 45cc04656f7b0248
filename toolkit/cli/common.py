"""Arguments and helpers several commands share."""

from __future__ import annotations

import argparse
import os
import shlex
from datetime import datetime
from pathlib import Path

from ..errors import ToolkitError
from ..rundir import read_json

DATA_DEFAULTS = {"dataset": "digits", "data_dir": "data", "image_size": None}
NO_FILES = ("digits", "fake")  # datasets that read nothing from --data-dir


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def shown_default(cls, name: str) -> str:
    """A field's dataclass default as the help texts show it (so help and API agree)."""
    from ..config import field_default

    value = field_default(cls, name)
    if isinstance(value, tuple):
        return " ".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def add_field(g, cls, name: str, help: str, flag: str | None = None, **kwargs) -> None:
    """An option setting config field ``name`` of ``cls``: default None (not given), help ending with the
    dataclass default, so a preset or method default applies unless the option is given."""
    g.add_argument(flag or "--" + name.replace("_", "-"), dest=name, default=None,
                   help=f"{help} (default: {shown_default(cls, name)})", **kwargs)


def add_run_arguments(p: argparse.ArgumentParser, cls, run_folder: bool = True) -> None:
    """Dataset, schedule, device and output options shared by search, train, prune and evaluate, as fields
    of config class ``cls`` (``run_folder``: --out and --resume, for commands that write a run folder), and
    --preset and --dry-run."""
    g = p.add_argument_group("data and run")
    add_field(g, cls, "dataset", "digits (offline), mnist, fashion_mnist, cifar10, cifar100, folder, fake; a command "
                                 "continuing a run folder takes the run's")
    add_field(g, cls, "data_dir", "folder with torchvision datasets or an ImageFolder tree")
    add_field(g, cls, "image_size", "resize images to this size (None: native size)", type=positive_int)
    add_field(g, cls, "epochs", "epochs", type=positive_int)
    add_field(g, cls, "batch_size", "batch size", type=positive_int)
    add_field(g, cls, "lr", "SGD learning rate of the weights", type=float)
    add_field(g, cls, "lr_min", "final learning rate of the cosine schedule", type=float)
    add_field(g, cls, "momentum", "SGD momentum", type=float)
    add_field(g, cls, "weight_decay", "weight decay of the weights", type=float)
    add_field(g, cls, "grad_clip", "gradient norm clip", type=float)
    add_field(g, cls, "seed", "random seed", type=int)
    add_field(g, cls, "device", "auto (CUDA, then MPS, then CPU), cpu, cuda or mps")
    add_field(g, cls, "amp", "mixed precision on GPU", choices=("off", "bf16", "fp16"))
    add_field(g, cls, "channels_last", "channels-last memory format (GPU)", action="store_const", const=True)
    if run_folder:
        g.add_argument("--out", default=None, help="run folder (default runs/<command>-<time>); must not exist")
        g.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.add_argument("--dry-run", action="store_true",
                   help="print the resolved settings (each with where it came from: default, method default, "
                        "preset or flag), the data sizes and the steps per stage; write and train nothing")


def given_fields(args, cls) -> dict:
    """The config fields of ``cls`` the options set (None: not given); reductions as a tuple."""
    from dataclasses import fields

    values = {f.name: getattr(args, f.name) for f in fields(cls) if getattr(args, f.name, None) is not None}
    if values.get("reductions") is not None:
        values["reductions"] = tuple(values["reductions"])
    return values


def inherit_data_settings(args, folder: str | Path | None, note: str = "") -> None:
    """Fill --dataset, --data-dir and --image-size from the run folder a command continues (its
    config.json) unless given; a given value that differs from the run's is an error naming both."""
    saved = read_json(Path(folder) / "config.json") if folder is not None else None
    saved = saved if isinstance(saved, dict) else {}
    for key in DATA_DEFAULTS:
        given, flag = getattr(args, key), "--" + key.replace("_", "-")
        if key not in saved:
            continue  # not given: the config's default (or the preset's) applies
        differs = given is not None and (os.path.normpath(str(given)) != os.path.normpath(str(saved[key]))
                                         if key == "data_dir" else given != saved[key])
        if differs and not (key == "data_dir" and saved.get("dataset") in NO_FILES):
            raise ToolkitError(f"{flag} {given} differs from the run '{folder}', which used {flag} {saved[key]}; "
                               f"drop {flag} to use the run's setting{note}")
        setattr(args, key, saved[key])


def run_folder_of(path: str | None) -> Path | None:
    """The run folder holding a genotype/network file (None for a published name or a loose file)."""
    if path is None:
        return None
    folder = Path(path).parent
    return folder if (folder / "config.json").is_file() and Path(path).is_file() else None


def data_flags(config) -> str:
    """The command-line flags that reproduce a config's data settings (for complete next-step hints)."""
    flags = ["--dataset", config.dataset]
    if config.dataset not in NO_FILES:
        flags += ["--data-dir", config.data_dir]
    if config.image_size is not None:
        flags += ["--image-size", str(config.image_size)]
    return " ".join(shlex.quote(str(f)) for f in flags)


def stopped_hint(command: str, out, redone: str = "") -> str:
    """The line a stopped run prints: "continue exactly where it stopped" when its checkpoint holds the
    position (``redone`` empty), else what the resumed run computes again."""
    again = f"python -m toolkit {command} --resume --out {shlex.quote(str(out))}"
    if redone:
        return f"stopped; continue with: {again} ({redone})"
    return f"stopped; continue exactly where it stopped with: {again}"


def output_folder(args, command: str) -> str:
    if args.out:
        return args.out
    if args.resume:
        raise ToolkitError("--resume needs --out naming the run folder to continue")
    return f"runs/{command}-{datetime.now():%Y%m%d-%H%M%S}"


def parse_reductions(values) -> tuple[int, ...] | None:
    return None if values is None else tuple(values)


def add_executor_arguments(p: argparse.ArgumentParser) -> None:
    """Where candidates are evaluated (commands that evaluate several architectures share these)."""
    g = p.add_argument_group("where candidates are evaluated")
    g.add_argument("--executor", default="local", choices=("local", "process", "dask"),
                   help="local: one after another in this process (default); process: a pool of worker "
                        "processes on this machine; dask: a Dask cluster (pip install 'nas-toolkit[cluster]')")
    g.add_argument("--workers", type=positive_int, default=None,
                   help="candidates evaluated at once with process or a local Dask cluster (default: CPU cores)")
    g.add_argument("--scheduler", default=None,
                   help="a running Dask scheduler, e.g. tcp://host:8786 (with --executor dask; without it a "
                        "local cluster of --workers processes is started)")
    g.add_argument("--connect-timeout", type=float, default=None, metavar="SECONDS",
                   help="seconds to reach --scheduler, handshake included, before giving up (default: "
                        "$NAS_TOOLKIT_CONNECT_TIMEOUT, else 30)")


def executor_from_args(args):
    """The executor the --executor, --workers, --scheduler and --connect-timeout options ask for (a context
    manager); the command's stop signal (Ctrl-C) ends a wait for the scheduler."""
    from ..executors import make_executor

    if args.connect_timeout is not None and args.scheduler is None:
        raise ToolkitError("--connect-timeout applies to a running scheduler; give --scheduler tcp://host:8786")
    return make_executor(args.executor, workers=args.workers, scheduler=args.scheduler,
                         timeout=args.connect_timeout, stop=getattr(args, "stop", None))

