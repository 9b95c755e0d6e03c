"""Typed attributes shared by the ``HedgeGridStrategy`` mixins (for the type checker).

Only annotations and ``TYPE_CHECKING`` stubs: nothing here exists at run time, so
it cannot shadow a Nautilus ``Strategy`` method in the MRO.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nautilus_trader.model.identifiers import InstrumentId, PositionId

    from hedgegridd.core.engine import Decision, GridEngine
    from hedgegridd.core.funding import FundingState
    from hedgegridd.core.regime import RegimeDetector
    from hedgegridd.core.risk import RiskGate
    from hedgegridd.core.types import InstrumentRules, Position, Side
    from hedgegridd.params import StrategyParams
    from hedgegridd.strategy.book import Book
    from hedgegridd.strategy.closer import Closer
    from hedgegridd.strategy.config import HedgeGridConfig
    from hedgegridd.strategy.handle import TradingState
    from hedgegridd.strategy.orders import OrderBuilder
    from hedgegridd.strategy.warmup import WarmupData


class StrategyAttrs:
    """State of ``HedgeGridStrategy`` as seen by its mixins."""

    cfg: HedgeGridConfig
    instrument_id: InstrumentId
    long_pid: PositionId
    short_pid: PositionId
    trading_state: TradingState
    start_failure: str | None
    degraded_reason: str | None
    halted_reason: str | None
    params: StrategyParams | None
    rules: InstrumentRules | None
    grid: GridEngine | None
    regime: RegimeDetector | None
    risk: RiskGate | None
    builder: OrderBuilder | None
    book: Book
    center: Decimal | None
    last_price: Decimal | None
    last_bar_ns: int | None
    funding: FundingState | None
    throttle: Decimal
    bars: int
    bar_gaps: int
    errors: int
    gate_denials: dict[str, int]
    closer: Closer
    frozen_pauses: set[str]
    last_decision: Decision | None
    equity: Decimal | None

    bar_type: Any
    _warmup: WarmupData | None
    _last_persisted_pnl: Decimal | None

    if TYPE_CHECKING:
        cache: Any
        clock: Any
        oms_type: Any
        is_degraded: bool
        order_factory: Any
        id: Any

        def subscribe_bars(self, bar_type: Any) -> None: ...

        def subscribe_funding_rates(self, instrument_id: Any) -> None: ...

        def subscribe_data(self, data_type: Any, instrument_id: Any = None) -> None: ...

        def subscribe_quote_ticks(self, instrument_id: Any) -> None: ...

        def state_now(self) -> TradingState: ...

        def set_throttle(self, value: Decimal) -> None: ...

        def cancel_order(self, order: Any) -> None: ...

        def confirmed_positions(self) -> tuple[Position, Position]: ...

        def current_equity(self) -> Decimal | None: ...

        def _sync(self, source: str, *, entries: bool = True) -> None: ...

        def _sync_guarded(self, source: str) -> None: ...

        def _enter_degraded(self, where: str, exc: BaseException) -> None: ...

        def _alert(self, kind: str, details: dict[str, str]) -> None: ...

        def _poll_breaker(self) -> None: ...

        def _send_close(self, side: Side, qty: Decimal) -> Decimal: ...

        def _cancel_id(self, order_id: str) -> bool: ...

        def _cancel_kind(self, *, entries: bool, exits: bool, side: Side | None = None) -> int: ...

        def pause_reasons_now(self) -> tuple[str, ...]: ...
