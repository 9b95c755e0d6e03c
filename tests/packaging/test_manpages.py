"""Manual pages are rendered from the same argparse parsers as --help, so they cannot drift."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.packaging.conftest import REPO

sys.path.insert(0, str(REPO / "packaging"))
import manpages


def _walk(parser: argparse.ArgumentParser) -> tuple[list[str], list[str]]:
    """Every option string and every (nested) subcommand name of a parser."""
    options: list[str] = []
    commands: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                commands.append(name)
                sub_options, sub_commands = _walk(child)
                options += [o for o in sub_options if o not in ("-h", "--help")]
                commands += sub_commands
        elif action.help != argparse.SUPPRESS:
            options += action.option_strings
    return options, commands


@pytest.mark.parametrize("page", manpages.PAGES, ids=lambda p: p.name)
def test_every_option_and_command_documented(page: manpages.Page) -> None:
    """Each option string and subcommand of the parser appears in its manual page."""
    text = manpages.render(page, "9.9.9", "2026-01-01")
    options, commands = _walk(manpages.load_parser(page.builder))
    assert options
    for option in options:
        assert f"\\fB{manpages.esc(option)}\\fR" in text, option
    for command in commands:
        assert f".SS {manpages.esc(page.name)}" in text
        assert manpages.esc(command) in text, command
    assert text.startswith(f".TH {page.name.upper()} {page.section} ")
    assert "hedgegrid 9.9.9" in text


def test_option_help_text_and_defaults_carried_over() -> None:
    """Help strings (with %(default)s expanded) are the option descriptions of the page."""
    page = next(p for p in manpages.PAGES if p.name == "hedgegridd")
    text = manpages.render(page, "1", "2026-01-01")
    parser = manpages.load_parser(page.builder)
    config = next(a for a in parser._actions if "--config" in a.option_strings)
    assert manpages.esc(parser._get_formatter()._expand_help(config)) in text
    assert parser.epilog
    assert ".SH NOTES" in text


@pytest.mark.skipif(shutil.which("man") is None, reason="man not installed")
def test_pages_render_without_warnings(tmp_path: Path) -> None:
    """man(1) formats every page without a groff warning."""
    manpages.main(["--out", str(tmp_path)])
    pages = sorted(tmp_path.iterdir())
    assert len(pages) == 3
    for path in pages:
        proc = subprocess.run(
            ["man", "--warnings", "-l", str(path)],
            capture_output=True,
            text=True,
            env={"MANWIDTH": "80", "PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8"},
            timeout=120,
        )
        assert proc.returncode == 0
        assert proc.stderr == "", (path.name, proc.stderr)
        assert "OPTIONS" in proc.stdout
