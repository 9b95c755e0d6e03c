"""lintian accepts the package: no error, no warning that is not overridden with a reason."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.packaging.conftest import NOT_DEBIAN, NOT_DEBIAN_REASON, REPO

pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(1800),  # builds the package (minutes on a loaded 2-core machine)
    pytest.mark.xdist_group("deb"),  # one worker builds the package once for all of them
    pytest.mark.skipif(NOT_DEBIAN, reason=NOT_DEBIAN_REASON),
    pytest.mark.skipif(shutil.which("lintian") is None, reason="lintian not installed"),
]


def _make_lintian_args() -> list[str]:
    """The lintian options `make lintian` uses (so the test checks what CI checks)."""
    for line in (REPO / "Makefile").read_text().splitlines():
        if "lintian --fail-on" in line:
            args = ("--fail-on" + line.split("lintian --fail-on", 1)[1]).split()
            return [a for a in args if not a.startswith("$")]
    raise AssertionError("no lintian call in the Makefile")


def test_lintian_clean(deb: Path) -> None:
    """`make lintian`'s check passes; overrides are used and each has a reason above it."""
    args = _make_lintian_args()
    assert args[:2] == ["--fail-on", "error,warning"]
    # One run shows overridden tags too (as O:); --fail-on would count those as failures.
    proc = subprocess.run(
        ["lintian", *args[2:], "--show-overrides", str(deb)],
        capture_output=True,
        text=True,
        timeout=1800,
    )
    lines = proc.stdout.splitlines()
    assert [line for line in lines if line[:2] in ("E:", "W:")] == [], proc.stdout
    assert any(line.startswith("O: hedgegridd: embedded-library") for line in lines)
    overrides = (REPO / "packaging/debian/lintian-overrides").read_text().splitlines()
    for i, line in enumerate(overrides):
        if line.startswith("hedgegridd:"):
            assert overrides[i - 1].startswith("# "), line
