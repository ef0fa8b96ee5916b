"""The ACS HTTP driver against real loopback HTTP servers (TR-069 §3.4)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from proxier.cwmp.digest import HttpAuthenticator
from proxier.cwmp.http import HttpAcsTransport, HttpSettings
from proxier.cwmp.transport import TransportError
from tests.cwmp.tlsca import make_pki

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    peer: tuple[str, int]


@dataclass
class Acs:
    """A tiny scripted HTTP server: records each request, answers with `handler`."""

    handler: Handler
    seen: list[Seen] = field(default_factory=list)
    port: int = 0
    runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        peer = request.transport.get_extra_info("peername") if request.transport else ("", 0)
        self.seen.append(
            Seen(request.method, request.path_qs, dict(request.headers), body, tuple(peer[:2]))
        )
        return await self.handler(request)

    async def start(self, ssl_context: object = None) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0, ssl_context=ssl_context)  # type: ignore[arg-type]
        await site.start()
        self.port = int(self.runner.addresses[0][1])

    def url(self, path: str = "/acs", scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"


@pytest.fixture
async def acs_factory() -> AsyncIterator[Callable[..., Awaitable[Acs]]]:
    servers: list[Acs] = []

    async def make(handler: Handler, ssl_context: object = None) -> Acs:
        acs = Acs(handler)
        await acs.start(ssl_context)
        servers.append(acs)
        return acs

    yield make
    for acs in servers:
        assert acs.runner is not None
        await acs.runner.cleanup()


async def ok(request: web.Request) -> web.StreamResponse:
    return web.Response(status=200, body=b"<x/>", content_type="text/xml")


async def test_soap_and_empty_post_headers(acs_factory: Callable[..., Awaitable[Acs]]) -> None:
    """§3.4.1: SOAPAction with no value and text/xml on SOAP POSTs; the empty POST has
    neither, and a zero-length body (§3.4.6)."""
    acs = await acs_factory(ok)
    async with HttpAcsTransport(HttpSettings(acs.url())) as transport:
        reply = await transport.post(b"<soap/>")
        assert reply.status == 200 and reply.body == b"<x/>"
        assert reply.content_type.startswith("text/xml")
        await transport.post(b"")
    soap, empty = acs.seen
    assert soap.method == "POST" and soap.body == b"<soap/>"
    assert soap.headers["Content-Type"] == 'text/xml; charset="utf-8"'
    assert soap.headers["SOAPAction"] == ""
    assert empty.body == b"" and empty.headers.get("Content-Length") == "0"
    assert "SOAPAction" not in empty.headers and "Content-Type" not in empty.headers


async def test_one_tcp_connection_per_session(acs_factory: Callable[..., Awaitable[Acs]]) -> None:
    """§3.4.2: one TCP connection for the whole session, including the digest challenge."""
    users = {"cpe": "pw"}
    auth = HttpAuthenticator(realm="acs", lookup=users.get)

    async def handler(request: web.Request) -> web.StreamResponse:
        verdict = auth.check(
            "POST", request.raw_path, request.headers.get("Authorization"), time.time()
        )
        if not verdict.ok:
            return web.Response(
                status=401, headers={"WWW-Authenticate": auth.challenges(time.time())[0]}
            )
        return web.Response(status=200, body=b"<x/>")

    acs = await acs_factory(handler)
    settings = HttpSettings(acs.url(), username="cpe", password="pw")
    async with HttpAcsTransport(settings) as transport:
        for body in (b"<inform/>", b"", b"<resp/>"):
            assert (await transport.post(body)).status == 200
    assert [s.headers.get("Authorization", "")[:6] for s in acs.seen] == [
        "",
        "Digest",
        "Digest",
        "Digest",
    ]
    assert len({s.peer for s in acs.seen}) == 1


@pytest.mark.parametrize("algorithm", ["MD5", "MD5-SESS", "SHA-256"])
async def test_digest_auth(acs_factory: Callable[..., Awaitable[Acs]], algorithm: str) -> None:
    """§3.4.4/§3.4.5: the CPE answers the ACS's digest challenge (qop=auth; MD5, the
    MD5-sess a CPE MUST also support, SHA-256);
    a wrong password ends the session attempt with a TransportError."""
    users = {"cpe": "pw"}
    auth = HttpAuthenticator(realm="acs", lookup=users.get, algorithms=(algorithm,))

    async def handler(request: web.Request) -> web.StreamResponse:
        verdict = auth.check(
            "POST", request.raw_path, request.headers.get("Authorization"), time.time()
        )
        if not verdict.ok:
            return web.Response(
                status=401, headers={"WWW-Authenticate": auth.challenges(time.time())[0]}
            )
        return web.Response(status=204)

    acs = await acs_factory(handler)
    async with HttpAcsTransport(HttpSettings(acs.url(), "cpe", "pw")) as transport:
        assert (await transport.post(b"<inform/>")).status == 204
    async with HttpAcsTransport(HttpSettings(acs.url(), "cpe", "bad")) as transport:
        with pytest.raises(TransportError, match="401"):
            await transport.post(b"<inform/>")


async def test_basic_auth(acs_factory: Callable[..., Awaitable[Acs]]) -> None:
    """§3.4.4: when the ACS challenges with Basic the CPE sends Basic credentials, then keeps
    sending them for the rest of the session."""
    auth = HttpAuthenticator(realm="acs", lookup={"cpe": "pw"}.get, basic_only=True)

    async def handler(request: web.Request) -> web.StreamResponse:
        if not auth.check("POST", "/", request.headers.get("Authorization"), 0.0).ok:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="acs"'})
        return web.Response(status=200, body=b"<x/>")

    acs = await acs_factory(handler)
    plain = {"allow_basic_over_http": True}  # a loopback test ACS without TLS
    async with HttpAcsTransport(HttpSettings(acs.url(), "cpe", "pw", **plain)) as transport:
        await transport.post(b"<inform/>")
        await transport.post(b"")
    assert [s.headers.get("Authorization", "")[:5] for s in acs.seen] == ["", "Basic", "Basic"]
    async with HttpAcsTransport(HttpSettings(acs.url(), "cpe", "nope", **plain)) as transport:
        with pytest.raises(TransportError):
            await transport.post(b"<inform/>")


async def test_session_cookie_echoed_then_forgotten(
    acs_factory: Callable[..., Awaitable[Acs]],
) -> None:
    """§3.4.2: cookies are returned on every later POST of the session, and discarded at its
    end (GenieACS `session=` cookie on an IP-address URL, Path scoped elsewhere)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.Response(status=200, body=b"<x/>")
        if not request.headers.get("Cookie"):
            response.headers["Set-Cookie"] = "session=258672756ec85e04; Path=/other"
        return response

    acs = await acs_factory(handler)
    transport = HttpAcsTransport(HttpSettings(acs.url()))
    await transport.post(b"<inform/>")
    await transport.post(b"")
    await transport.close()
    await transport.post(b"<inform/>")
    await transport.close()
    assert [s.headers.get("Cookie") for s in acs.seen] == [None, "session=258672756ec85e04", None]


