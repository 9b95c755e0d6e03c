"""Benchmark: validate + normalize + write of generated aggTrades rows into a catalog.

Prints rows/s of the pipeline (Validator.process + CatalogWriter.write/commit;
row generation excluded from the timing), peak RSS, and a baseline measured in
the same run: Nautilus's own path (TradeTick objects + ParquetDataCatalog.write_data)
on a smaller sample. Targets: >= 2M rows/s on 2 cores; peak RSS < 2 GB for 50M
rows (memory is bounded by --chunk-rows, not by the total).

    .venv/bin/python bench/data.py                # 10M rows
    .venv/bin/python bench/data.py --rows 50000000
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import structlog

from hedgegridd.data.catalog_writer import CatalogWriter
from hedgegridd.data.instruments import BTCUSDT_PERP
from hedgegridd.data.schema import DataKind
from hedgegridd.data.validate import Validator

START_MS = 1_704_067_200_000


def make_chunk(rng: np.random.Generator, first_id: int, n: int, t0: int, p0: float) -> pd.DataFrame:
    """n aggTrades rows in the archive layout: ids, 0.1-tick prices, 0.001-step sizes, ms times."""
    ticks = np.round(p0 * 10) + np.cumsum(rng.integers(-3, 4, n))
    times = t0 + np.cumsum(rng.integers(0, 40, n))
    ids = np.arange(first_id, first_id + n, dtype=np.int64)
    return pd.DataFrame(
        {
            "agg_trade_id": ids,
            "price": ticks / 10.0,
            "quantity": rng.integers(1, 5000, n) / 1000.0,
            "first_trade_id": ids * 2,
            "last_trade_id": ids * 2 + 1,
            "transact_time": times.astype(np.int64),
            "is_buyer_maker": rng.random(n) < 0.5,
        }
    )


def rss_mb() -> float:
    """Peak resident set size of this process so far, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_pipeline(root: Path, rows: int, chunk: int) -> tuple[float, float, int]:
    """Wall and CPU seconds spent validating/normalizing/writing ``rows`` rows; rows written.

    CPU time counts every thread of the process (the writer thread included), so
    it is a contention-robust figure on a shared machine; the wall time is the target.
    """
    rng = np.random.default_rng(1)
    validator = Validator(DataKind.AGG_TRADES, BTCUSDT_PERP, source="bench", time_unit="ms")
    writer = CatalogWriter(root, BTCUSDT_PERP)
    spent = 0.0
    cpu = 0.0
    t0, p0, done = START_MS, 50_000.0, 0
    while done < rows:
        n = min(chunk, rows - done)
        frame = make_chunk(rng, done + 1, n, t0, p0)
        t0 = int(frame.transact_time.iloc[-1])
        p0 = float(frame.price.iloc[-1])
        began, began_cpu = time.perf_counter(), time.process_time()
        writer.write(DataKind.AGG_TRADES, validator.process(frame, done + 1))
        spent += time.perf_counter() - began
        cpu += time.process_time() - began_cpu
        done += n
        del frame
    began, began_cpu = time.perf_counter(), time.process_time()
    validator.finish()
    stats = writer.commit()
    spent += time.perf_counter() - began
    cpu += time.process_time() - began_cpu
    return spent, cpu, stats[DataKind.AGG_TRADES].rows_written


def run_baseline(root: Path, rows: int) -> float:
    """Rows/s of Nautilus's object path (TradeTick list + catalog.write_data)."""
    from nautilus_trader.model.data import TradeTick
    from nautilus_trader.model.identifiers import InstrumentId
    from nautilus_trader.persistence.catalog import ParquetDataCatalog

    frame = make_chunk(np.random.default_rng(2), 1, rows, START_MS, 50_000.0)
    began = time.perf_counter()
    ts = (frame.transact_time.to_numpy() * 1_000_000).astype(np.uint64)
    ticks = TradeTick.from_raw_arrays_to_list(
        InstrumentId.from_str(BTCUSDT_PERP.instrument_id),
        1,
        3,
        frame.price.to_numpy().copy(),
        frame.quantity.to_numpy().copy(),
        np.where(frame.is_buyer_maker.to_numpy(), 2, 1).astype(np.uint8),
        frame.agg_trade_id.astype(str).tolist(),
        ts,
        ts.copy(),
    )
    ParquetDataCatalog(str(root)).write_data(ticks)
    return rows / (time.perf_counter() - began)


def run_archive_import(tmp: Path, rows: int) -> tuple[float, float]:
    """End-to-end ``run_import`` of a Binance aggTrades zip (unzip + CSV parse included).

    Returns (wall seconds, CPU seconds). File writing is not timed.
    """
    from hedgegridd.data.archive import write_archive
    from hedgegridd.data.importer import run_import

    frame = make_chunk(np.random.default_rng(3), 1, rows, START_MS, 50_000.0)
    path = write_archive(frame, DataKind.AGG_TRADES, tmp / "BTCUSDT-aggTrades-2024-01.zip")
    del frame
    began, began_cpu = time.perf_counter(), time.process_time()
    run_import(
        [path],
        kind=DataKind.AGG_TRADES,
        catalog=tmp / "archive-catalog",
        instrument=BTCUSDT_PERP,
        time_unit="ms",
    )
    return time.perf_counter() - began, time.process_time() - began_cpu


def main() -> None:
    """Run the benchmark and print figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--chunk-rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=500_000)
    parser.add_argument("--archive-rows", type=int, default=1_000_000)
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    tmp = Path(tempfile.mkdtemp(prefix="hg-bench-data-"))
    try:
        rss_before = rss_mb()
        spent, cpu, written = run_pipeline(tmp / "catalog", args.rows, args.chunk_rows)
        peak = rss_mb()
        size_mb = sum(f.stat().st_size for f in (tmp / "catalog").rglob("*.parquet")) / 2**20
        ours = written / spent
        base = run_baseline(tmp / "baseline", args.baseline_rows)
        print(f"aggTrades rows:            {written:,} (chunks of {args.chunk_rows:,})")
        print(
            f"validate+normalize+write:  {spent:.2f} s  = {ours / 1e6:.2f} M rows/s (target >= 2)"
        )
        print(f"  CPU time (all threads):  {cpu:.2f} s  = {written / cpu / 1e6:.2f} M rows/CPU-s")
        print(f"  load average (1 min):    {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
        print(
            f"peak RSS:                  {peak:.0f} MB (before: {rss_before:.0f} MB; target < 2048)"
        )
        print(f"catalog size:              {size_mb:.0f} MB")
        print(
            f"baseline (Nautilus objects, {args.baseline_rows:,} rows): {base / 1e6:.3f} M rows/s"
        )
        print(f"speed-up vs baseline:      {ours / base:.1f}x")
        if args.archive_rows:
            wall, cpu_a = run_archive_import(tmp, args.archive_rows)
            print(
                f"archive import (zip+CSV parse+validate+write, {args.archive_rows:,} rows): "
                f"{args.archive_rows / wall / 1e6:.2f} M rows/s wall, "
                f"{args.archive_rows / cpu_a / 1e6:.2f} M rows/CPU-s"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
