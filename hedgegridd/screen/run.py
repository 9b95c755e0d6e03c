"""``run_screen``: StrategyParams + bar arrays + venue settings -> the kernel -> results.

The parameters are converted exactly (Decimals to integer ticks/steps, the rung
quantities of every policy/funding combination precomputed with the core's own
Decimal arithmetic), so the kernel's only floating point is money, average prices
and the regime indicators (floats in the core too).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

import numpy as np
import numpy.typing as npt
from nautilus_trader.model.objects import FIXED_PRECISION

import hedgegridd.screen.kernel as k
from hedgegridd.backtest.results import FillRecord
from hedgegridd.params import StrategyParams
from hedgegridd.screen.market import BarArrays

_NS = 1_000_000_000
_FILL_CAP = 200_000


@dataclass(frozen=True, slots=True)
class ScreenVenue:
    """The venue settings the kernel uses (same meaning as ``[backtest.venue]``)."""

    starting_balance: Decimal = Decimal(10_000)
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0005")
    latency_ms: int = 50

    @classmethod
    def of(cls, venue: Any) -> ScreenVenue:
        """From a ``VenueFields``-like object (backtest or optimizer config)."""
        return cls(
            Decimal(venue.starting_balance),
            Decimal(venue.maker_fee),
            Decimal(venue.taker_fee),
            int(venue.latency_ms),
        )


@dataclass(frozen=True, slots=True)
class ScreenResult:
    """One screening run: counters, the equity curve and (optionally) every fill."""

    bars: int
    fills: int
    maker_fills: int
    round_trips: int
    fees: float
    final_balance: float
    final_equity: float
    net_pnl: float
    funding_paid: float
    funding_received: float
    final_long_qty: Decimal
    final_short_qty: Decimal
    orders: int
    cancels: int
    rejects: int
    exit_excess: int
    drawdown_latched: bool
    max_drawdown: float
    run_seconds: float
    equity: npt.NDArray[np.float64] = field(repr=False)
    close_ns: npt.NDArray[np.int64] = field(repr=False)
    fill_log: npt.NDArray[np.int64] = field(repr=False)
    tick: Decimal = Decimal("0.1")
    step: Decimal = Decimal("0.001")
    maker_fee: Decimal = Decimal("0.0002")
    taker_fee: Decimal = Decimal("0.0005")

    def fill_records(self) -> tuple[FillRecord, ...]:
        """The fills as the Nautilus backtest's ``FillRecord``s (for metrics/round trips)."""
        out: list[FillRecord] = []
        q8 = Decimal("0.00000001")
        for n, (_bar, side, kind, px, qty, maker, ts_ns) in enumerate(self.fill_log.tolist()):
            long = side == k.LONG
            opening = kind == k.ENTRY
            price = (Decimal(px) * self.tick).quantize(self.tick)
            quantity = (Decimal(qty) * self.step).quantize(self.step)
            fee = self.maker_fee if maker else self.taker_fee
            out.append(
                FillRecord(
                    ts_ns=int(ts_ns),
                    client_order_id=f"S-{n:08d}",
                    trade_id=f"S-{n}",
                    position_side="LONG" if long else "SHORT",
                    order_side="BUY" if long == opening else "SELL",
                    price=price,
                    quantity=quantity,
                    commission=(price * quantity * fee).quantize(q8),
                    maker=bool(maker),
                    tag=("entry", "tp", "sl", "flatten")[kind],
                )
            )
        return tuple(out)

    def summary(self) -> dict[str, Any]:
        """The report.json keys both engines share."""
        return {
            "engine": "screen",
            "bars": self.bars,
            "fills": self.fills,
            "round_trips": self.round_trips,
            "fees": f"{self.fees:.4f}",
            "net_pnl": f"{self.net_pnl:.4f}",
            "max_drawdown": round(self.max_drawdown, 6),
            "final_long_qty": str(self.final_long_qty),
            "final_short_qty": str(self.final_short_qty),
            "run_seconds": round(self.run_seconds, 4),
        }


def _steps_floor(value: Decimal, unit: Decimal) -> int:
    return int((value / unit).to_integral_value(rounding=ROUND_FLOOR))


def _steps_ceil(value: Decimal, unit: Decimal) -> int:
    return int((value / unit).to_integral_value(rounding=ROUND_CEILING))


