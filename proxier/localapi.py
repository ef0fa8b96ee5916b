"""Loopback HTTP API of a running proxier: status for operators and embedding agents.

Read-only JSON: the VirtualDevice table and the proxier's own data model. It binds loopback by
default and never returns credentials.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from aiohttp import web

from proxier.cwmp.rpc import ParameterValueStruct
from proxier.wsc.crypto import pin_valid

DevicesFn = Callable[[], Sequence[dict[str, Any]]]
ParamsFn = Callable[[], Sequence[ParameterValueStruct]]
#: (action, device id) → found; actions: approve, deny, forget, trust (issue 8)
ActionFn = Callable[[str, str], Awaitable[bool]]
DEVICE_ACTIONS = ("approve", "deny", "forget", "trust")
#: (device id, PIN or None) → found: start a WPS introduction (issue 9)
IntroduceFn = Callable[[str, "str | None"], bool]


class LocalApi:
    """`GET /api/virtual-devices` and `GET /api/parameters` on one loopback port."""

    def __init__(
        self,
        devices: DevicesFn,
        parameters: ParamsFn,
        actions: ActionFn | None = None,
        *,
        introduce: IntroduceFn | None = None,
    ) -> None:
        self._actions = actions
        self._introduce = introduce
        self._devices = devices
        self._parameters = parameters
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def start(self, bind: str, port: int) -> None:
        app = web.Application(client_max_size=4096)
        app.router.add_get("/api/virtual-devices", self._get_devices)
        app.router.add_get("/api/parameters", self._get_parameters)
        app.router.add_post("/api/devices/{id}/introduce", self._device_introduce)
        app.router.add_post("/api/devices/{id}/{action}", self._device_action)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, bind, port)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _get_devices(self, request: web.Request) -> web.Response:
        return web.json_response(list(self._devices()))

    async def _device_action(self, request: web.Request) -> web.Response:
        action, device_id = request.match_info["action"], request.match_info["id"]
        if self._actions is None or action not in DEVICE_ACTIONS:
            raise web.HTTPNotFound(text=f"no device action {action[:40]!r}")
        if not await self._actions(action, device_id):
            raise web.HTTPNotFound(text=f"no device {device_id[:80]!r}")
        return web.json_response({"id": device_id, "action": action, "ok": True})

    async def _device_introduce(self, request: web.Request) -> web.Response:
        """Body (optional): {"pin": "12345670"}; the run goes on in the background."""
        device_id = request.match_info["id"]
        if self._introduce is None:
            raise web.HTTPNotFound(text="no WPS introduction here")
        pin: str | None = None
        if request.can_read_body:
            try:
                body = await request.json()
                pin = body.get("pin") if isinstance(body, dict) else None
            except ValueError:
                raise web.HTTPBadRequest(text='expected JSON {"pin": "…"}') from None
            if pin is not None and not (isinstance(pin, str) and pin_valid(pin)):
                raise web.HTTPBadRequest(text="pin must be 8 digits with a valid checksum")
        if not self._introduce(device_id, pin):
            raise web.HTTPNotFound(text=f"no DeviceProtection device {device_id[:80]!r}")
        return web.json_response({"id": device_id, "action": "introduce", "ok": True})

    async def _get_parameters(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix", "")
        return web.json_response(
            {p.name: p.value for p in self._parameters() if p.name.startswith(prefix)}
        )
