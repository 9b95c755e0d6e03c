# mypy: disable-error-code="no-untyped-def"
"""The compiled screening kernel (numba ``@njit``): one pass over bar arrays.

Prices are integer ticks, quantities integer steps (exact, like the core's Decimals);
money is float64. It implements ``hedgegridd.core`` (ladder with arithmetic/geometric
spacing and qty scale, inventory cap, regime detector with hysteresis, placement
policy, funding guard, exits planner with TP/SL per side, risk gate: drawdown and
position limit) as ``HedgeGridStrategy`` drives it, and the Nautilus venue of
``hedgegridd.backtest`` as it behaves (read from nautilus_trader 1.231's matching
engine, ``bar_execution=True``):

* intra-bar path: open -> high -> low -> close (Nautilus' default; ``path_mode=1``
  walks open -> nearer extreme -> farther extreme -> close instead, as the simulator
  does); a point equal to the last price is skipped (so is the open when it equals
  the previous close, unless the venue's matching after commands left the last price
  elsewhere: see targets);
* each point is a trade tick that sets Nautilus' L1 book to bid = ask = the point,
  whichever way the market moved: a BUY limit fills when ask <= its price, a SELL
  limit when bid >= its price, a BUY stop triggers when ask >= its trigger, a SELL
  stop when bid <= it. So a limit left on the wrong side of the market (see targets)
  fills at any later point of the path, also on a move away from it;
* matching order at a point (``MatchingCore.iterate``): every BUY order (limits and
  stops), then every SELL order, each side sorted by Nautilus' ``order_sort_key``,
  BUY descending and SELL ascending, ties in placement order. That key is the raw
  price (an int128 with FIXED_PRECISION 16) returned as ``int64_t``, i.e. cut to 64
  bits: ``ticks * tick * 10**16 mod 2**64`` as a signed number. It follows the price
  within a band of about 922 price units at tick 0.1 and wraps at the band edges
  (e.g. BUY 54362.4 matches before BUY 54495.6);
* a resting limit fills completely at its limit price as MAKER (also through a gap at
  the open) and, when the point is beyond its price, moves that side of the market to
  its price for the rest of the point (Nautilus' matching "targets": ask up after a
  BUY, bid down after a SELL), so a limit further through waits for a later point.
  Nautilus saves the market before each such fill and restores the last saved one
  after the point, so after two fills through one point the market stays where the
  first one moved it until the next point (what an arriving command meets); a
  stop fills at its trigger on the high/low/close and at the point's price on the open
  (gap) or after the bar (TAKER). Fills are never partial: the bar's volume is assumed
  to cover the order (use data whose volume does, or the Nautilus engine);
* latency: an order or cancel sent at time t (a bar's close, a fill, a timer) arrives
  at the venue when the engine next settles the venues at or after ``t + latency``
  (arrival times are kept in ns). The engine settles after every bar (after its
  matching and the strategy's handlers) and after every timer batch: the strategy's
  5 s retry timer (after a rejection) settles the commands of that bar's close before
  the next bar. Without a timer an order sent at bar j's close is first matched
  against bar j+d's close (d = ceil(latency / interval)) and can rest from bar j+d+1;
  cancelled orders stay fillable until their cancel arrives. Due orders and cancels
  are taken in the order they were sent (one latency for all: Nautilus' in-flight
  queue). Arrivals meet the market the last point left (see targets). On arrival a post-only
  entry that would take is rejected (the breaker counts it and the strategy re-syncs
  5 s later), a marketable exit fills as TAKER at the close, a stop already through
  it is rejected and the side is flattened at market. When any command was due
  (``_process_and_settle_venues``), the venue then matches every resting order once
  more at the latest close (bid = ask = close): a limit held back by a target in the
  bar fills there;
* the strategy side: an entry fill re-plans exits at once (entries wait for the bar);
  TP and SL placed together are OUO twins (one filling cancels the other; a cancel
  reaching the venue for one cancels both, each with its own event, and each event
  re-plans the exits: the first while the twin still rests), except
  that a TP filling on arrival goes before its SL is open, so Nautilus leaves that SL
  resting, unlinked, and nothing re-plans until the bar; an exit
  fill without a twin waits for the bar; every TP/SL passes the strategy's reduce gate
  (open TP, or SL, quantity including cancel-pending and in-flight ones plus market
  closes in flight <= position), so of a pair only the admitted one goes (unpaired)
  and the other follows when a cancel confirmation re-plans the exits; a stop-loss
  already through the last price (or refused on arrival as crossed) is closed at
  market by the strategy's closer (core ``plan_close``): it keeps the part still under
  its own exits, cancels the exits in the way first and sends the close for what the
  reduce gate admits, the rest when those cancels are confirmed;
* funding: the guard uses the latest published rate and next funding time at the
  bar's close; payments ``qty * mark * rate`` are settled at the first venue
  processing at or after the funding time.
Not modelled: venue rejections other than post-only entries and crossed stops,
partial fills, the fill model's probabilities/slippage, margin limits, timers other
than the retry timer (the closer's retries after a refused close). Measured with
``python -m hedgegridd.screen.parity --dump-fills``: most runs have identical fills.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# int parameter slots (``ip``)
(
    I_LEVELS,
    I_GEOMETRIC,
    I_S_NUM,
    I_S_DEN,
    I_SCALP,
    I_COUNTER_LEVELS,
    I_CAP,
    I_MAXPOS,
    I_MIN_QTY,
    I_MAX_QTY,
    I_MN_PQ,
    I_EMA_FAST,
    I_EMA_SLOW,
    I_ADX_P,
    I_ATR_P,
    I_CONFIRM,
    I_WARMUP,
    I_FUNDING_ON,
    I_WINDOW_NS,
    I_LATENCY_NS,
    I_INTERVAL_NS,
    I_PATH_MODE,
    I_PAIR,
    I_START,
    I_FILL_CAP,
    I_MAX_REJ,
    I_REJ_WINDOW_NS,
    I_COOLDOWN_NS,
    I_RAW_MULT,
    I_N,
) = range(30)
# float parameter slots (``fp``)
(
    F_TICK,
    F_STEP,
    F_RECENTER,
    F_TP,
    F_SL,
    F_ADX_THR,
    F_ADX_HYST,
    F_SPREAD_IN,
    F_SPREAD_OUT,
    F_RATE_THR,
    F_MAKER,
    F_TAKER,
    F_BALANCE,
    F_MAX_DD,
    F_PX_TOL,
    F_QTY_TOL,
    F_N,
) = range(17)
# result slots (``out``)
(
    R_FILLS,
    R_MAKER_FILLS,
    R_ROUND_TRIPS,
    R_FEES,
    R_BALANCE,
    R_FUNDING_PAID,
    R_FUNDING_RECV,
    R_LONG_QTY,
    R_SHORT_QTY,
    R_LONG_AVG,
    R_SHORT_AVG,
    R_ORDERS,
    R_CANCELS,
    R_REJECTS,
    R_EXIT_EXCESS,
    R_DD_LATCHED,
    R_FILLS_LOGGED,
    R_FLATTENS,
    R_N,
) = range(19)

ENTRY, TP, SL, FLAT = 0, 1, 2, 3
LONG, SHORT = 0, 1
_EPS = 1e-7
_REG_WARM, _REG_SIDE, _REG_UP, _REG_DOWN = 0, 1, 2, 3
_MAXO = 4096
_RETRY_NS = 5_000_000_000


@njit(cache=True)
def _floor_eps(x: float) -> int:
    return math.floor(x + _EPS)


@njit(cache=True)
def _ceil_eps(x: float) -> int:
    return math.ceil(x - _EPS)


@njit(cache=True)
def _regime_update(rs, ri, ip, fp, h, lo, c):
    """Feed one bar to the detector; ``rs`` floats, ``ri`` ints (see ``new_regime``)."""
    # rs: 0 ema_f, 1 ema_s, 2 atr, 3 tr_s, 4 pdm_s, 5 mdm_s, 6 adx, 7..9 prev h/l/c,
    #     10 atr_seed, 11 tr_seed, 12 pdm_seed, 13 mdm_seed, 14 adx_seed
    # ri: 0 bars, 1 regime, 2 candidate, 3 cand_bars, 4 has_prev, 5 ema_init,
    #     6 atr_n, 7 tr_n, 8 dm_n, 9 adx_n  (counts while seeding; -1 once seeded)
    af = 2.0 / (ip[I_EMA_FAST] + 1)
    asl = 2.0 / (ip[I_EMA_SLOW] + 1)
    if ri[5] == 0:
        rs[0] = c
        rs[1] = c
        ri[5] = 1
    else:
        rs[0] = rs[0] + af * (c - rs[0])
        rs[1] = rs[1] + asl * (c - rs[1])
    if ri[4] == 1:
        ph, pl, pc = rs[7], rs[8], rs[9]
        tr = max(h - lo, abs(h - pc), abs(lo - pc))
        up = h - ph
        down = pl - lo
        pdm = up if (up > down and up > 0) else 0.0
        mdm = down if (down > up and down > 0) else 0.0
        n_atr = ip[I_ATR_P]
        if ri[6] >= 0:
            rs[10] += tr
            ri[6] += 1
            if ri[6] == n_atr:
                rs[2] = rs[10] / n_atr
                ri[6] = -1
        else:
            rs[2] = (rs[2] * (n_atr - 1) + tr) / n_atr
        n = ip[I_ADX_P]
        if ri[7] >= 0:
            rs[11] += tr
            rs[12] += pdm
            rs[13] += mdm
            ri[7] += 1
            if ri[7] == n:
                rs[3] = rs[11] / n
                rs[4] = rs[12] / n
                rs[5] = rs[13] / n
                ri[7] = -1
        else:
            rs[3] = (rs[3] * (n - 1) + tr) / n
            rs[4] = (rs[4] * (n - 1) + pdm) / n
            rs[5] = (rs[5] * (n - 1) + mdm) / n
        if ri[7] == -1:
            dx = 0.0
            if rs[3] > 0:
                pdi = 100.0 * rs[4] / rs[3]
                mdi = 100.0 * rs[5] / rs[3]
                if pdi + mdi > 0:
                    dx = 100.0 * abs(pdi - mdi) / (pdi + mdi)
            if ri[9] >= 0:
                rs[14] += dx
                ri[9] += 1
                if ri[9] == n:
                    rs[6] = rs[14] / n
                    ri[9] = -1
            else:
                rs[6] = (rs[6] * (n - 1) + dx) / n
    rs[7], rs[8], rs[9] = h, lo, c
    ri[4] = 1
    ri[0] += 1
    spread = 0.0
    if ri[6] == -1 and rs[2] > 0:
        spread = (rs[0] - rs[1]) / rs[2]
    if ri[0] < ip[I_WARMUP] or ri[9] != -1:
        return
    if ri[1] == _REG_WARM:
        ri[1] = _REG_SIDE
    # classify
    direction = _REG_UP if spread > 0 else _REG_DOWN
    adx = rs[6]
    entering = adx >= fp[F_ADX_THR] and abs(spread) >= fp[F_SPREAD_IN]
    if ri[1] == _REG_UP or ri[1] == _REG_DOWN:
        holding = (
            direction == ri[1]
            and adx >= fp[F_ADX_THR] - fp[F_ADX_HYST]
            and abs(spread) >= fp[F_SPREAD_OUT]
        )
        if holding:
            cand = ri[1]
        elif entering and direction != ri[1]:
            cand = direction
        else:
            cand = _REG_SIDE
    else:
        cand = direction if entering else _REG_SIDE
    # step with confirmation
    if cand == ri[1]:
        ri[2] = -1
        ri[3] = 0
        return
    if cand == ri[2]:
        ri[3] += 1
    else:
        ri[2] = cand
        ri[3] = 1
    if ri[3] >= ip[I_CONFIRM]:
        ri[1] = cand
        ri[2] = -1
        ri[3] = 0


@njit(cache=True)
def _regime_reset(rs, ri):
    rs[:] = 0.0
    ri[:] = 0
    ri[2] = -1


@njit(cache=True)
def _base_ladder(ip, qtab, center, side, counter, paying, bpx, bq):
    """Priced and sized rungs of ``side`` (qty 0 = untradable) before the cap."""
    levels = ip[I_LEVELS]
    unit = 10_000 * ip[I_S_DEN]
    s_num = ip[I_S_NUM]
    move = -s_num if side == LONG else s_num
    combo = (1 if counter else 0) + (2 if paying else 0)
    max_level = levels
    if counter and ip[I_SCALP] == 1:
        max_level = min(levels, ip[I_COUNTER_LEVELS])
        combo = 2 if paying else 0
    f = 1.0
    ratio = (unit + move) / unit
    for lv in range(1, levels + 1):
        bq[side, lv] = 0
        bpx[side, lv] = 0
    for lv in range(1, max_level + 1):
        if ip[I_GEOMETRIC] == 1:
            f *= ratio
            x = center * f
            ticks = _floor_eps(x) if side == LONG else _ceil_eps(x)
        else:
            num = center * (unit + move * lv)
            ticks = num // unit if side == LONG else -((-num) // unit)
        if ticks <= 0:
            break
        q = qtab[combo, lv]
        if q <= 0 or ticks * q < ip[I_MN_PQ]:
            continue
        bpx[side, lv] = ticks
        bq[side, lv] = q


@njit(cache=True)
def _cap(ip, bpx, bq, side, pos_q, cq):
    """Inventory cap: deepest levels dropped, the last kept rung trimmed (core rules)."""
    room = ip[I_CAP] - pos_q
    for lv in range(1, ip[I_LEVELS] + 1):
        q = bq[side, lv]
        cq[side, lv] = 0
        if q <= 0:
            continue
        if q <= room:
            cq[side, lv] = q
            room -= q
            continue
        if room > 0:
            t = min(room, ip[I_MAX_QTY])
            if t >= ip[I_MIN_QTY] and bpx[side, lv] * t >= ip[I_MN_PQ]:
                cq[side, lv] = t
                room -= t


# --------------------------------------------------------------------------- orders
# Order table columns (int64 matrix ``ot``), rows kept in placement order.
O_ID, O_KIND, O_SIDE, O_LEVEL, O_PX, O_QTY, O_ARRIVE, O_LIVE, O_PC, O_CANCEL_AT, O_TWIN = range(11)
O_SEQ, O_CANCEL_SEQ = 11, 12  # send order of the order and of its cancel (``S_SEQ``)
O_COLS = 13
# Mutable scalars (int64 vector ``st``)
S_N, S_NEXT_ID, S_POS_L, S_POS_S, S_CLOSING_L, S_CLOSING_S, S_LAST_PX, S_CENTER, S_DD = range(9)
S_BASE_KEY_C, S_BASE_KEY_CTR, S_BASE_KEY_PAY, S_CAP_L, S_CAP_S, S_BAR = range(9, 15)
S_RETRY, S_TRIPPED_AT, S_N_REJ, S_NOW, S_TOPS = range(15, 20)
S_GHOSTS = S_TOPS + 3  # arrival times of cancels whose order is already gone (0 = free)
_N_GHOSTS = 4
# The venue's bid and ask between points (what a command arriving then meets): the last
# point's price, or where Nautilus' targets left them (see ``_walk_point``).
S_BID = S_GHOSTS + _N_GHOSTS
S_ASK = S_BID + 1
S_RES_LAST = S_ASK + 1  # the last price a point's targets restore (see ``_walk_point``)
# The closer (``strategy/closer.py``): S_CLOSING_L/S_CLOSING_S = 1 while a side is being closed,
# S_KEEP_L/S_KEEP_S the quantity kept under its own exits (the rest closes at market).
S_KEEP_L = S_RES_LAST + 1
S_KEEP_S = S_KEEP_L + 1
S_SEQ = S_KEEP_S + 1  # commands sent so far: the venue takes due commands in this order
S_N_ST = S_SEQ + 1
_REJ_MAX = 64


@njit(cache=True)
def _add_order(ot, st, out, kind, side, level, px, qty, arrive, twin):
    n = st[S_N]
    if n >= ot.shape[0]:
        return -1
    oid = st[S_NEXT_ID]
    st[S_NEXT_ID] = oid + 1
    ot[n, O_ID] = oid
    ot[n, O_KIND] = kind
    ot[n, O_SIDE] = side
    ot[n, O_LEVEL] = level
    ot[n, O_PX] = px
    ot[n, O_QTY] = qty
    ot[n, O_ARRIVE] = arrive
    ot[n, O_LIVE] = 0
    ot[n, O_PC] = 0
    ot[n, O_CANCEL_AT] = -1
    ot[n, O_TWIN] = twin
    ot[n, O_SEQ] = st[S_SEQ]
    st[S_SEQ] += 1
    st[S_N] = n + 1
    out[R_ORDERS] += 1
    return oid


@njit(cache=True)
def _send_cancel(ot, st, out, i, arrive):
    """Cancel row ``i``: it reaches the venue at ``arrive``, after the commands sent before."""
    ot[i, O_PC] = 1
    ot[i, O_CANCEL_AT] = arrive
    ot[i, O_CANCEL_SEQ] = st[S_SEQ]
    st[S_SEQ] += 1
    out[R_CANCELS] += 1


@njit(cache=True)
def _remove(ot, st, i):
    """Drop row ``i``. A cancel still in flight for it stays a command the venue will
    receive (and refuse): its arrival is kept as a ghost, so that settlement still
    counts as venue activity (``_settle``)."""
    if ot[i, O_PC] == 1 and ot[i, O_CANCEL_AT] >= 0:
        at = ot[i, O_CANCEL_AT]
        slot = S_GHOSTS
        for g in range(S_GHOSTS, S_GHOSTS + _N_GHOSTS):
            if st[g] == at:
                slot = -1
                break
            if st[g] == 0 or st[g] > st[slot]:
                slot = g
        if slot >= 0 and (st[slot] == 0 or st[slot] > at):
            st[slot] = at
    n = st[S_N]
    for k in range(i, n - 1):
        ot[k, :] = ot[k + 1, :]
    st[S_N] = n - 1


@njit(cache=True)
def _find(ot, st, oid):
    for i in range(st[S_N]):
        if ot[i, O_ID] == oid:
            return i
    return -1


@njit(cache=True)
def _apply_fill(ot, st, pos_avg, money, out, fl, fp, ip, i, px, maker, bar):
    """Book the complete fill of order row ``i`` at ``px`` ticks; removes it (and its
    OUO twin); returns (side, kind, had_twin, quantity)."""
    kind = ot[i, O_KIND]
    side = ot[i, O_SIDE]
    q = ot[i, O_QTY]
    oid_twin = ot[i, O_TWIN]
    price = px * fp[F_TICK]
    qty = q * fp[F_STEP]
    fee = price * qty * (fp[F_MAKER] if maker else fp[F_TAKER])
    money[0] -= fee
    out[R_FEES] += fee
    out[R_FILLS] += 1
    if maker:
        out[R_MAKER_FILLS] += 1
    pk = S_POS_L if side == LONG else S_POS_S
    held = st[pk]
    if kind == ENTRY:
        pos_avg[side] = (pos_avg[side] * held + price * q) / (held + q)
        st[pk] = held + q
    else:
        closed = min(q, held)
        if q > held:
            out[R_EXIT_EXCESS] += 1
        sign = 1.0 if side == LONG else -1.0
        money[0] += (price - pos_avg[side]) * closed * fp[F_STEP] * sign
        st[pk] = held - closed
        if st[pk] == 0:
            pos_avg[side] = 0.0
        out[R_ROUND_TRIPS] += 1
    k = int(out[R_FILLS_LOGGED])
    if k < ip[I_FILL_CAP]:
        fl[k, 0] = bar
        fl[k, 1] = side
        fl[k, 2] = kind
        fl[k, 3] = px
        fl[k, 4] = q
        fl[k, 5] = 1 if maker else 0
        fl[k, 6] = st[S_NOW]  # the venue time: a bar's close or a timer after it
        out[R_FILLS_LOGGED] = k + 1
    _remove(ot, st, i)
    had_twin = False
    if oid_twin >= 0:
        j = _find(ot, st, oid_twin)
        if j >= 0:
            if ot[j, O_LIVE] == 1 or ot[j, O_PC] == 1:
                # open at the venue, or still in flight with a cancel sent (Nautilus'
                # PENDING_CANCEL counts as open): cancelled with its twin
                _remove(ot, st, j)
                had_twin = True
            else:
                # The twin is still in flight (a TP that fills on arrival goes before
                # its SL): Nautilus' OUO cancels only an open order, so it arrives and
                # rests unlinked, and no cancel event re-plans the exits.
                ot[j, O_TWIN] = -1
    return side, kind, had_twin, q


@njit(cache=True)
def _effective(st, side):
    """The position the exit planner and the ladder cap see (``Closer.effective``): only
    the part kept under exits while the side is being closed."""
    held = st[S_POS_L if side == LONG else S_POS_S]
    if st[S_CLOSING_L if side == LONG else S_CLOSING_S] == 1:
        return min(held, st[S_KEEP_L if side == LONG else S_KEEP_S])
    return held


@njit(cache=True)
def _close_request(ot, st, out, ip, side, qty):
    """``Closer.request(side, qty, GAP)``: close ``qty`` more of the side at market."""
    fk = S_CLOSING_L if side == LONG else S_CLOSING_S
    kk = S_KEEP_L if side == LONG else S_KEEP_S
    held = st[S_POS_L if side == LONG else S_POS_S]
    if st[fk] == 0:
        st[fk] = 1
        st[kk] = max(held - qty, 0)
        out[R_FLATTENS] += 1
    else:
        st[kk] = max(min(st[kk], held) - qty, 0)
    _close_pump(ot, st, out, ip, side)


@njit(cache=True)
def _close_pump(ot, st, out, ip, side):
    """``Closer.pump`` (core ``plan_close``): done once the side is down to what it keeps;
    else cancel the exits beyond that (oldest kept, per kind) and send a market close for
    what the reduce gate admits now (the rest when those cancels are confirmed)."""
    fk = S_CLOSING_L if side == LONG else S_CLOSING_S
    if st[fk] == 0:
        return
    held = st[S_POS_L if side == LONG else S_POS_S]
    keep = st[S_KEEP_L if side == LONG else S_KEEP_S]
    target = min(max(held - keep, 0), held)
    if target <= 0 or held <= 0:
        st[fk] = 0
        return
    arrive = st[S_NOW] + ip[I_LATENCY_NS]
    kept_tp = 0
    kept_sl = 0
    tp = 0
    sl = 0
    closing = 0
    for i in range(st[S_N]):
        if ot[i, O_SIDE] != side:
            continue
        kind = ot[i, O_KIND]
        q = ot[i, O_QTY]
        if kind == FLAT:
            closing += q
            continue
        if kind == ENTRY:
            continue
        if kind == TP:
            tp += q
        else:
            sl += q
        if ot[i, O_PC] == 1:
            continue
        if kind == TP and kept_tp + q <= held - target:
            kept_tp += q
        elif kind == SL and kept_sl + q <= held - target:
            kept_sl += q
        else:
            _send_cancel(ot, st, out, i, arrive)
    allowed = min(max(target - closing, 0), held - closing - max(tp, sl))
    if allowed < ip[I_MIN_QTY]:
        return
    while allowed > 0:
        chunk = min(allowed, ip[I_MAX_QTY])
        _add_order(ot, st, out, FLAT, side, 0, 0, chunk, arrive, -1)
        allowed -= chunk


@njit(cache=True)
def _pump_all(ot, st, out, ip):
    """The closer's pump for every side being closed (the end of a strategy sync)."""
    for side in range(2):
        _close_pump(ot, st, out, ip, side)


