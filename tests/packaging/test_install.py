"""Install the .deb into a throwaway root with dpkg, run it as the hedgegrid user, purge it."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.packaging.conftest import NOT_DEBIAN, NOT_DEBIAN_REASON

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1800),  # builds the package (minutes on a loaded 2-core machine)
    pytest.mark.xdist_group("deb"),  # one worker builds the package once for all of them
    pytest.mark.skipif(NOT_DEBIAN, reason=NOT_DEBIAN_REASON),
    pytest.mark.skipif(os.geteuid() != 0, reason="root not available: dpkg --root not installed"),
    pytest.mark.skipif(
        shutil.which("systemd-sysusers") is None, reason="systemd-sysusers not installed"
    ),
]


@pytest.fixture
def root() -> Iterator[Path]:
    """An empty dpkg root every user can traverse (pytest's tmp dirs are root-only)."""
    path = Path(tempfile.mkdtemp(prefix="hedgegrid-root-"))
    path.chmod(0o755)
    admin = path / "var/lib/dpkg"
    for sub in ("info", "updates", "triggers"):
        (admin / sub).mkdir(parents=True)
    (admin / "status").touch()
    try:
        yield path
    finally:
        shutil.rmtree(path)


def _dpkg(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        ["dpkg", f"--root={root}", "--force-script-chrootless", "--force-depends", *args],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def _passwd(root: Path, name: str) -> list[str]:
    for line in (root / "etc/passwd").read_text().splitlines():
        if line.startswith(name + ":"):
            return line.split(":")
    raise AssertionError(f"{name} not in {root}/etc/passwd")


def _listed(root: Path) -> set[str]:
    out = _dpkg(root, "-L", "hedgegridd").stdout
    return {line for line in out.splitlines() if line.startswith("/")}


def test_install_run_as_user_remove_and_purge(deb: Path, root: Path) -> None:
    """dpkg installs in a scratch root (user, dirs, conffiles); check-config runs; purge cleans."""
    _dpkg(root, "--install", str(deb))

    # sysusers: the system user and group, home and shell from hedgegrid.sysusers.conf.
    user = _passwd(root, "hedgegrid")
    uid, gid = int(user[2]), int(user[3])
    assert uid < 1000
    assert user[5:] == ["/var/lib/hedgegrid", "/usr/sbin/nologin"]
    assert "hedgegrid:" in (root / "etc/group").read_text()
    # tmpfiles: root-only credentials directory and the runtime directory.
    creds = root / "etc/hedgegrid/credentials"
    assert stat.S_IMODE(creds.stat().st_mode) == 0o700
    run = root / "run/hedgegrid"
    assert (run.stat().st_uid, stat.S_IMODE(run.stat().st_mode)) == (uid, 0o750)
    placeholder = creds / "binance_api_key"
    assert placeholder.stat().st_size == 0
    assert stat.S_IMODE(placeholder.stat().st_mode) == 0o600
    # conffiles registered with their checksums.
    conffiles = _dpkg(root, "--status", "hedgegridd").stdout
    assert " /etc/hedgegrid/hedgegridd.toml " in conffiles

    # The packaged daemon validates the shipped config as the hedgegrid user.
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "LANG": "C.UTF-8"}
    check = subprocess.run(
        [
            str(root / "usr/bin/hedgegridd"),
            "--config",
            str(root / "etc/hedgegrid/hedgegridd.toml"),
            "--check-config",
            "--log-format",
            "json",
        ],
        user=uid,
        group=gid,
        extra_groups=[],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert '"config.ok"' in check.stderr
    # postinst compiled the bytecode: running the daemon (as root, who could write) adds none.
    app = root / "usr/lib/hedgegridd"
    before = set(app.rglob("*"))
    assert any(p.suffix == ".pyc" and "hedgegridd" in p.parts for p in before)
    as_root = subprocess.run(check.args, env=env, capture_output=True, text=True, timeout=600)
    assert as_root.returncode == 0, as_root.stderr
    assert set(app.rglob("*")) == before
    # Apart from that bytecode, dpkg knows every file it installed.
    on_disk = {"/" + str(p.relative_to(root)) for p in before if "__pycache__" not in p.parts}
    assert on_disk <= _listed(root)

    _dpkg(root, "--remove", "hedgegridd")
    assert not (root / "usr/bin/hedgegridd").exists()
    assert not app.exists()
    assert (root / "etc/hedgegrid/hedgegridd.toml").exists(), "remove keeps conffiles"
    assert placeholder.exists(), "remove keeps credentials"

    _dpkg(root, "--purge", "hedgegridd")
    assert not (root / "etc/hedgegrid").exists()
    assert not (root / "var/lib/hedgegrid").exists()
    status = subprocess.run(
        ["dpkg-query", f"--root={root}", "-W", "-f=${db:Status-Status}", "hedgegridd"],
        capture_output=True,
        text=True,
    )
    assert status.stdout in ("", "not-installed")
