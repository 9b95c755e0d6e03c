"""Client order ids that carry kind, side and level (the restart adoption key)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hedgegridd.core.order_ids import (
    BINANCE_CLIENT_ID,
    MAX_LEVEL,
    OrderIdGenerator,
    OrderKind,
    decode,
    encode,
)
from hedgegridd.core.types import Side

KINDS = st.sampled_from(list(OrderKind))
SIDES = st.sampled_from(list(Side))
TS_MS = st.integers(min_value=0, max_value=9_999_999_999_999)  # up to year 2286
SEQ = st.integers(min_value=0, max_value=10**12)


@given(KINDS, SIDES, st.integers(min_value=0, max_value=MAX_LEVEL), TS_MS, SEQ)
def test_every_id_round_trips_and_satisfies_binance(
    kind: OrderKind, side: Side, level: int, ts_ms: int, seq: int
) -> None:
    """decode(encode(x)) == x and every id matches Binance's newClientOrderId rule."""
    lvl = level if kind is OrderKind.ENTRY else None
    text = encode(kind, side, lvl, ts_ms, seq)
    assert BINANCE_CLIENT_ID.match(text)
    info = decode(text)
    assert info is not None
    assert (info.kind, info.side, info.level, info.ts_ms, info.seq) == (kind, side, lvl, ts_ms, seq)


@given(st.text(max_size=40))
def test_decode_never_raises_and_rejects_foreign_ids(text: str) -> None:
    """Arbitrary text decodes to None or to an id that re-encodes to itself."""
    info = decode(text)
    if info is not None:
        assert encode(info.kind, info.side, info.level, info.ts_ms, info.seq) == text


def test_foreign_and_legacy_ids_are_not_ours() -> None:
    """Nautilus' default ids, other bots' ids and malformed ones decode to None."""
    for text in (
        "O-20261124-224136-001-001-21",
        "mg-E-1",
        "HG-TL3-1-1",  # exits carry no level
        "HG-EL-1-1",  # entries always carry one
        "HG-XL1-1-1",
        "",
    ):
        assert decode(text) is None, text


def test_generator_is_deterministic_and_unique() -> None:
    """Same clock readings give the same ids; the counter keeps ids unique within a run."""
    a, b = OrderIdGenerator(), OrderIdGenerator()
    now = 1_764_024_090_123_456_789
    ids_a = [a.next_id(OrderKind.ENTRY, Side.LONG, 3, now) for _ in range(5)]
    ids_b = [b.next_id(OrderKind.ENTRY, Side.LONG, 3, now) for _ in range(5)]
    assert ids_a == ids_b
    assert len(set(ids_a)) == 5
    assert ids_a[0] == "HG-EL3-1764024090123-1"


def test_invalid_requests_raise() -> None:
    """Entry without a level, exit with one, level out of range: ValueError."""
    with pytest.raises(ValueError, match="level"):
        encode(OrderKind.ENTRY, Side.LONG, None, 1, 1)
    with pytest.raises(ValueError, match="level"):
        encode(OrderKind.TP, Side.LONG, 2, 1, 1)
    with pytest.raises(ValueError, match="level"):
        encode(OrderKind.ENTRY, Side.SHORT, MAX_LEVEL + 1, 1, 1)
    with pytest.raises(ValueError, match="36"):
        encode(OrderKind.SL, Side.SHORT, None, 10**20, 10**14)
