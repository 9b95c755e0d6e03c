"""Instrument definitions: Binance USD-M perpetual filters as a plain frozen dataclass.

``InstrumentSpec`` is the one place tick, step, min/max quantity and min notional
live for data, backtest and simulator code; nothing downstream hard-codes them.

- ``BTCUSDT_PERP``: the built-in default with Binance's real BTCUSDT filters
  (tick 0.10, step 0.001, min qty 0.001, max qty 1000, market max qty 120,
  min notional 100 USDT; VIP0 fees maker 0.02 %, taker 0.05 %).
- ``ETHUSDT_PERP``: Binance's ETHUSDT filters (tick 0.01, step 0.001, min qty
  0.001, max qty 10000, market max qty 2000, min notional 20 USDT; VIP0 fees).
- ``instrument_for(symbol)`` / ``BUILTIN_INSTRUMENTS``: the built-in specs by symbol
  (``DataError`` naming the symbol and the known ones when there is none).
- ``spec_from_exchange_info(doc, symbol)``: build a spec from a saved
  ``GET /fapi/v1/exchangeInfo`` JSON document (raises ``DataError`` naming the
  symbol and the missing/invalid filter).
- ``load_exchange_info(path)``: read such a document from disk.
- ``exchange_info_symbol(spec)``: the inverse, a Binance-format ``symbols[]``
  entry (the simulator serves it; round-trips through ``spec_from_exchange_info``).
- ``to_nautilus_instrument(spec)``: a Nautilus ``CryptoPerpetual`` with
  ``InstrumentId`` "BTCUSDT-PERP.BINANCE" (imported lazily: this module does not
  import nautilus_trader at import time).

Precisions are derived from the tick and step decimals (like the Nautilus Binance
adapter), not from Binance's ``pricePrecision`` field (2 for BTCUSDT while the tick
is 0.10): a price with more decimals than the tick is invalid on the venue.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hedgegridd.errors import DataError

if TYPE_CHECKING:
    from nautilus_trader.model.instruments import CryptoPerpetual

VENUE = "BINANCE"
DEFAULT_MAKER_FEE = Decimal("0.0002")
DEFAULT_TAKER_FEE = Decimal("0.0005")
# Backtest margins: 20x initial (5 %), first-tier maintenance 0.4 % (BTCUSDT bracket 1).
DEFAULT_MARGIN_INIT = Decimal("0.05")
DEFAULT_MARGIN_MAINT = Decimal("0.004")


def decimals_of(value: Decimal) -> int:
    """Number of decimals a tick/step needs (``0.10`` -> 1, ``0.001`` -> 3, ``1`` -> 0)."""
    exponent = value.normalize().as_tuple().exponent
    assert isinstance(exponent, int)
    return max(0, -exponent)


@dataclass(frozen=True, slots=True)
class InstrumentSpec:
    """Trading rules of one USD-M perpetual (all Decimal, from the venue's filters)."""

    symbol: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_min_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    base_asset: str = "BTC"
    quote_asset: str = "USDT"
    margin_asset: str = "USDT"
    min_price: Decimal = Decimal("0")
    max_price: Decimal = Decimal("0")
    maker_fee: Decimal = DEFAULT_MAKER_FEE
    taker_fee: Decimal = DEFAULT_TAKER_FEE
    margin_init: Decimal = DEFAULT_MARGIN_INIT
    margin_maint: Decimal = DEFAULT_MARGIN_MAINT

    def __post_init__(self) -> None:
        for name in ("tick_size", "step_size", "min_qty", "max_qty", "min_notional"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                raise DataError(f"{self.symbol}: {name} must be a positive Decimal, got {value!r}")
        if self.min_qty > self.max_qty:
            raise DataError(f"{self.symbol}: min_qty {self.min_qty} > max_qty {self.max_qty}")

    @property
    def instrument_id(self) -> str:
        """Nautilus instrument id string, e.g. ``BTCUSDT-PERP.BINANCE``."""
        return f"{self.symbol}-PERP.{VENUE}"

    @property
    def price_precision(self) -> int:
        """Decimals of a valid price (from the tick size)."""
        return decimals_of(self.tick_size)

    @property
    def size_precision(self) -> int:
        """Decimals of a valid quantity (from the step size)."""
        return decimals_of(self.step_size)

    def bar_type(self, step_minutes: int = 1) -> str:
        """Bar type string the strategy subscribes to (``...-1-MINUTE-LAST-EXTERNAL``)."""
        return f"{self.instrument_id}-{step_minutes}-MINUTE-LAST-EXTERNAL"


BTCUSDT_PERP = InstrumentSpec(
    symbol="BTCUSDT",
    tick_size=Decimal("0.10"),
    step_size=Decimal("0.001"),
    min_qty=Decimal("0.001"),
    max_qty=Decimal("1000"),
    market_min_qty=Decimal("0.001"),
    market_max_qty=Decimal("120"),
    min_notional=Decimal("100"),
    min_price=Decimal("261.10"),
    max_price=Decimal("809484"),
)

ETHUSDT_PERP = InstrumentSpec(
    symbol="ETHUSDT",
    tick_size=Decimal("0.01"),
    step_size=Decimal("0.001"),
    min_qty=Decimal("0.001"),
    max_qty=Decimal("10000"),
    market_min_qty=Decimal("0.001"),
    market_max_qty=Decimal("2000"),
    min_notional=Decimal("20"),
    base_asset="ETH",
    min_price=Decimal("39.86"),
    max_price=Decimal("306177"),
)

BUILTIN_INSTRUMENTS: dict[str, InstrumentSpec] = {
    spec.symbol: spec for spec in (BTCUSDT_PERP, ETHUSDT_PERP)
}


def instrument_for(symbol: str) -> InstrumentSpec:
    """The built-in spec of ``symbol`` (``DataError`` naming it and the known symbols)."""
    spec = BUILTIN_INSTRUMENTS.get(symbol)
    if spec is None:
        known = ", ".join(BUILTIN_INSTRUMENTS)
        raise DataError(f"no built-in instrument {symbol!r} (known: {known})")
    return spec


def _dec(raw: Any, symbol: str, field: str) -> Decimal:
    try:
        value = Decimal(str(raw))
    except (InvalidOperation, ValueError) as exc:
        raise DataError(f"exchangeInfo {symbol}: {field} is not a number: {raw!r}") from exc
    if not value.is_finite():
        raise DataError(f"exchangeInfo {symbol}: {field} is not finite: {raw!r}")
    return value


def spec_from_exchange_info(
    doc: dict[str, Any],
    symbol: str,
    *,
    maker_fee: Decimal = DEFAULT_MAKER_FEE,
    taker_fee: Decimal = DEFAULT_TAKER_FEE,
) -> InstrumentSpec:
    """Build an ``InstrumentSpec`` for ``symbol`` from an exchangeInfo document.

    Fees are not part of exchangeInfo (they come from the account's commission
    rate); pass them explicitly or get Binance's VIP0 defaults.
    """
    symbols = doc.get("symbols")
    if not isinstance(symbols, list):
        raise DataError("exchangeInfo: no 'symbols' list in the document")
    entry = next((s for s in symbols if isinstance(s, dict) and s.get("symbol") == symbol), None)
    if entry is None:
        raise DataError(f"exchangeInfo: symbol {symbol!r} not found")
    contract = entry.get("contractType", "PERPETUAL")
    if contract not in ("PERPETUAL", "TRADIFI_PERPETUAL"):
        raise DataError(f"exchangeInfo {symbol}: contractType {contract!r} is not a perpetual")
    filters = {f.get("filterType"): f for f in entry.get("filters", []) if isinstance(f, dict)}

    def need(ftype: str, key: str) -> Decimal:
        flt = filters.get(ftype)
        if flt is None or key not in flt:
            raise DataError(f"exchangeInfo {symbol}: filter {ftype}.{key} missing")
        return _dec(flt[key], symbol, f"{ftype}.{key}")

    lot_step = need("LOT_SIZE", "stepSize")
    market = filters.get("MARKET_LOT_SIZE")
    return InstrumentSpec(
        symbol=symbol,
        tick_size=need("PRICE_FILTER", "tickSize"),
        step_size=lot_step,
        min_qty=need("LOT_SIZE", "minQty"),
        max_qty=need("LOT_SIZE", "maxQty"),
        market_min_qty=(
            need("MARKET_LOT_SIZE", "minQty") if market else need("LOT_SIZE", "minQty")
        ),
        market_max_qty=(
            need("MARKET_LOT_SIZE", "maxQty") if market else need("LOT_SIZE", "maxQty")
        ),
        min_notional=need("MIN_NOTIONAL", "notional"),
        base_asset=str(entry.get("baseAsset", "")),
        quote_asset=str(entry.get("quoteAsset", "")),
        margin_asset=str(entry.get("marginAsset", entry.get("quoteAsset", ""))),
        min_price=need("PRICE_FILTER", "minPrice"),
        max_price=need("PRICE_FILTER", "maxPrice"),
        maker_fee=maker_fee,
        taker_fee=taker_fee,
    )


def load_exchange_info(path: str | Path) -> dict[str, Any]:
    """Read a saved exchangeInfo JSON document (``DataError`` if unreadable)."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"cannot read exchangeInfo document {path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise DataError(f"exchangeInfo document {path} is not a JSON object")
    return doc


def _fmt(value: Decimal, decimals: int) -> str:
    return f"{value:.{decimals}f}"


def exchange_info_symbol(spec: InstrumentSpec) -> dict[str, Any]:
    """Binance-format ``exchangeInfo.symbols[]`` entry for ``spec`` (strings, as Binance sends)."""
    pp, sp = spec.price_precision, spec.size_precision
    return {
        "symbol": spec.symbol,
        "pair": spec.symbol,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": spec.base_asset,
        "quoteAsset": spec.quote_asset,
        "marginAsset": spec.margin_asset,
        "pricePrecision": max(pp, 2),
        "quantityPrecision": sp,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012500",
        "marketTakeBound": "0.05",
        "maxMoveOrderLimit": 10000,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": _fmt(spec.min_price, max(pp, 2)),
                "maxPrice": _fmt(spec.max_price, 0) if spec.max_price else "0",
                "tickSize": _fmt(spec.tick_size, max(pp, 2)),
            },
            {
                "filterType": "LOT_SIZE",
                "stepSize": _fmt(spec.step_size, sp),
                "maxQty": _fmt(spec.max_qty, 0),
                "minQty": _fmt(spec.min_qty, sp),
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "stepSize": _fmt(spec.step_size, sp),
                "maxQty": _fmt(spec.market_max_qty, 0),
                "minQty": _fmt(spec.market_min_qty, sp),
            },
            {"filterType": "MAX_NUM_ORDERS", "limit": 200},
            {"filterType": "MAX_NUM_ALGO_ORDERS", "limit": 10},
            {"filterType": "MIN_NOTIONAL", "notional": _fmt(spec.min_notional, 0)},
            {
                "filterType": "PERCENT_PRICE",
                "multiplierUp": "1.0500",
                "multiplierDown": "0.9500",
                "multiplierDecimal": "4",
            },
        ],
        "orderTypes": [
            "LIMIT",
            "MARKET",
            "STOP",
            "STOP_MARKET",
            "TAKE_PROFIT",
            "TAKE_PROFIT_MARKET",
            "TRAILING_STOP_MARKET",
        ],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
        "permissionSets": ["GRID", "COPY"],
    }


def to_nautilus_instrument(spec: InstrumentSpec, *, ts_ns: int = 0) -> CryptoPerpetual:
    """The Nautilus ``CryptoPerpetual`` for ``spec`` (linear, settled in the margin asset)."""
    from nautilus_trader.model.identifiers import InstrumentId, Symbol
    from nautilus_trader.model.instruments import CryptoPerpetual
    from nautilus_trader.model.objects import Currency, Money, Price, Quantity

    pp, sp = spec.price_precision, spec.size_precision
    base = Currency.from_str(spec.base_asset)
    quote = Currency.from_str(spec.quote_asset)
    settlement = Currency.from_str(spec.margin_asset)
    return CryptoPerpetual(
        instrument_id=InstrumentId.from_str(spec.instrument_id),
        raw_symbol=Symbol(spec.symbol),
        base_currency=base,
        quote_currency=quote,
        settlement_currency=settlement,
        is_inverse=False,
        price_precision=pp,
        size_precision=sp,
        price_increment=Price(spec.tick_size, pp),
        size_increment=Quantity(spec.step_size, sp),
        max_quantity=Quantity(spec.max_qty, sp),
        min_quantity=Quantity(spec.min_qty, sp),
        min_notional=Money(spec.min_notional, quote),
        max_price=Price(spec.max_price, pp) if spec.max_price > 0 else None,
        min_price=Price(spec.min_price, pp) if spec.min_price > 0 else None,
        margin_init=spec.margin_init,
        margin_maint=spec.margin_maint,
        maker_fee=spec.maker_fee,
        taker_fee=spec.taker_fee,
        ts_event=ts_ns,
        ts_init=ts_ns,
    )
