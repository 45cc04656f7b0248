"""Parameter counts of the published cells in the DARTS CIFAR-10 layout.

Usage: python bench/param_counts.py [--channels 36] [--cells 20]
Prints a markdown table (no auxiliary head, 10 classes, 3 input channels).
"""

import argparse

from toolkit.genotype import PUBLISHED
from toolkit.model import EvalNetwork, NetworkSizes, count_parameters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, default=36)
    parser.add_argument("--cells", type=int, default=20)
    args = parser.parse_args()
    print(f"| cell | parameters (C={args.channels}, {args.cells} cells) |")
    print("|---|---:|")
    for name, pair in PUBLISHED.items():
        net = EvalNetwork(pair.stack(args.cells), NetworkSizes(C=args.channels, num_classes=10, in_channels=3))
        print(f"| {name} | {count_parameters(net):,} |")


if __name__ == "__main__":
    main()
