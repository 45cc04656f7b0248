"""Arguments and helpers several commands share."""

from __future__ import annotations

import argparse
from datetime import datetime

from ..errors import ToolkitError


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number >= 1, got {value}")
    return value


def add_run_arguments(p: argparse.ArgumentParser, epochs: int, batch_size: int) -> None:
    """Dataset, schedule, device and output options shared by search, train and prune."""
    g = p.add_argument_group("data and run")
    g.add_argument("--dataset", default="digits",
                   help="digits (offline, default), mnist, fashion_mnist, cifar10, cifar100, folder, fake")
    g.add_argument("--data-dir", default="data", help="folder with torchvision datasets or an ImageFolder tree")
    g.add_argument("--image-size", type=positive_int, default=None, help="resize images to this size")
    g.add_argument("--epochs", type=positive_int, default=epochs, help=f"epochs (default {epochs})")
    g.add_argument("--batch-size", type=positive_int, default=batch_size, help=f"batch size (default {batch_size})")
    g.add_argument("--lr", type=float, default=0.025, help="SGD learning rate of the weights (default 0.025)")
    g.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    g.add_argument("--device", default="auto", help="auto (CUDA, then MPS, then CPU), cpu, cuda or mps")
    g.add_argument("--amp", default="off", choices=("off", "bf16", "fp16"), help="mixed precision on GPU")
    g.add_argument("--channels-last", action="store_true", help="channels-last memory format (GPU)")
    g.add_argument("--out", default=None, help="run folder (default runs/<command>-<time>); must not exist")
    g.add_argument("--resume", action="store_true", help="continue the run in --out from its checkpoint")
    g.add_argument("--quiet", action="store_true", help="no progress bar")


def run_config_values(args) -> dict:
    return {"dataset": args.dataset, "data_dir": args.data_dir, "image_size": args.image_size,
            "epochs": args.epochs, "batch_size": args.batch_size, "lr": args.lr, "seed": args.seed,
            "device": args.device, "amp": args.amp, "channels_last": args.channels_last}


def output_folder(args, command: str) -> str:
    if args.out:
        return args.out
    if args.resume:
        raise ToolkitError("--resume needs --out naming the run folder to continue")
    return f"runs/{command}-{datetime.now():%Y%m%d-%H%M%S}"


def parse_reductions(values) -> tuple[int, ...] | None:
    return None if values is None else tuple(values)
