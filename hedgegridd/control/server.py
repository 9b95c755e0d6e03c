"""``ControlServer``: the daemon side of the control socket.

Runs on the daemon's event loop (anyio): every command is awaited there, so the
strategy is never touched from another thread. Each connection is checked
against the peer's kernel credentials before a byte is read, then must complete
the version handshake. A misbehaving client (garbage, huge lines, silence, a
half-closed socket) gets an error reply or is dropped; it cannot stop the
server or disturb the other clients. When every slot is taken, the connection
that has been idle (waiting between requests) the longest is closed to make
room, so quiet clients cannot lock operators out; only when every slot is busy
with a request is the newcomer refused (``busy``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import anyio
import structlog
from anyio.abc import SocketStream, TaskStatus
from anyio.streams.buffered import BufferedByteReceiveStream
from pydantic import BaseModel

from hedgegridd import __version__
from hedgegridd.control.backend import ControlBackend
from hedgegridd.control.config import ControlConfig, resolve_groups
from hedgegridd.control.dispatch import dispatch
from hedgegridd.control.listener import (
    BoundSocket,
    accept,
    bind_socket,
    remove_socket_file,
    systemd_socket,
)
from hedgegridd.control.peercred import AccessPolicy, PeerCredentials, read_peer_credentials
from hedgegridd.control.protocol import (
    PROTOCOL_VERSION,
    Access,
    ErrorCode,
    ParsedRequest,
    Welcome,
    check_protocol,
    decode_frame,
    encode_frame,
    error_reply,
    parse_hello,
    parse_request,
    request_id_of,
    result_reply,
)
from hedgegridd.errors import ControlError

log = structlog.get_logger(__name__)


class JournalWriter(Protocol):
    """Records a mutating command (``AsyncStateStore.journal`` has this shape)."""

    def __call__(
        self, kind: str, *, actor: str, details: dict[str, Any], at_ns: int
    ) -> Awaitable[None]: ...


class _ClientGone(Exception):
    """The peer closed or reset the connection."""


class ControlServer:
    """Serves the control protocol on a Unix socket until cancelled."""

    def __init__(
        self,
        config: ControlConfig,
        backend: ControlBackend,
        journal: JournalWriter,
        *,
        daemon_version: str = __version__,
        daemon_uid: int | None = None,
        daemon_gid: int | None = None,
        heartbeat: Callable[[], None] | None = None,
        heartbeat_interval_s: float = 1.0,
        environ: dict[str, str] | None = None,
    ) -> None:
        self._config = config
        self._backend = backend
        self._journal = journal
        self._daemon_version = daemon_version
        self._policy = AccessPolicy(
            daemon_uid=os.geteuid() if daemon_uid is None else daemon_uid,
            groups=resolve_groups(
                config, daemon_gid=os.getegid() if daemon_gid is None else daemon_gid
            ),
        )
        self._heartbeat = heartbeat
        self._heartbeat_interval_s = heartbeat_interval_s
        self._environ = dict(os.environ) if environ is None else environ
        self._active = 0
        self._idle: dict[int, tuple[float, anyio.CancelScope]] = {}  # id -> (since, scope)
        self.socket_path = config.resolved_socket_path(self._environ)

    @property
    def active_connections(self) -> int:
        """Connections currently being served."""
        return self._active

    async def _open(self) -> BoundSocket:
        if self._config.systemd_socket:
            sock = systemd_socket(self._environ, os.getpid())
            if sock is not None:
                return BoundSocket(sock=sock, path=None, inode=None)
        gid = self._policy.groups.socket_gid
        return await anyio.to_thread.run_sync(
            lambda: bind_socket(self.socket_path, mode=self._config.socket_mode, gid=gid)
        )

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Listen, report ``started``, and serve until cancelled (then remove the socket)."""
        bound = await self._open()
        try:
            async with anyio.create_task_group() as tg:
                if self._heartbeat is not None:
                    tg.start_soon(self._beat)
                log.info(
                    "control.listening",
                    path=str(bound.path) if bound.path else None,
                    systemd=bound.path is None,
                    mode=oct(self._config.socket_mode),
                    admin_gid=self._policy.groups.admin_gid,
                    readonly_gid=self._policy.groups.readonly_gid,
                    daemon_uid=self._policy.daemon_uid,
                )
                task_status.started()
                while True:
                    stream = await accept(bound.sock)
                    if self._heartbeat is not None:
                        self._heartbeat()
                    if self._active >= self._config.max_clients and not self._evict_idle():
                        tg.start_soon(self._refuse_busy, stream)
                    else:
                        self._active += 1
                        tg.start_soon(self._serve, stream)
        finally:
            bound.sock.close()
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: remove_socket_file(bound))
            log.info("control.stopped")

    def _evict_idle(self) -> bool:
        """Close the longest-idle session to free a slot; False when none is idle."""
        if not self._idle:
            return False
        key = min(self._idle, key=lambda k: self._idle[k][0])
        since, scope = self._idle.pop(key)
        scope.cancel()
        log.info("control.idle_evicted", idle_s=round(time.monotonic() - since, 3))
        return True

    async def _beat(self) -> None:
        assert self._heartbeat is not None
        while True:
            self._heartbeat()
            await anyio.sleep(self._heartbeat_interval_s)

    async def _refuse_busy(self, stream: SocketStream) -> None:
        log.warning("control.busy", max_clients=self._config.max_clients)
        err = ControlError(ErrorCode.BUSY, "too many control clients connected; retry later")
        try:
            async with stream:
                with anyio.move_on_after(1.0):
                    await self._refuse(stream, BufferedByteReceiveStream(stream), err)
        except _ClientGone:
            log.debug("control.client_gone")
        except Exception:  # a refused connection must never take the server down
            log.exception("control.connection_failed")

    async def _refuse(
        self, stream: SocketStream, reader: BufferedByteReceiveStream, err: ControlError
    ) -> None:
        """Consume the client's hello first, then answer ``err``: a peer that is still
        writing its hello when we close would otherwise lose the reply (EPIPE)."""
        try:
            await reader.receive_until(b"\n", self._config.max_frame_bytes + 1)
        except (anyio.IncompleteRead, anyio.EndOfStream, anyio.DelimiterNotFound):
            pass  # nothing (valid) to consume: answer anyway
        except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
            raise _ClientGone from exc
        await self._send(stream, error_reply(err))

    async def _serve(self, stream: SocketStream) -> None:
        try:
            async with stream:
                await self._session(stream)
        except _ClientGone:
            log.debug("control.client_gone")
        except Exception:  # one connection must never take the server down
            log.exception("control.connection_failed")
        finally:
            self._active -= 1

    async def _session(self, stream: SocketStream) -> None:
        raw = stream.extra(anyio.abc.SocketAttribute.raw_socket)
        peer = read_peer_credentials(raw)
        access = self._policy.access_for(peer)
        reader = BufferedByteReceiveStream(stream)
        if access is Access.NONE:
            log.warning("control.refused", uid=peer.uid, gid=peer.gid, pid=peer.pid)
            err = ControlError(
                ErrorCode.PERMISSION_DENIED,
                f"uid {peer.uid} may not use the control socket; ask to join the control group",
            )
            with anyio.move_on_after(self._config.handshake_timeout_s):
                await self._refuse(stream, reader, err)
            return
        line = await self._read_line(stream, reader, self._config.handshake_timeout_s)
        if line is None:
            return
        try:
            hello = parse_hello(line, max_bytes=self._config.max_frame_bytes)
            check_protocol(hello, daemon_version=self._daemon_version)
        except ControlError as exc:
            log.info("control.handshake_failed", code=str(exc.code), uid=peer.uid, pid=peer.pid)
            await self._send(stream, error_reply(exc))
            return
        welcome = Welcome(
            protocol=PROTOCOL_VERSION, daemon_version=self._daemon_version, access=access
        )
        await self._send(stream, welcome)
        while True:
            line = await self._read_idle(stream, reader)
            if line is None:
                return
            await self._send(stream, await self._handle_line(line, peer, access))

    async def _read_idle(
        self, stream: SocketStream, reader: BufferedByteReceiveStream
    ) -> bytes | None:
        """Wait for the next request; evictable while waiting (a full server needs the slot)."""
        key = id(stream)
        with anyio.CancelScope() as scope:
            self._idle[key] = (time.monotonic(), scope)
            try:
                return await self._read_line(stream, reader, self._config.idle_timeout_s)
            finally:
                self._idle.pop(key, None)
        return None  # evicted

    async def _read_line(
        self, stream: SocketStream, reader: BufferedByteReceiveStream, timeout_s: float
    ) -> bytes | None:
        """Next line, or ``None`` when the peer is done, silent too long or over the limit."""
        limit = self._config.max_frame_bytes
        with anyio.move_on_after(timeout_s):
            try:
                return await reader.receive_until(b"\n", limit + 1)
            except (anyio.IncompleteRead, anyio.EndOfStream):
                return None
            except (anyio.BrokenResourceError, anyio.ClosedResourceError) as exc:
                raise _ClientGone from exc
            except anyio.DelimiterNotFound:
                log.warning("control.frame_too_large", max_bytes=limit)
                err = ControlError(ErrorCode.BAD_FRAME, f"frame larger than {limit} bytes")
                await self._send(stream, error_reply(err))
                return None
        log.info("control.idle_timeout", timeout_s=timeout_s)
        return None

    async def _send(self, stream: SocketStream, message: BaseModel) -> None:
        """Send one frame; a peer that stops reading is dropped after ``send_timeout_s``."""
        try:
            with anyio.fail_after(self._config.send_timeout_s):
                await stream.send(encode_frame(message))
        except TimeoutError as exc:
            log.warning("control.send_timeout", timeout_s=self._config.send_timeout_s)
            raise _ClientGone from exc
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            raise _ClientGone from exc

    async def _handle_line(self, line: bytes, peer: PeerCredentials, access: Access) -> BaseModel:
        obj: dict[str, Any] | None = None
        try:
            obj = decode_frame(line, max_bytes=self._config.max_frame_bytes)
            parsed = parse_request(obj)
        except ControlError as exc:
            log.info("control.bad_request", code=str(exc.code), uid=peer.uid, pid=peer.pid)
            return error_reply(exc, request_id_of(obj) if obj is not None else None)
        if parsed.spec.access is Access.ADMIN and access is not Access.ADMIN:
            log.warning("control.denied", command=parsed.spec.name, uid=peer.uid, pid=peer.pid)
            err = ControlError(
                ErrorCode.PERMISSION_DENIED,
                f"'{parsed.spec.name}' needs admin access; uid {peer.uid} is read-only",
            )
            return error_reply(err, parsed.id)
        reply = await self._execute(parsed, peer)
        if parsed.spec.mutating:
            await self._record(parsed, peer, reply)
        return reply

    async def _execute(self, parsed: ParsedRequest, peer: PeerCredentials) -> BaseModel:
        name = parsed.spec.name
        try:
            with anyio.fail_after(self._config.request_timeout_s):
                result = await dispatch(self._backend, parsed, actor=peer.actor())
            if not isinstance(result, parsed.spec.result_model):
                raise TypeError(f"backend returned {type(result).__name__} for {name}")
        except ControlError as exc:
            log.info("control.command_refused", command=name, code=str(exc.code))
            return error_reply(exc, parsed.id)
        except TimeoutError:
            log.error("control.command_timeout", command=name)
            err = ControlError(ErrorCode.TIMEOUT, f"'{name}' did not complete in time")
            return error_reply(err, parsed.id)
        except Exception:  # mapped to a generic reply; details go to the log
            log.exception("control.command_failed", command=name)
            err = ControlError(
                ErrorCode.INTERNAL, f"the daemon failed to run '{name}'; see its log"
            )
            return error_reply(err, parsed.id)
        log.debug("control.command_ok", command=name, uid=peer.uid)
        return result_reply(parsed.id, result)

    async def _record(self, parsed: ParsedRequest, peer: PeerCredentials, reply: BaseModel) -> None:
        outcome = getattr(reply, "code", None) or "ok"
        details: dict[str, Any] = {
            "command": parsed.spec.name,
            "args": parsed.args.model_dump(mode="json"),
            "uid": peer.uid,
            "gid": peer.gid,
            "pid": peer.pid,
            "outcome": outcome,
        }
        log.info(
            "control.command", command=parsed.spec.name, uid=peer.uid, pid=peer.pid, outcome=outcome
        )
        try:
            await self._journal(
                "control.command", actor=peer.actor(), details=details, at_ns=time.time_ns()
            )
        except Exception:  # the command already ran; reply, but log loudly
            log.exception("control.journal_failed", command=parsed.spec.name)
