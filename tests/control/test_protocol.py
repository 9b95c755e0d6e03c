"""The shared protocol module: framing, envelopes, command table, codes (incl. fuzzing)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgegridd.control.args import FlattenArgs, FlattenSideArg, PauseArgs, ThrottleArgs
from hedgegridd.control.protocol import (
    COMMANDS,
    EXIT_CODE_FOR_ERROR,
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    ErrorCode,
    ExitCode,
    Hello,
    ParsedRequest,
    Request,
    check_protocol,
    decode_frame,
    encode_frame,
    exit_code_for,
    parse_hello,
    parse_request,
    parse_server_message,
)
from hedgegridd.errors import ControlError

REQUIRED = {
    "status",
    "positions",
    "orders",
    "ladders",
    "pause",
    "resume",
    "throttle",
    "flatten",
    "killswitch.status",
    "killswitch.reset",
    "reload",
    "version",
}


def _code(fn, *args, **kwargs) -> str:
    with pytest.raises(ControlError) as err:
        fn(*args, **kwargs)
    return str(err.value.code)


def test_command_table_has_every_required_command_and_admin_split() -> None:
    """All issue commands exist; exactly the state-changing ones need admin."""
    assert set(COMMANDS) == REQUIRED
    mutating = {name for name, spec in COMMANDS.items() if spec.mutating}
    assert mutating == {"pause", "resume", "throttle", "flatten", "killswitch.reset", "reload"}


def test_every_error_code_maps_to_a_documented_exit_code() -> None:
    """Each stable error code has an exit code; the main categories are distinct."""
    assert set(EXIT_CODE_FOR_ERROR) == set(ErrorCode)
    assert exit_code_for("permission_denied") == ExitCode.PERMISSION_DENIED == 4
    assert exit_code_for("refused_by_state") == ExitCode.REFUSED_BY_STATE == 5
    assert exit_code_for("version_mismatch") == ExitCode.VERSION_MISMATCH == 6
    assert exit_code_for("not_running") == ExitCode.NOT_RUNNING == 3
    assert exit_code_for("bad_argument") == ExitCode.USAGE == 2
    assert exit_code_for("code-from-a-newer-daemon") == ExitCode.INTERNAL == 1


def test_request_round_trips_through_a_frame() -> None:
    """A request encodes to one newline-terminated line and parses back to typed args."""
    frame = encode_frame(Request(id=7, command="throttle", args={"value": "0.5"}))
    assert frame.endswith(b"\n")
    assert frame.count(b"\n") == 1
    parsed = parse_request(decode_frame(frame[:-1]))
    assert parsed.id == 7
    assert parsed.spec.name == "throttle"
    assert isinstance(parsed.args, ThrottleArgs)
    assert parsed.args.value == Decimal("0.5")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b"\xff\xfe\x00garbage", "UTF-8"),
        (b"{not json", "JSON"),
        (b"[1, 2]", "object"),
        (b'"text"', "object"),
        (b'{"type": "request", "id": NaN}', "JSON"),
        (b"[" * 30_000 + b"]" * 30_000, "JSON"),
        (b'{"id": ' + b"9" * 5000 + b"}", "JSON"),
        (b"x" * (MAX_FRAME_BYTES + 1), "larger"),
    ],
    ids=["utf8", "json", "list", "string", "nan", "nesting", "bigint", "oversize"],
)
def test_broken_frames_are_bad_frame(line: bytes, message: str) -> None:
    """Invalid UTF-8/JSON, non-objects, NaN, deep nesting, huge ints, oversize: bad_frame."""
    with pytest.raises(ControlError) as err:
        decode_frame(line)
    assert err.value.code == ErrorCode.BAD_FRAME
    assert message in err.value.message


@pytest.mark.parametrize(
    ("obj", "code"),
    [
        ({"type": "request", "id": 1, "command": "status", "extra": 1}, "bad_request"),
        ({"type": "request", "id": "1", "command": "status"}, "bad_request"),
        ({"type": "request", "id": True, "command": "status"}, "bad_request"),
        ({"type": "request", "id": -1, "command": "status"}, "bad_request"),
        ({"type": "request", "id": 1.0, "command": "status"}, "bad_request"),
        ({"type": "request", "id": 1, "command": 5}, "bad_request"),
        ({"type": "request", "id": 1}, "bad_request"),
        ({"type": "request", "id": 1, "command": "status", "args": []}, "bad_request"),
        ({"type": "nope", "id": 1, "command": "status"}, "bad_request"),
        ({"type": "hello", "protocol": 1}, "bad_request"),
        ({"type": "request", "id": 1, "command": "rm -rf"}, "unknown_command"),
        ({"type": "request", "id": 1, "command": "status", "args": {"x": 1}}, "bad_argument"),
        ({"type": "request", "id": 1, "command": "throttle", "args": {}}, "bad_argument"),
        (
            {"type": "request", "id": 1, "command": "throttle", "args": {"value": 0.5}},
            "bad_argument",
        ),
        (
            {"type": "request", "id": 1, "command": "throttle", "args": {"value": "2"}},
            "bad_argument",
        ),
        (
            {"type": "request", "id": 1, "command": "throttle", "args": {"value": "inf"}},
            "bad_argument",
        ),
        (
            {"type": "request", "id": 1, "command": "flatten", "args": {"side": "up"}},
            "bad_argument",
        ),
        ({"type": "request", "id": 1, "command": "flatten", "args": {"side": 1}}, "bad_argument"),
        (
            {"type": "request", "id": 1, "command": "pause", "args": {"reason": "a b"}},
            "bad_argument",
        ),
        ({"type": "request", "id": 1, "command": "pause", "args": {"reason": ""}}, "bad_argument"),
        (
            {"type": "request", "id": 1, "command": "pause", "args": {"keep_orders": "yes"}},
            "bad_argument",
        ),
    ],
)
def test_invalid_requests_get_stable_codes(obj: dict, code: str) -> None:
    """Unknown fields, wrong types, unknown commands and bad args each get their code."""
    assert _code(parse_request, obj) == code


def test_pause_withdraws_by_default_and_keep_orders_is_a_strict_boolean() -> None:
    """pause without keep_orders withdraws entries; keep_orders true freezes them instead."""
    parsed = parse_request({"type": "request", "id": 1, "command": "pause"})
    assert isinstance(parsed.args, PauseArgs)
    assert parsed.args.keep_orders is False
    obj = {"type": "request", "id": 2, "command": "pause", "args": {"keep_orders": True}}
    args = parse_request(obj).args
    assert isinstance(args, PauseArgs)
    assert args.keep_orders is True
    assert args.reason == "operator"


def test_flatten_defaults_to_both_and_accepts_each_side() -> None:
    """flatten without a side closes both; long/short parse to their enum."""
    parsed = parse_request({"type": "request", "id": 1, "command": "flatten"})
    assert isinstance(parsed.args, FlattenArgs)
    assert parsed.args.side is FlattenSideArg.BOTH
    for side in ("long", "short"):
        obj = {"type": "request", "id": 2, "command": "flatten", "args": {"side": side}}
        args = parse_request(obj).args
        assert isinstance(args, FlattenArgs)
        assert args.side.value == side


def test_handshake_requires_hello_first_and_matching_protocol() -> None:
    """A non-hello first frame is handshake_required; another protocol is explained plainly."""
    assert _code(parse_hello, b'{"type": "request", "id": 1, "command": "status"}') == (
        "handshake_required"
    )
    other = PROTOCOL_VERSION + 1
    hello = parse_hello(b'{"type": "hello", "protocol": %d, "client": "hedgegridctl/9.0"}' % other)
    with pytest.raises(ControlError) as err:
        check_protocol(hello, daemon_version="0.1.0")
    assert err.value.code == ErrorCode.VERSION_MISMATCH
    assert f"speaks control protocol {PROTOCOL_VERSION}" in err.value.message
    assert "hedgegridctl/9.0" in err.value.message
    assert f"protocol {other}" in err.value.message
    check_protocol(Hello(protocol=PROTOCOL_VERSION), daemon_version="0.1.0")


def test_client_rejects_malformed_server_messages() -> None:
    """The ctl treats unknown or malformed daemon messages as a protocol violation."""
    for line in (b"garbage", b'{"type": "surprise"}', b'{"type": "result", "id": "x"}'):
        assert _code(parse_server_message, line, max_bytes=1024) == "protocol_violation"


def _outcome(line: bytes) -> ParsedRequest | ControlError:
    """Parse a line as the server does; return the error instead of raising it."""
    try:
        return parse_request(decode_frame(line))
    except ControlError as exc:
        return exc


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)
request_like = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["request", "hello", "result"]) | st.text(max_size=8),
        "id": st.integers(min_value=-5, max_value=2**60) | json_values,
        "command": st.sampled_from(sorted(COMMANDS)) | st.text(max_size=12) | json_values,
        "args": st.dictionaries(
            st.sampled_from(["value", "side", "reason", "x"]), json_values, max_size=3
        )
        | json_values,
        "extra": json_values,
    },
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2048))
def test_fuzz_arbitrary_bytes_only_ever_raise_control_errors(data: bytes) -> None:
    """Any byte string is either a valid request or a ControlError with a stable code."""
    outcome = _outcome(data)
    if isinstance(outcome, ControlError):
        assert outcome.code in set(ErrorCode)
        assert outcome.message


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request_like)
def test_fuzz_request_shaped_objects_parse_or_fail_with_stable_codes(obj: dict) -> None:
    """Request-shaped JSON either parses to a known command or fails with a stable code."""
    line = json.dumps(obj).encode()
    parsed = _outcome(line)
    if isinstance(parsed, ControlError):
        assert parsed.code in {
            ErrorCode.BAD_FRAME,
            ErrorCode.BAD_REQUEST,
            ErrorCode.UNKNOWN_COMMAND,
            ErrorCode.BAD_ARGUMENT,
        }
        assert "Traceback" not in parsed.message
    else:
        assert parsed.spec.name in COMMANDS
        assert set(obj) <= {"type", "id", "command", "args"}
        assert isinstance(obj["id"], int)
        assert 0 <= parsed.id <= 2**53


def test_protocol_doc_lists_every_command_and_code() -> None:
    """PROTOCOL.md documents every command, error code and its exit code."""
    from pathlib import Path

    import hedgegridd.control

    doc = (Path(hedgegridd.control.__file__).parent / "PROTOCOL.md").read_text()
    for name, spec in COMMANDS.items():
        access = "admin" if spec.mutating else "read"
        assert f"| `{name}` | {access} |" in doc
    for code, exit_code in EXIT_CODE_FOR_ERROR.items():
        row = next(line for line in doc.splitlines() if line.startswith(f"| `{code.value}` |"))
        assert row.endswith(f"| {int(exit_code)} |")
