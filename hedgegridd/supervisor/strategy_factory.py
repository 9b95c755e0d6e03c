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
    return strategy
