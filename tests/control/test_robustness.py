"""Misbehaving clients get an error reply or are dropped; the server and others carry on."""

from __future__ import annotations

import json
import os
import socket

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgegridd.control.client import ControlClient
from hedgegridd.control.protocol import PROTOCOL_VERSION
from hedgegridd.control.results import StatusResult
from hedgegridd.errors import ControlError
from tests.control.fakes import FakeDaemon
from tests.control.helpers import (
    RawClient,
    ServerThread,
    config_for,
    eventually,
    serve,
    wait_for,
)

HELLO = b'{"type":"hello","protocol":%d}\n' % PROTOCOL_VERSION


def _status_works(path) -> bool:
    client = RawClient(path)
    try:
        assert client.hello()["type"] == "welcome"
        reply = client.request(99, "status")
        return reply is not None and reply["type"] == "result" and reply["id"] == 99
    finally:
        client.close()


def test_garbage_and_invalid_utf8_get_errors_and_connection_continues(sock_dir, daemon) -> None:
    """Garbage, invalid UTF-8, wrong types, unknown commands: error replies; then status works."""
    with ServerThread(config_for(sock_dir), daemon):
        client = RawClient(sock_dir / "control.sock")
        assert client.hello()["access"] == "admin"
        cases = [
            (b"\x00\x01\x02garbage\n", "bad_frame", None),
            (b"\xff\xfe\xfd\n", "bad_frame", None),
            (b"[1,2,3]\n", "bad_frame", None),
            (b'{"type":"request","id":5,"command":"status","args":{"x":1}}\n', "bad_argument", 5),
            (b'{"type":"request","id":6,"command":"selfdestruct"}\n', "unknown_command", 6),
            (b'{"type":"request","id":"7","command":"status"}\n', "bad_request", None),
            (b'{"type":"request","id":8,"command":"status","debug":true}\n', "bad_request", 8),
            (
                b'{"type":"request","id":9,"command":"throttle","args":{"value":[1]}}\n',
                "bad_argument",
                9,
            ),
        ]
        for raw, code, rid in cases:
            client.send(raw)
            reply = client.recv()
            assert reply is not None
            assert reply["type"] == "error"
            assert reply["code"] == code
            assert reply["id"] == rid
            assert "Traceback" not in reply["message"]
        ok = client.request(10, "status")
        assert ok is not None
        assert ok["type"] == "result"
        assert ok["result"]["fills"] == 42
        client.close()


def test_huge_line_is_refused_and_dropped_while_others_continue(sock_dir, daemon) -> None:
    """A line over the frame limit gets bad_frame and a close; another client is unaffected."""
    config = config_for(sock_dir, max_frame_bytes=4096)
    with ServerThread(config, daemon):
        path = sock_dir / "control.sock"
        bystander = RawClient(path)
        bystander.hello()
        hog = RawClient(path)
        hog.hello()
        try:
            hog.send(b"{" + b"x" * 100_000)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may close before we finish writing
        reply = hog.recv()
        assert reply is not None
        assert reply["code"] == "bad_frame"
        assert "4096" in reply["message"]
        assert hog.recv() is None  # dropped
        hog.close()
        status = bystander.request(1, "status")
        assert status is not None
        assert status["type"] == "result"
        bystander.close()


def test_half_closed_client_still_gets_its_replies(sock_dir, daemon) -> None:
    """A client that shuts down its write side after its requests still reads every reply."""
    with ServerThread(config_for(sock_dir), daemon):
        client = RawClient(sock_dir / "control.sock")
        batch = [
            {"type": "hello", "protocol": PROTOCOL_VERSION},
            {"type": "request", "id": 1, "command": "status"},
            {"type": "request", "id": 2, "command": "version"},
        ]
        client.send(b"".join(json.dumps(m).encode() + b"\n" for m in batch))
        client.sock.shutdown(socket.SHUT_WR)
        replies = [client.recv(), client.recv(), client.recv()]
        assert [r["type"] for r in replies if r] == ["welcome", "result", "result"]
        assert client.recv() is None  # server closes after EOF
        client.close()
        assert _status_works(sock_dir / "control.sock")


def test_silent_partial_and_vanishing_clients_do_not_block_others(sock_dir, daemon) -> None:
    """Silent, mid-line and abruptly closed clients are dropped; the server keeps serving."""
    config = config_for(sock_dir, handshake_timeout_s=1.0, idle_timeout_s=1.5)
    with ServerThread(config, daemon) as st_:
        path = sock_dir / "control.sock"
        silent = RawClient(path)
        partial = RawClient(path)
        partial.hello()
        partial.send(b'{"type":"request","id":1,"comm')
        for _ in range(5):
            gone = RawClient(path)
            gone.send(HELLO + b'{"type":"request","id":1,')
            gone.close()
        assert _status_works(path)
        assert silent.recv() is None  # handshake timeout drops it
        assert partial.recv() is None  # idle timeout drops it
        silent.close()
        partial.close()
        assert st_.server is not None
        wait_for(lambda: st_.server.active_connections == 0)


