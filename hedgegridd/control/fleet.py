"""``hedgegridctl --all``: every instance's socket in the runtime directory, one table.

Instances are found where the systemd units put their sockets: the plain
``hedgegridd.service`` at ``<runtime dir>/control.sock`` (shown as ``hedgegridd``)
and each ``hedgegridd@NAME.service`` at ``<runtime dir>/NAME/control.sock``. Every
instance is asked concurrently, each within the ctl's ``--timeout``; one that
does not answer is a row with its error, and the exit code is that of the first
failing instance (by name), so scripts see a failure when any instance failed.
Read-only commands only: a write command must name its instance (``--instance``).
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
from pydantic import BaseModel

from hedgegridd.control.client import ControlClient
from hedgegridd.control.commands import SOCKET_NAME, ErrorCode
from hedgegridd.control.render import table
from hedgegridd.control.results import (
    KillSwitchResult,
    LaddersResult,
    OrdersResult,
    PositionsResult,
    StatusResult,
    VersionResult,
)
from hedgegridd.errors import ControlError

DEFAULT_NAME = "hedgegridd"  # the instance of the plain (non-template) unit
INSTANCE_NAME = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")


@dataclass(frozen=True, slots=True)
class Instance:
    """One daemon's control socket."""

    name: str
    socket: Path


@dataclass(frozen=True, slots=True)
class Answer:
    """What one instance replied: a result, or the error that stood in for it."""

    instance: Instance
    result: BaseModel | None = None
    error: ControlError | None = None

    def doc(self) -> dict[str, Any]:
        """The ``--json`` form of the answer."""
        doc: dict[str, Any] = {"instance": self.instance.name, "socket": str(self.instance.socket)}
        if self.result is not None:
            doc["result"] = self.result.model_dump(mode="json")
        if self.error is not None:
            doc["error"] = {"code": str(self.error.code), "message": self.error.message}
        return doc


def check_name(name: str) -> str:
    """A systemd instance name usable as one path component, else ValueError."""
    if not INSTANCE_NAME.fullmatch(name) or name in (".", ".."):
        raise ValueError(f"{name!r} is not an instance name (letters, digits, _ . : @ -)")
    return name


def instance_socket(runtime_dir: Path, name: str) -> Path:
    """The socket of ``hedgegridd@NAME`` (``hedgegridd``: the plain unit's)."""
    if name == DEFAULT_NAME:
        return runtime_dir / SOCKET_NAME
    return runtime_dir / check_name(name) / SOCKET_NAME


def _is_socket(path: Path) -> bool:
    try:
        return stat.S_ISSOCK(path.stat().st_mode)
    except OSError:
        return False


def discover(runtime_dir: Path) -> list[Instance]:
    """Every control socket in ``runtime_dir`` and its instance subdirectories, by name.

    A directory that cannot be listed is a ``ControlError`` (permission denied or
    not running); an instance directory without a socket is not an instance.
    """
    try:
        entries = sorted(os.scandir(runtime_dir), key=lambda e: e.name)
    except FileNotFoundError as exc:
        raise ControlError(
            ErrorCode.NOT_RUNNING,
            f"no runtime directory {runtime_dir} (is any hedgegridd running?)",
        ) from exc
    except PermissionError as exc:
        raise ControlError(
            ErrorCode.PERMISSION_DENIED,
            f"permission denied listing {runtime_dir}; ask to be added to the control group",
        ) from exc
    found: list[Instance] = []
    if _is_socket(runtime_dir / SOCKET_NAME):
        found.append(Instance(DEFAULT_NAME, runtime_dir / SOCKET_NAME))
    for entry in entries:
        if entry.is_dir() and INSTANCE_NAME.fullmatch(entry.name):
            sock = Path(entry.path) / SOCKET_NAME
            if _is_socket(sock):
                found.append(Instance(entry.name, sock))
    if not found:
        raise ControlError(
            ErrorCode.NOT_RUNNING,
            f"no hedgegridd control socket under {runtime_dir} (is any hedgegridd running?)",
        )
    return sorted(found, key=lambda i: i.name)


