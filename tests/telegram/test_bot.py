"""TelegramBot against the fake Bot API: access per chat, confirmations, dispatch, journal."""

from __future__ import annotations

import pytest
import structlog
from prometheus_client import CollectorRegistry, generate_latest

from hedgegridd.control.protocol import ErrorCode, parse_request
from hedgegridd.errors import ControlError
from tests.control.fakes import FakeDaemon
from tests.telegram.fakebot import FakeBotApi
from tests.telegram.helpers import (
    ADMIN,
    READONLY,
    STRANGER,
    FakeClock,
    keyboard_data,
    running_bot,
    until,
)

pytestmark = pytest.mark.anyio


async def test_admin_status_then_pause_after_confirmation() -> None:
    """/status answers at once; /pause runs only after the button, as telegram:<chat>."""
    daemon = FakeDaemon()
    async with FakeBotApi() as fake, running_bot(fake, daemon):
        fake.push_message(ADMIN, "/status")
        await until(lambda: len(fake.sent_to(ADMIN)) == 1)
        status = fake.sent_to(ADMIN)[0]
        assert status["parse_mode"] == "HTML"
        assert "60012.3" in status["text"]  # last price of the fake strategy
        assert "RUNNING" in status["text"]

        fake.push_message(ADMIN, "/pause")
        await until(lambda: len(fake.sent_to(ADMIN)) == 2)
        prompt = fake.sent_to(ADMIN)[1]
        assert "/pause" in prompt["text"]
        confirm, _cancel = keyboard_data(prompt)
        assert daemon.strategy.pause_reasons == []  # nothing runs before the tap
        assert daemon.journal.entries == []

        fake.push_callback(ADMIN, confirm, prompt["message_id"])
        await until(lambda: len(fake.sent_to(ADMIN)) == 3)
        assert "PAUSED" in fake.sent_to(ADMIN)[2]["text"]
        assert fake.answers[0]["text"].startswith("Confirmed")
        assert fake.edits[0]["message_id"] == prompt["message_id"]  # keyboard replaced
    assert daemon.strategy.pause_reasons == ["operator"]
    [entry] = daemon.journal.entries
    assert entry["kind"] == "control.command"
    assert entry["actor"] == f"telegram:{ADMIN}"
    assert entry["details"]["command"] == "pause"
    assert entry["details"]["outcome"] == "ok"
    assert entry["details"]["chat_id"] == ADMIN


async def test_readonly_chat_reads_but_is_refused_pause() -> None:
    """A read-only chat gets /status and /positions, and permission_denied for /pause."""
    daemon = FakeDaemon()
    async with FakeBotApi() as fake, running_bot(fake, daemon):
        fake.push_message(READONLY, "/status")
        await until(lambda: len(fake.sent_to(READONLY)) == 1)
        assert "60012.3" in fake.sent_to(READONLY)[0]["text"]
        fake.push_message(READONLY, "/pause")
        await until(lambda: len(fake.sent_to(READONLY)) == 2)
        refused = fake.sent_to(READONLY)[1]
        assert "permission_denied" in refused["text"]
        assert "reply_markup" not in refused  # no button to tap
        fake.push_message(READONLY, "/help")
        await until(lambda: len(fake.sent_to(READONLY)) == 3)
        assert "/status" in fake.sent_to(READONLY)[2]["text"]
        assert "/pause" not in fake.sent_to(READONLY)[2]["text"]
    assert daemon.strategy.pause_reasons == []
    assert daemon.journal.entries == []
    assert "pause" not in [name for name, _ in daemon.strategy.calls]


