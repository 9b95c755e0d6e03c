"""The control socket itself: systemd socket activation, or a path we bind (0660 + group)."""

from __future__ import annotations

import errno
import os
import socket
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import anyio
import structlog
from anyio.abc import SocketStream

from hedgegridd.errors import ConfigError

log = structlog.get_logger(__name__)

SD_LISTEN_FDS_START = 3
_TRANSIENT_ACCEPT_ERRORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_BACKLOG = 128


@dataclass(slots=True)
class BoundSocket:
    """A listening socket and, when we created it, the path and inode to clean up."""

    sock: socket.socket
    path: Path | None  # None for a systemd-provided socket (systemd owns the file)
    inode: int | None


def systemd_socket(environ: Mapping[str, str], pid: int) -> socket.socket | None:
    """The first AF_UNIX stream socket passed by systemd (``LISTEN_FDS``), if any.

    With ``LISTEN_FDNAMES`` the fd named ``control`` is preferred.
    """
    if environ.get("LISTEN_PID", "") != str(pid):
        return None
    try:
        count = int(environ.get("LISTEN_FDS", "0"))
    except ValueError as exc:
        raise ConfigError("LISTEN_FDS: must be an integer count of passed sockets") from exc
    names = environ.get("LISTEN_FDNAMES", "").split(":") if environ.get("LISTEN_FDNAMES") else []
    fds = list(range(SD_LISTEN_FDS_START, SD_LISTEN_FDS_START + count))
    if "control" in names:
        fds = [fds[names.index("control")]]
    for fd in fds:
        try:
            sock = socket.socket(fileno=fd)
        except OSError:
            continue
        if sock.family == socket.AF_UNIX and sock.type == socket.SOCK_STREAM:
            sock.setblocking(False)
            return sock
        sock.detach()  # not ours to close
    return None


def _clear_stale(path: Path) -> None:
    """Remove a leftover socket file; refuse if it is live or not a socket."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(st.st_mode):
        raise ConfigError(f"control.socket_path: {path} exists and is not a socket")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        path.unlink(missing_ok=True)
        log.info("control.stale_socket_removed", path=str(path))
        return
    finally:
        probe.close()
    raise ConfigError(f"control.socket_path: another process is already listening on {path}")


def bind_socket(path: Path, *, mode: int, gid: int | None) -> BoundSocket:
    """Bind ``path`` and set its mode and group before ``listen()`` (so no early connects).

    Blocking filesystem calls: run it in a worker thread.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    _clear_stale(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        os.chmod(path, mode)
        if gid is not None:
            os.chown(path, -1, gid)
        sock.listen(_BACKLOG)
        sock.setblocking(False)
        inode = path.stat().st_ino
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"control.socket_path: cannot listen on {path}: {exc.strerror or 'error'}"
        ) from exc
    return BoundSocket(sock=sock, path=path, inode=inode)


def remove_socket_file(bound: BoundSocket) -> None:
    """Unlink the socket file we created, unless another process replaced it since."""
    if bound.path is None:
        return
    try:
        if bound.path.lstat().st_ino == bound.inode:
            bound.path.unlink()
    except FileNotFoundError:
        return


async def accept(sock: socket.socket) -> SocketStream:
    """Accept one connection as a transport-based anyio stream.

    (anyio's raw-socket Unix listener/stream can call ``set_result`` on a cancelled
    future when readiness and cancellation coincide; this path cannot.)
    """
    while True:
        await anyio.wait_readable(sock)
        try:
            conn, _ = sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            continue
        except OSError as exc:
            if exc.errno not in _TRANSIENT_ACCEPT_ERRORS:
                raise
            log.warning("control.accept_failed", errno=errno.errorcode.get(exc.errno or 0))
            await anyio.sleep(0.1)  # out of fds/memory: back off, keep serving the others
            continue
        conn.setblocking(False)
        try:
            return await SocketStream.from_socket(conn)
        except (OSError, ValueError):  # the peer vanished between accept and wrap
            conn.close()
            log.debug("control.accept_vanished")
