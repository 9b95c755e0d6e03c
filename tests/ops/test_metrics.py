"""MetricsServer: scraped over real HTTP, parsed, checked by promtool, loopback only."""

from __future__ import annotations

import re
import shutil
from decimal import Decimal
from pathlib import Path

import aiohttp
import anyio
import pytest
from prometheus_client.parser import text_string_to_metric_families

from hedgegridd.errors import ConfigError
from hedgegridd.ops.config import KillSwitchConfig, MetricsConfig
from hedgegridd.ops.killswitch import KillSwitch
from hedgegridd.ops.metrics import MetricsServer
from hedgegridd.strategy.handle import OrderView, StrategyHandle
from hedgegridd.supervisor.state import AsyncStateStore
from tests.ops.fake_strategy import FakeBook
from tests.ops.full_render import render_every_family

pytestmark = pytest.mark.asyncio
D = Decimal


def order(side: str, kind: str, level: int) -> OrderView:
    return OrderView(
        client_order_id=f"O-{side}-{kind}-{level}",
        position_side=side,
        kind=kind,
        order_side="BUY" if side == "LONG" else "SELL",
        order_type="LIMIT",
        price=D(49000),
        quantity=D("0.01"),
        filled=D(0),
        status="ACCEPTED",
        level=level,
    )


def config() -> MetricsConfig:
    return MetricsConfig(port=0, loop_lag_interval_s=0.05)


async def scrape(url: str) -> tuple[str, str]:
    async with aiohttp.ClientSession() as session, session.get(url) as resp:
        assert resp.status == 200
        return resp.headers["Content-Type"], await resp.text()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_scrape_exposes_strategy_state_read_on_each_scrape() -> None:
    """A scrape over HTTP returns positions, orders, PnL, regime; a new scrape sees new values."""
    book = FakeBook(long_qty=D("0.1"), short_qty=D("0.05"))
    book.orders = [order("LONG", "entry", 1), order("LONG", "entry", 2), order("SHORT", "tp", 0)]
    server = MetricsServer(config(), strategy=lambda: book, mode="paper")
    async with anyio.create_task_group() as tg:
        await tg.start(server.run)
        book.bars = 7
        ctype, text = await scrape(server.url)
        book.mark = D(51000)
        book.bars = 9
        _, text2 = await scrape(server.url)
        tg.cancel_scope.cancel()
    assert ctype.startswith("text/plain")
    s = samples(text)
    inst = ("instrument", "BTCUSDT-PERP.BINANCE")
    assert s[("hedgegridd_position_quantity", (inst, ("side", "LONG")))] == 0.1
    assert s[("hedgegridd_position_notional", (inst, ("side", "SHORT")))] == 2500.0
    assert s[("hedgegridd_open_orders", (("kind", "entry"), ("side", "LONG")))] == 2
    assert s[("hedgegridd_open_orders", (("kind", "tp"), ("side", "SHORT")))] == 1
    assert s[("hedgegridd_open_orders", (("kind", "sl"), ("side", "SHORT")))] == 0
    assert s[("hedgegridd_regime", (("regime", "SIDEWAYS"),))] == 1
    assert s[("hedgegridd_regime", (("regime", "UP"),))] == 0
    assert s[("hedgegridd_equity", ())] == 10000.0
    assert s[("hedgegridd_margin_ratio", ())] == 0.1
    assert s[("hedgegridd_fills_total", ())] == 3
    assert s[("hedgegridd_bars_total", ())] == 7
    assert s[("hedgegridd_order_rejects_total", (("reason", "post_only"),))] == 2
    assert s[("hedgegridd_paused", ())] == 0
    assert s[("hedgegridd_strategy_up", ())] == 1
    assert ("hedgegridd_last_bar_age_seconds", ()) in s
    build = [k for k in s if k[0] == "hedgegridd_build_info"]
    assert len(build) == 1
    assert ("mode", "paper") in build[0][1]
    s2 = samples(text2)
    assert s2[("hedgegridd_position_notional", (inst, ("side", "LONG")))] == 5100.0
    assert s2[("hedgegridd_bars_total", ())] == 9


