"""Replay of a real GenieACS 1.2.16 exchange (tests/integration/fixtures/…session.yaml).

A scripted ACS answers with the recorded GenieACS responses — bodies, status codes, its
`session=` cookie, `Connection: close` on the final 204 — and checks that proxier's requests
have the recorded shapes: the same message at each step, the cookie echoed, SOAPAction and
Content-Type only on non-empty POSTs (TR-069 §3.4.1), the ACS's cwmp:ID echoed, the answer in
the ACS's namespace, and the same Inform events. Sessions are triggered as in the recording:
boot, a GenieACS-style digest Connection Request, a periodic Inform (injected clock), and a
second Connection Request.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

from aiohttp import ClientSession, web

from proxier.cwmp.connreq import ConnectionRequestServer
from proxier.cwmp.digest import digest_response, parse_auth_params
from proxier.cwmp.memory import ParamSpec
from proxier.cwmp.soap import decode
from tests.integration.genieacs_trace import Record, read_trace, sessions
from tests.integration.harness import make_cpe
from tests.integration.test_retry import Clock

SOAP_CT = 'text/xml; charset="utf-8"'


def _message(body: str) -> str:
    return "" if not body else type(decode(body.encode(), acs=True).body).__name__


class ScriptedGenieAcs:
    """Plays the ACS side of the recorded sessions, step by step."""

    def __init__(self, recorded: list[list[Record]]) -> None:
        self.steps = [list(zip(s[0::2], s[1::2], strict=True)) for s in recorded]
        self.session = 0
        self.step = 0
        self.problems: list[str] = []
        self.events: list[list[str]] = []
        self.advanced = asyncio.Event()

    def _check(self, where: str, expected: object, got: object) -> None:
        if expected != got:
            self.problems.append(f"{where}: expected {expected!r}, got {got!r}")

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = (await request.read()).decode()
        if self.session >= len(self.steps):
            return web.Response(status=503)  # after the recording: not part of the replay
        recorded_request, recorded_response = self.steps[self.session][self.step]
        where = f"session {self.session + 1} step {self.step + 1}"
        expected_message = _message(recorded_request.body or "")
        self._check(where + " message", expected_message, _message(body))
        self._check(
            where + " cookie", recorded_request.headers.get("cookie"), request.headers.get("Cookie")
        )
        if body:
            self._check(where + " Content-Type", SOAP_CT, request.headers.get("Content-Type"))
            self._check(where + " SOAPAction", "", request.headers.get("SOAPAction"))
            envelope = decode(body.encode(), acs=True)
            if expected_message == "Inform":
                inform = envelope.body
                recorded_inform = decode((recorded_request.body or "").encode(), acs=True).body
                self._check(where + " DeviceId", recorded_inform.device_id, inform.device_id)  # type: ignore[union-attr]
                self.events.append([e.event_code for e in inform.event])  # type: ignore[union-attr]
            else:
                # an answer to the ACS's previous request: same cwmp:ID, ACS's namespace
                previous = self.steps[self.session][self.step - 1][1]
                asked = decode((previous.body or "").encode())
                self._check(where + " cwmp:ID", asked.cwmp_id, envelope.cwmp_id)
                self._check(where + " namespace", asked.version, envelope.version)
        else:
            self._check(
                where + " empty POST headers",
                (None, None),
                (request.headers.get("Content-Type"), request.headers.get("SOAPAction")),
            )
        reply_body = recorded_response.body or ""
        if expected_message == "Inform" and body:
            sent_id = decode(body.encode(), acs=True).cwmp_id or ""
            reply_body = re.sub(
                r"(<cwmp:ID[^>]*>)[^<]*(</cwmp:ID>)", rf"\g<1>{sent_id}\g<2>", reply_body
            )
        headers = {
            k: v
            for k, v in recorded_response.headers.items()
            if k in ("server", "soapserver", "content-type", "set-cookie")
        }
        response = web.Response(
            status=recorded_response.status, body=reply_body.encode() or None, headers=headers
        )
        if recorded_response.headers.get("connection") == "close":
            response.force_close()
        self.step += 1
        if self.step == len(self.steps[self.session]):
            self.session += 1
            self.step = 0
            self.advanced.set()
        return response

    async def wait_session(self, n: int) -> None:
        async with asyncio.timeout(20):
            while self.session < n:
                self.advanced.clear()
                await self.advanced.wait()


async def genieacs_connection_request(url: str, username: str, password: str) -> int:
    """GET the ConnectionRequestURL the way GenieACS does (unquoted algorithm/qop/nc)."""
    path = url[url.index("/", len("http://")) :]
    async with ClientSession() as session:
        async with session.get(url) as challenge:
            assert challenge.status == 401
            params = parse_auth_params(challenge.headers["WWW-Authenticate"].partition(" ")[2])
        cnonce = "3236efd2559cb569"
        response = digest_response(
            algorithm="MD5",
            username=username,
            realm=params["realm"],
            password=password,
            method="GET",
            uri=path,
            nonce=params["nonce"],
            nc="00000001",
            cnonce=cnonce,
            qop="auth",
        )
        header = (
            f'Digest username="{username}",realm="{params["realm"]}",nonce="{params["nonce"]}",'
            f'uri="{path}",algorithm=MD5,qop=auth,nc=00000001,cnonce="{cnonce}",'
            f'response="{response}"'
        )
        async with session.get(url, headers={"Authorization": header}) as answer:
            return answer.status


async def test_replay_genieacs_1_2_16(tmp_path: Path) -> None:
    """Reference §5 (GenieACS 1.2.16): proxier holds a whole recorded GenieACS exchange —
    bootstrap provisioning (GPN root/ManagementServer, GPV, SPV of CR credentials and
    periodic inform), a Connection Request session, a periodic session with an SPV, and a
    Download session — with the recorded message shapes, cookies and 204 ends."""
    recorded = sessions(read_trace())
    assert len(recorded) == 4
    acs = ScriptedGenieAcs(recorded)
    app = web.Application()
    app.router.add_route("POST", "/", acs.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    clock = Clock(1_795_274_180.0)
    first = decode((recorded[0][0].body or "").encode(), acs=True).body
    async with ConnectionRequestServer(port=0, clock=clock) as crs:
        cpe = make_cpe(
            tmp_path / "cpe",
            url,
            crs,
            clock=clock,
            username="",
            password="",
            device=first.device_id,
        )  # type: ignore[union-attr]
        cpe.backend.add_parameter("Device.IP.Interface.1.Name", ParamSpec("lo"))
        cpe.backend.add_parameter(
            "Device.IP.Interface.1.IPv4Address.1.IPAddress", ParamSpec("127.0.0.1")
        )
        try:
            cpe.runner.start(booted=True)
            await acs.wait_session(1)
            # the ACS has set the CR credentials (GenieACS "inform" provision)
            user, password = "DEC0DE-PyCPE-TRANSCRIPT1", "cr75zp3r6vro"
            assert await genieacs_connection_request(cpe.cr_url, user, password) == 200
            await acs.wait_session(2)
            due = cpe.engine.get_timer()
            assert due is not None
            clock.now = due  # the periodic inform falls due (PeriodicInformInterval = 300)
            cpe.runner.wake()
            await acs.wait_session(3)
            assert await genieacs_connection_request(cpe.cr_url, user, password) == 200
            await acs.wait_session(4)
        finally:
            await cpe.stop()
            await runner.cleanup()
    assert acs.problems == []
    assert acs.events == [
        ["0 BOOTSTRAP", "1 BOOT"],
        ["6 CONNECTION REQUEST"],
        ["2 PERIODIC"],
        ["6 CONNECTION REQUEST"],
    ]
