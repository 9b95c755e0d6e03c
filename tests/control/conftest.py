"""Fixtures for the control tests."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.control.fakes import FakeDaemon


@pytest.fixture
def anyio_backend() -> str:
    """Run anyio-marked tests on asyncio (the daemon's loop)."""
    return "asyncio"


@pytest.fixture
def sock_dir() -> Iterator[Path]:
    """A short, world-traversable directory for sockets (AF_UNIX paths are <= 107 bytes)."""
    path = Path(tempfile.mkdtemp(prefix="hgc-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def daemon() -> FakeDaemon:
    """Fresh fake strategy, kill switch and journal."""
    return FakeDaemon()
