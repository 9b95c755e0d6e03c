"""Wiring of a Nautilus ``BacktestEngine`` for a Binance USD-M hedge-mode venue.

One place decides how the simulated venue looks: HEDGING OMS, MARGIN account,
``use_reduce_only=False`` (Nautilus would otherwise resize every reduce-only exit
to the whole position after each fill and reject exits when flat; our exits are
sized within the confirmed position by the exits planner instead, see
``hedgegridd.strategy.orders``), maker/taker fees from the instrument, a latency
model and a seeded fill model. The runner, the tests and the benchmark all use it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from nautilus_trader.backtest.config import BacktestEngineConfig
from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.backtest.models import FillModel, LatencyModel, MakerTakerFeeModel
from nautilus_trader.backtest.modules import SimulationModule
from nautilus_trader.config import ExecEngineConfig, LoggingConfig, RiskEngineConfig
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType
from nautilus_trader.model.identifiers import TraderId, Venue
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Money

VENUE = Venue("BINANCE")


@dataclass(frozen=True, slots=True)
class VenueModel:
    """How the simulated venue fills and charges (validated upstream by BacktestConfig)."""

    starting_balance: Decimal = Decimal(10_000)
    leverage: Decimal = Decimal(5)
    latency_ms: int = 50
    prob_fill_on_limit: float = 1.0
    prob_slippage: float = 0.0
    seed: int = 42


def create_engine(
    *,
    log_level: str = "ERROR",
    trader_id: str = "BACKTESTER-001",
    purge_closed_orders_mins: int | None = None,
) -> BacktestEngine:
    """A quiet engine (Nautilus' own logging off unless asked) without post-run analysis logs.

    ``purge_closed_orders_mins`` makes the engine drop orders closed for that long from
    its cache every that many minutes (bench experiment; reports need every order).
    """
    exec_engine = ExecEngineConfig(
        purge_closed_orders_interval_mins=purge_closed_orders_mins,
        purge_closed_orders_buffer_mins=purge_closed_orders_mins,
    )
    config = BacktestEngineConfig(
        trader_id=TraderId(trader_id),
        logging=LoggingConfig(log_level=log_level, bypass_logging=log_level == "OFF"),
        risk_engine=RiskEngineConfig(bypass=False),
        exec_engine=exec_engine,
        run_analysis=False,
    )
    return BacktestEngine(config=config)


def add_hedging_venue(
    engine: BacktestEngine,
    instrument: Instrument,
    model: VenueModel,
    modules: Sequence[SimulationModule] = (),
) -> None:
    """Add the BINANCE venue: HEDGING + MARGIN, reduce-only not enforced, fees/latency/fills."""
    latency_ns = model.latency_ms * 1_000_000
    engine.add_venue(
        venue=VENUE,
        oms_type=OmsType.HEDGING,
        account_type=AccountType.MARGIN,
        base_currency=USDT,
        starting_balances=[Money(model.starting_balance, USDT)],
        default_leverage=model.leverage,
        modules=list(modules),
        fill_model=FillModel(
            prob_fill_on_limit=model.prob_fill_on_limit,
            prob_slippage=model.prob_slippage,
            random_seed=model.seed,
        ),
        fee_model=MakerTakerFeeModel(),
        latency_model=LatencyModel(base_latency_nanos=latency_ns),
        use_reduce_only=False,
        bar_execution=True,
    )
    engine.add_instrument(instrument)


def bars_from_arrays(
    bar_type: BarType,
    instrument: Instrument,
    opens: Sequence[float],
    highs: Sequence[float],
    lows: Sequence[float],
    closes: Sequence[float],
    volumes: Sequence[float],
    close_times_ns: Sequence[int],
) -> list[Bar]:
    """Build Nautilus bars stamped at their close (ts_event = ts_init = close time)."""
    import numpy as np

    ts = np.array(close_times_ns, dtype=np.uint64, copy=True)
    bars: list[Bar] = Bar.from_raw_arrays_to_list(
        bar_type,
        instrument.price_precision,
        instrument.size_precision,
        np.array(opens, dtype=np.float64, copy=True),
        np.array(highs, dtype=np.float64, copy=True),
        np.array(lows, dtype=np.float64, copy=True),
        np.array(closes, dtype=np.float64, copy=True),
        np.array(volumes, dtype=np.float64, copy=True),
        ts,
        ts,
    )
    return bars
