"""Vectorized validation and normalization of canonical frames, chunk by chunk.

``Validator(kind, ...)`` takes chunks of a source in its canonical layout
(``hedgegridd.data.schema.COLUMNS``) and returns normalized frames:

- klines / mark klines: ``ts_ns`` (bar CLOSE = open + 1 minute), ``open_ns``,
  ``open``, ``high``, ``low``, ``close``, ``volume``;
- agg trades: ``ts_ns``, ``agg_trade_id``, ``price``, ``quantity``, ``is_buyer_maker``;
- funding: ``ts_ns``, ``funding_rate``, ``mark_price`` (NaN if unknown), ``interval_hours``.

All checks are numpy/pandas column operations (no per-row Python). A bad row is
dropped, counted by reason and sampled with its file row number in
``RejectReport``; duplicates (same key as an earlier row) are dropped and counted
separately. ``Validator.finish()`` raises ``RejectThresholdError`` when rejected rows
exceed ``max_reject_fraction`` of the rows read. State (last key/time) carries
across chunks, so ordering and duplicates are checked over the whole source.
Timestamps are converted from the declared unit (``schema.to_ns``), never guessed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np
import pandas as pd

from hedgegridd.data.columns import Columns
from hedgegridd.data.gaps import GapTracker
from hedgegridd.data.instruments import InstrumentSpec
from hedgegridd.data.kinds import RejectThresholdError
from hedgegridd.data.schema import (
    MINUTE_NS,
    DataKind,
    TimeUnit,
    ns_per,
    outside_unit_range,
    unit_error,
)
from hedgegridd.errors import DataError

MAX_SAMPLES = 20

__all__ = ["RejectReport", "RejectThresholdError", "Validator"]


@dataclass
class RejectReport:
    """Counts of rows read, kept, rejected (by reason, with samples) and duplicated."""

    source: str
    rows_read: int = 0
    rows_kept: int = 0
    duplicates: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    samples: list[tuple[int, str]] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        """Total rejected rows (duplicates not included)."""
        return sum(self.rejected_by_reason.values())

    def add(self, reason: str, rows: np.ndarray, first_row: int) -> None:
        """Record rejected chunk-relative row indices under ``reason``."""
        if rows.size == 0:
            return
        self.rejected_by_reason[reason] = self.rejected_by_reason.get(reason, 0) + int(rows.size)
        room = MAX_SAMPLES - len(self.samples)
        if room > 0:
            self.samples.extend((first_row + int(i), reason) for i in rows[:room])


def _numeric(frame: pd.DataFrame, name: str) -> np.ndarray:
    col = frame[name]
    if col.dtype.kind in "if":
        return col.to_numpy(dtype=np.float64)
    return pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)


def _integer(frame: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Integer column and a mask of unparsable rows, exact for every int64 value.

    Text columns (a chunk with garbage in it) are parsed from their digits, never
    through float64; a float column (pandas' reading of an int column with empty
    cells) is only accepted while its values are exactly representable (< 2**53).
    """
    col = frame[name]
    if col.dtype.kind in "iu":
        values = col.to_numpy(dtype=np.int64)
        return values, np.zeros(values.size, dtype=bool)
    if col.dtype.kind == "f":
        as_float = col.to_numpy(dtype=np.float64)
        bad = ~np.isfinite(as_float) | (as_float != np.floor(as_float))
        if np.abs(np.where(bad, 0.0, as_float)).max(initial=0.0) >= 2.0**53:
            raise DataError(
                f"column {name}: integers beyond 2**53 next to empty cells cannot be "
                "read exactly; repair the empty rows first"
            )
        return np.where(bad, 0, as_float).astype(np.int64), bad
    text = col.astype(str).str.strip()
    good = text.str.fullmatch(r"\d{1,19}").fillna(False).to_numpy(dtype=bool)
    too_big = (text.str.len() == 19).to_numpy(dtype=bool) & (text > "9223372036854775807").to_numpy(
        dtype=bool
    )
    good = good & ~too_big
    values = text.where(good, "0").astype(np.int64).to_numpy()
    return values, ~good


def _bool(frame: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray]:
    col = frame[name]
    if col.dtype == bool:
        values = col.to_numpy(dtype=bool)
        return values, np.zeros(values.size, dtype=bool)
    text = col.astype(str).str.strip().str.lower()
    is_true = text.isin(("true", "1")).to_numpy()
    is_false = text.isin(("false", "0")).to_numpy()
    return is_true, ~(is_true | is_false)


def _on_grid(values: np.ndarray, increment: Decimal, decimals: int) -> np.ndarray:
    scaled = values * 10.0**decimals
    ints = np.round(scaled)
    step = int(increment.scaleb(decimals))
    ok: np.ndarray = (np.abs(scaled - ints) < 1e-6) & (np.mod(ints, step) == 0)
    return ok


def _select(ok: np.ndarray, columns: dict[str, np.ndarray]) -> Columns:
    """The ``ok`` rows of ``columns`` (no copy when every row is ok)."""
    if ok.all():
        return Columns(columns)
    return Columns({k: v[ok] for k, v in columns.items()})