@njit(cache=True)
def _exit_px(avg, side, kind, fp):
    """TP/SL in ticks from the average entry price (core ``exit_prices``)."""
    a = avg / fp[F_TICK]
    ceiling = _ceil_eps(2.0 * a)
    if kind == TP:
        off = a * fp[F_TP] / 10_000.0
        p = _ceil_eps(a + off) if side == LONG else _floor_eps(a - off)
    else:
        off = a * fp[F_SL] / 10_000.0
        p = _floor_eps(a - off) if side == LONG else _ceil_eps(a + off)
    return min(max(p, 1), ceiling)


@njit(cache=True)
def _plan_exits(ot, st, pos_avg, out, ip, fp, bar):
    """Core ``plan_exits`` + the strategy's placement (OUO pairs, breached stops)."""
    arrive = st[S_NOW] + ip[I_LATENCY_NS]
    mid = st[S_LAST_PX]
    for side in range(2):
        target = _effective(st, side)
        tp_sum = 0
        sl_sum = 0
        for i in range(st[S_N]):
            if ot[i, O_SIDE] == side and ot[i, O_PC] == 0:
                if ot[i, O_KIND] == TP:
                    tp_sum += ot[i, O_QTY]
                elif ot[i, O_KIND] == SL:
                    sl_sum += ot[i, O_QTY]
        if tp_sum == target and sl_sum == target:
            continue
        tops = st[S_TOPS : S_TOPS + 3]
        tops[:] = 0
        for kind in (TP, SL):
            covered = 0
            kept = 0
            for i in range(st[S_N]):
                if ot[i, O_SIDE] != side or ot[i, O_KIND] != kind or ot[i, O_PC] == 1:
                    continue
                if covered + ot[i, O_QTY] <= target:
                    covered += ot[i, O_QTY]
                    kept += 1
                else:
                    _send_cancel(ot, st, out, i, arrive)
            if target == 0 or covered == target:
                continue
            top = target - covered
            if top < ip[I_MIN_QTY] and kept > 0:
                for i in range(st[S_N]):
                    if ot[i, O_SIDE] == side and ot[i, O_KIND] == kind and ot[i, O_PC] == 0:
                        _send_cancel(ot, st, out, i, arrive)
                top = target
            if top >= ip[I_MIN_QTY]:
                tops[kind] = top
        if tops[TP] == 0 and tops[SL] == 0:
            continue
        avg = pos_avg[side]
        if tops[SL] > 0:
            slp = _exit_px(avg, side, SL, fp)
            breached = slp >= mid if side == LONG else slp <= mid
            if breached:  # the stop has fired: close what it would protect at market
                _close_request(ot, st, out, ip, side, tops[SL])
                continue
        _place_exit_chunks(ot, st, out, ip, fp, side, avg, tops[TP], tops[SL], arrive)