async def test_names_follow_prometheus_conventions() -> None:
    """Families are hedgegridd_ (or standard process_/python_); counters _total, gauges not."""
    server = MetricsServer(config(), strategy=lambda: FakeBook(), mode="paper")
    text = server.render().decode()
    families = list(text_string_to_metric_families(text))
    assert len(families) > 20
    for family in families:
        assert family.name.startswith(("hedgegridd_", "process_", "python_")), family.name
        if family.type == "counter":
            assert all(s.name.endswith(("_total", "_created")) for s in family.samples)
        else:
            assert not family.name.endswith("_total")
    names = {f.name for f in families}
    for required in (
        "hedgegridd_circuit_breaker_trips",
        "hedgegridd_watchdog_pings",
        "hedgegridd_event_loop_lag_seconds",
        "hedgegridd_throttle_ratio",
        "hedgegridd_funding_rate",
        "hedgegridd_realized_pnl",
        "hedgegridd_unrealized_pnl",
        "hedgegridd_trading_state",
    ):
        assert required in names


async def test_promtool_accepts_a_live_scrape(tmp_path: Path) -> None:
    """`promtool check metrics` finds no problem in a live scrape."""
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool not installed")
    book = FakeBook()
    book.orders = [order("LONG", "entry", 1)]
    server = MetricsServer(config(), strategy=lambda: book, mode="paper")
    async with anyio.create_task_group() as tg:
        await tg.start(server.run)
        _, text = await scrape(server.url)
        tg.cancel_scope.cancel()
    result = await anyio.run_process(
        [promtool, "check", "metrics"], input=text.encode(), check=False
    )
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert result.stdout.decode().strip() == ""
    assert result.stderr.decode().strip() == ""


async def test_binds_loopback_only_by_default() -> None:
    """The server listens on 127.0.0.1 and an ephemeral port when asked for port 0."""
    server = MetricsServer(config(), strategy=lambda: None)
    async with anyio.create_task_group() as tg:
        await tg.start(server.run)
        assert server.port
        assert server.url.startswith("http://127.0.0.1:")
        _, text = await scrape(server.url)
        tg.cancel_scope.cancel()
    assert samples(text)[("hedgegridd_strategy_up", ())] == 0


async def test_run_refuses_a_non_loopback_bind_even_if_config_was_bypassed() -> None:
    """A non-loopback host without the explicit allowance raises ConfigError before binding."""
    forged = MetricsConfig.model_construct(
        host="0.0.0.0", port=0, path="/metrics", allow_non_loopback=False, loop_lag_interval_s=1.0
    )
    server = MetricsServer(forged, strategy=lambda: None)
    with pytest.raises(ConfigError, match="allow_non_loopback"):
        await server.run()


async def test_unreadable_strategy_reports_down_not_crash() -> None:
    """A strategy whose snapshot raises gives strategy_up 0 and counts a collect error."""
    book = FakeBook()
    book.snapshot_error = RuntimeError("boom")
    handle: StrategyHandle = book
    server = MetricsServer(config(), strategy=lambda: handle)
    s = samples(server.render().decode())
    assert s[("hedgegridd_strategy_up", ())] == 0
    assert s[("hedgegridd_metrics_collect_errors_total", ())] == 1
    assert ("hedgegridd_position_quantity", ()) not in s


async def test_killswitch_watchdog_and_loop_lag_are_exported(tmp_path: Path) -> None:
    """Kill-switch latch/fired count, watchdog pings and the loop-lag probe appear in scrapes."""
    store = await AsyncStateStore.open(tmp_path / "s.db")
    try:
        book = FakeBook()
        book.auto_fill = True
        ks = KillSwitch(
            KillSwitchConfig(flatten_verify_timeout_s=1, flatten_poll_interval_s=0.01),
            strategy=book,
            store=store,
        )
        server = MetricsServer(config(), strategy=lambda: book, killswitch=ks)
        before = samples(server.render().decode())
        assert before[("hedgegridd_killswitch_latched", ())] == 0
        await ks.restore()
        await ks.check_once()
        await ks.fire("limit:margin_ratio")
        server.record_watchdog_ping()
        server.record_watchdog_ping()
        async with anyio.create_task_group() as tg:
            await tg.start(server.run)
            await anyio.sleep(0.2)
            _, text = await scrape(server.url)
            tg.cancel_scope.cancel()
    finally:
        await store.aclose()
    s = samples(text)
    assert s[("hedgegridd_killswitch_latched", ())] == 1
    assert s[("hedgegridd_killswitch_fired_total", ())] == 1
    assert s[("hedgegridd_watchdog_pings_total", ())] == 2
    assert s[("hedgegridd_paused", ())] == 1
    assert s[("hedgegridd_trading_state", (("state", "HALTED"),))] == 1
    assert s[("hedgegridd_killswitch_threshold", (("limit", "margin_ratio"),))] == 0.8
    assert ("hedgegridd_event_loop_lag_seconds", ()) in s


