"""Client order ids that say what an order is: kind, hedge side and grid level.

Why: after a restart the Binance adapter reconciles our resting orders with
``position_id=None`` and no tags, so the id is the only thing that survives the
round trip through the venue. Every order we send is named

    ``HG-<kind><side><level>-<ms>-<seq>``   e.g. ``HG-EL3-1764024090123-17``

* kind: ``E`` entry, ``T`` take-profit, ``S`` stop-loss, ``F`` flatten;
* side: ``L`` (LONG) / ``S`` (SHORT); level: the rung level (entries only, 0..999);
* ms: the engine clock in milliseconds when the id was made; seq: a counter.

Ids are deterministic (engine clock + counter: identical across backtest runs) and
unique across restarts (a later run has a later clock). They always match Binance's
``newClientOrderId`` rule ``^[\\.A-Z\\:/a-z0-9_-]{1,36}$``. ``decode`` returns None for
anything else (orders that are not ours, or ids from before this scheme): the
strategy's adoption policy decides what to do with those (it cancels them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from hedgegridd.core.types import Side

PREFIX = "HG-"
MAX_LEN = 36
MAX_LEVEL = 999
BINANCE_CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
_PATTERN = re.compile(r"^HG-([ETSF])([LS])(\d{0,3})-(\d{1,16})-(\d{1,14})$")


class OrderKind(StrEnum):
    """What an order of ours does (the strings match the strategy's order tags)."""

    ENTRY = "entry"
    TP = "tp"
    SL = "sl"
    FLATTEN = "flatten"


_KIND_CODE = {OrderKind.ENTRY: "E", OrderKind.TP: "T", OrderKind.SL: "S", OrderKind.FLATTEN: "F"}
_CODE_KIND = {code: kind for kind, code in _KIND_CODE.items()}
_SIDE_CODE = {Side.LONG: "L", Side.SHORT: "S"}
_CODE_SIDE = {code: side for side, code in _SIDE_CODE.items()}


@dataclass(frozen=True, slots=True)
class OrderIdInfo:
    """What a client order id of ours says (level is None except for entries)."""

    kind: OrderKind
    side: Side
    level: int | None
    ts_ms: int
    seq: int


def encode(kind: OrderKind, side: Side, level: int | None, ts_ms: int, seq: int) -> str:
    """The client order id for one order; ``ValueError`` when it cannot be valid."""
    if kind is OrderKind.ENTRY:
        if level is None or not 0 <= level <= MAX_LEVEL:
            raise ValueError(f"entry level must be in [0, {MAX_LEVEL}], got {level}")
        level_text = str(level)
    elif level is not None:
        raise ValueError(f"only entries carry a level ({kind.value} got {level})")
    else:
        level_text = ""
    if ts_ms < 0 or seq < 0:
        raise ValueError(f"ts_ms and seq must be >= 0 (got {ts_ms}, {seq})")
    text = f"{PREFIX}{_KIND_CODE[kind]}{_SIDE_CODE[side]}{level_text}-{ts_ms}-{seq}"
    if len(text) > MAX_LEN or _PATTERN.match(text) is None:
        raise ValueError(f"client order id {text!r} exceeds Binance's {MAX_LEN}-char rule")
    return text


def decode(text: str) -> OrderIdInfo | None:
    """The info encoded in ``text``; None when it is not one of our ids."""
    if len(text) > MAX_LEN:
        return None
    m = _PATTERN.match(text)
    if m is None:
        return None
    kind = _CODE_KIND[m.group(1)]
    side = _CODE_SIDE[m.group(2)]
    level_text = m.group(3)
    if kind is OrderKind.ENTRY:
        if not level_text:
            return None
        level: int | None = int(level_text)
    elif level_text:
        return None
    else:
        level = None
    return OrderIdInfo(kind, side, level, int(m.group(4)), int(m.group(5)))


class OrderIdGenerator:
    """Makes ids from the caller's clock reading (ns) and its own counter."""

    def __init__(self) -> None:
        self._seq = 0

    def next_id(self, kind: OrderKind, side: Side, level: int | None, now_ns: int) -> str:
        """A fresh id (the counter only grows, so ids are unique within a run)."""
        self._seq += 1
        return encode(kind, side, level, now_ns // 1_000_000, self._seq)