@njit(cache=True)
def _headroom(ot, st, side, kind):
    """The strategy's reduce gate (core ``closing.Exposure.headroom``): the confirmed
    position less the open TP (or SL) quantity, cancel-pending and in-flight ones
    included, less the market closes in flight."""
    held = st[S_POS_L if side == LONG else S_POS_S]
    used = 0
    for i in range(st[S_N]):
        if ot[i, O_SIDE] == side and (ot[i, O_KIND] == kind or ot[i, O_KIND] == FLAT):
            used += ot[i, O_QTY]
    return held - used


@njit(cache=True)
def _place_exit_chunks(ot, st, out, ip, fp, side, avg, tp_q, sl_q, arrive):
    """TP/SL top-ups split at max qty; equal TP/SL chunks in order become OUO pairs. Each
    order passes the reduce gate (``_headroom``) as the strategy's ``_place_exits`` does:
    of a pair only one admitted goes alone (its twin waits for a cancel in flight: the
    cancel's confirmation re-plans), a chunk not admitted is not sent."""
    mx = ip[I_MAX_QTY]
    tpp = _exit_px(avg, side, TP, fp) if tp_q > 0 else 0
    slp = _exit_px(avg, side, SL, fp) if sl_q > 0 else 0
    while tp_q > 0 and sl_q > 0:
        a = min(tp_q, mx)
        b = min(sl_q, mx)
        if a != b or ip[I_PAIR] == 0:
            break
        tp_ok = _headroom(ot, st, side, TP) >= a
        sl_ok = _headroom(ot, st, side, SL) >= b
        if tp_ok and sl_ok:
            next_id = st[S_NEXT_ID]
            _add_order(ot, st, out, TP, side, 0, tpp, a, arrive, next_id + 1)
            _add_order(ot, st, out, SL, side, 0, slp, b, arrive, next_id)
        elif tp_ok:
            _add_order(ot, st, out, TP, side, 0, tpp, a, arrive, -1)
        elif sl_ok:
            _add_order(ot, st, out, SL, side, 0, slp, b, arrive, -1)
        tp_q -= a
        sl_q -= b
    while tp_q > 0:
        a = min(tp_q, mx)
        if _headroom(ot, st, side, TP) >= a:
            _add_order(ot, st, out, TP, side, 0, tpp, a, arrive, -1)
        tp_q -= a
    while sl_q > 0:
        b = min(sl_q, mx)
        if _headroom(ot, st, side, SL) >= b:
            _add_order(ot, st, out, SL, side, 0, slp, b, arrive, -1)
        sl_q -= b


