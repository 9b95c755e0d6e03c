"""Bot API calls that must never fail the bot: a failure is counted and logged, not raised.

``Outbox`` wraps the ``BotApi`` of a running ``TelegramBot``: replies (retried after a
429, whose ``retry_after`` the api waits out), button answers and edits. Every failed
call, the poller's own included (``failed``), bumps ``api_errors{method}`` and is
logged without the URL (the token): ``TelegramError`` never carries it.
"""

from __future__ import annotations

from typing import Any

import structlog

from hedgegridd.telegram.api import BotApi, TelegramError, TelegramRateLimited
from hedgegridd.telegram.metrics import TelegramStats

log = structlog.get_logger(__name__)

SEND_ATTEMPTS = 3  # a reply retried after a 429 (retry_after waited) at most this often


class Outbox:
    """The bot's calls to Telegram whose failures are only counted and logged."""

    def __init__(self, api: BotApi, stats: TelegramStats) -> None:
        self.api = api
        self._stats = stats

    def failed(self, exc: TelegramError) -> None:
        """Count and log one failed Bot API call."""
        self._stats.api_errors[exc.method] += 1
        if isinstance(exc, TelegramRateLimited):
            self._stats.throttled_by_telegram += 1
            log.warning("telegram.retry_after", method=exc.method, retry_after_s=exc.retry_after)
        else:
            log.warning(
                "telegram.api_failed", method=exc.method, reason=exc.reason, status=exc.status
            )

    async def send(
        self, chat_id: int, text: str, *, reply_markup: dict[str, Any] | None = None
    ) -> None:
        """Send a reply; a 429 is retried (after ``retry_after``), other errors drop it."""
        for _ in range(SEND_ATTEMPTS):
            try:
                await self.api.send_message(chat_id, text, reply_markup=reply_markup)
                return
            except TelegramRateLimited as exc:
                self.failed(exc)  # the next attempt waits retry_after first
            except TelegramError as exc:
                self.failed(exc)
                return

    async def answer(self, query_id: str, text: str) -> None:
        """Answer a button tap (stops its spinner)."""
        try:
            await self.api.answer_callback_query(query_id, text)
        except TelegramError as exc:
            self.failed(exc)

    async def edit(self, chat_id: int, message_id: int, text: str) -> None:
        """Replace a message's text (and its keyboard)."""
        try:
            await self.api.edit_message_text(chat_id, message_id, text)
        except TelegramError as exc:
            self.failed(exc)
