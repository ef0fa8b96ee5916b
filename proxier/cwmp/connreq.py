"""The Connection Request server: one HTTP listener for every Virtual CWMP Device (TR-069 §3.2.2).

Each device registers and gets an unguessable path (its ConnectionRequestURL). The rules of
§3.2.2 live here: GET only, digest authentication with the device's own
ConnectionRequestUsername/Password, an empty 200 answer sent before any session starts, 503
when the device cannot take the request (in session, offline) or when the device exceeds its
rate limit (no Retry-After). Whether a session starts, and that a burst of requests yields
one session carrying "6 CONNECTION REQUEST", is the engine's job: the device's callback
(`CpeEngine.connection_request`) answers True when the request is accepted.
"""

from __future__ import annotations

import inspect
import ipaddress
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web

from proxier.cwmp.digest import HttpAuthenticator
from proxier.cwmp.ratelimit import DEFAULT_RATE_LIMIT, DEFAULT_RATE_WINDOW, TokenBucket
from proxier.httpserver import start_server
from proxier.logsafe import get_logger

log = get_logger(__name__)

#: Path prefix of every ConnectionRequestURL.
PATH_PREFIX = "/cr/"

#: Returns the device's current (ConnectionRequestUsername, ConnectionRequestPassword).
CredentialsSource = Callable[[], tuple[str, str]]

#: Called for each authenticated, non-rate-limited request; True = accepted (answer 200).
ConnectionRequestCallback = Callable[[], bool | Awaitable[bool]]


RATE_LIMITED = "Service Unavailable (rate limited)"
_OUTCOMES = {200: "accepted", 401: "unauthorized", 503: "refused"}


@dataclass
class _Device:
    token: str
    credentials: CredentialsSource = field(repr=False)
    callback: ConnectionRequestCallback = field(repr=False)
    auth: HttpAuthenticator = field(repr=False)
    bucket: TokenBucket = field(default_factory=TokenBucket)


def format_host(host: str) -> str:
    """Bracket an IPv6 literal for use in a URL authority (RFC 3986 §3.2.2)."""
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host


class ConnectionRequestServer:
    """One aiohttp server answering Connection Requests for many virtual devices.

    `host` is what goes into each ConnectionRequestURL (the address the ACS can reach);
    it defaults to `bind`. Each device has a token bucket (`proxier.cwmp.ratelimit`) of
    `rate_limit` requests refilled over `rate_window` seconds; a request without a token
    gets 503. `clock` is injectable so the window is testable without sleeping.
    """

    def __init__(
        self,
        *,
        bind: str = "127.0.0.1",
        port: int = 0,
        host: str | None = None,
        realm: str = "proxier",
        algorithms: tuple[str, ...] = ("MD5",),
        rate_limit: int = DEFAULT_RATE_LIMIT,
        rate_window: float = DEFAULT_RATE_WINDOW,
        nonce_lifetime: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bind = bind
        self._port = port
        self.host = host if host is not None else bind
        self.realm = realm
        self.algorithms = algorithms
        self.rate_limit = rate_limit
        self.rate_window = rate_window
        self.nonce_lifetime = nonce_lifetime
        self.clock = clock
        self._devices: dict[str, _Device] = {}
        self._runner: web.BaseRunner | None = None
        #: Told each answer's outcome: accepted, refused, unauthorized, rate_limited (metrics).
        self.on_result: Callable[[str], None] | None = None

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        """The bound port (known after `start()` when 0 was asked for)."""
        return self._port

    async def start(self) -> None:
        app = web.Application(client_max_size=4096)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = await start_server(app, self.bind, self._port, name="connection request")
        self._runner = runner
        address = runner.addresses[0]
        self._port = int(address[1])
        log.info("connection request server on %s port %d", self.bind, self._port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ConnectionRequestServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # --- registry --------------------------------------------------------------------------

    def register(
        self,
        callback: ConnectionRequestCallback,
        credentials: CredentialsSource,
        *,
        token: str | None = None,
    ) -> str:
        """Add a device; return its token. `token` lets a device keep its path across restarts."""
        token = token or secrets.token_urlsafe(18)
        if token in self._devices:
            raise ValueError("connection request path already registered")
        if not token.isascii() or "/" in token or not token.strip():
            raise ValueError("connection request token must be a non-empty URL path segment")
        device = _Device(token, credentials, callback, self._authenticator(credentials))
        self._devices[token] = device
        return token

    def unregister(self, token: str) -> None:
        self._devices.pop(token, None)

    def url(self, token: str) -> str:
        """The ConnectionRequestURL of a registered device (TR-181 form http://host:port/path)."""
        return f"http://{format_host(self.host)}:{self._port}{PATH_PREFIX}{token}"

    def _authenticator(self, credentials: CredentialsSource) -> HttpAuthenticator:
        def lookup(username: str) -> str | None:
            expected_user, password = credentials()
            return password if secrets.compare_digest(username, expected_user) else None

        return HttpAuthenticator(
            realm=self.realm,
            lookup=lookup,
            algorithms=self.algorithms,
            nonce_lifetime=self.nonce_lifetime,
        )

    # --- the §3.2.2 rules ------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        response = await self._answer(request)
        if self.on_result is not None and response.status != 404:
            outcome = _OUTCOMES.get(response.status, "refused")
            if response.status == 401 and "Authorization" not in request.headers:
                outcome = ""  # the digest challenge, not a refusal
            if response.status == 503 and response.reason == RATE_LIMITED:
                outcome = "rate_limited"
            if outcome:
                self.on_result(outcome)
        return response

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        device = (
            self._devices.get(path[len(PATH_PREFIX) :]) if path.startswith(PATH_PREFIX) else None
        )
        if device is None:
            return web.Response(status=404)
        if request.method != "GET":
            return web.Response(status=405, headers={"Allow": "GET"})
        now = self.clock()
        verdict = device.auth.check(
            "GET", request.raw_path, request.headers.get("Authorization"), now
        )
        if not verdict.ok:
            if verdict.reason != "no credentials":
                log.warning(
                    "connection request for %s… refused: %s", device.token[:6], verdict.reason
                )
            response = web.Response(status=401)
            for challenge in device.auth.challenges(now, stale=verdict.stale):
                response.headers.add("WWW-Authenticate", challenge)
            return response
        if not device.bucket.take(now, self.rate_limit, self.rate_window):
            log.warning(
                "connection request for %s… rate-limited (connection_request.rate_limit %d "
                "per rate_window %g s)",
                device.token[:6],
                self.rate_limit,
                self.rate_window,
            )
            return web.Response(status=503, reason=RATE_LIMITED)
        try:
            outcome = device.callback()
            accepted = await outcome if inspect.isawaitable(outcome) else outcome
        except Exception:
            log.exception("connection request callback failed")
            accepted = False
        if not accepted:
            return web.Response(status=503)
        log.info("connection request for %s… accepted", device.token[:6])
        return web.Response(status=200)
