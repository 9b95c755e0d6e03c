"""Group chats: ``/cmd@OurBot`` is ours (any case), ``/cmd@OtherBot`` is ignored; getMe first."""

from __future__ import annotations

import json

import pytest
import structlog
from prometheus_client import CollectorRegistry, generate_latest

from hedgegridd.telegram.commands import command_addressee
from tests.control.fakes import FakeDaemon
from tests.telegram.fakebot import FakeBotApi
from tests.telegram.helpers import ADMIN, READONLY, running_bot, until

pytestmark = pytest.mark.anyio


async def test_command_for_another_bot_is_ignored_and_ours_is_answered(
    log_events: structlog.testing.LogCapture,
) -> None:
    """/pause@OtherBot and /status@OtherBot get nothing; /status@HGTESTBOT is answered."""
    daemon = FakeDaemon()
    async with FakeBotApi() as fake, running_bot(fake, daemon) as bot:
        fake.push_message(ADMIN, "/pause@OtherBot")
        fake.push_message(READONLY, "/status@OtherBot")
        await until(lambda: bot.stats.other_bot_commands == 2)
        fake.push_message(READONLY, "/status@HGTESTBOT")  # ours: usernames ignore case
        fake.push_message(ADMIN, "/status")  # a bare command is ours too
        await until(lambda: len(fake.sent_to(READONLY)) == 1 and len(fake.sent_to(ADMIN)) == 1)
        registry = CollectorRegistry()
        registry.register(bot.collector())
        exposition = generate_latest(registry).decode()
    assert len(fake.sent) == 2  # the two status replies; no confirmation prompt for /pause
    assert all("60012.3" in m["text"] for m in fake.sent)
    assert daemon.strategy.pause_reasons == []
    assert daemon.journal.entries == []
    ignored = [e for e in log_events.entries if e["event"] == "telegram.other_bot_command"]
    assert [(e["chat_id"], e["command"], e["bot"]) for e in ignored] == [
        (ADMIN, "pause", "otherbot"),
        (READONLY, "status", "otherbot"),
    ]
    assert "hedgegridd_telegram_other_bot_commands_total 2.0" in exposition
    assert sum(bot.stats.commands.values()) == 2  # both answered commands counted


async def test_get_me_failure_backs_off_and_no_update_is_read_before_it_succeeds(
    log_events: structlog.testing.LogCapture,
) -> None:
    """A failing getMe is retried after the backoff, without the token; then commands run."""
    daemon = FakeDaemon()
    async with FakeBotApi() as fake:
        fake.fail_next("getMe", 502, f"Bad Gateway for /bot{fake.token}/getMe")
        fake.fail_next("getMe", 401, "Unauthorized")
        fake.push_message(ADMIN, "/status@hgtestbot")
        async with running_bot(fake, daemon) as bot:
            await until(lambda: len(fake.sent_to(ADMIN)) == 1)
        calls = [(c.method, c.status) for c in fake.calls]
    assert calls[:3] == [("getMe", 502), ("getMe", 401), ("getMe", 200)]
    assert "getMe" not in [method for method, _ in calls[3:]]  # learnt once
    assert bot.stats.api_errors["getMe"] == 2
    assert "60012.3" in fake.sent_to(ADMIN)[0]["text"]
    waits = [e["wait_s"] for e in log_events.entries if e["event"] == "telegram.poll_backoff"]
    assert waits[:2] == [0.05, 0.1]
    failed = [e for e in log_events.entries if e["event"] == "telegram.api_failed"]
    assert [(e["method"], e["status"]) for e in failed[:2]] == [("getMe", 502), ("getMe", 401)]
    [identified] = [e for e in log_events.entries if e["event"] == "telegram.identified"]
    assert identified["username"] == "hgtestbot"
    assert fake.token not in json.dumps(log_events.entries, default=repr)


@pytest.mark.parametrize(
    ("text", "addressee"),
    [
        ("/status", None),
        ("/status@SomeBot", "somebot"),
        ("/throttle@Some_Bot 0.5", "some_bot"),
        ("status@SomeBot", None),
        ("", None),
    ],
)
def test_command_addressee(text: str, addressee: str | None) -> None:
    """The @username of a command, lower-cased; None for bare commands and non-commands."""
    assert command_addressee(text) == addressee