def test_first_message_must_be_hello(sock_dir, daemon) -> None:
    """A request before the hello gets handshake_required and the connection is closed."""
    with ServerThread(config_for(sock_dir), daemon):
        client = RawClient(sock_dir / "control.sock")
        reply = client.request(1, "pause")
        assert reply is not None
        assert reply["code"] == "handshake_required"
        assert client.recv() is None
        client.close()
    assert daemon.strategy.pause_reasons == []


def test_version_mismatch_is_explained_and_closed(sock_dir, daemon) -> None:
    """A client speaking another protocol version gets version_mismatch in plain words."""
    with ServerThread(config_for(sock_dir), daemon):
        client = RawClient(sock_dir / "control.sock")
        client.send_json({"type": "hello", "protocol": 99, "client": "hedgegridctl/9.0"})
        reply = client.recv()
        assert reply is not None
        assert reply["code"] == "version_mismatch"
        assert f"protocol {PROTOCOL_VERSION}" in reply["message"]
        assert "protocol 99" in reply["message"]
        assert client.recv() is None
        client.close()


@pytest.mark.anyio
async def test_hundred_concurrent_clients_with_garbage_mixed_in(sock_dir) -> None:
    """100 clients at once, a third sending garbage: every good client gets its status."""
    daemon = FakeDaemon()
    path = sock_dir / "control.sock"
    good_results: list[int] = []
    bad_replies: list[str] = []

    async def good(i: int) -> None:
        async with await ControlClient.connect(path) as client:
            for _ in range(3):
                status = await client.call("status")
                assert isinstance(status, StatusResult)
            good_results.append(i)

    async def bad(i: int) -> None:
        stream = await anyio.connect_unix(path)
        async with stream:
            await stream.send(HELLO + b"\xff\xfe" + bytes([i]) + b"\n")
            data = b""
            with anyio.fail_after(30):
                while data.count(b"\n") < 2:
                    data += await stream.receive()
            bad_replies.append(json.loads(data.split(b"\n")[1])["code"])

    async with serve(config_for(sock_dir), daemon.backend(), daemon.journal) as server:
        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                for i in range(100):
                    tg.start_soon(bad if i % 3 == 0 else good, i)
        assert len(good_results) == 66
        assert bad_replies == ["bad_frame"] * 34
        async with await ControlClient.connect(path) as client:
            assert isinstance(await client.call("status"), StatusResult)
        await eventually(lambda: server.active_connections == 0)


