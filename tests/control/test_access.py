"""Who may use the socket: file mode/group, kernel peer credentials, a real foreign uid."""

from __future__ import annotations

import grp
import json
import os
import socket
import stat
import sys
import warnings
from pathlib import Path

import anyio
import pytest
from pydantic import ValidationError

from hedgegridd.control import cli
from hedgegridd.control.client import ControlClient
from hedgegridd.control.config import AccessGroups, ControlConfig
from hedgegridd.control.peercred import AccessPolicy, PeerCredentials, read_peer_credentials
from hedgegridd.control.protocol import Access
from hedgegridd.control.results import StatusResult
from hedgegridd.control.server import ControlServer
from hedgegridd.errors import ConfigError
from tests.control.fakes import FakeDaemon
from tests.control.helpers import ServerThread, config_for, serve

NOBODY = 65534
NOGROUP = grp.getgrgid(65534).gr_name


def run_ctl_as(
    uid: int, gid: int, argv: list[str], groups: tuple[int, ...] = ()
) -> tuple[int, dict]:
    """Fork, drop to ``uid``/``gid`` (supplementary ``groups`` only), run hedgegridctl --json."""
    read_fd, write_fd = os.pipe()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with helper threads alive
        pid = os.fork()
    if pid == 0:  # child: never returns into pytest
        code = 99
        try:
            os.close(read_fd)
            sys.stdout = open(write_fd, "w", closefd=False)  # noqa: SIM115 - pytest swapped it
            os.setgroups(list(groups))
            os.setgid(gid)
            os.setuid(uid)
            code = cli.main(["--json", "--timeout", "30", *argv])
            sys.stdout.flush()
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        output = pipe.read()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), json.loads(output or b"{}")


