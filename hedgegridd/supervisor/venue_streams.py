"""Stream recovery for the venue watch: ``StreamWatch`` owns the node's stream state.

A user stream not live for ``stream_grace_s`` is re-created (new listenKey); a market
connection stuck reconnecting is reconnected. Fixes are queued by ``observe`` and
applied by ``fix`` right after the venue answered a read; ``force_fix`` (the venue is
back after an outage) queues both at once, without the grace.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from hedgegridd.supervisor.node_venue import NodeVenue
from hedgegridd.supervisor.venue_status import Condition, WatchStats

log = structlog.get_logger(__name__)


class _StreamHealth:
    """One stream's health: since when it is not live, when a fix may be queued again."""

    def __init__(self, name: str, condition: Condition, detail: str, live_event: str) -> None:
        self.name = name  # check reasons: name + "_stuck" / "_back"
        self.condition = condition
        self.detail = detail
        self.live_event = live_event
        self.bad_since: float | None = None
        self.retry_at = 0.0
        self.fix = False

    def observe(
        self,
        ok: bool | None,
        now: float,
        grace: float,
        request: Callable[[str], None],
        condition: Callable[[Condition, bool, str], None],
    ) -> None:
        """Down for ``grace``: condition raised and a fix queued (again after ``grace``)."""
        if ok is False:
            self.bad_since = self.bad_since or now
            if now - self.bad_since >= grace:
                condition(self.condition, True, self.detail)
                if now >= self.retry_at:
                    self.retry_at = now + grace
                    self.fix = True
                    request(f"{self.name}_stuck")
        elif ok:
            if self.bad_since is not None:
                log.info(self.live_event, down_s=round(now - self.bad_since, 2))
                request(f"{self.name}_back")
            self.bad_since = None
            condition(self.condition, False, "")


class StreamWatch:
    """Notes the streams' state each step and queues and applies fixes for stuck ones."""

    def __init__(
        self,
        node: NodeVenue,
        *,
        grace_s: float,
        stats: WatchStats,
        request_check: Callable[[str], None],
        condition: Callable[[Condition, bool, str], None],
        heartbeat: Callable[[], None],
    ) -> None:
        self._node = node
        self._grace_s = grace_s
        self._stats = stats
        self._request = request_check
        self._condition = condition
        self._beat = heartbeat
        self._user_gen: str | None = None
        self._user = _StreamHealth(
            "user_stream",
            Condition.USER_STREAM_DOWN,
            "user stream not live",
            "venue.user_stream_live",
        )
        self._market = _StreamHealth(
            "market_stream",
            Condition.MARKET_STREAM_DOWN,
            "market stream reconnecting",
            "venue.market_streams_live",
        )

    def observe(self, now: float) -> None:
        """Note stream state; a stream not live for ``stream_grace_s`` is queued for a fix
        that the next round applies right after a successful read (venue reachable)."""
        state = self._node.stream_state()
        self._stats.user_stream_ok, self._stats.market_streams_ok = state.user_ok, state.market_ok
        if state.user_generation is not None:
            if self._user_gen is not None and state.user_generation != self._user_gen:
                log.info("venue.user_stream_renewed")
                self._request("user_stream_renewed")
            self._user_gen = state.user_generation
        self._user.observe(state.user_ok, now, self._grace_s, self._request, self._condition)
        self._market.observe(state.market_ok, now, self._grace_s, self._request, self._condition)

    def force_fix(self) -> None:
        """Queue both fixes now (the venue is back after an outage: no grace)."""
        self._user.fix = self._market.fix = True

    async def fix(self) -> None:
        """Apply queued stream fixes (called right after the venue answered)."""
        if not (self._user.fix or self._market.fix):
            return
        state = self._node.stream_state()
        if self._user.fix and state.user_ok is False:
            await self._restart_user_stream()
        if self._market.fix and state.market_ok is False:
            await self._reconnect_market()
        self._user.fix = self._market.fix = False

    async def _restart_user_stream(self) -> None:
        self._stats.user_stream_restarts += 1
        self._beat()
        ok = await self._node.resubscribe_user_stream()
        log.warning("venue.user_stream_restarted", ok=ok)
        if ok:
            self._request("user_stream_restarted")

    async def _reconnect_market(self) -> None:
        self._beat()
        count = await self._node.reconnect_market_streams()
        self._stats.market_reconnects += count
        log.warning("venue.market_streams_reconnected", connections=count)
