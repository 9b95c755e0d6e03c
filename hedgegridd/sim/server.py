"""``HttpServer``: binds the simulator's aiohttp application on loopback."""

from __future__ import annotations

from aiohttp import web

from hedgegridd.errors import ConfigError


class HttpServer:
    """One aiohttp runner and TCP site; ``port`` is the bound port once started."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.requested_port = port
        self.port = 0
        self._runner: web.AppRunner | None = None

    async def start(self, app: web.Application) -> None:
        """Bind ``app`` (``ConfigError`` when the address is taken)."""
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.requested_port)
        try:
            await site.start()
        except OSError as exc:
            await self._runner.cleanup()
            self._runner = None
            raise ConfigError(f"sim: cannot bind {self.host}:{self.requested_port}") from exc
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the server (idempotent)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
