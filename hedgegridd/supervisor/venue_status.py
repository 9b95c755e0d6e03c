"""What the venue watch reports: its alert keys, health conditions and counters.

Shared by ``venue_watch`` (which raises them), ``venue_streams`` (stream recovery)
and ``venue_metrics`` (which exports them); no behaviour here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class VenueAlert(enum.StrEnum):
    """Alert keys of the venue watch (deduplicated and rate-limited per key)."""

    HEDGE_MODE_LOST = "hedge_mode_lost"
    HEDGE_MODE_RESTORED = "hedge_mode_restored"
    VENUE_MISMATCH = "venue_mismatch"
    VENUE_MISMATCH_RESOLVED = "venue_mismatch_resolved"
    VENUE_UNREACHABLE = "venue_unreachable"
    VENUE_RESTORED = "venue_restored"


class Condition(enum.StrEnum):
    """Health conditions of the venue watch (``Health.set_condition``)."""

    HEDGE_MODE_LOST = "hedge_mode_lost"
    VENUE_UNREACHABLE = "venue_unreachable"
    VENUE_MISMATCH = "venue_mismatch"
    USER_STREAM_DOWN = "user_stream_down"
    MARKET_STREAM_DOWN = "market_stream_down"


@dataclass(slots=True)
class WatchStats:
    """Counters and last readings (metrics, status, tests)."""

    rounds: int = 0
    read_failures: int = 0
    mismatches: int = 0
    repairs: int = 0
    mass_status: int = 0
    lookups: int = 0  # orders of ours looked up at the venue one by one
    fills_recovered: int = 0  # lost fills applied from those lookups
    escalations: int = 0
    user_stream_restarts: int = 0
    market_reconnects: int = 0
    reachable: bool | None = None
    hedge_mode: bool | None = None
    user_stream_ok: bool | None = None
    market_streams_ok: bool | None = None
    last_round_at: float | None = None  # wall clock, seconds
