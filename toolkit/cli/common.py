"""Arguments and helpers several commands share."""

from __future__ import annotations

import argparse
import inspect
import os
import shlex
from datetime import datetime
from pathlib import Path

from ..errors import ToolkitError
from ..rundir import read_json

DATA_FIELDS = ("dataset", "data_dir", "image_size")  # a run folder's data settings, which a continuing command keeps
NO_FILES = ("digits", "fake")  # datasets that read nothing from --data-dir


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def shown(value) -> str:
    """A default as the help texts show it: ``0.025``, ``3e-4``, ``2 3`` for a tuple."""
    if isinstance(value, tuple):
        return " ".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def join_names(names) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    names = list(names)
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


class Fields:
    """The options of one command that set config fields, made from the one source of settings.

    ``entries`` are the registry's methods the command runs (:mod:`toolkit.methods`). An option's help
    text is the field's description in its config class's docstring (:func:`toolkit.config.field_help`)
    and the default it shows is each method's (:func:`toolkit.config.method_settings`): one
    value, or the most common one and the others by method, and the methods it does not apply to. The
    option's own default is None ("not given"), so the method's defaults and a preset apply under it
    (:func:`toolkit.config.configure`) and :meth:`given` knows exactly what the user set.
    """

    def __init__(self, entries) -> None:
        from ..config import method_settings

        self.entries = list(entries)
        self.defaults = {entry.name: method_settings(entry) for entry in self.entries}
        self.options: dict[str, str] = {}  # option dest -> the config field it sets
        self.made: list[str] = []  # the options made here (help and default from the source), by dest

    def add(self, g, name: str, note: str = "", flag: str | None = None, **kwargs) -> None:
        """An option ``--name`` setting field ``name``; ``note`` adds what only the command line needs to say."""
        g.add_argument(flag or "--" + name.replace("_", "-"), dest=name, default=None,
                       help=self.help(name, note), **kwargs)
        self.options[name] = name
        self.made.append(name)

    def help(self, name: str, note: str = "") -> str:
        """Field ``name``'s description from its config class, ``note``, then the default shown."""
        from ..config import field_help

        cls = next(e.config_class for e in self.entries if name in e.config_class.__dataclass_fields__)
        return f"{field_help(cls, name).rstrip('.')}{'; ' + note if note else ''} (default: {self.shown(name)})"

    def shown(self, name: str) -> str:
        """The default of field ``name`` as the help shows it, per method where the methods differ."""
        groups: dict[str, list[str]] = {}
        for method, defaults in self.defaults.items():
            if name in defaults:
                groups.setdefault(shown(defaults[name]), []).append(method)
        if not groups:
            raise ToolkitError(f"no method of this command has a setting '{name}'")
        ordered = sorted(groups.items(), key=lambda item: -len(item[1]))  # stable: the most common value first
        text = "; ".join([ordered[0][0], *(f"{join_names(methods)} {value}" for value, methods in ordered[1:])])
        missing = [m for m, defaults in self.defaults.items() if name not in defaults]
        if not missing:
            return text
        having = self.applies_to(name)
        return text + (f"; {join_names(having)} only" if len(having) < len(missing) else
                       f"; not for {join_names(missing)}")

    def applies_to(self, field: str) -> list[str]:
        """The methods of the command having setting ``field``."""
        return [method for method, defaults in self.defaults.items() if field in defaults]

    def given(self, args, entry) -> dict:
        """The fields of ``entry``'s settings the options set (None: not given), reductions as a tuple; an
        option given for a method without that setting is one ToolkitError line naming the methods it
        applies to."""
        values = {}
        for dest, name in self.options.items():
            value = getattr(args, dest, None)
            if value is None:
                continue
            if name not in self.defaults[entry.name]:
                raise ToolkitError(f"--{dest.replace('_', '-')} applies to {join_names(self.applies_to(name))}, "
                                   f"not {entry.name}")
            if dest == name:
                values[name] = tuple(value) if name == "reductions" else value
        return values


def add_run_arguments(p: argparse.ArgumentParser, fields: Fields, run_folder: bool = True) -> None:
    """Dataset, schedule, device and output options shared by search, train, prune and evaluate (their help
    and defaults from ``fields``); ``run_folder``: --out and --resume, for commands that write a run folder;
    and --quiet and --dry-run."""
    from ..config import AMP_MODES
    from ..data import DATASETS

    g = p.add_argument_group("data and run")
    fields.add(g, "dataset", f"one of {', '.join(DATASETS)}; a command continuing a run folder takes the run's")
    fields.add(g, "data_dir")
    fields.add(g, "image_size", type=positive_int)
    fields.add(g, "epochs", type=positive_int)
    fields.add(g, "batch_size", type=positive_int)
    for name in ("lr", "lr_min", "momentum", "weight_decay", "grad_clip"):
        fields.add(g, name, type=float)
    fields.add(g, "seed", type=int)
    fields.add(g, "device")
    fields.add(g, "amp", choices=AMP_MODES)
    fields.add(g, "channels_last", action="store_const", const=True)
    if run_folder:
        g.add_argument("--out", default=None, help="run folder (default runs/<command>-<time>); must not exist")
        g.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.add_argument("--dry-run", action="store_true",
                   help="print the resolved settings (each with where it came from: default, method default, "
                        "preset or flag), the data sizes and the steps per stage; write and train nothing")


def inherit_data_settings(args, folder: str | Path | None, note: str = "") -> None:
    """Fill --dataset, --data-dir and --image-size from the run folder a command continues (its
    config.json) unless given; a given value that differs from the run's is an error naming both."""
    saved = read_json(Path(folder) / "config.json") if folder is not None else None
    saved = saved if isinstance(saved, dict) else {}
    for key in DATA_FIELDS:
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


def add_executor_arguments(p: argparse.ArgumentParser) -> None:
    """Where candidates are evaluated (commands that evaluate several architectures share these)."""
    from ..executors import CONNECT_TIMEOUT, CONNECT_TIMEOUT_ENV, EXECUTORS, make_executor

    kind = inspect.signature(make_executor).parameters["kind"].default
    g = p.add_argument_group("where candidates are evaluated")
    g.add_argument("--executor", default=kind, choices=EXECUTORS,
                   help=f"local: one after another in this process; process: a pool of worker processes on this "
                        f"machine; dask: a Dask cluster (pip install 'nas-toolkit[cluster]') (default: {kind})")
    g.add_argument("--workers", type=positive_int, default=None,
                   help="candidates evaluated at once with process or a local Dask cluster (default: CPU cores)")
    g.add_argument("--scheduler", default=None,
                   help="a running Dask scheduler, e.g. tcp://host:8786 (with --executor dask; without it a "
                        "local cluster of --workers processes is started)")
    g.add_argument("--connect-timeout", type=float, default=None, metavar="SECONDS",
                   help=f"seconds to reach --scheduler, handshake included, before giving up (default: "
                        f"${CONNECT_TIMEOUT_ENV}, else {CONNECT_TIMEOUT:g})")


def executor_from_args(args):
    """The executor the --executor, --workers, --scheduler and --connect-timeout options ask for (a context
    manager); the command's stop signal (Ctrl-C) ends a wait for the scheduler."""
    from ..executors import make_executor

    if args.connect_timeout is not None and args.scheduler is None:
        raise ToolkitError("--connect-timeout applies to a running scheduler; give --scheduler tcp://host:8786")
    return make_executor(args.executor, workers=args.workers, scheduler=args.scheduler,
                         timeout=args.connect_timeout, stop=getattr(args, "stop", None))

