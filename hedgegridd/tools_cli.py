"""``hedgegrid``: the offline tools (data, backtest, optimize, sim, demo).

Each tool lives in its own package and contributes a ``cli.register(subparsers)``
function; this module only assembles them, importing each lazily so that
``hedgegrid --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from hedgegridd import __version__

# (subcommand, module providing ``register(subparsers) -> None``)
TOOLS: tuple[tuple[str, str], ...] = (
    ("data", "hedgegridd.data.cli"),
    ("backtest", "hedgegridd.backtest.cli"),
    ("optimize", "hedgegridd.optimize.cli"),
    ("sim", "hedgegridd.sim.cli"),
    ("demo", "hedgegridd.demo"),
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser from every tool package that is installed."""
    parser = argparse.ArgumentParser(
        prog="hedgegrid", description="hedgegrid offline tools: data, backtest, optimize, sim."
    )
    parser.add_argument("--version", action="version", version=f"hedgegrid {__version__}")
    sub = parser.add_subparsers(dest="tool", metavar="TOOL", required=True)
    for _name, module in TOOLS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            continue
        mod.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``hedgegrid``; each tool's handler returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = args.handler
    code: int = handler(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
