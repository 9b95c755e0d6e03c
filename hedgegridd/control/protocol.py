"""The control protocol: the one module the daemon's server and ``hedgegridctl`` share.

Wire format
-----------
A Unix stream socket carrying one JSON object per line (UTF-8, ``\\n``-terminated,
at most ``MAX_FRAME_BYTES`` bytes per line). Unknown fields are rejected everywhere.

1. The client opens with ``{"type": "hello", "protocol": 3, "client": "hedgegridctl/0.1.0"}``.
2. The server answers ``{"type": "welcome", "protocol": 3, "daemon_version": "0.1.0",
   "access": "admin"|"read"}`` or an error (``version_mismatch``, ``permission_denied``,
   ``handshake_required``, ``busy``) and closes.
3. Requests: ``{"type": "request", "id": 7, "command": "throttle", "args": {"value": "0.5"}}``.
4. Replies: ``{"type": "result", "id": 7, "result": {...}}`` or
   ``{"type": "error", "id": 7, "code": "bad_argument", "message": "..."}`` (``id`` is
   ``null`` when the request was too broken to carry one). Messages are plain words,
   never a traceback or exception text.

Error codes (stable) and the ``hedgegridctl`` exit codes they map to: see
``ErrorCode`` and ``EXIT_CODE_FOR_ERROR``; the exit codes themselves are ``ExitCode``.
Those, the version and the command table live in the stdlib-only ``commands.py``
(re-exported here) so that ``hedgegridctl --help`` needs no pydantic.
"""

from __future__ import annotations

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
from hedgegridd.control.commands import (
    COMMAND_INFO,
    EXIT_CODE_FOR_ERROR,
    MAX_FRAME_BYTES,
    MAX_REQUEST_ID,
    PROTOCOL_VERSION,
    Access,
    CommandInfo,
    ErrorCode,
    ExitCode,
    exit_code_for,
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

__all__ = [
    "COMMANDS",
    "EXIT_CODE_FOR_ERROR",
    "MAX_FRAME_BYTES",
    "MAX_REQUEST_ID",
    "PROTOCOL_VERSION",
    "Access",
    "CommandSpec",
    "ErrorCode",
    "ErrorReply",
    "ExitCode",
    "Hello",
    "ParsedRequest",
    "Request",
    "Result",
    "Welcome",
    "check_protocol",
    "decode_frame",
    "describe_validation_error",
    "encode_frame",
    "error_reply",
    "exit_code_for",
    "expect_result",
    "expect_welcome",
    "parse_hello",
    "parse_request",
    "parse_server_message",
    "request_id_of",
    "result_reply",
    "validate_result",
]


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


_SCHEMAS: Mapping[str, tuple[type[BaseModel], type[BaseModel]]] = {
    "status": (NoArgs, StatusResult),
    "positions": (NoArgs, PositionsResult),
    "orders": (NoArgs, OrdersResult),
    "ladders": (NoArgs, LaddersResult),
    "pause": (PauseArgs, StateResult),
    "resume": (ResumeArgs, StateResult),
    "throttle": (ThrottleArgs, ThrottleResult),
    "flatten": (FlattenArgs, FlattenResult),
    "killswitch.status": (NoArgs, KillSwitchResult),
    "killswitch.reset": (NoArgs, KillSwitchResult),
    "reload": (NoArgs, ReloadResult),
    "version": (NoArgs, VersionResult),
}


def _spec(info: CommandInfo) -> CommandSpec:
    args_model, result_model = _SCHEMAS[info.name]
    return CommandSpec(info.name, info.mutating, args_model, result_model, info.summary)


COMMANDS: Mapping[str, CommandSpec] = {name: _spec(info) for name, info in COMMAND_INFO.items()}


# --------------------------------------------------------------------------- envelopes

_STRICT = ConfigDict(frozen=True, extra="forbid", strict=True, defer_build=True)
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
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{prefix}{loc}: {msg}")
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
    args = _parse(
        spec.args_model, request.args, ErrorCode.BAD_ARGUMENT, prefix=f"{spec.name} argument "
    )
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


def expect_welcome(reply: Welcome | Result | ErrorReply) -> Welcome:
    """Client side: the handshake's answer, or its error reply raised."""
    if isinstance(reply, ErrorReply):
        raise ControlError(reply.code, reply.message)
    if not isinstance(reply, Welcome):
        raise ControlError(ErrorCode.PROTOCOL_VIOLATION, "the daemon skipped the welcome")
    return reply


def expect_result(reply: Welcome | Result | ErrorReply, request_id: int) -> dict[str, Any]:
    """Client side: the result object answering ``request_id``, or its error raised."""
    if isinstance(reply, ErrorReply):
        raise ControlError(reply.code, reply.message)
    if not isinstance(reply, Result) or reply.id != request_id:
        raise ControlError(ErrorCode.PROTOCOL_VIOLATION, "the daemon answered out of order")
    return reply.result


def validate_result(command: str, raw: dict[str, Any]) -> BaseModel:
    """Client side: a result object validated into ``command``'s result model."""
    spec = COMMANDS.get(command)
    if spec is None:
        raise ControlError(ErrorCode.UNKNOWN_COMMAND, f"unknown command {command!r}")
    try:
        return spec.result_model.model_validate(raw)
    except ValidationError as exc:
        raise ControlError(
            ErrorCode.PROTOCOL_VIOLATION,
            "the daemon sent an invalid result: " + describe_validation_error(exc),
        ) from exc


def error_reply(exc: ControlError, request_id: int | None = None) -> ErrorReply:
    """The wire form of a ``ControlError``."""
    return ErrorReply(id=request_id, code=str(exc.code), message=exc.message)


def result_reply(request_id: int, result: BaseModel) -> Result:
    """The wire form of a successful result."""
    return Result(id=request_id, result=result.model_dump(mode="json"))
