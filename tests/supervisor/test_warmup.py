"""Tests of the async warmup against a fake Binance REST API."""

from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import SecretStr

from hedgegridd.errors import ConfigError, VenueRefusedError, WarmupError
from hedgegridd.supervisor.settings import WarmupSettings
from hedgegridd.supervisor.warmup import run_warmup
from hedgegridd.venues.guards import BinanceKeys

from .fake_binance import FakeBinance, serve_fake_binance

KEYS = BinanceKeys(api_key=SecretStr("fake-key"), api_secret=SecretStr("fake-secret"))
FAST = WarmupSettings(total_deadline_s=20, max_attempts=3, history_bars=50)


@pytest.mark.asyncio
async def test_warmup_fetches_everything_with_signed_hedge_check() -> None:
    """Warmup returns the instrument, hedge mode, skew, closed bars only and funding."""
    async with serve_fake_binance(FakeBinance()) as fake:
        result = await run_warmup(
            base_url=fake.base_url,
            symbol="BTCUSDT",
            settings=FAST,
            keys=KEYS,
            require_hedge_mode=True,
        )
    assert result.spec.tick_size == Decimal("0.10")
    assert result.hedge_mode is True
    assert len(result.bars) == 50
    assert all(b.close_time_ms < b.open_time_ms + 60_000 for b in result.bars)
    assert result.funding_rate == Decimal("0.0001")
    assert "GET /fapi/v1/positionSide/dual" in fake.seen


@pytest.mark.asyncio
async def test_open_bar_is_dropped() -> None:
    """The still-open kline Binance returns last is not handed to the indicators."""
    async with serve_fake_binance(FakeBinance()) as fake:
        result = await run_warmup(
            base_url=fake.base_url,
            symbol="BTCUSDT",
            settings=WarmupSettings(history_bars=5),
            keys=None,
            require_hedge_mode=False,
        )
    assert len(result.bars) == 5
    assert result.bars[-1].close == Decimal("50005.0")  # the 6th (open) row, close 50006, dropped


@pytest.mark.asyncio
async def test_netting_account_refused() -> None:
    """An account in one-way mode is refused, never downgraded to netting."""
    async with serve_fake_binance(FakeBinance(hedge_mode=False)) as fake:
        with pytest.raises(VenueRefusedError, match="hedge mode"):
            await run_warmup(
                base_url=fake.base_url,
                symbol="BTCUSDT",
                settings=FAST,
                keys=KEYS,
                require_hedge_mode=True,
            )


@pytest.mark.asyncio
async def test_transient_errors_are_retried() -> None:
    """5xx and 429 answers are retried within the attempt budget."""
    fake = FakeBinance(fail={"/fapi/v1/exchangeInfo": [503, 429]})
    async with serve_fake_binance(fake):
        result = await run_warmup(
            base_url=fake.base_url,
            symbol="BTCUSDT",
            settings=FAST,
            keys=None,
            require_hedge_mode=False,
        )
    assert result.spec.symbol == "BTCUSDT"
    assert fake.seen.count("GET /fapi/v1/exchangeInfo") == 3


@pytest.mark.asyncio
async def test_retries_are_bounded() -> None:
    """A venue failing every attempt gives WarmupError after max_attempts."""
    fake = FakeBinance(fail={"/fapi/v1/exchangeInfo": [500] * 10})
    async with serve_fake_binance(fake):
        with pytest.raises(WarmupError, match="after 3 attempts"):
            await run_warmup(
                base_url=fake.base_url,
                symbol="BTCUSDT",
                settings=FAST,
                keys=None,
                require_hedge_mode=False,
            )
    assert fake.seen.count("GET /fapi/v1/exchangeInfo") == 3


@pytest.mark.asyncio
async def test_rejected_credentials_are_a_config_error() -> None:
    """A bad signature is a ConfigError (exit 78: a restart will not fix it), not retried."""
    wrong = BinanceKeys(api_key=SecretStr("fake-key"), api_secret=SecretStr("wrong-secret"))
    async with serve_fake_binance(FakeBinance()) as fake:
        with pytest.raises(ConfigError, match="rejected the API credentials"):
            await run_warmup(
                base_url=fake.base_url,
                symbol="BTCUSDT",
                settings=FAST,
                keys=wrong,
                require_hedge_mode=True,
            )
    assert fake.seen.count("GET /fapi/v1/positionSide/dual") == 1
    assert "wrong-secret" not in str(fake.seen)


@pytest.mark.asyncio
async def test_clock_skew_refused() -> None:
    """A server clock far from ours is a WarmupError naming the setting."""
    async with serve_fake_binance(FakeBinance(server_time_offset_ms=120_000)) as fake:
        with pytest.raises(WarmupError, match="max_clock_skew_ms"):
            await run_warmup(
                base_url=fake.base_url,
                symbol="BTCUSDT",
                settings=FAST,
                keys=None,
                require_hedge_mode=False,
            )


@pytest.mark.asyncio
async def test_unknown_symbol_refused() -> None:
    """A symbol missing from exchangeInfo is a venue refusal."""
    async with serve_fake_binance(FakeBinance()) as fake:
        with pytest.raises(VenueRefusedError, match="ETHUSDT"):
            await run_warmup(
                base_url=fake.base_url,
                symbol="ETHUSDT",
                settings=FAST,
                keys=None,
                require_hedge_mode=False,
            )


@pytest.mark.asyncio
async def test_total_deadline_bounds_warmup() -> None:
    """An unreachable venue fails within the total deadline."""
    settings = WarmupSettings(total_deadline_s=0.5, max_attempts=20, request_timeout_s=5)
    with pytest.raises(WarmupError):
        await run_warmup(
            base_url="http://127.0.0.1:9",
            symbol="BTCUSDT",
            settings=settings,
            keys=None,
            require_hedge_mode=False,
        )
