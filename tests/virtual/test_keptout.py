"""Issue 12 item 7 meets issue 11: devices kept out by an admission limit are listed beside
the privacy gate's pending ones (`/api/devices`, `proxier status`), and `approve` admits one
past the new-device rate but never past `upnp.max_devices`.

`proxier lab --devices 4` ⇄ proxier (local API over HTTP) ⇄ lab ACS, all real sockets.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Any

import aiohttp

from tests.control.bench import cli
from tests.ports import free_port
from tests.virtual.rig import rig
from tests.virtual.test_admission import lab_process


async def api(base: str, token: str, method: str, path: str) -> tuple[int, Any]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, base + path, headers={"Authorization": f"Bearer {token}"}) as r,
    ):
        return r.status, await r.json(content_type=None)


async def held(base: str, token: str, count: int, within: float = 20.0) -> list[dict[str, Any]]:
    """The rows of /api/devices held back by a limit, once there are `count` of them."""
    rows: list[dict[str, Any]] = []
    for _ in range(int(within / 0.1)):
        status, devices = await api(base, token, "GET", "/api/devices")
        assert status == 200
        rows = [d for d in devices if d.get("held") == "limit"]
        if len(rows) == count:
            return rows
        await asyncio.sleep(0.1)
    raise AssertionError(f"{len(rows)} kept-out rows, not {count}: {rows}")


async def test_kept_out_devices_are_listed_and_approve_admits_past_the_rate_only(
    tmp_path: Path,
) -> None:
    """Issue 12 item 7 ("kept out: the privacy gate's pending list"): with
    upnp.max_new_devices_per_minute = 2 and upnp.max_devices = 3, two of four lab devices
    become virtual devices and two are listed as `held: "limit"` with the key in the reason
    (API and `proxier status`). `approve` admits one (explicit approval passes the rate);
    the other is then over upnp.max_devices, and approve answers 409 naming that key."""
    process, urls = await lab_process(4)
    try:
        async with rig(tmp_path) as r:
            r.description_urls = urls
            r.upnp = {"max_new_devices_per_minute": 2, "max_devices": 3}
            port = free_port()
            r.sections = {"api": {"enable": True, "port": port}}
            await r.start_proxier()
            base = f"http://127.0.0.1:{port}"
            token_file = r.state / "api-token"
            token = token_file.read_text().strip()
            where = ("--api", f"{base}/api/", "--token-file", str(token_file))
            assert len(await r.devices(2)) == 2

            rows = await held(base, token, 2)
            for row in rows:
                assert row["instance"] == 0 and row["id"] == row["udns"][0]
                assert row["device_id"] and row["online"] is False
                assert "upnp.max_new_devices_per_minute (2)" in row["reason"]
            rc, out, err = await cli("status", *where)
            assert rc == 0, err
            assert out.count("state          kept out (more than upnp.max_new_devices") == 2, out

            first, second = (row["id"] for row in rows)
            status, body = await api(base, token, "POST", f"/api/devices/{first}/approve")
            assert status == 200 and body == {
                "device": first,
                "action": "approve",
                "admission": "approved",
            }
            admitted = await r.devices(3)
            assert len(admitted) == 3
            assert rows[0]["device_id"] in {d["id"] for d in admitted}

            (row,) = await held(base, token, 1)
            assert row["id"] == second
            for _ in range(100):  # seen again now the table is full: the reason follows
                (row,) = await held(base, token, 1)
                if "upnp.max_devices (3)" in row["reason"]:
                    break
                await asyncio.sleep(0.1)
            assert "upnp.max_devices (3) reached" in row["reason"]
            status, body = await api(base, token, "POST", f"/api/devices/{second}/approve")
            assert status == 409 and "upnp.max_devices (3) reached" in body["error"], body
            rc, _, err = await cli("devices", "approve", second, *where)
            assert rc == 1 and "HTTP 409" in err and "upnp.max_devices" in err, err
            await asyncio.sleep(0.5)
            assert len(await r.client.devices()) == 3
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 10)
