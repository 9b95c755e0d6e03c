"""Shared pytest configuration for the whole suite."""

from __future__ import annotations

import pytest
import structlog


@pytest.fixture
def log_events() -> structlog.testing.LogCapture:
    """Capture structlog events as dicts for the duration of a test."""
    capture = structlog.testing.LogCapture()
    structlog.configure(processors=[capture])
    try:
        yield capture
    finally:
        structlog.reset_defaults()