def test_socket_is_created_0660_with_the_readonly_group(sock_dir, daemon) -> None:
    """The socket file has mode 0660 and belongs to the configured (read-only) group."""
    config = config_for(sock_dir, readonly_group=NOGROUP, admin_group="root")
    path = sock_dir / "control.sock"
    with ServerThread(config, daemon):
        st = path.lstat()
        assert stat.S_ISSOCK(st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o660
        assert st.st_gid == 65534
    assert not path.exists()  # removed on shutdown


def test_foreign_uid_without_group_cannot_even_connect(sock_dir, daemon) -> None:
    """With mode 0660 and no shared group, another uid is refused by the file mode: exit 4."""
    with ServerThread(config_for(sock_dir), daemon):
        code, out = run_ctl_as(
            NOBODY, NOBODY, ["--socket", str(sock_dir / "control.sock"), "status"]
        )
    assert code == 4
    assert out["error"]["code"] == "permission_denied"


def test_foreign_uid_refused_by_peer_credentials_and_logged(sock_dir, daemon, log_events) -> None:
    """Even on a world-writable socket, a uid outside the groups is refused by SO_PEERCRED."""
    path = sock_dir / "control.sock"
    with ServerThread(config_for(sock_dir), daemon):
        path.chmod(0o666)  # simulate a mis-set mode: the credential check must still hold
        code, out = run_ctl_as(NOBODY, NOBODY, ["--socket", str(path), "pause"])
    assert code == 4
    assert out["error"]["code"] == "permission_denied"
    assert "uid 65534" in out["error"]["message"]
    assert daemon.strategy.pause_reasons == []
    refused = [e for e in log_events.entries if e["event"] == "control.refused"]
    assert refused
    assert refused[0]["uid"] == NOBODY
    assert refused[0]["log_level"] == "warning"


def test_readonly_group_member_may_read_but_not_mutate(sock_dir, daemon, log_events) -> None:
    """A member of the read-only group gets status (exit 0) but pause is denied (exit 4)."""
    config = config_for(sock_dir, readonly_group=NOGROUP)
    path = str(sock_dir / "control.sock")
    with ServerThread(config, daemon):
        code, out = run_ctl_as(NOBODY, NOBODY, ["--socket", path, "status"])
        assert code == 0
        assert out["fills"] == 42
        code, out = run_ctl_as(NOBODY, NOBODY, ["--socket", path, "pause"])
    assert code == 4
    assert "read-only" in out["error"]["message"]
    assert daemon.strategy.pause_reasons == []
    assert daemon.journal.entries == []
    assert any(e["event"] == "control.denied" for e in log_events.entries)


def test_admin_group_member_may_mutate_and_is_journaled(sock_dir, daemon) -> None:
    """A member of the admin group may pause; the journal records its uid and pid."""
    config = config_for(sock_dir, admin_group=NOGROUP)
    with ServerThread(config, daemon):
        code, out = run_ctl_as(
            NOBODY,
            NOBODY,
            ["--socket", str(sock_dir / "control.sock"), "pause", "--reason", "night"],
        )
    assert code == 0
    assert out["state"] == "PAUSED"
    assert daemon.strategy.pause_reasons == ["night"]
    (entry,) = daemon.journal.entries
    assert entry["details"]["uid"] == NOBODY
    assert entry["details"]["pid"] not in (0, os.getpid())


def test_supplementary_admin_group_grants_admin(sock_dir, daemon) -> None:
    """``usermod -aG``: a uid whose admin group is only supplementary may pause (SO_PEERGROUPS)."""
    admin = grp.getgrnam("users")  # nobody's primary group is nogroup, not this one
    admin_gid = admin.gr_gid
    path = sock_dir / "control.sock"
    with ServerThread(config_for(sock_dir, admin_group=admin.gr_name), daemon):
        path.chmod(0o666)
        code, out = run_ctl_as(
            NOBODY, NOBODY, ["--socket", str(path), "pause", "--reason", "sup"], (admin_gid,)
        )
    assert code == 0, out
    assert daemon.strategy.pause_reasons == ["sup"]


def test_peer_groups_of_a_process_with_many_groups() -> None:
    """All supplementary groups of the peer are read (the buffer fits CPython's 1024-byte cap)."""
    many = tuple(range(5000, 5200))
    read_fd, write_fd = os.pipe()
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        pid = os.fork()
    if pid == 0:  # child: connect a fresh pair as a process holding ``many``
        code = 1
        try:
            os.setgroups(list(many))
            srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            cli_sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            srv.bind(b"\0hg-peergroups-%d" % os.getpid())
            srv.listen(1)
            cli_sock.connect(srv.getsockname())
            conn, _ = srv.accept()
            creds = read_peer_credentials(conn)
            os.write(write_fd, json.dumps(sorted(creds.groups)).encode())
            code = 0
        finally:
            os._exit(code)
    a.close()
    b.close()
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        groups = json.loads(pipe.read() or b"[]")
    os.waitpid(pid, 0)
    assert set(many) <= set(groups)


def test_peer_credentials_report_the_connecting_process() -> None:
    """SO_PEERCRED/SO_PEERGROUPS give this process's pid, uid and gid."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with a, b:
        creds = read_peer_credentials(a)
    assert (creds.pid, creds.uid, creds.gid) == (os.getpid(), os.getuid(), os.getgid())
    assert os.getgid() in creds.groups


def test_access_policy_levels() -> None:
    """Root and the daemon's uid are admin; admin group admin; read-only group read; else none."""
    policy = AccessPolicy(daemon_uid=1000, groups=AccessGroups(admin_gid=50, readonly_gid=60))

    def peer(uid: int, *groups: int) -> PeerCredentials:
        return PeerCredentials(pid=1, uid=uid, gid=groups[0], groups=frozenset(groups))

    assert policy.access_for(peer(0, 0)) is Access.ADMIN
    assert policy.access_for(peer(1000, 1000)) is Access.ADMIN
    assert policy.access_for(peer(2000, 2000, 50)) is Access.ADMIN
    assert policy.access_for(peer(2000, 2000, 60)) is Access.READ
    assert policy.access_for(peer(2000, 60)) is Access.READ
    assert policy.access_for(peer(2000, 2000, 70)) is Access.NONE
    open_policy = AccessPolicy(daemon_uid=1000, groups=AccessGroups(None, None))
    assert open_policy.access_for(peer(2000, 2000)) is Access.NONE


def test_config_validation_names_fields_and_ranges(monkeypatch) -> None:
    """Bad modes, unknown fields and unknown groups fail at the edge with the field named."""
    with pytest.raises(ValidationError, match="socket_mode"):
        ControlConfig(socket_mode=0o777)
    with pytest.raises(ValidationError, match="socket_mode"):
        ControlConfig(socket_mode=0o440)
    with pytest.raises(ValidationError, match="max_clients"):
        ControlConfig(max_clients=0)
    with pytest.raises(ValidationError, match="extra"):
        ControlConfig(listen_tcp="0.0.0.0:1")  # type: ignore[call-arg]
    with pytest.raises(ConfigError, match=r"control\.admin_group"):
        ControlServer(
            ControlConfig(admin_group="no-such-group-hg"),
            FakeDaemon().backend(),
            FakeDaemon().journal,
        )
    assert ControlConfig(socket_mode="0640").socket_mode == 0o640
    with pytest.raises(ValidationError, match="octal"):
        ControlConfig(socket_mode="rw-rw----")
    assert ControlConfig().resolved_socket_path({}) == Path("/run/hedgegrid/control.sock")
    env = {"RUNTIME_DIRECTORY": "/run/hg-a:/run/hg-b"}
    assert ControlConfig().resolved_socket_path(env) == Path("/run/hg-a/control.sock")
    explicit = ControlConfig(socket_path=Path("/tmp/x.sock"))
    assert explicit.resolved_socket_path(env) == Path("/tmp/x.sock")


@pytest.mark.anyio
async def test_stale_socket_is_replaced_but_live_one_and_files_are_not(
    sock_dir, daemon, log_events
) -> None:
    """A leftover socket file is removed; a live socket or a regular file stops startup."""
    path = sock_dir / "control.sock"
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(path))
    stale.close()  # file left behind, nobody listening
    async with serve(config_for(sock_dir), daemon.backend(), daemon.journal):
        assert any(e["event"] == "control.stale_socket_removed" for e in log_events.entries)
        async with await ControlClient.connect(path) as client:
            assert isinstance(await client.call("status"), StatusResult)
        second = ControlServer(config_for(sock_dir), daemon.backend(), daemon.journal)
        with pytest.raises(ConfigError, match="already listening"):
            await second.run()
        async with await ControlClient.connect(path) as client:  # first server unharmed
            assert isinstance(await client.call("status"), StatusResult)
    regular = sock_dir / "control.sock"
    regular.write_text("precious")
    third = ControlServer(config_for(sock_dir), daemon.backend(), daemon.journal)
    with pytest.raises(ConfigError, match="not a socket"):
        await third.run()
    assert regular.read_text() == "precious"


