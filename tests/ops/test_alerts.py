"""AlertManager against local Slack/Telegram stand-ins: shape, retries, secrets, limits."""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import anyio
import pytest
import structlog
from pydantic import SecretStr

from hedgegridd.ops.alert_channels import AlertSecrets, DeliveryError
from hedgegridd.ops.alert_model import AlertKey
from hedgegridd.ops.alerts import AlertManager
from hedgegridd.ops.config import AlertsConfig, Severity, SlackRoute, TelegramRoute
from tests.ops.fake_services import FakeSlack, FakeTelegram, Scripted, telegram_429
from tests.ops.helpers import SleepRecorder, until

pytestmark = pytest.mark.asyncio


def slack_config(**kw: object) -> AlertsConfig:
    return AlertsConfig.model_validate(
        {"slack": {"min_severity": "info"}, "instance": "hg-test", **kw}
    )


async def running(manager: AlertManager, body: Callable[[], Awaitable[None]]) -> None:
    async with anyio.create_task_group() as tg:
        await tg.start(manager.run)
        await body()
        tg.cancel_scope.cancel()


async def test_slack_gets_the_webhook_json_shape() -> None:
    """A Slack alert is a JSON POST to the webhook with text (and section blocks)."""
    async with FakeSlack() as slack:
        mgr = AlertManager(
            slack_config(), AlertSecrets(slack_webhook_url=SecretStr(slack.webhook_url))
        )

        async def body() -> None:
            mgr.notify(AlertKey.STARTUP, Severity.INFO, "daemon started", fields={"mode": "paper"})
            await until(lambda: mgr.sent["slack"] == 1)

        await running(mgr, body)
    assert slack.problems == []
    assert len(slack.requests) == 1
    text = slack.requests[0]["text"]
    assert "daemon started" in text
    assert "hg-test" in text
    assert "mode: paper" in text
    assert slack.requests[0]["blocks"][0]["text"]["text"] == text


async def test_telegram_gets_send_message_with_escaped_html() -> None:
    """Telegram receives chat_id, HTML-escaped text and parse_mode at /bot<token>/sendMessage."""
    async with FakeTelegram() as tg_api:
        cfg = AlertsConfig(
            telegram=TelegramRoute(
                chat_id="-1001", api_base_url=tg_api.base_url, min_severity=Severity.INFO
            )
        )
        mgr = AlertManager(cfg, AlertSecrets(telegram_bot_token=SecretStr(tg_api.token)))

        async def body() -> None:
            mgr.notify(AlertKey.LARGE_LOSS, Severity.CRITICAL, "loss <5%> & rising")
            await until(lambda: mgr.sent["telegram"] == 1)

        await running(mgr, body)
    assert tg_api.problems == []
    (req,) = tg_api.requests
    assert req["chat_id"] == "-1001"
    assert req["parse_mode"] == "HTML"
    assert "loss &lt;5%&gt; &amp; rising" in req["text"]
    assert "CRITICAL" in req["text"]


async def test_5xx_is_retried_with_backoff_then_delivered() -> None:
    """A 503 is retried after an exponential backoff wait and the alert still arrives."""
    sleeps = SleepRecorder()
    async with FakeSlack() as slack:
        slack.script.extend([Scripted(503, "unavailable"), Scripted(500, "oops")])
        mgr = AlertManager(
            slack_config(backoff_initial_s=1.0),
            AlertSecrets(slack_webhook_url=SecretStr(slack.webhook_url)),
            sleep=sleeps,
        )

        async def body() -> None:
            mgr.notify("k", Severity.WARNING, "retry me")
            await until(lambda: mgr.sent["slack"] == 1)

        await running(mgr, body)
    assert len(slack.requests) == 3
    assert len(sleeps.waits) == 2
    assert sleeps.waits[1] > sleeps.waits[0] > 0


