"""One source of defaults: every command-line option that sets a config field defaults to that field's
default (the config dataclass's, or the method's in the registry), shows it in its help, and takes its
help text from the config class's docstring."""

from __future__ import annotations

import argparse
import dataclasses
import re

import pytest

import toolkit.config
import toolkit.medarts.stages
import toolkit.space
from toolkit.cli import build_parser
from toolkit.cli import medarts as cli_medarts
from toolkit.cli import prune as cli_prune
from toolkit.cli import search as cli_search
from toolkit.cli import train as cli_train
from toolkit.cli import tsenas as cli_tsenas
from toolkit.cli.common import shown
from toolkit.config import SearchConfig, field_default, field_help, method_settings
from toolkit.errors import ToolkitError
from toolkit.methods import TRAINING, get_method, methods

SEARCH = [*methods("search"), *methods("population")]
# (command line, registry entry): every command and, for search, every method
COMMANDS = [(["search", name], get_method(name)) for name in SEARCH] + [
    (["train", "--genotype", "DARTS_V2"], TRAINING),
    (["evaluate", "DARTS_V2"], TRAINING),
    (["prune", "gal", "--genotype", "DARTS_V2"], get_method("gal")),
]
IDS = [" ".join(argv[:2]) for argv, _ in COMMANDS]


def parse(argv):
    return build_parser().parse_args(argv)


def resolved(args, entry):
    """The config the command builds from ``args`` (ME-DARTS: the search its members run)."""
    if args.command in ("train", "evaluate"):
        return cli_train.resolve(args)[0]
    if args.command == "prune":
        return cli_prune.resolve(args)[0]
    if entry.name == "ts-enas":
        return cli_tsenas.resolve(args)[0]
    if entry.name == "me-darts":
        return cli_medarts.resolve(args, lambda a, method: cli_search.resolve(a, method))[0].search
    return cli_search.resolve(args)[0]


def expected_default(entry, name: str):
    """The field's default as the API has it: the registry's method default, else the dataclass's."""
    if entry.name == "me-darts":  # its members run the registry's edge method
        entry = get_method(entry.defaults["method"])
    if name in entry.defaults:
        return entry.defaults[name]
    cls = entry.config_class
    return field_default(cls, name)


def shown_for(help_text: str, method: str) -> str:
    """The default a help text shows for ``method``: ``(default: 8; ts-enas 16; not for me-darts)``."""
    match = re.search(r"\(default: ([^()]*)\)$", help_text)
    assert match, help_text
    parts = match.group(1).split("; ")
    for part in parts[1:]:
        if part.startswith("not for ") or part.endswith(" only"):
            continue
        names, _, value = part.rpartition(" ")
        if method in re.split(r", | and ", names):
            return value
    return parts[0]


def field_actions(parser, args):
    """The parser's actions that set config fields (those :class:`toolkit.cli.common.Fields` made)."""
    return [a for a in parser._actions if a.dest in args.fields.made]


def subparser(command: str) -> argparse.ArgumentParser:
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return sub.choices[command]


@pytest.mark.parametrize("argv, entry", COMMANDS, ids=IDS)
def test_every_flag_default_is_the_config_default(argv, entry):
    args = parse(argv)
    config = resolved(args, entry)
    settings = method_settings(entry)
    checked = 0
    for action in field_actions(subparser(argv[0]), args):
        flag = action.option_strings[0]
        assert action.default is None, f"{flag}: the option's own default must be None (not given)"
        if action.dest not in settings:
            assert f"not for {entry.name}" in action.help or " only" in action.help, flag
            continue
        want = expected_default(entry, action.dest)
        got = getattr(config, action.dest)
        assert got == want, f"{' '.join(argv[:2])} {flag}: the command line gives {got!r}, the config {want!r}"
        assert shown_for(action.help, entry.name) == shown(want), \
            f"{' '.join(argv[:2])} {flag}: the help shows {action.help!r}, the config's default is {shown(want)}"
        checked += 1
    assert checked >= 15, argv