async def test_unknown_chat_gets_no_answer_and_is_logged_and_counted(
    log_events: structlog.testing.LogCapture,
) -> None:
    """Messages and button taps from unlisted chats: no sendMessage, no answer; counted."""
    daemon = FakeDaemon()
    async with FakeBotApi() as fake, running_bot(fake, daemon) as bot:
        fake.push_message(STRANGER, "/status")
        fake.push_message(STRANGER, "/pause")
        fake.push_callback(STRANGER, "ok:guess", 1)
        await until(lambda: sum(bot.stats.unknown_chat.values()) == 3)
        fake.push_message(ADMIN, "/status")  # a later update is answered: the poller moved on
        await until(lambda: len(fake.sent_to(ADMIN)) == 1)
        registry = CollectorRegistry()
        registry.register(bot.collector())
        exposition = generate_latest(registry).decode()
    assert fake.sent_to(STRANGER) == []
    assert fake.answers == []
    assert daemon.strategy.pause_reasons == []
    refused = [e for e in log_events.entries if e["event"] == "telegram.unknown_chat"]
    assert [(e["chat_id"], e["kind"]) for e in refused] == [
        (STRANGER, "message"),
        (STRANGER, "message"),
        (STRANGER, "callback_query"),
    ]
    assert 'hedgegridd_telegram_unknown_chat_attempts_total{kind="message"} 2.0' in exposition
    assert (
        'hedgegridd_telegram_unknown_chat_attempts_total{kind="callback_query"} 1.0' in exposition
    )


async def test_expired_confirmation_is_refused_and_says_so() -> None:
    """A tap after confirm_ttl_s runs nothing and tells the user it expired."""
    daemon = FakeDaemon()
    clock = FakeClock()
    async with FakeBotApi() as fake, running_bot(fake, daemon, clock=clock, confirm_ttl_s=60):
        fake.push_message(ADMIN, "/flatten long")
        await until(lambda: len(fake.sent_to(ADMIN)) == 1)
        prompt = fake.sent_to(ADMIN)[0]
        confirm, _ = keyboard_data(prompt)
        clock.now += 61
        fake.push_callback(ADMIN, confirm, prompt["message_id"])
        await until(lambda: len(fake.answers) == 1 and len(fake.edits) == 1)
        assert "expired" in fake.answers[0]["text"]
        assert "Expired" in fake.edits[0]["text"]
        fake.push_callback(ADMIN, confirm, prompt["message_id"])  # tapped again: still no
        await until(lambda: len(fake.answers) == 2)
        assert "works once" in fake.answers[1]["text"]
    assert "flatten" not in [name for name, _ in daemon.strategy.calls]
    assert daemon.journal.entries == []
    assert len(fake.sent_to(ADMIN)) == 1  # only the prompt


async def test_double_tap_executes_once() -> None:
    """Two taps on the same button: the throttle is set and journaled once."""
    daemon = FakeDaemon()
    async with FakeBotApi() as fake, running_bot(fake, daemon):
        fake.push_message(ADMIN, "/throttle 0.5")
        await until(lambda: len(fake.sent_to(ADMIN)) == 1)
        prompt = fake.sent_to(ADMIN)[0]
        confirm, _ = keyboard_data(prompt)
        fake.push_callback(ADMIN, confirm, prompt["message_id"])
        fake.push_callback(ADMIN, confirm, prompt["message_id"])
        await until(lambda: len(fake.answers) == 2 and len(fake.sent_to(ADMIN)) == 2)
        texts = sorted(a["text"] for a in fake.answers)
        assert texts[0].startswith("Already used")
        assert texts[1].startswith("Confirmed")
        assert "throttle" in fake.sent_to(ADMIN)[1]["text"]
    assert [name for name, _ in daemon.strategy.calls].count("set_throttle") == 1
    assert len(daemon.journal.entries) == 1
    assert daemon.journal.entries[0]["details"]["args"] == {"value": "0.5"}


async def test_only_the_requester_can_confirm_in_a_group() -> None:
    """Another group member's tap is refused and leaves the button to the requester."""
    group, alice, bob = -100888, 11, 22
    daemon = FakeDaemon()
    async with (
        FakeBotApi() as fake,
        running_bot(fake, daemon, admin_chat_ids=[ADMIN, group]),
    ):
        fake.push_message(group, "/throttle 0.5", user_id=alice)
        await until(lambda: len(fake.sent_to(group)) == 1)
        prompt = fake.sent_to(group)[0]
        confirm, _ = keyboard_data(prompt)
        fake.push_callback(group, confirm, prompt["message_id"], user_id=bob)
        await until(lambda: len(fake.answers) == 1)
        assert fake.answers[0]["text"].startswith("Only the user who sent the command")
        assert daemon.strategy.calls == []
        fake.push_callback(group, confirm, prompt["message_id"], user_id=alice)
        await until(lambda: len(fake.answers) == 2 and len(fake.sent_to(group)) == 2)
        assert fake.answers[1]["text"].startswith("Confirmed")
    assert [name for name, _ in daemon.strategy.calls].count("set_throttle") == 1
    assert daemon.journal.entries[0]["details"]["user_id"] == alice


