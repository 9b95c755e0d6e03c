"""Tests of log formats and secret redaction."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import structlog

from hedgegridd.supervisor.journal import SOCKET_ENV
from hedgegridd.supervisor.logsetup import configure_logging, resolve_format

# No journald socket here, even on a host running systemd: the line formats are tested.
NO_JOURNAL = {SOCKET_ENV: "/nonexistent/journal.sock"}


def _emit(fmt: str, secrets: tuple[str, ...] = (), **fields: object) -> str:
    out = io.StringIO()
    configure_logging(fmt=fmt, level="INFO", secrets=secrets, stream=out, environ=NO_JOURNAL)
    try:
        structlog.get_logger("t").warning("alert.sent", **fields)
        structlog.get_logger("t").debug("bar.seen")
    finally:
        structlog.reset_defaults()
    return out.getvalue()


def test_journald_lines_carry_priority_prefix() -> None:
    """Without journald's socket each line carries the sd-daemon priority (<4> for warning)."""
    text = _emit("journald", n=1, peak=None, limits={"drawdown": "10"})
    assert text == '<4>alert.sent limits={"drawdown":"10"} n=1 peak=null\n'
    assert "bar.seen" not in text


def test_json_format_is_one_object_per_line() -> None:
    """json format renders parseable objects with level and fields."""
    line = _emit("json", level_n=3).strip()
    doc = json.loads(line)
    assert doc["event"] == "alert.sent"
    assert doc["level"] == "warning"
    assert doc["level_n"] == 3


def test_configured_secret_values_redacted_anywhere() -> None:
    """A configured secret value never appears, even inside other text or nested fields."""
    text = _emit(
        "json",
        secrets=("SuPeRsEcReTkEy",),
        note="key is SuPeRsEcReTkEy here",
        nested={"inner": ["x", "SuPeRsEcReTkEy"]},
    )
    assert "SuPeRsEcReTkEy" not in text
    assert "***" in text


def test_url_tokens_and_secret_named_fields_redacted() -> None:
    """Telegram bot tokens, Slack webhook paths, signatures and secret-named keys are redacted."""
    text = _emit(
        "json",
        url="https://api.telegram.org/bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/sendMessage",
        hook="https://hooks.slack.com/services/T000/B000/XXXXXXXXXXXXXXXX",
        query="/fapi/v1/order?symbol=BTCUSDT&signature=deadbeefcafe",
        api_secret="plain",
    )
    for leaked in ("AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw", "XXXXXXXXXXXXXXXX", "deadbeefcafe"):
        assert leaked not in text
    assert json.loads(text)["api_secret"] == "***"


def test_auto_format_prefers_journald_under_systemd(tmp_path: Path) -> None:
    """auto picks journald only when JOURNAL_STREAM names our stream, json when not a TTY."""
    with (tmp_path / "stderr").open("w") as stream:
        st = os.fstat(stream.fileno())
        ours = {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        assert resolve_format("auto", ours, stream) == "journald"
        # Inherited from a parent under systemd, but our stderr is a file: not journald.
        assert resolve_format("auto", {"JOURNAL_STREAM": "8:1234"}, stream) == "json"
    assert resolve_format("auto", {"JOURNAL_STREAM": "8:1234"}, io.StringIO()) == "json"
    assert resolve_format("auto", {}, io.StringIO()) == "json"
    assert resolve_format("console", {"JOURNAL_STREAM": "8:1"}, io.StringIO()) == "console"