@pytest.mark.anyio
async def test_systemd_socket_activation_is_used(sock_dir, daemon) -> None:
    """With LISTEN_PID/LISTEN_FDS/LISTEN_FDNAMES the passed socket is served, not a new path."""
    activated = sock_dir / "activated.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(activated))
    listener.listen(8)
    fd = os.dup(listener.fileno())
    listener.close()
    names = ["other"] * (fd - 3) + ["control"]
    environ = {
        "LISTEN_PID": str(os.getpid()),
        "LISTEN_FDS": str(len(names)),
        "LISTEN_FDNAMES": ":".join(names),
    }
    config = config_for(sock_dir)  # its own path must stay unused
    async with (
        serve(config, daemon.backend(), daemon.journal, environ=environ),
        await ControlClient.connect(activated) as client,
    ):
        assert isinstance(await client.call("status"), StatusResult)
        assert not (sock_dir / "control.sock").exists()
    assert activated.exists()  # systemd owns the file; we do not unlink it
    with pytest.raises(OSError):
        os.fstat(fd)  # but our copy of the fd is closed
    await anyio.lowlevel.checkpoint()


def test_daemon_group_is_the_default_admin_group(sock_dir, daemon) -> None:
    """Without admin_group, members of the daemon's own group (unit Group=) are admins."""
    with ServerThread(config_for(sock_dir), daemon, daemon_gid=NOBODY):
        code, out = run_ctl_as(
            NOBODY, NOBODY, ["--socket", str(sock_dir / "control.sock"), "pause"]
        )
    assert code == 0
    assert out["state"] == "PAUSED"
    assert daemon.journal.entries[0]["details"]["uid"] == NOBODY
    explicit = config_for(sock_dir, admin_group="root")
    with ServerThread(explicit, daemon, daemon_gid=NOBODY):
        srv_path = sock_dir / "control.sock"
        srv_path.chmod(0o666)
        code, _ = run_ctl_as(NOBODY, NOBODY, ["--socket", str(srv_path), "resume"])
    assert code == 4