def test_search_space_options_show_the_config_space():
    args = parse(["search", "darts"])
    space = cli_search.resolve(args)[0].space
    assert space == field_default(SearchConfig, "space")
    helps = {a.dest: a.help for a in subparser("search")._actions}
    preset = next(name for name, ops in toolkit.space.SPACE_PRESETS.items() if ops == space.ops)
    assert f"(default: {preset}, {len(space.ops)} ops)" in helps["space"]
    assert f"(default: {space.nodes})" in helps["nodes"]
    assert f"(default: {get_method('me-darts').defaults['method']})" in helps["edge"]


@pytest.mark.parametrize("command", ["search", "train", "evaluate", "prune"])
def test_help_texts_come_from_the_config_docstrings(command):
    parser = subparser(command)
    args = parse([command] + {"search": ["darts"], "train": [], "evaluate": ["DARTS_V2"],
                              "prune": ["gal"]}[command])
    entries = args.fields.entries
    for action in field_actions(parser, args):
        cls = next(e.config_class for e in entries if action.dest in e.config_class.__dataclass_fields__)
        assert action.help.startswith(field_help(cls, action.dest).rstrip(".")), action.option_strings[0]
    for action in parser._actions:  # no option sets a config field on its own terms
        fields = set().union(*(method_settings(e) for e in entries))
        if action.dest in fields and action.dest not in ("method", "cells"):
            assert action.dest in args.fields.options, action.option_strings


def test_every_config_field_is_documented():
    for entry in [*methods().values(), TRAINING]:
        cls = entry.config_class
        for f in dataclasses.fields(cls):
            assert field_help(cls, f.name), (cls.__name__, f.name)


def test_field_help_reads_attributes_sections():
    @dataclasses.dataclass
    class Base:
        """Base.

        Attributes:
            a, b: two fields
                described once.
            c: the third.
        """

        a: int = 1
        b: int = 2
        c: int = 3

    @dataclasses.dataclass
    class Child(Base):
        """Child.

        Attributes:
            c: overridden here.
        """

        d: int = 4

    assert field_help(Child, "a") == "two fields described once."
    assert field_help(Child, "c") == "overridden here."
    with pytest.raises(ToolkitError, match="Child.d has no description"):
        field_help(Child, "d")


@pytest.mark.parametrize("argv, message", [
    (["search", "darts", "--population", "4"], "--population applies to ts-enas, not darts"),
    (["search", "ts-enas", "--arch-lr", "0.1"], "--arch-lr applies to darts, pcdarts, adarts and me-darts, not ts"),
    (["search", "ts-enas", "--compile", "on"], "--compile applies to darts, pcdarts, adarts and me-darts"),
    (["search", "ts-enas", "--ops", "skip_connect,sep_conv_3x3"], "--ops applies to darts"),
    (["search", "me-darts", "--survivors", "2"], "--survivors applies to ts-enas, not me-darts"),
    (["search", "me-darts", "--channels", "8"], "--channels is set per stage by the ME-DARTS preset"),
    (["search", "darts", "--k", "4"], "--k applies to pcdarts and adarts"),
])
def test_an_option_of_another_method_is_one_error_naming_its_methods(argv, message):
    args = parse(argv)
    with pytest.raises(ToolkitError, match=re.escape(message)):
        resolved(args, get_method(argv[1]))


def test_one_methods_and_one_presets_per_concept():
    assert not hasattr(toolkit.config, "METHODS")  # the registry (toolkit.methods.METHODS) is the one
    assert not hasattr(toolkit.space, "PRESETS") and set(toolkit.space.SPACE_PRESETS) == {"darts", "ts_enas"}
    assert not hasattr(toolkit.medarts.stages, "PRESETS")  # ME-DARTS' plans are registry presets
    entry = get_method("me-darts")
    for name in entry.presets:
        plan = toolkit.medarts.stages.stage_plan(name)
        assert plan.to_dict() == {k: {**toolkit.medarts.stages.Stage(**v).__dict__}
                                  for k, v in entry.preset(name)["stages"].items()}
    assert SearchConfig(method="pcdarts").partial == get_method("pcdarts").partial == "random"
