"""Bounded HTTP requests to LAN devices: size, total time, redirects and schemes are capped.

A UPnP device is untrusted: it can send an endless body, drip bytes, loop redirects or point
us elsewhere. Every request the control point makes goes through `bounded_request`, which
stops reading past `max_bytes`, gives up after `time_limit` seconds in total, follows at most
`max_redirects` redirects (GET only, http/https only, same host only) and never retries.
"""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin, urlsplit

import aiohttp

from proxier.redact import redact_url, summarise

DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 1024 * 1024
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_READ_CHUNK = 64 * 1024


PeerCheck = Callable[[bytes | None], None]


class HttpFetchError(Exception):
    """The request failed or was refused by a bound; the message says which, precisely.

    `transient`: the peer may answer later (timeout, connection refused/reset), so the
    caller may try again; a refused certificate or a broken bound is not transient."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True, slots=True)
class HttpResult:
    status: int
    body: bytes
    url: str  # final URL after redirects (base for relative URLs in the body)
    headers: Mapping[str, str] = field(default_factory=dict)  # names lower-cased

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def check_url(url: str) -> None:
    """Only absolute http(s) URLs with a host and a valid port are fetched (urllib raises
    ValueError for "http://[::1/x" or port 99999 only when asked: asked here, once)."""
    try:
        parts = urlsplit(url)
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        ok = False
    if not ok:
        raise HttpFetchError(f"refusing URL {url[:200]!r}: only http(s) URLs with a host")


def host_header(url: str) -> str | None:
    """The Host header for an IPv6 link-local URL, without its `%scope` (devices such as
    GUPnP refuse a Host that carries the scope); None when the default is fine."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if "%" not in host:
        return None
    address = host.split("%", 1)[0]
    return f"[{address}]:{parts.port}" if parts.port else f"[{address}]"


def _peer_certificate(response: aiohttp.ClientResponse) -> bytes | None:
    """The peer's DER certificate, or None (plain HTTP, or the connection is gone).

    aiohttp releases the connection as soon as a small body is complete, so the response's
    protocol (private, but stable across aiohttp 3.x) is the fallback. None fails closed.
    """
    transport = None
    if response.connection is not None:
        transport = response.connection.transport
    else:
        protocol = getattr(response, "_protocol", None)
        transport = getattr(protocol, "transport", None)
    ssl_object = transport.get_extra_info("ssl_object") if transport is not None else None
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return der if isinstance(der, bytes) else None


async def read_up_to(content: aiohttp.StreamReader, max_bytes: int) -> bytes | None:
    """The whole body, read to its end (one `read(n)` returns only what has arrived so far),
    or None as soon as it grows past `max_bytes`. For client responses and server requests."""
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await content.read(_READ_CHUNK)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)


async def _read_bounded(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    declared = response.content_length
    if declared is not None and declared > max_bytes:
        raise HttpFetchError(f"body of {declared} bytes exceeds the limit of {max_bytes}")
    body = await read_up_to(response.content, max_bytes)
    if body is None:
        raise HttpFetchError(f"body exceeds the limit of {max_bytes} bytes (stopped reading)")
    return body


async def bounded_request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
    time_limit: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_redirects: int = 0,
    ssl_context: ssl.SSLContext | None = None,
    peer_check: PeerCheck | None = None,
) -> HttpResult:
    """Do one request within the bounds; any failure is an `HttpFetchError`.

    `peer_check` sees the peer's DER certificate (None on plain HTTP) before the body is
    read, and refuses the peer by raising (DP pinning, `proxier.upnp.tls.pin_check`).
    """
    check_url(url)
    try:
        async with asyncio.timeout(time_limit):
            return await _request(
                session,
                method,
                url,
                headers,
                data,
                time_limit,
                max_bytes,
                max_redirects,
                ssl_context,
                peer_check,
            )
    except TimeoutError:
        raise HttpFetchError(
            f"{method} {url[:200]} took longer than {time_limit:g} s", transient=True
        ) from None
    except (aiohttp.ClientError, OSError, ValueError) as exc:
        raise HttpFetchError(
            f"{method} {redact_url(url)[:200]} failed: {summarise(exc)}",
            transient=_transient(exc),
        ) from None


def _transient(exc: Exception) -> bool:
    """Connection trouble may clear; TLS refusals and malformed answers do not."""
    if isinstance(exc, ssl.SSLError | aiohttp.ClientSSLError | ValueError):
        return False
    return isinstance(exc, aiohttp.ClientConnectionError | OSError)


async def _request(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    headers: Mapping[str, str] | None,
    data: bytes | None,
    time_limit: float,
    max_bytes: int,
    max_redirects: int,
    ssl_context: ssl.SSLContext | None,
    peer_check: PeerCheck | None,
) -> HttpResult:
    host = urlsplit(url).hostname
    for _ in range(max_redirects + 1):
        request_headers = dict(headers or {})
        if (fixed_host := host_header(url)) is not None:
            request_headers["Host"] = fixed_host
        async with session.request(
            method,
            url,
            headers=request_headers,
            data=data,
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=time_limit),
            ssl=ssl_context if ssl_context is not None else True,
        ) as response:
            if response.status in _REDIRECTS and method == "GET":
                location = response.headers.get("Location", "")
                if not location:
                    raise HttpFetchError(f"redirect {response.status} without Location")
                url = urljoin(url, location)
                check_url(url)
                if urlsplit(url).hostname != host:
                    raise HttpFetchError(f"redirect to another host refused: {url[:200]}")
                continue
            if peer_check is not None:
                try:
                    peer_check(_peer_certificate(response))
                except Exception as exc:
                    raise HttpFetchError(f"peer refused: {exc}") from None
            body = await _read_bounded(response, max_bytes)
            lowered = {name.lower(): value for name, value in response.headers.items()}
            return HttpResult(response.status, body, str(response.url), lowered)
    raise HttpFetchError(f"more than {max_redirects} redirects")
