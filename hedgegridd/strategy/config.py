"""``HedgeGridConfig``: the frozen Nautilus strategy config.

The grid parameters travel as validated-then-serialized ``StrategyParams`` JSON
(``params_json``), so the config stays a plain msgspec struct that Nautilus can
hash and copy; ``HedgeGridConfig.create(params, ...)`` builds one from a
``StrategyParams`` and the strategy re-validates it on start (fail closed).

Stop policy (what ``on_stop`` does with resting orders; positions are never
closed by a stop, that is what ``flatten`` is for):

- ``cancel_entries`` (default): cancel entry orders, keep TP/SL resting so the
  open positions stay protected while the process is down.
- ``cancel_all``: cancel entries and exits (positions left unprotected; only for
  controlled shutdowns where the operator takes over).
- ``keep_all``: leave every order resting (e.g. a quick restart).
"""

from __future__ import annotations

from typing import Literal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.identifiers import InstrumentId

from hedgegridd.params import StrategyParams

StopPolicy = Literal["cancel_entries", "cancel_all", "keep_all"]
FundingSource = Literal["funding_rates", "binance_mark_price", "none"]
STOP_POLICIES: tuple[str, ...] = ("cancel_entries", "cancel_all", "keep_all")
FUNDING_SOURCES: tuple[str, ...] = ("funding_rates", "binance_mark_price", "none")


class HedgeGridConfig(StrategyConfig, frozen=True, kw_only=True):
    """Frozen configuration of ``HedgeGridStrategy``.

    ``venue_oms_type`` is what the node's venue/exec client is configured with
    (backtest venue, Binance exec client in hedge mode); the strategy refuses to
    start unless it is HEDGING. ``funding_source`` selects the funding feed:
    ``funding_rates`` (``FundingRateUpdate``, backtests), ``binance_mark_price``
    (``BinanceFuturesMarkPriceUpdate``, live) or ``none``. ``exit_contingency``:
    ``OUO`` links a TP and SL placed together (the simulated venue shrinks/cancels
    the twin in the same matching step), ``NONE`` sends them unlinked (the exits
    planner's quantity rule and the exchange's hedge-mode caps still apply).
    """

    instrument_id: str
    bar_type: str
    params_json: str
    stop_policy: str = "cancel_entries"
    funding_source: str = "funding_rates"
    venue_oms_type: str = "HEDGING"
    subscribe_quotes: bool = False
    funding_interval_minutes: int = 480
    exit_contingency: str = "OUO"

    @classmethod
    def create(
        cls,
        params: StrategyParams,
        *,
        instrument_id: str,
        bar_type: str,
        stop_policy: StopPolicy = "cancel_entries",
        funding_source: FundingSource = "funding_rates",
        venue_oms_type: str = "HEDGING",
        subscribe_quotes: bool = False,
        exit_contingency: str = "OUO",
        order_id_tag: str = "001",
        strategy_id: str | None = None,
    ) -> HedgeGridConfig:
        """Config from validated parameters (the usual way to build one)."""
        return cls(
            instrument_id=instrument_id,
            bar_type=bar_type,
            params_json=params.model_dump_json(),
            stop_policy=stop_policy,
            funding_source=funding_source,
            venue_oms_type=venue_oms_type,
            subscribe_quotes=subscribe_quotes,
            exit_contingency=exit_contingency,
            order_id_tag=order_id_tag,
            strategy_id=strategy_id,
            oms_type="HEDGING",
            external_order_claims=[InstrumentId.from_str(instrument_id)],
            log_events=False,  # our own structured events; Nautilus' per-event lines cost CPU
            log_commands=False,
        )
