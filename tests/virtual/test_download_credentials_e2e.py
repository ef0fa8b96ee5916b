"""Issue 12 #15: Download Username/Password reach the file server through the device, end to
end: lab ACS ⇄ proxier ⇄ `proxier lab` ⇄ a loopback file server that wants HTTP Basic.

TR-330 §4.7.1.1 passes the Download URL as SMS::Update's NewDUURI and SMS has no other place
for credentials, so they travel as the URI's userinfo (`proxier/upnp/userinfo.py`); a pair
userinfo cannot carry is 9003; the proxier never logs them and strips them from what the
device says back.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from proxier.lab.sms import make_image
from tests.upnp.peer import serve
from tests.virtual.rig import events_of, rig
from tests.virtual.tasks import ok, started

USER = "fw-user"
PASSWORD = "p@ss:w/rd %&+"
IMAGE = make_image("lab-fw", "7.0.0", b"c" * 256)


@asynccontextmanager
async def basic_file_server(seen: list[str]) -> AsyncIterator[str]:
    """A loopback file server answering the image only to USER/PASSWORD (HTTP Basic)."""
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    async def image(request: web.Request) -> web.Response:
        given = request.headers.get("Authorization", "")
        seen.append(given)
        if given != expected:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="fw"'})
        return web.Response(body=IMAGE)

    async with serve({"/fw.bin": image}, method="GET") as base:
        yield base + "/fw.bin"


def download(key: str, url: str, username: str, password: str, delay: int = 0) -> dict[str, Any]:
    return {
        "delaySeconds": delay,
        "name": "Download",
        "commandKey": key,
        "fileType": "1 Firmware Upgrade Image",
        "url": url,
        "username": username,
        "password": password,
        "fileSize": 0,
    }


async def test_rule15_download_credentials_forwarded_in_uri_refused_if_impossible_never_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The device fetches the image with the Download's Username/Password (the file server
    sees exactly those Basic credentials) and the ACS gets TransferComplete FaultCode 0, also
    for a Download queued with DelaySeconds; with
    a wrong password the server's 401 becomes the device's Error_Network → 9015, whose
    FaultString (the device echoes the URI) carries no credentials; a ':' in Username is
    9003 in the session; no proxier log line holds the password, raw or percent-encoded."""
    caplog.set_level(logging.DEBUG)
    seen: list[str] = []
    async with basic_file_server(seen) as url, rig(tmp_path) as r:
        dev_id = await started(r)
        device = r.lab_device(dev_id)
        mark = r.last_inform_id(dev_id)
        ok(await r.rpc(dev_id, download("cred-ok", url, USER, PASSWORD)))
        done = await r.inform_with(dev_id, "7 TRANSFER COMPLETE", after=mark)
        assert ("M Download", "cred-ok") in events_of(done)
        assert (await r.transfer_complete(dev_id, "cred-ok"))["faultStruct"]["faultCode"] == 0
        assert seen and seen[-1].startswith("Basic ")
        assert base64.b64decode(seen[-1][6:]).decode() == f"{USER}:{PASSWORD}"
        assert device.sms.du_info(0).version == "7.0.0"

        ok(await r.rpc(dev_id, download("cred-bad", url, USER, "wrong-secret")))
        failed = (await r.transfer_complete(dev_id, "cred-bad"))["faultStruct"]
        assert failed["faultCode"] == 9015, failed
        assert "401" in failed["faultString"] and "wrong-secret" not in failed["faultString"]
        assert "@" not in failed["faultString"]

        ok(await r.rpc(dev_id, download("cred-queued", url, USER, PASSWORD, delay=1)))
        queued = (await r.transfer_complete(dev_id, "cred-queued"))["faultStruct"]
        assert queued["faultCode"] == 0, "kept with the queued transfer, then forwarded"

        refused = await r.rpc(dev_id, download("cred-colon", url, "a:b", "x"))
        assert refused["status"] == "fault" and refused["result"]["faultCode"] == 9003
    ours = [rec for rec in caplog.records if not rec.name.startswith(("proxier.lab", "tests"))]
    assert ours, "the proxier logged something"
    logged = "\n".join(rec.getMessage() for rec in ours)
    for secret in ("wrong-secret", PASSWORD, "p%40ss", "w%2Frd"):
        assert secret not in logged, f"{secret!r} in the log"
