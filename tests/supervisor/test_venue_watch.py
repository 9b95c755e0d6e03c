"""The venue watch's decisions, with a fake venue, node, strategy and alert sink."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import anyio
import pytest
from pydantic import SecretStr

from hedgegridd.core.types import Side
from hedgegridd.ops.config import Severity
from hedgegridd.sim import SimBar, SimConfig, SimExchange
from hedgegridd.strategy.reconciler import Reconciler, VenueOrder
from hedgegridd.supervisor.health import Health
from hedgegridd.supervisor.node_venue import StreamState
from hedgegridd.supervisor.settings import WatchdogSettings
from hedgegridd.supervisor.venue_reader import (
    OrderFate,
    RestVenueReader,
    VenueRead,
    VenueReadError,
    VenueTrade,
    parse_legs,
    parse_orders,
)
from hedgegridd.supervisor.venue_replay import Replayed
from hedgegridd.supervisor.venue_watch import HEDGE_MODE_LOST, VenueWatch
from hedgegridd.venues.config import ReconcileSettings
from hedgegridd.venues.guards import BinanceKeys
from tests.ops.helpers import until
from tests.strategy.test_reconciler import SL_L, TP_L, FakeOrder, FakeStrategy

pytestmark = pytest.mark.anyio
D = Decimal
LONG, SHORT = Side.LONG, Side.SHORT
FAST = ReconcileSettings(
    interval_s=1,
    hedge_check_interval_s=1,
    confirm_delay_s=0.1,
    stream_grace_s=1,
    venue_down_alert_s=1,
    alert_after_repairs=2,
)


class FakeReader:
    """The venue: legs, open orders, hedge mode; can go down."""

    def __init__(self) -> None:
        self.legs = {LONG: D(0), SHORT: D(0)}
        self.orders: tuple[VenueOrder, ...] = ()
        self.dual = True
        self.down = False
        self.reads = 0
        self.dual_reads = 0
        self.fates: dict[str, OrderFate] = {}
        self.looked_up: list[tuple[str, bool]] = []

    async def read(self) -> VenueRead:
        self.reads += 1
        if self.down:
            raise VenueReadError("HTTP 503")
        return VenueRead(legs=dict(self.legs), orders=self.orders, one_way_rows=False)

    async def dual_side(self) -> bool:
        self.dual_reads += 1
        if self.down:
            raise VenueReadError("HTTP 503")
        return self.dual

    async def order_fate(self, client_id: str, *, algo: bool) -> OrderFate | None:
        self.looked_up.append((client_id, algo))
        return self.fates.get(client_id)

    async def aclose(self) -> None:
        return None

    def cover_long(self, qty: str) -> None:
        self.legs[LONG] = D(qty)
        self.orders = (
            VenueOrder(TP_L, "LONG", "SELL", D(qty)),
            VenueOrder(SL_L, "LONG", "SELL", D(qty), algo=True),
        )


@dataclass
class Snap:
    rejects_by_reason: dict[str, int] = field(default_factory=dict)
    pause_reasons: tuple[str, ...] = ()


class FakeHandle:
    """The StrategyHandle parts the watch uses."""

    def __init__(self) -> None:
        self.snap = Snap()
        self.calls: list[tuple[str, str]] = []

    def snapshot(self) -> Snap:
        return self.snap

    def pause(self, reason: str) -> None:
        self.calls.append(("pause", reason))
        self.snap.pause_reasons = tuple(sorted({*self.snap.pause_reasons, reason}))

    def resume(self, reason: str) -> None:
        self.calls.append(("resume", reason))
        self.snap.pause_reasons = tuple(r for r in self.snap.pause_reasons if r != reason)


class FakeNode:
    """NodeVenue stand-in: stream state and the repairs asked of it."""

    def __init__(self) -> None:
        self.state = StreamState(user_ok=True, user_generation="g1", market_ok=True)
        self.mass_status_calls = 0
        self.resubscribes: list[bool] = []  # venue reachable when asked
        self.reconnects = 0
        self.on_mass_status: Any = None
        self.on_replay: Any = None
        self.replayed: list[tuple[OrderFate, ...]] = []
        self.held_during_replay: list[bool] = []
        self.reconciler: Reconciler | None = None
        self.reader: FakeReader | None = None

    def stream_state(self) -> StreamState:
        return self.state

    async def mass_status(self) -> bool:
        self.mass_status_calls += 1
        if self.on_mass_status is not None:
            self.on_mass_status()
        return True

    async def apply_fates(self, fates: list[OrderFate]) -> Replayed:
        self.replayed.append(tuple(fates))
        assert self.reconciler is not None
        self.held_during_replay.append(self.reconciler.holding)
        if self.on_replay is not None:
            self.on_replay(fates)
        return Replayed(fills=sum(len(f.trades) for f in fates))

    async def resubscribe_user_stream(self) -> bool:
        self.resubscribes.append(self.reader is not None and not self.reader.down)
        self.state = StreamState(True, "g2", self.state.market_ok)
        return True

    async def reconnect_market_streams(self) -> int:
        self.reconnects += 1
        self.state = StreamState(self.state.user_ok, self.state.user_generation, True)
        return 1


class FakeAlerts:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Severity]] = []

    def notify(
        self,
        key: str,
        severity: Severity,
        title: str,
        text: str = "",
        fields: Mapping[str, str] | None = None,
    ) -> None:
        self.sent.append((key, severity))

    def keys(self) -> list[str]:
        return [k for k, _ in self.sent]


@dataclass
class Rig:
    watch: VenueWatch
    reader: FakeReader
    handle: FakeHandle
    node: FakeNode
    alerts: FakeAlerts
    health: Health
    host: FakeStrategy

    def exits_at_venue(self, qty: str) -> None:
        """The venue holds LONG ``qty`` and our TP/SL for it, both tracked by the book."""
        self.reader.cover_long(qty)
        for key, kind in ((TP_L, "tp"), (SL_L, "sl")):
            self.host.book.open_ids[key] = type("M", (), {"side": LONG, "kind": kind})()
            self.host.cache.orders[key] = FakeOrder(key, D(qty))


@asynccontextmanager
async def running(settings: ReconcileSettings = FAST) -> AsyncIterator[Rig]:
    reader, handle, node, alerts = FakeReader(), FakeHandle(), FakeNode(), FakeAlerts()
    node.reader = reader
    health = Health(WatchdogSettings())
    host = FakeStrategy()
    reconciler = Reconciler(host)
    node.reconciler = reconciler
    watch = VenueWatch(
        settings,
        reader=reader,
        handle=handle,  # type: ignore[arg-type]
        reconciler=reconciler,
        node=node,  # type: ignore[arg-type]
        alerts=alerts,
        health=health,
        tick_s=0.02,
    )
    async with anyio.create_task_group() as tg:
        await tg.start(watch.run)
        yield Rig(watch, reader, handle, node, alerts, health, host)
        tg.cancel_scope.cancel()


async def test_hedge_mode_lost_pauses_alerts_degrades_and_recovers() -> None:
    """dual false: pause + critical alert + condition (pings go on); true again: all cleared."""
    async with running() as rig:
        rig.reader.dual = False
        await until(lambda: ("pause", HEDGE_MODE_LOST) in rig.handle.calls)
        assert ("hedge_mode_lost", Severity.CRITICAL) in rig.alerts.sent
        assert "hedge_mode_lost" in rig.health.conditions()
        assert rig.health.evaluate().ok  # degraded, still pinging
        assert rig.health.evaluate().degraded == ("hedge_mode_lost",)
        rig.reader.dual = True
        await until(lambda: ("resume", HEDGE_MODE_LOST) in rig.handle.calls)
        assert ("hedge_mode_restored", Severity.INFO) in rig.alerts.sent
        assert rig.health.conditions() == {}
        assert rig.handle.calls.count(("pause", HEDGE_MODE_LOST)) == 1


async def test_hedge_pause_is_reasserted_while_hedge_mode_stays_off() -> None:
    """An operator's resume of every reason does not re-open entries while dual is false."""
    async with running() as rig:
        rig.reader.dual = False
        await until(lambda: ("pause", HEDGE_MODE_LOST) in rig.handle.calls)
        rig.handle.resume(HEDGE_MODE_LOST)  # what `hedgegridctl resume '*'` does
        await until(lambda: rig.handle.calls.count(("pause", HEDGE_MODE_LOST)) == 2)
        assert rig.alerts.keys().count("hedge_mode_lost") == 1  # one alert per incident