async def test_slack_429_honours_retry_after_header() -> None:
    """A Slack 429 waits exactly the Retry-After seconds before the next attempt."""
    sleeps = SleepRecorder()
    async with FakeSlack() as slack:
        slack.script.append(Scripted(429, "rate_limited", {"Retry-After": "7"}))
        mgr = AlertManager(
            slack_config(),
            AlertSecrets(slack_webhook_url=SecretStr(slack.webhook_url)),
            sleep=sleeps,
        )

        async def body() -> None:
            mgr.notify("k", Severity.WARNING, "throttled")
            await until(lambda: mgr.sent["slack"] == 1)

        await running(mgr, body)
    assert sleeps.waits == [7.0]


async def test_telegram_429_honours_parameters_retry_after() -> None:
    """Telegram's flood control (parameters.retry_after) sets the wait."""
    sleeps = SleepRecorder()
    async with FakeTelegram() as tg_api:
        tg_api.script.append(telegram_429(3))
        cfg = AlertsConfig(
            telegram=TelegramRoute(
                chat_id="42", api_base_url=tg_api.base_url, min_severity=Severity.INFO
            )
        )
        mgr = AlertManager(
            cfg, AlertSecrets(telegram_bot_token=SecretStr(tg_api.token)), sleep=sleeps
        )

        async def body() -> None:
            mgr.notify("k", Severity.WARNING, "flood")
            await until(lambda: mgr.sent["telegram"] == 1)

        await running(mgr, body)
    assert sleeps.waits == [3.0]


async def test_retry_after_beyond_budget_gives_up() -> None:
    """A Retry-After longer than the retry budget ends delivery instead of waiting."""
    sleeps = SleepRecorder()
    async with FakeSlack() as slack:
        slack.script.append(Scripted(429, "rate_limited", {"Retry-After": "3600"}))
        mgr = AlertManager(
            slack_config(retry_budget_s=30.0),
            AlertSecrets(slack_webhook_url=SecretStr(slack.webhook_url)),
            sleep=sleeps,
        )

        async def body() -> None:
            mgr.notify("k", Severity.WARNING, "give up")
            await until(lambda: mgr.failed["slack"] == 1)

        await running(mgr, body)
    assert sleeps.waits == []
    assert len(slack.requests) == 1


async def test_attempts_are_bounded_and_4xx_not_retried() -> None:
    """Permanent 5xx stops after max_attempts; a 400 is not retried at all."""
    sleeps = SleepRecorder()
    async with FakeSlack() as slack:
        slack.script.extend([Scripted(500, "x")] * 3 + [Scripted(400, "invalid_payload")])
        mgr = AlertManager(
            slack_config(max_attempts=3),
            AlertSecrets(slack_webhook_url=SecretStr(slack.webhook_url)),
            sleep=sleeps,
        )

        async def body() -> None:
            mgr.notify("a", Severity.WARNING, "first")
            await until(lambda: mgr.failed["slack"] == 1)
            mgr.notify("b", Severity.WARNING, "second")
            await until(lambda: mgr.failed["slack"] == 2)

        await running(mgr, body)
    assert len(slack.requests) == 4
    assert len(sleeps.waits) == 2


async def test_secrets_never_reach_logs_or_errors(log_events: structlog.testing.LogCapture) -> None:
    """Webhook URL and bot token appear in no log event, even on failures and retries."""
    sleeps = SleepRecorder()
    with socket.socket() as s:  # a port with nothing listening: connection refused
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    async with FakeSlack() as slack, FakeTelegram() as tg_api:
        slack.script.extend([Scripted(503, "x"), Scripted(404, "no_service")])
        dead_token = "999:dead-token-SECRET"
        cfg = AlertsConfig(
            slack=SlackRoute(min_severity=Severity.INFO),
            telegram=TelegramRoute(
                chat_id="1",
                api_base_url=f"http://127.0.0.1:{dead_port}",
                min_severity=Severity.INFO,
            ),
            max_attempts=2,
        )
        secrets = AlertSecrets(
            slack_webhook_url=SecretStr(slack.webhook_url),
            telegram_bot_token=SecretStr(dead_token),
        )
        mgr = AlertManager(cfg, secrets, sleep=sleeps)

        async def body() -> None:
            mgr.notify("k", Severity.CRITICAL, "boom")
            await until(lambda: mgr.failed["slack"] == 1 and mgr.failed["telegram"] == 1)

        await running(mgr, body)
        del tg_api
    captured = repr(log_events.entries) + repr(secrets) + repr(cfg)
    assert any(e["event"] == "alert.failed" for e in log_events.entries)
    assert any(e["event"] == "alert.retry" for e in log_events.entries)
    for secret in (slack.webhook_url, slack.path, dead_token, "XXXXsecretXXXX", "SECRET"):
        assert secret not in captured
    err = DeliveryError("telegram", "ClientConnectorError")
    assert dead_token not in str(err)


