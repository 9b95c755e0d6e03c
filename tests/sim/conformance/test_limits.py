"""Request-weight headers and 429/418 as third-party clients see them."""

from __future__ import annotations

import ccxt
import pytest

from tests.sim.conformance.harness import SYMBOL, ccxt_client, running_sim


@pytest.mark.asyncio
async def test_used_weight_header_reaches_the_client() -> None:
    """General Info "LIMITS" (IP Limits): every response carries X-MBX-USED-WEIGHT-1M."""
    async with running_sim() as sim, ccxt_client(sim) as ex:
        await ex.load_markets()
        await ex.fetch_order_book(SYMBOL, limit=5)
        headers = {k.lower(): v for k, v in ex.last_response_headers.items()}
        first = int(headers["x-mbx-used-weight-1m"])
        await ex.fetch_order_book(SYMBOL, limit=5)
        headers = {k.lower(): v for k, v in ex.last_response_headers.items()}
        assert int(headers["x-mbx-used-weight-1m"]) > first >= 1


@pytest.mark.asyncio
async def test_429_then_418_raise_rate_limit_and_ddos_protection() -> None:
    """General Info "LIMITS": over the weight limit HTTP 429 (-1003), repeated violations
    an HTTP 418 IP ban; ccxt's binance raises DDoSProtection for both statuses."""
    async with running_sim(ban_after_429s=2) as sim, ccxt_client(sim) as ex:
        await ex.load_markets()
        sim.set_weight_limit(0)
        with pytest.raises(ccxt.DDoSProtection, match=" 429 "):
            await ex.fetch_time()
        assert sim.limiter.count_429 == 1
        for _ in range(10):
            with pytest.raises(ccxt.DDoSProtection) as info:
                await ex.fetch_time()
            if sim.limiter.count_418:
                break
        assert " 418 " in str(info.value)
        assert sim.limiter.count_418 >= 1
        headers = {k.lower(): v for k, v in ex.last_response_headers.items()}
        assert int(headers["retry-after"]) > 0
