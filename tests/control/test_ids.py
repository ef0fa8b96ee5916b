"""Device ids (docs/api.md "Device ids", proxier/control/ids.py): the local API and the CLI
take a virtual device by its raw DeviceId, by the id the ACS shows (GenieACS escaping,
TR-069 §3.4.4 style %XX), or by its VirtualDevice instance number. The TR-064 lab device's
ProductClass (`FRITZ!Box 7590 (lab)`) is where the two forms differ."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

from proxier.config import Config, Tr064Login
from proxier.control.ids import resolve
from proxier.cwmp.deviceid import acs_device_id
from proxier.lab.tr064.server import Tr064LabServer
from proxier.virtual.registry import DeviceKey
from tests.control.bench import cli
from tests.ports import free_port
from tests.virtual.rig import Rig, rig

PASSWORD = "lab-secret"


class _Tr064Rig(Rig):
    def config(self) -> Config:
        login = Tr064Login(match="*", user="admin", password=PASSWORD)
        return dataclasses.replace(super().config(), tr064_logins=(login,))


def test_acs_form_escapes_all_but_alphanumerics_and_underscore_genieacs() -> None:
    """GenieACS's id: every character but [A-Za-z0-9_] of each part as UTF-8 %XX (upper
    case); no ProductClass → OUI-SerialNumber."""
    assert acs_device_id("00040E", "FRITZ!Box 7590 (lab)", "AABB") == (
        "00040E-FRITZ%21Box%207590%20%28lab%29-AABB"
    )
    assert acs_device_id("012345", "Set-Top_Box", "S/N é") == "012345-Set%2DTop_Box-S%2FN%20%C3%A9"
    assert acs_device_id("012345", "", "0123") == "012345-0123"


async def get(port: int, token: str, path: str) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}{path}", headers=headers) as r,
    ):
        return r.status, await r.json()


async def test_api_and_cli_take_the_raw_the_acs_and_the_instance_id_docs_api_md(
    tmp_path: Path,
) -> None:
    """docs/api.md "Device ids": `GET /api/devices/{id}`, `?device=` filters and `proxier
    devices`/`proxier inform` find the TR-064 device by its raw DeviceId, by the lab ACS's
    escaped id (before: 404) in either hex case, and by its instance number; the answers
    name it by the raw DeviceId; an unknown id is still 404."""
    async with rig(tmp_path, devices=0) as base, Tr064LabServer(1, password=PASSWORD) as tr064:
        r = _Tr064Rig(base.acs, base.lab, base.state)
        r.description_urls = list(tr064.description_urls)
        port = free_port()
        r.sections = {"api": {"enable": True, "port": port}}
        try:
            proxier = await r.start_proxier()
            (dev,) = await r.devices(1)
            await r.inform_with(dev["id"], "0 BOOTSTRAP")
            (virtual,) = proxier.devices()
            raw, escaped = virtual.id, dev["id"]
            assert "FRITZ!Box 7590 (lab)" in raw and "FRITZ%21Box%207590%20%28lab%29" in escaped
            token = (r.state / "api-token").read_text().strip()
            for wanted in (raw, escaped, str(virtual.record.instance)):
                status, body = await get(port, token, f"/api/devices/{quote(wanted, safe='')}")
                assert (status, body.get("id")) == (200, raw), (wanted, status, body)
            status, body = await get(port, token, f"/api/devices/{quote(escaped[:-1], safe='')}")
            assert status == 404 and "no virtual device" in body["error"]

            where = (
                "--api",
                f"http://127.0.0.1:{port}/api/",
                "--token-file",
                str(r.state / "api-token"),
            )
            mark = r.last_inform_id(escaped)
            rc, out, err = await cli("inform", escaped, "--wait", "20", *where)
            assert rc == 0, (out, err)
            assert f"{raw}: session requested (6 CONNECTION REQUEST)" in out
            assert f"{raw}: session ok" in out
            await r.inform_with(escaped, "6 CONNECTION REQUEST", after=mark)
            for wanted in (raw, escaped):
                status, sessions = await get(
                    port, token, f"/api/sessions?device={quote(wanted, safe='')}"
                )
                assert status == 200 and sessions and {s["device"] for s in sessions} == {raw}
            rc, out, err = await cli("devices", "trust", escaped, *where)
            assert rc == 0 and f'{raw}: trust done {{"trusted": true}}' in out, (out, err)
        finally:
            await r.stop_proxier()
            await r.client.close()


def test_hex_case_of_the_acs_form_does_not_matter_docs_api_md() -> None:
    """docs/api.md: `%XX` hex digits in either case name the same device (tools an operator
    pipes ids through may normalise them either way); a near miss names none."""

    class _Record:
        key = DeviceKey("012345", "Set-Top Box", "S/N-1")
        instance = 7

    class _Device:
        record = _Record()
        id = "012345-Set-Top Box-S/N-1"

    device: Any = _Device()
    upper = "012345-Set%2DTop%20Box-S%2FN%2D1"
    assert resolve([device], upper) is device
    assert resolve([device], upper.replace("%2D", "%2d").replace("%2F", "%2f")) is device
    assert resolve([device], "7") is device
    assert resolve([device], "012345-Set%2DTop%20Box-S%2FN") is None
