"""The control protocol: the one module the daemon's server and ``hedgegridctl`` share.

Wire format
-----------
A Unix stream socket carrying one JSON object per line (UTF-8, ``\\n``-terminated,
at most ``MAX_FRAME_BYTES`` bytes per line). Unknown fields are rejected everywhere.

1. The client opens with ``{"type": "hello", "protocol": 2, "client": "hedgegridctl/0.1.0"}``.
2. The server answers ``{"type": "welcome", "protocol": 2, "daemon_version": "0.1.0",
   "access": "admin"|"read"}`` or an error (``version_mismatch``, ``permission_denied``,
   ``handshake_required``, ``busy``) and closes.
3. Requests: ``{"type": "request", "id": 7, "command": "throttle", "args": {"value": "0.5"}}``.
4. Replies: ``{"type": "result", "id": 7, "result": {...}}`` or
   ``{"type": "error", "id": 7, "code": "bad_argument", "message": "..."}`` (``id`` is
   ``null`` when the request was too broken to carry one). Messages are plain words,
   never a traceback or exception text.

Error codes (stable) and the ``hedgegridctl`` exit codes they map to: see
``ErrorCode`` and ``EXIT_CODE_FOR_ERROR``; the exit codes themselves are ``ExitCode``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

from hedgegridd.control.args import (
    FlattenArgs,
    NoArgs,
    PauseArgs,
    ResumeArgs,
    ThrottleArgs,
)
from hedgegridd.control.results import (
    FlattenResult,
    KillSwitchResult,
    LaddersResult,
    OrdersResult,
    PositionsResult,
    ReloadResult,
    StateResult,
    StatusResult,
    ThrottleResult,
    VersionResult,
)
from hedgegridd.errors import ControlError

PROTOCOL_VERSION = 2
MAX_FRAME_BYTES = 64 * 1024
MAX_REQUEST_ID = 2**53  # JSON-safe integer range


class ErrorCode(enum.StrEnum):
    """Stable wire error codes. Never rename one; add new ones instead."""

    BAD_FRAME = "bad_frame"  # not one UTF-8 JSON object per line, or too large
    BAD_REQUEST = "bad_request"  # envelope schema violated (fields, types)
    HANDSHAKE_REQUIRED = "handshake_required"  # first message was not a hello
    UNKNOWN_COMMAND = "unknown_command"
    BAD_ARGUMENT = "bad_argument"  # arguments of a known command are invalid
    PERMISSION_DENIED = "permission_denied"  # peer may not connect or run this command
    REFUSED_BY_STATE = "refused_by_state"  # e.g. resume while the kill switch is latched
    VERSION_MISMATCH = "version_mismatch"
    BUSY = "busy"  # too many clients connected
    TIMEOUT = "timeout"  # the daemon or the client gave up waiting
    INTERNAL = "internal"  # the daemon failed; details are in its log
    CONFIG_INVALID = "config_invalid"  # reload refused: the file is invalid or not for the mode
    NOT_RUNNING = "not_running"  # client side: no daemon listening on the socket
    PROTOCOL_VIOLATION = "protocol_violation"  # client side: the daemon replied nonsense


class ExitCode(enum.IntEnum):
    """``hedgegridctl`` exit codes (documented in ``hedgegridctl --help``; stable)."""

    OK = 0
    INTERNAL = 1  # the daemon or the ctl failed unexpectedly
    USAGE = 2  # bad command line or a request the daemon rejected as malformed
    NOT_RUNNING = 3  # no daemon on the socket, or it is too busy to answer
    PERMISSION_DENIED = 4  # the socket or the daemon refused this user
    REFUSED_BY_STATE = 5  # the daemon's state forbids it (e.g. kill switch latched)
    VERSION_MISMATCH = 6  # ctl and daemon speak different protocol versions
    TIMEOUT = 7  # no answer within --timeout
    NOT_FLAT = 8  # flatten sent closing orders but the book was not verified flat
    CONFIG_INVALID = 78  # reload refused: the config names the key (EX_CONFIG, as the daemon)


EXIT_CODE_FOR_ERROR: Mapping[ErrorCode, ExitCode] = {
    ErrorCode.BAD_FRAME: ExitCode.USAGE,
    ErrorCode.BAD_REQUEST: ExitCode.USAGE,
    ErrorCode.HANDSHAKE_REQUIRED: ExitCode.USAGE,
    ErrorCode.UNKNOWN_COMMAND: ExitCode.USAGE,
    ErrorCode.BAD_ARGUMENT: ExitCode.USAGE,
    ErrorCode.PERMISSION_DENIED: ExitCode.PERMISSION_DENIED,
    ErrorCode.REFUSED_BY_STATE: ExitCode.REFUSED_BY_STATE,
    ErrorCode.VERSION_MISMATCH: ExitCode.VERSION_MISMATCH,
    ErrorCode.BUSY: ExitCode.NOT_RUNNING,
    ErrorCode.TIMEOUT: ExitCode.TIMEOUT,
    ErrorCode.INTERNAL: ExitCode.INTERNAL,
    ErrorCode.CONFIG_INVALID: ExitCode.CONFIG_INVALID,
    ErrorCode.NOT_RUNNING: ExitCode.NOT_RUNNING,
    ErrorCode.PROTOCOL_VIOLATION: ExitCode.INTERNAL,
}


def exit_code_for(code: str) -> ExitCode:
    """Exit code of the ctl for a wire error code (unknown codes from a newer daemon: 1)."""
    try:
        return EXIT_CODE_FOR_ERROR[ErrorCode(code)]
    except ValueError:
        return ExitCode.INTERNAL


class Access(enum.StrEnum):
    """What a peer may do: nothing, read-only commands, or everything."""

    NONE = "none"
    READ = "read"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class CommandSpec:
    """One protocol command: wire name, access needed, argument and result schemas."""

    name: str
    mutating: bool  # admin-only and recorded in the event journal
    args_model: type[BaseModel]
    result_model: type[BaseModel]
    summary: str

    @property
    def access(self) -> Access:
        return Access.ADMIN if self.mutating else Access.READ


_SPECS: tuple[CommandSpec, ...] = (
    CommandSpec("status", False, NoArgs, StatusResult, "strategy state, PnL and risk figures"),
    CommandSpec("positions", False, NoArgs, PositionsResult, "LONG and SHORT positions"),
    CommandSpec("orders", False, NoArgs, OrdersResult, "open orders owned by the strategy"),
    CommandSpec("ladders", False, NoArgs, LaddersResult, "desired grid rungs of the last bar"),
    CommandSpec(
        "pause",
        True,
        PauseArgs,
        StateResult,
        "no new exposure: withdraw entries (keep_orders: leave them resting); exits stay",
    ),
    CommandSpec("resume", True, ResumeArgs, StateResult, "clear an operator pause"),
    CommandSpec("throttle", True, ThrottleArgs, ThrottleResult, "scale entry sizes by 0..1"),
    CommandSpec("flatten", True, FlattenArgs, FlattenResult, "close a side (long|short|both)"),
    CommandSpec(
        "killswitch.status", False, NoArgs, KillSwitchResult, "kill switch latch and reason"
    ),
    CommandSpec("killswitch.reset", True, NoArgs, KillSwitchResult, "clear a latched kill switch"),
    CommandSpec("reload", True, NoArgs, ReloadResult, "reload what can be reloaded (as SIGHUP)"),
    CommandSpec("version", False, NoArgs, VersionResult, "daemon, protocol and engine versions"),
)

COMMANDS: Mapping[str, CommandSpec] = {spec.name: spec for spec in _SPECS}


# --------------------------------------------------------------------------- envelopes

_STRICT = ConfigDict(frozen=True, extra="forbid", strict=True)
RequestId = Annotated[StrictInt, Field(ge=0, le=MAX_REQUEST_ID)]


class Hello(BaseModel):
    """Client -> server, first message of a connection."""

    model_config = _STRICT
    type: Literal["hello"] = "hello"
    protocol: StrictInt
    client: Annotated[StrictStr, Field(max_length=64)] = "unknown"


class Welcome(BaseModel):
    """Server -> client, the successful answer to a hello."""

    model_config = _STRICT
    type: Literal["welcome"] = "welcome"
    protocol: StrictInt
    daemon_version: StrictStr
    access: Annotated[Access, Field(strict=False)]


class Request(BaseModel):
    """Client -> server: run ``command`` with ``args``; ``id`` is echoed in the reply."""

    model_config = _STRICT
    type: Literal["request"] = "request"
    id: RequestId
    command: Annotated[StrictStr, Field(max_length=64)]
    args: dict[str, Any] = Field(default_factory=dict)


class Result(BaseModel):
    """Server -> client: the successful answer to request ``id``."""

    model_config = _STRICT
    type: Literal["result"] = "result"
    id: RequestId
    result: dict[str, Any]


class ErrorReply(BaseModel):
    """Server -> client: request ``id`` (or the connection) failed with a stable code."""

    model_config = _STRICT
    type: Literal["error"] = "error"
    id: RequestId | None = None
    code: StrictStr
    message: StrictStr


# --------------------------------------------------------------------------- framing


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def encode_frame(message: BaseModel) -> bytes:
    """One message as a ``\\n``-terminated compact JSON line."""
    return message.model_dump_json().encode("utf-8") + b"\n"


def decode_frame(line: bytes, *, max_bytes: int = MAX_FRAME_BYTES) -> dict[str, Any]:
    """Parse one line (without its ``\\n``) into a JSON object, or raise ``ControlError``."""
    if len(line) > max_bytes:
        raise ControlError(ErrorCode.BAD_FRAME, f"frame larger than {max_bytes} bytes")
    try:
        text = line.decode("utf-8")
        obj = json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError as exc:
        raise ControlError(ErrorCode.BAD_FRAME, "frame is not valid UTF-8") from exc
    except (ValueError, RecursionError) as exc:
        raise ControlError(ErrorCode.BAD_FRAME, "frame is not valid JSON") from exc
    if not isinstance(obj, dict):
        raise ControlError(ErrorCode.BAD_FRAME, "frame must be a JSON object")
    return obj


def describe_validation_error(exc: ValidationError, *, prefix: str = "") -> str:
    """Plain one-line description naming the offending fields (no input values echoed)."""
    parts: list[str] = []
    for err in exc.errors(include_url=False, include_input=False)[:5]:
        loc = ".".join(str(p) for p in err["loc"]) or "message"
        parts.append(f"{prefix}{loc}: {err['msg']}")
    return "; ".join(parts) or "invalid message"


def _parse(model: type[BaseModel], obj: dict[str, Any], code: ErrorCode, prefix: str = "") -> Any:
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        raise ControlError(code, describe_validation_error(exc, prefix=prefix)) from exc


def parse_hello(line: bytes, *, max_bytes: int = MAX_FRAME_BYTES) -> Hello:
    """The first frame of a connection, which must be a hello."""
    obj = decode_frame(line, max_bytes=max_bytes)
    if obj.get("type") != "hello":
        raise ControlError(ErrorCode.HANDSHAKE_REQUIRED, "the first message must be a hello")
    hello: Hello = _parse(Hello, obj, ErrorCode.BAD_REQUEST)
    return hello


def check_protocol(hello: Hello, *, daemon_version: str) -> None:
    """Raise ``version_mismatch`` (in plain words) unless the client speaks our protocol."""
    if hello.protocol != PROTOCOL_VERSION:
        raise ControlError(
            ErrorCode.VERSION_MISMATCH,
            f"this daemon (hedgegridd {daemon_version}) speaks control protocol "
            f"{PROTOCOL_VERSION} but the client ({hello.client}) speaks protocol "
            f"{hello.protocol}; use the hedgegridctl installed with the daemon",
        )


def request_id_of(obj: Mapping[str, Any]) -> int | None:
    """The request id if the object carries a valid one (to echo it in an error)."""
    rid = obj.get("id")
    if isinstance(rid, int) and not isinstance(rid, bool) and 0 <= rid <= MAX_REQUEST_ID:
        return rid
    return None


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """A validated request: its id, command spec and typed arguments."""

    id: int
    spec: CommandSpec
    args: BaseModel


def parse_request(obj: dict[str, Any]) -> ParsedRequest:
    """Validate a decoded frame as a request for a known command with valid arguments."""
    if obj.get("type") == "hello":
        raise ControlError(ErrorCode.BAD_REQUEST, "hello was already sent on this connection")
    request: Request = _parse(Request, obj, ErrorCode.BAD_REQUEST)
    spec = COMMANDS.get(request.command)
    if spec is None:
        raise ControlError(
            ErrorCode.UNKNOWN_COMMAND,
            f"unknown command {request.command[:64]!r}; known: {', '.join(COMMANDS)}",
        )
    args = _parse(spec.args_model, request.args, ErrorCode.BAD_ARGUMENT, prefix="args.")
    return ParsedRequest(id=request.id, spec=spec, args=args)


def parse_server_message(line: bytes, *, max_bytes: int) -> Welcome | Result | ErrorReply:
    """Client side: decode a server frame; anything unexpected is a protocol violation."""
    try:
        obj = decode_frame(line, max_bytes=max_bytes)
        kind = obj.get("type")
        model: type[Welcome] | type[Result] | type[ErrorReply]
        if kind == "welcome":
            model = Welcome
        elif kind == "result":
            model = Result
        elif kind == "error":
            model = ErrorReply
        else:
            raise ControlError(ErrorCode.PROTOCOL_VIOLATION, "unexpected message type")
        message: Welcome | Result | ErrorReply = _parse(model, obj, ErrorCode.PROTOCOL_VIOLATION)
        return message
    except ControlError as exc:
        raise ControlError(
            ErrorCode.PROTOCOL_VIOLATION, f"the daemon sent an invalid message: {exc.message}"
        ) from exc


def error_reply(exc: ControlError, request_id: int | None = None) -> ErrorReply:
    """The wire form of a ``ControlError``."""
    return ErrorReply(id=request_id, code=str(exc.code), message=exc.message)


def result_reply(request_id: int, result: BaseModel) -> Result:
    """The wire form of a successful result."""
    return Result(id=request_id, result=result.model_dump(mode="json"))
