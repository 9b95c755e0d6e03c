"""``hedgegridd``: the daemon's entry point (systemd ExecStart)."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import anyio
import structlog

from hedgegridd import __version__
from hedgegridd.errors import ConfigError
from hedgegridd.supervisor.exit_codes import EXIT_CODES_HELP, ExitCode
from hedgegridd.supervisor.logsetup import configure_logging
from hedgegridd.supervisor.secrets import load_secrets
from hedgegridd.supervisor.settings import DEFAULT_CONFIG_PATH, load_settings
from hedgegridd.telegram.config import require_token
from hedgegridd.venues.guards import check_mode_guards

if TYPE_CHECKING:
    from hedgegridd.supervisor.inputs import StrategyFactory
    from hedgegridd.supervisor.settings import Settings

log = structlog.get_logger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """The daemon's argument parser (exit codes documented in --help)."""
    parser = argparse.ArgumentParser(
        prog="hedgegridd",
        description="hedge-mode grid trading daemon for Binance USD-M perpetuals (NautilusTrader)",
        epilog=EXIT_CODES_HELP
        + "\n\nsecrets: $CREDENTIALS_DIRECTORY/<name> or env <NAME> (binance_api_key, "
        "binance_api_secret, binance_testnet_api_key, binance_testnet_api_secret, "
        "slack_webhook_url, telegram_bot_token); never in the config file.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=DEFAULT_CONFIG_PATH,
        help=f"daemon TOML config (default {DEFAULT_CONFIG_PATH})",
    )
    parser.add_argument(
        "--log-format",
        choices=("auto", "console", "json", "journald"),
        default=None,
        help="log output format (default: [logging] format, auto)",
    )
    parser.add_argument("--log-level", choices=("DEBUG", "INFO", "WARNING", "ERROR"), default=None)
    parser.add_argument(
        "--check-config",
        action="store_true",
        help="validate settings, credentials, venue guards, the strategy parameter file "
        "and the control groups without contacting the venue, then exit (0, or 78 "
        "naming the key)",
    )
    parser.add_argument(
        "--strategy-factory",
        default=None,
        metavar="MODULE:CALLABLE",
        help="build the strategy with this factory (tests, demos); default HedgeGridStrategy",
    )
    parser.add_argument("--version", action="version", version=f"hedgegridd {__version__}")
    return parser


def _config_failure(message: str) -> int:
    print(f"hedgegridd: configuration error: {message}", file=sys.stderr)
    return int(ExitCode.CONFIG)


def check_offline(settings: Settings) -> None:
    """What a start would refuse later that needs no venue: fail before the warmup.

    The strategy parameter file and the control socket's groups (the rest of the
    file is validated by ``load_settings``); ``--check-config`` runs the same checks
    (``ConfigError`` naming the key).
    """
    from hedgegridd.control.config import resolve_gid

    params_file = settings.strategy.params_file
    if params_file is not None:
        from hedgegridd.params import load_strategy_params

        try:
            load_strategy_params(params_file)
        except ConfigError as exc:
            raise ConfigError(f"strategy.params_file {params_file}: {exc}") from exc
    resolve_gid(settings.control.admin_group, field="admin_group")
    resolve_gid(settings.control.readonly_group, field="readonly_group")


def _import_factory(spec: str) -> StrategyFactory:
    module_name, _, attr = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError, ValueError) as exc:
        raise ConfigError(f"--strategy-factory {spec!r} cannot be imported: {exc}") from exc
    if not callable(factory):
        raise ConfigError(f"--strategy-factory {spec!r} is not callable")
    result: StrategyFactory = factory
    return result


def main(
    argv: Sequence[str] | None = None, *, strategy_factory: StrategyFactory | None = None
) -> int:
    """Run the daemon; returns the process exit code (see --help)."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
        secrets = load_secrets(settings.mode)
        check_mode_guards(
            settings.mode,
            settings.venue,
            settings.killswitch,
            keys=secrets.binance,
            other_env_keys=secrets.binance_other_env,
        )
        check_offline(settings)
        require_token(settings.telegram, secrets.telegram_bot_token)
    except ConfigError as exc:
        return _config_failure(str(exc))
    configure_logging(
        fmt=args.log_format or settings.logging.format,
        level=args.log_level or settings.logging.level,
        secrets=tuple(secrets.values()),
    )
    if secrets.ignored_binance_keys:
        log.warning("paper.binance_keys_ignored", reason="paper mode holds no trading keys")
    if args.check_config:
        log.info("config.ok", mode=settings.mode.value, config=str(args.config))
        return int(ExitCode.OK)
    if strategy_factory is None and args.strategy_factory:
        try:
            strategy_factory = _import_factory(args.strategy_factory)
        except ConfigError as exc:
            return _config_failure(str(exc))
    if strategy_factory is None:
        from hedgegridd.supervisor.strategy_factory import build_hedgegrid_strategy

        strategy_factory = build_hedgegrid_strategy
    # Importing Nautilus before the loop exists installs its uvloop event-loop policy,
    # so the node runs on the loop it is built for.
    import nautilus_trader.live.node  # noqa: F401

    from hedgegridd.supervisor.app import Daemon

    daemon = Daemon(
        settings,
        secrets,
        config_path=args.config,
        strategy_factory=strategy_factory,
        environ=os.environ,
    )
    log.info(
        "daemon.starting",
        mode=settings.mode.value,
        version=__version__,
        pid=os.getpid(),
        loop_policy=type(asyncio.get_event_loop_policy()).__module__,
    )
    code: ExitCode = anyio.run(daemon.run, backend="asyncio")
    return int(code)


if __name__ == "__main__":
    sys.exit(main())
