"""REST history client and fetch against a local server speaking Binance's wire format."""

from __future__ import annotations

from pathlib import Path

import pytest

from hedgegridd.data.catalog import load_bars, load_funding, load_mark_prices, load_trades
from hedgegridd.data.fetch import run_fetch
from hedgegridd.data.instruments import BTCUSDT_PERP
from hedgegridd.data.rest import (
    BinanceHistoryClient,
    FetchError,
    RestConfig,
)
from hedgegridd.data.schema import DataKind

pytestmark = pytest.mark.asyncio


class Sleeps:
    """Records requested sleeps instead of sleeping (retries and weight waits)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _client(fake, sleeps: Sleeps, **cfg) -> BinanceHistoryClient:
    config = RestConfig(base_url=fake.base_url, backoff_initial_s=0.01, **cfg)
    return BinanceHistoryClient(config, sleep=sleeps, clock=lambda: fake.now_ms / 1000)


async def _fetch(fake, tmp_path: Path, kind: DataKind, client=None, **kw):
    sleeps = Sleeps()
    async with client or _client(fake, sleeps) as c:
        return await run_fetch(
            c,
            kind=kind,
            catalog=str(tmp_path / "cat"),
            instrument=BTCUSDT_PERP,
            start_ms=kw.pop("start_ms", fake.data.spec.start_ms),
            end_ms=kw.pop("end_ms", fake.data.spec.end_ms - 1),
            **kw,
        )


async def test_fetch_klines_into_catalog(fake_binance, tmp_path: Path) -> None:
    """A day of klines arrives with Binance's array format and lands as 1440 bars."""
    summary = await _fetch(fake_binance, tmp_path, DataKind.KLINES)
    assert summary.rows_written == 1440
    bars = load_bars(tmp_path / "cat")
    assert len(bars) == 1440
    assert float(bars[10].close) == pytest.approx(fake_binance.data.bars.close.iloc[10])
    assert fake_binance.requests[0][1]["interval"] == "1m"


async def test_agg_trades_respect_one_hour_window_and_page_by_id(
    fake_binance, tmp_path: Path
) -> None:
    """aggTrades are walked in < 1 h windows (the server refuses more) and by fromId."""
    summary = await _fetch(fake_binance, tmp_path, DataKind.AGG_TRADES, batch_rows=5000)
    trades = fake_binance.data.trades
    assert summary.rows_written == len(trades)
    assert summary.rejected == 0
    assert len(load_trades(tmp_path / "cat")) == len(trades)
    windows = [q for p, q in fake_binance.requests if "startTime" in q]
    assert len(windows) == 24
    assert all(int(q["endTime"]) - int(q["startTime"]) < 3_600_000 for q in windows)
    assert any("fromId" in q for _, q in fake_binance.requests)


async def test_fetch_funding(fake_binance, tmp_path: Path) -> None:
    """Funding objects (fundingTime, fundingRate, markPrice) become FundingRateUpdates."""
    summary = await _fetch(fake_binance, tmp_path, DataKind.FUNDING)
    assert summary.rows_written == 3
    rates = load_funding(tmp_path / "cat")
    assert [
        r.ts_event // 1_000_000 for r in rates
    ] == fake_binance.data.funding.funding_time.tolist()


async def test_binance_error_json_fails_without_retry(fake_binance) -> None:
    """A -1121 error reply is a FetchError carrying Binance's code; no retry storm."""
    sleeps = Sleeps()
    async with _client(fake_binance, sleeps) as client:
        with pytest.raises(FetchError, match="-1121: Invalid symbol"):
            async for _ in client.klines("NOPEUSDT", 0, 10**13):
                pass
    assert len(fake_binance.requests) == 1
    assert sleeps.calls == []


async def test_429_honours_retry_after(fake_binance, log_events) -> None:
    """A 429 is retried after exactly its Retry-After, then the data comes through."""
    fake_binance.fault(
        "/fapi/v1/fundingRate",
        429,
        {"code": -1003, "msg": "Too many requests"},
        {"Retry-After": "7"},
    )
    sleeps = Sleeps()
    async with _client(fake_binance, sleeps) as client:
        pages = [p async for p in client.funding_rates("BTCUSDT", 0, 10**13)]
    assert sum(len(p) for p in pages) == 3
    assert sleeps.calls == [7.0]
    assert any(e["event"] == "data.rest.rate_limited" for e in log_events.entries)


async def test_418_ban_longer_than_allowed_fails_fast(fake_binance) -> None:
    """A 418 ban longer than max_retry_after_s fails at once instead of waiting an hour."""
    fake_binance.fault(
        "/fapi/v1/klines", 418, {"code": -1003, "msg": "banned"}, {"Retry-After": "3600"}
    )
    sleeps = Sleeps()
    async with _client(fake_binance, sleeps, max_retry_after_s=120) as client:
        with pytest.raises(FetchError, match="418"):
            async for _ in client.klines("BTCUSDT", 0, 10**13):
                pass
    assert sleeps.calls == []


