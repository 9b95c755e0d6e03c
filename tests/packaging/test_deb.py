"""`make package` builds an installable Debian package whose tree runs as shipped."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("dpkg-deb") is None and not os.environ.get("CI"),
        reason="dpkg-deb not installed (not a Debian host)",
    ),
]


@pytest.fixture(scope="module")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the package once for this module."""
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        ["bash", str(REPO / "packaging" / "build-deb.sh")],
        cwd=REPO,
        env={**os.environ, "OUT": str(out)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    debs = list(out.glob("hedgegridd_*.deb"))
    assert len(debs) == 1
    return debs[0]


@pytest.fixture(scope="module")
def tree(deb: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Extract the package's files into a scratch root."""
    root = tmp_path_factory.mktemp("root")
    subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def _field(deb: Path, name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_control_metadata(deb: Path) -> None:
    """The package is named hedgegridd, versioned like the code, and depends on systemd."""
    import hedgegridd

    assert _field(deb, "Package") == "hedgegridd"
    assert _field(deb, "Version") == hedgegridd.__version__
    assert "systemd" in _field(deb, "Depends")


def test_contents_units_configs_and_app(deb: Path, tree: Path) -> None:
    """Units, sysusers/tmpfiles, configs as conffiles, launchers and the private app are shipped."""
    for rel in [
        "usr/lib/systemd/system/hedgegridd.service",
        "usr/lib/systemd/system/hedgegridd@.service",
        "usr/lib/systemd/system/hedgegridd.socket",
        "usr/lib/sysusers.d/hedgegrid.conf",
        "usr/lib/tmpfiles.d/hedgegrid.conf",
        "etc/hedgegrid/hedgegridd.toml",
        "usr/bin/hedgegridd",
        "usr/bin/hedgegridctl",
        "usr/bin/hedgegrid",
        "usr/share/doc/hedgegridd/README.md",
        "usr/share/doc/hedgegridd/grafana-dashboard.json",
    ]:
        assert (tree / rel).exists(), rel
    conffiles = subprocess.run(
        ["dpkg-deb", "--ctrl-tarfile", str(deb)], capture_output=True, check=True
    ).stdout
    assert b"conffiles" in conffiles
    info = subprocess.run(
        ["dpkg-deb", "-I", str(deb), "conffiles"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert "/etc/hedgegrid/hedgegridd.toml" in info
    sites = list((tree / "opt/hedgegrid/python/lib").glob("python3.*/site-packages/hedgegridd"))
    assert sites, "hedgegridd is not installed in the private interpreter"
    assert not (tree / "etc/hedgegrid/credentials").exists(), "credentials are created on install"


def test_packaged_daemon_and_ctl_run_from_extracted_tree(tree: Path) -> None:
    """The packaged `hedgegridd --version` and `hedgegridctl --help` run from the extracted tree."""
    import hedgegridd

    env = {"PATH": "/usr/bin:/bin", "HOME": str(tree)}
    version = subprocess.run(
        [str(tree / "usr/bin/hedgegridd"), "--version"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert version.returncode == 0, version.stderr
    assert hedgegridd.__version__ in version.stdout
    helptext = subprocess.run(
        [str(tree / "usr/bin/hedgegridctl"), "--help"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert helptext.returncode == 0, helptext.stderr
    assert "status" in helptext.stdout
    # The packaged interpreter is the private one, not the build host's.
    python = tree / "opt/hedgegrid/python/bin/python3"
    where = subprocess.run(
        [str(python), "-c", "import hedgegridd, sys; print(hedgegridd.__file__, sys.prefix)"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    ).stdout
    assert str(tree) in where