@njit(cache=True)
def _after_fill(ot, st, pos_avg, out, ip, fp, bar, side, kind, had_twin, qty):
    """The strategy's fill handler: an exit fill of a side being closed shrinks what it
    keeps; re-plan exits (entries wait for the bar); pump the side's close."""
    kk = S_KEEP_L if side == LONG else S_KEEP_S
    if kind in (TP, SL) and st[S_CLOSING_L if side == LONG else S_CLOSING_S] == 1:
        st[kk] = max(st[kk] - qty, 0)
    if kind == ENTRY or (kind != FLAT and had_twin) or ip[I_PAIR] == 0:
        _exit_sync(ot, st, pos_avg, out, ip, fp, bar)
    _close_pump(ot, st, out, ip, side)


@njit(cache=True)
def _exit_sync(ot, st, pos_avg, out, ip, fp, bar):
    """The strategy's ``_sync(entries=False)``: re-plan the exits, then pump the closer."""
    _plan_exits(ot, st, pos_avg, out, ip, fp, bar)
    _pump_all(ot, st, out, ip)


@njit(cache=True)
def _is_buy(kind, side):
    if kind == SL:
        return side == SHORT
    return (side == LONG) == (kind == ENTRY)


@njit(cache=True)
def _sort_key(px, mult):
    """Nautilus' ``order_sort_key``: the price's raw value (``px * mult``, an int128 with
    FIXED_PRECISION 16) returned as an ``int64_t``, i.e. wrapped modulo 2**64."""
    return np.int64(np.uint64(px) * np.uint64(mult))


