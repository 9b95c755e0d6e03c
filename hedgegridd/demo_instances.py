"""The daemons of ``hedgegrid demo``: one per symbol, laid out as systemd would.

One instance keeps the single-daemon layout (``run/control.sock``, ``state/``);
several get ``run/<name>/control.sock`` and ``state/<name>/`` as
``hedgegridd@<name>`` would, so ``hedgegridctl --runtime-dir run --all`` finds them.
Each writes its own config (symbol, metrics port, alert instance name) and, for a
symbol other than BTCUSDT, a parameter file with the default grid quantities scaled
by the price ratio (so ETHUSDT orders clear its 20 USDT minimum notional).
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from pathlib import Path

SYMBOLS = ("BTCUSDT", "ETHUSDT")  # the simulator's built-in instruments, in demo order


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def params_file(base: Path, name: str, symbol: str) -> Path | None:
    """Grid quantities for ``symbol`` scaled from the BTCUSDT-sized defaults (None: BTC)."""
    if symbol == SYMBOLS[0]:
        return None
    from hedgegridd.params import (
        default_strategy_params,
        dump_strategy_params_toml,
        parse_strategy_params,
    )
    from hedgegridd.sim.config import TYPICAL_START_PRICES

    scale = TYPICAL_START_PRICES[SYMBOLS[0]] / TYPICAL_START_PRICES[symbol]
    doc = default_strategy_params().model_dump()
    for section, key in (
        ("grid", "base_qty"),
        ("grid", "max_inventory_qty"),
        ("risk", "max_position_qty"),
    ):
        doc[section][key] = doc[section][key] * scale
    path = base / f"{name}-params.toml"
    path.write_text(dump_strategy_params_toml(parse_strategy_params(doc)))
    return path


@dataclass
class DemoInstance:
    """One daemon of the demo: its symbol, directories, socket and metrics port."""

    name: str
    symbol: str
    config: Path
    state_dir: Path
    runtime_dir: Path
    metrics_port: int
    notify_path: Path
    ready: bool = False
    relays: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def socket(self) -> Path:
        return self.runtime_dir / "control.sock"


def plan_instances(base: Path, count: int, metrics_port: int) -> list[DemoInstance]:
    """Where each daemon lives: one keeps the single layout (``run/control.sock``);
    several get ``run/<name>/control.sock`` as ``hedgegridd@<name>`` would."""
    plans = []
    for index, symbol in enumerate(SYMBOLS[:count]):
        name = symbol.removesuffix("USDT").lower()
        sub = "" if count == 1 else name
        plans.append(
            DemoInstance(
                name=name,
                symbol=symbol,
                config=base / (f"{name}.toml" if sub else "hedgegridd.toml"),
                state_dir=base / "state" / sub if sub else base / "state",
                runtime_dir=base / "run" / sub if sub else base / "run",
                metrics_port=metrics_port + index if metrics_port else free_port(),
                notify_path=base / (f"notify-{name}.sock" if sub else "notify.sock"),
            )
        )
    return plans


def write_config(inst: DemoInstance, base: Path, http: str, ws: str) -> Path:
    params = params_file(base, inst.name, inst.symbol)
    strategy = f'[strategy]\nparams_file = "{params}"\n' if params is not None else ""
    inst.config.write_text(
        f"""# written by `hedgegrid demo`
mode = "sim"
[venue]
symbol = "{inst.symbol}"
base_url_http = "{http}"
base_url_ws = "{ws}"
{strategy}[alerts]
instance = "{inst.name}"
[warmup]
history_bars = 300
max_clock_skew_ms = 5000
[lifecycle]
status_interval_s = 2.0
[watchdog]
max_data_age_s = 120
[metrics]
port = {inst.metrics_port}
[control]
socket_path = "{inst.socket}"
systemd_socket = false
"""
    )
    return inst.config
