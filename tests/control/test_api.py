"""Issue 11 "Status, control, local API": `proxier status/inform/devices` against a running
proxier over real sockets (lab devices, lab ACS), as an operator runs them."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path
from typing import Any

import aiohttp

from proxier.api import Proxier
from tests.control.bench import Bench, bench, cli


async def first_session(proxier: Proxier, dev_id: str, within: float = 20.0) -> None:
    for _ in range(int(within / 0.1)):
        if dev_id in proxier.activity.last_session:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{dev_id}: no session within {within} s")


async def http(b: Bench, method: str, path: str, token: str = "", **kw: Any) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    base = b.api_url.removesuffix("/api/")
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, base + path, headers=headers, **kw) as resp,
    ):
        return resp.status, await resp.json(content_type=None)


async def test_status_shows_each_device_and_masks_the_cr_secret(tmp_path: Path) -> None:
    """Issue 11: status per device (identity, online with reason, security state, last
    session, next periodic inform, pending events, CR URL masked unless --show-secrets);
    over TCP only with the state dir's bearer token (0600)."""
    async with bench(tmp_path) as b:
        (dev_id,) = await b.device_ids(1)
        await first_session(b.proxier, dev_id)
        token_file = tmp_path / "state" / "api-token"
        assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600

        rc, out, err = await cli("status", "--api", b.api_url)
        assert rc == 1 and "HTTP 401" in err and "--token-file" in err, err
        assert len(err.strip().splitlines()) == 1, err

        rc, out, err = await cli("status", "--config", str(b.config_file))
        assert rc == 0, err
        secret_url = b.proxier.devices()[0].connection_request_url
        secret = secret_url.rsplit("/", 1)[-1]
        assert dev_id in out
        assert "state          online (first discovery)" in out
        assert "security       plain" in out
        assert "last session" in out and " ok" in out
        assert "next periodic  20" in out  # a date, in ~3600 s
        assert "pending events none" in out
        assert secret not in out and secret_url.rsplit("/", 1)[0] + "/***" in out

        rc, out, _ = await cli("status", "--api", b.api_url, "--token-file", str(token_file))
        assert rc == 0 and dev_id in out and secret not in out
        rc, out, _ = await cli("status", "--config", str(b.config_file), "--show-secrets")
        assert rc == 0 and secret_url in out


async def test_unix_socket_needs_no_token_and_is_owner_only(tmp_path: Path) -> None:
    """Issue 11: API over a unix socket; its file permissions are the auth."""
    sock = tmp_path / "api.sock"
    async with bench(tmp_path, enable=False, socket=str(sock)) as b:
        (dev_id,) = await b.device_ids(1)
        assert b.proxier.local_api.urls == [f"unix:{sock}"]
        assert stat.S_IMODE(os.stat(sock).st_mode) & 0o077 == 0
        rc, out, err = await cli("status", "--api", f"unix:{sock}", "--json")
        assert rc == 0, err
        assert dev_id in out
        rc, out, err = await cli("status", "--config", str(b.config_file))
        assert rc == 0 and dev_id in out, err
    assert not sock.exists()


async def test_inform_starts_a_session_now(tmp_path: Path) -> None:
    """Issue 11: `proxier inform ID [--event CODE]` starts a session now (TR-069 §3.7.1.5
    events); without --event it is the operator's Connection Request."""
    async with bench(tmp_path) as b:
        (dev_id,) = await b.device_ids(1)
        await first_session(b.proxier, dev_id)
        cfg = ("--config", str(b.config_file))
        last = int(b.acs.store.informs(dev_id)[-1]["id"])
        rc, out, err = await cli("inform", dev_id, "--event", "2 PERIODIC", *cfg)
        assert rc == 0, err
        assert f"{dev_id}: session requested (2 PERIODIC)" in out
        (inform,) = await b.acs.wait_informs(dev_id, after=last, count=1, wait=20)
        assert ["2 PERIODIC", ""] in [list(e) for e in inform["events"]]

        last = int(inform["id"])
        await first_session(b.proxier, dev_id)
        for _ in range(100):  # that session must be over before the next request
            if not b.proxier.devices()[0].engine.in_session:  # type: ignore[union-attr]
                break
            await asyncio.sleep(0.05)
        rc, out, err = await cli("inform", "1", "--wait", "20", *cfg)  # by instance number
        assert rc == 0, err
        assert f"{dev_id}: session ok (events 6 CONNECTION REQUEST; 0 RPCs)" in out
        (inform,) = await b.acs.wait_informs(dev_id, after=last, count=1, wait=20)
        assert "6 CONNECTION REQUEST" in [e[0] for e in inform["events"]]

        rc, _, err = await cli("inform", dev_id, "--event", "M Reboot", *cfg)
        assert rc == 1 and "cannot be raised by hand" in err
        rc, _, err = await cli("inform", "NO-SUCH-DEVICE", *cfg)
        assert rc == 1 and "HTTP 404: no virtual device 'NO-SUCH-DEVICE'" in err


