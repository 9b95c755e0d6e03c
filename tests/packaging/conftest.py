"""The Debian package, built once per session for the packaging tests."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NOT_DEBIAN = shutil.which("dpkg-deb") is None and not os.environ.get("CI")
NOT_DEBIAN_REASON = "dpkg-deb not installed (not a Debian host)"


@pytest.fixture(scope="session")
def deb(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`make package`'s output: HEDGEGRID_DEB if set (CI builds once), else built here."""
    prebuilt = os.environ.get("HEDGEGRID_DEB")
    if prebuilt:
        return Path(prebuilt)
    out = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        ["bash", str(REPO / "packaging" / "build-deb.sh")],
        cwd=REPO,
        # gzip -1: the same contents, compressed in seconds instead of minutes.
        env={**os.environ, "OUT": str(out), "DEB_COMPRESS": "gzip", "DEB_COMPRESS_LEVEL": "1"},
        capture_output=True,
        text=True,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    debs = list(out.glob("hedgegridd_*.deb"))
    assert len(debs) == 1
    return debs[0]
