"""Process tests: configuration refusals exit 78 with a one-line reason naming the key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _run(
    tmp_path: Path, toml: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "hedgegridd.toml"
    config.write_text(toml)
    child_env = {
        k: v for k, v in os.environ.items() if not k.startswith(("HEDGEGRID_", "BINANCE_"))
    }
    child_env.update(env or {})
    child_env["STATE_DIRECTORY"] = str(tmp_path / "state")
    return subprocess.run(
        [sys.executable, "-m", "hedgegridd.supervisor.cli", "--config", str(config)],
        cwd=REPO,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_bad_value_exits_78_naming_key(tmp_path: Path) -> None:
    """An out-of-range value exits 78 with one stderr line naming the key."""
    result = _run(tmp_path, "[watchdog]\nmax_loop_lag_s = -1\n")
    assert result.returncode == 78
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "watchdog.max_loop_lag_s" in lines[0]


def test_live_without_acknowledgement_refused(tmp_path: Path) -> None:
    """mode=live without the acknowledgement exits 78 before touching the network or state."""
    result = _run(
        tmp_path,
        'mode = "live"\n',
        env={"BINANCE_API_KEY": "k" * 16, "BINANCE_API_SECRET": "s" * 16},
    )
    assert result.returncode == 78
    assert "venue.live_acknowledgement" in result.stderr
    assert "k" * 16 not in result.stderr + result.stdout
    assert not (tmp_path / "state").exists()


def test_testnet_with_kill_switch_disabled_refused(tmp_path: Path) -> None:
    """mode=testnet with the kill switch disabled exits 78: ops cannot be switched off."""
    result = _run(
        tmp_path,
        'mode = "testnet"\n[killswitch]\nenabled = false\n',
        env={"BINANCE_TESTNET_API_KEY": "k" * 20, "BINANCE_TESTNET_API_SECRET": "s" * 20},
    )
    assert result.returncode == 78
    assert "killswitch.enabled must be true in testnet mode" in result.stderr
    assert "k" * 20 not in result.stderr + result.stdout


def test_secret_in_config_refused(tmp_path: Path) -> None:
    """A Telegram token written into the TOML exits 78 and is not echoed."""
    result = _run(tmp_path, '[alerts]\ntelegram_bot_token = "123:ABCDEFsecret"\n')
    assert result.returncode == 78
    assert "alerts.telegram_bot_token" in result.stderr
    assert "ABCDEFsecret" not in result.stderr


def test_help_documents_exit_codes() -> None:
    """--help lists the exit codes, including 78 for configuration errors."""
    result = subprocess.run(
        [sys.executable, "-m", "hedgegridd.supervisor.cli", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0
    assert "78  configuration error" in result.stdout
    assert "75  warmup failed" in result.stdout


def test_corrupt_state_database_exits_74_without_reset(tmp_path: Path) -> None:
    """A corrupt state database stops startup with exit 74 and is left untouched."""
    state = tmp_path / "state"
    state.mkdir()
    db = state / "hedgegridd.db"
    garbage = b"not a sqlite database " * 200
    db.write_bytes(garbage)
    result = _run(tmp_path, "[warmup]\ntotal_deadline_s = 5\n")
    assert result.returncode == 74
    assert "corrupt" in result.stdout + result.stderr
    assert db.read_bytes() == garbage


def test_journald_priorities_when_run_under_systemd(tmp_path: Path) -> None:
    """Stderr named by JOURNAL_STREAM, no journal socket: lines carry sd-daemon priorities."""
    config = tmp_path / "hedgegridd.toml"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HEDGEGRID_", "BINANCE_"))}
    env["HEDGEGRID_JOURNAL_SOCKET"] = str(tmp_path / "no-journald.sock")
    log = tmp_path / "stderr.log"
    with log.open("w") as stderr:
        st = os.fstat(stderr.fileno())
        env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "hedgegridd.supervisor.cli",
                "--config",
                str(config),
                "--check-config",
            ],
            cwd=REPO,
            env=env,
            stdout=stderr,
            stderr=stderr,
            text=True,
            timeout=120,
        )
    assert result.returncode == 0
    line = log.read_text().strip().splitlines()[-1]
    assert line.startswith("<6>config.ok ")
