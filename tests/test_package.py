"""Package-level contracts: version, error tree, CLI assembly."""

from __future__ import annotations

import subprocess
import sys

import hedgegridd
from hedgegridd import errors


def test_every_error_derives_from_the_root() -> None:
    """Every public exception class is a HedgegridError, so callers can catch one type."""
    classes = [v for v in vars(errors).values() if isinstance(v, type) and issubclass(v, Exception)]
    assert len(classes) > 5
    assert all(issubclass(c, hedgegridd.HedgegridError) for c in classes)


def test_control_error_carries_code() -> None:
    """ControlError keeps the stable wire code apart from the human message."""
    err = errors.ControlError("bad_request", "throttle must be within [0, 1]")
    assert err.code == "bad_request"
    assert str(err) == "throttle must be within [0, 1]"


def test_hedgegrid_version_flag() -> None:
    """`hedgegrid --version` prints the package version and exits 0."""
    out = subprocess.run(
        [sys.executable, "-m", "hedgegridd.tools_cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert hedgegridd.__version__ in out.stdout
