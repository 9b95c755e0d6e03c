"""Peer credentials of a Unix socket connection and the access they grant.

The kernel reports the connecting process's pid/uid/gid (``SO_PEERCRED``) and its
supplementary groups (``SO_PEERGROUPS``, Linux >= 4.13) as they were at
``connect()``; nothing the client sends can change them. Both are non-blocking
reads of the socket, so the check runs on the event loop without NSS lookups.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass

import structlog

from hedgegridd.control.config import AccessGroups
from hedgegridd.control.protocol import Access

log = structlog.get_logger(__name__)
_SO_PEERGROUPS = getattr(socket, "SO_PEERGROUPS", 59)  # Linux value; absent from CPython
_UCRED = struct.Struct("3i")
# CPython's getsockopt() refuses a buffer over 1024 bytes (OSError EINVAL), so at most
# 256 supplementary groups can be read; a peer with more gets ERANGE from the kernel
# and only its primary group counts (fails closed, logged).
_GROUPS_BUFLEN = 1024


@dataclass(frozen=True, slots=True)
class PeerCredentials:
    """Who is on the other end of a connection."""

    pid: int
    uid: int
    gid: int
    groups: frozenset[int]  # primary gid plus supplementary groups

    def actor(self) -> str:
        """Journal/kill-switch form, e.g. ``uid=1000 pid=4242`` (no NSS lookup)."""
        return f"uid={self.uid} pid={self.pid}"


def read_peer_credentials(sock: socket.socket) -> PeerCredentials:
    """``SO_PEERCRED`` + ``SO_PEERGROUPS`` of a connected Unix socket."""
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _UCRED.size)
    pid, uid, gid = _UCRED.unpack(raw)
    groups = {gid}
    try:
        packed = sock.getsockopt(socket.SOL_SOCKET, _SO_PEERGROUPS, _GROUPS_BUFLEN)
    except OSError as exc:  # old kernel, or more than 256 groups: primary group only
        log.warning("control.peer_groups_unreadable", pid=pid, uid=uid, errno=exc.errno)
        packed = b""
    count = len(packed) // 4
    groups.update(struct.unpack(f"{count}I", packed[: count * 4]))
    return PeerCredentials(pid=pid, uid=uid, gid=gid, groups=frozenset(groups))


@dataclass(frozen=True, slots=True)
class AccessPolicy:
    """Root and the daemon's user: admin; admin group: admin; read-only group: read."""

    daemon_uid: int
    groups: AccessGroups

    def access_for(self, peer: PeerCredentials) -> Access:
        if peer.uid in (0, self.daemon_uid):
            return Access.ADMIN
        if self.groups.admin_gid is not None and self.groups.admin_gid in peer.groups:
            return Access.ADMIN
        if self.groups.readonly_gid is not None and self.groups.readonly_gid in peer.groups:
            return Access.READ
        return Access.NONE
