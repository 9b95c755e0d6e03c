"""Account endpoints (USD-M Futures "Account" and position REST API), over every symbol.

One USDT wallet, cross margin, every symbol of the account: ``v2|v3/account``,
``v2|v3/balance``, ``v2|v3/positionRisk`` (each in its own documented layout),
``symbolConfig``, ``leverageBracket``, ``commissionRate`` and ``income`` (the
settings are ``account_settings``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hedgegridd.sim.market_views import wall_ms
from hedgegridd.sim.orders import SimPosition, VenueError, money
from hedgegridd.sim.rules import param_int
from hedgegridd.sim.symbols import market_of, markets_for, markets_of

if TYPE_CHECKING:
    from hedgegridd.sim.host import SimHost as SimExchange
    from hedgegridd.sim.symbols import Market

MAX_NOTIONAL = 1_000_000_000  # one leverage bracket: the sim has no notional tiers
MAX_LEVERAGE = 125
INCOME_TYPES = frozenset(
    {
        "TRANSFER",
        "WELCOME_BONUS",
        "REALIZED_PNL",
        "FUNDING_FEE",
        "COMMISSION",
        "INSURANCE_CLEAR",
        "REFERRAL_KICKBACK",
        "COMMISSION_REBATE",
        "API_REBATE",
        "CONTEST_REWARD",
        "CROSS_COLLATERAL_TRANSFER",
        "OPTIONS_PREMIUM_FEE",
        "OPTIONS_SETTLE_PROFIT",
        "INTERNAL_TRANSFER",
        "AUTO_EXCHANGE",
        "DELIVERED_SETTELMENT",
        "COIN_SWAP_DEPOSIT",
        "COIN_SWAP_WITHDRAW",
        "POSITION_LIMIT_INCREASE_FEE",
        "STRATEGY_UMFUTURES_TRANSFER",
        "FEE_RETURN",
        "BFUSD_REWARD",
    }
)
SEVEN_DAYS_MS = 7 * 86_400_000


@dataclass(frozen=True, slots=True)
class Totals:
    """The account's USDT figures, over every symbol."""

    wallet: Decimal
    upnl: Decimal
    position_im: Decimal
    order_im: Decimal
    maint: Decimal

    @property
    def available(self) -> Decimal:
        """Wallet + unrealized - initial margins."""
        return self.wallet + self.upnl - self.position_im - self.order_im


def dual_side(sim: SimExchange) -> bool:
    """Whether the account is in hedge mode."""
    return sim.account.dual_side


def totals(sim: SimExchange) -> Totals:
    """Wallet, unrealized PnL and margins of the account (every symbol)."""
    account = sim.account
    return Totals(
        account.wallet,
        account.unrealized(),
        account.position_margin(),
        account.open_order_margin(),
        account.maint_margin(),
    )


def _legs(sim: SimExchange, market: Market) -> list[SimPosition]:
    """The legs Binance lists: LONG and SHORT in hedge mode, BOTH in one-way mode.

    Legs left open on the other side of a mode switch (the hedge-mode fault) are
    listed too (Binance would not allow the switch; the sim shows the truth).
    """
    positions = market.engine.positions
    hedge = dual_side(sim)
    sides = ["LONG", "SHORT"] if hedge else ["BOTH"]
    others = ["BOTH"] if hedge else ["LONG", "SHORT"]
    sides += [s for s in others if positions[s].amt != 0]
    return [positions[s] for s in sides]


def _active(market: Market) -> bool:
    """Whether the symbol has a position or open orders (v3 lists only those)."""
    eng = market.engine
    return any(p.amt != 0 for p in eng.positions.values()) or bool(eng.open_orders())


def _leg_figures(market: Market, pos: SimPosition) -> dict[str, Decimal]:
    eng = market.engine
    notional = pos.amt * eng.mark
    return {
        "notional": notional,
        "im": abs(notional) / Decimal(eng.leverage),
        "maint": abs(notional) * market.spec.margin_maint,
        "upnl": pos.unrealized(eng.mark),
    }


def _asset_row(t: Totals, *, v2: bool) -> dict[str, Any]:
    row: dict[str, Any] = {
        "asset": "USDT",
        "walletBalance": money(t.wallet),
        "unrealizedProfit": money(t.upnl),
        "marginBalance": money(t.wallet + t.upnl),
        "maintMargin": money(t.maint),
        "initialMargin": money(t.position_im + t.order_im),
        "positionInitialMargin": money(t.position_im),
        "openOrderInitialMargin": money(t.order_im),
        "crossWalletBalance": money(t.wallet),
        "crossUnPnl": money(t.upnl),
        "availableBalance": money(t.available),
        "maxWithdrawAmount": money(max(t.available, Decimal(0))),
        "updateTime": wall_ms(),
    }
    if v2:
        row["marginAvailable"] = True
    return row


