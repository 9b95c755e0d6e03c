"""The default strategy factory: ``HedgeGridStrategy`` from settings, warmup and state."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hedgegridd.errors import ConfigError
from hedgegridd.supervisor.inputs import StrategyInputs
from hedgegridd.venues.config import Mode

if TYPE_CHECKING:
    from nautilus_trader.trading.strategy import Strategy


def build_hedgegrid_strategy(inputs: StrategyInputs) -> Strategy:
    """Build ``HedgeGridStrategy`` for the configured instrument (live funding feed)."""
    from hedgegridd.params import default_strategy_params, load_strategy_params
    from hedgegridd.strategy.config import HedgeGridConfig

    settings = inputs.settings
    params = (
        load_strategy_params(settings.strategy.params_file)
        if settings.strategy.params_file is not None
        else default_strategy_params()
    )
    venue = settings.venue
    bar_type = f"{venue.instrument_id}-{venue.bar_interval_minutes}-MINUTE-LAST-EXTERNAL"
    config = HedgeGridConfig.create(
        params,
        instrument_id=venue.instrument_id,
        bar_type=bar_type,
        stop_policy=settings.lifecycle.stop_policy,
        funding_source="binance_mark_price",
        subscribe_quotes=settings.mode is Mode.PAPER,  # the sandbox fills on quotes/trades
    )
    try:
        module: Any = importlib.import_module("hedgegridd.strategy.strategy")
    except ModuleNotFoundError as exc:
        raise ConfigError("the HedgeGridStrategy adapter is not installed") from exc
    strategy: Strategy = module.HedgeGridStrategy(config)
    prime = getattr(strategy, "prime", None)
    if callable(prime):
        prime(warmup_data(inputs))
    return strategy


def warmup_data(inputs: StrategyInputs) -> Any:
    """``hedgegridd.strategy.warmup.WarmupData`` from the warmup result and restored state."""
    from hedgegridd.strategy.warmup import HistoryBar, WarmupData

    warm, restored = inputs.warmup, inputs.restored
    return WarmupData(
        bars=tuple(
            HistoryBar(
                close_ns=(bar.close_time_ms + 1) * 1_000_000,  # stamped at the bar's close
                high=bar.high,
                low=bar.low,
                close=bar.close,
            )
            for bar in warm.bars
        ),
        funding_rate=warm.funding_rate,
        next_funding_ns=None if warm.next_funding_ms is None else warm.next_funding_ms * 1_000_000,
        peak_equity=restored.peak_equity,
        realized_pnl=restored.realized_pnl,
        throttle=restored.throttle,
        pause_reasons=(("operator",) if restored.paused else ())
        + ((restored.flatten_pause,) if restored.flatten_pause else ()),
        halted_reason=None if restored.latch is None else restored.latch.reason,
    )
