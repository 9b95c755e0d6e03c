"""A TelegramBot running against the fake Bot API and the control tests' fake daemon."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
from pydantic import SecretStr

from hedgegridd.telegram.config import TelegramConfig
from hedgegridd.telegram.poller import TelegramBot
from tests.control.fakes import FakeDaemon
from tests.telegram.fakebot import FakeBotApi

ADMIN = 4242
READONLY = -100777
STRANGER = 999


@dataclass
class FakeClock:
    """A monotonic clock the test moves by hand (confirmation expiry, rate limits)."""

    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def bot_config(fake: FakeBotApi, **overrides: Any) -> TelegramConfig:
    values: dict[str, Any] = {
        "enabled": True,
        "admin_chat_ids": [ADMIN],
        "readonly_chat_ids": [READONLY],
        "api_base_url": fake.base_url,
        "poll_timeout_s": 5,
        "backoff_initial_s": 0.05,
        "backoff_max_s": 0.2,
    }
    values.update(overrides)
    return TelegramConfig.model_validate(values)


@asynccontextmanager
async def running_bot(
    fake: FakeBotApi,
    daemon: FakeDaemon,
    *,
    clock: Callable[[], float] | None = None,
    token: str | None = None,
    **overrides: Any,
) -> AsyncIterator[TelegramBot]:
    """Start the bot as the supervisor does (``tg.start``), cancel it on exit."""
    kwargs: dict[str, Any] = {} if clock is None else {"clock": clock}
    bot = TelegramBot(
        bot_config(fake, **overrides),
        SecretStr(token or fake.token),
        daemon.backend(),
        daemon.journal,
        **kwargs,
    )
    async with anyio.create_task_group() as tg:
        await tg.start(bot.run)
        yield bot
        tg.cancel_scope.cancel()


async def until(cond: Callable[[], object], deadline_s: float = 30.0) -> None:
    """Poll ``cond`` until truthy (generous deadline for a loaded machine)."""
    with anyio.fail_after(deadline_s):
        while not cond():  # noqa: ASYNC110 - polling a plain predicate in tests
            await anyio.sleep(0.01)


def keyboard_data(message: dict[str, Any]) -> tuple[str, str]:
    """(confirm, cancel) callback_data of a confirmation prompt."""
    row = message["reply_markup"]["inline_keyboard"][0]
    return row[0]["callback_data"], row[1]["callback_data"]
