"""Reading config files at the edge: TOML in, plain data out, one error type.

Every TOML config (daemon settings, strategy parameters, backtest, optimizer) is
read through ``read_toml`` and every pydantic validation error is rendered by
``describe_validation_error``, so file and field problems read the same
everywhere and always surface as ``ConfigError``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hedgegridd.errors import ConfigError


def read_toml(path: str | Path, what: str, *, missing_ok: bool = False) -> dict[str, Any]:
    """Parse the TOML file ``path``; ``what`` names it in errors ("backtest config").

    A missing file is a ``ConfigError`` unless ``missing_ok``, which yields ``{}``.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError as exc:
        if missing_ok:
            return {}
        raise ConfigError(f"{what} not found: {p}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} {p} is not valid TOML: {exc}") from exc
    except OSError as exc:
        raise ConfigError(f"{what} {p} cannot be read: {exc.strerror}") from exc


def describe_validation_error(exc: ValidationError, prefix: str = "") -> str:
    """One line per field error, ``prefix.field.path: message``, joined with "; "."""
    parts: list[str] = []
    for err in exc.errors(include_url=False):
        loc = ".".join([prefix, *(str(p) for p in err["loc"])] if prefix else map(str, err["loc"]))
        msg = str(err["msg"]).removeprefix("Value error, ")
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)