async def test_rfc2965_version_cookies_like_the_trace(
    acs_factory: Callable[..., Awaitable[Acs]],
) -> None:
    """§3.4.2 + RFC 2965 §9.1, as in the seed trace: an old-style JSESSIONID and a
    Set-Cookie2 TR069SessionID (Version=1) come back once each, new-style with $Version."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.Response(status=200, body=b"<x/>")
        if len(acs.seen) == 1:
            response.headers["Set-Cookie"] = "JSESSIONID=8CE5C5B7; Path=/comserver/; HttpOnly"
        response.headers["Set-Cookie2"] = "TR069SessionID=B14B23B3;Version=1;Discard"
        return response

    acs = await acs_factory(handler)
    async with HttpAcsTransport(HttpSettings(acs.url("/comserver/node1/tr069"))) as transport:
        for _ in range(3):
            await transport.post(b"<x/>")
    expected = '$Version="1"; JSESSIONID=8CE5C5B7; TR069SessionID="B14B23B3"'
    assert [s.headers.get("Cookie") for s in acs.seen] == [None, expected, expected]
    assert acs.seen[1].headers["Cookie2"] == '$Version="1"'


@pytest.mark.parametrize("code", [301, 302, 307])
async def test_redirect_resends_post_for_this_session_only(
    acs_factory: Callable[..., Awaitable[Acs]], code: int
) -> None:
    """§3.4.2: on 302/307 (and 301) the same POST is re-sent to the new URL, which is used
    for the rest of the session only; cookies follow without domain checks."""

    async def final(request: web.Request) -> web.StreamResponse:
        return web.Response(status=200, body=b"<x/>", headers={"Set-Cookie": "s=1"})

    target = await acs_factory(final)

    async def redirect(request: web.Request) -> web.StreamResponse:
        return web.Response(status=code, headers={"Location": target.url("/real")}, body=b"ignored")

    origin = await acs_factory(redirect)
    transport = HttpAcsTransport(HttpSettings(origin.url()))
    assert (await transport.post(b"<inform/>")).body == b"<x/>"
    assert transport.url == target.url("/real")
    await transport.post(b"")
    await transport.close()
    assert transport.url == origin.url()
    assert [(s.method, s.path, s.body) for s in target.seen] == [
        ("POST", "/real", b"<inform/>"),
        ("POST", "/real", b""),
    ]
    assert target.seen[1].headers["Cookie"] == "s=1"
    assert len(origin.seen) == 1


async def test_more_than_five_redirects_fail(acs_factory: Callable[..., Awaitable[Acs]]) -> None:
    """§3.4.2: at least 5 consecutive redirects are followed; beyond that the session fails."""

    async def loop(request: web.Request) -> web.StreamResponse:
        hop = len(acs.seen)
        return web.Response(status=307, headers={"Location": f"/hop{hop}"})

    acs = await acs_factory(loop)
    async with HttpAcsTransport(HttpSettings(acs.url())) as transport:
        with pytest.raises(TransportError, match="redirects"):
            await transport.post(b"<inform/>")
    assert len(acs.seen) == 6


async def test_chunked_response_body(acs_factory: Callable[..., Awaitable[Acs]]) -> None:
    """HTTP/1.1 chunked transfer coding of the ACS response (as in the seed trace)."""

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=200, headers={"Content-Type": "text/xml"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for part in (b"<a>", b"x" * 70000, b"</a>"):
            await response.write(part)
        await response.write_eof()
        return response

    acs = await acs_factory(chunked)
    async with HttpAcsTransport(HttpSettings(acs.url())) as transport:
        reply = await transport.post(b"<x/>")
    assert reply.body == b"<a>" + b"x" * 70000 + b"</a>"


async def test_body_size_limit(acs_factory: Callable[..., Awaitable[Acs]]) -> None:
    """Bad input never exhausts memory: an oversized ACS answer fails the session."""

    async def big(request: web.Request) -> web.StreamResponse:
        return web.Response(status=200, body=b"x" * 5000)

    acs = await acs_factory(big)
    async with HttpAcsTransport(HttpSettings(acs.url(), max_body_bytes=4096)) as transport:
        with pytest.raises(TransportError, match="exceeds"):
            await transport.post(b"<x/>")


async def test_unreachable_and_silent_acs(acs_factory: Callable[..., Awaitable[Acs]]) -> None:
    """§3.4.2: failing to connect or to get a response ends the session unsuccessfully."""
    never = asyncio.Event()

    async def silent(request: web.Request) -> web.StreamResponse:
        await never.wait()
        return web.Response(status=204)

    acs = await acs_factory(silent)
    async with HttpAcsTransport(HttpSettings(acs.url(), response_timeout=0.3)) as transport:
        with pytest.raises(TransportError, match="in time"):
            await transport.post(b"<x/>")
    never.set()
    closed_port = acs.port
    assert acs.runner is not None
    await acs.runner.cleanup()
    async with HttpAcsTransport(HttpSettings(f"http://127.0.0.1:{closed_port}/")) as transport:
        with pytest.raises(TransportError):
            await transport.post(b"<x/>")


async def test_tls_verification_on(
    acs_factory: Callable[..., Awaitable[Acs]], tmp_path: Path
) -> None:
    """§3.3: HTTPS to the ACS authenticates its certificate; an untrusted one fails."""
    pki = make_pki(tmp_path)
    acs = await acs_factory(ok, pki.server_context())
    url = acs.url(scheme="https")
    async with HttpAcsTransport(HttpSettings(url, ca_file=str(pki.ca_file))) as transport:
        assert (await transport.post(b"<x/>")).status == 200
    async with HttpAcsTransport(HttpSettings(url)) as transport:
        with pytest.raises(TransportError, match="TLS"):
            await transport.post(b"<x/>")
    (tmp_path / "other").mkdir()
    other = make_pki(tmp_path / "other")
    async with HttpAcsTransport(HttpSettings(url, ca_file=str(other.ca_file))) as transport:
        with pytest.raises(TransportError, match="TLS"):
            await transport.post(b"<x/>")


async def test_tls_host_name_checked(
    acs_factory: Callable[..., Awaitable[Acs]], tmp_path: Path
) -> None:
    """§3.3: the certificate must match the ACS URL's host."""
    pki = make_pki(tmp_path, host="acs.example.net")
    acs = await acs_factory(ok, pki.server_context())
    settings = HttpSettings(acs.url(scheme="https"), ca_file=str(pki.ca_file))
    async with HttpAcsTransport(settings) as transport:
        with pytest.raises(TransportError, match="TLS"):
            await transport.post(b"<x/>")


