"""``[notify]``: fill, round-trip and daily-summary notifications on the alert channels.

Frozen and validated at the edge like every ops config. Notifications are alerts
of ``severity`` (default info) with their own keys (``notify.fill``,
``notify.round_trip``, ``notify.digest``, ``notify.daily``), so the alert
manager's deduplication, per-key rate limit and per-route ``min_severity`` apply
to them unchanged: a route whose ``min_severity`` is above ``severity`` never
sees them (the alert routes default to ``warning``; set ``min_severity = "info"``
on the routes that should carry notifications).
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from hedgegridd.ops.config import Severity

FillsMode = Literal["off", "each", "digest"]

_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


class NotifyConfig(BaseModel):
    """What is notified, how often, and at which severity."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(default=False, description="send notifications at all")
    fills: FillsMode = Field(
        default="digest",
        description=(
            "'each': one message per fill (fills that arrive together are sent as one "
            "message), 'digest': one message every digest_interval_min, 'off': none"
        ),
    )
    round_trips: bool = Field(
        default=True, description="report round trips (closing fills and their PnL)"
    )
    digest_interval_min: float = Field(
        default=15.0, ge=1.0, le=1440.0, description="minutes between digests, [1, 1440]"
    )
    digest_max_lines: int = Field(
        default=20, ge=1, le=200, description="fills listed in one digest; the rest are counted"
    )
    daily_summary: bool = Field(default=True, description="send the daily summary")
    daily_summary_utc: str = Field(
        default="00:00", description="UTC time of day (HH:MM) the daily summary is sent"
    )
    severity: Severity = Field(
        default=Severity.INFO, description="severity of the notification alerts"
    )

    @model_validator(mode="before")
    @classmethod
    def _parse_severity(cls, data: object) -> object:
        if isinstance(data, dict) and "severity" in data:
            data = dict(data)
            data["severity"] = Severity.parse(data["severity"])
        return data

    @field_validator("daily_summary_utc")
    @classmethod
    def _check_hhmm(cls, value: str) -> str:
        if not _HHMM.fullmatch(value):
            raise ValueError(f"must be a UTC time of day HH:MM (00:00..23:59), got {value!r}")
        return value

    @property
    def daily_minute(self) -> int:
        """Minutes after 00:00 UTC at which the daily summary is due."""
        hours, minutes = self.daily_summary_utc.split(":")
        return int(hours) * 60 + int(minutes)
