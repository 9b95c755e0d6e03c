"""``hedgegrid data``: subcommands, summaries and documented exit codes."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import subprocess
import sys
from pathlib import Path

import anyio
import pytest

from hedgegridd.data.archive import write_archive
from hedgegridd.data.cli import EXIT_IO, EXIT_OK, EXIT_REJECTED, EXIT_USAGE
from hedgegridd.data.schema import DataKind
from hedgegridd.data.synthetic import SyntheticSpec, generate
from hedgegridd.tools_cli import main


def _closed_port() -> int:
    """A loopback port nobody listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["data", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_synth_then_inspect_json(tmp_path: Path, capsys) -> None:
    """synth writes a catalog and inspect reports its rows, range and gaps as JSON."""
    cat = str(tmp_path / "cat")
    code, out, _ = _run(capsys, "synth", "--catalog", cat, "--minutes", "600", "--json")
    assert code == EXIT_OK
    kinds = {k["kind"]: k for k in json.loads(out)["kinds"]}
    assert kinds["klines"]["rows_written"] == 600
    code, out, _ = _run(capsys, "inspect", "--catalog", cat, "--json")
    assert code == EXIT_OK
    doc = json.loads(out)
    assert doc["instruments"] == ["BTCUSDT-PERP.BINANCE"]
    bars = next(s for s in doc["series"] if s["kind"] == "klines")
    assert (bars["rows"], bars["gap_count"]) == (600, 0)
    assert bars["first"] == "2024-01-01T00:01:00Z"


def test_import_summary_and_idempotence(tmp_path: Path, capsys) -> None:
    """import prints rows, range, gaps and rejects; a second run stores nothing new."""
    data = generate(SyntheticSpec(seed=2, minutes=300))
    bars = data.bars.drop(index=[100, 101])
    path = write_archive(bars, DataKind.KLINES, tmp_path / "BTCUSDT-1m-2024-01-01.zip")
    args = ["import", "--kind", "klines", "--catalog", str(tmp_path / "cat"), "--quiet"]
    code, out, _ = _run(capsys, *args, str(path))
    assert code == EXIT_OK
    assert "written        298" in out
    assert "gaps 1 (missing 2)" in out
    code, out, _ = _run(capsys, *args, "--json", str(path))
    assert code == EXIT_OK
    kind = json.loads(out)["kinds"][0]
    assert (kind["rows_written"], kind["rows_skipped_existing"]) == (0, 298)


def test_exit_code_for_rejected_data(tmp_path: Path, capsys) -> None:
    """A unit mismatch or too many bad rows exits 3 with the reason on stderr."""
    data = generate(SyntheticSpec(seed=2, minutes=60))
    path = write_archive(data.trades, DataKind.AGG_TRADES, tmp_path / "t.csv", time_unit="us")
    cat = str(tmp_path / "cat")
    code, _, err = _run(capsys, "import", "--kind", "agg_trades", "--catalog", cat, str(path))
    assert code == EXIT_REJECTED
    assert "t.csv: row 2" in err
    code, _, _ = _run(
        capsys, "import", "--kind", "agg_trades", "--time-unit", "us", "--catalog", cat, str(path)
    )
    assert code == EXIT_OK
    bad = data.bars.copy()
    bad.loc[:10, "low"] = -1.0
    bad_path = write_archive(bad, DataKind.KLINES, tmp_path / "k.csv")
    code, _, err = _run(capsys, "import", "--kind", "klines", "--catalog", cat, str(bad_path))
    assert code == EXIT_REJECTED
    assert "11 of 60 rows rejected" in err


def test_exit_code_for_io_and_network_errors(tmp_path: Path, capsys) -> None:
    """A missing file or an unreachable REST endpoint exits 4."""
    cat = str(tmp_path / "cat")
    code, _, err = _run(
        capsys, "import", "--kind", "klines", "--catalog", cat, str(tmp_path / "missing.zip")
    )
    assert code == EXIT_IO
    assert "missing.zip" in err
    code, _, err = _run(
        capsys,
        "fetch", "--kind", "funding", "--catalog", cat,
        "--start", "2024-01-01", "--end", "2024-01-02",
        "--base-url", f"http://127.0.0.1:{_closed_port()}", "--max-attempts", "2",
        "--quiet",
    )  # fmt: skip
    assert code == EXIT_IO
    assert "gave up after 2 attempts" in err


def test_usage_errors_exit_2(tmp_path: Path, capsys) -> None:
    """Bad options exit 2 and --help documents the exit codes."""
    with pytest.raises(SystemExit) as exc:
        main(["data", "import", "--kind", "bogus", "--catalog", str(tmp_path), "x"])
    assert exc.value.code == EXIT_USAGE
    code, _, err = _run(
        capsys, "import", "--kind", "klines", "--symbol", "ETHUSDT",
        "--catalog", str(tmp_path), str(tmp_path),
    )  # fmt: skip
    assert code == EXIT_USAGE
    assert "--exchange-info" in err
    with pytest.raises(SystemExit):
        main(["data", "import", "--help"])
    assert "exit codes: 0 ok; 2 usage error; 3 data rejected" in capsys.readouterr().out


@pytest.mark.asyncio
async def test_fetch_command_against_local_binance(fake_binance, tmp_path: Path) -> None:
    """fetch downloads klines from a Binance-format server; a rerun resumes and adds nothing."""
    cat = str(tmp_path / "cat")
    argv = [
        "data", "fetch", "--kind", "klines", "--catalog", cat,
        "--start", "2024-01-01T00:00", "--end", "2024-01-01T06:00",
        "--base-url", fake_binance.base_url, "--json", "--quiet",
    ]  # fmt: skip
    out = io.StringIO()

    def run() -> int:
        with contextlib.redirect_stdout(out):
            return main(argv)

    assert await anyio.to_thread.run_sync(run) == EXIT_OK
    kind = json.loads(out.getvalue())["kinds"][0]
    assert kind["rows_written"] == 360
    assert kind["last"] == "2024-01-01T06:00:00Z"
    out.seek(0)
    out.truncate()
    assert await anyio.to_thread.run_sync(run) == EXIT_OK
    assert json.loads(out.getvalue())["kinds"][0]["rows_written"] == 0


def test_cli_module_import_is_light() -> None:
    """Importing the data CLI (done by `hedgegrid --help`) loads neither pandas nor Nautilus."""
    code = (
        "import sys, hedgegridd.data.cli; "
        "print(sorted(m for m in ('pandas', 'numpy', 'nautilus_trader') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


def test_synth_archives_then_import(tmp_path: Path, capsys) -> None:
    """synth --archive-dir writes Binance-format zips that import back into a catalog."""
    code, out, _ = _run(
        capsys, "synth", "--archive-dir", str(tmp_path / "arch"), "--minutes", "120", "--json"
    )
    assert code == EXIT_OK
    files = [Path(f) for f in json.loads(out)["archives"]]
    assert [f.parent.name for f in files] == [
        "klines",
        "markPriceKlines",
        "aggTrades",
        "fundingRate",
    ]
    assert files[0].name == "BTCUSDT-1m-2024-01-01.zip"
    for kind, sub in (("klines", "klines"), ("funding", "fundingRate")):
        code, out, _ = _run(
            capsys, "import", "--kind", kind, "--catalog", str(tmp_path / "cat"), "--json",
            str(tmp_path / "arch" / sub),
        )  # fmt: skip
        assert code == EXIT_OK
    code, out, _ = _run(capsys, "inspect", "--catalog", str(tmp_path / "cat"), "--json")
    rows = {s["kind"]: s["rows"] for s in json.loads(out)["series"]}
    assert rows == {"klines": 120, "funding": 1}
