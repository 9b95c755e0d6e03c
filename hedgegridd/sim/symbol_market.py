"""``SymbolMarket``: everything the simulator keeps per symbol.

One symbol's instrument spec and the rules/filters served for it, its price path
and funding rates, its ``MatchingEngine`` (orders, algo orders, legs on the shared
account), its ``MarketTicker`` (clock walker and market streams) and its
``MarketDirector``/``PriceShaper`` (jumps, scenarios). The account, the venue lock,
the stream hub and the clock are shared by every symbol and passed in.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from hedgegridd.data.instruments import InstrumentSpec, exchange_info_symbol
from hedgegridd.sim.account import Account
from hedgegridd.sim.clock import SimClock
from hedgegridd.sim.config import SimConfig
from hedgegridd.sim.director import MarketDirector
from hedgegridd.sim.engine import MatchingEngine
from hedgegridd.sim.faults import Faults
from hedgegridd.sim.market import MarketData, PricePath, data_from_catalog, data_from_synthetic
from hedgegridd.sim.orders import Formats
from hedgegridd.sim.rules import SymbolRules
from hedgegridd.sim.shaper import PriceShaper
from hedgegridd.sim.streams import StreamHub
from hedgegridd.sim.ticker import MarketTicker
from hedgegridd.sim.venue import Venue


def _str_decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


def rules_for(spec: InstrumentSpec) -> SymbolRules:
    """The filters and fees the engine enforces for ``spec``."""
    return SymbolRules(
        symbol=spec.symbol,
        tick=spec.tick_size,
        step=spec.step_size,
        min_qty=spec.min_qty,
        max_qty=spec.max_qty,
        market_max_qty=spec.market_max_qty,
        min_notional=spec.min_notional,
        maker_fee=spec.maker_fee,
        taker_fee=spec.taker_fee,
        maint_margin=spec.margin_maint,
    )


class SymbolMarket:
    """One symbol of the simulator: spec, rules, path, engine, ticker, director, funding.

    ``path``, ``engine`` and ``ticker`` exist once ``build`` ran (at construction of
    the exchange for explicit bars, in ``SimExchange.start`` for synthetic or
    catalog data); ``built`` tells.
    """

    def __init__(self, spec: InstrumentSpec, venue: Venue) -> None:
        self.symbol = spec.symbol
        self.spec = spec
        self.symbol_info: dict[str, Any] = exchange_info_symbol(spec)
        filters = {f["filterType"]: f for f in self.symbol_info["filters"]}
        self.fmt = Formats(
            price=_str_decimals(filters["PRICE_FILTER"]["tickSize"]),
            qty=_str_decimals(filters["LOT_SIZE"]["stepSize"]),
        )
        self.rules = rules_for(spec)
        self.venue = venue
        self.director = MarketDirector(
            lambda: self.engine, lambda: venue, lambda: self.ticker, spec.tick_size, spec.symbol
        )
        self.shaper: PriceShaper = self.director.shaper
        self.funding_rates: list[Decimal] = []
        self.history_bars = 0
        self.path: PricePath
        self.engine: MatchingEngine
        self.ticker: MarketTicker

    @property
    def built(self) -> bool:
        """Whether the path, engine and ticker exist."""
        return hasattr(self, "ticker")

    def load(self, config: SimConfig) -> MarketData:
        """Synthetic (seeded per symbol) or catalog data (blocking: run it in a thread)."""
        total = config.minutes + config.history_bars
        if config.catalog is not None:
            return data_from_catalog(Path(config.catalog), self.spec, total)
        return data_from_synthetic(
            config.symbol_seed(self.symbol),
            total,
            config.symbol_start_price(self.symbol),
            self.spec,
        )

    def build(
        self,
        data: MarketData,
        *,
        history: int,
        account: Account,
        engines: dict[str, MatchingEngine],
        hub: StreamHub,
        faults: Faults,
        clock: SimClock,
        config: SimConfig,
    ) -> None:
        """Price path, matching engine (registered on the account) and ticker."""
        self.path = PricePath(data.bars, self.spec.tick_size)
        self.funding_rates = data.funding_rates
        # The first bars are history (closed klines on REST before the clock starts).
        self.history_bars = min(history, len(self.path) - 1)
        first = self.path.points(self.path.bar(self.history_bars), config.steps_per_bar)
        self.engine = MatchingEngine(
            self.rules, self.fmt, account=account, leverage=config.leverage, price=first[0]
        )
        engines[self.symbol] = self.engine
        self.ticker = MarketTicker(
            self,
            clock=clock,
            venue=self.venue,
            hub=hub,
            faults=faults,
            config=config,
            fire_due=self.director.fire_due,
        )
