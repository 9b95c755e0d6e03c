"""``hedgegrid data --help``: every option explained, defaults shown, no markup."""

from __future__ import annotations

import argparse

from hedgegridd.tools_cli import build_parser


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


def _data_parsers() -> list[tuple[str, argparse.ArgumentParser]]:
    data = _subparsers(build_parser())["data"]
    return [("data", data), *((f"data {n}", p) for n, p in _subparsers(data).items())]


def test_every_data_option_has_a_help_text_with_its_default() -> None:
    """Each option says what it does; one with a default value names it."""
    missing: list[str] = []
    for name, parser in _data_parsers():
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            flag = f"{name} {'/'.join(action.option_strings) or action.dest}"
            if not action.help:
                missing.append(f"{flag}: no help")
            elif (
                action.default not in (None, False, argparse.SUPPRESS)
                and not action.required
                and "default" not in action.help
            ):
                missing.append(f"{flag}: default {action.default!r} not shown")
    assert missing == []


def test_data_descriptions_have_no_source_markup() -> None:
    """Descriptions are prose for a terminal: no RST double backquotes, no internal notes."""
    for _name, parser in _data_parsers():
        text = parser.format_help()
        assert "``" not in text
        assert "nautilus_trader" not in text
