"""The lab console: a static page (package data) over the local API (`api.console = true`)."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

ASSETS = {
    "index.html": "text/html",
    "console.js": "text/javascript",
    "console.css": "text/css",
}


def _asset(name: str) -> bytes:
    return resources.files("proxier").joinpath("data", "console", name).read_bytes()


def add_routes(app: web.Application) -> None:
    """/console/ (the page) and its two files; data comes from /api/ with the token."""

    async def page(request: web.Request) -> web.StreamResponse:
        name = request.match_info.get("name") or "index.html"
        if name not in ASSETS:
            raise web.HTTPNotFound()
        return web.Response(
            body=_asset(name),
            content_type=ASSETS[name],
            headers={
                "Cache-Control": "no-store",
                "Content-Security-Policy": "default-src 'self'; connect-src 'self'",
                "X-Content-Type-Options": "nosniff",
            },
        )

    async def redirect(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/console/")

    app.router.add_get("/console", redirect)
    app.router.add_get("/console/", page)
    app.router.add_get("/console/{name}", page)
