"""ControlServer over a real Unix socket with an in-memory daemon behind it."""

from __future__ import annotations

import os
import threading
from decimal import Decimal

import pytest

from hedgegridd.control.client import ControlClient
from hedgegridd.control.protocol import COMMANDS, PROTOCOL_VERSION, Access, ErrorCode
from hedgegridd.control.results import (
    FlattenResult,
    KillSwitchResult,
    LaddersResult,
    OrdersResult,
    PositionsResult,
    ReloadResult,
    StateResult,
    StatusResult,
    ThrottleResult,
    VersionResult,
)
from hedgegridd.errors import ControlError
from tests.control.fakes import FakeDaemon
from tests.control.helpers import config_for, serve

pytestmark = pytest.mark.anyio


async def test_handshake_welcomes_root_as_admin(sock_dir, daemon: FakeDaemon) -> None:
    """Root connecting gets a welcome with the daemon version and admin access."""
    async with (
        serve(config_for(sock_dir), daemon.backend(), daemon.journal, daemon_version="9.9.9"),
        await ControlClient.connect(sock_dir / "control.sock") as client,
    ):
        assert client.welcome.daemon_version == "9.9.9"
        assert client.welcome.access is Access.ADMIN


async def test_read_commands_return_strategy_state(sock_dir, daemon: FakeDaemon) -> None:
    """status/positions/orders/ladders/version/killswitch.status carry the strategy's data."""
    async with (
        serve(config_for(sock_dir), daemon.backend(), daemon.journal),
        await ControlClient.connect(sock_dir / "control.sock") as client,
    ):
        status = await client.call("status")
        assert isinstance(status, StatusResult)
        assert status.state == "RUNNING"
        assert status.long.quantity == Decimal("0.003")
        assert status.fills == 42
        assert status.mode == "paper"
        positions = await client.call("positions")
        assert isinstance(positions, PositionsResult)
        assert positions.short.quantity == Decimal("0.002")
        orders = await client.call("orders")
        assert isinstance(orders, OrdersResult)
        assert len(orders.orders) == 10
        ladders = await client.call("ladders")
        assert isinstance(ladders, LaddersResult)
        assert [r.level for r in ladders.rungs] == [0, 1, 2, 3, 4]
        version = await client.call("version")
        assert isinstance(version, VersionResult)
        assert version.protocol_version == PROTOCOL_VERSION
        assert version.nautilus_version.startswith("1.231")
        ks = await client.call("killswitch.status")
        assert isinstance(ks, KillSwitchResult)
        assert ks.latched is False
    assert daemon.journal.entries == []  # read-only commands are not journaled


async def test_mutating_commands_change_state_and_are_journaled(
    sock_dir, daemon: FakeDaemon
) -> None:
    """pause/resume/throttle/flatten/reload act on the daemon and journal uid and pid."""
    async with (
        serve(config_for(sock_dir), daemon.backend(), daemon.journal),
        await ControlClient.connect(sock_dir / "control.sock") as client,
    ):
        paused = await client.call("pause", {"reason": "maintenance"})
        assert isinstance(paused, StateResult)
        assert paused.state == "PAUSED"
        assert daemon.strategy.pause_reasons == ["maintenance"]
        resumed = await client.call("resume", {"reason": "maintenance"})
        assert isinstance(resumed, StateResult)
        assert resumed.state == "RUNNING"
        throttled = await client.call("throttle", {"value": "0.25"})
        assert isinstance(throttled, ThrottleResult)
        assert (throttled.previous, throttled.throttle) == (Decimal(1), Decimal("0.25"))
        assert daemon.strategy.throttle == Decimal("0.25")
        flat = await client.call("flatten", {"side": "long"})
        assert isinstance(flat, FlattenResult)
        assert flat.sides == ("LONG",)
        assert flat.closing_orders == {"LONG": Decimal("0.003")}
        assert daemon.strategy.long_qty == "0"
        assert daemon.strategy.short_qty == "0.002"
        reloaded = await client.call("reload")
        assert isinstance(reloaded, ReloadResult)
        assert reloaded.restart_required == ("venue",)
    commands = [e["details"]["command"] for e in daemon.journal.entries]
    assert commands == ["pause", "resume", "throttle", "flatten", "reload"]
    for entry in daemon.journal.entries:
        assert entry["kind"] == "control.command"
        assert entry["details"]["uid"] == os.getuid()
        assert entry["details"]["pid"] == os.getpid()
        assert entry["details"]["outcome"] == "ok"
        assert entry["actor"] == f"uid={os.getuid()} pid={os.getpid()}"
    assert daemon.journal.entries[2]["details"]["args"] == {"value": "0.25"}


async def test_commands_run_on_the_event_loop_thread(sock_dir, daemon: FakeDaemon) -> None:
    """The strategy is only ever called from the thread running the server's loop."""
    loop_thread = threading.get_ident()
    async with (
        serve(config_for(sock_dir), daemon.backend(), daemon.journal),
        await ControlClient.connect(sock_dir / "control.sock") as client,
    ):
        for name, spec in COMMANDS.items():
            if not spec.mutating:
                await client.call(name)
        await client.call("throttle", {"value": "0.5"})
        await client.call("pause")
    assert len(daemon.strategy.calls) >= 6
    assert {thread for _, thread in daemon.strategy.calls} == {loop_thread}