@njit(cache=True)
def _match_order(ot, st, ip, buy_lim, buy_stop, sell_lim, sell_stop):
    """Ids of the live orders that can fill, in Nautilus' matching order
    (``MatchingCore.iterate``): every BUY order (limits and stops) by sort key
    descending, then every SELL order by sort key ascending; equal keys keep placement
    order (a stable sort). The key is the raw price truncated to 64 bits
    (``_sort_key``), so with high-precision prices the order is not the price order
    (prices wrap around at multiples of 2**64 / mult). Only orders within the bounds
    are listed (BUY limits >= ``buy_lim``, BUY stops <= ``buy_stop``, SELL limits <=
    ``sell_lim``, SELL stops >= ``sell_stop``): the others cannot fill in this pass."""
    n = st[S_N]
    ids = np.empty(n, np.int64)
    keys = np.empty(n, np.int64)
    mult = ip[I_RAW_MULT]
    m = 0
    for buy_pass in (True, False):
        first = m
        for i in range(n):
            kind = ot[i, O_KIND]
            if ot[i, O_LIVE] == 0 or kind == FLAT:
                continue
            if _is_buy(kind, ot[i, O_SIDE]) != buy_pass:
                continue
            px = ot[i, O_PX]
            if buy_pass:
                if (px > buy_stop) if kind == SL else (px < buy_lim):
                    continue
            elif (px < sell_stop) if kind == SL else (px > sell_lim):
                continue
            key = _sort_key(px, mult)
            k = m
            while k > first and (keys[k - 1] < key if buy_pass else keys[k - 1] > key):
                keys[k] = keys[k - 1]  # insertion sort: stable
                ids[k] = ids[k - 1]
                k -= 1
            keys[k] = key
            ids[k] = ot[i, O_ID]
            m += 1
    return ids[:m]


