"""Render the manual pages of hedgegridd, hedgegridctl and hedgegrid from their argparse parsers.

The pages are built from the very parser objects ``--help`` prints, so an option added,
renamed or re-described in the code shows up in the manual page of the next package
build: they cannot drift. Used by ``packaging/build-deb.sh``::

    python packaging/manpages.py --out DIR [--date YYYY-MM-DD]

writes ``DIR/hedgegridd.8``, ``DIR/hedgegridctl.1`` and ``DIR/hedgegrid.1`` (roff, man(7)).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Page:
    """One manual page: the command, its section and where its parser is built."""

    name: str
    section: int
    builder: str  # "module:function" returning an argparse.ArgumentParser
    see_also: tuple[str, ...]


PAGES: tuple[Page, ...] = (
    Page(
        "hedgegridd",
        8,
        "hedgegridd.supervisor.cli:build_parser",
        ("hedgegridctl(1)", "hedgegrid(1)", "systemd.service(5)", "journalctl(1)"),
    ),
    Page(
        "hedgegridctl",
        1,
        "hedgegridd.control.cli:build_parser",
        ("hedgegridd(8)", "hedgegrid(1)"),
    ),
    Page("hedgegrid", 1, "hedgegridd.tools_cli:build_parser", ("hedgegridd(8)", "hedgegridctl(1)")),
)


def load_parser(builder: str) -> argparse.ArgumentParser:
    """Call the ``module:function`` parser builder."""
    module, _, func = builder.partition(":")
    build: Callable[[], argparse.ArgumentParser] = getattr(importlib.import_module(module), func)
    return build()


def esc(text: str) -> str:
    """Escape text for roff: backslashes, minus signs and control characters at line start."""
    text = text.replace("\\", "\\e").replace("-", "\\-")
    lines = []
    for line in text.split("\n"):
        if line.startswith((".", "'")):
            line = "\\&" + line
        lines.append(line)
    return "\n".join(lines)


def _paragraphs(text: str) -> str:
    """Free text as roff paragraphs (blank line = new paragraph; indented lines kept as is)."""
    out: list[str] = []
    for block in text.strip().split("\n\n"):
        lines = block.split("\n")
        if any(line.startswith((" ", "\t")) for line in lines[1:]):
            out += [".PP", ".nf", esc(block), ".fi"]
        else:
            out += [".PP", esc(" ".join(line.strip() for line in lines))]
    return "\n".join(out)


def _subparsers(parser: argparse.ArgumentParser) -> Iterator[argparse._SubParsersAction]:  # type: ignore[type-arg]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            yield action


def _usage(parser: argparse.ArgumentParser) -> str:
    """The usage line, unwrapped (roff fills it to the reader's width)."""
    return " ".join(parser.format_usage().removeprefix("usage: ").split())


def _option_lines(parser: argparse.ArgumentParser, *, with_help: bool = True) -> list[str]:
    formatter = parser._get_formatter()
    out: list[str] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) or action.help == argparse.SUPPRESS:
            continue
        if isinstance(action, argparse._HelpAction) and not with_help:
            continue
        if action.option_strings:
            metavar = ""
            if action.nargs != 0:
                metavar = (
                    " \\fI" + esc(formatter._format_args(action, action.dest.upper())) + "\\fR"
                )
            head = ", ".join(f"\\fB{esc(opt)}\\fR{metavar}" for opt in action.option_strings)
        else:
            head = "\\fI" + esc(formatter._metavar_formatter(action, action.dest)(1)[0]) + "\\fR"
        help_text = formatter._expand_help(action) if action.help else ""
        if action.choices and not help_text:
            help_text = "One of: " + ", ".join(str(c) for c in action.choices) + "."
        out += [".TP", head, esc(" ".join(help_text.split())) or "\\&"]
    return out


def _commands(parser: argparse.ArgumentParser, path: str) -> list[str]:
    out: list[str] = []
    for sub in _subparsers(parser):
        helps = {a.dest: a.help for a in sub._choices_actions}
        for name, child in sub.choices.items():
            full = f"{path} {name}"
            out += [".SS " + esc(full), ".PP", esc(_usage(child))]
            summary = child.description or helps.get(name)
            if summary:
                out.append(_paragraphs(summary))
            options = _option_lines(child, with_help=False)
            if options:
                out += [".PP", ".RS", *options, ".RE"]
            if child.epilog:
                out.append(_paragraphs(child.epilog))
            out += _commands(child, full)
    return out


def render(page: Page, version: str, date: str) -> str:
    """The roff source of one manual page."""
    parser = load_parser(page.builder)
    description = (parser.description or page.name).strip()
    summary = description.split("\n")[0].rstrip(".")
    out = [
        f'.TH {page.name.upper()} {page.section} "{date}" "hedgegrid {version}" "hedgegrid manual"',
        '.\\" Generated by packaging/manpages.py from the argparse parser; do not edit.',
        ".nh",
        ".ad l",
        ".SH NAME",
        f"{esc(page.name)} \\- {esc(summary)}",
        ".SH SYNOPSIS",
        esc(_usage(parser)),
        ".SH DESCRIPTION",
        _paragraphs(description),
        ".SH OPTIONS",
        *_option_lines(parser),
    ]
    commands = _commands(parser, page.name)
    if commands:
        out += [".SH COMMANDS", *commands]
    if parser.epilog:
        out += [".SH NOTES", _paragraphs(parser.epilog)]
    out += [
        ".SH FILES",
        ".TP",
        "\\fI/etc/hedgegrid/hedgegridd.toml\\fR",
        "daemon configuration (every key documented in the file)",
        ".TP",
        "\\fI/etc/hedgegrid/credentials/\\fR",
        "secrets, one file each, read through systemd's LoadCredential=",
        ".TP",
        "\\fI/usr/share/doc/hedgegridd/README.md\\fR",
        "operator's guide: install, configure, journalctl recipes, upgrades",
        ".SH SEE ALSO",
        ", ".join(f"\\fB{esc(ref.split('(')[0])}\\fR({ref.split('(')[1]}" for ref in page.see_also),
    ]
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write every page into --out."""
    ap = argparse.ArgumentParser(description="render hedgegrid manual pages from the parsers")
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--date", default="2026-01-01", help="date shown in the footer")
    args = ap.parse_args(argv)
    import hedgegridd

    args.out.mkdir(parents=True, exist_ok=True)
    for page in PAGES:
        target = args.out / f"{page.name}.{page.section}"
        target.write_text(render(page, hedgegridd.__version__, args.date), encoding="utf-8")
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
