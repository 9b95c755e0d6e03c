"""What an alert is, the sink callers push alerts into, and the well-known alert keys.

Callers (supervisor, kill switch, strategy hooks) hold an ``AlertSink`` and call
``notify(...)``: it never blocks and never raises, whatever the channels do.
"""

from __future__ import annotations

import enum
import html
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from hedgegridd.ops.config import Severity


class AlertKey(enum.StrEnum):
    """Stable alert keys (deduplication and rate limits are per key)."""

    STARTUP = "startup"
    SHUTDOWN = "shutdown"
    DEGRADED = "degraded"
    CIRCUIT_BREAKER = "circuit_breaker"
    KILLSWITCH_FIRED = "killswitch_fired"
    KILLSWITCH_RESET = "killswitch_reset"
    KILLSWITCH_LATCH_FAILED = "killswitch_latch_failed"
    FLATTEN_SENT = "flatten_sent"
    FLATTEN_VERIFIED = "flatten_verified"
    FLATTEN_UNVERIFIED = "flatten_unverified"
    FLATTEN_RESUMED = "flatten_resumed"  # a flatten interrupted by a crash is finished
    KILLSWITCH_BLIND = "killswitch_blind"  # readings cannot be taken: entries paused
    KILLSWITCH_SIGHTED = "killswitch_sighted"  # readings back: the blind pause is lifted
    LARGE_LOSS = "large_loss"
    DATA_STALE = "data_stale"
    READINGS_MISSING = "readings_missing"
    STATE_STORE_FAILED = "state_store_failed"


@dataclass(frozen=True, slots=True)
class Alert:
    """One message to operators."""

    key: str
    severity: Severity
    title: str
    text: str = ""
    fields: Mapping[str, str] = field(default_factory=dict)

    def fingerprint(self) -> tuple[str, str, str, tuple[tuple[str, str], ...]]:
        """Identity for deduplication: same key, title, text and fields."""
        return (self.key, self.title, self.text, tuple(sorted(self.fields.items())))


class AlertSink(Protocol):
    """Where components send alerts; ``notify`` never blocks and never raises."""

    def notify(
        self,
        key: str,
        severity: Severity,
        title: str,
        text: str = "",
        fields: Mapping[str, str] | None = None,
    ) -> None:
        """Queue an alert for delivery (subject to dedup, rate limit and min severity)."""
        ...


class NullAlertSink:
    """An AlertSink that drops everything (alerts disabled)."""

    def notify(
        self,
        key: str,
        severity: Severity,
        title: str,
        text: str = "",
        fields: Mapping[str, str] | None = None,
    ) -> None:
        """Drop the alert."""
        return None


_EMOJI = {Severity.INFO: "ℹ️", Severity.WARNING: "⚠️", Severity.CRITICAL: "🚨"}


def render_plain(alert: Alert, instance: str) -> str:
    """Plain-text rendering (Slack ``text``)."""
    lines = [f"{_EMOJI[alert.severity]} [{alert.severity.name}] {instance}: {alert.title}"]
    if alert.text:
        lines.append(alert.text)
    lines.extend(f"• {k}: {v}" for k, v in alert.fields.items())
    return "\n".join(lines)


def render_html(alert: Alert, instance: str) -> str:
    """Telegram HTML rendering, every user-supplied part escaped."""
    esc = html.escape
    lines = [
        f"{_EMOJI[alert.severity]} <b>[{alert.severity.name}] {esc(instance)}</b>: "
        f"{esc(alert.title)}"
    ]
    if alert.text:
        lines.append(esc(alert.text))
    lines.extend(f"• <code>{esc(k)}</code>: {esc(v)}" for k, v in alert.fields.items())
    return "\n".join(lines)