@njit(cache=True)
def _walk_point(ot, st, pos_avg, money, out, fl, ip, fp, bar, p, at_open):
    """One trade tick at ``p``, as Nautilus' L1 book sees a bar point: bid = ask = ``p``
    whichever way the market moved. Orders are matched in Nautilus' order (BUY side by
    price descending, then SELL side by price ascending, ties by placement) over a
    snapshot of the live orders (a twin cancelled meanwhile is skipped): a BUY limit
    fills when ask <= its price, a SELL limit when bid >= its price, a BUY stop triggers
    when ask >= its trigger, a SELL stop when bid <= it. A limit filled through its price
    moves that side of the market to its price for the rest of the tick (Nautilus'
    "targets": ask up after a BUY, bid down after a SELL), so a deeper limit waits for a
    later point of the path (in either direction)."""
    # Candidates: limits hit at p; stops hit at the furthest the targets can move the
    # market in this pass (ask up to the highest BUY limit hit, bid down to the lowest
    # SELL limit hit). Nothing else can fill, so only these are sorted.
    ask_max = p
    bid_min = p
    any_hit = False
    for i in range(st[S_N]):
        kind = ot[i, O_KIND]
        if ot[i, O_LIVE] == 0 or kind == FLAT:
            continue
        px = ot[i, O_PX]
        buy = _is_buy(kind, ot[i, O_SIDE])
        if kind == SL:
            any_hit = any_hit or ((px <= p) if buy else (px >= p))
        elif buy and px >= p:
            any_hit = True
            ask_max = max(ask_max, px)
        elif not buy and px <= p:
            any_hit = True
            bid_min = min(bid_min, px)
    if not any_hit:
        st[S_RES_LAST] = st[S_BAR]
        st[S_BAR] = p
        st[S_BID] = st[S_ASK] = p
        return
    ask = p
    bid = p
    last = st[S_BAR]
    res_last = last
    # Nautilus saves the market before each fill through a price (its "targets") and
    # restores the last saved one after the point: after two such fills the market
    # stays where the first one moved it, until the next point.
    res_bid = p
    res_ask = p
    for oid in _match_order(ot, st, ip, p, ask_max, p, bid_min):
        i = _find(ot, st, oid)
        if i < 0 or ot[i, O_LIVE] == 0:
            continue
        kind = ot[i, O_KIND]
        side = ot[i, O_SIDE]
        px = ot[i, O_PX]
        is_buy = _is_buy(kind, side)
        if kind == SL:
            hit = (ask >= px) if is_buy else (bid <= px)
        else:
            hit = (ask <= px) if is_buy else (bid >= px)
        if not hit:
            continue
        if kind == SL:
            fill_px = p if at_open else px
            maker = False
            if not at_open and p != px:
                res_bid, res_ask, res_last = bid, ask, last
                last = p
                if is_buy:
                    ask = p
                else:
                    bid = p
        else:
            fill_px = px
            maker = True
            if is_buy and p < px:
                res_bid, res_ask, res_last = bid, ask, last
                ask = last = px
            elif not is_buy and p > px:
                res_bid, res_ask, res_last = bid, ask, last
                bid = last = px
        side, kind, twin, q = _apply_fill(
            ot, st, pos_avg, money, out, fl, fp, ip, i, fill_px, maker, bar
        )
        _after_fill(ot, st, pos_avg, out, ip, fp, bar, side, kind, twin, q)
    st[S_BAR] = p
    st[S_BID] = res_bid
    st[S_ASK] = res_ask
    st[S_RES_LAST] = res_last


@njit(cache=True)
def _walk_bar(ot, st, pos_avg, money, out, fl, ip, fp, bar, o, h, lo, c, first):
    """Open -> high -> low -> close (or nearer extreme first with path_mode 1)."""
    # Cheap bound: skip the bar when no live order can be reached by its range.
    hi_buy = -1
    lo_sell = 1 << 62
    for i in range(st[S_N]):
        if ot[i, O_LIVE] == 0 or ot[i, O_KIND] == FLAT:
            continue
        kind = ot[i, O_KIND]
        side = ot[i, O_SIDE]
        down_hit = (side == LONG) == (kind == ENTRY) if kind != SL else side == LONG
        if down_hit:
            hi_buy = max(hi_buy, ot[i, O_PX])
        else:
            lo_sell = min(lo_sell, ot[i, O_PX])
    bar_lo = min(lo, o) if first else min(lo, o, st[S_BAR])
    bar_hi = max(h, o) if first else max(h, o, st[S_BAR])
    if hi_buy < bar_lo and lo_sell > bar_hi:
        st[S_BAR] = c
        st[S_BID] = st[S_ASK] = c
        return
    if first or o != st[S_BAR]:
        st[S_BAR] = o if first else st[S_BAR]
        _walk_point(ot, st, pos_avg, money, out, fl, ip, fp, bar, o, True)
    high_first = ip[I_PATH_MODE] == 0 or abs(h - o) < abs(lo - o)
    for k in range(2):
        if (k == 0) == high_first:
            if h > st[S_BAR]:
                _walk_point(ot, st, pos_avg, money, out, fl, ip, fp, bar, h, False)
        elif lo < st[S_BAR]:
            _walk_point(ot, st, pos_avg, money, out, fl, ip, fp, bar, lo, False)
    if c != st[S_BAR]:
        _walk_point(ot, st, pos_avg, money, out, fl, ip, fp, bar, c, False)


@njit(cache=True)
def _record_rejection(st, rej, ip, key):
    """RiskGate.record_rejection: distinct keys within the window trip the breaker."""
    if st[S_TRIPPED_AT] >= 0:
        return
    now = st[S_NOW]
    horizon = now - ip[I_REJ_WINDOW_NS]
    m = 0
    dup = False
    for r in range(st[S_N_REJ]):
        if rej[r, 0] > horizon:
            rej[m, 0] = rej[r, 0]
            rej[m, 1] = rej[r, 1]
            if rej[m, 1] == key:
                dup = True
            m += 1
    st[S_N_REJ] = m
    if dup:
        return
    if m < _REJ_MAX:
        rej[m, 0] = now
        rej[m, 1] = key
        st[S_N_REJ] = m + 1
    if st[S_N_REJ] >= ip[I_MAX_REJ]:
        st[S_TRIPPED_AT] = now
        st[S_N_REJ] = 0


@njit(cache=True)
def _order_arrives(ot, st, pos_avg, money, out, fl, ip, fp, bar, close, rej, i):
    """Order row ``i`` reaches the venue: it rests, fills at once (a market close, a
    marketable exit: TAKER at the close) or is refused (a post-only entry that would
    take; a stop already through the market, whose side the strategy then closes)."""
    ot[i, O_LIVE] = 1
    kind = ot[i, O_KIND]
    side = ot[i, O_SIDE]
    px = ot[i, O_PX]
    is_buy = (side == LONG) == (kind == ENTRY)
    if kind == FLAT:
        held = st[S_POS_L if side == LONG else S_POS_S]
        if held <= 0:
            _remove(ot, st, i)
            _close_pump(ot, st, out, ip, side)
            return
        ot[i, O_QTY] = min(ot[i, O_QTY], held)
        s2, k2, tw, q2 = _apply_fill(ot, st, pos_avg, money, out, fl, fp, ip, i, close, False, bar)
        _after_fill(ot, st, pos_avg, out, ip, fp, bar, s2, k2, tw, q2)
        return
    # Arrivals meet the market as the last point left it (``S_BID``/``S_ASK``).
    if kind == SL:
        if (px <= st[S_ASK]) if is_buy else (px >= st[S_BID]):
            out[R_REJECTS] += 1
            qty = ot[i, O_QTY]
            _remove(ot, st, i)
            qty = min(qty, st[S_POS_L if side == LONG else S_POS_S])
            if qty > 0:  # the strategy closes what the refused stop protected
                _close_request(ot, st, out, ip, side, qty)
        return
    if not ((px >= st[S_ASK]) if is_buy else (px <= st[S_BID])):
        return
    if kind == ENTRY:
        # post-only entry that would take: rejected; the breaker counts its logical key
        # and the strategy retries the sync on its timer
        out[R_REJECTS] += 1
        _record_rejection(st, rej, ip, side * 1000 + ot[i, O_LEVEL])
        _remove(ot, st, i)
        st[S_RETRY] = 1
        return
    s2, k2, tw, q2 = _apply_fill(ot, st, pos_avg, money, out, fl, fp, ip, i, close, False, bar)
    _after_fill(ot, st, pos_avg, out, ip, fp, bar, s2, k2, tw, q2)