async def test_device_actions_contract_and_forget(tmp_path: Path) -> None:
    """Issue 11: `POST /api/devices/{id}/{action}`; Device Protection (issue 8) provides
    approve/deny/trust, WPS (issue 9) introduce, which a plain device refuses with 400 and
    a JSON error; forget drops the device and its state: still there, it comes back
    as a new device with "0 BOOTSTRAP" (TR-069 Table 7)."""
    async with bench(tmp_path) as b:
        (dev_id,) = await b.device_ids(1)
        await first_session(b.proxier, dev_id)
        token = (tmp_path / "state" / "api-token").read_text().strip()
        cfg = ("--config", str(b.config_file))

        rc, out, err = await cli("devices", "approve", dev_id, *cfg)
        assert rc == 0 and f'{dev_id}: approve done {{"privacy": "approved"}}' in out, err
        rc, _, err = await cli("devices", "introduce", dev_id, *cfg)
        assert rc == 1 and "HTTP 400" in err and "not a DeviceProtection device" in err
        status, body = await http(b, "POST", f"/api/devices/{dev_id}/introduce", token)
        assert status == 400 and "not a DeviceProtection device" in body["error"]
        status, body = await http(b, "POST", f"/api/devices/{dev_id}/explode", token)
        assert status == 404 and "approve" in body["actions"]

        state_dir = Path(b.proxier.devices()[0].record.state_dir)
        removed: list[str] = []
        b.proxier.on("device_removed", lambda a: removed.append(a.device))
        bootstraps = len(b.acs.store.informs(dev_id))
        rc, out, err = await cli("devices", "forget", dev_id, *cfg)
        assert rc == 0 and f"{dev_id}: forget done" in out, err
        assert removed == [dev_id] and not await asyncio.to_thread(state_dir.exists)

        inform: dict[str, Any] = {}
        for _ in range(200):
            informs = b.acs.store.informs(dev_id)[bootstraps:]
            if informs:
                inform = informs[0]
                break
            await asyncio.sleep(0.1)
        assert "0 BOOTSTRAP" in [e[0] for e in inform["events"]], inform
        status, devices = await http(b, "GET", "/api/devices", token)
        assert status == 200 and [d["id"] for d in devices] == [dev_id]


async def test_health_is_open_and_the_old_endpoints_stay(tmp_path: Path) -> None:
    """Issue 11: health check without a token; the two endpoints from before keep their
    shapes, with the Connection Request secret masked (docs/api.md migration note)."""
    async with bench(tmp_path) as b:
        (dev_id,) = await b.device_ids(1)
        status, health = await http(b, "GET", "/api/health")
        assert status == 200 and health["status"] == "ok" and health["devices"] == 1
        status, _ = await http(b, "GET", "/api/virtual-devices")
        assert status == 401
        token = (tmp_path / "state" / "api-token").read_text().strip()
        status, rows = await http(b, "GET", "/api/virtual-devices", token)
        assert status == 200 and rows[0]["id"] == dev_id
        assert rows[0]["connection_request_url"].endswith("/***")
        status, params = await http(b, "GET", "/api/parameters?prefix=Device.Man", token)
        assert params["Device.ManagementServer.VirtualDeviceNumberOfEntries"] == "1"
        status, detail = await http(b, "GET", f"/api/devices/{dev_id}", token)
        assert detail["parameters"]["Device.ManagementServer.PeriodicInformInterval"] == "3600"
        status, events = await http(b, "GET", "/api/events?kind=event", token)
        assert "0 BOOTSTRAP" in [e["code"] for e in events]


async def test_console_is_opt_in_and_lab_form_limited(tmp_path: Path) -> None:
    """Issue 11: the console is opt-in (`api.console`), served from package data with no
    third-party origin allowed; the lab ACS form forwards only GPV/SPV/Reboot."""
    async with bench(tmp_path) as b:
        status, _ = await http(b, "GET", "/console/")
        assert status == 404
    async with bench(tmp_path, console=True, lab_acs="http://127.0.0.1:9/") as b:
        (dev_id,) = await b.device_ids(1)
        base = b.api_url.removesuffix("/api/")
        async with aiohttp.ClientSession() as session, session.get(base + "/console/") as resp:
            assert resp.status == 200
            assert "<title>proxier lab console</title>" in await resp.text()
            assert resp.headers["Content-Security-Policy"].startswith("default-src 'self'")
        token = (tmp_path / "state" / "api-token").read_text().strip()
        task = {"name": "FactoryReset"}
        path = f"/api/lab-acs/devices/{dev_id}/tasks"
        status, body = await http(b, "POST", path, token, json=task)
        assert (
            status == 400 and "only GetParameterValues, SetParameterValues, Reboot" in body["error"]
        )
        task = {"name": "Reboot", "commandKey": "x"}
        status, body = await http(b, "POST", path, token, json=task)
        assert status == 502 and "lab ACS at http://127.0.0.1:9/ unreachable" in body["error"]