async def test_server_errors_retried_with_backoff_then_give_up(fake_binance) -> None:
    """5xx replies are retried with backoff; after max_attempts the fetch fails."""
    for _ in range(2):
        fake_binance.fault("/fapi/v1/fundingRate", 503, {"code": -1001, "msg": "busy"})
    sleeps = Sleeps()
    async with _client(fake_binance, sleeps) as client:
        pages = [p async for p in client.funding_rates("BTCUSDT", 0, 10**13)]
    assert len(pages) == 1
    assert len(sleeps.calls) == 2
    for _ in range(3):
        fake_binance.fault("/fapi/v1/fundingRate", 500, {"code": -1000, "msg": "x"})
    async with _client(fake_binance, Sleeps(), max_attempts=3) as client:
        with pytest.raises(FetchError, match="gave up after 3 attempts"):
            async for _ in client.funding_rates("BTCUSDT", 0, 10**13):
                pass


async def test_used_weight_header_makes_client_wait(fake_binance) -> None:
    """When the reported weight nears the limit, the next request waits for the next minute."""
    fake_binance.weight_used = 1950
    fake_binance.now_ms = 1_700_000_080_000  # 40 s into a minute
    sleeps = Sleeps()
    async with _client(fake_binance, sleeps) as client:
        await client.get("/fapi/v1/fundingRate", {"symbol": "BTCUSDT", "limit": 1}, weight=1)
        assert client.weight.used == 1951
        await client.get("/fapi/v1/fundingRate", {"symbol": "BTCUSDT", "limit": 1}, weight=1)
    assert sleeps.calls == [pytest.approx(20.05)]


async def test_open_kline_is_not_written(fake_binance, tmp_path: Path) -> None:
    """A kline whose minute has not closed yet is dropped, not stored half-formed."""
    start = fake_binance.data.spec.start_ms
    fake_binance.now_ms = start + 100 * 60_000 + 30_000  # mid-way through minute 100
    summary = await _fetch(fake_binance, tmp_path, DataKind.KLINES)
    assert summary.rows_written == 100


async def test_fetch_resumes_after_catalog_end(fake_binance, tmp_path: Path) -> None:
    """A second fetch starts where the catalog ends and the result has no duplicates."""
    start = fake_binance.data.spec.start_ms
    first = await _fetch(fake_binance, tmp_path, DataKind.KLINES, end_ms=start + 599 * 60_000)
    assert first.rows_written == 600
    fake_binance.requests.clear()
    second = await _fetch(fake_binance, tmp_path, DataKind.KLINES)
    assert int(fake_binance.requests[0][1]["startTime"]) == start + 600 * 60_000
    assert second.rows_written == 840
    assert len(load_bars(tmp_path / "cat")) == 1440


async def test_unexpected_reply_shape_is_fetch_error(fake_binance) -> None:
    """A 200 reply that is not Binance's JSON array fails clearly instead of being parsed."""
    fake_binance.fault("/fapi/v1/aggTrades", 200, {"unexpected": True})
    async with _client(fake_binance, Sleeps()) as client:
        with pytest.raises(FetchError, match="expected a JSON array"):
            async for _ in client.agg_trades("BTCUSDT", 1_704_067_200_000, 1_704_067_300_000):
                pass


async def test_fetch_mark_price_klines(fake_binance, tmp_path: Path) -> None:
    """markPriceKlines pages become MarkPriceUpdates stamped at each bar's close."""
    summary = await _fetch(fake_binance, tmp_path, DataKind.MARK_KLINES)
    assert summary.rows_written == 1440
    marks = load_mark_prices(tmp_path / "cat")
    assert len(marks) == 1440
    assert marks[0].ts_event == (fake_binance.data.spec.start_ms + 60_000) * 1_000_000
    assert any(p == "/fapi/v1/markPriceKlines" for p, _ in fake_binance.requests)


async def test_failed_fetch_keeps_committed_batches_and_resumes(
    fake_binance, tmp_path: Path
) -> None:
    """A fetch failing mid-way keeps whole committed batches; a rerun completes it exactly."""
    fake_binance.fail_at["/fapi/v1/aggTrades"] = 12
    with pytest.raises(FetchError, match="-1003"):
        await _fetch(fake_binance, tmp_path, DataKind.AGG_TRADES, batch_rows=3000)
    stored = load_trades(tmp_path / "cat")
    assert 0 < len(stored) < len(fake_binance.data.trades)
    assert not list((tmp_path / "cat").glob(".staging-*"))
    fake_binance.fail_at.clear()
    await _fetch(fake_binance, tmp_path, DataKind.AGG_TRADES, batch_rows=3000)
    ids = [int(t.trade_id.value) for t in load_trades(tmp_path / "cat")]
    assert ids == fake_binance.data.trades.agg_trade_id.tolist()