async def test_a_4061_rejection_checks_hedge_mode_at_once() -> None:
    """With a slow hedge cadence, a -4061 rejection still triggers the dual-side check."""
    async with running(FAST.model_copy(update={"hedge_check_interval_s": 3600})) as rig:
        await until(lambda: rig.reader.reads >= 1)
        assert rig.reader.dual_reads == 0
        rig.reader.dual = False
        rig.handle.snap.rejects_by_reason["-4061"] = 3
        await until(lambda: ("pause", HEDGE_MODE_LOST) in rig.handle.calls)
        assert rig.reader.dual_reads == 1


async def test_lost_fill_is_confirmed_then_repaired_with_a_mass_status() -> None:
    """Venue leg grew, book did not: re-read, mass status, exits re-planned, repaired."""
    async with running() as rig:
        await until(lambda: rig.reader.reads >= 1)
        rig.exits_at_venue("0.003")

        def nautilus_applies_the_fill() -> None:
            rig.host.legs[LONG] = D("0.003")

        rig.node.on_mass_status = nautilus_applies_the_fill
        await until(lambda: rig.watch.stats.repairs == 1)
        assert rig.node.mass_status_calls == 1
        assert ("sync", "reconcile:False") in rig.host.calls
        assert rig.watch.stats.mismatches == 1
        assert rig.alerts.keys() == []