async def test_cancel_button_runs_nothing() -> None:
    """Cancel retires the confirmation; a later Confirm tap is refused."""
    daemon = FakeDaemon()
    async with FakeBotApi() as fake, running_bot(fake, daemon):
        fake.push_message(ADMIN, "/resume")
        await until(lambda: len(fake.sent_to(ADMIN)) == 1)
        prompt = fake.sent_to(ADMIN)[0]
        confirm, cancel = keyboard_data(prompt)
        fake.push_callback(ADMIN, cancel, prompt["message_id"])
        await until(lambda: len(fake.answers) == 1)
        fake.push_callback(ADMIN, confirm, prompt["message_id"])
        await until(lambda: len(fake.answers) == 2)
    assert fake.answers[0]["text"].startswith("Cancelled")
    assert "works once" in fake.answers[1]["text"]
    assert "resume" not in [name for name, _ in daemon.strategy.calls]
    assert daemon.journal.entries == []


async def test_bad_argument_has_the_control_socket_code_and_message() -> None:
    """/throttle 7 is refused before any prompt with the socket's bad_argument message."""
    daemon = FakeDaemon()
    with pytest.raises(ControlError) as socket_err:
        parse_request({"type": "request", "id": 1, "command": "throttle", "args": {"value": "7"}})
    async with FakeBotApi() as fake, running_bot(fake, daemon):
        fake.push_message(ADMIN, "/throttle 7")
        fake.push_message(ADMIN, "/flatten sideways")
        fake.push_message(ADMIN, "/frobnicate")
        await until(lambda: len(fake.sent_to(ADMIN)) == 3)
        texts = [m["text"] for m in fake.sent_to(ADMIN)]
    assert socket_err.value.code == ErrorCode.BAD_ARGUMENT
    throttle = next(t for t in texts if "must be between 0 and 1" in t)
    assert "error bad_argument" in throttle
    assert socket_err.value.message.split(": ", 1)[1] in throttle
    assert any("error bad_argument" in t and "flatten argument side" in t for t in texts)
    assert any("error unknown_command" in t for t in texts)
    assert all("reply_markup" not in m for m in fake.sent_to(ADMIN))
    assert daemon.journal.entries == []


async def test_refused_by_state_is_replied_and_journaled_like_the_socket() -> None:
    """/killswitch_reset while not latched: refused_by_state, journaled with that outcome."""
    daemon = FakeDaemon()
    async with FakeBotApi() as fake, running_bot(fake, daemon):
        fake.push_message(ADMIN, "/killswitch_reset")
        await until(lambda: len(fake.sent_to(ADMIN)) == 1)
        prompt = fake.sent_to(ADMIN)[0]
        fake.push_callback(ADMIN, keyboard_data(prompt)[0], prompt["message_id"])
        await until(lambda: len(fake.sent_to(ADMIN)) == 2)
        assert "error refused_by_state" in fake.sent_to(ADMIN)[1]["text"]
    [entry] = daemon.journal.entries
    assert entry["details"]["command"] == "killswitch.reset"
    assert entry["details"]["outcome"] == "refused_by_state"
    assert entry["actor"] == f"telegram:{ADMIN}"


