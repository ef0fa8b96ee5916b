"""The one way the proxier runs an HTTP server (Connection Request, GENA callback, local API).

Anyone who can reach a port can send a 100 KB header, a 64 KB URL or a TLS ClientHello to a
plain-HTTP port. aiohttp answers 400 and logs an ERROR with a traceback for each, so any
peer could fill the log. Here every such rejected request is one bounded INFO line, at most
`burst` lines at once then `burst` a minute per server (`cwmp.ratelimit.TokenBucket`); the
lines held back are counted in the next one. Exceptions that are not malformed requests (a
bug in our handler) keep their traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError

from proxier.cwmp.ratelimit import TokenBucket
from proxier.logsafe import escape, get_logger

_LOG = get_logger(__name__)

#: Longest excerpt of aiohttp's reason kept in a line (it may quote the peer's bytes).
_REASON_CHARS = 120


class RejectLog(logging.Logger):
    """The logger handed to aiohttp's request handler: malformed requests become one rate-
    limited line on `proxier.httpserver`; every other record is passed on unchanged."""

    def __init__(
        self,
        server: str,
        *,
        burst: int = 10,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(f"proxier.httpserver.{server}")
        self.server = server
        self._burst = burst
        self._clock = clock
        self._bucket = TokenBucket()  # `burst` lines at once, refilled at `burst` a minute
        self.suppressed = 0

    def handle(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            if _LOG.isEnabledFor(record.levelno):
                _LOG.handle(record)
            return
        if not self._bucket.take(self._clock(), self._burst, 60.0):
            self.suppressed += 1
            return
        peer = record.args[0] if isinstance(record.args, tuple) and record.args else "?"
        reason = " ".join(str(exc.message).split())[:_REASON_CHARS]
        held, self.suppressed = self.suppressed, 0
        _LOG.info(
            "%s: rejected a malformed request from %s: %d %s: %s%s",
            self.server,
            peer,
            exc.code,
            type(exc).__name__,
            escape(reason),
            f" ({held} more not logged)" if held else "",
        )


Handler = Callable[[web.BaseRequest], Awaitable[web.StreamResponse]]


async def server_runner(target: web.Application | Handler, *, name: str) -> web.BaseRunner:
    """A set-up runner for `target` (an Application, or a bare handler for a low-level
    Server) with no access log and `RejectLog`; add sites to it (TCP, Unix)."""
    log = RejectLog(name)
    runner: web.BaseRunner
    if isinstance(target, web.Application):
        runner = web.AppRunner(target, access_log=None, handle_signals=False, logger=log)
    else:
        server = web.Server(target, access_log=None, logger=log)
        runner = web.ServerRunner(server, access_log=None, handle_signals=False)
    await runner.setup()
    return runner


async def start_server(
    target: web.Application | Handler, host: str, port: int, *, name: str
) -> web.BaseRunner:
    """`server_runner` listening on host:port; the bound port is in `runner.addresses`."""
    runner = await server_runner(target, name=name)
    site = web.TCPSite(runner, host, port)
    await site.start()
    return runner
