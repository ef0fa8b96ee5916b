"""The local HTTP API of a running proxier: status, control, metrics and the lab console.

Served on TCP (loopback by default; bearer token from the state dir unless `api.token =
false` on loopback) and/or on a unix socket whose file mode is the auth. JSON shapes are in
docs/api.md. Never returns credentials; Connection Request URLs are masked unless
`?secrets=1`.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from proxier import __version__
from proxier.control.actions import (
    ACTIONS,
    ActionRefused,
    ActionUnavailable,
    InformRefused,
    Sighting,
    Target,
    inform_now,
)
from proxier.control.ids import acs_id
from proxier.control.token import authorized
from proxier.control.view import detail, held_back, summary
from proxier.httpserver import server_runner
from proxier.logsafe import get_logger

if TYPE_CHECKING:
    from proxier.api import Proxier
    from proxier.virtual.device import VirtualDevice

log = get_logger(__name__)

#: Reachable without the token: liveness checks and the console's static page (no data).
OPEN_PATHS = ("/api/health", "/console")


def error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


class LocalApi:
    """One aiohttp application, served on TCP and/or a unix socket."""

    def __init__(self, proxier: Proxier) -> None:
        self.proxier = proxier
        self.token = ""
        self._runner: web.BaseRunner | None = None
        self.port = 0
        self.socket_path = ""

    @property
    def urls(self) -> list[str]:
        """Where the API is, in the form `proxier status --api` takes."""
        api = self.proxier.config.api
        out = []
        if self.port:
            out.append(f"http://{_host(api.bind)}:{self.port}/api/")
        if self.socket_path:
            out.append(f"unix:{self.socket_path}")
        return out

    def application(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024, middlewares=[self._auth])
        r = app.router
        r.add_get("/api/health", self._health)
        r.add_get("/api/devices", self._devices)
        r.add_get("/api/devices/{id}", self._device)
        r.add_post("/api/devices/{id}/inform", self._inform)
        r.add_post("/api/devices/{id}/{action}", self._action)
        r.add_get("/api/sessions", self._sessions)
        r.add_get("/api/events", self._events)
        r.add_get("/metrics", self._metrics)
        # Before 0.2 (kept; the CR URL in virtual-devices is now masked, docs/api.md).
        r.add_get("/api/virtual-devices", self._virtual_devices)
        r.add_get("/api/parameters", self._parameters)
        api = self.proxier.config.api
        if api.console:
            from proxier.control.console import add_routes

            add_routes(app)
        if api.lab_acs:
            from proxier.control.labbridge import LabBridge

            LabBridge(api.lab_acs, self._acs_id).add_routes(app)
        return app

    async def start(self, *, bind: str, port: int | None, socket_path: str, token: str) -> None:
        self.token = token
        self._runner = await server_runner(self.application(), name="local API")
        try:
            if port is not None:
                site = web.TCPSite(self._runner, bind, port)
                await site.start()
                self.port = int(site._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]
            if socket_path:
                await self._start_unix(socket_path)
        except BaseException:
            await self.stop()
            raise

    async def _start_unix(self, path: str) -> None:
        assert self._runner is not None
        _remove_socket(path)  # left by a killed run (one instance per state dir: daemon lock)
        old = os.umask(0o077)
        try:
            await web.UnixSite(self._runner, path).start()
        finally:
            os.umask(old)
        self.socket_path = path

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.socket_path:
            _remove_socket(self.socket_path)
            self.socket_path = ""
        self.port = 0

    # --- auth --------------------------------------------------------------------------------

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        open_path = request.path.startswith(OPEN_PATHS)
        if not (_over_unix(request) or not self.token or open_path) and not authorized(
            request.headers.get("Authorization", ""), self.token
        ):
            return web.json_response(
                {"error": "missing or wrong bearer token (see <state.dir>/api-token)"},
                status=401,
                headers={"WWW-Authenticate": 'Bearer realm="proxier"'},
            )
        try:
            response: web.StreamResponse = await handler(request)
        except web.HTTPException as exc:
            if exc.status < 400 or exc.content_type == "application/json":
                raise
            # aiohttp's own 404/405 are text: the API's errors are always JSON.
            headers = {k: v for k, v in exc.headers.items() if k == "Allow"}
            return web.json_response({"error": exc.reason}, status=exc.status, headers=headers)
        return response

    # --- handlers ----------------------------------------------------------------------------

    def _acs_id(self, wanted: str) -> str:
        """The lab ACS's id of the device `wanted` names (any accepted form); else as given."""
        device = self.proxier.device(wanted)
        return acs_id(device) if device is not None else wanted

    def _find(self, request: web.Request) -> VirtualDevice:
        wanted = request.match_info["id"]
        device = self.proxier.device(wanted)
        if device is not None:
            return device
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"no virtual device {wanted!r}"}),
            content_type="application/json",
        )

    def _target(self, request: web.Request) -> Target:
        """A virtual device, or a device held back by the privacy gate (by its UDN)."""
        target = self.proxier.target(request.match_info["id"])
        return target if target is not None else self._find(request)

    def _held_back(self, sighting: Sighting) -> dict[str, Any]:
        actions = self.proxier.actions
        return held_back(
            sighting, actions.security_state(sighting), actions.security_detail(sighting)
        )

    def _secrets(self, request: web.Request) -> bool:
        return request.query.get("secrets", "") in ("1", "true")

    async def _health(self, request: web.Request) -> web.Response:
        devices = self.proxier.devices()
        return web.json_response(
            {
                "status": "ok",
                "version": __version__,
                "devices": len(devices),
                "online": sum(1 for d in devices if d.online),
                "console": self.proxier.config.api.console,
                "lab_acs": bool(self.proxier.config.api.lab_acs),
                "dp_identity": self.proxier.dp.identity.identity,
            }
        )

    async def _devices(self, request: web.Request) -> web.Response:
        p = self.proxier
        secrets = self._secrets(request)
        a = p.actions
        return web.json_response(
            [
                summary(
                    d,
                    p.activity,
                    a.security_state(d),
                    secrets=secrets,
                    security_detail=a.security_detail(d),
                )
                for d in p.devices()
            ]
            + [self._held_back(s) for s in a.sightings()]
        )

    async def _device(self, request: web.Request) -> web.Response:
        target = self._target(request)
        p = self.proxier
        if isinstance(target, Sighting):
            out = self._held_back(target)
        else:
            out = detail(
                target,
                p.activity,
                p.actions.security_state(target),
                secrets=self._secrets(request),
                security_detail=p.actions.security_detail(target),
            )
            out["parameters_last_read"] = p.readings.of(target.id)
        out["actions"] = p.actions.available()
        return web.json_response(out)

    async def _body(self, request: web.Request) -> dict[str, Any]:
        if not request.can_read_body:
            return {}
        try:
            body = await request.json()
        except ValueError:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "the body must be a JSON object"}),
                content_type="application/json",
            ) from None
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(
                text=json.dumps({"error": "the body must be a JSON object"}),
                content_type="application/json",
            )
        return body

    async def _inform(self, request: web.Request) -> web.Response:
        device = self._find(request)
        body = await self._body(request)
        event = body.get("event", "")
        if not isinstance(event, str):
            return error(400, "event must be a string")
        since = self.proxier.activity.last_seq
        try:
            code = inform_now(device, event, self.proxier.clock())
        except ValueError as exc:
            return error(400, str(exc))
        except InformRefused as exc:
            return error(409, f"{device.id}: {exc}")
        log.info("%s: session requested by the operator (%s)", device.id, code)
        return web.json_response({"device": device.id, "event": code, "since": since}, status=202)

    async def _action(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        if action not in ACTIONS:
            return error(404, f"no device action {action!r}", actions=list(ACTIONS))
        device = self._target(request)
        body = await self._body(request)
        try:
            result = await self.proxier.actions.run(action, device, body)
        except ActionUnavailable:
            return error(
                501,
                f"action {action!r} is not provided by this proxier",
                available=self.proxier.actions.available(),
            )
        except ActionRefused as exc:
            return error(409, f"{device.id}: {exc}")
        except ValueError as exc:  # the handler refused the request (e.g. a bad PIN)
            return error(400, str(exc))
        log.info("%s: %s by the operator", device.id, action)
        return web.json_response({"device": device.id, "action": action, **result})

    def _device_filter(self, request: web.Request) -> str:
        """`?device=` in any accepted id form (proxier.control.ids), as activities name it."""
        wanted = request.query.get("device", "")
        device = self.proxier.device(wanted) if wanted else None
        return device.id if device is not None else wanted

    def _since(self, request: web.Request) -> int:
        try:
            return int(request.query.get("since", "0"))
        except ValueError:
            return 0

    async def _sessions(self, request: web.Request) -> web.Response:
        items = self.proxier.activity.recent(
            since=self._since(request), kinds=("session",), device=self._device_filter(request)
        )
        return web.json_response([a.as_dict() for a in items])

    async def _events(self, request: web.Request) -> web.Response:
        kinds = tuple(k for k in request.query.get("kind", "").split(",") if k)
        items = self.proxier.activity.recent(
            since=self._since(request), kinds=kinds, device=self._device_filter(request)
        )
        return web.json_response([a.as_dict() for a in items])

    async def _metrics(self, request: web.Request) -> web.Response:
        body, content_type = self.proxier.metrics.exposition(request.headers.get("Accept", ""))
        response = web.Response(body=body)
        response.headers["Content-Type"] = content_type
        return response

    async def _virtual_devices(self, request: web.Request) -> web.Response:
        return web.json_response(self.proxier.virtual_devices())

    async def _parameters(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix", "")
        return web.json_response(
            {p.name: p.value for p in self.proxier.parameters() if p.name.startswith(prefix)}
        )


def _remove_socket(path: str) -> None:
    """Unlink a unix socket file (never a regular file someone pointed api.socket at)."""
    p = Path(path)
    if p.is_socket():
        p.unlink()


def _over_unix(request: web.Request) -> bool:
    sock = request.get_extra_info("socket")
    return sock is not None and sock.family == socket.AF_UNIX


def _host(bind: str) -> str:
    """Where a client reaches a bind address (a wildcard bind is reached on loopback)."""
    if bind in ("0.0.0.0", ""):
        return "127.0.0.1"
    if bind == "::":
        return "[::1]"
    return f"[{bind}]" if ":" in bind else bind