async def test_duplicates_are_dropped_within_the_window() -> None:
    """The same alert twice within the dedup window is delivered once."""
    now = [1000.0]
    mgr = AlertManager(
        slack_config(dedup_window_s=60),
        AlertSecrets(slack_webhook_url=SecretStr("http://127.0.0.1:9/x")),
        monotonic=lambda: now[0],
    )
    mgr.notify("k", Severity.WARNING, "same")
    mgr.notify("k", Severity.WARNING, "same")
    assert mgr.queued == 1
    assert mgr.suppressed["dedup"] == 1
    now[0] += 61
    mgr.notify("k", Severity.WARNING, "same")
    assert mgr.queued == 2


async def test_rate_limit_per_key() -> None:
    """More than rate_limit_count alerts of one key per window are suppressed; other keys pass."""
    now = [0.0]
    mgr = AlertManager(
        slack_config(rate_limit_count=2, rate_limit_window_s=60),
        AlertSecrets(slack_webhook_url=SecretStr("http://127.0.0.1:9/x")),
        monotonic=lambda: now[0],
    )
    for i in range(4):
        mgr.notify("loss", Severity.WARNING, f"loss {i}")
    mgr.notify("other", Severity.WARNING, "other key")
    assert mgr.queued == 3
    assert mgr.suppressed["rate_limit"] == 2
    now[0] = 61.0
    mgr.notify("loss", Severity.WARNING, "loss later")
    assert mgr.queued == 4


async def test_queue_is_bounded_and_drops_oldest() -> None:
    """A full queue drops its oldest alert, counts it, and notify never blocks."""
    mgr = AlertManager(
        slack_config(queue_size=2, dedup_window_s=0),
        AlertSecrets(slack_webhook_url=SecretStr("http://127.0.0.1:9/x")),
    )
    for i in range(5):
        mgr.notify(f"k{i}", Severity.WARNING, f"alert {i}")
    assert mgr.queued == 2
    assert mgr.dropped_overflow == 3


async def test_severity_floors_global_and_per_route() -> None:
    """Alerts below the global minimum are suppressed; a route skips alerts below its own."""
    async with FakeSlack() as slack:
        cfg = AlertsConfig(slack=SlackRoute(min_severity=Severity.CRITICAL), min_severity="warning")
        mgr = AlertManager(cfg, AlertSecrets(slack_webhook_url=SecretStr(slack.webhook_url)))

        async def body() -> None:
            mgr.notify("a", Severity.INFO, "info")
            mgr.notify("b", Severity.WARNING, "warning")
            mgr.notify("c", Severity.CRITICAL, "critical")
            await until(lambda: mgr.sent["slack"] == 1 and mgr.queued == 0)
            assert await mgr.drain(10)

        await running(mgr, body)
    assert mgr.suppressed["severity"] == 1
    assert [("critical" in r["text"]) for r in slack.requests] == [True]


async def test_critical_alerts_jump_the_queue_and_survive_overflow() -> None:
    """A critical alert is sent before older info alerts, and overflow drops info first."""
    async with FakeSlack() as slack:
        mgr = AlertManager(
            slack_config(queue_size=3), AlertSecrets(slack_webhook_url=SecretStr(slack.webhook_url))
        )
        mgr.notify("a", Severity.INFO, "info one")
        mgr.notify(AlertKey.KILLSWITCH_FIRED, Severity.CRITICAL, "fired")
        mgr.notify("b", Severity.INFO, "info two")
        mgr.notify("c", Severity.WARNING, "warning")  # full: drops "info one"
        assert mgr.dropped_overflow == 1

        async def body() -> None:
            await until(lambda: mgr.sent["slack"] == 3)

        await running(mgr, body)
    order = [r["text"].split(": ", 1)[1].splitlines()[0] for r in slack.requests]
    assert order == ["fired", "warning", "info two"]


