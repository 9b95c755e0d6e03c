"""Alert delivery to Slack (incoming webhook) and Telegram (Bot API) over aiohttp.

Retries (tenacity) on 5xx, 429 and network errors, honouring ``Retry-After``
(header, or Telegram's ``parameters.retry_after``), within a bounded number of
attempts and a bounded total time. The webhook URL and the bot token are
secrets: they are held in ``SecretStr`` and never put in a log event or an
exception message (aiohttp's own exception text contains URLs, so only the
exception *type* is ever reported).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import aiohttp
import structlog
from pydantic import SecretStr
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
)

from hedgegridd.errors import HedgegridError
from hedgegridd.ops.alert_model import Alert, render_html, render_plain
from hedgegridd.ops.config import AlertsConfig, Severity, SlackRoute, TelegramRoute

log = structlog.get_logger(__name__)

SLACK_TEXT_LIMIT = 3000  # section block text limit
TELEGRAM_TEXT_LIMIT = 4096  # sendMessage text limit (after entity parsing)


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _fit_html(alert: Alert, instance: str, limit: int) -> str:
    """Render HTML within ``limit`` chars by clipping the free text *before* escaping it."""
    rendered = render_html(alert, instance)
    text = alert.text
    while len(rendered) > limit and text:
        text = text[: max(0, len(text) * limit // len(rendered) - 1)]  # escaping expands
        rendered = render_html(dataclasses.replace(alert, text=text + "…"), instance)
    return rendered[:limit] if len(rendered) > limit else rendered


Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class AlertSecrets:
    """Secrets of the alert routes, supplied by the supervisor from systemd credentials."""

    slack_webhook_url: SecretStr | None = None
    telegram_bot_token: SecretStr | None = None

    def __repr__(self) -> str:
        return "AlertSecrets(<redacted>)"


class DeliveryError(HedgegridError):
    """An alert could not be delivered on one channel. Never carries a URL or token."""

    def __init__(self, channel: str, reason: str, *, status: int | None = None) -> None:
        super().__init__(f"{channel} delivery failed: {reason}")
        self.channel = channel
        self.reason = reason
        self.status = status


class RetryableDeliveryError(DeliveryError):
    """A transient failure (5xx, 429, network): worth retrying, after ``retry_after`` if set."""

    def __init__(
        self,
        channel: str,
        reason: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(channel, reason, status=status)
        self.retry_after = retry_after


class Channel(Protocol):
    """One delivery route."""

    name: str
    min_severity: Severity

    async def post(self, session: aiohttp.ClientSession, alert: Alert) -> None:
        """One delivery attempt; raises DeliveryError/RetryableDeliveryError on failure."""
        ...


def _retry_after_header(resp: aiohttp.ClientResponse) -> float | None:
    raw = resp.headers.get("Retry-After")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None  # an HTTP-date: fall back to our own backoff


def _classify(channel: str, status: int, retry_after: float | None) -> DeliveryError:
    if status == 429 or status >= 500:
        return RetryableDeliveryError(
            channel, f"HTTP {status}", status=status, retry_after=retry_after
        )
    return DeliveryError(channel, f"HTTP {status}", status=status)


async def _post_json(
    session: aiohttp.ClientSession, channel: str, url: str, payload: dict[str, Any]
) -> tuple[int, str, float | None]:
    try:
        async with session.post(url, json=payload) as resp:
            body = await resp.text()
            return resp.status, body, _retry_after_header(resp)
    except (aiohttp.ClientError, TimeoutError) as exc:
        # str(exc) of aiohttp errors contains the URL (a secret): report the type only.
        raise RetryableDeliveryError(channel, type(exc).__name__) from None


class SlackChannel:
    """Slack incoming webhook: POST JSON ``{"text": ..., "blocks": [...]}``, reply body ``ok``."""

    name = "slack"

    def __init__(self, route: SlackRoute, webhook_url: SecretStr, instance: str) -> None:
        self.min_severity = route.min_severity
        self._url = webhook_url
        self._instance = instance

    def payload(self, alert: Alert) -> dict[str, Any]:
        """The JSON body Slack expects."""
        text = _clip(render_plain(alert, self._instance), SLACK_TEXT_LIMIT)
        return {
            "text": text,
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        }

    async def post(self, session: aiohttp.ClientSession, alert: Alert) -> None:
        status, _body, retry_after = await _post_json(
            session, self.name, self._url.get_secret_value(), self.payload(alert)
        )
        if status != 200:
            raise _classify(self.name, status, retry_after)


class TelegramChannel:
    """Telegram Bot API: POST ``<base>/bot<token>/sendMessage`` with chat_id/text/parse_mode."""

    name = "telegram"

    def __init__(self, route: TelegramRoute, bot_token: SecretStr, instance: str) -> None:
        self.min_severity = route.min_severity
        self._route = route
        self._token = bot_token
        self._instance = instance

    def payload(self, alert: Alert) -> dict[str, Any]:
        """The JSON body sendMessage expects."""
        body: dict[str, Any] = {
            "chat_id": self._route.chat_id,
            "disable_web_page_preview": True,
        }
        if self._route.parse_mode == "HTML":
            body["text"] = _fit_html(alert, self._instance, TELEGRAM_TEXT_LIMIT)
            body["parse_mode"] = "HTML"
        else:
            body["text"] = _clip(render_plain(alert, self._instance), TELEGRAM_TEXT_LIMIT)
        return body

    async def post(self, session: aiohttp.ClientSession, alert: Alert) -> None:
        base = self._route.api_base_url.rstrip("/")
        url = f"{base}/bot{self._token.get_secret_value()}/sendMessage"
        status, body, retry_after = await _post_json(session, self.name, url, self.payload(alert))
        if status == 200:
            return
        if status == 429 and retry_after is None:
            retry_after = _telegram_retry_after(body)
        raise _classify(self.name, status, retry_after)


def _telegram_retry_after(body: str) -> float | None:
    try:
        doc = json.loads(body)
        value = doc["parameters"]["retry_after"]
        return max(0.0, float(value))
    except (ValueError, KeyError, TypeError):
        return None


async def deliver(
    channel: Channel,
    session: aiohttp.ClientSession,
    alert: Alert,
    config: AlertsConfig,
    *,
    sleep: Sleep,
) -> bool:
    """Deliver ``alert`` on ``channel`` with bounded retries; True when delivered."""
    backoff = wait_exponential(
        multiplier=config.backoff_initial_s, max=config.backoff_max_s, exp_base=2
    )

    def _wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, RetryableDeliveryError) and exc.retry_after is not None:
            return exc.retry_after
        return float(backoff(state))

    def _before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "alert.retry",
            channel=channel.name,
            key=alert.key,
            attempt=state.attempt_number,
            reason=getattr(exc, "reason", type(exc).__name__),
            wait_s=round(state.upcoming_sleep, 3),
        )

    retrying = AsyncRetrying(
        retry=retry_if_exception_type(RetryableDeliveryError),
        wait=_wait,
        stop=stop_after_attempt(config.max_attempts) | stop_before_delay(config.retry_budget_s),
        sleep=sleep,
        before_sleep=_before_sleep,
        reraise=True,
    )
    try:
        async for attempt in retrying:
            with attempt:
                await channel.post(session, alert)
    except DeliveryError as exc:
        log.error(
            "alert.failed",
            channel=channel.name,
            key=alert.key,
            reason=exc.reason,
            status=exc.status,
        )
        return False
    log.info("alert.sent", channel=channel.name, key=alert.key, severity=alert.severity.name)
    return True


def build_channels(
    config: AlertsConfig, secrets: AlertSecrets
) -> list[SlackChannel | TelegramChannel]:
    """The enabled routes that have their secret; a route without its secret is reported."""
    channels: list[SlackChannel | TelegramChannel] = []
    if config.slack is not None and config.slack.enabled:
        if secrets.slack_webhook_url is None:
            log.warning("alert.route_without_secret", channel="slack")
        else:
            channels.append(SlackChannel(config.slack, secrets.slack_webhook_url, config.instance))
    if config.telegram is not None and config.telegram.enabled:
        if secrets.telegram_bot_token is None:
            log.warning("alert.route_without_secret", channel="telegram")
        else:
            channels.append(
                TelegramChannel(config.telegram, secrets.telegram_bot_token, config.instance)
            )
    return channels
