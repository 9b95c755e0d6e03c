"""Fixtures shared by the ops tests: a real SQLite state store and kill-switch configs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from hedgegridd.ops.config import KillSwitchConfig
from hedgegridd.supervisor.state import AsyncStateStore


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[AsyncStateStore]:
    """A real SQLite state store in the test's temporary directory."""
    s = await AsyncStateStore.open(tmp_path / "state.db")
    try:
        yield s
    finally:
        await s.aclose()


def killswitch_config(**kw: object) -> KillSwitchConfig:
    """A kill-switch config with fast checks (20/s); ``kw`` overrides any field."""
    base: dict[str, object] = {
        "check_interval_s": 0.05,
        "max_drawdown_pct": "5",
        "max_margin_ratio": "0.8",
        "flatten_verify_timeout_s": 2.0,
        "flatten_poll_interval_s": 0.01,
    }
    base.update(kw)
    return KillSwitchConfig.model_validate(base)
