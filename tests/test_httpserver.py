"""Issue 12 item 5: malformed HTTP requests to the proxier's servers (Connection Request,
GENA callback, local API) get a 400 and one bounded, rate-limited log line each, never an
aiohttp ERROR traceback. Real sockets, real servers, the log as captured."""

from __future__ import annotations

import asyncio
import logging
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
import pytest

from proxier.api import Proxier
from proxier.config import from_dict
from proxier.cwmp.connreq import ConnectionRequestServer
from proxier.httpserver import RejectLog
from proxier.upnp.gena import GenaManager

#: A TLS 1.3 ClientHello's first bytes: what a TLS client sends to a plain-HTTP port.
TLS_HELLO = (
    bytes.fromhex("16030100a5010000a10303")
    + bytes(32)
    + b"\x00\x00\x20"
    + b"\x13\x01" * 16
    + b"\x01\x00\x00\x58"
    + bytes(0x58)
)
MALFORMED = {
    "100 KB header": b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n",
    "64 KB URL": b"GET /" + b"a" * 65_536 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "TLS ClientHello": TLS_HELLO,
    "ESC in the request line": b"GET /\x1b[2J HTTP/1.1\r\nHost: x\r\n\r\n",
}


@asynccontextmanager
async def server(kind: str) -> AsyncIterator[int]:
    if kind == "connection request":
        async with ConnectionRequestServer(port=0) as crs:
            yield crs.port
    elif kind == "GENA callback":
        async with aiohttp.ClientSession() as session, GenaManager(session) as gena:
            yield gena.port
    else:
        with tempfile.TemporaryDirectory() as state:
            config = from_dict({"acs": {"url": "http://127.0.0.1:9/"}, "state": {"dir": state}})
            api = Proxier(config).local_api  # the proxier's own API object, served alone
            await api.start(bind="127.0.0.1", port=0, socket_path="", token="t" * 32)
            try:
                yield api.port
            finally:
                await api.stop()


async def send(port: int, data: bytes) -> bytes:
    """Send raw bytes; return what the server answered before closing (b"" if nothing)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(64), 5)
    except ConnectionError:
        return b""
    finally:
        writer.close()


def rejected_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "proxier.httpserver"]


@pytest.mark.parametrize("kind", ["connection request", "GENA callback", "local API"])
async def test_malformed_request_is_one_bounded_line_not_a_traceback(
    kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12 item 5 rule: each malformed request (100 KB header, 64 KB URL, TLS hello on
    a plain port) is answered 400 and logged as one bounded line naming the server and the
    peer; no ERROR record and no traceback anywhere in the log."""
    caplog.set_level(logging.DEBUG)
    async with server(kind) as port:
        for name, data in MALFORMED.items():
            caplog.clear()
            answer = await send(port, data)
            assert answer.startswith(b"HTTP/1.") and b" 400 " in answer[:16], (name, answer)
            for _ in range(100):
                if rejected_lines(caplog):
                    break
                await asyncio.sleep(0.01)
            lines = rejected_lines(caplog)
            assert len(lines) == 1, (name, [r.getMessage() for r in caplog.records])
            text = lines[0].getMessage()
            assert text.startswith(f"{kind}: rejected a malformed request from 127.0.0.1")
            assert len(text) < 300 and "\n" not in text and "\x1b" not in text
            assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
            assert "Traceback" not in caplog.text


async def test_a_flood_of_malformed_requests_is_rate_limited(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 12 item 5 rule: 40 malformed requests in a burst give at most the burst of
    lines (10), every request still answered 400."""
    caplog.set_level(logging.DEBUG)
    async with server("connection request") as port:
        answers = [await send(port, MALFORMED["64 KB URL"]) for _ in range(40)]
        await asyncio.sleep(0.1)
    assert all(b" 400 " in a[:16] for a in answers)
    assert 1 <= len(rejected_lines(caplog)) <= 10
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


def test_rate_limit_refills_and_counts_what_it_held_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The bucket gives `burst` lines at once, then `burst` a minute; the next line says how
    many were not logged (so a flood is visible without filling the log)."""
    from aiohttp.http_exceptions import LineTooLong

    now = [0.0]
    log = RejectLog("test", burst=2, clock=lambda: now[0])
    caplog.set_level(logging.INFO, logger="proxier.httpserver")

    def reject() -> None:
        exc = LineTooLong("a" * 9000, "8190")
        log.exception("Error handling request from %s", "127.0.0.1", exc_info=exc)

    for _ in range(5):
        reject()
    assert len(rejected_lines(caplog)) == 2
    now[0] = 30.0  # one token back (2 a minute)
    reject()
    lines = rejected_lines(caplog)
    assert len(lines) == 3 and lines[-1].getMessage().endswith("(3 more not logged)")
    assert all(len(r.getMessage()) < 300 for r in lines)
