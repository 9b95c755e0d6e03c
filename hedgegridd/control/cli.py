"""``hedgegridctl``: steer a running ``hedgegridd`` over its control socket."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from hedgegridd import __version__
from hedgegridd.control.commands import (
    COMMAND_INFO,
    DEFAULT_RUNTIME_DIRECTORY,
    PROTOCOL_VERSION,
    SOCKET_NAME,
    ErrorCode,
    ExitCode,
    exit_code_for,
)
from hedgegridd.errors import ControlError

if TYPE_CHECKING:
    from pydantic import BaseModel

# Only the stdlib and ``commands`` at import time: ``--help``, ``--version`` and
# ``completion`` never load anyio, pydantic or the protocol's models; one command
# (``roundtrip``) loads pydantic only once connected and never anyio (``--all`` does).

EXIT_CODES_HELP = """exit codes (stable):
  0  ok
  1  internal error in the daemon or the ctl (see the daemon's log)
  2  usage error, or a request the daemon rejected as malformed
  3  daemon not running (no socket / connection refused) or too busy
  4  permission denied (socket file or peer-credential check)
  5  refused by the daemon's state (e.g. resume while the kill switch is latched)
  6  version mismatch between hedgegridctl and hedgegridd
  7  timed out waiting for the daemon (--timeout)
  8  flatten sent closing orders but the book was not verified flat
  64 --all with a write command (name the instance: --instance NAME)
  78 reload refused: the config file is invalid or not allowed for the mode (names the key)
  141 stdout was closed by its reader (e.g. `| head`): the rest is dropped quietly

With --all the exit code is that of the first failing instance (by name), 0 when
every instance answered.

many instances: hedgegridd@NAME listens on RUNTIME_DIR/NAME/control.sock, the plain
hedgegridd unit on RUNTIME_DIR/control.sock (instance "hedgegridd"). --all asks every
instance found there at once and prints one table, a row per instance (one that does
not answer is a row with its error); read-only commands only (status, positions,
orders, ladders, killswitch status, version).

environment: HEDGEGRID_SOCKET overrides the default socket path; HEDGEGRID_RUNTIME_DIR
the runtime directory searched by --all and --instance (default /run/hedgegrid)."""

ArgsBuilder = Callable[[argparse.Namespace], dict[str, Any]]

DEFAULT_TIMEOUT_S = 10.0
FLATTEN_TIMEOUT_S = 60.0  # covers the kill switch's close-and-verify attempts


def _timeout(args: argparse.Namespace) -> float:
    if args.timeout is not None:
        return float(args.timeout)
    return FLATTEN_TIMEOUT_S if args.wire == "flatten" else DEFAULT_TIMEOUT_S


def default_socket_path() -> str:
    """``$HEDGEGRID_SOCKET``, else ``$RUNTIME_DIRECTORY/control.sock``, else /run/hedgegrid."""
    if env := os.environ.get("HEDGEGRID_SOCKET"):
        return env
    runtime = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    return os.path.join(runtime or str(DEFAULT_RUNTIME_DIRECTORY), SOCKET_NAME)


def default_runtime_dir() -> str:
    """``$HEDGEGRID_RUNTIME_DIR``, else /run/hedgegrid (where the units put their sockets)."""
    return os.environ.get("HEDGEGRID_RUNTIME_DIR") or str(DEFAULT_RUNTIME_DIRECTORY)


def _throttle_value(text: str) -> str:
    """argparse type of ``throttle VALUE``: a decimal within [0, 1], in plain words."""
    from decimal import Decimal, InvalidOperation

    try:
        number = Decimal(text)
    except InvalidOperation:
        number = Decimal("NaN")
    if not number.is_finite():
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number; give a fraction between 0 and 1, e.g. 0.5"
        )
    if not Decimal(0) <= number <= Decimal(1):
        raise argparse.ArgumentTypeError(
            f"{text} is out of range: the throttle is a fraction between 0 and 1 "
            "(0 = no entries, 1 = full size)"
        )
    return text


def _no_args(_: argparse.Namespace) -> dict[str, Any]:
    return {}


def _add(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    wire: str,
    build: ArgsBuilder = _no_args,
) -> argparse.ArgumentParser:
    summary = COMMAND_INFO[wire].summary
    parser = sub.add_parser(name, help=summary, description=summary)
    parser.set_defaults(wire=wire, build=build)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The ``hedgegridctl`` argument parser (its commands mirror ``protocol.COMMANDS``)."""
    parser = argparse.ArgumentParser(
        prog="hedgegridctl",
        description="Steer a running hedgegridd over its control socket.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"hedgegridctl {__version__} (control protocol {PROTOCOL_VERSION})",
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--socket", default=default_socket_path(), help="control socket path")
    where.add_argument(
        "--instance",
        metavar="NAME",
        default=None,
        help="the instance hedgegridd@NAME (socket RUNTIME_DIR/NAME/control.sock)",
    )
    where.add_argument(
        "--all",
        dest="all_instances",
        action="store_true",
        help="every instance in RUNTIME_DIR, one table row each (read-only commands)",
    )
    parser.add_argument(
        "--runtime-dir",
        default=default_runtime_dir(),
        metavar="RUNTIME_DIR",
        help="where --all and --instance look for sockets (default %(default)s)",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable JSON output")
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help=f"seconds to wait for the daemon (default {DEFAULT_TIMEOUT_S:g}; "
        f"flatten {FLATTEN_TIMEOUT_S:g}: it waits until the book is verified flat)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in ("status", "positions", "orders", "ladders", "reload", "version"):
        _add(sub, name, name)
    pause = _add(
        sub,
        "pause",
        "pause",
        lambda a: {"reason": a.reason, **({"keep_orders": True} if a.keep_orders else {})},
    )
    pause.add_argument("--reason", default="operator", help="pause reason (default operator)")
    pause.add_argument(
        "--keep-orders",
        action="store_true",
        help="leave resting entry orders in place (frozen); default: cancel them",
    )
    resume = _add(sub, "resume", "resume", lambda a: {"reason": "*" if a.all else a.reason})
    resume.add_argument(
        "--reason",
        default="operator",
        help="pause reason to clear (default operator: your pause and a finished flatten's)",
    )
    resume.add_argument(
        "--all",
        action="store_true",
        help="clear every operator/degraded pause, a finished flatten's included",
    )
    throttle = _add(sub, "throttle", "throttle", lambda a: {"value": a.value})
    throttle.add_argument(
        "value",
        type=_throttle_value,
        help="entry size factor between 0 and 1, e.g. 0.5 (0 = no entries, 1 = full size); "
        "the reply says how many entry rungs per side remain at that size",
    )
    flatten = _add(sub, "flatten", "flatten", lambda a: {"side": a.side})
    flatten.add_argument("side", nargs="?", default="both", choices=("long", "short", "both"))
    killswitch = sub.add_parser("killswitch", help="kill switch status / reset")
    ks_sub = killswitch.add_subparsers(dest="ks_command", metavar="ACTION", required=True)
    _add(ks_sub, "status", "killswitch.status")
    _add(ks_sub, "reset", "killswitch.reset")
    completion = sub.add_parser("completion", help="print a shell completion script")
    completion.add_argument("shell", choices=("bash", "zsh"))
    completion.set_defaults(wire=None)
    return parser


def _run(args: argparse.Namespace) -> BaseModel:
    """One round trip on a blocking socket (no event loop; pydantic once connected)."""
    from hedgegridd.control import roundtrip

    return roundtrip.call(args.socket, args.wire, args.build(args), timeout_s=_timeout(args))


def _report_error(exc: ControlError, *, as_json: bool) -> int:
    code = str(exc.code)
    if as_json:
        print(json.dumps({"error": {"code": code, "message": exc.message}}))
    else:
        print(f"hedgegridctl: {exc.message} [{code}]", file=sys.stderr)
    return int(exit_code_for(code))


def _stdout_closed() -> int:
    """The reader of stdout went away (``| head``): end quietly, as SIGPIPE would."""
    try:  # later flushes (at exit) must not raise again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):
        pass
    return int(ExitCode.PIPE_CLOSED)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``hedgegridctl``; returns the documented exit code."""
    try:
        code = _main(argv)
        sys.stdout.flush()
    except BrokenPipeError:
        return _stdout_closed()
    return code


def _resolve_socket(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """``--instance NAME`` names its socket in ``args.socket`` (else --socket/the default)."""
    if args.instance is not None:
        from pathlib import Path

        from hedgegridd.control.fleet import instance_socket

        try:
            args.socket = str(instance_socket(Path(args.runtime_dir), args.instance))
        except ValueError as exc:
            parser.error(f"--instance: {exc}")


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.wire is None:
        from hedgegridd.control.completion import completion_script

        print(completion_script(args.shell))
        return int(ExitCode.OK)
    if args.all_instances:
        return _main_all(args)
    _resolve_socket(parser, args)
    try:
        result = _run(args)
    except ControlError as exc:
        return _report_error(exc, as_json=args.json)
    except TimeoutError:
        err = ControlError(
            ErrorCode.TIMEOUT, f"no answer from the daemon within {_timeout(args):g} s"
        )
        return _report_error(err, as_json=args.json)
    from hedgegridd.control.results import FlattenResult

    if args.json:
        print(json.dumps(result.model_dump(mode="json"), indent=2, sort_keys=True))
    else:
        from hedgegridd.control.render import render

        if args.wire == "version":
            print(f"hedgegridctl     {__version__}")
        print(render(result))
    if isinstance(result, FlattenResult) and result.verified is False:
        return int(ExitCode.NOT_FLAT)
    return int(ExitCode.OK)


def _main_all(args: argparse.Namespace) -> int:
    """``--all``: one read-only command on every instance, one table (or JSON list)."""
    if COMMAND_INFO[args.wire].mutating:
        print(
            f"hedgegridctl: --all runs read-only commands only; {_command_words(args.wire)} "
            "changes a daemon: name it with --instance NAME",
            file=sys.stderr,
        )
        return int(ExitCode.ALL_NEEDS_READ_ONLY)
    from pathlib import Path

    import anyio

    from hedgegridd.control import fleet

    try:
        instances = fleet.discover(Path(args.runtime_dir))
    except ControlError as exc:
        return _report_error(exc, as_json=args.json)
    answers = anyio.run(fleet.ask_all, instances, args.wire, args.build(args), _timeout(args))
    if args.json:
        doc = {"command": args.wire, "instances": [a.doc() for a in answers]}
        print(json.dumps(doc, indent=2, sort_keys=True))
    else:
        print(fleet.render_all(args.wire, answers))
    failed = fleet.first_error(answers)
    return int(ExitCode.OK) if failed is None else int(exit_code_for(str(failed.code)))


def _command_words(wire: str) -> str:
    """``killswitch.reset`` as typed: ``killswitch reset``."""
    return wire.replace(".", " ")


if __name__ == "__main__":
    sys.exit(main())
