"""Account settings (USD-M Futures REST API): position mode, leverage, margin type,
asset mode, account configuration.

The simulator is cross margin, single-asset (USDT) only: multi-assets mode is refused
with -1020 "This operation is not supported."; a switch to ISOLATED meets Binance's
own refusals first (-4047 open orders, -4048 a position), then -1020.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hedgegridd.sim.account_views import MAX_LEVERAGE, MAX_NOTIONAL, dual_side
from hedgegridd.sim.auth import mandatory
from hedgegridd.sim.orders import VenueError
from hedgegridd.sim.symbols import market_of, markets_of

if TYPE_CHECKING:
    from hedgegridd.sim.host import SimHost as SimExchange


def set_dual(sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``POST /fapi/v1/positionSide/dual`` (-4059 no change, -4067 orders, -4068 positions)."""
    raw = (p.get("dualSidePosition") or "").lower()
    if raw not in ("true", "false"):
        raise mandatory("dualSidePosition")
    wanted = raw == "true"
    if wanted == dual_side(sim):
        raise VenueError(-4059, "No need to change position side.")
    markets = markets_of(sim)
    if any(m.engine.open_orders() for m in markets):
        raise VenueError(-4067, "Position side cannot be changed if there exists open orders.")
    if any(p.amt for m in markets for p in m.engine.positions.values()):
        raise VenueError(-4068, "Position side cannot be changed if there exists position.")
    sim.set_hedge_mode(wanted)
    return {"code": 200, "msg": "success"}


def set_leverage(sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``POST /fapi/v1/leverage`` (1..125, else -4028)."""
    m = market_of(sim, p.get("symbol"))
    raw = p.get("leverage")
    if not raw:
        raise mandatory("leverage")
    try:
        lev = int(raw)
    except ValueError as exc:
        raise VenueError(-4028, f"Leverage {raw} is not valid") from exc
    if not 1 <= lev <= MAX_LEVERAGE:
        raise VenueError(-4028, f"Leverage {lev} is not valid")
    m.engine.leverage = lev
    return {"leverage": lev, "maxNotionalValue": str(MAX_NOTIONAL), "symbol": m.symbol}


def set_margin_type(sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``POST /fapi/v1/marginType``: CROSSED is current (-4046); ISOLATED is not emulated.

    A switch to ISOLATED meets Binance's own refusals first (-4047 open orders,
    -4048 a position), then -1020 "This operation is not supported.".
    """
    m = market_of(sim, p.get("symbol"))
    kind = (p.get("marginType") or "").upper()
    if not kind:
        raise mandatory("marginType")
    if kind not in ("ISOLATED", "CROSSED"):
        raise VenueError(-1130, "Data sent for parameter 'marginType' is not valid.")
    if kind == "CROSSED":
        raise VenueError(-4046, "No need to change margin type.")
    if m.engine.open_orders():
        raise VenueError(-4047, "Margin type cannot be changed if there exists open orders.")
    if any(pos.amt for pos in m.engine.positions.values()):
        raise VenueError(-4048, "Margin type cannot be changed if there exists position.")
    raise VenueError(-1020, "This operation is not supported.")


def account_config(sim: SimExchange, _p: dict[str, str]) -> dict[str, Any]:
    """``GET /fapi/v1/accountConfig``."""
    return {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "dualSidePosition": dual_side(sim),
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
    }


def multi_assets(_sim: SimExchange, _p: dict[str, str]) -> dict[str, Any]:
    """``GET /fapi/v1/multiAssetsMargin``: single-asset mode (USDT margin)."""
    return {"multiAssetsMargin": False}


def set_multi_assets(_sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``POST /fapi/v1/multiAssetsMargin``: false is current (-4171); true is not emulated."""
    raw = (p.get("multiAssetsMargin") or "").lower()
    if raw not in ("true", "false"):
        raise mandatory("multiAssetsMargin")
    if raw == "false":
        raise VenueError(
            -4171,
            "Adjusted asset mode is currently set and does not need to be adjusted repeatedly.",
        )
    raise VenueError(-1020, "This operation is not supported.")
