"""The method registry: one source of method defaults for the API, the command line, the panels and bench/."""

from __future__ import annotations

from dataclasses import replace

import pytest

from toolkit.cli import build_parser
from toolkit.cli.search import config_from_args
from toolkit.config import SearchConfig, search_config
from toolkit.errors import ToolkitError
from toolkit.gal import GalConfig, run_gal
from toolkit.methods import METHODS, get_method, methods
from toolkit.search import run_search


def cli_config(*argv: str) -> SearchConfig:
    args = build_parser().parse_args(["search", *argv])
    return config_from_args(args)


def panel_config(method: str) -> SearchConfig:
    pytest.importorskip("ipywidgets")
    from widgets.panel import search_panel

    panel = search_panel()
    panel.controls["method"].value = method
    return panel.config


@pytest.mark.parametrize("name", ["darts", "pcdarts", "adarts"])
def test_api_cli_and_panel_build_the_same_search(name):
    api = SearchConfig(method=name)
    assert api == cli_config(name) == panel_config(name)
    assert api.k == METHODS[name].defaults["k"] and api.uses_edge_norm == METHODS[name].edge_norm
    assert api.partial == METHODS[name].partial


def test_every_front_end_lists_the_registry():
    pytest.importorskip("ipywidgets")
    from widgets.panel import make_knob, search_panel

    search = methods("search")
    assert build_parser().parse_args(["search", "adarts"]).method == "adarts"
    choices = next(a for a in build_parser()._subparsers._group_actions[0].choices["search"]._actions
                   if a.dest == "method").choices
    assert tuple(choices) == (*search, *methods("population"))  # me-darts, ts-enas
    panel = search_panel()
    assert panel.controls["method"].options == tuple((m.label, n) for n, m in search.items())
    assert set(panel.knobs) == {t for m in search.values() for t in m.tunables}  # the knobs are the tunables
    lam = make_knob("lam", GalConfig()).value
    assert lam == GalConfig().lam == get_method("gal").defaults["lam"]  # the panel's λ is GAL's λ
    assert get_method("gal").run is run_gal and get_method("darts").run is run_search


def test_method_papers_defaults():
    assert (SearchConfig().k, SearchConfig().uses_edge_norm) == (1, False)  # DARTS: every channel, no β
    pc = SearchConfig(method="pcdarts")
    assert (pc.k, pc.uses_edge_norm, pc.partial) == (4, True, "random")
    ad = SearchConfig(method="adarts")
    assert (ad.k, ad.uses_edge_norm, ad.partial) == (4, False, "attention")  # ADARTS has no β (its eq. 6) ...
    assert SearchConfig(method="adarts", edge_norm=True).uses_edge_norm  # ... but it can be switched on
    assert cli_config("adarts", "--edge-norm").uses_edge_norm
    assert replace(SearchConfig(k=4), method="pcdarts").uses_edge_norm  # β follows a changed method
    assert "random" not in METHODS["pcdarts"].label.lower()  # the channel choice is the first C/K, then shuffle


def test_pcdarts_paper_preset():
    paper = search_config("pcdarts", "paper")
    assert (paper.epochs, paper.warmup_epochs, paper.batch_size, paper.arch_lr) == (50, 15, 256, 6e-4)
    assert search_config("pcdarts", "paper", batch_size=32).batch_size == 32
    assert cli_config("pcdarts", "--preset", "paper") == paper
    assert cli_config("pcdarts", "--preset", "paper", "--batch-size", "32").batch_size == 32  # given options win
    with pytest.raises(ToolkitError, match="no preset 'fast'"):
        search_config("pcdarts", "fast")


def test_unknown_methods_name_the_choices():
    with pytest.raises(ToolkitError, match="choose one of: darts, pcdarts, adarts"):
        SearchConfig(method="enas")
    with pytest.raises(ToolkitError, match="unknown search method 'gal'"):
        search_config("gal")
    assert SearchConfig.from_dict(SearchConfig(method="pcdarts").to_dict()) == SearchConfig(method="pcdarts")


def test_every_method_names_a_command_line_handler_that_exists():
    for name, method in methods().items():
        assert callable(method.command_handler), name
