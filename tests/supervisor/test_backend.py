"""SupervisorBackend: resume lifts a finished flatten's pauses; a refused reload names the key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest
import pytest_asyncio

from hedgegridd.control.protocol import ErrorCode, exit_code_for
from hedgegridd.control.results import KillSwitchResult, ReloadResult, killswitch_result
from hedgegridd.errors import ConfigError, ControlError
from hedgegridd.ops.config import KillSwitchConfig
from hedgegridd.ops.killswitch import KillSwitch
from hedgegridd.strategy.handle import FlattenSide
from hedgegridd.supervisor.components import SupervisorBackend
from hedgegridd.supervisor.state import AsyncStateStore
from tests.ops.fake_strategy import FakeBook

pytestmark = pytest.mark.asyncio


@pytest_asyncio.fixture
async def store(tmp_path: Path) -> AsyncIterator[AsyncStateStore]:
    s = await AsyncStateStore.open(tmp_path / "s.db")
    try:
        yield s
    finally:
        await s.aclose()


async def _not_latched() -> KillSwitchResult:
    return killswitch_result(latched=False)


async def _reset(_actor: str) -> KillSwitchResult:
    return killswitch_result(latched=False)


async def _bad_reload(_actor: str) -> ReloadResult:
    raise ConfigError("killswitch.enabled must be true in mode=live (ops cannot be disabled)")


def backend(book: FakeBook, store: AsyncStateStore, ks: KillSwitch | None) -> SupervisorBackend:
    return SupervisorBackend(
        store=store,
        killswitch=ks,
        handle=lambda: book,  # type: ignore[arg-type,return-value]
        killswitch_status=_not_latched,
        killswitch_reset=_reset,
        reload=_bad_reload,
        mode="sim",
        daemon_version="test",
    )


def fast() -> KillSwitchConfig:
    return KillSwitchConfig(flatten_verify_timeout_s=0.1, flatten_poll_interval_s=0.01)


async def test_plain_resume_after_a_flatten_resumes_trading(store: AsyncStateStore) -> None:
    """flatten both, then resume (reason operator): no pause reason is left."""
    book = FakeBook()
    book.auto_fill = True
    ks = KillSwitch(fast(), strategy=book, store=store)
    await ks.restore()
    b = backend(book, store, ks)
    flat = await b.flatten(FlattenSide.BOTH, actor="uid=1")
    assert flat.verified
    assert {"operator_flatten", "flatten"} <= book.pause_reasons
    state = await b.resume("operator", actor="uid=1")
    assert state.pause_reasons == ()
    assert state.state == "RUNNING"
    assert await store.flatten_intent() is None


async def test_resume_keeps_the_pauses_of_a_flatten_still_closing(store: AsyncStateStore) -> None:
    """A flatten not yet verified flat keeps its pauses; the reply names them."""
    book = FakeBook()
    book.ignore_flattens = 99
    ks = KillSwitch(fast(), strategy=book, store=store)
    await ks.restore()
    b = backend(book, store, ks)
    assert not (await b.flatten(FlattenSide.LONG, actor="uid=1")).verified
    state = await b.resume("operator", actor="uid=1")
    assert state.state == "PAUSED"
    assert {"operator_flatten", "flatten"} <= set(state.pause_reasons)


async def test_resume_without_a_kill_switch_lifts_the_strategy_flatten_pause(
    store: AsyncStateStore,
) -> None:
    """With the kill switch off, flatten goes to the strategy; resume lifts its pause."""
    book = FakeBook()
    book.auto_fill = True
    b = backend(book, store, None)
    await b.flatten(FlattenSide.BOTH, actor="uid=1")
    assert "flatten" in book.pause_reasons
    assert (await b.resume("operator", actor="uid=1")).pause_reasons == ()


async def test_refused_reload_answers_config_invalid_naming_the_key(
    store: AsyncStateStore,
) -> None:
    """A ConfigError from reload becomes config_invalid (ctl exit 78) with the key named."""
    b = backend(FakeBook(), store, None)
    with pytest.raises(ControlError) as err:
        await b.reload(actor="uid=1")
    assert err.value.code is ErrorCode.CONFIG_INVALID
    assert "killswitch.enabled" in str(err.value)
    assert int(exit_code_for(ErrorCode.CONFIG_INVALID)) == 78


async def test_build_ops_wakes_the_kill_switch_on_every_mark_change(
    store: AsyncStateStore, tmp_path: Path
) -> None:
    """The strategy's mark tracker is wired to KillSwitch.wake: a new price sets the wake."""
    from hedgegridd.strategy.mark import MarkTracker
    from hedgegridd.supervisor.components import build_ops
    from hedgegridd.supervisor.health import Health
    from hedgegridd.supervisor.secrets import Secrets
    from hedgegridd.supervisor.settings import load_settings

    config = tmp_path / "d.toml"
    config.write_text(f'mode = "sim"\n[control]\nsocket_path = "{tmp_path / "c.sock"}"\n')
    settings = load_settings(config)
    tracker = MarkTracker()
    handle = SimpleNamespace(mark=tracker)  # the strategy's MarkTracker attribute
    woken: list[int] = []

    async def reload(_actor: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return (), ()

    ops = build_ops(
        settings,
        Secrets(None, None, None, None),
        handle=handle,  # type: ignore[arg-type]
        store=store,
        health=Health(settings.watchdog),
        reload=reload,
        environ={},
    )
    assert ops.killswitch is not None
    ops.killswitch.wake = lambda: woken.append(1)  # type: ignore[method-assign]
    tracker.observe_stream(Decimal(50000), 1)
    tracker.observe_stream(Decimal(50000), 2)  # same price: no wake
    tracker.observe_stream(Decimal(50001), 3)
    assert woken == [1, 1]
