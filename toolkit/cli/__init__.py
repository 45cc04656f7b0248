"""The command-line interface: ``python -m toolkit <command> --help``.

Each command lives in its own module exposing ``register(subparsers)``, which adds a subparser
and sets ``func`` to a function of the parsed arguments. Bad input (a ToolkitError or a bad
argument) is printed as one ``error:`` line naming the fix, with exit status 2, never as a
traceback or a page of usage. Ctrl-C (SIGINT) and SIGTERM end a run after the current step (or
candidate) and leave a checkpoint that ``--resume`` continues from (the stopped-run line says whether
exactly, or what is computed again); a second Ctrl-C aborts at once.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import os
import shlex
import signal
import sys
import threading

from ..errors import ToolkitError
from ..events import StopSignal
from ..methods import methods
from ..runtime import configure_threads

COMMANDS = ("search", "train", "show", "prune", "evaluate", "compare")


class UsageError(Exception):
    """A bad command line, reported as one line."""


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors that point at ``--help`` instead of printing the usage."""

    def error(self, message: str):
        raise UsageError(f"{message}; see '{self.prog} --help' for the options")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="python -m toolkit",
        description="Neural architecture search to teach and explore: "
                    + ", ".join(m.label.split(" (")[0] for m in methods().values()) + ".",
        epilog="Example: python -m toolkit search darts --dataset digits --epochs 5 --out runs/demo",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


class StopOnSignal:
    """While active, SIGINT and SIGTERM set a StopSignal (the run ends after its current step);
    a second signal restores the default handlers and interrupts at once."""

    def __init__(self, stop: StopSignal):
        self.stop, self.received, self.saved = stop, None, {}

    def handle(self, signum, frame):
        if self.received is not None:
            self.__exit__()
            raise KeyboardInterrupt
        self.received = signum
        self.stop.stop()
        print(f"\n{signal.Signals(signum).name}: stopping after the current step (again to abort at once)",
              file=sys.stderr)

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self  # signal handlers can only be set from the main thread
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.saved[signum] = signal.signal(signum, self.handle)
        return self

    def __exit__(self, *exc):
        for signum, handler in self.saved.items():
            signal.signal(signum, handler)
        self.saved = {}


def resume_command(argv: list[str] | None, args, folder) -> str:
    """The command continuing a run stopped by an error: the command words (``search darts``), the
    baseline a ``prune gal --baseline`` run reads, ``--resume`` and the run folder (``--out``, else
    the folder of the failed write)."""
    words = list(itertools.takewhile(lambda a: not a.startswith("-"), sys.argv[1:] if argv is None else argv))
    if getattr(args, "baseline", None):
        words += ["--baseline", args.baseline]
    out = getattr(args, "out", None) or folder
    return f"python -m toolkit {shlex.join(map(str, words))} --resume --out {shlex.quote(str(out))}"


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if getattr(args, "dry_run", False) and getattr(args, "resume", False):
        print("error: --dry-run shows a new run's settings and --resume continues a saved one; drop one of them",
              file=sys.stderr)
        return 2
    args.stop = StopSignal()
    try:
        configure_threads()  # one core left free: a busy browser or second program barely slows a step
        with StopOnSignal(args.stop) as signals:
            code = args.func(args) or 0
        if signals.received is not None:
            return 128 + signals.received  # the shell convention for "ended by a signal"
        return code
    except ToolkitError as e:
        folder = getattr(e, "folder", None)  # a full disk (rundir.atomic_write_bytes): name the resume command
        resume = f": {resume_command(argv, args, folder)}" if folder is not None and hasattr(args, "resume") else ""
        print(f"error: {e}{resume}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        resumable = hasattr(args, "resume")  # commands without a run folder (evaluate) have nothing to resume
        print("interrupted; a run with --out can be continued with --resume" if resumable else "interrupted",
              file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading: not an error of the run
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
