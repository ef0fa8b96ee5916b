"""The lab ACS server: a CWMP endpoint, a JSON REST surface, and a Connection Request client.

One aiohttp application on one port (loopback by default):
- `POST <cwmp_path>` (default "/"): CWMP sessions, authenticated on every request (digest,
  or Basic when configured), tied together by a `session` cookie, or by the TCP connection
  for a CPE that drops cookies. A second Inform from a device supersedes its stale session
  (a CPE that was killed mid-session comes back with a new one).
- REST: `GET /devices`, `GET /devices/{id}` (last Inform, parameters), `GET
  /devices/{id}/informs` (Inform history with event codes and CommandKeys; `?after=N&wait=S`
  long-polls), `/sessions`, `/cpe-requests` (TransferComplete …), `POST /devices/{id}/tasks`
  (queue an RPC; a Connection Request goes out unless the device is in session or
  `?connection_request=0`), `GET /devices/{id}/tasks/{task}?wait=S`, `POST
  /devices/{id}/connection-request`, `PUT /devices/{id}/connection-request-credentials`.

Connection Requests are sent only to loopback addresses unless `allow_remote_cr` (the
project's network-safety rule: nothing leaves the host by default).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import secrets
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from yarl import URL

from proxier.cwmp import rpc
from proxier.cwmp.digest import HttpAuthenticator
from proxier.labacs import store as st
from proxier.labacs.session import AcsSession
from proxier.labacs.store import LabStore
from proxier.labacs.tasks import TaskError, task_request
from proxier.logsafe import get_logger

log = get_logger(__name__)

COOKIE = "session"


@dataclass(frozen=True)
class LabAcsConfig:
    """Lab ACS settings. `auth` is "digest", "basic" or "none" (none when no username)."""

    bind: str = "127.0.0.1"
    port: int = 7547
    db: str = ":memory:"
    cwmp_path: str = "/"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    auth: str = "digest"
    digest_algorithms: tuple[str, ...] = ("MD5",)
    realm: str = "proxier-labacs"
    cr_username: str = ""
    cr_password: str = field(default="", repr=False)
    cr_timeout: float = 5.0
    allow_remote_cr: bool = False
    session_timeout: float = 30.0
    #: How the session cookie is set: "netscape" (Set-Cookie, as GenieACS) or "rfc2965"
    #: (Set-Cookie2 with Version=1, as the ACS of the seed trace).
    cookie_style: str = "netscape"
    #: Close the TCP connection after every response (the CPE must carry on in a new one
    #: with the session cookie, TR-069 §3.4.2) and/or send chunked bodies.
    close_connections: bool = False
    chunked: bool = False
    ssl_context: ssl.SSLContext | None = field(default=None, repr=False)


def _session_cookie(headers: list[str]) -> str:
    """Our session id from Cookie headers in either style (`session=x` or RFC 2965
    `$Version="1"; session="x"`); attributes starting with `$` are skipped."""
    for header in headers:
        for part in header.split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name == COOKIE:
                return value.strip().strip('"')
    return ""


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class LabAcs:
    """The lab ACS. Use `async with LabAcs(config) as acs:`; `acs.url` is the CWMP URL."""

    def __init__(self, config: LabAcsConfig, *, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.store = LabStore(config.db, clock=clock)
        self._sessions: dict[str, AcsSession] = {}
        self._by_device: dict[str, AcsSession] = {}
        self._by_connection: dict[tuple[Any, ...], AcsSession] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._port = config.port
        self.auth: HttpAuthenticator | None = None
        #: Test hook: an Inform for which this returns True is recorded but not answered
        #: until `release_held()` (to kill a CPE in the middle of a session).
        self.hold_inform: Callable[[rpc.Inform], bool] | None = None
        self._release = asyncio.Event()
        if config.username is not None and config.auth != "none":
            users = {config.username: config.password or ""}
            self.auth = HttpAuthenticator(
                realm=config.realm,
                lookup=users.get,
                algorithms=config.digest_algorithms,
                basic_only=config.auth == "basic",
            )

    # --- lifecycle -------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        scheme = "https" if self.config.ssl_context else "http"
        host = self.config.bind if ":" not in self.config.bind else f"[{self.config.bind}]"
        return f"{scheme}://{host}:{self._port}"

    @property
    def url(self) -> str:
        """The CWMP URL to configure as the CPE's ManagementServer.URL."""
        return self.base_url + self.config.cwmp_path

    def app(self) -> web.Application:
        app = web.Application(client_max_size=8 * 1024 * 1024)
        r = app.router
        r.add_route("*", self.config.cwmp_path, self._cwmp)
        r.add_get("/devices", self._devices)
        r.add_get("/devices/{id}", self._device)
        r.add_get("/devices/{id}/informs", self._informs)
        r.add_get("/devices/{id}/sessions", self._sessions_api)
        r.add_get("/devices/{id}/cpe-requests", self._cpe_requests)
        r.add_get("/devices/{id}/tasks", self._tasks)
        r.add_post("/devices/{id}/tasks", self._add_task)
        r.add_get("/devices/{id}/tasks/{task}", self._task)
        r.add_post("/devices/{id}/connection-request", self._cr_api)
        r.add_put("/devices/{id}/connection-request-credentials", self._cr_credentials)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(
            self._runner, self.config.bind, self.config.port, ssl_context=self.config.ssl_context
        )
        await site.start()
        self._port = int(self._runner.addresses[0][1])
        log.info("lab ACS at %s", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self.store.close()

    async def __aenter__(self) -> LabAcs:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], Any], wait: float) -> Any:
        """Wait until `predicate()` is truthy (re-checked after every change); return it."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(predicate), wait)
            except TimeoutError:
                pass
        return predicate()

    # --- sessions --------------------------------------------------------------------------

    def _sweep(self, now: float) -> None:
        for session in list(self._sessions.values()):
            if now - session.last_activity > self.config.session_timeout:
                session.abort("timeout")
                self._forget(session)

    def _forget(self, session: AcsSession) -> None:
        self._sessions.pop(session.sid, None)
        if session.device_id is not None and self._by_device.get(session.device_id) is session:
            del self._by_device[session.device_id]
        for key, value in list(self._by_connection.items()):
            if value is session:
                del self._by_connection[key]

    def release_held(self) -> None:
        """Stop holding Informs and answer the held ones."""
        self.hold_inform = None
        self._release.set()
        self._release = asyncio.Event()

    def in_session(self, dev_id: str) -> bool:
        self._sweep(self.clock())
        return dev_id in self._by_device

    async def _cwmp(self, request: web.Request) -> web.StreamResponse:
        if request.method != "POST":
            return web.Response(status=405, headers={"Allow": "POST"})
        now = self.clock()
        if self.auth is not None:
            verdict = self.auth.check(
                "POST", request.raw_path, request.headers.get("Authorization"), now
            )
            if not verdict.ok:
                if verdict.reason != "no credentials":
                    log.warning("CWMP request refused: %s", verdict.reason)
                refusal = web.Response(status=401)
                for challenge in self.auth.challenges(now, stale=verdict.stale):
                    refusal.headers.add("WWW-Authenticate", challenge)
                return refusal
        body = await request.read()
        self._sweep(now)
        connection = (
            request.transport.get_extra_info("peername") if request.transport else None,
            id(request.transport),
        )
        session = self._sessions.get(_session_cookie(request.headers.getall("Cookie", [])))
        if session is None:
            session = self._by_connection.get(connection)
        new = False
        if session is None:
            if not body.strip():
                return web.Response(status=400, text="Invalid session")
            session = AcsSession(secrets.token_hex(8), self.store, now)
            self._sessions[session.sid] = session
            new = True
        self._by_connection[connection] = session
        reply = session.handle(body, now)
        if new and session.device_id is not None:
            old = self._by_device.get(session.device_id)
            if old is not None and old is not session:
                old.abort("superseded by a new session")
                self._forget(old)
            self._by_device[session.device_id] = session
        if reply.ended:
            self._forget(session)
        if new and session.inform is not None and self.hold_inform is not None:
            if self.hold_inform(session.inform):
                await self._notify()
                await self._release.wait()
        headers: dict[str, str] = {}
        if reply.content_type:
            headers["Content-Type"] = reply.content_type
        if new and reply.status == 200:
            if self.config.cookie_style == "rfc2965":
                headers["Set-Cookie2"] = f'{COOKIE}="{session.sid}"; Version="1"; Discard'
            else:
                headers["Set-Cookie"] = f"{COOKIE}={session.sid}; Path=/"
        response: web.StreamResponse
        if self.config.chunked and reply.body:
            response = web.StreamResponse(status=reply.status, headers=headers)
            response.enable_chunked_encoding()
        else:
            response = web.Response(status=reply.status, body=reply.body or None, headers=headers)
        if reply.ended or self.config.close_connections:
            response.force_close()  # GenieACS too ends a session with Connection: close
        await self._notify()
        if isinstance(response, web.Response):
            return response
        await response.prepare(request)
        half = len(reply.body) // 2
        await response.write(reply.body[:half])
        await response.write(reply.body[half:])
        await response.write_eof()
        return response

    # --- Connection Requests ---------------------------------------------------------------

    async def connection_request(self, dev_id: str) -> str:
        """Send a Connection Request (TR-069 §3.2.2) and say how it went ("ok" or why not)."""
        target = self.store.cr_target(dev_id)
        if target is None or not target[0]:
            return "no ConnectionRequestURL known"
        url, username, password = target
        parsed = URL(url)
        if parsed.scheme != "http":
            return "ConnectionRequestURL is not an http URL"
        if not self.config.allow_remote_cr and not _is_loopback(parsed.host):
            return "refused: ConnectionRequestURL is not on loopback (see allow_remote_cr)"
        username = self.config.cr_username if username is None else username
        password = self.config.cr_password if password is None else password
        if ":" in username:
            return "refused: ':' in the Connection Request username"
        middleware = aiohttp.DigestAuthMiddleware(username, password)
        timeout = aiohttp.ClientTimeout(total=self.config.cr_timeout)
        try:
            async with (
                aiohttp.ClientSession(middlewares=(middleware,), timeout=timeout) as client,
                client.get(parsed, allow_redirects=False) as response,
            ):
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            return f"device unreachable: {type(exc).__name__}"
        outcome = {
            200: "ok",
            204: "ok",
            401: "authentication failed (401)",
            503: "device busy or offline (503)",
        }.get(status, f"HTTP {status}")
        log.info("connection request to %s: %s", dev_id, outcome)
        return outcome

    # --- REST ------------------------------------------------------------------------------

    async def queue_task(
        self, dev_id: str, task: dict[str, Any], *, connection_request: bool = True
    ) -> dict[str, Any]:
        """Queue one RPC for a device (TaskError if invalid); CR it if not in session."""
        task_request(task)  # validate now, so a bad task is refused at the door
        task_id = self.store.add_task(dev_id, task)
        if connection_request and not self.in_session(dev_id):
            outcome = await self.connection_request(dev_id)
            self.store.set_connection_request(task_id, outcome)
        await self._notify()
        result = self.store.task(dev_id, task_id)
        assert result is not None
        return result

    async def wait_task(self, dev_id: str, task_id: int, wait: float) -> dict[str, Any] | None:
        def finished() -> dict[str, Any] | None:
            task = self.store.task(dev_id, task_id)
            return task if task is None or task["status"] in st.FINISHED else None

        done = await self.wait_for(finished, wait)
        return done if done is not None else self.store.task(dev_id, task_id)

    async def wait_informs(
        self, dev_id: str, *, after: int = 0, count: int = 1, wait: float = 10.0
    ) -> list[dict[str, Any]]:
        """Informs with id > `after`, waiting up to `wait` seconds until there are `count`."""

        def enough() -> list[dict[str, Any]] | None:
            informs = self.store.informs(dev_id, after=after)
            return informs if len(informs) >= count else None

        await self.wait_for(enough, wait)
        return self.store.informs(dev_id, after=after)

    @staticmethod
    def _json(data: Any, status: int = 200) -> web.Response:
        return web.Response(
            status=status, text=json.dumps(data, indent=1), content_type="application/json"
        )

    def _known(self, request: web.Request) -> str:
        dev_id = request.match_info["id"]
        if self.store.device(dev_id, full=False) is None:
            raise web.HTTPNotFound(
                text=json.dumps({"error": f"unknown device {dev_id}"}),
                content_type="application/json",
            )
        return dev_id

    @staticmethod
    def _wait_arg(request: web.Request) -> float:
        try:
            return min(max(float(request.query.get("wait", "0")), 0.0), 300.0)
        except ValueError:
            raise web.HTTPBadRequest(text="wait must be a number of seconds") from None

    async def _devices(self, request: web.Request) -> web.Response:
        return self._json(self.store.devices())

    async def _device(self, request: web.Request) -> web.Response:
        dev_id = self._known(request)
        data = self.store.device(dev_id)
        assert data is not None
        data["inSession"] = self.in_session(dev_id)
        return self._json(data)

    async def _informs(self, request: web.Request) -> web.Response:
        dev_id = request.match_info["id"]
        try:
            after = int(request.query.get("after", "0"))
        except ValueError:
            raise web.HTTPBadRequest(text="after must be an inform id") from None
        wait = self._wait_arg(request)
        if wait:
            return self._json(await self.wait_informs(dev_id, after=after, wait=wait))
        return self._json(self.store.informs(dev_id, after=after))

    async def _sessions_api(self, request: web.Request) -> web.Response:
        return self._json(self.store.sessions(self._known(request)))

    async def _cpe_requests(self, request: web.Request) -> web.Response:
        return self._json(self.store.cpe_requests(self._known(request)))

    async def _tasks(self, request: web.Request) -> web.Response:
        return self._json(self.store.tasks(self._known(request)))

    async def _add_task(self, request: web.Request) -> web.Response:
        dev_id = self._known(request)
        try:
            task = await request.json()
        except ValueError:
            return self._json({"error": "body is not JSON"}, 400)
        cr = request.query.get("connection_request", "1") not in ("0", "false", "no")
        try:
            result = await self.queue_task(dev_id, task, connection_request=cr)
        except TaskError as exc:
            return self._json({"error": str(exc)}, 400)
        return self._json(result, 202)

    async def _task(self, request: web.Request) -> web.Response:
        dev_id = self._known(request)
        try:
            task_id = int(request.match_info["task"])
        except ValueError:
            raise web.HTTPNotFound() from None
        wait = self._wait_arg(request)
        task = (
            await self.wait_task(dev_id, task_id, wait)
            if wait
            else self.store.task(dev_id, task_id)
        )
        if task is None:
            return self._json({"error": "unknown task"}, 404)
        return self._json(task)

    async def _cr_api(self, request: web.Request) -> web.Response:
        dev_id = self._known(request)
        return self._json({"connectionRequest": await self.connection_request(dev_id)})

    async def _cr_credentials(self, request: web.Request) -> web.Response:
        dev_id = self._known(request)
        try:
            data = await request.json()
        except ValueError:
            return self._json({"error": "body is not JSON"}, 400)
        if not isinstance(data, dict) or not all(
            isinstance(data.get(k), str | None) for k in ("username", "password")
        ):
            return self._json({"error": 'expected {"username": str, "password": str}'}, 400)
        self.store.set_cr_credentials(dev_id, data.get("username"), data.get("password"))
        return self._json({"ok": True})
