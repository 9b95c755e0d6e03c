"""``hedgegrid sim``: run the exchange simulator standalone (the demo uses it).

Prints ``base_url_http=...``, ``base_url_ws=...`` and ``base_url_ws_stream=...``
lines once it listens, then serves until SIGINT/SIGTERM. The API secret comes from
``HEDGEGRID_SIM_API_SECRET`` (never from the command line, never printed).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import structlog
from pydantic import ValidationError

from hedgegridd.errors import HedgegridError

if TYPE_CHECKING:
    from hedgegridd.sim.config import SimConfig
    from hedgegridd.sim.scenarios import ScenarioStep

log = structlog.get_logger(__name__)

SECRET_ENV = "HEDGEGRID_SIM_API_SECRET"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``sim`` subcommand."""
    p = subparsers.add_parser(
        "sim",
        help="run the local Binance USD-M look-alike",
        description="Local Binance USD-M Futures simulator for the real Nautilus adapter. "
        "Faults and scripted market scenarios are driven over HTTP under /_sim "
        "(POST /_sim/faults/<name>, POST/GET/DELETE /_sim/scenario, GET /_sim/state) "
        "or from a --scenario file.",
    )
    p.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = ephemeral)")
    p.add_argument("--speed", type=float, default=60.0, help="sim minutes per real minute")
    p.add_argument("--seed", type=int, default=1, help="synthetic data seed")
    p.add_argument("--minutes", type=int, default=24 * 60, help="bars of data to replay")
    p.add_argument(
        "--history-bars",
        type=int,
        default=1500,
        help="extra bars served as closed klines before the start (daemon warmup)",
    )
    p.add_argument(
        "--start-price",
        type=Decimal,
        default=Decimal("60000"),
        help="synthetic start price of the first symbol (others: a typical price of their own)",
    )
    p.add_argument(
        "--symbols",
        default="BTCUSDT",
        help="comma-separated symbols served on one account, e.g. BTCUSDT,ETHUSDT "
        "(built-in instruments; the first is the default of /_sim routes)",
    )
    p.add_argument("--catalog", type=Path, default=None, help="replay a Nautilus catalog instead")
    p.add_argument("--data", dest="catalog", type=Path, help="alias of --catalog")
    p.add_argument("--api-key", default="sim-api-key", help="API key clients must send")
    p.add_argument("--balance", type=Decimal, default=Decimal("10000"), help="USDT to start with")
    p.add_argument("--no-hedge-mode", action="store_true", help="report dualSidePosition false")
    p.add_argument(
        "--scenario",
        type=Path,
        default=None,
        metavar="FILE",
        help="TOML scenario file ([[steps]] with kind gap/crash/spike/wick/bleed/funding/"
        "premium, at_s/after_s in sim seconds from the clock's start, and optionally the "
        "symbol it moves, default the first); see docs/sim.md",
    )
    p.set_defaults(handler=run_sim)


def run_sim(args: argparse.Namespace) -> int:
    """Validate the arguments into a ``SimConfig`` and serve until a stop signal."""
    from hedgegridd.sim.config import SimConfig
    from hedgegridd.sim.scenarios import load_scenario_file

    try:
        config = SimConfig(
            port=args.port,
            speed=args.speed,
            seed=args.seed,
            minutes=args.minutes,
            history_bars=args.history_bars,
            start_price=args.start_price,
            symbols=args.symbols,
            catalog=args.catalog,
            api_key=args.api_key,
            api_secret=os.environ.get(SECRET_ENV, "sim-api-secret"),
            starting_balance=args.balance,
            dual_side_position=not args.no_hedge_mode,
        )
    except ValidationError as exc:
        for err in exc.errors():
            field = ".".join(str(x) for x in err["loc"])
            print(f"hedgegrid sim: invalid {field}: {err['msg']}", file=sys.stderr)
        return 2
    from hedgegridd.sim.markets import resolve_specs

    steps: list[ScenarioStep] = []
    try:
        if args.scenario is not None:
            steps = load_scenario_file(args.scenario, config.symbols)
        resolve_specs(config)
        anyio.run(_serve, config, steps, backend="asyncio")
    except HedgegridError as exc:
        print(f"hedgegrid sim: {exc}", file=sys.stderr)
        return 2
    return 0


async def _serve(config: SimConfig, steps: list[ScenarioStep]) -> None:
    from hedgegridd.sim.exchange import SimExchange

    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with SimExchange(config, scenario=steps) as sim:
            print(f"base_url_http={sim.base_url_http}", flush=True)
            print(f"base_url_ws={sim.base_url_ws}", flush=True)
            print(f"base_url_ws_stream={sim.base_url_ws_stream}", flush=True)
            async for signum in signals:
                log.info("sim.stop_signal", signal=signal.Signals(signum).name)
                break
