"""Loopback test peers: a golden SOAP responder (replays fixture responses per SOAPACTION)."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Recorded:
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@asynccontextmanager
async def serve(
    routes: dict[str, Handler], *, method: str = "*", ssl_context: ssl.SSLContext | None = None
) -> AsyncIterator[str]:
    """Serve `routes` (path → handler) on 127.0.0.1:<ephemeral>; yield the base URL."""
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_route(method, path, handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


class MiniCms:
    """A tiny CMS GetValues responder over a dict (device side built from our codecs).

    Stands in for a device until tests run against the lab device; answers 703 for
    unknown paths the way the reference describes (upnp-dm.md §2.7).
    """

    def __init__(self, values: dict[str, str]) -> None:
        self.values = values
        self.calls: list[list[str]] = []

    async def handle(self, request: web.Request) -> web.Response:
        from proxier.upnp import cms_xml, soap
        from proxier.upnp.device import ParameterValue, UpnpError

        _, action, args = soap.parse_request(await request.read())
        try:
            if action != "GetValues":
                raise UpnpError(401, "Invalid Action")
            paths = cms_xml.parse_content_path_list(args.get("Parameters", ""))
            self.calls.append(paths)
            found: list[ParameterValue] = []
            for path in paths:
                hits = [
                    ParameterValue(p, v)
                    for p, v in self.values.items()
                    if p == path or (path.endswith("/") and p.startswith(path))
                ]
                if not hits:
                    raise UpnpError(703, f"No such name {path}")
                found.extend(hits)
        except UpnpError as exc:
            return web.Response(
                status=500,
                body=soap.build_fault(exc.code, exc.description),
                content_type="text/xml",
            )
        body = soap.build_response(
            "urn:schemas-upnp-org:service:ConfigurationManagement:2",
            action,
            [("ParameterValueList", cms_xml.build_parameter_value_list(found))],
        )
        return web.Response(body=body, content_type="text/xml")
