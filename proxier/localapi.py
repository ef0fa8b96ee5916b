"""Loopback HTTP API of a running proxier: status for operators and embedding agents.

Read-only JSON: the VirtualDevice table and the proxier's own data model. It binds loopback by
default and never returns credentials.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import web

from proxier.cwmp.rpc import ParameterValueStruct
from proxier.httpserver import start_server

DevicesFn = Callable[[], Sequence[dict[str, Any]]]
ParamsFn = Callable[[], Sequence[ParameterValueStruct]]


class LocalApi:
    """`GET /api/virtual-devices` and `GET /api/parameters` on one loopback port."""

    def __init__(self, devices: DevicesFn, parameters: ParamsFn) -> None:
        self._devices = devices
        self._parameters = parameters
        self._runner: web.BaseRunner | None = None
        self.port = 0

    async def start(self, bind: str, port: int) -> None:
        app = web.Application(client_max_size=4096)
        app.router.add_get("/api/virtual-devices", self._get_devices)
        app.router.add_get("/api/parameters", self._get_parameters)
        self._runner = await start_server(app, bind, port, name="local API")
        self.port = int(self._runner.addresses[0][1])

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _get_devices(self, request: web.Request) -> web.Response:
        return web.json_response(list(self._devices()))

    async def _get_parameters(self, request: web.Request) -> web.Response:
        prefix = request.query.get("prefix", "")
        return web.json_response(
            {p.name: p.value for p in self._parameters() if p.name.startswith(prefix)}
        )
