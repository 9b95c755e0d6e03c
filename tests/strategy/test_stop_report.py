"""A stop says which orders and positions it leaves on purpose (Nautilus calls them Residual)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hedgegridd.core.types import Position, Side
from hedgegridd.strategy import stop_report
from tests.strategy.harness import Harness, at, build


def test_policy_decides_what_is_left_on_purpose_and_what_is_unexpected() -> None:
    """cancel_entries keeps exits, cancel_all keeps none, keep_all keeps all; positions stay."""
    kinds = ["entry", "tp", "sl", "tp", "entry"]
    held = (Position(Side.LONG), Position(Side.SHORT, Decimal("0.006"), Decimal("60000")))
    left = stop_report.left_on_purpose("cancel_entries", kinds, held)
    assert left["left_orders"] == {"sl": 1, "tp": 2}
    assert left["positions"] == {"SHORT": "0.006"}
    assert "Residual" in str(left["note"])
    assert stop_report.unexpected("cancel_entries", kinds) == {"entry": 2}
    assert stop_report.unexpected("cancel_all", kinds) == {"entry": 2, "sl": 1, "tp": 2}
    assert stop_report.unexpected("keep_all", kinds) == {}
    flat = stop_report.left_on_purpose(
        "cancel_all", [], (Position(Side.LONG), Position(Side.SHORT))
    )
    assert flat == {"left_orders": {}, "positions": {}}


def test_stop_logs_the_exits_and_positions_it_leaves(
    disposer: list[Harness], log_events: Any
) -> None:
    """The default stop names the resting exits and open positions it keeps, and why."""
    h = build(minutes=700, seed=3)
    disposer.append(h)
    h.session.advance(at(h, 690))
    assert len(h.fills()) > 0
    h.session.finish()
    stopped = [e for e in log_events.entries if e["event"] == "strategy.stopped"]
    assert len(stopped) == 1
    event = stopped[0]
    assert event["policy"] == "cancel_entries"
    assert event["cancelled"] > 0
    assert set(event["left_orders"]) <= {"tp", "sl"}
    assert sum(event["left_orders"].values()) > 0
    assert event["positions"]
    assert "on purpose" in event["note"]
    assert not [e for e in log_events.entries if e["event"] == "stop.residual_unexpected"]
