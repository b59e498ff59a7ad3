"""What keeps slow, idle and too many clients from taking the web server down.

- Request heads: aiohttp closes a connection that has not sent a whole request head within
  its keep-alive timeout of connecting or of its previous response (aiohttp 3.14.4 and
  later), so the server runs with ``keepalive_timeout`` set to the read timeout.
- Bodies: :meth:`ClientLimits.middleware` reads a request's body within the read timeout
  (and ``client_max_size``, 1 MiB by default) before any handler runs, or drops the client.
- Connections: at most ``max_connections`` are open. One more closes the oldest connection
  whose request is not being handled (one still sending its request, or idle between two):
  a flood of half-sent requests never takes every file descriptor (``accept()`` failing in
  a loop), and a client that sends its request promptly is still served. nginx reuses its
  idle connections the same way when ``worker_connections`` runs out.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiohttp import web
from aiohttp.typedefs import Handler
from aiohttp.web_protocol import RequestHandler

from shopbot.logs import RateLimitFilter

logger = logging.getLogger(__name__)

_LIMIT_REACHED = "web server: connection limit reached"
logger.addFilter(RateLimitFilter(_LIMIT_REACHED))


class ClientLimits:
    """The read timeout and the connection limit of one web server."""

    def __init__(self, read_timeout: float, max_connections: int) -> None:
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self._handling: set[RequestHandler] = set()  # connections whose request runs

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.body_exists:
            try:
                async with asyncio.timeout(self.read_timeout):
                    await request.read()  # kept: request.json() and the rest read it
            except (TimeoutError, ConnectionError):  # too slow, or gone (closed at the limit)
                request.protocol.force_close()
                raise web.HTTPRequestTimeout() from None
        connection = request.protocol
        self._handling.add(connection)
        try:
            return await handler(request)
        finally:
            self._handling.discard(connection)

    def protocol_factory(self, server: web.Server) -> Callable[[], RequestHandler]:
        """aiohttp's protocol factory, closing the oldest spare connection at the limit."""

        def accepted() -> RequestHandler:
            # Oldest first; a connection already closed may stay listed until its task ends.
            open_ = [handler for handler in server.connections if handler.transport is not None]
            if len(open_) >= self.max_connections:
                spare = [handler for handler in open_ if handler not in self._handling]
                (spare or open_)[0].force_close()
                logger.warning(
                    "%s (WEB_MAX_CONNECTIONS=%d): closing the oldest idle connection",
                    _LIMIT_REACHED,
                    self.max_connections,
                )
            return server()

        return accepted


class LimitedSite(web.BaseSite):
    """A TCP site whose connections go through :meth:`ClientLimits.protocol_factory`."""

    __slots__ = ("_host", "_limits", "_port")

    def __init__(self, runner: web.AppRunner, host: str, port: int, limits: ClientLimits) -> None:
        super().__init__(runner)
        self._host = host
        self._port = port
        self._limits = limits

    @property
    def name(self) -> str:
        return f"http://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self._limits.protocol_factory(server), self._host, self._port, backlog=self._backlog
        )
