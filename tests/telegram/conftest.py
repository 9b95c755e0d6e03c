"""Fixtures for the Telegram bot tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    """Run anyio-marked tests on asyncio (the daemon's loop)."""
    return "asyncio"
