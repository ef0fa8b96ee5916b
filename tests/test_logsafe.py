"""Issue 12 item 4: strings from peers never reach the log raw (no forged lines, no terminal
escape sequences); checked on the helper, on real log output, and end to end over sockets."""

from __future__ import annotations

import asyncio
import io
import logging
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from proxier import logsafe
from proxier.cwmp import soap
from proxier.cwmp.connreq import ConnectionRequestServer
from proxier.cwmp.rpc import Envelope, Fault
from proxier.upnp.description import describe
from tests.integration.harness import make_cpe

FORGED = "\nERROR proxier: forged line"
ESC = "\x1b[2J\x1b]0;owned\x07"
CSI = "\x9b31m"  # the one-byte C1 form of ESC [, allowed in XML 1.0


def assert_clean(text: str) -> None:
    assert "\n" not in text and "\x1b" not in text and "\x9b" not in text and "\r" not in text


@pytest.mark.parametrize(
    "value", [ESC, FORGED, CSI, "a\u2028b", "\u202eevil", "x\r\nERROR y", "\x00\x7f"]
)
def test_peer_strings_are_escaped_to_one_printable_line(value: str) -> None:
    """Issue 12 item 4 rule: the helper escapes C0/C1 controls, DEL, line separators and
    bidi overrides, and bounds the length."""
    out = logsafe.escape(value)
    assert_clean(out)
    assert "\u2028" not in out and "\u202e" not in out
    assert logsafe.escape("x" * 5000).endswith("…[4488 more]")
    assert logsafe.escape("plain uuid:1234 http://h/d.xml") == "plain uuid:1234 http://h/d.xml"


def test_real_log_output_of_a_third_party_logger_is_escaped() -> None:
    """Issue 12 item 4: `install` (what `proxier run` does after basicConfig) escapes records
    of loggers that are not ours (aiohttp, async-upnp-client) in the real output stream."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("test.thirdparty.logsafe")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        logsafe.install(logger)
        logger.warning("peer said %s and %r", ESC + FORGED, {"k": CSI})
    finally:
        logger.removeHandler(handler)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("WARNING test.thirdparty.logsafe: peer said")
    assert_clean(stream.getvalue().rstrip("\n"))
    assert "\\x1b[2J" in lines[0] and "\\nERROR proxier: forged line" in lines[0]


async def test_description_strings_from_a_lan_device_are_logged_escaped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 12 item 4 over a socket: a description whose embedded device UDN carries a C1
    escape and a forged "ERROR" line is skipped; the log line shows them escaped."""
    evil_udn = f"uuid:evil{CSI}{FORGED}"
    description = (
        '<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0">'
        "<specVersion><major>1</major><minor>0</minor></specVersion><device>"
        "<deviceType>urn:schemas-upnp-org:device:ManageableDevice:2</deviceType>"
        "<friendlyName>ok</friendlyName><UDN>uuid:root-1</UDN><deviceList><device>"
        f"<deviceType>not-a-urn{CSI}</deviceType><friendlyName>{FORGED}</friendlyName>"
        f"<UDN>{evil_udn}</UDN></device></deviceList></device></root>"
    ).encode()

    async def serve(request: web.Request) -> web.Response:
        return web.Response(body=description, content_type="text/xml")

    app = web.Application()
    app.router.add_get("/d.xml", serve)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/d.xml"
    caplog.set_level(logging.DEBUG, logger="proxier")
    try:
        async with aiohttp.ClientSession() as session:
            result = await describe(session, url)
    finally:
        await runner.cleanup()
    assert any(udn == evil_udn for udn, _ in result.skipped)
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("proxier")]
    skipped = [m for m in messages if "skipping device uuid:evil" in m]
    assert skipped and "\\x9b31m\\nERROR proxier: forged line" in skipped[0]
    for message in messages:
        assert_clean(message)


async def test_acs_fault_string_is_logged_escaped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12 item 4 over a socket: an ACS answering the Inform with a Fault whose
    FaultString holds a forged log line and a C1 escape fails the session; the warning
    names the fault with both escaped."""
    fault = soap.encode(Envelope(Fault(8002, f"busy{CSI}{FORGED}"), cwmp_id="1"))
    answered = asyncio.Event()

    async def acs(request: web.Request) -> web.Response:
        await request.read()
        answered.set()
        return web.Response(body=fault, content_type="text/xml")

    server = web.Server(acs)
    runner = web.ServerRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    caplog.set_level(logging.DEBUG, logger="proxier")
    try:
        async with ConnectionRequestServer(port=0) as crs:
            cpe = make_cpe(tmp_path / "cpe", f"http://127.0.0.1:{runner.addresses[0][1]}/", crs)
            cpe.runner.start(booted=True)
            try:
                await cpe.wait_sessions(1)
            finally:
                await cpe.stop()
    finally:
        await runner.cleanup()
    assert answered.is_set()
    messages = [r.getMessage() for r in caplog.records if r.name.startswith("proxier")]
    failed = [m for m in messages if "session failed" in m]
    assert failed and "busy\\x9b31m\\nERROR proxier: forged line" in failed[0], messages
    for message in messages:
        assert_clean(message)


def test_exception_messages_in_tracebacks_are_escaped(caplog: pytest.LogCaptureFixture) -> None:
    """Issue 12 item 4: a peer's string inside an exception message (the last line of a
    traceback) cannot start a forged line either; the frames stay as they are."""
    logger = logsafe.get_logger("proxier.test.logsafe")
    caplog.set_level(logging.ERROR, logger="proxier.test.logsafe")
    try:
        try:
            raise KeyError(ESC)
        except KeyError as inner:
            raise ValueError(f"bad value{FORGED}") from inner
    except ValueError:
        logger.exception("handler failed")
    (record,) = [r for r in caplog.records if r.name == "proxier.test.logsafe"]
    text = record.exc_text or ""
    assert "Traceback (most recent call last):" in text and "raise ValueError" in text
    assert text.rstrip().endswith("ValueError: bad value\\nERROR proxier: forged line")
    assert "direct cause" in text and "\x1b" not in text
    assert not any(line.startswith("ERROR proxier") for line in caplog.text.splitlines())