async def ask_all(
    instances: Sequence[Instance], command: str, args: dict[str, Any], timeout_s: float
) -> list[Answer]:
    """Send ``command`` to every instance at once; an answer per instance, in order."""
    answers: list[Answer | None] = [None] * len(instances)

    async def one(index: int, instance: Instance) -> None:
        try:
            with anyio.fail_after(timeout_s):
                async with await ControlClient.connect(instance.socket) as client:
                    result = await client.call(command, args)
            answers[index] = Answer(instance, result=result)
        except ControlError as exc:
            answers[index] = Answer(instance, error=exc)
        except TimeoutError:
            err = ControlError(ErrorCode.TIMEOUT, f"no answer within {timeout_s:g} s")
            answers[index] = Answer(instance, error=err)

    async with anyio.create_task_group() as tg:
        for index, instance in enumerate(instances):
            tg.start_soon(one, index, instance)
    return [a for a in answers if a is not None]


# -- one row per instance ---------------------------------------------------------------
def _status(r: StatusResult) -> list[object]:
    ks = "LATCHED" if r.killswitch_latched else "armed"
    return [
        r.mode,
        r.state,
        r.instrument_id,
        r.pause_reasons,
        ks,
        r.realized_pnl,
        r.unrealized_pnl,
        r.equity,
        r.fills,
    ]


def _positions(r: PositionsResult) -> list[object]:
    return [
        r.instrument_id,
        r.long.quantity,
        r.long.avg_price,
        r.short.quantity,
        r.short.avg_price,
        r.long.unrealized_pnl + r.short.unrealized_pnl,
    ]


def _orders(r: OrdersResult) -> list[object]:
    kinds = [o.kind for o in r.orders]
    return [len(kinds), *(kinds.count(k) for k in ("entry", "tp", "sl", "flatten"))]


def _ladders(r: LaddersResult) -> list[object]:
    longs = [g.price for g in r.rungs if g.side == "LONG"]
    shorts = [g.price for g in r.rungs if g.side == "SHORT"]
    return [len(longs), max(longs, default=None), len(shorts), min(shorts, default=None)]


def _killswitch(r: KillSwitchResult) -> list[object]:
    return ["LATCHED" if r.latched else "armed", r.reason, r.fired_at_ns]


def _version(r: VersionResult) -> list[object]:
    return [r.daemon_version, r.protocol_version, r.nautilus_version]


Row = Callable[[Any], list[object]]
COLUMNS: dict[str, tuple[tuple[str, ...], Row]] = {
    "status": (
        (
            "mode",
            "state",
            "instrument",
            "paused by",
            "kill switch",
            "realized",
            "unrealized",
            "equity",
            "fills",
        ),
        _status,
    ),
    "positions": (
        ("instrument", "long qty", "long avg", "short qty", "short avg", "upnl"),
        _positions,
    ),
    "orders": (("orders", "entries", "tp", "sl", "flatten"), _orders),
    "ladders": (("long rungs", "top long", "short rungs", "low short"), _ladders),
    "killswitch.status": (("kill switch", "reason", "fired at (ns)"), _killswitch),
    "version": (("hedgegridd", "protocol", "nautilus_trader"), _version),
}
READ_COMMANDS: tuple[str, ...] = tuple(COLUMNS)


def render_all(command: str, answers: Sequence[Answer]) -> str:
    """One table: a row per instance, the error in the last column when it failed."""
    headers, row = COLUMNS[command]
    rows: list[list[object]] = []
    for answer in answers:
        if answer.result is not None:
            rows.append([answer.instance.name, *row(answer.result), None])
        else:
            assert answer.error is not None
            error = f"{answer.error.message} [{answer.error.code}]"
            rows.append([answer.instance.name, *([None] * len(headers)), error])
    return table(("instance", *headers, "error"), rows)


def first_error(answers: Sequence[Answer]) -> ControlError | None:
    """The error of the first failing instance (by name), if any failed."""
    return next((a.error for a in answers if a.error is not None), None)
