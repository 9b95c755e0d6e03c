"""Fixtures for strategy tests: a real BacktestEngine around HedgeGridStrategy."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.strategy.harness import Harness


@pytest.fixture
def disposer() -> Iterator[list[Harness]]:
    """Harnesses appended here are disposed after the test."""
    harnesses: list[Harness] = []
    yield harnesses
    for h in harnesses:
        h.session.dispose()