def test_settings_repr_hides_password() -> None:
    """Secrets never reach logs."""
    assert "hunter2" not in repr(HttpSettings("http://127.0.0.1/", "u", "hunter2"))
    with pytest.raises(ValueError):
        HttpAcsTransport(HttpSettings("ftp://acs/"))


async def test_transport_factory_uses_current_acs_settings(
    acs_factory: Callable[..., Awaitable[Acs]], tmp_path: Path
) -> None:
    """Each session gets a fresh transport at the ACS URL/credentials current then (an ACS
    may change ManagementServer.URL), keeping TLS settings from the template."""
    from proxier.cwmp.http import transport_factory

    @dataclass(frozen=True)
    class Location:
        url: str
        username: str = ""
        password: str = ""

    pki = make_pki(tmp_path)
    acs = await acs_factory(ok, pki.server_context())
    make = transport_factory(HttpSettings("http://unused/", ca_file=str(pki.ca_file)))
    transport = make(Location(acs.url(scheme="https"), "u", "p"))
    assert transport.settings.username == "u" and transport.url == acs.url(scheme="https")
    async with transport:
        assert (await transport.post(b"<x/>")).status == 200


async def test_basic_over_plain_http_never_sends_the_password(
    acs_factory: Callable[..., Awaitable[Acs]],
) -> None:
    """Issue 12 item 9 (TR-069 §3.4.4): an http:// ACS that challenges with Basic never sees
    an Authorization header; the error names the fix. Digest over http is unaffected."""

    async def basic(request: web.Request) -> web.StreamResponse:
        return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="acs"'})

    acs = await acs_factory(basic)
    async with HttpAcsTransport(HttpSettings(acs.url(), "cpe", "pw")) as transport:
        with pytest.raises(TransportError, match=r"acs\.allow_basic_over_http = true"):
            await transport.post(b"<inform/>")
    assert [s.headers.get("Authorization") for s in acs.seen] == [None]

    auth = HttpAuthenticator(realm="acs", lookup={"cpe": "pw"}.get)

    async def digest(request: web.Request) -> web.StreamResponse:
        verdict = auth.check("POST", request.path_qs, request.headers.get("Authorization"), 0.0)
        if not verdict.ok:
            headers = [("WWW-Authenticate", c) for c in auth.challenges(0.0)]
            return web.Response(status=401, headers=headers)
        return web.Response(status=200, body=b"<x/>")

    digest_acs = await acs_factory(digest)
    async with HttpAcsTransport(HttpSettings(digest_acs.url(), "cpe", "pw")) as transport:
        assert (await transport.post(b"<inform/>")).status == 200
    assert digest_acs.seen[-1].headers["Authorization"].startswith("Digest ")


