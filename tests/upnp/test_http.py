"""Bounded HTTP to untrusted devices: scheme, size, redirect and time limits (issue 3
"Descriptions": bounds on size, time, redirects)."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web

from proxier.upnp.http import HttpFetchError, bounded_request, check_url

from .peer import serve


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "http:///nohost", "x"])
def test_only_http_urls_with_a_host(url: str) -> None:
    with pytest.raises(HttpFetchError, match="only http"):
        check_url(url)


@pytest.mark.parametrize("url", ["http://[::1/desc.xml", "http://127.0.0.1:99999/d.xml"])
async def test_every_ssdp_location_form_is_a_fetch_error_in_bounded_request(url: str) -> None:
    """Issue 12 item 3: a LOCATION urllib cannot split (bad IPv6 brackets, bad port) is an
    HttpFetchError from bounded_request, not a ValueError outside its try block."""
    async with aiohttp.ClientSession() as session:
        with pytest.raises(HttpFetchError, match="only http"):
            await bounded_request(session, "GET", url)


async def test_post_redirect_is_not_followed() -> None:
    """SOAP POSTs never follow redirects (an action must not be replayed elsewhere)."""

    async def moved(request: web.Request) -> web.Response:
        return web.Response(status=307, headers={"Location": "/elsewhere"})

    async with serve({"/ctl": moved}) as base, aiohttp.ClientSession() as session:
        result = await bounded_request(session, "POST", base + "/ctl", data=b"x", max_redirects=3)
    assert result.status == 307


async def test_redirects_not_allowed_by_default() -> None:
    async def moved(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": "/b"})

    async with serve({"/a": moved}) as base, aiohttp.ClientSession() as session:
        with pytest.raises(HttpFetchError, match="more than 0 redirects"):
            await bounded_request(session, "GET", base + "/a")


async def test_headers_are_lower_cased_and_final_url_kept() -> None:
    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="<r/>", content_type="text/xml", headers={"X-Thing": "1"})

    async def moved(request: web.Request) -> web.Response:
        return web.Response(status=301, headers={"Location": "/ok"})

    async with serve({"/ok": ok, "/old": moved}) as base, aiohttp.ClientSession() as session:
        result = await bounded_request(session, "GET", base + "/old", max_redirects=1)
    assert (result.status, result.body, result.url) == (200, b"<r/>", base + "/ok")
    assert result.content_type == "text/xml" and result.headers["x-thing"] == "1"


async def test_body_at_the_limit_is_accepted_and_one_more_byte_refused() -> None:
    async def exact(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()  # chunked: no Content-Length to refuse early
        await response.prepare(request)
        await response.write(b"x" * int(request.query["n"]))
        return response

    async with serve({"/b": exact}) as base, aiohttp.ClientSession() as session:
        ok = await bounded_request(session, "GET", base + "/b?n=1000", max_bytes=1000)
        assert len(ok.body) == 1000
        with pytest.raises(HttpFetchError, match="exceeds the limit of 1000"):
            await bounded_request(session, "GET", base + "/b?n=1001", max_bytes=1000)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://[fe80::1%25eth0]:49152/d.xml", "[fe80::1]:49152"),
        ("http://[fe80::1%eth0]/d.xml", "[fe80::1]"),
        ("http://[2001:db8::1]:80/d.xml", None),
        ("http://192.0.2.1:80/d.xml", None),
    ],
)
def test_link_local_scope_is_kept_out_of_host(url: str, host: str | None) -> None:
    """Link-local SOAP calls: the Host header must not carry the %scope (GUPnP refuses it)."""
    from proxier.upnp.http import host_header

    assert host_header(url) == host


async def test_refused_peers_and_tls_failures_are_not_transient() -> None:
    """Issue 13 (re-read with back-off): a refused peer (certificate pin) or a TLS failure is
    not `transient`, so it is not retried; a refused connection is."""

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="<r/>", content_type="text/xml")

    def refuse(der: bytes | None) -> None:
        raise ValueError("not the pinned certificate")

    async with serve({"/ok": ok}) as base, aiohttp.ClientSession() as session:
        with pytest.raises(HttpFetchError) as pinned:
            await bounded_request(session, "GET", base + "/ok", peer_check=refuse)
        assert "peer refused" in str(pinned.value) and not pinned.value.transient
        with pytest.raises(HttpFetchError) as tls:  # TLS to a plain-HTTP port
            await bounded_request(session, "GET", base.replace("http:", "https:") + "/ok")
        assert not tls.value.transient, str(tls.value)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(HttpFetchError) as refused:  # the server is gone
            await bounded_request(session, "GET", base + "/ok", time_limit=2.0)
        assert refused.value.transient, str(refused.value)
