"""The node's Binance clients as the venue watch needs them: stream state and repairs.

Everything here reaches into the installed Nautilus Binance adapter (1.231), whose
recovery has two gaps the venue watch fills (measured against the simulator):

- The user stream (HMAC keys: REST listenKey) reconnects its WebSocket by itself, to
  the *old* listenKey URL. After a venue restart that key is gone, so every attempt is
  refused, forever, silently: no new key, the exec client still says connected. Only a
  resubscribe (``BinanceUserDataWebSocketClient._resubscribe``: new key, new stream,
  then the adapter's own mass status) brings it back.
- Market streams reconnect with backoff (2 s, x1.5, up to 30 s), so after a long
  outage the next attempt may come up to 30 s after the venue is back; a forced
  disconnect + connect of a stuck client resubscribes at once.

A mass status (``generate_mass_status`` + ``reconcile_execution_mass_status``, what the
adapter runs after every resubscribe) repairs the cache from the venue: a fill whose
event was lost is applied, a hedge leg is brought to the venue's size. It runs with the
user stream's dispatch paused (events buffered, drained afterwards), as the adapter
does, so an older snapshot is never applied over newer events.

Events lost on an order the venue no longer lists open (filled, cancelled, a stop that
triggered) are replayed from the venue's answers (``apply_fates``, see
``hedgegridd.supervisor.venue_replay``) through the exec client, as the adapter does
for live stream events.

Each access is guarded: if an attribute is missing (another Nautilus version), the
operation reports "unsupported" (None/False) and logs it once, never raises.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import anyio
import structlog
from nautilus_trader.model.identifiers import ClientId

from hedgegridd.supervisor.venue_reader import OrderFate
from hedgegridd.supervisor.venue_replay import Replayed, replay_fates

DRAIN_TIMEOUT_S = 5.0  # how long to wait for the engine to apply the events we generated
DRAIN_POLL_S = 0.005

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class StreamState:
    """Stream health as the adapter's clients report it (None = unknown / no client)."""

    user_ok: bool | None  # user data stream connected with a live listenKey
    user_generation: str | None  # changes when the stream is re-created (no secret in it)
    market_ok: bool | None  # every market stream connection active
    market_reconnecting: int = 0  # market connections currently reconnecting


