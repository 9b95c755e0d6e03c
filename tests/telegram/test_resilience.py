"""A failing, throttling or silent Telegram: retry_after honoured, backoff capped, no token."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import aiohttp
import anyio
import pytest
import structlog
from pydantic import SecretStr

from hedgegridd.telegram.api import BotApi, TelegramError, TelegramUnauthorized
from tests.control.fakes import FakeDaemon
from tests.telegram.fakebot import FakeBotApi
from tests.telegram.helpers import ADMIN, running_bot, until

pytestmark = pytest.mark.anyio

EPSILON_S = 0.05  # timer granularity; the assertion is a lower bound only


async def test_429_on_get_updates_delays_the_next_poll_by_retry_after() -> None:
    """After a 429 with retry_after=1 the next getUpdates comes >= 1 s later."""
    daemon = FakeDaemon()
    async with FakeBotApi() as fake:
        fake.fail_next("getUpdates", 429, "Too Many Requests: retry after 1", retry_after=1)
        async with running_bot(fake, daemon) as bot:
            await until(lambda: len(fake.calls_of("getUpdates")) >= 2)
            assert bot.stats.throttled_by_telegram == 1
        first, second = fake.calls_of("getUpdates")[:2]
    assert first.status == 429
    assert second.status == 200
    assert second.at - first.at >= 1 - EPSILON_S


async def test_429_on_send_message_is_retried_after_retry_after() -> None:
    """A reply throttled by Telegram is sent again once retry_after has passed."""
    daemon = FakeDaemon()
    async with FakeBotApi() as fake, running_bot(fake, daemon):
        fake.fail_next("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
        fake.push_message(ADMIN, "/status")
        await until(lambda: len(fake.sent_to(ADMIN)) == 1)
        sends = fake.calls_of("sendMessage")
    assert [c.status for c in sends] == [429, 200]
    assert sends[1].at - sends[0].at >= 1 - EPSILON_S
    assert "60012.3" in fake.sent_to(ADMIN)[0]["text"]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_network_errors_back_off_doubling_to_the_cap(
    log_events: structlog.testing.LogCapture,
) -> None:
    """Nothing listening: waits 0.05, 0.1, 0.2, 0.2 ... (capped), logged without the token."""
    daemon = FakeDaemon()
    async with FakeBotApi() as fake:
        base = f"http://127.0.0.1:{_closed_port()}"
        async with running_bot(fake, daemon, api_base_url=base) as bot:
            await until(lambda: bot.stats.api_errors["getMe"] >= 5)  # the first call
    waits = [e["wait_s"] for e in log_events.entries if e["event"] == "telegram.poll_backoff"]
    assert waits[:4] == [0.05, 0.1, 0.2, 0.2]
    assert max(waits) == 0.2
    failed = [e for e in log_events.entries if e["event"] == "telegram.api_failed"]
    assert failed[0]["reason"] == "ClientConnectorError"
    assert fake.token not in json.dumps(log_events.entries, default=repr)


async def test_token_never_in_logs_errors_or_replies(
    log_events: structlog.testing.LogCapture,
) -> None:
    """401 (bad token), 5xx, a non-JSON body and a 400 that echoes the URL: no token anywhere."""
    daemon = FakeDaemon()
    wrong = "987654:WRONG-secret-token-value-xyz"
    async with FakeBotApi() as fake:
        async with running_bot(fake, daemon, token=wrong) as bot:
            await until(lambda: bot.stats.api_errors["getMe"] >= 2)  # 401: the first call
        async with running_bot(fake, daemon) as bot:
            fake.fail_next("getUpdates", 502, f"Bad Gateway for /bot{fake.token}/getUpdates")
            fake.fail_next("sendMessage", 400, f"Bad Request: url /bot{fake.token}/sendMessage")
            fake.push_message(ADMIN, "/status")
            await until(lambda: bot.stats.api_errors["sendMessage"] >= 1)
            fake.push_message(ADMIN, "/pause")
            await until(lambda: len(fake.sent_to(ADMIN)) == 1)
    captured = json.dumps(log_events.entries, default=repr)
    assert "HTTP 401" in captured  # the failures were logged ...
    assert "<redacted>" in captured  # ... with Telegram's description cleaned
    assert wrong not in captured
    assert fake.token not in captured
    replies = json.dumps([fake.sent, fake.answers, fake.edits])
    assert fake.token not in replies
    assert wrong not in replies


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A TCP port that accepts connections and never answers (a hung Telegram)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    try:
        yield int(server.getsockname()[1])
    finally:
        server.close()


async def test_hung_telegram_times_out_and_never_blocks_the_loop(silent_server: int) -> None:
    """The bot starts at once, its calls time out, other tasks keep their pace meanwhile."""
    daemon = FakeDaemon()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await anyio.sleep(0.01)

    async with FakeBotApi() as fake, anyio.create_task_group() as tg:
        tg.start_soon(ticker)
        base = f"http://127.0.0.1:{silent_server}"
        with anyio.fail_after(30):
            async with running_bot(
                fake, daemon, api_base_url=base, poll_timeout_s=1, request_timeout_s=0.2
            ) as bot:
                before = ticks
                await until(lambda: bot.stats.api_errors["getMe"] >= 2)
                assert ticks > before  # the loop kept running while Telegram hung
        tg.cancel_scope.cancel()


async def test_api_errors_are_typed_and_carry_no_url() -> None:
    """The client maps 401 to TelegramUnauthorized and a connection error to its type only."""
    async with FakeBotApi() as fake, aiohttp.ClientSession() as session:
        api = BotApi(session, base_url=fake.base_url, token=SecretStr("1:bad"), request_timeout_s=5)
        with pytest.raises(TelegramUnauthorized) as bad:
            await api.send_message(ADMIN, "hi")
        closed = BotApi(
            session,
            base_url=f"http://127.0.0.1:{_closed_port()}",
            token=SecretStr(fake.token),
            request_timeout_s=5,
        )
        with pytest.raises(TelegramError) as down:
            await closed.send_message(ADMIN, "hi")
    assert bad.value.status == 401
    assert "1:bad" not in str(bad.value)
    assert str(down.value) == "telegram sendMessage failed: ClientConnectorError"
    assert down.value.__context__ is None
    assert down.value.__cause__ is None
