"""The top-level help names every registered method."""

from __future__ import annotations

from toolkit.cli import build_parser
from toolkit.methods import methods


def test_top_level_help_names_every_method():
    text = " ".join(build_parser().format_help().split())
    for method in methods().values():
        assert method.label.split(" (")[0] in text, method.name
    assert "ME-DARTS" in text and "TS-ENAS" in text
