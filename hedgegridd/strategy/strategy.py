"""``HedgeGridStrategy``: Nautilus events -> core calls -> core intents -> orders.

Handlers translate and nothing else: the decision is ``GridEngine.decide`` (pure
core), the gate is ``RiskGate``, the regime is ``RegimeDetector``; the entry mode,
unrealized PnL and values to persist are ``risk_readings``. Every order path (bar,
fill, timer retry, operator command) goes through ``_sync`` and so through the risk
gate. Every handler runs under ``guarded`` (``boundary``): an exception is logged
with its reason and puts the strategy in DEGRADED (entries paused, exits still
managed, alert sent); it never propagates into the node.

Nautilus' own ``degrade()`` would stop event dispatch (exits unmanaged), so the
trading state DEGRADED is ours and the component stays RUNNING.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import structlog
from nautilus_trader.model.data import Bar, BarType, FundingRateUpdate, QuoteTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.trading.strategy import Strategy

from hedgegridd.core.engine import Decision, DecisionInputs, EntryMode, GridEngine
from hedgegridd.core.funding import FundingState
from hedgegridd.core.gaps import BarSequence, check_bar_sequence
from hedgegridd.core.regime import RegimeDetector
from hedgegridd.core.risk import RiskGate
from hedgegridd.core.types import ZERO, InstrumentRules, Position, Side
from hedgegridd.errors import DomainError, HedgegridError
from hedgegridd.params import StrategyParams
from hedgegridd.strategy import stop_report
from hedgegridd.strategy.book import Book
from hedgegridd.strategy.boundary import guarded
from hedgegridd.strategy.closer import Closer
from hedgegridd.strategy.config import HedgeGridConfig
from hedgegridd.strategy.control import ControlMixin
from hedgegridd.strategy.events import OrderEventsMixin
from hedgegridd.strategy.execution import ExecutionMixin
from hedgegridd.strategy.handle import StrategySnapshot, TradingState
from hedgegridd.strategy.mark import MarkTracker, revalued
from hedgegridd.strategy.orders import OrderBuilder, position_id_for
from hedgegridd.strategy.reconciler import Reconciler
from hedgegridd.strategy.risk_readings import entry_mode, state_update, unrealized_pnl
from hedgegridd.strategy.startup import StartupMixin
from hedgegridd.strategy.warmup import AlertSink, StateSink, WarmupData

log = structlog.get_logger(__name__)
HALTED = "halted"
DEGRADED = "degraded"


class HedgeGridStrategy(StartupMixin, OrderEventsMixin, ControlMixin, ExecutionMixin, Strategy):  # type: ignore[misc]
    """Hedge-mode grid on one instrument; implements ``StrategyHandle``."""

    def __init__(self, config: HedgeGridConfig) -> None:
        super().__init__(config)
        self.cfg = config
        self.instrument_id = InstrumentId.from_str(config.instrument_id)
        self.bar_type = BarType.from_str(config.bar_type)
        self.long_pid = position_id_for(self.instrument_id, Side.LONG)
        self.short_pid = position_id_for(self.instrument_id, Side.SHORT)
        self.trading_state = TradingState.STARTING
        self.start_failure: str | None = None
        self.degraded_reason: str | None = None
        self.halted_reason: str | None = None
        self.params: StrategyParams | None = None
        self.rules: InstrumentRules | None = None
        self.grid: GridEngine | None = None
        self.regime: RegimeDetector | None = None
        self.risk: RiskGate | None = None
        self.builder: OrderBuilder | None = None
        self.book = Book()
        self.center: Decimal | None = None
        self.last_price: Decimal | None = None
        self.last_bar_ns: int | None = None
        self.funding: FundingState | None = None
        self.mark = MarkTracker()  # valuation price for equity/drawdown/notional (risk)
        self.throttle = Decimal(1)
        self.bars = 0  # live bars processed, paused or halted too (warmup history not)
        self.bar_gaps = 0
        self.errors = 0
        self.gate_denials: dict[str, int] = {}
        self.closer = Closer(self)
        self.frozen_pauses: set[str] = set()  # pause reasons given with keep_orders
        self.last_decision: Decision | None = None
        self.equity: Decimal | None = None
        self._warmup: WarmupData | None = None
        self._state_sink: StateSink | None = None
        self._alert_sink: AlertSink | None = None
        self._positions_key: tuple[object, ...] | None = None
        self._positions: tuple[Position, Position] = (Position(Side.LONG), Position(Side.SHORT))
        self._interval_ns = int(self.bar_type.spec.timedelta.total_seconds() * 1_000_000_000)
        self._last_persisted_pnl: Decimal | None = None
        # Venue truth: compares the book with the venue (driven by the supervisor's venue watch).
        self.reconciler = Reconciler(self)

    # -- wiring for the daemon -------------------------------------------------
    def prime(self, warmup: WarmupData) -> None:
        """Hand in history, funding and restored state before the node starts."""
        self._warmup = warmup

    def set_sinks(self, *, state: StateSink | None = None, alert: AlertSink | None = None) -> None:
        """Callbacks for values to persist and incidents to alert on (event loop only)."""
        self._state_sink = state
        self._alert_sink = alert

    # -- lifecycle ---------------------------------------------------------------
    def on_start(self) -> None:
        try:
            self._start_checked()
        except HedgegridError as exc:
            self._fail_start(str(exc))
        except Exception as exc:  # noqa: BLE001 - start must fail closed, with the reason
            self._fail_start(f"unexpected {type(exc).__name__}: {exc}")

    def _fail_start(self, reason: str) -> None:
        self.start_failure = reason
        self.trading_state = TradingState.STOPPED
        log.error("strategy.start_failed", reason=reason, instrument=str(self.instrument_id))
        self._alert("start_failed", {"reason": reason})
        self.stop()

    @guarded
    def on_stop(self) -> None:
        self.trading_state = TradingState.STOPPED
        if self.start_failure is None and self.builder is not None:
            policy = self.cfg.stop_policy
            cancelled = 0
            if policy in ("cancel_entries", "cancel_all"):
                cancelled += self._cancel_kind(entries=True, exits=policy == "cancel_all")
            kinds = stop_report.open_kinds(self)
            left = stop_report.left_on_purpose(policy, kinds, self.confirmed_positions())
            log.info("strategy.stopped", policy=policy, cancelled=cancelled, **left)

    def on_reset(self) -> None:
        self.book = Book()
        self.center = self.last_price = self.last_bar_ns = None
        self.funding = None
        self.mark.reset()
        self.last_decision = None
        self.closer.clear()
        self.frozen_pauses.clear()
        self.bars = self.bar_gaps = self.errors = 0
        self.gate_denials = {}
        self._positions_key = None
        if self.grid is not None:
            self.grid.reset()
        if self.regime is not None:
            self.regime.reset()
        self.trading_state = TradingState.STARTING
        log.info("strategy.reset", instrument=str(self.instrument_id))

    def on_dispose(self) -> None:
        if self.start_failure is None and self.builder is not None and stop_report.live(self):
            # After the node's post-stop wait: what is still open that the policy cancels?
            left = stop_report.unexpected(self.cfg.stop_policy, stop_report.open_kinds(self))
            if left:
                log.warning("stop.residual_unexpected", policy=self.cfg.stop_policy, orders=left)
        log.info("strategy.disposed", instrument=str(self.instrument_id))

    def on_degrade(self) -> None:
        self.degraded_reason = self.degraded_reason or "component degraded by the node"
        if self.risk is not None:
            self.risk.pause(DEGRADED)
        log.warning("strategy.component_degraded", reason=self.degraded_reason)

    # -- data --------------------------------------------------------------------
    @guarded
    def on_bar(self, bar: Bar) -> None:
        if self.start_failure is not None or self.regime is None or self.risk is None:
            return
        close_ns = bar.ts_event
        check = check_bar_sequence(self.last_bar_ns, close_ns, self._interval_ns)
        if not check.usable:
            log.debug("bar.skipped", kind=check.kind.value, close_ns=close_ns)
            return
        self.bars += 1
        if check.kind is BarSequence.GAP:
            self.bar_gaps += 1
            self.regime.reset()
            log.warning("bar.gap", missed=check.missed, close_ns=close_ns, gaps=self.bar_gaps)
        self.last_bar_ns = close_ns
        self.last_price = bar.close.as_decimal()
        self.mark.observe_bar(self.last_price, self.clock.timestamp_ns())
        before = self.regime.regime
        after = self.regime.update(bar.high.as_double(), bar.low.as_double(), bar.close.as_double())
        if after is not before:
            log.info("regime.changed", regime=after.value, previous=before.value)
        self.risk.on_bar(close_ns)
        self._poll_breaker()
        self._update_equity()
        self._sync("bar")

    @guarded
    def on_funding_rate(self, funding_rate: FundingRateUpdate) -> None:
        nxt = funding_rate.next_funding_ns
        if nxt is None:
            minutes = funding_rate.interval or self.cfg.funding_interval_minutes
            nxt = funding_rate.ts_event + int(minutes) * 60_000_000_000
        self._set_funding(Decimal(str(funding_rate.rate)), int(nxt))

    @guarded
    def on_data(self, data: Any) -> None:
        # BinanceFuturesMarkPriceUpdate: mark price + funding, ~1/s (sim, testnet, live).
        rate = getattr(data, "funding_rate", None)
        nxt = getattr(data, "next_funding_ns", None)
        if rate is not None and nxt:
            self._set_funding(Decimal(str(rate)), int(nxt))
        mark = getattr(data, "mark", None)
        if mark is not None and getattr(data, "instrument_id", None) == self.instrument_id:
            self._on_mark(mark.as_decimal(), int(data.ts_init), "mark")

    @guarded
    def on_quote_tick(self, tick: QuoteTick) -> None:
        # Paper: no mark stream; the quote mid values the book.
        if tick.instrument_id == self.instrument_id:
            mid = (tick.bid_price.as_decimal() + tick.ask_price.as_decimal()) / 2
            self._on_mark(mid, int(tick.ts_init), "quote")

    def _on_mark(self, price: Decimal, received_ns: int, source: str) -> None:
        """Revalue the book at a streamed price: equity, drawdown gate, risk readings."""
        if not self.mark.observe_stream(price, received_ns, source=source):
            return  # same price (only its age refreshed) or nonsense
        if self.risk is not None and self.start_failure is None:
            self._update_equity()

    def _set_funding(self, rate: Decimal, next_ns: int) -> None:
        state = FundingState(rate, next_ns)
        if state != self.funding:
            self.funding = state
            log.debug("funding.updated", rate=str(rate), next_funding_ns=next_ns)

    # -- the one order path ------------------------------------------------------
    def _entry_mode(self, now_ns: int) -> EntryMode:
        assert self.risk is not None
        verdict, reasons = self.risk.check_entries(now_ns), self.risk.pause_reasons
        return entry_mode(
            verdict, reasons, self.frozen_pauses, halted=self.halted_reason is not None
        )

    def _sync(self, source: str, *, entries: bool = True) -> None:
        """Decide and send: bars, fills, timers and commands all come through here."""
        if self.grid is None or self.regime is None or self.last_price is None:
            return
        if self.trading_state is TradingState.STOPPED or self.reconciler.holding:
            return  # holding: lost events are being replayed, the reconciler re-plans after
        now = self.clock.timestamp_ns()
        live, resting = self.book.views()
        long, short = self.confirmed_positions()
        long, short = self.closer.effective(long), self.closer.effective(short)
        long, short = self.reconciler.effective(long), self.reconciler.effective(short)
        mode = self._entry_mode(now) if entries else EntryMode.FREEZE
        decision = self.grid.decide(
            DecisionInputs(
                mid=self.last_price,
                center=self.center,
                regime=self.regime.regime,
                now_ns=now,
                long=long,
                short=short,
                live_entries=live,
                resting_exits=resting,
                funding=self.funding,
                throttle=self.throttle,
                entry_mode=mode,
            )
        )
        if entries:
            self.center = decision.center
            self.last_decision = decision
        if not (decision.entries.is_empty and decision.exits.is_empty):
            self._execute(decision, now, source)
        if self.closer.active:
            self.closer.pump()

    def _sync_guarded(self, source: str) -> None:
        """``_sync`` for operator commands: a failure degrades, the caller gets no traceback."""
        try:
            self._sync(source)
        except Exception as exc:  # noqa: BLE001 - same boundary as a handler
            self._enter_degraded(f"command {source}", exc)

    def confirmed_positions(self) -> tuple[Position, Position]:
        """The engine's confirmed LONG and SHORT positions as core values (cached)."""
        lp = self.cache.position(self.long_pid)
        sp = self.cache.position(self.short_pid)
        key = (
            None if lp is None or lp.is_closed else (lp.quantity.raw, lp.avg_px_open),
            None if sp is None or sp.is_closed else (sp.quantity.raw, sp.avg_px_open),
        )
        if key != self._positions_key:
            # Build first, then store: a failure must not leave a stale cache marked fresh.
            positions = (_core_position(Side.LONG, lp), _core_position(Side.SHORT, sp))
            self._positions, self._positions_key = positions, key
        return self._positions

    # -- risk bookkeeping ----------------------------------------------------------
    def _poll_breaker(self) -> None:
        assert self.risk is not None
        if self.risk.poll(self.clock.timestamp_ns()).value == "reset":
            log.info("risk.breaker_reset", trips=self.risk.trips)
            self._alert("circuit_breaker_reset", {})

    def _update_equity(self) -> None:
        assert self.risk is not None
        equity = self.current_equity()
        if equity is None:
            return
        self.equity = equity
        status = self.risk.update_equity(equity)
        if status.newly_breached:
            log.warning(
                "risk.drawdown_breached",
                equity=str(equity),
                peak=str(status.peak),
                drawdown_pct=str(status.drawdown_pct.quantize(Decimal("0.01"))),
            )
            self._alert("drawdown", {"equity": str(equity), "peak": str(status.peak)})
        update = state_update(status, self.book.realized_pnl, self._last_persisted_pnl)
        if self._state_sink is not None and update is not None:
            self._last_persisted_pnl = self.book.realized_pnl
            self._state_sink(update)

    def current_equity(self) -> Decimal | None:
        """Account balance plus unrealized PnL of both sides at the last price."""
        account = self.cache.account_for_venue(self.instrument_id.venue)
        if account is None:
            return None
        balance = sum((m.as_decimal() for m in account.balances_total().values()), ZERO)
        return balance + self.unrealized_pnl()

    def valuation_price(self) -> Decimal | None:
        """The streamed mark (quote mid in paper), else the last bar close."""
        return self.mark.price if self.mark.price is not None else self.last_price

    def unrealized_pnl(self) -> Decimal:
        """Unrealized PnL of both sides at the mark (ZERO before any price)."""
        return unrealized_pnl(self.valuation_price(), self.confirmed_positions())

    def snapshot(self) -> StrategySnapshot:
        """``ControlMixin.snapshot`` with positions valued at the mark, not the bar close."""
        snap: StrategySnapshot = super().snapshot()
        price = self.valuation_price()
        if price is None:
            return snap
        return revalued(snap, self.confirmed_positions(), price, self.mark.received_ns)

    # -- failure handling ----------------------------------------------------------
    def _enter_degraded(self, where: str, exc: BaseException) -> None:
        self.errors += 1
        reason = f"{where}: {type(exc).__name__}: {exc}"
        repeated = self.degraded_reason == reason
        self.degraded_reason = reason
        if self.risk is not None:
            self.risk.pause(DEGRADED)
        if repeated:  # the same failure again: counted, not re-logged at ERROR every bar
            log.debug("strategy.degraded_again", reason=reason, errors=self.errors)
            return
        log.error("strategy.degraded", reason=reason, errors=self.errors, exc_info=exc)
        self._alert("degraded", {"reason": reason})

    def _alert(self, kind: str, details: dict[str, str]) -> None:
        if self._alert_sink is None:
            return
        try:
            self._alert_sink(kind, details)
        except Exception as exc:  # noqa: BLE001 - an alert failure must not break trading
            log.error("strategy.alert_failed", kind=kind, error=f"{type(exc).__name__}: {exc}")


def _core_position(side: Side, position: Any) -> Position:
    if position is None or position.is_closed:
        return Position(side)
    qty = position.quantity.as_decimal()
    if qty == 0:
        return Position(side)
    if position.side.name != side.value:
        raise DomainError(f"{side} hedge position holds a {position.side.name} position")
    return Position(side, qty, Decimal(str(position.avg_px_open)))
