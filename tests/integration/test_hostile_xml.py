"""Issue 12 item 2 over real sockets: an ACS that sends a DTD (hidden in UTF-16/UTF-32) gets
a fault, and the entity it declares never expands (TR-069 §3.7.2: the CPE answers a request
it cannot process with a SOAP Fault; the project rule: no DTD, ever)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from aiohttp import web

from proxier.cwmp import soap
from proxier.cwmp.connreq import ConnectionRequestServer
from proxier.cwmp.rpc import Envelope, Fault, InformResponse
from tests.integration.harness import make_cpe

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
SECRET = "ENTITY-WAS-EXPANDED"


def hostile_envelope(encoding: str) -> bytes:
    """A GetParameterValues whose cwmp:ID is an entity reference declared in a DOCTYPE."""
    text = (
        f'<?xml version="1.0" encoding="{encoding[:6].upper()}"?>'
        f'<!DOCTYPE soap-env:Envelope [<!ENTITY x "{SECRET}">]>'
        f'<soap-env:Envelope xmlns:soap-env="{SOAP_ENV}" xmlns:soap-enc="{SOAP_ENC}"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:cwmp="urn:dslforum-org:cwmp-1-2">'
        '<soap-env:Header><cwmp:ID soap-env:mustUnderstand="1">&x;</cwmp:ID></soap-env:Header>'
        "<soap-env:Body><cwmp:GetParameterValues>"
        '<ParameterNames soap-enc:arrayType="xsd:string[1]">'
        "<string>Device.DeviceInfo.SerialNumber</string></ParameterNames>"
        "</cwmp:GetParameterValues></soap-env:Body></soap-env:Envelope>"
    )
    boms = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff", "utf-32": b""}
    return boms[encoding] + text.encode(encoding)


class HostileAcs:
    """An ACS on loopback: InformResponse, then the hostile request, then 204."""

    def __init__(self, request: bytes) -> None:
        self.request = request
        self.posts: list[bytes] = []
        self.done = asyncio.Event()

    async def handle(self, http: web.Request) -> web.Response:
        body = await http.read()
        self.posts.append(body)
        if len(self.posts) == 1:
            reply = soap.encode(Envelope(InformResponse(1), cwmp_id="1"))
            return web.Response(body=reply, content_type="text/xml")
        if len(self.posts) == 2:
            return web.Response(body=self.request, content_type="text/xml")
        self.done.set()
        return web.Response(status=204)


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32"])
async def test_dtd_is_refused_whatever_the_encoding(tmp_path: Path, encoding: str) -> None:
    """Issue 12 item 2 rule "refuse DTDs from the parser's own view": the CPE answers the
    DOCTYPE'd request with a SOAP Fault 9003 (A.5) and nothing of the entity comes back."""
    acs = HostileAcs(hostile_envelope(encoding))
    server = web.Server(acs.handle)
    runner = web.ServerRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        async with ConnectionRequestServer(port=0) as crs:
            cpe = make_cpe(tmp_path / "cpe", f"http://127.0.0.1:{port}/acs", crs)
            cpe.runner.start(booted=True)
            try:
                await asyncio.wait_for(acs.done.wait(), 20)
            finally:
                await cpe.stop()
    finally:
        await runner.cleanup()
    answer = soap.decode(acs.posts[2], acs=True)
    assert isinstance(answer.body, Fault), answer.body
    assert answer.body.fault_code == 9003
    assert all(SECRET.encode() not in post for post in acs.posts)
    assert all(b"SerialNumber" not in post for post in acs.posts[2:])


@pytest.mark.parametrize("url", ["http://[::1/fw.bin", "http://127.0.0.1:99999/fw.bin"])
async def test_transfer_url_urllib_cannot_split_is_9003_without_a_traceback(
    tmp_path: Path, url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12 (bad input that gets through): a Download whose URL urllib cannot split
    (bad IPv6 brackets, port past 65535) is answered 9003 (A.3.2.8 invalid arguments), not
    9002 with an ERROR traceback in the log."""
    from tests.integration.harness import lab, running_cpe

    async with lab(tmp_path) as (acs, crs), running_cpe(tmp_path, acs, crs) as cpe:
        task = {"name": "Download", "commandKey": "bad", "fileType": "1 Firmware Upgrade Image"}
        queued = await acs.queue_task(cpe.id, {**task, "url": url})
        done = await acs.wait_task(cpe.id, queued["id"], 20.0)
    assert done is not None and done["status"] == "fault", done
    assert done["result"]["faultCode"] == 9003
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