async def test_basic_over_plain_http_refused_after_a_redirect_from_https(
    acs_factory: Callable[..., Awaitable[Acs]], tmp_path: Path
) -> None:
    """Issue 12 item 9: Basic accepted over TLS is not carried on to a plain-HTTP URL the
    ACS redirects the session to; the plain-HTTP ACS never sees the password."""
    auth = HttpAuthenticator(realm="acs", lookup={"cpe": "pw"}.get, basic_only=True)
    plain = await acs_factory(ok)

    async def tls(request: web.Request) -> web.StreamResponse:
        if not auth.check("POST", "/", request.headers.get("Authorization"), 0.0).ok:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="acs"'})
        if request.headers.get("Content-Length", "0") == "0":
            return web.Response(status=307, headers={"Location": plain.url()})
        return web.Response(status=200, body=b"<x/>")

    pki = make_pki(tmp_path)
    secure = await acs_factory(tls, pki.server_context())
    settings = HttpSettings(secure.url(scheme="https"), "cpe", "pw", ca_file=str(pki.ca_file))
    async with HttpAcsTransport(settings) as transport:
        assert (await transport.post(b"<inform/>")).status == 200  # Basic over TLS: fine
        with pytest.raises(TransportError, match="allow_basic_over_http"):
            await transport.post(b"")  # redirected to http:// mid-session
    assert [s.headers.get("Authorization") for s in plain.seen] == []
