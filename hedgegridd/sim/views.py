"""Account and venue views the REST layer serves (exchangeInfo, account, positionRisk...)."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hedgegridd.sim.orders import money

if TYPE_CHECKING:
    from hedgegridd.sim.exchange import SimExchange


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


def exchange_info(sim: SimExchange) -> dict[str, Any]:
    """``GET /fapi/v1/exchangeInfo`` with the spec's real-looking filters."""
    return {
        "timezone": "UTC",
        "serverTime": _wall_ms(),
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": sim.limiter.limit,
            },
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        ],
        "exchangeFilters": [],
        "assets": [
            {"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"},
        ],
        "symbols": [sim.symbol_info],
    }


def account_info(sim: SimExchange) -> dict[str, Any]:
    """``GET /fapi/v2/account``: USDT wallet and the position legs."""
    eng = sim.engine
    upnl = eng.ledger.unrealized()
    available = eng.available_balance()
    now = _wall_ms()
    pos_im = eng.ledger.position_margin()
    return {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "updateTime": now,
        "multiAssetsMargin": False,
        "totalInitialMargin": money(pos_im + eng.open_order_margin()),
        "totalMaintMargin": money(pos_im * sim.spec.margin_maint / sim.spec.margin_init),
        "totalWalletBalance": money(eng.wallet),
        "totalUnrealizedProfit": money(upnl),
        "totalMarginBalance": money(eng.wallet + upnl),
        "totalPositionInitialMargin": money(pos_im),
        "totalOpenOrderInitialMargin": money(eng.open_order_margin()),
        "totalCrossWalletBalance": money(eng.wallet),
        "totalCrossUnPnl": money(upnl),
        "availableBalance": money(available),
        "maxWithdrawAmount": money(available),
        "assets": [balance_row(eng.wallet, upnl, available, now)],
        "positions": [],
    }


def position_risk(sim: SimExchange) -> list[dict[str, Any]]:
    """``GET /fapi/v3/positionRisk``: LONG and SHORT legs (BOTH in one-way mode), at the mark.

    With hedge mode switched off by the fault while legs are open, those legs are
    still listed (Binance would not allow the switch; the sim shows the truth).
    """
    eng = sim.engine
    sides = ["LONG", "SHORT"] if eng.dual_side else ["BOTH"]
    if not eng.dual_side:
        sides += [s for s in ("LONG", "SHORT") if eng.positions[s].amt != 0]
    now = _wall_ms()
    mark = eng.mark
    out = []
    for side in sides:
        pos = eng.positions[side]
        notional = pos.amt * mark
        out.append(
            {
                "symbol": sim.spec.symbol,
                "positionSide": side,
                "positionAmt": sim.fmt.qt(pos.amt),
                "entryPrice": sim.fmt.px(pos.entry),
                "breakEvenPrice": sim.fmt.px(pos.entry),
                "markPrice": sim.fmt.px(mark),
                "unRealizedProfit": money(pos.unrealized(mark)),
                "liquidationPrice": "0",
                "isolatedMargin": "0",
                "notional": money(notional),
                "marginAsset": "USDT",
                "isolatedWallet": "0",
                "initialMargin": money(abs(notional) / Decimal(eng.leverage)),
                "maintMargin": money(abs(notional) * sim.spec.margin_maint),
                "positionInitialMargin": money(abs(notional) / Decimal(eng.leverage)),
                "openOrderInitialMargin": "0",
                "adl": 0,
                "bidNotional": "0",
                "askNotional": "0",
                "updateTime": pos.update_ms or now,
            }
        )
    return out


def symbol_config(sim: SimExchange) -> list[dict[str, Any]]:
    """``GET /fapi/v1/symbolConfig``."""
    return [
        {
            "symbol": sim.spec.symbol,
            "marginType": "CROSSED",
            "isAutoAddMargin": False,
            "leverage": sim.engine.leverage,
            "maxNotionalValue": "1000000",
        }
    ]


def commission(sim: SimExchange) -> dict[str, Any]:
    """``GET /fapi/v1/commissionRate``."""
    return {
        "symbol": sim.spec.symbol,
        "makerCommissionRate": f"{sim.spec.maker_fee:f}",
        "takerCommissionRate": f"{sim.spec.taker_fee:f}",
    }


def balance_row(wallet: Decimal, upnl: Decimal, available: Decimal, now_ms: int) -> dict[str, Any]:
    """One ``assets[]`` row of ``/fapi/v2/account`` for USDT."""
    return {
        "asset": "USDT",
        "walletBalance": money(wallet),
        "unrealizedProfit": money(upnl),
        "marginBalance": money(wallet + upnl),
        "maintMargin": money(Decimal(0)),
        "initialMargin": money(Decimal(0)),
        "positionInitialMargin": money(Decimal(0)),
        "openOrderInitialMargin": money(Decimal(0)),
        "crossWalletBalance": money(wallet),
        "crossUnPnl": money(upnl),
        "availableBalance": money(available),
        "maxWithdrawAmount": money(available),
        "marginAvailable": True,
        "updateTime": now_ms,
    }


def balances(sim: SimExchange) -> list[dict[str, Any]]:
    """``GET /fapi/v2/balance``: the account's asset rows."""
    rows: list[dict[str, Any]] = account_info(sim)["assets"]
    return rows


def depth(sim: SimExchange, params: dict[str, str]) -> dict[str, Any]:
    """``GET /fapi/v1/depth``: a synthetic book around the last price (5 per level)."""
    try:
        levels = max(1, min(int(params.get("limit") or 5), 20))
    except ValueError:
        levels = 5
    tick = sim.spec.tick_size
    eng = sim.engine
    now = _wall_ms()
    return {
        "lastUpdateId": now,
        "E": now,
        "T": now,
        "bids": [[sim.fmt.px(eng.bid - i * tick), "5.000"] for i in range(levels)],
        "asks": [[sim.fmt.px(eng.ask + i * tick), "5.000"] for i in range(levels)],
    }


def ticker_price(sim: SimExchange) -> dict[str, Any]:
    """``GET /fapi/v1/ticker/price`` (and v2)."""
    return {"symbol": sim.spec.symbol, "price": sim.fmt.px(sim.engine.price), "time": _wall_ms()}