def qty_table(params: StrategyParams, bars: BarArrays) -> npt.NDArray[np.int64]:
    """Rung quantities in steps per level for (counter?, funding-paying?) combinations,
    computed like the core: base * scale^(level-1), * policy scale, * funding factor,
    clamped to step/max qty (0 below min qty)."""
    g, rules = params.grid, bars.rules
    counter = params.policy.counter_qty_scale if params.policy.kind == "throttled_counter" else 1
    paying = params.funding.paying_side_scale
    table = np.zeros((4, g.levels_per_side + 1), dtype=np.int64)
    qty = g.base_qty
    for level in range(1, g.levels_per_side + 1):
        for combo in range(4):
            q = qty
            for factor, on in ((Decimal(counter), combo & 1), (paying, combo & 2)):
                if on and factor != 1:
                    q = q * factor if factor > 0 else Decimal(0)
            q = min(q, rules.max_qty)
            steps = _steps_floor(q, rules.step) if q > 0 else 0
            table[combo, level] = steps if steps * rules.step >= rules.min_qty else 0
        if g.qty_scale != 1:
            qty = qty * g.qty_scale
    return table


def kernel_params(
    params: StrategyParams,
    bars: BarArrays,
    venue: ScreenVenue,
    *,
    start: int = 0,
    path_mode: int = 0,
    fill_cap: int = _FILL_CAP,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """The kernel's int and float parameter vectors."""
    rules = bars.rules
    g, x, r, f, rk = params.grid, params.exits, params.regime, params.funding, params.risk
    s_num, s_den = g.step_bps.as_integer_ratio()
    ip = np.zeros(k.I_N, dtype=np.int64)
    ip[k.I_LEVELS] = g.levels_per_side
    ip[k.I_GEOMETRIC] = 1 if g.spacing == "geometric" else 0
    ip[k.I_S_NUM], ip[k.I_S_DEN] = s_num, s_den
    ip[k.I_SCALP] = 1 if params.policy.kind == "core_and_scalp" else 0
    ip[k.I_COUNTER_LEVELS] = params.policy.counter_levels
    ip[k.I_CAP] = _steps_floor(min(g.max_inventory_qty, rk.max_position_qty), rules.step)
    ip[k.I_MAXPOS] = _steps_floor(rk.max_position_qty, rules.step)
    ip[k.I_MIN_QTY] = _steps_ceil(rules.min_qty, rules.step)
    ip[k.I_MAX_QTY] = _steps_floor(rules.max_qty, rules.step)
    ip[k.I_MN_PQ] = _steps_ceil(rules.min_notional, rules.tick * rules.step)
    ip[k.I_EMA_FAST], ip[k.I_EMA_SLOW] = r.ema_fast, r.ema_slow
    ip[k.I_ADX_P], ip[k.I_ATR_P], ip[k.I_CONFIRM] = r.adx_period, r.atr_period, r.confirm_bars
    ip[k.I_WARMUP] = params.warmup_bars
    ip[k.I_FUNDING_ON] = 1 if f.enabled else 0
    ip[k.I_WINDOW_NS] = f.window_s * _NS
    latency_ns = venue.latency_ms * 1_000_000
    ip[k.I_LATENCY_NS] = latency_ns
    ip[k.I_INTERVAL_NS] = bars.interval_ns
    ip[k.I_PATH_MODE] = path_mode
    ip[k.I_PAIR] = 1
    ip[k.I_START] = start
    ip[k.I_FILL_CAP] = fill_cap
    # Nautilus' raw price per tick (its matching order sorts on the raw price cut to 64 bits)
    ip[k.I_RAW_MULT] = int(rules.tick.scaleb(FIXED_PRECISION))
    ip[k.I_MAX_REJ] = rk.max_rejections
    ip[k.I_REJ_WINDOW_NS] = int(rk.rejection_window_s * _NS)
    ip[k.I_COOLDOWN_NS] = int(rk.cooldown_s * _NS)
    fp = np.zeros(k.F_N, dtype=np.float64)
    fp[k.F_TICK], fp[k.F_STEP] = float(rules.tick), float(rules.step)
    fp[k.F_RECENTER] = float(g.recenter_bps)
    fp[k.F_TP], fp[k.F_SL] = float(x.tp_bps), float(x.sl_bps)
    fp[k.F_ADX_THR], fp[k.F_ADX_HYST] = r.adx_threshold, r.adx_hysteresis
    fp[k.F_SPREAD_IN], fp[k.F_SPREAD_OUT] = r.spread_enter_atr, r.spread_exit_atr
    fp[k.F_RATE_THR] = float(f.rate_threshold)
    fp[k.F_MAKER], fp[k.F_TAKER] = float(venue.maker_fee), float(venue.taker_fee)
    fp[k.F_BALANCE] = float(venue.starting_balance)
    fp[k.F_MAX_DD] = float(rk.max_drawdown_pct)
    fp[k.F_PX_TOL] = float(params.orders.price_tolerance_bps)
    fp[k.F_QTY_TOL] = float(params.orders.qty_tolerance_pct)
    return ip, fp


def _ticks(values: npt.NDArray[np.float64], tick: Decimal) -> npt.NDArray[np.int64]:
    return np.rint(values / float(tick)).astype(np.int64)


def run_screen(
    params: StrategyParams,
    bars: BarArrays,
    venue: ScreenVenue | None = None,
    *,
    warmup_bars: int = 0,
    path_mode: int = 0,
    record_fills: bool = True,
) -> ScreenResult:
    """Screen ``params`` on ``bars``; the first ``warmup_bars`` only warm the regime."""
    venue = venue or ScreenVenue()
    rules = bars.rules
    n = len(bars)
    start = min(max(0, warmup_bars), n)
    cap = _FILL_CAP if record_fills else 0
    ip, fp = kernel_params(params, bars, venue, start=start, path_mode=path_mode, fill_cap=cap)
    qtab = qty_table(params, bars)
    o, h, lo, c = (_ticks(a, rules.tick) for a in (bars.open, bars.high, bars.low, bars.close))
    hf, lf, cf = (
        np.array(a, dtype=np.float64, copy=True) for a in (bars.high, bars.low, bars.close)
    )
    ts = np.array(bars.close_ns, dtype=np.int64, copy=True)
    f_rate = np.array(bars.funding_rate, dtype=np.float64, copy=True)
    f_next = np.array(bars.funding_next_ns, dtype=np.int64, copy=True)
    s_rate = np.array(bars.settle_rate, dtype=np.float64, copy=True)
    s_mark = np.array(bars.settle_mark, dtype=np.float64, copy=True)
    fu_bar = np.searchsorted(bars.close_ns, bars.funding_ns, side="left").astype(np.int64)
    fs_bar = np.searchsorted(bars.close_ns, bars.settle_ns, side="left").astype(np.int64)
    while True:
        equity = np.zeros(n, dtype=np.float64)
        fl = np.zeros((max(cap, 1), 7), dtype=np.int64)
        out = np.zeros(k.R_N, dtype=np.float64)
        started = time.perf_counter()
        k.run_kernel(
            o, h, lo, c, hf, lf, cf, ts, ip, fp, qtab, fu_bar, f_rate, f_next, fs_bar,
            s_rate, s_mark, equity, fl, out,
        )  # fmt: skip
        seconds = time.perf_counter() - started
        if not record_fills or out[k.R_FILLS_LOGGED] >= out[k.R_FILLS]:
            break
        cap = int(out[k.R_FILLS]) + 1  # the log overflowed: run again with room for all
        ip[k.I_FILL_CAP] = cap
    traded = equity[start:]
    if traded.size:
        peak = np.maximum.accumulate(traded)
        dd = np.where(peak > 0, (peak - traded) / peak, 0.0)
        max_dd = float(dd.max())
        final_equity = float(traded[-1])
    else:
        max_dd, final_equity = 0.0, float(venue.starting_balance)
    return ScreenResult(
        bars=n - start,
        fills=int(out[k.R_FILLS]),
        maker_fills=int(out[k.R_MAKER_FILLS]),
        round_trips=int(out[k.R_ROUND_TRIPS]),
        fees=float(out[k.R_FEES]),
        final_balance=float(out[k.R_BALANCE]),
        final_equity=final_equity,
        net_pnl=final_equity - float(venue.starting_balance),
        funding_paid=float(out[k.R_FUNDING_PAID]),
        funding_received=float(out[k.R_FUNDING_RECV]),
        final_long_qty=(Decimal(int(out[k.R_LONG_QTY])) * rules.step).quantize(rules.step),
        final_short_qty=(Decimal(int(out[k.R_SHORT_QTY])) * rules.step).quantize(rules.step),
        orders=int(out[k.R_ORDERS]),
        cancels=int(out[k.R_CANCELS]),
        rejects=int(out[k.R_REJECTS]),
        exit_excess=int(out[k.R_EXIT_EXCESS]),
        drawdown_latched=bool(out[k.R_DD_LATCHED]),
        max_drawdown=max_dd,
        run_seconds=seconds,
        equity=traded,
        close_ns=bars.close_ns,
        fill_log=fl[: int(out[k.R_FILLS_LOGGED])].copy() if record_fills else fl[:0].copy(),
        tick=rules.tick,
        step=rules.step,
        maker_fee=venue.maker_fee,
        taker_fee=venue.taker_fee,
    )


__all__ = ["ScreenResult", "ScreenVenue", "kernel_params", "qty_table", "run_screen"]
