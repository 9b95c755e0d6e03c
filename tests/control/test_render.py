"""Human rendering of results for hedgegridctl."""

from __future__ import annotations

from decimal import Decimal

from hedgegridd.control.render import render, table
from hedgegridd.control.results import KillSwitchResult, OrdersResult, ThrottleResult


def test_decimals_print_without_trailing_zeros_or_exponents() -> None:
    """Decimals are shown plainly: 11.2504569000 -> 11.2504569, 1E+1 -> 10, None -> -."""
    out = table(("a", "b", "c"), [(Decimal("11.2504569000"), Decimal("1E+1"), None)])
    assert out.splitlines()[2].split() == ["11.2504569", "10", "-"]


def test_latched_killswitch_shows_reason_and_details() -> None:
    """A latched kill switch renders LATCHED with its reason and sorted details."""
    out = render(
        KillSwitchResult(
            latched=True, reason="drawdown", fired_at_ns=5, details={"b": "2", "a": "1"}
        )
    )
    lines = out.splitlines()
    assert lines[0].split() == ["kill", "switch", "LATCHED"]
    assert "drawdown" in lines[1]
    assert [line.split()[0] for line in lines[3:]] == ["a", "b"]


def test_empty_orders_and_throttle() -> None:
    """No open orders says so; throttle shows new and previous values."""
    assert render(OrdersResult(orders=())) == "no open orders"
    out = render(ThrottleResult(previous=Decimal("1.00"), throttle=Decimal("0.50")))
    assert out.splitlines() == ["throttle  0.5", "previous  1"]