def _stop_filled(qty: str) -> OrderFate:
    """The venue's answer for SL_L: triggered, its regular order filled by one trade."""
    trade = VenueTrade("5001", D("57000"), D(qty), D("0.08"), "USDT", False, "LONG", 1)
    return OrderFate(SL_L, "FILLED", "8389765000000031", D(qty), (trade,), algo=True)


async def test_stop_that_triggered_unheard_is_replayed_without_a_mass_status() -> None:
    """Book LONG with TP+SL, venue flat and no orders: both looked up (the SL as an algo
    order), the SL's fill replayed while the strategy holds, exits re-planned: repaired."""
    async with running() as rig:
        await until(lambda: rig.reader.reads >= 1)
        rig.exits_at_venue("0.003")
        rig.host.legs[LONG] = D("0.003")
        rig.host.cache.orders[SL_L].has_trigger_price = True
        await until(lambda: rig.watch.stats.rounds >= 2 and not rig.watch.stats.mismatches)
        rig.reader.legs[LONG] = D(0)
        rig.reader.orders = ()  # the stop triggered; TP cancelled by the venue (reduce-only)
        rig.reader.fates[SL_L] = _stop_filled("0.003")
        rig.reader.fates[TP_L] = OrderFate(TP_L, "CANCELED", "7001", D(0))

        def engine_applies(fates: list[OrderFate]) -> None:
            rig.host.legs[LONG] = D(0)
            for f in fates:
                rig.host.cache.orders[f.client_id].is_closed = True

        rig.node.on_replay = engine_applies
        await until(lambda: rig.watch.stats.repairs == 1)
        assert set(rig.reader.looked_up) == {(SL_L, True), (TP_L, False)}
        assert [len(fates) for fates in rig.node.replayed] == [2]
        assert rig.node.held_during_replay == [True]
        assert rig.watch.stats.fills_recovered == 1
        assert rig.node.mass_status_calls == 0
        assert ("sync", "reconcile:False") in rig.host.calls
        assert rig.alerts.keys() == []