def _raw_without_hello(path: object) -> socket.socket:
    """A connection that never finishes its handshake (holds a slot, not idle)."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(str(path))
    return sock


@pytest.mark.anyio
async def test_clients_over_the_limit_get_busy(sock_dir, daemon) -> None:
    """Past max_clients with no idle session a newcomer gets busy; once one leaves it is served."""
    path = sock_dir / "control.sock"
    config = config_for(sock_dir, max_clients=2, handshake_timeout_s=60)
    async with serve(config, daemon.backend(), daemon.journal) as server:
        first, second = _raw_without_hello(path), _raw_without_hello(path)
        await eventually(lambda: server.active_connections == 2)
        with pytest.raises(ControlError) as refused:
            await ControlClient.connect(path)
        assert refused.value.code == "busy"
        first.close()
        second.close()
        await eventually(lambda: server.active_connections == 0)
        third = await ControlClient.connect(path)
        assert isinstance(await third.call("status"), StatusResult)
        await third.aclose()


@pytest.mark.anyio
async def test_idle_clients_are_evicted_for_a_newcomer(sock_dir, daemon, log_events) -> None:
    """Quiet clients holding every slot cannot lock an operator out: the longest idle goes."""
    path = sock_dir / "control.sock"
    config = config_for(sock_dir, max_clients=2)
    async with serve(config, daemon.backend(), daemon.journal):
        oldest = await ControlClient.connect(path)
        newer = await ControlClient.connect(path)
        async with await ControlClient.connect(path) as operator:
            assert isinstance(await operator.call("status"), StatusResult)
        with pytest.raises((ControlError, OSError)):
            await oldest.call("status")
        assert isinstance(await newer.call("status"), StatusResult)
        await oldest.aclose()
        await newer.aclose()
    evicted = [e for e in log_events.entries if e["event"] == "control.idle_evicted"]
    assert len(evicted) == 1


@pytest.fixture(scope="module")
def fuzz_server():
    """One live server shared by the fuzz examples."""
    import shutil
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp(prefix="hgc-", dir="/tmp"))
    daemon = FakeDaemon()
    try:
        with ServerThread(config_for(path, max_frame_bytes=4096), daemon):
            yield path / "control.sock", daemon
    finally:
        shutil.rmtree(path, ignore_errors=True)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.binary(min_size=0, max_size=600), min_size=1, max_size=4))
def test_fuzz_live_server_with_random_lines(fuzz_server, lines: list[bytes]) -> None:
    """Random lines over a real connection get error replies or a drop; the server survives."""
    path, _daemon = fuzz_server
    client = RawClient(path, timeout=30)
    try:
        client.hello()
        for line in lines:
            try:
                client.send(line.replace(b"\n", b" ") + b"\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            reply = client.recv()
            if reply is None:
                break
            assert reply["type"] in {"error", "result"}
            if reply["type"] == "error":
                assert reply["code"] in {
                    "bad_frame",
                    "bad_request",
                    "unknown_command",
                    "bad_argument",
                }
    finally:
        client.close()
    assert _status_works(path)


@pytest.mark.anyio
async def test_client_that_never_reads_is_dropped(sock_dir, daemon, log_events) -> None:
    """A client flooding requests without reading replies is dropped; others carry on."""
    path = sock_dir / "control.sock"
    config = config_for(sock_dir, send_timeout_s=0.5)
    async with serve(config, daemon.backend(), daemon.journal) as server:
        flood = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        flood.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        flood.connect(str(path))
        flood.setblocking(False)
        request = b'{"type":"request","id":1,"command":"orders"}\n'
        pending = HELLO + request * 20_000
        with anyio.fail_after(60):
            while pending:
                try:
                    sent = flood.send(pending)
                except BlockingIOError:
                    sent = 0
                except (BrokenPipeError, ConnectionResetError):
                    break
                pending = pending[sent:]
                if any(e["event"] == "control.send_timeout" for e in log_events.entries):
                    break
                await anyio.sleep(0.001)
        await eventually(
            lambda: any(e["event"] == "control.send_timeout" for e in log_events.entries)
        )
        async with await ControlClient.connect(path) as client:
            assert isinstance(await client.call("status"), StatusResult)
        flood.close()
        await eventually(lambda: server.active_connections == 0)


@pytest.mark.anyio
async def test_heartbeat_is_called_while_idle(sock_dir, daemon) -> None:
    """The server calls its heartbeat repeatedly even with no client connected."""
    beats: list[float] = []
    async with serve(
        config_for(sock_dir),
        daemon.backend(),
        daemon.journal,
        heartbeat=lambda: beats.append(1.0),
        heartbeat_interval_s=0.01,
    ):
        await eventually(lambda: len(beats) >= 5)


@pytest.mark.anyio
async def test_failures_while_refusing_busy_clients_do_not_stop_the_server(
    sock_dir, daemon, log_events
) -> None:
    """A reset or an error while refusing an over-limit client is contained and logged."""
    from hedgegridd.control import server as server_module

    path = sock_dir / "control.sock"
    config = config_for(sock_dir, max_clients=1, handshake_timeout_s=60)
    failures = iter([server_module._ClientGone(), RuntimeError("boom")])

    async def failing_refuse(*_args: object) -> None:
        raise next(failures)

    async with serve(config, daemon.backend(), daemon.journal) as server:
        holder = _raw_without_hello(path)
        await eventually(lambda: server.active_connections == 1)
        server._refuse = failing_refuse  # type: ignore[method-assign]
        for _ in range(2):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            sock.connect(str(path))
            sock.sendall(HELLO)
            sock.settimeout(30)
            assert await anyio.to_thread.run_sync(sock.recv, 100) == b""  # dropped, no reply
            sock.close()
        holder.close()
        await eventually(lambda: server.active_connections == 0)
        async with await ControlClient.connect(path) as client:
            assert isinstance(await client.call("status"), StatusResult)
    failed = [e for e in log_events.entries if e["event"] == "control.connection_failed"]
    assert len(failed) == 1


@pytest.mark.anyio
async def test_running_out_of_file_descriptors_does_not_stop_the_server(
    sock_dir, daemon, log_events
) -> None:
    """EMFILE on accept is logged and retried; once fds are free again clients are served."""
    import resource

    path = sock_dir / "control.sock"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    async with serve(config_for(sock_dir), daemon.backend(), daemon.journal):
        hog: list[int] = []
        pending = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 4096), hard))
            pending.connect(str(path))  # queued in the backlog before fds run out
            while True:
                try:
                    hog.append(os.open("/dev/null", os.O_RDONLY))
                except OSError:
                    break
            await eventually(
                lambda: any(e["event"] == "control.accept_failed" for e in log_events.entries)
            )
        finally:
            for fd in hog:
                os.close(fd)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        pending.close()
        async with await ControlClient.connect(path) as client:
            assert isinstance(await client.call("status"), StatusResult)
