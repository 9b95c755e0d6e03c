"""A throwaway PostgreSQL cluster on a Unix socket for storage tests (initdb / pg_ctl).

The server binaries come from Debian's ``postgresql`` package
(``/usr/lib/postgresql/<version>/bin``). PostgreSQL refuses to run as root, so as
root the cluster directory belongs to ``postgres`` and initdb / pg_ctl run under
``runuser -u postgres``. The cluster listens on no TCP port, only on a socket in
its own short temporary directory, and authenticates with a password
(scram-sha-256) that clients read from a libpq password file.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

USER = "hedgegrid"
DATABASE = "optuna"
PASSWORD = "s3cret-not-in-any-url"


@dataclass(frozen=True, slots=True)
class Cluster:
    """A running cluster: where its socket is and how clients authenticate."""

    socket_dir: Path
    passfile: Path

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the test database (no password: libpq reads the passfile)."""
        return f"postgresql+psycopg2://{USER}@/{DATABASE}?host={self.socket_dir}"


def server_bindir() -> Path | None:
    """The newest installed PostgreSQL server's bin directory (None when not installed)."""
    found = [
        d
        for d in Path("/usr/lib/postgresql").glob("*/bin")
        if (d / "initdb").exists() and (d / "pg_ctl").exists()
    ]
    if not found:
        return None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return None
    return max(found, key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{cmd[0]} failed ({done.returncode}): {done.stdout}{done.stderr}")


@contextmanager
def throwaway_cluster(bindir: Path) -> Iterator[Cluster]:
    """initdb, start on a private socket, create the database; stop and delete after."""
    root = Path(tempfile.mkdtemp(prefix="hgpg-"))  # short: socket paths are limited
    data = root / "data"
    pwfile = root / "initdb-pw"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        for path in (root, pwfile):
            shutil.chown(path, "postgres", "postgres")
    passfile = Path(tempfile.mkdtemp(prefix="hgpgpass-")) / "pgpass"
    passfile.write_text(f"*:*:*:{USER}:{PASSWORD}\n")
    passfile.chmod(0o600)  # libpq ignores a password file others can read
    pg_ctl = str(bindir / "pg_ctl")
    started = False
    try:
        _run(
            _as_server_user(
                [
                    str(bindir / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    USER,
                    "--auth=scram-sha-256",
                    f"--pwfile={pwfile}",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ]
            )
        )
        options = f"-k {root} -c listen_addresses='' -c fsync=off -c max_connections=50"
        log = root / "server.log"
        start = [pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "300"]
        _run(_as_server_user([*start, "start"]))
        started = True
        env = {**os.environ, "PGPASSFILE": str(passfile)}
        createdb = str(bindir / "createdb")
        _run([createdb, "-h", str(root), "-U", USER, DATABASE], env=env)
        yield Cluster(socket_dir=root, passfile=passfile)
    finally:
        if started:
            _run(
                _as_server_user([pg_ctl, "-D", str(data), "-m", "fast", "-w", "-t", "300", "stop"])
            )
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(passfile.parent, ignore_errors=True)