class Validator:
    """Validate and normalize one source's chunks of one ``DataKind``."""

    def __init__(
        self,
        kind: DataKind,
        instrument: InstrumentSpec,
        *,
        source: str,
        time_unit: TimeUnit,
        max_reject_fraction: float = 0.001,
        trade_gap_ns: int = 5 * MINUTE_NS,
        funding_interval_hours: int = 8,
    ) -> None:
        if not 0 <= max_reject_fraction <= 1:
            raise DataError("max_reject_fraction must be within 0..1")
        self.kind = kind
        self.instrument = instrument
        self.source = source
        self.time_unit = time_unit
        self.max_reject_fraction = max_reject_fraction
        self.funding_interval_hours = funding_interval_hours
        self.report = RejectReport(source)
        self.gaps = GapTracker(kind, trade_gap_ns=trade_gap_ns)
        self._last_key: int | None = None
        self._last_ts: int | None = None

    def process(self, chunk: pd.DataFrame, first_row: int) -> Columns:
        """Validate ``chunk`` (row 0 is file row ``first_row``); return the normalized rows."""
        self.report.rows_read += len(chunk)
        if len(chunk) == 0:
            return self._empty()
        if self.kind in (DataKind.KLINES, DataKind.MARK_KLINES):
            out = self._klines(chunk, first_row)
        elif self.kind is DataKind.AGG_TRADES:
            out = self._trades(chunk, first_row)
        else:
            out = self._funding(chunk, first_row)
        self.report.rows_kept += len(out)
        self.gaps.update(out)
        return out

    def finish(self) -> RejectReport:
        """Raise ``RejectThresholdError`` if too many rows were rejected; else the report."""
        rep = self.report
        if rep.rows_read and rep.rejected > self.max_reject_fraction * rep.rows_read:
            first = ", ".join(f"row {r}: {why}" for r, why in rep.samples[:5])
            raise RejectThresholdError(
                f"{self.source}: {rep.rejected} of {rep.rows_read} rows rejected "
                f"({rep.rejected_by_reason}), above max_reject_fraction="
                f"{self.max_reject_fraction}; first: {first}"
            )
        return rep

    # -- per kind -----------------------------------------------------------

    def _empty(self) -> Columns:
        cols = {
            DataKind.KLINES: ["ts_ns", "open_ns", "open", "high", "low", "close", "volume"],
            DataKind.MARK_KLINES: ["ts_ns", "open_ns", "open", "high", "low", "close", "volume"],
            DataKind.AGG_TRADES: ["ts_ns", "agg_trade_id", "price", "quantity", "is_buyer_maker"],
            DataKind.FUNDING: ["ts_ns", "funding_rate", "mark_price", "interval_hours"],
        }[self.kind]
        return Columns({c: np.array([], dtype=np.int64) for c in cols})

    def _reject(
        self, checks: list[tuple[str, np.ndarray]], ok: np.ndarray, first_row: int
    ) -> np.ndarray:
        """Report the still-valid rows each check hits (in order) and drop them from ``ok``."""
        for reason, mask in checks:
            hit = ok & mask
            self.report.add(reason, np.flatnonzero(hit), first_row)
            ok = ok & ~hit
        return ok

    def _times(self, raw: np.ndarray, bad: np.ndarray, first_row: int) -> np.ndarray:
        """Declared-unit timestamps to ns; unparsable rows stay 0 (they are rejected).

        A parsable value outside 2017..2100 in the declared unit is not a bad row but
        a unit mismatch: ``DataError`` naming the file and row stops the import.
        """
        idx = np.flatnonzero(~bad)
        values = raw[idx]
        off = outside_unit_range(values, self.time_unit)
        if off.any():
            first = int(np.flatnonzero(off)[0])
            raise unit_error(
                self.source, first_row + int(idx[first]), int(values[first]), self.time_unit
            )
        ts = np.zeros(raw.size, dtype=np.int64)
        ts[idx] = values * ns_per(self.time_unit)
        return ts

    def _order(self, key: np.ndarray, ts: np.ndarray, ok: np.ndarray, first_row: int) -> np.ndarray:
        """Mark duplicates (key == earlier max) and out-of-order rows among ``ok`` rows."""
        idx = np.flatnonzero(ok)
        if idx.size == 0:
            return ok
        k, t = key[idx], ts[idx]
        seed_k = self._last_key if self._last_key is not None else np.iinfo(np.int64).min
        seed_t = self._last_ts if self._last_ts is not None else np.iinfo(np.int64).min
        prev_k = np.maximum.accumulate(np.concatenate(([seed_k], k)))[:-1]
        prev_t = np.maximum.accumulate(np.concatenate(([seed_t], t)))[:-1]
        dup = k == prev_k
        backwards = ((k < prev_k) | (t < prev_t)) & ~dup
        self.report.duplicates += int(dup.sum())
        self.report.add("out_of_order", idx[backwards], first_row)
        keep = ~(dup | backwards)
        if keep.any():
            self._last_key = int(max(seed_k, k[keep].max()))
            self._last_ts = int(max(seed_t, t[keep].max()))
        result = np.zeros(ok.size, dtype=bool)
        result[idx[keep]] = True
        return result

    def _klines(self, chunk: pd.DataFrame, first_row: int) -> Columns:
        rep = self.report
        open_raw, bad_time = _integer(chunk, "open_time")
        o, h, lo, c = (_numeric(chunk, n) for n in ("open", "high", "low", "close"))
        v = _numeric(chunk, "volume") if "volume" in chunk else np.zeros(len(chunk))
        v = np.where(np.isnan(v), 0.0, v) if self.kind is DataKind.MARK_KLINES else v
        unparsable = bad_time | ~np.isfinite(np.column_stack((o, h, lo, c, v))).all(axis=1)
        rep.add("unparsable", np.flatnonzero(unparsable), first_row)
        ok = ~unparsable
        open_ns = self._times(open_raw, unparsable, first_row)
        if "close_time" in chunk:
            close_raw, bad_close = _integer(chunk, "close_time")
            unit_minute = MINUTE_NS // ns_per(self.time_unit)
            wrong = ok & (bad_close | (close_raw - open_raw != unit_minute - 1))
            rep.add("bad_close_time", np.flatnonzero(wrong), first_row)
            ok &= ~wrong
        checks: list[tuple[str, np.ndarray]] = [
            ("misaligned_open_time", open_ns % MINUTE_NS != 0),
            ("non_positive_price", (o <= 0) | (h <= 0) | (lo <= 0) | (c <= 0)),
            ("negative_volume", v < 0),
            (
                "ohlc_inconsistent",
                (h < np.maximum.reduce([o, c, lo])) | (lo > np.minimum.reduce([o, c, h])),
            ),
        ]
        if self.kind is DataKind.KLINES:
            spec = self.instrument
            off = ~(
                _on_grid(o, spec.tick_size, spec.price_precision)
                & _on_grid(h, spec.tick_size, spec.price_precision)
                & _on_grid(lo, spec.tick_size, spec.price_precision)
                & _on_grid(c, spec.tick_size, spec.price_precision)
            )
            checks.append(("price_off_tick", off))
        ok = self._reject(checks, ok, first_row)
        ok = self._order(open_ns, open_ns, ok, first_row)
        return _select(
            ok,
            {
                "ts_ns": open_ns + MINUTE_NS,
                "open_ns": open_ns,
                "open": o,
                "high": h,
                "low": lo,
                "close": c,
                "volume": v,
            },
        )

    def _trades(self, chunk: pd.DataFrame, first_row: int) -> Columns:
        rep = self.report
        spec = self.instrument
        ids, bad_id = _integer(chunk, "agg_trade_id")
        t_raw, bad_time = _integer(chunk, "transact_time")
        price = _numeric(chunk, "price")
        qty = _numeric(chunk, "quantity")
        maker, bad_maker = _bool(chunk, "is_buyer_maker")
        unparsable = bad_id | bad_time | bad_maker | ~np.isfinite(price) | ~np.isfinite(qty)
        rep.add("unparsable", np.flatnonzero(unparsable), first_row)
        ok = ~unparsable
        ts = self._times(t_raw, unparsable, first_row)
        checks = [
            ("non_positive_price", price <= 0),
            ("non_positive_quantity", qty <= 0),
            ("price_off_tick", ~_on_grid(price, spec.tick_size, spec.price_precision)),
            ("quantity_off_step", ~_on_grid(qty, spec.step_size, spec.size_precision)),
        ]
        ok = self._reject(checks, ok, first_row)
        ok = self._order(ids, ts, ok, first_row)
        return _select(
            ok,
            {
                "ts_ns": ts,
                "agg_trade_id": ids,
                "price": price,
                "quantity": qty,
                "is_buyer_maker": maker,
            },
        )

    def _funding(self, chunk: pd.DataFrame, first_row: int) -> Columns:
        rep = self.report
        t_raw, bad_time = _integer(chunk, "funding_time")
        rate = _numeric(chunk, "funding_rate")
        mark = (
            _numeric(chunk, "mark_price") if "mark_price" in chunk else np.full(len(chunk), np.nan)
        )
        if "interval_hours" in chunk:
            hours = _numeric(chunk, "interval_hours")
            hours = np.where(np.isfinite(hours), hours, self.funding_interval_hours)
        else:
            hours = np.full(len(chunk), float(self.funding_interval_hours))
        unparsable = bad_time | ~np.isfinite(rate)
        rep.add("unparsable", np.flatnonzero(unparsable), first_row)
        ok = ~unparsable
        ts = self._times(t_raw, unparsable, first_row)
        checks = [
            ("funding_rate_out_of_range", np.abs(rate) >= 0.1),
            ("non_positive_price", mark <= 0),
            ("bad_interval", (hours < 1) | (hours > 24)),
        ]
        ok = self._reject(checks, ok, first_row)
        ok = self._order(ts, ts, ok, first_row)
        return _select(
            ok,
            {
                "ts_ns": ts,
                "funding_rate": rate,
                "mark_price": mark,
                "interval_hours": hours.astype(np.int64),
            },
        )
