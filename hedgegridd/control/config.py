"""``ControlConfig``: where the control socket lives and who may use it."""

from __future__ import annotations

import grp
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hedgegridd.control.commands import DEFAULT_RUNTIME_DIRECTORY, MAX_FRAME_BYTES, SOCKET_NAME
from hedgegridd.errors import ConfigError


class ControlConfig(BaseModel):
    """Control socket settings (the ``[control]`` table of the daemon's config).

    Access: root and the daemon's own user may run every command; members of
    ``admin_group`` too (default: the daemon's own group, i.e. the unit's ``Group=``,
    which owns the socket file); members of ``readonly_group`` may run read-only
    commands. The socket file is created with ``socket_mode`` and owned by
    ``readonly_group`` when set (so read-only users can connect; they also need to
    traverse the runtime directory), else by the admin group. The peer credentials
    are checked on every connection whatever the file permissions are.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    socket_path: Path | None = None  # default: $RUNTIME_DIRECTORY/control.sock
    socket_mode: int = 0o660
    admin_group: str | None = None  # default: the daemon's own (effective) group
    readonly_group: str | None = None
    systemd_socket: bool = True  # use a socket passed by systemd (LISTEN_FDS) if present
    max_frame_bytes: Annotated[int, Field(ge=1024, le=1024 * 1024)] = MAX_FRAME_BYTES
    max_clients: Annotated[int, Field(ge=1, le=1024)] = 128
    handshake_timeout_s: Annotated[float, Field(gt=0, le=60)] = 5.0
    idle_timeout_s: Annotated[float, Field(gt=0, le=86400)] = 300.0
    request_timeout_s: Annotated[float, Field(gt=0, le=600)] = 60.0
    send_timeout_s: Annotated[float, Field(gt=0, le=600)] = 10.0  # client not reading: drop

    @field_validator("socket_mode", mode="before")
    @classmethod
    def _octal_string(cls, value: object) -> object:
        """Accept "0660"/"0o660" strings as octal (TOML also has 0o660 integers)."""
        if isinstance(value, str):
            try:
                return int(value.removeprefix("0o"), 8)
            except ValueError as exc:
                raise ValueError("socket_mode must be an octal mode such as 0o660") from exc
        return value

    @field_validator("socket_mode")
    @classmethod
    def _check_mode(cls, value: int) -> int:
        if value & ~0o666 or value & 0o600 != 0o600:
            raise ValueError(
                "socket_mode must grant the owner rw (0o600) and no execute or special bits "
                "(allowed: 0o600..0o666, e.g. 0o660)"
            )
        return value

    @field_validator("admin_group", "readonly_group")
    @classmethod
    def _check_group_name(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("group must be a non-empty group name or numeric gid")
        return value

    def resolved_socket_path(self, environ: Mapping[str, str] | None = None) -> Path:
        """The configured path, else ``$RUNTIME_DIRECTORY/control.sock`` (first entry)."""
        if self.socket_path is not None:
            return self.socket_path
        env = os.environ if environ is None else environ
        runtime = env.get("RUNTIME_DIRECTORY", "").split(":")[0]
        base = Path(runtime) if runtime else DEFAULT_RUNTIME_DIRECTORY
        return base / SOCKET_NAME


def resolve_gid(group: str | None, *, field: str) -> int | None:
    """Group name or numeric gid -> gid; an unknown group is a ``ConfigError``."""
    if group is None:
        return None
    if group.isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError as exc:
        raise ConfigError(f"control.{field}: no such group {group!r} on this host") from exc


@dataclass(frozen=True, slots=True)
class AccessGroups:
    """The resolved gids of the config's groups."""

    admin_gid: int | None
    readonly_gid: int | None

    @property
    def socket_gid(self) -> int | None:
        """Group owning the socket file: the wider read-only group if any."""
        return self.readonly_gid if self.readonly_gid is not None else self.admin_gid


def resolve_groups(config: ControlConfig, *, daemon_gid: int) -> AccessGroups:
    """Resolve the config's group names once at startup (fails closed on unknown names).

    Without ``admin_group`` the daemon's own group (the unit's ``Group=``, which
    also owns the socket file) is the admin group.
    """
    admin_gid = resolve_gid(config.admin_group, field="admin_group")
    return AccessGroups(
        admin_gid=daemon_gid if admin_gid is None else admin_gid,
        readonly_gid=resolve_gid(config.readonly_group, field="readonly_group"),
    )
