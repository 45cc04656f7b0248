"""nas-toolkit: neural architecture search to teach and explore (DARTS, PC-DARTS, ADARTS, DARTS-GAL).

The library never imports UI code; ``widgets`` builds on its events. Main entry points:

    >>> from toolkit import SearchConfig, run_search, train_network, PUBLISHED  # doctest: +SKIP
"""

from .config import SearchConfig, TrainConfig
from .errors import ToolkitError
from .events import Event, EventBus, ProgressBar, StopSignal
from .genotype import PUBLISHED, CellPair, CellSpec, Genotype, Network, load_architecture
from .model import EvalNetwork, NetworkSizes, count_parameters
from .space import DARTS_OPS, TS_ENAS_OPS, SearchSpace
from .supernet import Supernet

__version__ = "0.1.0"


def __getattr__(name):
    # Loops import the data module (torchvision); load them on first use to keep import light.
    if name in ("run_search", "SearchResult"):
        from . import search

        return getattr(search, name)
    if name in ("train_network", "TrainResult"):
        from . import train

        return getattr(train, name)
    raise AttributeError(f"module 'toolkit' has no attribute {name!r}")


__all__ = [
    "CellPair", "CellSpec", "DARTS_OPS", "EvalNetwork", "Event", "EventBus", "Genotype", "Network",
    "NetworkSizes", "PUBLISHED", "ProgressBar", "SearchConfig", "SearchSpace", "StopSignal", "Supernet",
    "TS_ENAS_OPS", "ToolkitError", "TrainConfig", "count_parameters", "load_architecture", "run_search",
    "train_network",
]
