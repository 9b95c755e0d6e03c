"""Shared pytest configuration for the whole suite.

Skip policy: a test may skip only because a system tool it drives is not installed
on this machine (reasons matching ``ALLOWED_SKIP``). Any other skip, and any xfail,
fails the run: a skipped test proves nothing (the audit found 27 of them).
"""

from __future__ import annotations

import re
from collections.abc import Generator

import pytest
import structlog

ALLOWED_SKIP = re.compile(r"\bnot installed\b|\bnot a Debian host\b")


def skip_is_allowed(reason: str) -> bool:
    """True when a skip reason is an accepted one (a missing system tool)."""
    return bool(ALLOWED_SKIP.search(reason))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse unconditional skips, xfails and skipifs without an accepted reason; grouped
    tests first."""
    bad: list[str] = []
    for item in items:
        for mark in item.iter_markers():
            reason = str(mark.kwargs.get("reason", ""))
            if mark.name in ("skip", "xfail") or (
                mark.name == "skipif" and not skip_is_allowed(reason)
            ):
                bad.append(f"{item.nodeid}: @{mark.name}({reason!r})")
    if bad:
        raise pytest.UsageError("tests may not be skipped or xfailed:\n" + "\n".join(bad))
    # Grouped tests (the Debian package: built once, then lintian, ~4-5 min on one worker)
    # go first, so that with ``--dist loadgroup`` they run beside the rest, not after it.
    items.sort(key=lambda item: item.get_closest_marker("xdist_group") is None)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, None]:
    """Turn a runtime ``pytest.skip(...)`` without an accepted reason into a failure."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and isinstance(report.longrepr, tuple):
        reason = str(report.longrepr[2])
        if not skip_is_allowed(reason):
            report.outcome = "failed"
            report.longrepr = f"skipped without an accepted reason: {reason}"


@pytest.fixture
def log_events() -> Generator[structlog.testing.LogCapture, None, None]:
    """Capture structlog events as dicts for the duration of a test."""
    capture = structlog.testing.LogCapture()
    # From the defaults: an earlier test's CLI run in this process may have left a level
    # filter (wrapper_class) behind, which configure(processors=...) alone would keep.
    structlog.reset_defaults()
    structlog.configure(processors=[capture])
    try:
        yield capture
    finally:
        structlog.reset_defaults()