@njit(cache=True)
def _cancel_arrives(ot, st, pos_avg, out, ip, fp, bar, i):
    """The cancel of row ``i`` reaches the venue: the order and its OUO twin go, each
    with its own event. The strategy re-plans exits on an exit's cancel event (the
    first re-plan still sees the twin resting) and pumps a closing side's close."""
    was_exit = ot[i, O_KIND] == TP or ot[i, O_KIND] == SL
    side = ot[i, O_SIDE]
    twin = ot[i, O_TWIN]
    ot[i, O_PC] = 0  # the cancel is done: no ghost
    _remove(ot, st, i)
    if was_exit:
        _exit_sync(ot, st, pos_avg, out, ip, fp, bar)
    _close_pump(ot, st, out, ip, side)
    if twin >= 0:
        j = _find(ot, st, twin)
        if j >= 0:
            _remove(ot, st, j)
            _exit_sync(ot, st, pos_avg, out, ip, fp, bar)
            _close_pump(ot, st, out, ip, side)


@njit(cache=True)
def _next_command(ot, st):
    """The due command sent first: (row, True for a cancel), or (-1, False)."""
    now = st[S_NOW]
    best = -1
    best_seq = 1 << 62
    cancel = False
    for r in range(st[S_N]):
        if ot[r, O_LIVE] == 0 and ot[r, O_ARRIVE] <= now and ot[r, O_SEQ] < best_seq:
            best, best_seq, cancel = r, ot[r, O_SEQ], False
        if ot[r, O_PC] == 1 and 0 <= ot[r, O_CANCEL_AT] <= now and ot[r, O_CANCEL_SEQ] < best_seq:
            best, best_seq, cancel = r, ot[r, O_CANCEL_SEQ], True
    return best, cancel


@njit(cache=True)
def _settle(ot, st, pos_avg, money, out, fl, ip, fp, bar, close, rej):
    """Venue processing after bar ``bar`` (Nautilus' ``_process_and_settle_venues``): the
    commands due, in the order they were sent (orders and cancels alike: one latency for
    all), and, when there were any, one more matching pass of every resting order at the
    close (bid = ask = close, stops filling at the market), repeated while that pass makes
    commands due now."""
    while True:
        progressed = False
        while True:
            i, cancel = _next_command(ot, st)
            if i < 0:
                break
            progressed = True
            if cancel:
                _cancel_arrives(ot, st, pos_avg, out, ip, fp, bar, i)
            else:
                _order_arrives(ot, st, pos_avg, money, out, fl, ip, fp, bar, close, rej, i)
        for g in range(S_GHOSTS, S_GHOSTS + _N_GHOSTS):
            if 0 < st[g] <= st[S_NOW]:
                st[g] = 0  # a cancel for an order already gone: refused, but activity
                progressed = True
        if not progressed:
            break
        _walk_point(ot, st, pos_avg, money, out, fl, ip, fp, bar, close, True)
        # No bar point follows to set the last price: it stays where the targets left
        # it, and the next bar's open is compared with that (Nautilus' ``core.last``).
        st[S_BAR] = st[S_RES_LAST]


@njit(cache=True)
def _bar_sync(ot, st, pos_avg, out, ip, fp, qtab, bpx, bq, cq, bar, counter, paying, withdraw):
    """``GridEngine.decide`` + ``_execute`` for a bar: recenter, ladders, diff, exits."""
    mid = st[S_LAST_PX]
    center = st[S_CENTER]
    if center <= 0 or abs(mid - center) * 10_000.0 > fp[F_RECENTER] * center:
        center = mid
        st[S_CENTER] = center
    if center != st[S_BASE_KEY_C] or counter != st[S_BASE_KEY_CTR] or paying != st[S_BASE_KEY_PAY]:
        for side in range(2):
            _base_ladder(ip, qtab, center, side, counter == side, paying == side, bpx, bq)
        st[S_BASE_KEY_C] = center
        st[S_BASE_KEY_CTR] = counter
        st[S_BASE_KEY_PAY] = paying
        st[S_CAP_L] = -1
    pl = _effective(st, LONG)
    ps = _effective(st, SHORT)
    if st[S_CAP_L] != pl or st[S_CAP_S] != ps:
        _cap(ip, bpx, bq, LONG, pl, cq)
        _cap(ip, bpx, bq, SHORT, ps, cq)
        st[S_CAP_L] = pl
        st[S_CAP_S] = ps
    arrive = st[S_NOW] + ip[I_LATENCY_NS]
    kept = cq[2:4, :]
    kept[:, :] = 0
    tol = fp[F_PX_TOL] > 0 or fp[F_QTY_TOL] > 0
    # entry cancels: every live entry not matching its key's desired passive rung
    for i in range(st[S_N]):
        if ot[i, O_KIND] != ENTRY or ot[i, O_PC] == 1:
            continue
        side = ot[i, O_SIDE]
        lv = ot[i, O_LEVEL]
        q = cq[side, lv] if not withdraw else 0
        px = bpx[side, lv]
        passive = (px < mid) if side == LONG else (px > mid)
        keep = False
        if q > 0 and passive and kept[side, lv] == 0:
            if ot[i, O_PX] == px and ot[i, O_QTY] == q:
                keep = True
            elif tol:
                dp = abs(ot[i, O_PX] - px) * 10_000.0 <= fp[F_PX_TOL] * px
                dq = abs(ot[i, O_QTY] - q) * 100.0 <= fp[F_QTY_TOL] * q
                keep = dp and dq
        if keep:
            kept[side, lv] = 1
        else:
            _send_cancel(ot, st, out, i, arrive)
    _plan_exits(ot, st, pos_avg, out, ip, fp, bar)
    if not withdraw:
        _place_entries(ot, st, out, ip, bpx, cq, kept, mid, arrive)
    _pump_all(ot, st, out, ip)


