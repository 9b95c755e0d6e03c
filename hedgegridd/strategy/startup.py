"""Start-up of ``HedgeGridStrategy``: fail-closed checks, warm start, adoption.

``_start_checked`` raises ``ConfigError``/``VenueRefusedError`` with the reason; the
strategy's ``on_start`` turns any failure into a stopped strategy with that reason
logged (never a half-initialized one).
"""

from __future__ import annotations

from decimal import Decimal

import structlog
from nautilus_trader.model.data import DataType
from nautilus_trader.model.enums import OmsType
from pydantic import ValidationError

from hedgegridd.core.engine import GridEngine
from hedgegridd.core.funding import FundingState
from hedgegridd.core.policy import validate_throttle
from hedgegridd.core.regime import RegimeDetector
from hedgegridd.core.risk import RiskGate
from hedgegridd.core.types import ZERO, InstrumentRules
from hedgegridd.errors import ConfigError, DomainError, VenueRefusedError
from hedgegridd.params import StrategyParams
from hedgegridd.strategy.config import FUNDING_SOURCES, STOP_POLICIES
from hedgegridd.strategy.handle import TradingState
from hedgegridd.strategy.orders import OrderBuilder, meta_from_client_id, meta_from_tags
from hedgegridd.strategy.state import StrategyAttrs
from hedgegridd.strategy.warmup import WarmupData

log = structlog.get_logger(__name__)
HALTED = "halted"


class StartupMixin(StrategyAttrs):
    """Start-up steps of ``HedgeGridStrategy`` (mixed in; uses its state)."""

    def _start_checked(self) -> None:
        cfg = self.cfg
        try:
            params = StrategyParams.model_validate_json(cfg.params_json)
        except ValidationError as exc:
            raise ConfigError(f"strategy params invalid: {exc.errors()[0]['msg']}") from exc
        if cfg.stop_policy not in STOP_POLICIES:
            raise ConfigError(f"stop_policy must be one of {STOP_POLICIES}, got {cfg.stop_policy}")
        if cfg.exit_contingency not in ("OUO", "NONE"):
            raise ConfigError(f"exit_contingency must be OUO or NONE, got {cfg.exit_contingency}")
        if cfg.funding_source not in FUNDING_SOURCES:
            raise ConfigError(f"funding_source must be one of {FUNDING_SOURCES}")
        if cfg.venue_oms_type.upper() != "HEDGING" or self.oms_type != OmsType.HEDGING:
            raise VenueRefusedError(
                f"venue OMS must be HEDGING (venue {cfg.venue_oms_type}, strategy {self.oms_type})"
            )
        instrument = self.cache.instrument(self.instrument_id)
        if instrument is None:
            raise VenueRefusedError(f"instrument {self.instrument_id} not found in the cache")
        step = instrument.size_increment.as_decimal()
        self.rules = InstrumentRules(
            tick=instrument.price_increment.as_decimal(),
            step=step,
            min_qty=(instrument.min_quantity.as_decimal() if instrument.min_quantity else step),
            max_qty=(
                instrument.max_quantity.as_decimal() if instrument.max_quantity else Decimal(10**9)
            ),
            min_notional=(
                instrument.min_notional.as_decimal() if instrument.min_notional else ZERO
            ),
        )
        self.params = params
        core = params.to_core()
        self.grid = GridEngine(core, self.rules)
        self.regime = RegimeDetector(core.regime)
        warm = self._warmup or WarmupData()
        self.risk = RiskGate(core.risk, peak_equity=warm.peak_equity)
        self.builder = OrderBuilder(
            self.order_factory, self.clock, instrument, pair_exits=cfg.exit_contingency == "OUO"
        )
        self._apply_warmup(warm)
        self._adopt_existing()
        self.subscribe_bars(self.bar_type)
        if cfg.funding_source == "funding_rates":
            self.subscribe_funding_rates(self.instrument_id)
        elif cfg.funding_source == "binance_mark_price":
            from nautilus_trader.adapters.binance.futures.types import (
                BinanceFuturesMarkPriceUpdate,
            )

            # The instrument id must also be passed as an argument: with the metadata
            # alone Nautilus logs "client_id or instrument_id need to be specified" and
            # never sends the subscription to the venue (no mark, no funding updates).
            self.subscribe_data(
                DataType(
                    BinanceFuturesMarkPriceUpdate, metadata={"instrument_id": self.instrument_id}
                ),
                instrument_id=self.instrument_id,
            )
        if cfg.subscribe_quotes:
            self.subscribe_quote_ticks(self.instrument_id)
        self.trading_state = TradingState.RUNNING
        log.info(
            "strategy.started",
            instrument=str(self.instrument_id),
            tick=str(self.rules.tick),
            step=str(self.rules.step),
            state=self.state_now().value,
        )

    def _apply_warmup(self, warm: WarmupData) -> None:
        assert self.regime is not None
        assert self.risk is not None
        for bar in warm.bars:
            self.regime.update(bar.high, bar.low, bar.close)
            self.last_bar_ns = bar.close_ns
            self.last_price = bar.close
        if warm.funding_rate is not None and warm.next_funding_ns is not None:
            self.funding = FundingState(warm.funding_rate, warm.next_funding_ns)
        if warm.realized_pnl is not None:
            self.book.realized_pnl = warm.realized_pnl
            self._last_persisted_pnl = warm.realized_pnl
        if warm.throttle is not None:
            try:
                self.throttle = validate_throttle(Decimal(warm.throttle))
            except DomainError as exc:
                raise ConfigError(f"restored throttle invalid: {exc}") from exc
        for reason in warm.pause_reasons:
            self.risk.pause(reason)
        if warm.halted_reason is not None:
            self.halted_reason = warm.halted_reason
            self.risk.pause(HALTED)

    def _adopt_existing(self) -> None:
        """Restart: adopt open positions (cost basis) and our open orders by client id.

        After a restart the Binance adapter reconciles resting orders with
        ``position_id=None`` and no tags; our client order ids name kind, side and level
        (``hedgegridd.core.order_ids``), so every order of ours is tracked again exactly:
        entries keep their (side, level) so the diff never duplicates them, exits count
        as protection and the exit planner cancels whatever exceeds the position (OUO
        links do not survive reconciliation; the planner's quantity rule replaces them).

        Policy for an open order on our instrument whose id is not ours (another
        client's, or an id from before this scheme): it is cancelled. Its side cannot be
        known (no position id), so it can be neither trusted as protection nor left
        resting beyond the position; the ladder and the exit planner re-place exactly
        what the confirmed position needs.
        """
        long, short = self.confirmed_positions()
        for pos in (long, short):
            if pos.qty > 0 and pos.avg_price is not None:
                self.book.seed_side(pos.side, pos.qty, pos.avg_price)
        adopted = cancelled = 0
        for order in self.cache.orders_open(instrument_id=self.instrument_id, strategy_id=self.id):
            meta = meta_from_client_id(order.client_order_id) or meta_from_tags(order.tags)
            if meta is None:
                log.warning(
                    "strategy.unknown_order_cancelled",
                    client_order_id=order.client_order_id.value,
                    order_side=order.side_string(),
                    order_type=order.type_string(),
                    qty=str(order.quantity),
                )
                self.cancel_order(order)
                cancelled += 1
                continue
            self.book.track(order, meta)
            adopted += 1
        if adopted or cancelled or long.qty or short.qty:
            log.info(
                "strategy.adopted",
                orders=adopted,
                unknown_cancelled=cancelled,
                long_qty=str(long.qty),
                short_qty=str(short.qty),
            )