class NodeVenue:
    """Stream state and repairs of one running node's Binance data and exec clients."""

    def __init__(
        self,
        node: Callable[[], Any],
        *,
        venue: str = "BINANCE",
        timeout_s: float = 20.0,
    ) -> None:
        self._node = node
        self._client_id = ClientId(venue)
        self._timeout_s = timeout_s
        self._unsupported: set[str] = set()

    # -- access ------------------------------------------------------------------------
    def _unsupported_once(self, what: str, exc: BaseException) -> None:
        if what not in self._unsupported:
            self._unsupported.add(what)
            log.warning("venue.node_access_unsupported", what=what, error=type(exc).__name__)

    def _exec_client(self) -> Any:
        node = self._node()
        if node is None:
            return None
        return node.kernel.exec_engine._clients.get(self._client_id)

    def _data_client(self) -> Any:
        node = self._node()
        if node is None:
            return None
        return node.kernel.data_engine._clients.get(self._client_id)

    def _user_ws(self) -> Any:
        client = self._exec_client()
        return None if client is None else getattr(client, "_ws_client", None)

    def _market_ws(self) -> list[Any]:
        client = self._data_client()
        if client is None:
            return []
        found = (getattr(client, "_ws_client", None), getattr(client, "_ws_public_client", None))
        return [w for w in found if w is not None]

    # -- state -------------------------------------------------------------------------
    def stream_state(self) -> StreamState:
        """Read the user and market stream state now (cheap: attribute reads only)."""
        user_ok: bool | None = None
        generation: str | None = None
        try:
            ws = self._user_ws()
            if ws is not None:
                stream = ws._stream_client
                key = ws.subscription_id
                user_ok = bool(
                    not ws._is_recovery_failed
                    and key is not None
                    and stream is not None
                    and stream.is_active()
                    and not stream.is_reconnecting()
                )
                if key is not None:
                    generation = hashlib.sha256(f"{id(stream)}:{key}".encode()).hexdigest()[:12]
        except Exception as exc:  # noqa: BLE001 - unknown adapter internals: report unknown
            self._unsupported_once("user_stream_state", exc)
            user_ok = None
        market_ok: bool | None = None
        reconnecting = 0
        try:
            slots = [(ws, cid) for ws in self._market_ws() for cid in _stream_slots(ws)]
            if slots:
                reconnecting = sum(1 for ws, cid in slots if not _live(ws._clients.get(cid)))
                market_ok = reconnecting == 0
        except Exception as exc:  # noqa: BLE001 - unknown adapter internals: report unknown
            self._unsupported_once("market_stream_state", exc)
        return StreamState(user_ok, generation, market_ok, reconnecting)

    # -- repairs -----------------------------------------------------------------------
    async def resubscribe_user_stream(self) -> bool:
        """New listenKey + new user stream (+ the adapter's mass status); True when done."""
        ws = self._user_ws()
        if ws is None:
            return False
        try:
            with anyio.fail_after(self._timeout_s):
                ws._is_recovery_failed = False
                await ws._resubscribe()
        except TimeoutError:
            log.error("venue.user_stream_resubscribe_timeout", timeout_s=self._timeout_s)
            return False
        except Exception as exc:  # noqa: BLE001 - reported; the watch retries later
            log.error("venue.user_stream_resubscribe_failed", error=f"{type(exc).__name__}: {exc}")
            return False
        return bool(self.stream_state().user_ok)

    async def reconnect_market_streams(self) -> int:
        """(Re)connect every market connection that is not live (stuck or lost); count.

        A connection whose forced connect failed (venue still down) is left empty in the
        adapter; it counts as not live, so the next call connects it again.
        """
        done = 0
        for ws in self._market_ws():
            try:
                for cid in _stream_slots(ws):
                    client = ws._clients.get(cid)
                    if _live(client):
                        continue
                    streams = list(ws._client_streams.get(cid, []))
                    with anyio.fail_after(self._timeout_s):
                        if client is not None:
                            await ws._disconnect_client(cid)
                        await ws._connect_client(cid, streams)
                    done += 1
            except TimeoutError:
                log.error("venue.market_reconnect_timeout", timeout_s=self._timeout_s)
            except Exception as exc:  # noqa: BLE001 - reported; the watch retries later
                log.error("venue.market_reconnect_failed", error=f"{type(exc).__name__}: {exc}")
        return done

    async def mass_status(self) -> bool:
        """Reconcile the node's cache with a full mass status from the venue; True if applied."""
        node = self._node()
        client = self._exec_client()
        if node is None or client is None:
            return False
        ws = self._user_ws()
        lock = getattr(ws, "_recovery_lock", None) if ws is not None else None
        try:
            with anyio.fail_after(self._timeout_s):
                if lock is not None:
                    async with lock:
                        return await self._mass_status_paused(node, client, ws)
                return await self._mass_status_paused(node, client, ws)
        except TimeoutError:
            log.error("venue.mass_status_timeout", timeout_s=self._timeout_s)
        except Exception as exc:  # noqa: BLE001 - reported; the watch retries next round
            log.error("venue.mass_status_failed", error=f"{type(exc).__name__}: {exc}")
        return False

    async def _mass_status_paused(self, node: Any, client: Any, ws: Any) -> bool:
        pausable = ws is not None and hasattr(ws, "_resume_dispatch")
        if pausable:
            ws._dispatch_paused = True
        try:
            report = await client.generate_mass_status(lookback_mins=None)
            if report is None:
                return False
            node.kernel.exec_engine.reconcile_execution_mass_status(report)
            return True
        finally:
            if pausable:
                ws._resume_dispatch()

    # -- lost events --------------------------------------------------------------------
    async def apply_fates(self, fates: Sequence[OrderFate]) -> Replayed | None:
        """Replay what the venue says became of these orders (``venue_replay``) and wait
        until the engine applied it; None when the node or its client is not there."""
        node = self._node()
        client = self._exec_client()
        if node is None or client is None:
            return None
        try:
            done = replay_fates(node.kernel.cache, client, fates)
            if done.events:
                await self._drained(node)
        except Exception as exc:  # noqa: BLE001 - reported; the watch falls back to a mass status
            self._unsupported_once("apply_fates", exc)
            log.error("venue.apply_fates_failed", error=repr(exc))
            return None
        return done

    async def _drained(self, node: Any) -> None:
        """Wait until the engine has processed the events queued so far (FIFO queue).

        The client's events reach the queue by ``call_soon_threadsafe``: one checkpoint
        first lets those puts run; the consumer applies each item as it takes it off."""
        engine = node.kernel.exec_engine
        await anyio.lowlevel.checkpoint()
        for _ in range(int(DRAIN_TIMEOUT_S / DRAIN_POLL_S)):
            if engine.evt_qsize() == 0:
                break
            await anyio.sleep(DRAIN_POLL_S)
        await anyio.lowlevel.checkpoint()  # the consumer's last item


def _stream_slots(ws: Any) -> list[int]:
    """Connection ids of a market WebSocket client that carry subscriptions."""
    return [cid for cid, streams in list(ws._client_streams.items()) if streams]


def _live(client: Any) -> bool:
    """A connection that is up and not reconnecting (None: lost)."""
    return bool(
        client is not None
        and client.is_active()
        and not client.is_reconnecting()
        and not client.is_closed()
    )
