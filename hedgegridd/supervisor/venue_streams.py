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
        self._user_bad_since: float | None = None
        self._market_bad_since: float | None = None
        self._user_retry_at = 0.0
        self._market_retry_at = 0.0
        self._fix_user = False
        self._fix_market = False

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
        grace = self._grace_s
        if state.user_ok is False:
            self._user_bad_since = self._user_bad_since or now
            if now - self._user_bad_since >= grace:
                self._condition(Condition.USER_STREAM_DOWN, True, "user stream not live")
                if now >= self._user_retry_at:
                    self._user_retry_at = now + grace
                    self._fix_user = True
                    self._request("user_stream_stuck")
        elif state.user_ok:
            if self._user_bad_since is not None:
                log.info("venue.user_stream_live", down_s=round(now - self._user_bad_since, 2))
                self._request("user_stream_back")
            self._user_bad_since = None
            self._condition(Condition.USER_STREAM_DOWN, False, "")
        if state.market_ok is False:
            self._market_bad_since = self._market_bad_since or now
            if now - self._market_bad_since >= grace:
                self._condition(Condition.MARKET_STREAM_DOWN, True, "market stream reconnecting")
                if now >= self._market_retry_at:
                    self._market_retry_at = now + grace
                    self._fix_market = True
                    self._request("market_stream_stuck")
        elif state.market_ok:
            if self._market_bad_since is not None:
                log.info("venue.market_streams_live", down_s=round(now - self._market_bad_since, 2))
                self._request("market_stream_back")
            self._market_bad_since = None
            self._condition(Condition.MARKET_STREAM_DOWN, False, "")

    def force_fix(self) -> None:
        """Queue both fixes now (the venue is back after an outage: no grace)."""
        self._fix_user = self._fix_market = True

    async def fix(self) -> None:
        """Apply queued stream fixes (called right after the venue answered)."""
        if not (self._fix_user or self._fix_market):
            return
        state = self._node.stream_state()
        if self._fix_user and state.user_ok is False:
            await self._restart_user_stream()
        if self._fix_market and state.market_ok is False:
            await self._reconnect_market()
        self._fix_user = self._fix_market = False

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