async def test_read_views_render_results() -> None:
    """/positions, /orders, /pnl, /ladders, /killswitch answer from the result models."""
    daemon = FakeDaemon()
    async with FakeBotApi() as fake, running_bot(fake, daemon):
        for text in ("/positions", "/orders", "/pnl", "/ladders", "/killswitch@hgtestbot"):
            fake.push_message(ADMIN, text)
            count = len(fake.sent_to(ADMIN)) + 1
            await until(lambda n=count: len(fake.sent_to(ADMIN)) == n)  # type: ignore[misc]
        positions, orders, pnl, ladders, killswitch = (m["text"] for m in fake.sent_to(ADMIN))
    assert all(s in positions for s in ("LONG", "SHORT", "59950.1"))
    assert all(s in orders for s in ("O-0", "O-9"))
    assert all(s in pnl for s in ("realized pnl", "12.5", "10014.5"))
    assert "59900" in ladders
    assert "armed" in killswitch


async def test_per_chat_rate_limit() -> None:
    """Over rate_limit_count commands in the window: one notice, then silence, per chat."""
    daemon = FakeDaemon()
    clock = FakeClock()
    async with (
        FakeBotApi() as fake,
        running_bot(fake, daemon, clock=clock, rate_limit_count=2, rate_limit_window_s=60) as bot,
    ):
        for _ in range(4):
            fake.push_message(ADMIN, "/status")
        await until(lambda: bot.stats.rate_limited == 2 and len(fake.sent_to(ADMIN)) == 3)
        fake.push_message(READONLY, "/status")  # another chat has its own bucket
        await until(lambda: len(fake.sent_to(READONLY)) == 1)
        clock.now += 60
        fake.push_message(ADMIN, "/status")
        await until(lambda: len(fake.sent_to(ADMIN)) == 4)
    texts = [m["text"] for m in fake.sent_to(ADMIN)]
    assert sum("Too many commands" in t for t in texts) == 1
    assert sum("60012.3" in t for t in texts) == 3
    assert "60012.3" in fake.sent_to(READONLY)[0]["text"]


async def test_confirmed_flatten_closes_the_side_and_admin_help_lists_it() -> None:
    """/flatten short + Confirm closes SHORT only; an admin's /help marks what asks first."""
    daemon = FakeDaemon()
    async with FakeBotApi() as fake, running_bot(fake, daemon):
        fake.push_message(ADMIN, "/help")
        await until(lambda: len(fake.sent_to(ADMIN)) == 1)
        help_text = fake.sent_to(ADMIN)[0]["text"]
        fake.push_message(ADMIN, "/flatten SHORT")
        await until(lambda: len(fake.sent_to(ADMIN)) == 2)
        prompt = fake.sent_to(ADMIN)[1]
        assert "/flatten short" in prompt["text"]
        fake.push_callback(ADMIN, keyboard_data(prompt)[0], prompt["message_id"])
        await until(lambda: len(fake.sent_to(ADMIN)) == 3)
        result = fake.sent_to(ADMIN)[2]["text"]
    assert "/flatten [long|short|both]" in help_text
    assert "(asks to confirm)" in help_text
    assert "SHORT" in result
    assert "0.002" in result  # the closing quantity of the fake SHORT leg
    assert daemon.strategy.short_qty == "0"
    assert daemon.strategy.long_qty == "0.003"  # LONG untouched
    [entry] = daemon.journal.entries
    assert entry["details"]["args"] == {"side": "short"}


async def test_each_update_is_handled_once_and_confirmed_by_offset() -> None:
    """getUpdates carries offset = last update_id + 1: no update is answered twice."""
    daemon = FakeDaemon()
    async with FakeBotApi() as fake:
        async with running_bot(fake, daemon):
            first = fake.push_message(ADMIN, "/status")
            await until(lambda: len(fake.sent_to(ADMIN)) == 1)
            await until(lambda: fake.pending_updates() == 0)  # confirmed by the next poll
            second = fake.push_message(ADMIN, "/orders")
            await until(lambda: len(fake.sent_to(ADMIN)) == 2)
        offsets = [c.body.get("offset") for c in fake.calls_of("getUpdates")]
        assert fake.pending_updates() == 0  # the last one confirmed at shutdown
    assert len(fake.sent_to(ADMIN)) == 2
    assert offsets[0] is None
    assert first + 1 in offsets
    assert offsets[-1] == second + 1
    assert all(c.body["timeout"] in (5, 0) for c in fake.calls_of("getUpdates"))
