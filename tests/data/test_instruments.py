"""Instrument specs: Binance filters, exchangeInfo parsing, Nautilus conversion."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from hedgegridd.data.instruments import (
    BTCUSDT_PERP,
    ETHUSDT_PERP,
    InstrumentSpec,
    exchange_info_symbol,
    instrument_for,
    load_exchange_info,
    spec_from_exchange_info,
    to_nautilus_instrument,
)
from hedgegridd.errors import DataError

# A trimmed copy of a real GET /fapi/v1/exchangeInfo reply (BTCUSDT + ETHUSDT).
REAL_DOC = {
    "timezone": "UTC",
    "serverTime": 1732406400000,
    "symbols": [
        {
            "symbol": "ETHUSDT",
            "pair": "ETHUSDT",
            "contractType": "PERPETUAL",
            "status": "TRADING",
            "baseAsset": "ETH",
            "quoteAsset": "USDT",
            "marginAsset": "USDT",
            "pricePrecision": 2,
            "quantityPrecision": 3,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": "39.86",
                    "maxPrice": "306177",
                    "tickSize": "0.01",
                },
                {
                    "filterType": "LOT_SIZE",
                    "stepSize": "0.001",
                    "maxQty": "10000",
                    "minQty": "0.001",
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "stepSize": "0.001",
                    "maxQty": "2000",
                    "minQty": "0.001",
                },
                {"filterType": "MIN_NOTIONAL", "notional": "20"},
            ],
        },
        {
            "symbol": "BTCUSDT",
            "pair": "BTCUSDT",
            "contractType": "PERPETUAL",
            "status": "TRADING",
            "baseAsset": "BTC",
            "quoteAsset": "USDT",
            "marginAsset": "USDT",
            "pricePrecision": 2,
            "quantityPrecision": 3,
            "filters": [
                {
                    "filterType": "PRICE_FILTER",
                    "minPrice": "261.10",
                    "maxPrice": "809484",
                    "tickSize": "0.10",
                },
                {
                    "filterType": "LOT_SIZE",
                    "stepSize": "0.001",
                    "maxQty": "1000",
                    "minQty": "0.001",
                },
                {
                    "filterType": "MARKET_LOT_SIZE",
                    "stepSize": "0.001",
                    "maxQty": "120",
                    "minQty": "0.001",
                },
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MIN_NOTIONAL", "notional": "100"},
            ],
        },
    ],
}


def test_default_has_binance_btcusdt_filters() -> None:
    """The built-in BTCUSDT-PERP carries Binance's real tick, step, min qty and min notional."""
    assert BTCUSDT_PERP.tick_size == Decimal("0.1")
    assert BTCUSDT_PERP.step_size == Decimal("0.001")
    assert BTCUSDT_PERP.min_qty == Decimal("0.001")
    assert BTCUSDT_PERP.min_notional == Decimal("100")
    assert BTCUSDT_PERP.instrument_id == "BTCUSDT-PERP.BINANCE"
    assert BTCUSDT_PERP.bar_type() == "BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL"
    assert (BTCUSDT_PERP.price_precision, BTCUSDT_PERP.size_precision) == (1, 3)


def test_spec_from_real_exchange_info_document() -> None:
    """Parsing a real exchangeInfo document gives the default BTCUSDT spec exactly."""
    assert spec_from_exchange_info(REAL_DOC, "BTCUSDT") == BTCUSDT_PERP


def test_precision_comes_from_tick_not_price_precision_field() -> None:
    """ETHUSDT tick 0.01 gives 2 decimals; nothing is hard-coded to BTC's precision."""
    eth = spec_from_exchange_info(REAL_DOC, "ETHUSDT")
    assert (eth.price_precision, eth.size_precision) == (2, 3)
    assert eth.min_notional == Decimal("20")
    assert eth.base_asset == "ETH"


def test_exchange_info_symbol_round_trips() -> None:
    """The Binance-format entry the simulator serves parses back to the same spec."""
    doc = {"symbols": [exchange_info_symbol(BTCUSDT_PERP)]}
    assert spec_from_exchange_info(doc, "BTCUSDT") == BTCUSDT_PERP
    tick = doc["symbols"][0]["filters"][0]["tickSize"]
    assert tick == "0.10"


def test_unknown_symbol_and_missing_filter_are_data_errors() -> None:
    """A missing symbol or filter raises DataError naming what is missing."""
    with pytest.raises(DataError, match="XRPUSDT"):
        spec_from_exchange_info(REAL_DOC, "XRPUSDT")
    broken = json.loads(json.dumps(REAL_DOC))
    broken["symbols"][1]["filters"] = [
        f for f in broken["symbols"][1]["filters"] if f["filterType"] != "MIN_NOTIONAL"
    ]
    with pytest.raises(DataError, match="MIN_NOTIONAL"):
        spec_from_exchange_info(broken, "BTCUSDT")


def test_invalid_spec_values_rejected() -> None:
    """A non-positive tick is refused at construction."""
    with pytest.raises(DataError, match="tick_size"):
        InstrumentSpec(
            symbol="X",
            tick_size=Decimal(0),
            step_size=Decimal("0.001"),
            min_qty=Decimal("0.001"),
            max_qty=Decimal(1),
            market_min_qty=Decimal("0.001"),
            market_max_qty=Decimal(1),
            min_notional=Decimal(5),
        )


def test_load_exchange_info_from_file(tmp_path: Path) -> None:
    """A saved document loads from disk; garbage raises DataError."""
    path = tmp_path / "exchangeInfo.json"
    path.write_text(json.dumps(REAL_DOC))
    assert spec_from_exchange_info(load_exchange_info(path), "BTCUSDT") == BTCUSDT_PERP
    path.write_text("{not json")
    with pytest.raises(DataError, match="exchangeInfo"):
        load_exchange_info(path)


def test_to_nautilus_instrument_matches_spec() -> None:
    """The Nautilus CryptoPerpetual has the spec's increments, limits and fees."""
    inst = to_nautilus_instrument(BTCUSDT_PERP)
    assert str(inst.id) == "BTCUSDT-PERP.BINANCE"
    assert inst.price_increment.as_decimal() == Decimal("0.1")
    assert inst.size_increment.as_decimal() == Decimal("0.001")
    assert inst.min_quantity.as_decimal() == Decimal("0.001")
    assert inst.min_notional.as_decimal() == Decimal("100")
    assert inst.maker_fee == Decimal("0.0002")
    assert inst.taker_fee == Decimal("0.0005")
    assert not inst.is_inverse


def test_builtin_ethusdt_matches_the_real_document_and_lookup_by_symbol() -> None:
    """ETHUSDT_PERP equals the real exchangeInfo entry; instrument_for finds the built-ins
    and names an unknown symbol with the known ones."""
    assert spec_from_exchange_info(REAL_DOC, "ETHUSDT") == ETHUSDT_PERP
    assert instrument_for("ETHUSDT") is ETHUSDT_PERP
    assert instrument_for("BTCUSDT") is BTCUSDT_PERP
    with pytest.raises(DataError, match=r"'XRPUSDT'.*BTCUSDT, ETHUSDT"):
        instrument_for("XRPUSDT")