async def test_scrapes_read_the_strategy_on_the_event_loop_thread() -> None:
    """Every snapshot read by a scrape happens on the loop's own thread (no worker threads)."""
    import threading

    book = FakeBook()
    server = MetricsServer(config(), strategy=lambda: book)
    async with anyio.create_task_group() as tg:
        await tg.start(server.run)
        for _ in range(3):
            await scrape(server.url)
        tg.cancel_scope.cancel()
    assert book.snapshot_threads == {threading.get_ident()}


async def test_openmetrics_is_served_when_asked_for() -> None:
    """A scraper sending Accept: application/openmetrics-text gets OpenMetrics ending in # EOF."""
    from prometheus_client.openmetrics.parser import text_string_to_metric_families as om_parse

    server = MetricsServer(config(), strategy=lambda: FakeBook())
    headers = {"Accept": "application/openmetrics-text; version=1.0.0"}
    async with anyio.create_task_group() as tg:
        await tg.start(server.run)
        async with (
            aiohttp.ClientSession() as session,
            session.get(server.url, headers=headers) as r,
        ):
            ctype = r.headers["Content-Type"]
            text = await r.text()
        tg.cancel_scope.cancel()
    assert ctype.startswith("application/openmetrics-text")
    assert text.rstrip().endswith("# EOF")
    names = {f.name for f in om_parse(text)}
    assert "hedgegridd_fills" in names


async def test_killswitch_limits_are_exported_as_ratios_not_percent(tmp_path: Path) -> None:
    """max_drawdown_pct = 10 is exported as 0.1 and the drawdown reading as a 0..1 ratio."""
    from hedgegridd.ops.killswitch_rules import Limit

    store = await AsyncStateStore.open(tmp_path / "state.db")
    try:
        book = FakeBook()
        ks = KillSwitch(KillSwitchConfig(max_drawdown_pct=D(10)), strategy=book, store=store)
        await ks.restore()
        await ks.check_once()
        book.mark = D(49000)  # the long leg loses: a drawdown from the peak
        await ks.check_once()
        status = ks.status()
        assert status.last_check is not None
        drawdown = next(v for v in status.last_check.verdicts if v.limit is Limit.DRAWDOWN)
        assert drawdown.value is not None
        assert drawdown.value > 0
        s = samples(MetricsServer(config(), strategy=lambda: book, killswitch=ks).render().decode())
    finally:
        await store.aclose()
    assert s[("hedgegridd_killswitch_threshold", (("limit", "drawdown"),))] == pytest.approx(0.1)
    reading = s[("hedgegridd_killswitch_reading", (("limit", "drawdown"),))]
    assert reading == pytest.approx(float(drawdown.value) / 100)
    assert s[("hedgegridd_killswitch_threshold", (("limit", "margin_ratio"),))] == 0.8
    assert 0 <= s[("hedgegridd_margin_ratio", ())] <= 1


async def test_process_and_python_metrics_are_exported() -> None:
    """The standard process_* families (CPU, memory, fds, start time) and python_info."""
    s = samples(MetricsServer(config(), strategy=lambda: FakeBook()).render().decode())
    names = {name for name, _ in s}
    assert {
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_virtual_memory_bytes",
        "process_start_time_seconds",
        "process_open_fds",
        "python_info",
    } <= names
    assert s[("process_resident_memory_bytes", ())] > 0


def _documented_metrics() -> set[str]:
    readme = (Path(__file__).resolve().parents[2] / "hedgegridd" / "ops" / "README.md").read_text()
    section = readme[readme.index("## Metrics (all") : readme.index("Money is in the quote")]
    names = {re.sub(r"\{.*", "", t) for t in re.findall(r"`([a-z_]+(?:\{[^`]*\})?)`", section)}
    return {"hedgegridd_" + n for n in names if not n.startswith("telegram_")}


async def test_ops_readme_lists_exactly_the_exported_families(tmp_path: Path) -> None:
    """hedgegridd/ops/README.md's metric list names every family the collector exports, no more."""
    text = await render_every_family(tmp_path)
    exported = {
        f.name + ("_total" if f.type == "counter" else "")
        for f in text_string_to_metric_families(text)
        if f.name.startswith("hedgegridd_")
    }
    assert "hedgegridd_bars_total" in exported
    assert _documented_metrics() == exported
