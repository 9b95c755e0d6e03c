"""``SimClock``: sim time for every symbol of one simulator (one clock, one speed).

Sim time starts at the current wall minute (``t0_ms``) and runs ``speed`` times
faster than the wall clock: each sim-minute lasts ``60 / speed`` real seconds.
Every symbol's ticker walks its own price path against this one clock, so their
klines close together.
"""

from __future__ import annotations

import time

MINUTE_MS = 60_000


class SimClock:
    """Maps sim time (ms) to the monotonic clock and back."""

    def __init__(self, speed: float) -> None:
        self.t0_ms = (time.time_ns() // 1_000_000) // MINUTE_MS * MINUTE_MS
        self.minute_s = 60.0 / speed
        self.real_t0 = time.monotonic()

    def anchor(self) -> None:
        """Start the clock: sim time ``t0_ms`` was reached at the wall minute's start.

        At speed 1 sim time is wall time and klines close on wall-minute boundaries.
        """
        elapsed_ms = time.time_ns() // 1_000_000 - self.t0_ms
        self.real_t0 = time.monotonic() - elapsed_ms / MINUTE_MS * self.minute_s

    def real_time(self, t_ms: int) -> float:
        """The monotonic clock reading at which sim time ``t_ms`` is reached."""
        return self.real_t0 + (t_ms - self.t0_ms) / MINUTE_MS * self.minute_s

    def sim_now_ms(self) -> int:
        """Sim time now, from the monotonic clock."""
        return self.t0_ms + int((time.monotonic() - self.real_t0) / self.minute_s * MINUTE_MS)