def _account_totals(t: Totals) -> dict[str, Any]:
    return {
        "totalInitialMargin": money(t.position_im + t.order_im),
        "totalMaintMargin": money(t.maint),
        "totalWalletBalance": money(t.wallet),
        "totalUnrealizedProfit": money(t.upnl),
        "totalMarginBalance": money(t.wallet + t.upnl),
        "totalPositionInitialMargin": money(t.position_im),
        "totalOpenOrderInitialMargin": money(t.order_im),
        "totalCrossWalletBalance": money(t.wallet),
        "totalCrossUnPnl": money(t.upnl),
        "availableBalance": money(t.available),
        "maxWithdrawAmount": money(max(t.available, Decimal(0))),
    }


def account_v2(sim: SimExchange, _p: dict[str, str]) -> dict[str, Any]:
    """``GET /fapi/v2/account``: every symbol's legs, v2 fields."""
    t = totals(sim)
    positions = []
    for m in markets_of(sim):
        order_im = m.engine.open_order_margin()
        for pos in _legs(sim, m):
            f = _leg_figures(m, pos)
            positions.append(
                {
                    "symbol": m.symbol,
                    "initialMargin": money(f["im"] + order_im),
                    "maintMargin": money(f["maint"]),
                    "unrealizedProfit": money(f["upnl"]),
                    "positionInitialMargin": money(f["im"]),
                    "openOrderInitialMargin": money(order_im),
                    "leverage": str(m.engine.leverage),
                    "isolated": False,
                    "entryPrice": m.fmt.px(pos.entry),
                    "breakEvenPrice": m.fmt.px(pos.entry),
                    "maxNotional": str(MAX_NOTIONAL),
                    "bidNotional": "0",
                    "askNotional": "0",
                    "positionSide": pos.side,
                    "positionAmt": m.fmt.qt(pos.amt),
                    "updateTime": pos.update_ms,
                }
            )
    return {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
        **_account_totals(t),
        "assets": [_asset_row(t, v2=True)],
        "positions": positions,
    }


def account_v3(sim: SimExchange, _p: dict[str, str]) -> dict[str, Any]:
    """``GET /fapi/v3/account``: legs of the symbols with a position or open orders."""
    t = totals(sim)
    positions = []
    for m in markets_of(sim):
        if not _active(m):
            continue
        for pos in _legs(sim, m):
            f = _leg_figures(m, pos)
            positions.append(
                {
                    "symbol": m.symbol,
                    "positionSide": pos.side,
                    "positionAmt": m.fmt.qt(pos.amt),
                    "unrealizedProfit": money(f["upnl"]),
                    "isolatedMargin": money(Decimal(0)),
                    "notional": money(f["notional"]),
                    "isolatedWallet": "0",
                    "initialMargin": money(f["im"]),
                    "maintMargin": money(f["maint"]),
                    "updateTime": pos.update_ms,
                }
            )
    return {**_account_totals(t), "assets": [_asset_row(t, v2=False)], "positions": positions}


