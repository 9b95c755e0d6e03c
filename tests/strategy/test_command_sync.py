"""CommandResync: the first command re-syncs at once, a burst shares one deferred re-sync."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hedgegridd.strategy.command_sync import TIMER, CommandResync


class _Clock:
    """The slice of a Nautilus clock CommandResync uses: time, timer names, time alerts."""

    def __init__(self) -> None:
        self.now = 1_000
        self.alerts: dict[str, tuple[int, Callable[[Any], None]]] = {}

    def timestamp_ns(self) -> int:
        return self.now

    @property
    def timer_names(self) -> list[str]:
        return list(self.alerts)

    def set_time_alert_ns(self, name: str, at: int, callback: Callable[[Any], None]) -> None:
        assert name not in self.alerts
        self.alerts[name] = (at, callback)

    def run_until(self, ts: int) -> None:
        self.now = ts
        for name, (at, callback) in list(self.alerts.items()):
            if at <= ts:
                del self.alerts[name]
                callback(None)


def test_first_request_syncs_now_and_a_burst_coalesces_into_one_deferred_sync() -> None:
    """100 requests within the interval give one immediate and one deferred re-sync."""
    clock = _Clock()
    synced: list[tuple[str, int]] = []
    resync = CommandResync(clock, lambda source: synced.append((source, clock.now)), interval_ns=50)
    resync.request("resume")
    assert synced == [("resume", 1_000)]
    for _ in range(100):
        resync.request("resume")
    assert synced == [("resume", 1_000)]
    assert clock.alerts[TIMER][0] == 1_050
    assert resync.coalesced == 100
    clock.run_until(1_049)
    assert len(synced) == 1
    clock.run_until(1_050)
    assert synced == [("resume", 1_000), ("command_resync", 1_050)]
    clock.run_until(1_200)
    resync.request("throttle")  # a quiet interval later: at once again
    assert synced[-1] == ("throttle", 1_200)
    assert not resync.pending
