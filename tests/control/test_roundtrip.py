"""The ctl's blocking round trip: results, client-side errors, and what it imports."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import LogCapture

from hedgegridd.control import roundtrip
from hedgegridd.control.protocol import PROTOCOL_VERSION
from hedgegridd.control.results import StatusResult
from hedgegridd.errors import ControlError
from tests.control.fakes import FakeDaemon
from tests.control.helpers import ServerThread, config_for

WELCOME = (
    b'{"type":"welcome","protocol":%d,"daemon_version":"0.1.0","access":"admin"}\n'
    % PROTOCOL_VERSION
)

# What a socket round trip must not load: the event loop stack, logging, the engine.
HEAVY_ALWAYS = {"anyio", "asyncio", "structlog", "nautilus_trader", "aiohttp", "sniffio"}


@pytest.fixture(autouse=True)
def _server_logs_captured(log_events: LogCapture) -> LogCapture:
    """Keep the in-process server's log lines out of captured output."""
    return log_events


@pytest.fixture
def live(sock_dir: Path, daemon: FakeDaemon) -> Iterator[str]:
    """A running server; yields the socket path as a string."""
    with ServerThread(config_for(sock_dir), daemon):
        yield str(sock_dir / "control.sock")


def test_status_round_trip_returns_the_result_model(live: str) -> None:
    """call() handshakes, runs status and validates the reply into StatusResult."""
    result = roundtrip.call(live, "status", {}, timeout_s=30)
    assert isinstance(result, StatusResult)
    assert result.state == "RUNNING"
    assert str(result.last_price) == "60012.3"


def test_daemon_error_reply_is_raised_with_its_code(live: str) -> None:
    """A bad argument comes back as the daemon's ControlError code and message."""
    with pytest.raises(ControlError) as err:
        roundtrip.call(live, "throttle", {"value": "7"}, timeout_s=30)
    assert err.value.code == "bad_argument"


def test_version_mismatch_is_the_daemons_explanation(live: str) -> None:
    """Another protocol version: the daemon's version_mismatch error, raised."""
    with pytest.raises(ControlError) as err:
        roundtrip.call(live, "status", timeout_s=30, protocol=PROTOCOL_VERSION + 1)
    assert err.value.code == "version_mismatch"


def test_no_socket_is_not_running(sock_dir: Path) -> None:
    """Nothing listening: not_running in plain words."""
    with pytest.raises(ControlError) as err:
        roundtrip.call(sock_dir / "none.sock", "status", timeout_s=30)
    assert err.value.code == "not_running"
    assert "is hedgegridd running?" in err.value.message


def _fake_daemon(sock_dir: Path, replies: list[bytes]) -> Iterator[Path]:
    """A one-connection daemon: reads a line, sends the next reply (none: reads only)."""
    path = sock_dir / "fake.sock"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        with conn, conn.makefile("rb") as reader, contextlib.suppress(OSError):
            for reply in replies:
                reader.readline()
                conn.sendall(reply)  # OSError: the client hung up (e.g. an oversized line)
            reader.readline()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield path
    finally:
        server.close()
        thread.join(timeout=30)


@pytest.mark.parametrize(
    ("replies", "code", "words"),
    [
        ([], "not_running", "without a reply"),
        ([b"[1]\n"], "protocol_violation", "JSON object"),
        ([WELCOME, b"x" * 2**21], "protocol_violation", "oversized reply"),
        (
            [WELCOME, b'{"type":"result","id":9,"result":{}}\n'],
            "protocol_violation",
            "out of order",
        ),
        (
            [WELCOME, b'{"type":"result","id":1,"result":{"state":1}}\n'],
            "protocol_violation",
            "invalid result",
        ),
    ],
    ids=["eof", "not-an-object", "oversized", "wrong-id", "invalid-result"],
)
def test_broken_daemon_replies_are_client_side_errors(
    sock_dir: Path, replies: list[bytes], code: str, words: str
) -> None:
    """EOF, garbage, an oversized line, a wrong id, an invalid result: stable codes."""
    for path in _fake_daemon(sock_dir, replies):
        with pytest.raises(ControlError) as err:
            roundtrip.call(path, "status", timeout_s=30)
    assert err.value.code == code
    assert words in err.value.message


def test_a_silent_daemon_times_out(sock_dir: Path) -> None:
    """Connected but never answered: TimeoutError once timeout_s has passed."""
    for path in _fake_daemon(sock_dir, [b""]):
        with pytest.raises(TimeoutError):
            roundtrip.call(path, "status", timeout_s=0.3)


def _modules_after(*argv: str) -> set[str]:
    """Top-level packages loaded by a ``hedgegridctl`` run in a fresh interpreter."""
    probe = (
        "import sys\n"
        "from hedgegridd.control import cli\n"
        f"code = cli.main({list(argv)!r})\n"
        "sys.stderr.write('\\nLOADED ' + str(code) + ' ' + ' '.join(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    code, *modules = done.stderr.rpartition("\nLOADED ")[2].split()
    assert code == "0" or argv[-1] == "status", done.stderr
    return {m.split(".")[0] for m in modules} | {f"exit={code}"}


def test_status_round_trip_loads_no_event_loop_logging_or_engine(live: str) -> None:
    """A status round trip needs pydantic (the protocol's models), not anyio or structlog."""
    loaded = _modules_after("--socket", live, "status")
    assert "exit=0" in loaded
    assert "pydantic" in loaded  # the result was validated by the protocol's models
    assert loaded & HEAVY_ALWAYS == set()


def test_no_daemon_fails_before_loading_pydantic(sock_dir: Path) -> None:
    """status with nothing listening exits 3 with the stdlib only: no pydantic either."""
    loaded = _modules_after("--socket", str(sock_dir / "none.sock"), "status")
    assert "exit=3" in loaded
    assert loaded & (HEAVY_ALWAYS | {"pydantic", "pydantic_core"}) == set()


def test_a_full_listen_backlog_is_retried_until_the_deadline(sock_dir: Path) -> None:
    """EAGAIN on connect (backlog full) is waited out, not reported as not running."""
    path = sock_dir / "full.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(str(path))
        server.listen(0)  # never accepts
        queued: list[socket.socket] = []
        try:
            while True:  # fill the backlog until a connect would block
                probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                probe.setblocking(False)
                queued.append(probe)
                try:
                    probe.connect(str(path))
                except BlockingIOError:
                    break
            with pytest.raises(TimeoutError):
                roundtrip.call(path, "status", timeout_s=0.3)
        finally:
            for probe in queued:
                probe.close()
