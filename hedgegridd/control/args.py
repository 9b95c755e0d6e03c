"""Argument schemas of the control commands (part of the protocol; strict, no extras)."""

from __future__ import annotations

import enum
import re
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictStr

_ARGS = ConfigDict(frozen=True, extra="forbid", strict=True, defer_build=True)
_REASON = re.compile(r"^[A-Za-z0-9_.:*-]{1,64}$")


class NoArgs(BaseModel):
    """A command that takes no arguments (any field is rejected)."""

    model_config = _ARGS


def _reason(value: Any) -> Any:
    if isinstance(value, str) and not _REASON.fullmatch(value):
        raise ValueError("must be 1-64 characters of letters, digits and _ . : * -")
    return value


Reason = Annotated[StrictStr, BeforeValidator(_reason)]


class PauseArgs(BaseModel):
    """``pause``: no new exposure, recorded under ``reason``: resting entries are withdrawn,
    or with ``keep_orders`` left resting untouched (frozen). Exits always stay."""

    model_config = _ARGS
    reason: Reason = "operator"
    keep_orders: StrictBool = False


class ResumeArgs(BaseModel):
    """``resume``: clear pause ``reason`` ("*" clears every operator/degraded reason)."""

    model_config = _ARGS
    reason: Reason = "operator"


THROTTLE_RANGE = "must be between 0 and 1 inclusive (0 = no entries, 1 = full size)"


def _decimal_0_1(value: Any) -> Decimal:
    """A throttle value given as a decimal string (or an integer), within [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValueError('must be a decimal string such as "0.5"')
    if isinstance(value, str) and len(value) > 32:
        raise ValueError("must be a decimal string of at most 32 characters")
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError('must be a decimal string such as "0.5"') from exc
    if not number.is_finite() or not Decimal(0) <= number <= Decimal(1):
        raise ValueError(THROTTLE_RANGE)
    return number


class ThrottleArgs(BaseModel):
    """``throttle``: scale every entry quantity by ``value`` in [0, 1]."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    value: Annotated[Decimal, BeforeValidator(_decimal_0_1)]


class FlattenSideArg(enum.StrEnum):
    """Wire spelling of the flatten side."""

    LONG = "long"
    SHORT = "short"
    BOTH = "both"


class FlattenArgs(BaseModel):
    """``flatten``: cancel entries and close ``side`` with closing orders."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)
    side: Annotated[FlattenSideArg, Field(strict=False)] = FlattenSideArg.BOTH