@njit(cache=True)
def _place_entries(ot, st, out, ip, bpx, cq, kept, mid, arrive):
    """New entries for the rungs not kept, within the position limit."""
    levels = ip[I_LEVELS]
    for side in range(2):
        existing = st[S_POS_L if side == LONG else S_POS_S]
        pending = 0
        for i in range(st[S_N]):
            if ot[i, O_KIND] == ENTRY and ot[i, O_SIDE] == side and ot[i, O_PC] == 0:
                pending += ot[i, O_QTY]
        for lv in range(1, levels + 1):
            q = cq[side, lv]
            if q <= 0 or kept[side, lv] == 1:
                continue
            px = bpx[side, lv]
            if not ((px < mid) if side == LONG else (px > mid)):
                continue
            if existing + pending + q > ip[I_MAXPOS]:
                continue
            _add_order(ot, st, out, ENTRY, side, lv, px, q, arrive, -1)
            pending += q


@njit(cache=True)
def run_kernel(
    o,
    h,
    lo,
    c,
    hf,
    lf,
    cf,
    ts,
    ip,
    fp,
    qtab,
    fu_bar,
    fu_rate,
    fu_next,
    fs_bar,
    fs_rate,
    fs_mark,
    equity,
    fl,
    out,
):
    """Run bars ``[ip[I_START], len)`` (earlier bars only warm the regime detector)."""
    n = o.shape[0]
    levels = ip[I_LEVELS]
    ot = np.zeros((_MAXO, O_COLS), np.int64)
    st = np.zeros(S_N_ST, np.int64)
    st[S_BASE_KEY_C] = -1
    st[S_CAP_L] = -1
    pos_avg = np.zeros(2, np.float64)
    money = np.zeros(1, np.float64)
    money[0] = fp[F_BALANCE]
    bpx = np.zeros((2, levels + 1), np.int64)
    bq = np.zeros((2, levels + 1), np.int64)
    cq = np.zeros((4, levels + 1), np.int64)  # rows 2-3: the diff's "kept" marks
    rs = np.zeros(15, np.float64)
    ri = np.zeros(10, np.int64)
    rej = np.zeros((_REJ_MAX, 2), np.int64)
    st[S_TRIPPED_AT] = -1
    _regime_reset(rs, ri)
    start = ip[I_START]
    interval = ip[I_INTERVAL_NS]
    fu_k = 0
    fs_k = 0
    rate = 0.0
    next_ns = -1
    have_funding = False
    peak = -1.0
    latched = False
    first = True
    for j in range(n):
        if j > 0 and ts[j] - ts[j - 1] >= 2 * interval:
            _regime_reset(rs, ri)
        if j < start:
            _regime_update(rs, ri, ip, fp, hf[j], lf[j], cf[j])
            st[S_LAST_PX] = c[j]
            continue
        st[S_NOW] = ts[j]
        _walk_bar(ot, st, pos_avg, money, out, fl, ip, fp, j, o[j], h[j], lo[j], c[j], first)
        first = False
        # -- on_bar
        st[S_LAST_PX] = c[j]
        _regime_update(rs, ri, ip, fp, hf[j], lf[j], cf[j])
        while fu_k < fu_bar.shape[0] and fu_bar[fu_k] <= j:
            rate = fu_rate[fu_k]
            next_ns = fu_next[fu_k]
            have_funding = True
            fu_k += 1
        unreal = (c[j] * fp[F_TICK] - pos_avg[LONG]) * st[S_POS_L] * fp[F_STEP]
        unreal -= (c[j] * fp[F_TICK] - pos_avg[SHORT]) * st[S_POS_S] * fp[F_STEP]
        eq = money[0] + unreal
        equity[j] = eq
        if peak < 0 or eq > peak:
            peak = eq
        if peak > 0 and (peak - eq) * 100.0 / peak >= fp[F_MAX_DD]:
            latched = True
        reg = ri[1]
        counter = SHORT if reg == _REG_UP else (LONG if reg == _REG_DOWN else -1)
        paying = -1
        if ip[I_FUNDING_ON] == 1 and have_funding:
            remaining = next_ns - ts[j]
            if 0 < remaining <= ip[I_WINDOW_NS] and rate != 0.0 and abs(rate) >= fp[F_RATE_THR]:
                paying = LONG if rate > 0 else SHORT
        if st[S_TRIPPED_AT] >= 0 and ts[j] - st[S_TRIPPED_AT] >= ip[I_COOLDOWN_NS]:
            st[S_TRIPPED_AT] = -1
        withdraw = latched or st[S_TRIPPED_AT] >= 0
        _bar_sync(ot, st, pos_avg, out, ip, fp, qtab, bpx, bq, cq, j, counter, paying, withdraw)
        # -- venue processing at the bar's time; a rejection retries the sync 5 s later
        _settle(ot, st, pos_avg, money, out, fl, ip, fp, j, c[j], rej)
        retries = 0
        while st[S_RETRY] == 1 and (retries + 1) * _RETRY_NS < interval:
            st[S_RETRY] = 0
            retries += 1
            st[S_NOW] = ts[j] + retries * _RETRY_NS
            if st[S_TRIPPED_AT] >= 0 and st[S_NOW] - st[S_TRIPPED_AT] >= ip[I_COOLDOWN_NS]:
                st[S_TRIPPED_AT] = -1
            withdraw = latched or st[S_TRIPPED_AT] >= 0
            _bar_sync(ot, st, pos_avg, out, ip, fp, qtab, bpx, bq, cq, j, counter, paying, withdraw)
            # the engine settles the venue after each timer batch: commands due by now
            # (this bar's, when latency <= the retry delay) arrive before the next bar
            _settle(ot, st, pos_avg, money, out, fl, ip, fp, j, c[j], rej)
        st[S_RETRY] = 0
        st[S_NOW] = ts[j]
        while fs_k < fs_bar.shape[0] and fs_bar[fs_k] <= j:
            for side in range(2):
                q = st[S_POS_L if side == LONG else S_POS_S]
                if q == 0:
                    continue
                amt = q * fp[F_STEP] * fs_mark[fs_k] * fs_rate[fs_k]
                amt = -amt if side == LONG else amt
                amt = round(amt * 1e8) / 1e8
                money[0] += amt
                if amt < 0:
                    out[R_FUNDING_PAID] -= amt
                else:
                    out[R_FUNDING_RECV] += amt
            fs_k += 1
    out[R_BALANCE] = money[0]
    out[R_LONG_QTY] = st[S_POS_L]
    out[R_SHORT_QTY] = st[S_POS_S]
    out[R_LONG_AVG] = pos_avg[LONG]
    out[R_SHORT_AVG] = pos_avg[SHORT]
    out[R_DD_LATCHED] = 1.0 if latched else 0.0
