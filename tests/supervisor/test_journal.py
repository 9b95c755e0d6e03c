"""Native journald logging: entries read back from a datagram socket standing in for journald."""

from __future__ import annotations

import array
import io
import logging
import os
import socket
import struct
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
import structlog

from hedgegridd.supervisor.journal import (
    SOCKET_ENV,
    JournalSender,
    encode,
    field_name,
    stdio_line_fields,
)
from hedgegridd.supervisor.logsetup import configure_logging

REPO = Path(__file__).resolve().parents[2]
Entry = dict[str, list[str]]


def parse_entry(data: bytes) -> Entry:
    """Decode one native-protocol datagram (both the text and the binary field form)."""
    fields: Entry = {}
    pos = 0
    while pos < len(data):
        newline = data.index(b"\n", pos)
        line = data[pos:newline]
        if b"=" in line:
            name, _, value = line.partition(b"=")
            pos = newline + 1
        else:
            name = line
            (size,) = struct.unpack("<Q", data[newline + 1 : newline + 9])
            value = data[newline + 9 : newline + 9 + size]
            assert data[newline + 9 + size : newline + 10 + size] == b"\n"
            pos = newline + 10 + size
        fields.setdefault(name.decode(), []).append(value.decode())
    return fields


class FakeJournal:
    """A bound AF_UNIX datagram socket that receives entries like journald does."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(60)
        self.memfds = 0

    def receive(self) -> Entry:
        """The next entry (reading a passed memfd when the datagram carries one)."""
        fds = array.array("i")
        data, ancdata, _, _ = self.sock.recvmsg(1 << 20, socket.CMSG_SPACE(fds.itemsize))
        for level, kind, payload in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
        if fds:
            self.memfds += 1
            with os.fdopen(fds[0], "rb") as memfd:
                memfd.seek(0)
                data = memfd.read()
        return parse_entry(data)

    def until(self, *needles: str, deadline_s: float = 120.0) -> list[Entry]:
        """Entries received until every needle appeared in some MESSAGE (generous deadline)."""
        seen: list[Entry] = []
        end = time.monotonic() + deadline_s
        while time.monotonic() < end:
            seen.append(self.receive())
            text = "\n".join(e.get("MESSAGE", [""])[0] for e in seen)
            if all(n in text for n in needles):
                return seen
        raise AssertionError(f"not all of {needles} in {seen}")


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[FakeJournal]:
    """A fake journald socket in a short temporary path."""
    fake = FakeJournal(tmp_path / "j.sock")
    try:
        yield fake
    finally:
        fake.sock.close()


@pytest.fixture
def native(journal: FakeJournal) -> Iterator[io.StringIO]:
    """structlog configured for the native protocol towards the fake journal."""
    fallback = io.StringIO()
    configure_logging(
        fmt="journald",
        level="DEBUG",
        secrets=("SuPeRsEcReTkEy",),
        stream=fallback,
        environ={SOCKET_ENV: str(journal.path), "JOURNAL_STREAM": "1:1"},
    )
    try:
        yield fallback
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers[:] = []


def test_event_becomes_entry_with_upper_case_fields(
    journal: FakeJournal, native: io.StringIO
) -> None:
    """An event arrives with MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, EVENT and its keys as fields."""
    structlog.get_logger("t").warning(
        "killswitch.fired",
        reason="drawdown",
        peak_equity=None,
        limits={"drawdown": Decimal("10"), "loss": "5"},
        equity=Decimal("912.5"),
        verified=True,
    )
    entry = journal.receive()
    assert entry["EVENT"] == ["killswitch.fired"]
    assert entry["PRIORITY"] == ["4"]
    assert entry["SYSLOG_IDENTIFIER"] == ["hedgegridd"]
    assert entry["REASON"] == ["drawdown"]
    assert entry["PEAK_EQUITY"] == ["null"]
    assert entry["LIMITS"] == ['{"drawdown":"10","loss":"5"}']
    assert entry["EQUITY"] == ["912.5"]
    assert entry["VERIFIED"] == ["true"]
    message = entry["MESSAGE"][0]
    assert message.startswith("killswitch.fired ")
    assert "peak_equity=null" in message
    assert "'" not in message
    assert "Decimal" not in message
    assert native.getvalue() == ""


def test_levels_map_to_syslog_priorities(journal: FakeJournal, native: io.StringIO) -> None:
    """debug/info/warning/error/critical arrive as priorities 7/6/4/3/2."""
    log = structlog.get_logger("t")
    for method in ("debug", "info", "warning", "error", "critical"):
        getattr(log, method)(f"probe.{method}")
    got = {e["EVENT"][0]: e["PRIORITY"][0] for e in (journal.receive() for _ in range(5))}
    assert got == {
        "probe.debug": "7",
        "probe.info": "6",
        "probe.warning": "4",
        "probe.error": "3",
        "probe.critical": "2",
    }


def test_secrets_redacted_in_every_field(journal: FakeJournal, native: io.StringIO) -> None:
    """Configured secrets, secret-named keys and URL tokens never reach the journal."""
    structlog.get_logger("t").info(
        "alert.sent",
        note="key is SuPeRsEcReTkEy here",
        nested={"inner": ["x", "SuPeRsEcReTkEy"]},
        api_secret="plain",
        url="https://api.telegram.org/bot123456:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/send",
    )
    data, _ = journal.sock.recvfrom(1 << 20)
    for leaked in (b"SuPeRsEcReTkEy", b"plain", b"AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"):
        assert leaked not in data
    entry = parse_entry(data)
    assert entry["API_SECRET"] == ["***"]
    assert entry["NOTE"] == ["key is *** here"]


def test_exception_travels_in_binary_field_form(journal: FakeJournal, native: io.StringIO) -> None:
    """A traceback (newlines) is sent with the length-prefixed form and read back whole."""
    try:
        raise ValueError("bad value")
    except ValueError:
        structlog.get_logger("t").exception("task.crashed", task="grid")
    entry = journal.receive()
    assert entry["PRIORITY"] == ["3"]
    assert "Traceback" in entry["EXCEPTION"][0]
    assert "ValueError: bad value" in entry["EXCEPTION"][0]
    assert "\n" in entry["MESSAGE"][0]


def test_stdlib_records_reach_the_journal(journal: FakeJournal, native: io.StringIO) -> None:
    """A library logging through stdlib (aiohttp) gets an entry with its priority and logger."""
    logging.getLogger("aiohttp.client").error("connection reset by %s", "peer")
    entry = journal.receive()
    assert entry["EVENT"] == ["connection reset by peer"]
    assert entry["PRIORITY"] == ["3"]
    assert entry["LOGGER"] == ["aiohttp.client"]


def test_large_entry_travels_in_a_sealed_memfd(journal: FakeJournal) -> None:
    """An entry larger than any datagram (send buffer <= 16 MiB) is passed as a sealed memfd."""
    big = "x" * (17 * 1024 * 1024)
    assert JournalSender(str(journal.path)).send({"MESSAGE": "big", "BLOB": big})
    entry = journal.receive()
    assert journal.memfds == 1
    assert entry["BLOB"] == [big]


def test_field_names_are_journal_safe() -> None:
    """Keys become upper-case [A-Z0-9_] names; reserved or leading-digit names get a prefix."""
    assert field_name("peak_equity") == "PEAK_EQUITY"
    assert field_name("rung-count.long") == "RUNG_COUNT_LONG"
    assert field_name("_trusted") == "TRUSTED"
    assert field_name("message") == "FIELD_MESSAGE"
    assert field_name("2fa") == "FIELD_2FA"
    assert encode([("A", "1"), ("B", "x\ny")]) == b"A=1\nB\n" + struct.pack("<Q", 3) + b"x\ny\n"


def test_without_journal_socket_lines_carry_priority_prefix(tmp_path: Path) -> None:
    """No socket: `<N>event key=value` lines on stderr, values as text (not Python reprs)."""
    out = io.StringIO()
    configure_logging(
        fmt="journald",
        level="INFO",
        stream=out,
        environ={SOCKET_ENV: str(tmp_path / "missing.sock")},
    )
    try:
        structlog.get_logger("t").warning("grid.synced", peak_equity=None, limits={"d": "10"})
    finally:
        structlog.reset_defaults()
    assert out.getvalue() == '<4>grid.synced limits={"d":"10"} peak_equity=null\n'


@pytest.mark.parametrize(
    ("level", "priority"), [("ERROR", "3"), ("WARN", "4"), ("INFO", "6"), ("DEBUG", "7")]
)
def test_nautilus_line_priority(level: str, priority: str) -> None:
    """A NautilusTrader console line gets the priority of its [LEVEL] and its component."""
    line = f"2026-12-03T08:13:30.266215410Z [{level}] TRADER-001.DataEngine: something"
    fields = stdio_line_fields(line, default_priority=6, identifier="hedgegridd", redact=str)
    assert fields["PRIORITY"] == priority
    assert fields["NAUTILUS_LEVEL"] == level
    assert fields["NAUTILUS_COMPONENT"] == "TRADER-001.DataEngine"
    assert fields["MESSAGE"] == line


_CHILD = """
import os, sys, structlog
from hedgegridd.supervisor.logsetup import configure_logging
configure_logging(fmt="auto", level="INFO", secrets=("SuPeRsEcReTkEy",))
structlog.get_logger("t").info("daemon.starting", mode="paper")
os.write(2, b"2026-12-03T08:13:30.1Z [ERROR] TRADER-001.Probe: boom SuPeRsEcReTkEy\\n")
os.write(1, b"2026-12-03T08:13:30.2Z [WARN] TRADER-001.Probe: careful\\n")
print("plain stdout line", flush=True)
"""


def _run_under_fake_systemd(code: str, journal: FakeJournal, tmp_path: Path) -> str:
    """Run ``code`` with stderr on a file JOURNAL_STREAM names; returns what reached the file."""
    stderr_file = tmp_path / "stderr.txt"
    with stderr_file.open("wb") as err:
        st = os.fstat(err.fileno())
        env = {
            **os.environ,
            "JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}",
            SOCKET_ENV: str(journal.path),
            "PYTHONPATH": str(REPO),
        }
        subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            stdout=err,
            stderr=err,
            env=env,
            cwd=tmp_path,
            check=True,
            timeout=300,
        )
    return stderr_file.read_text()


def test_stdio_lines_forwarded_with_their_priority(journal: FakeJournal, tmp_path: Path) -> None:
    """Under systemd (JOURNAL_STREAM = our stderr) Nautilus-style stdio lines become entries."""
    leftover = _run_under_fake_systemd(_CHILD, journal, tmp_path)
    entries = journal.until("daemon.starting", "boom", "careful", "plain stdout line")
    by_message = {e["MESSAGE"][0]: e for e in entries}
    boom = next(e for m, e in by_message.items() if "boom" in m)
    careful = next(e for m, e in by_message.items() if "careful" in m)
    assert boom["PRIORITY"] == ["3"]
    assert "SuPeRsEcReTkEy" not in boom["MESSAGE"][0]
    assert careful["PRIORITY"] == ["4"]
    assert careful["NAUTILUS_COMPONENT"] == ["TRADER-001.Probe"]
    assert by_message["plain stdout line"]["PRIORITY"] == ["6"]
    assert any(e.get("EVENT") == ["daemon.starting"] for e in entries)
    assert leftover == ""


@pytest.mark.slow
def test_real_nautilus_logger_lines_get_priorities(journal: FakeJournal, tmp_path: Path) -> None:
    """NautilusTrader's own Rust logger: its ERROR arrives as priority 3 and WARN as 4."""
    code = """
    from hedgegridd.supervisor.logsetup import configure_logging
    configure_logging(fmt="auto", level="INFO")
    from nautilus_trader.common.component import Logger, init_logging
    from nautilus_trader.common.enums import LogLevel
    from nautilus_trader.model.identifiers import TraderId
    guard = init_logging(trader_id=TraderId("TESTER-001"), level_stdout=LogLevel.INFO, colors=False)
    log = Logger("Probe")
    log.error("boom")
    log.warning("careful")
    log.info("done")
    del guard
    """
    leftover = _run_under_fake_systemd(code, journal, tmp_path)
    entries = journal.until("boom", "careful", "done")
    prio = {
        e["MESSAGE"][0].split(": ")[-1]: e["PRIORITY"][0]
        for e in entries
        if "Probe" in e["MESSAGE"][0]
    }
    assert prio.get("boom") == "3"
    assert prio.get("careful") == "4"
    assert prio.get("done") == "6"
    assert "boom" not in leftover