async def test_lookups_that_explain_nothing_fall_back_to_a_mass_status() -> None:
    """The venue does not know the order (or it is still open): nothing replayed, the leg
    still differs, so Nautilus' mass status is asked for."""
    async with running() as rig:
        await until(lambda: rig.reader.reads >= 1)
        rig.exits_at_venue("0.003")
        rig.host.legs[LONG] = D("0.003")
        await until(lambda: rig.watch.stats.rounds >= 2)
        rig.reader.legs[LONG] = D(0)
        rig.reader.orders = ()

        def nautilus_applies_the_fill() -> None:
            rig.host.legs[LONG] = D(0)
            for order in rig.host.cache.orders.values():
                order.is_closed = True

        rig.node.on_mass_status = nautilus_applies_the_fill
        await until(lambda: rig.watch.stats.repairs == 1)
        assert set(rig.reader.looked_up) == {(SL_L, False), (TP_L, False)}
        assert rig.node.replayed == []
        assert rig.node.mass_status_calls == 1


async def test_a_difference_gone_on_the_re_read_is_not_repaired() -> None:
    """An event in flight: the confirm re-read agrees, so no mass status is asked for."""
    async with running(FAST.model_copy(update={"confirm_delay_s": 0.5})) as rig:
        await until(lambda: rig.reader.reads >= 1)
        rig.exits_at_venue("0.003")
        rounds = rig.watch.stats.rounds
        await until(lambda: rig.watch.stats.rounds > rounds)
        rig.host.legs[LONG] = D("0.003")  # the fill event arrives during the confirm delay
        await until(lambda: rig.watch.stats.rounds > rounds + 2)
        assert rig.node.mass_status_calls == 0
        assert rig.watch.stats.mismatches == 0


async def test_unrepaired_difference_escalates_then_resolves() -> None:
    """Repairs that do not help: critical venue_mismatch, pause, condition; fixed: cleared."""
    async with running() as rig:
        rig.exits_at_venue("0.003")  # the cache's leg never follows: every repair fails
        await until(lambda: ("venue_mismatch", Severity.CRITICAL) in rig.alerts.sent)
        assert ("pause", "venue_mismatch") in rig.host.calls
        assert "venue_mismatch" in rig.health.conditions()
        assert rig.node.mass_status_calls >= 2
        rig.host.legs[LONG] = D("0.003")
        await until(lambda: ("venue_mismatch_resolved", Severity.INFO) in rig.alerts.sent)
        assert ("resume", "venue_mismatch") in rig.host.calls
        assert "venue_mismatch" not in rig.health.conditions()


async def test_venue_outage_alerts_and_return_fixes_streams_then_reconciles() -> None:
    """Down: alert + condition, no stream forcing; back: streams forced, mass status, cleared."""
    async with running() as rig:
        await until(lambda: rig.reader.reads >= 1)
        rig.reader.down = True
        rig.node.state = StreamState(user_ok=False, user_generation=None, market_ok=False)
        await until(lambda: ("venue_unreachable", Severity.WARNING) in rig.alerts.sent)
        await until(lambda: "user_stream_down" in rig.health.conditions())
        assert "venue_unreachable" in rig.health.conditions()
        assert rig.node.resubscribes == []  # never forced while the venue does not answer
        rig.reader.down = False
        await until(lambda: ("venue_restored", Severity.INFO) in rig.alerts.sent)
        await until(lambda: rig.node.resubscribes == [True] and rig.node.reconnects == 1)
        await until(lambda: rig.node.mass_status_calls >= 1)
        await until(lambda: rig.health.conditions() == {})
        assert rig.watch.stats.reachable is True


async def test_stuck_user_stream_is_recreated_after_the_grace_period() -> None:
    """A user stream not live beyond the grace, venue up: re-created once, then live."""
    async with running() as rig:
        await until(lambda: rig.reader.reads >= 1)
        rig.node.state = StreamState(user_ok=False, user_generation="g1", market_ok=True)
        await until(lambda: rig.node.resubscribes == [True])
        await until(lambda: rig.watch.stats.user_stream_ok is True)
        assert rig.watch.stats.user_stream_restarts == 1
        assert "user_stream_down" not in rig.health.conditions()