async def test_resume_refused_while_killswitch_latched(sock_dir, daemon: FakeDaemon) -> None:
    """resume is refused by state while latched; killswitch reset clears it, then resume works."""
    daemon.strategy.pause("operator")
    daemon.latch("drawdown")
    async with (
        serve(config_for(sock_dir), daemon.backend(), daemon.journal),
        await ControlClient.connect(sock_dir / "control.sock") as client,
    ):
        with pytest.raises(ControlError) as refused:
            await client.call("resume")
        assert refused.value.code == ErrorCode.REFUSED_BY_STATE
        assert "killswitch reset" in refused.value.message
        ks = await client.call("killswitch.status")
        assert isinstance(ks, KillSwitchResult)
        assert ks.latched
        assert ks.reason == "drawdown"
        assert ks.details == {"drawdown_pct": "12.5"}
        reset = await client.call("killswitch.reset")
        assert isinstance(reset, KillSwitchResult)
        assert reset.latched is False
        resumed = await client.call("resume")
        assert isinstance(resumed, StateResult)
        assert resumed.state == "RUNNING"
        with pytest.raises(ControlError) as again:
            await client.call("killswitch.reset")
        assert again.value.code == ErrorCode.REFUSED_BY_STATE
    assert daemon.killswitch.resets == [f"uid={os.getuid()} pid={os.getpid()}"]
    outcomes = [(e["details"]["command"], e["details"]["outcome"]) for e in daemon.journal.entries]
    assert outcomes == [
        ("resume", "refused_by_state"),
        ("killswitch.reset", "ok"),
        ("resume", "ok"),
        ("killswitch.reset", "refused_by_state"),
    ]


async def test_backend_failure_gives_generic_internal_error(
    sock_dir, daemon: FakeDaemon, log_events
) -> None:
    """An exception in the backend becomes code internal, without its text; the log has it."""

    def broken() -> None:
        raise RuntimeError("secret-internal-detail at 0xdeadbeef")

    daemon.strategy.open_orders = broken  # type: ignore[method-assign]
    async with (
        serve(config_for(sock_dir), daemon.backend(), daemon.journal),
        await ControlClient.connect(sock_dir / "control.sock") as client,
    ):
        with pytest.raises(ControlError) as failed:
            await client.call("orders")
        assert failed.value.code == ErrorCode.INTERNAL
        assert "secret" not in failed.value.message
        assert "Traceback" not in failed.value.message
        assert "RuntimeError" not in failed.value.message
        status = await client.call("status")  # the connection and server carry on
        assert isinstance(status, StatusResult)
    failures = [e for e in log_events.entries if e["event"] == "control.command_failed"]
    assert failures
    assert failures[0]["command"] == "orders"
    assert failures[0]["log_level"] == "error"


async def test_journal_failure_is_logged_and_reply_still_sent(
    sock_dir, daemon: FakeDaemon, log_events
) -> None:
    """A failing journal does not lose the reply of a command that already ran; it is logged."""

    async def broken_journal(kind: str, *, actor: str, details: dict, at_ns: int) -> None:
        raise OSError("disk full")

    async with (
        serve(config_for(sock_dir), daemon.backend(), broken_journal),
        await ControlClient.connect(sock_dir / "control.sock") as client,
    ):
        result = await client.call("pause")
        assert isinstance(result, StateResult)
        assert result.state == "PAUSED"
    assert any(e["event"] == "control.journal_failed" for e in log_events.entries)


async def test_strategy_not_running_yet_is_refused_by_state(sock_dir, daemon: FakeDaemon) -> None:
    """Before the strategy exists (warmup), strategy commands are refused by state."""
    backend = daemon.backend()
    backend._handle = lambda: None
    async with (
        serve(config_for(sock_dir), backend, daemon.journal),
        await ControlClient.connect(sock_dir / "control.sock") as client,
    ):
        with pytest.raises(ControlError) as refused:
            await client.call("status")
        assert refused.value.code == ErrorCode.REFUSED_BY_STATE
        version = await client.call("version")
        assert isinstance(version, VersionResult)


async def test_throttle_out_of_range_is_bad_argument(sock_dir, daemon: FakeDaemon) -> None:
    """throttle 1.5 or a float is rejected as bad_argument and the throttle is unchanged."""
    async with (
        serve(config_for(sock_dir), daemon.backend(), daemon.journal),
        await ControlClient.connect(sock_dir / "control.sock") as client,
    ):
        for bad in ("1.5", "-0.1", "NaN", "abc", 0.5, True):
            with pytest.raises(ControlError) as rejected:
                await client.call("throttle", {"value": bad})
            assert rejected.value.code == ErrorCode.BAD_ARGUMENT
            assert "value" in rejected.value.message
        with pytest.raises(ControlError) as out_of_range:
            await client.call("throttle", {"value": "1.5"})
        assert out_of_range.value.message == (
            "throttle argument value: must be between 0 and 1 inclusive "
            "(0 = no entries, 1 = full size)"
        )
    assert daemon.strategy.throttle == Decimal(1)