def balances(sim: SimExchange, _p: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /fapi/v2/balance`` and ``/fapi/v3/balance``."""
    t = totals(sim)
    return [
        {
            "accountAlias": "SimAccount",
            "asset": "USDT",
            "balance": money(t.wallet),
            "crossWalletBalance": money(t.wallet),
            "crossUnPnl": money(t.upnl),
            "availableBalance": money(t.available),
            "maxWithdrawAmount": money(max(t.available, Decimal(0))),
            "marginAvailable": True,
            "updateTime": wall_ms(),
        }
    ]


def position_risk_v2(sim: SimExchange, p: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /fapi/v2/positionRisk``: every symbol (or ``symbol``), v2 layout."""
    out = []
    for m in markets_for(sim, p.get("symbol")):
        eng = m.engine
        for pos in _legs(sim, m):
            f = _leg_figures(m, pos)
            out.append(
                {
                    "symbol": m.symbol,
                    "positionAmt": m.fmt.qt(pos.amt),
                    "entryPrice": m.fmt.px(pos.entry),
                    "breakEvenPrice": m.fmt.px(pos.entry),
                    "markPrice": m.fmt.px(eng.mark),
                    "unRealizedProfit": money(f["upnl"]),
                    "liquidationPrice": "0",
                    "leverage": str(eng.leverage),
                    "maxNotionalValue": str(MAX_NOTIONAL),
                    "marginType": "cross",
                    "isolatedMargin": money(Decimal(0)),
                    "isAutoAddMargin": "false",
                    "positionSide": pos.side,
                    "notional": money(f["notional"]),
                    "isolatedWallet": "0",
                    "updateTime": pos.update_ms,
                }
            )
    return out


def position_risk_v3(sim: SimExchange, p: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /fapi/v3/positionRisk``: symbols with a position or open orders, v3 layout."""
    out = []
    for m in markets_for(sim, p.get("symbol")):
        if not _active(m):
            continue
        eng = m.engine
        order_im = eng.open_order_margin()
        for pos in _legs(sim, m):
            f = _leg_figures(m, pos)
            out.append(
                {
                    "symbol": m.symbol,
                    "positionSide": pos.side,
                    "positionAmt": m.fmt.qt(pos.amt),
                    "entryPrice": m.fmt.px(pos.entry),
                    "breakEvenPrice": m.fmt.px(pos.entry),
                    "markPrice": m.fmt.px(eng.mark),
                    "unRealizedProfit": money(f["upnl"]),
                    "liquidationPrice": "0",
                    "isolatedMargin": "0",
                    "notional": money(f["notional"]),
                    "marginAsset": "USDT",
                    "isolatedWallet": "0",
                    "initialMargin": money(f["im"] + order_im),
                    "maintMargin": money(f["maint"]),
                    "positionInitialMargin": money(f["im"]),
                    "openOrderInitialMargin": money(order_im),
                    "adl": 0,
                    "bidNotional": "0",
                    "askNotional": "0",
                    "updateTime": pos.update_ms,
                }
            )
    return out


def symbol_config(sim: SimExchange, p: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /fapi/v1/symbolConfig``."""
    return [
        {
            "symbol": m.symbol,
            "marginType": "CROSSED",
            "isAutoAddMargin": False,
            "leverage": m.engine.leverage,
            "maxNotionalValue": str(MAX_NOTIONAL),
        }
        for m in markets_for(sim, p.get("symbol"))
    ]


def _bracket(m: Market) -> dict[str, Any]:
    """One bracket: any notional, up to the leverage ``POST /fapi/v1/leverage`` accepts."""
    return {
        "symbol": m.symbol,
        "brackets": [
            {
                "bracket": 1,
                "initialLeverage": MAX_LEVERAGE,
                "notionalCap": MAX_NOTIONAL,
                "notionalFloor": 0,
                "maintMarginRatio": float(m.spec.margin_maint),
                "cum": 0.0,
            }
        ],
    }


def leverage_bracket(sim: SimExchange, p: dict[str, str]) -> Any:
    """``GET /fapi/v1/leverageBracket``: one object with ``symbol``, else a list."""
    if p.get("symbol"):
        return _bracket(market_of(sim, p["symbol"]))
    return [_bracket(m) for m in markets_of(sim)]


def commission(sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``GET /fapi/v1/commissionRate``."""
    m = market_of(sim, p.get("symbol"))
    return {
        "symbol": m.symbol,
        "makerCommissionRate": f"{m.spec.maker_fee:f}",
        "takerCommissionRate": f"{m.spec.taker_fee:f}",
    }


def income(sim: SimExchange, p: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /fapi/v1/income``: the last 7 days unless a window is sent (limit <= 1000)."""
    symbol = p.get("symbol") or None
    if symbol:
        market_of(sim, symbol)
    kind = p.get("incomeType") or None
    if kind is not None and kind not in INCOME_TYPES:
        raise VenueError(-1130, "Data sent for parameter 'incomeType' is not valid.")
    limit = max(1, min(param_int(p, "limit", 100), 1000))
    now = wall_ms()
    start = param_int(p, "startTime", 0)
    end = param_int(p, "endTime", 2**62)
    if "startTime" not in p and "endTime" not in p:
        start = now - SEVEN_DAYS_MS
    if start > end:
        raise VenueError(-1023, "Start time is greater than end time.")
    rows = sim.account.income_history(
        symbol=symbol, income_type=kind, start_ms=start, end_ms=end, limit=10**9
    )
    records: list[dict[str, Any]] = [r.to_rest() for r in rows]
    records = [
        r
        for r in records
        if start <= r["time"] <= end
        and (symbol is None or r["symbol"] == symbol)
        and (kind is None or r["incomeType"] == kind)
    ]
    page = max(1, param_int(p, "page", 1))
    return records[(page - 1) * limit : page * limit]
