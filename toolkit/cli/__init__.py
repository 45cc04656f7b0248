"""The command-line interface: ``python -m toolkit <command> --help``.

Each command lives in its own module exposing ``register(subparsers)``, which adds a subparser
and sets ``func`` to a function of the parsed arguments. Bad input (a ToolkitError) is printed
as one ``error:`` line with exit status 2, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import ToolkitError
from ..runtime import configure_threads

COMMANDS = ("search", "train", "show", "prune")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m toolkit",
        description="Neural architecture search to teach and explore: DARTS, PC-DARTS, ADARTS, DARTS-GAL.",
        epilog="Example: python -m toolkit search darts --dataset digits --epochs 5 --out runs/demo",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        configure_threads()  # one core left free: a busy browser or second program barely slows a step
        return args.func(args) or 0
    except ToolkitError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; a run with --out can be continued with --resume", file=sys.stderr)
        return 130
