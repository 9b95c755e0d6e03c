"""``ParamRange``: one searched parameter's range, checked on its own and against its field.

A ``[space]`` entry names a ``StrategyParams`` field as ``section.field``
(``field_of`` finds it, ``ValueError`` names the allowed ones); ``ParamRange``
validates the range by itself (float / int with low, high, optional step or log;
categorical with choices) and ``check_param_range`` checks that its kind fits the
field's type and its low/high lie within the field's own bounds.
"""

from __future__ import annotations

import math
import operator
from decimal import Decimal
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hedgegridd.params import StrategyParams

ParamValue = float | int | str | bool


class ParamRange(BaseModel):
    """One searched parameter: float / int with low, high, optional step or log; categorical."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    step: float | None = Field(default=None, gt=0)
    log: bool = False
    choices: tuple[ParamValue, ...] | None = None

    @model_validator(mode="after")
    def _check(self) -> ParamRange:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("categorical needs a non-empty 'choices' list")
            if self.low is not None or self.high is not None or self.step is not None or self.log:
                raise ValueError("categorical takes only 'choices' (no low/high/step/log)")
            return self
        if self.choices is not None:
            raise ValueError(f"{self.type} takes low/high, not 'choices'")
        if self.low is None or self.high is None:
            raise ValueError(f"{self.type} needs both 'low' and 'high'")
        if not (math.isfinite(self.low) and math.isfinite(self.high)):
            raise ValueError("low and high must be finite numbers")
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be < high ({self.high})")
        if self.log and self.low <= 0:
            raise ValueError(f"log scale needs low > 0; got {self.low}")
        if self.log and self.step is not None:
            raise ValueError("'step' and 'log' cannot be combined")
        if self.type == "int":
            for name, value in (("low", self.low), ("high", self.high), ("step", self.step)):
                if value is not None and value != int(value):
                    raise ValueError(f"int parameter needs an integer '{name}'; got {value}")
        return self


def field_of(dotted: str) -> Any:
    """The pydantic FieldInfo of ``section.field`` in StrategyParams; ValueError if unknown."""
    parts = dotted.split(".")
    if len(parts) != 2:
        raise ValueError(f"parameter name {dotted!r} must be 'section.field' (e.g. grid.step_bps)")
    section_name, field_name = parts
    section = StrategyParams.model_fields.get(section_name)
    ann = section.annotation if section is not None else None
    if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
        allowed = ", ".join(StrategyParams.model_fields)
        raise ValueError(f"unknown parameter section in {dotted!r} (allowed: {allowed})")
    field = ann.model_fields.get(field_name)
    if field is None:
        allowed = ", ".join(ann.model_fields)
        raise ValueError(f"unknown parameter {dotted!r} (fields of {section_name}: {allowed})")
    return field


_BOUNDS = (
    (annotated_types.Ge, "ge", operator.ge, ">="),
    (annotated_types.Gt, "gt", operator.gt, ">"),
    (annotated_types.Le, "le", operator.le, "<="),
    (annotated_types.Lt, "lt", operator.lt, "<"),
)


def check_param_range(name: str, rng: ParamRange) -> None:
    """The range's kind fits the field's type and its low/high lie within the field's bounds."""
    field = field_of(name)
    ann = field.annotation
    if rng.type == "int" and ann is not int:
        raise ValueError(f"{name}: type 'int' but the field is {getattr(ann, '__name__', ann)}")
    if rng.type == "float" and ann not in (float, Decimal):
        raise ValueError(f"{name}: type 'float' but the field is {getattr(ann, '__name__', ann)}")
    if rng.type == "categorical":
        return
    for meta in field.metadata:
        for kind, attr, ok, text in _BOUNDS:
            if isinstance(meta, kind):
                bound = float(getattr(meta, attr))
                for end in ("low", "high"):
                    value = getattr(rng, end)
                    if not ok(value, bound):
                        raise ValueError(f"{name}: {end} = {value} outside allowed {text} {bound}")