def test_position_risk_rows_parse_into_legs_and_one_way_flag() -> None:
    """LONG/SHORT rows become absolute leg sizes; a BOTH row flags one-way mode."""
    rows = [
        {"positionSide": "LONG", "positionAmt": "0.004"},
        {"positionSide": "SHORT", "positionAmt": "-0.002"},
    ]
    assert parse_legs(rows) == ({LONG: D("0.004"), SHORT: D("0.002")}, False)
    assert parse_legs([{"positionSide": "BOTH", "positionAmt": "0"}])[1] is True
    with pytest.raises(VenueReadError):
        parse_legs({"code": -1})


def test_open_orders_parse_to_remaining_quantity() -> None:
    """Regular orders: orig - executed; algo orders: their quantity, flagged algo."""
    regular = parse_orders(
        [
            {
                "clientOrderId": TP_L,
                "positionSide": "LONG",
                "side": "SELL",
                "origQty": "0.003",
                "executedQty": "0.001",
            }
        ],
        algo=False,
    )
    assert regular == (VenueOrder(TP_L, "LONG", "SELL", D("0.002")),)
    algo = parse_orders(
        [{"clientAlgoId": SL_L, "positionSide": "LONG", "side": "SELL", "quantity": "0.003"}],
        algo=True,
    )
    assert algo == (VenueOrder(SL_L, "LONG", "SELL", D("0.003"), algo=True),)


async def test_rest_reader_finds_the_fate_of_a_triggered_stop_and_a_filled_entry() -> None:
    """Against the simulator: a stop that triggered names the order its trigger created and
    that order's trade; an entry its own fills; an unknown id is None, a cancelled one has
    no fills."""
    flat = [SimBar(D(60000), D(60000), D(60000), D(60000))] * 50
    async with SimExchange(SimConfig(speed=1), bars=flat) as sim:
        order = {"symbol": "BTCUSDT", "positionSide": "LONG", "quantity": "0.003"}
        await sim.place_order(
            {**order, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "59900"}
            | {"newClientOrderId": "HG-EL1-1-1"}
        )
        await sim.place_order(
            {**order, "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "price": "50000"}
            | {"newClientOrderId": "HG-EL2-1-2"}
        )
        stop = {**order, "side": "SELL", "type": "STOP_MARKET", "algoType": "CONDITIONAL"}
        await sim.step_price(D("59850"))  # fills the first entry
        await sim.place_algo_order({**stop, "triggerPrice": "59500", "clientAlgoId": "HG-SL-1-3"})
        await sim.step_price(D("59400"))  # triggers the stop
        sim.engine.find_order(None, "HG-EL2-1-2").status = "CANCELED"
        keys = BinanceKeys(api_key=SecretStr("sim-api-key"), api_secret=SecretStr("sim-api-secret"))
        reader = RestVenueReader(
            base_url=sim.base_url_http,
            symbol="BTCUSDT",
            keys=keys,
            recv_window_ms=5000,
            timeout_s=5,
        )
        try:
            stop_fate = await reader.order_fate("HG-SL-1-3", algo=True)
            entry = await reader.order_fate("HG-EL1-1-1", algo=False)
            cancelled = await reader.order_fate("HG-EL2-1-2", algo=False)
            unknown = await reader.order_fate("HG-TL-9-9", algo=False)
        finally:
            await reader.aclose()
    assert stop_fate is not None
    algo = sim.engine.find_algo(None, "HG-SL-1-3")
    assert (stop_fate.status, stop_fate.algo, stop_fate.executed) == ("FILLED", True, D("0.003"))
    assert stop_fate.venue_order_id == str(algo.actual_order_id)
    assert stop_fate.algo_id == str(algo.algo_id)
    assert [t.qty for t in stop_fate.trades] == [D("0.003")]
    assert entry is not None
    assert (entry.status, entry.traded, entry.trades[0].maker) == ("FILLED", D("0.003"), True)
    assert cancelled is not None
    assert (cancelled.status, cancelled.trades, cancelled.is_open) == ("CANCELED", (), False)
    assert unknown is None