async def test_reconfigure_applies_new_routes_and_floors() -> None:
    """A reload can raise the severity floor and add a route without new secrets."""
    secrets = AlertSecrets(
        slack_webhook_url=SecretStr("http://127.0.0.1:9/x"),
        telegram_bot_token=SecretStr("1:tok"),
    )
    mgr = AlertManager(slack_config(), secrets)
    assert mgr.channel_names == ("slack",)
    mgr.reconfigure(
        AlertsConfig(
            slack=SlackRoute(), telegram=TelegramRoute(chat_id="7"), min_severity=Severity.CRITICAL
        )
    )
    assert mgr.channel_names == ("slack", "telegram")
    mgr.notify("k", Severity.WARNING, "now below the floor")
    assert mgr.suppressed["severity"] == 1


async def test_a_broken_channel_does_not_stop_the_others(
    log_events: structlog.testing.LogCapture,
) -> None:
    """A channel raising an unexpected error is counted as failed; other routes still deliver."""

    class Exploding:
        name = "exploding"
        min_severity = Severity.INFO

        async def post(self, session: object, alert: object) -> None:
            raise ValueError("http://secret.example/hook/SECRET")

    async with FakeSlack() as slack:
        from hedgegridd.ops.alert_channels import SlackChannel

        real = SlackChannel(
            SlackRoute(min_severity=Severity.INFO), SecretStr(slack.webhook_url), "x"
        )
        mgr = AlertManager(slack_config(), channels=[Exploding(), real])  # type: ignore[list-item]

        async def body() -> None:
            mgr.notify("k", "critical", "still delivered")  # type: ignore[arg-type]
            await until(lambda: mgr.sent["slack"] == 1 and mgr.failed["exploding"] == 1)

        await running(mgr, body)
    assert "SECRET" not in repr(log_events.entries)
    assert "CRITICAL" in slack.requests[0]["text"]


async def test_strategy_sink_maps_kinds_to_keys_and_severities() -> None:
    """The strategy's (kind, details) callback becomes a keyed alert with a severity."""
    mgr = AlertManager(
        slack_config(), AlertSecrets(slack_webhook_url=SecretStr("http://127.0.0.1:9/x"))
    )
    mgr.strategy_sink("degraded", {"reason": "on_bar raised"})
    mgr.strategy_sink("circuit_breaker", {"trips": "1"})
    mgr.strategy_sink("something_new", {})
    assert mgr.queued == 3
    first = mgr._take(lowest=False)
    assert first.key == AlertKey.DEGRADED
    assert first.severity is Severity.CRITICAL
    assert first.fields == {"reason": "on_bar raised"}


async def test_long_texts_are_clipped_to_channel_limits() -> None:
    """Slack text stays within its block limit; Telegram HTML text stays within 4096 chars."""
    from hedgegridd.ops.alert_channels import (
        SLACK_TEXT_LIMIT,
        TELEGRAM_TEXT_LIMIT,
        SlackChannel,
        TelegramChannel,
    )
    from hedgegridd.ops.alert_model import Alert

    alert = Alert("k", Severity.CRITICAL, "huge", text="<&>" * 5000)
    slack = SlackChannel(SlackRoute(), SecretStr("http://127.0.0.1:9/x"), "x").payload(alert)
    assert len(slack["text"]) <= SLACK_TEXT_LIMIT
    tele = TelegramChannel(TelegramRoute(chat_id="1"), SecretStr("1:t"), "x").payload(alert)
    assert len(tele["text"]) <= TELEGRAM_TEXT_LIMIT
    assert tele["text"].count("&lt;") > 100  # escaped after clipping, tags stay balanced
    plain = TelegramChannel(TelegramRoute(chat_id="1", parse_mode=None), SecretStr("1:t"), "x")
    body = plain.payload(alert)
    assert "parse_mode" not in body
    assert len(body["text"]) <= TELEGRAM_TEXT_LIMIT
