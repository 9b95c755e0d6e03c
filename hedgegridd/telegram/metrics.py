"""Counters of the Telegram bot and their Prometheus families (read on scrape)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

P = "hedgegridd_telegram_"


@dataclass
class TelegramStats:
    """What the bot counts; bumped on the event loop."""

    unknown_chat: Counter[str] = field(default_factory=Counter)  # by update kind
    commands: Counter[tuple[str, str]] = field(default_factory=Counter)  # (command, outcome)
    rate_limited: int = 0  # commands refused by the per-chat limit
    other_bot_commands: int = 0  # "/cmd@otherbot" in a listed chat: ignored, not answered
    api_errors: Counter[str] = field(default_factory=Counter)  # by Bot API method
    throttled_by_telegram: int = 0  # 429 answers
    poll_ok: bool = False  # the last getUpdates succeeded


class TelegramCollector(Collector):
    """``hedgegridd_telegram_*`` families from a ``TelegramStats``."""

    def __init__(self, stats: TelegramStats) -> None:
        self._stats = stats

    def collect(self) -> Iterable[Metric]:
        s = self._stats
        unknown = CounterMetricFamily(
            P + "unknown_chat_attempts",
            "Updates from chats not listed in [telegram] (never answered).",
            labels=["kind"],
        )
        for kind in sorted(set(s.unknown_chat) | {"message", "callback_query"}):
            unknown.add_metric([kind], s.unknown_chat.get(kind, 0))
        yield unknown
        commands = CounterMetricFamily(
            P + "commands",
            "Commands by command and outcome (ok or error code).",
            labels=["command", "outcome"],
        )
        for (command, outcome), count in sorted(s.commands.items()):
            commands.add_metric([command, outcome], count)
        yield commands
        yield CounterMetricFamily(
            P + "rate_limited",
            "Commands refused by the per-chat rate limit.",
            value=s.rate_limited,
        )
        yield CounterMetricFamily(
            P + "other_bot_commands",
            "Commands addressed to another bot (/cmd@otherbot), ignored without a reply.",
            value=s.other_bot_commands,
        )
        errors = CounterMetricFamily(
            P + "api_errors", "Failed Bot API calls by method.", labels=["method"]
        )
        for method, count in sorted(s.api_errors.items()):
            errors.add_metric([method], count)
        yield errors
        yield CounterMetricFamily(
            P + "retry_after",
            "429 answers from Telegram (retry_after honoured).",
            value=s.throttled_by_telegram,
        )
        yield GaugeMetricFamily(
            P + "poll_ok", "1 when the last getUpdates succeeded.", value=int(s.poll_ok)
        )
