"""Binance request-weight bookkeeping of the REST client."""

from __future__ import annotations

import pytest

from hedgegridd.data.rest import WeightTracker, kline_weight


def test_weight_budget_resets_each_minute() -> None:
    """Weight used in an earlier minute does not delay requests in a new one."""
    tracker = WeightTracker(limit=2400, budget=0.8)
    tracker.observe(2000, now_s=120.0)
    assert tracker.wait_needed(10, now_s=130.0) == pytest.approx(50.05)
    assert tracker.wait_needed(10, now_s=181.0) == 0.0
    tracker.observe(100, now_s=181.0)
    assert tracker.wait_needed(10, now_s=182.0) == 0.0
    assert kline_weight(1500) == 10
    assert kline_weight(99) == 1
