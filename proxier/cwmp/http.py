"""`HttpAcsTransport`: the aiohttp driver behind `AcsTransport` (TR-069 §3.4).

One instance = one CWMP session. It keeps one TCP connection for the session (connector
limit 1, keep-alive, so a digest challenge is answered on the same connection, §3.4.2),
the session's cookies (`SessionCookieJar`, dropped on close), Basic or Digest credentials
as the ACS chooses (§3.4.4; digest by aiohttp's `DigestAuthMiddleware`), TLS with
certificate verification on (system store or `ca_file`), 301/302/307/308 redirects that
re-send the same POST and last for the rest of the session only (§3.4.2, at most 5 in a
row), a body size ceiling, and timeouts. Failures surface as `TransportError`.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Protocol

import aiohttp
from yarl import URL

from proxier import wiretap
from proxier.cwmp.cookies import SessionCookieJar
from proxier.cwmp.transport import AcsReply, TransportError
from proxier.logsafe import get_logger
from proxier.redact import summarise

log = get_logger(__name__)

#: Redirect codes TR-069 §3.4.2 lets an ACS use (301 MAY, 302/307 MUST; 308 is 301's twin).
REDIRECT_CODES = frozenset({301, 302, 307, 308})

SOAP_CONTENT_TYPE = 'text/xml; charset="utf-8"'


@dataclass(frozen=True, slots=True)
class HttpSettings:
    """How to reach the ACS. Timeouts: §3.4.2 wants ≥30 s before declaring failure."""

    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str | None = None
    connect_timeout: float = 30.0
    response_timeout: float = 60.0
    max_body_bytes: int = 4 * 1024 * 1024
    max_redirects: int = 5
    user_agent: str = "proxier/0.1 (TR-069 CPE Proxier)"
    #: Send the password in Basic to an http:// ACS (`acs.allow_basic_over_http`); off by
    #: default because anyone on the path reads it (TR-069 §3.4.4 expects TLS for Basic).
    allow_basic_over_http: bool = False


class AcsLocation(Protocol):
    """Where the ACS is for the next session (the engine's `AcsSettings` fits)."""

    @property
    def url(self) -> str: ...
    @property
    def username(self) -> str: ...
    @property
    def password(self) -> str: ...


def transport_factory(
    template: HttpSettings | None = None, *, ssl_context: ssl.SSLContext | None = None
) -> Callable[[AcsLocation], HttpAcsTransport]:
    """A `DeviceRunner` transport factory: one fresh `HttpAcsTransport` per session, at the
    ACS URL and credentials current at that moment (the ACS may have changed them), with
    the TLS/timeout/limit settings of `template`. One SSL context is shared by all."""
    base = template or HttpSettings(url="http://invalid/")
    context = ssl_context or make_ssl_context(base.ca_file)

    def make(location: AcsLocation) -> HttpAcsTransport:
        settings = replace(
            base, url=location.url, username=location.username, password=location.password
        )
        return HttpAcsTransport(settings, ssl_context=context)

    return make


def make_ssl_context(ca_file: str | None) -> ssl.SSLContext:
    """Verifying TLS client context: `ca_file` alone when given, else the system store."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class HttpAcsTransport:
    """One CWMP session's HTTP connection to the ACS (implements `AcsTransport`)."""

    def __init__(self, settings: HttpSettings, *, ssl_context: ssl.SSLContext | None = None):
        self.settings = settings
        self._ssl_context = ssl_context
        self._url = URL(settings.url)
        if self._url.scheme not in ("http", "https") or not self._url.host:
            raise ValueError(f"ACS URL must be http(s)://host/…, got {settings.url!r}")
        self.cookies = SessionCookieJar()
        self._session: aiohttp.ClientSession | None = None
        self._digest: dict[str, aiohttp.DigestAuthMiddleware] = {}
        self._basic = False

    @property
    def url(self) -> str:
        """Where the next POST goes (the configured URL, or a redirect target this session)."""
        return str(self._url)

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            context: ssl.SSLContext | bool = self._ssl_context or make_ssl_context(
                self.settings.ca_file
            )
            connector = aiohttp.TCPConnector(limit=1, ssl=context)
            timeout = aiohttp.ClientTimeout(
                total=None,
                connect=self.settings.connect_timeout,
                sock_read=self.settings.response_timeout,
            )
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=timeout,
                cookie_jar=aiohttp.DummyCookieJar(),
                headers={"User-Agent": self.settings.user_agent},
                auto_decompress=True,
            )
        return self._session

    def _middlewares(self, url: URL) -> tuple[aiohttp.DigestAuthMiddleware, ...]:
        if not self.settings.username or self._basic:
            return ()
        origin = str(url.origin())
        middleware = self._digest.get(origin)
        if middleware is None:
            # one per origin: aiohttp pins a middleware to the first origin it sees
            middleware = aiohttp.DigestAuthMiddleware(
                self.settings.username, self.settings.password
            )
            self._digest[origin] = middleware
        return (middleware,)

    async def post(self, body: bytes) -> AcsReply:
        wiretap.soap_out(self.settings.url, body)
        try:
            reply = await self._post(body)
            wiretap.soap_in(self.settings.url, reply.status, reply.body)
            return reply
        except TransportError:
            raise
        except (TimeoutError, aiohttp.ServerTimeoutError):
            raise TransportError("the ACS did not answer in time") from None
        except aiohttp.ClientSSLError as exc:
            raise TransportError(f"TLS failure with the ACS: {exc}") from None
        except aiohttp.ClientError as exc:
            raise TransportError(f"HTTP failure with the ACS: {summarise(exc)}") from None
        except (OSError, ValueError) as exc:
            raise TransportError(f"cannot reach the ACS: {exc}") from None

    async def _post(self, body: bytes) -> AcsReply:
        client = self._client()
        redirects = 0
        tried_basic = False
        while True:
            headers = dict(self.cookies.headers())
            if body:
                # §3.4.1: SOAPAction with no value, text/xml; an empty POST carries neither
                headers["Content-Type"] = SOAP_CONTENT_TYPE
                headers["SOAPAction"] = ""
            if self._basic:
                self._check_basic_allowed()
                token = f"{self.settings.username}:{self.settings.password}".encode()
                headers["Authorization"] = "Basic " + base64.b64encode(token).decode()
            async with client.post(
                self._url,
                data=body if body else None,
                headers=headers,
                allow_redirects=False,
                skip_auto_headers=() if body else ("Content-Type",),
                middlewares=self._middlewares(self._url),
            ) as response:
                payload = await self._read(response)
                self.cookies.update(
                    response.headers.getall("Set-Cookie", []),
                    response.headers.getall("Set-Cookie2", []),
                )
                status = response.status
                content_type = response.headers.get("Content-Type", "")
                location = response.headers.get("Location")
                challenges = response.headers.getall("WWW-Authenticate", [])
            if status in REDIRECT_CODES and location:
                redirects += 1
                if redirects > self.settings.max_redirects:
                    raise TransportError(f"more than {self.settings.max_redirects} redirects")
                target = self._url.join(URL(location))
                if target.scheme not in ("http", "https") or not target.host:
                    raise TransportError("redirect to a non-HTTP location")
                log.info("ACS redirected the session (%d)", status)
                self._url = target  # for the rest of this session only
                continue
            if status == 401:
                wants_basic = any(c.lower().startswith("basic") for c in challenges)
                wants_digest = any(c.lower().startswith("digest") for c in challenges)
                if self.settings.username and wants_basic and not wants_digest and not tried_basic:
                    self._basic = tried_basic = True
                    continue
                raise TransportError("the ACS refused our credentials (HTTP 401)")
            return AcsReply(status=status, body=payload, content_type=content_type)

    def _check_basic_allowed(self) -> None:
        """Refuse to put the password in Basic on plain HTTP (a redirect may lead there too);
        the error names the fix and is the session failure's one log line."""
        if self._url.scheme == "https" or self.settings.allow_basic_over_http:
            return
        message = (
            "the ACS asked for Basic authentication over plain HTTP: password not sent "
            "(use an https:// acs.url, or set acs.allow_basic_over_http = true)"
        )
        raise TransportError(message)

    async def _read(self, response: aiohttp.ClientResponse) -> bytes:
        limit = self.settings.max_body_bytes
        length = response.content_length
        if length is not None and length > limit:
            raise TransportError(f"ACS response of {length} bytes exceeds {limit}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.content.iter_chunked(65536):
            size += len(chunk)
            if size > limit:
                raise TransportError(f"ACS response exceeds {limit} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def close(self) -> None:
        """End the session: close the connection, forget cookies and any redirect."""
        session, self._session = self._session, None
        if session is not None:
            await session.close()
        self.cookies.clear()
        self._digest.clear()
        self._basic = False
        self._url = URL(self.settings.url)

    async def __aenter__(self) -> HttpAcsTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
