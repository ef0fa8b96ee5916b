"""WPS introduction end to end: lab ACS ⇄ proxier ⇄ `proxier lab --dps`, real sockets
(issue 9 "Done when"). The proxier holds no Admin on the lab device (no CA, no login), so
`[dps] introduction` makes it run WSC M1…M8 over SendSetupMessage; the lab device plays
the user through `POST /_lab/<udn>/press` (PBC) or its `--pin`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from proxier.api import Proxier
from proxier.control.client import Endpoint, call
from proxier.lab.dp import DpSettings
from proxier.upnp.tls import ensure_identity
from tests.lab.test_dp import Cp
from tests.virtual.rig import Rig, rig
from tests.virtual.tasks import fault, ok, spv

TZ = "Device.Time.LocalTimeZone"
PIN = "12345670"


@asynccontextmanager
async def wps_rig(
    tmp_path: Path,
    dps: dict[str, Any],
    devices: int = 1,
    walk_time: float = 20.0,
    poll: float = 0.2,
    **lab: Any,
) -> AsyncIterator[Rig]:
    settings = DpSettings(state_dir=tmp_path / "lab", **lab)
    async with rig(tmp_path, devices, dps=settings) as r:
        r.description_urls = [d.secure_location for d in r.lab.devices]
        r.sections = {"dps": dps, "api": {"enable": True, "port": 0}}
        r.proxier = Proxier(r.config())
        r.proxier.introducer.walk_time = walk_time  # 120 s in production
        r.proxier.introducer.poll = poll
        await r.proxier.start()
        yield r


def security(r: Rig, index: int = 0) -> dict[str, Any]:
    """The device's security detail as the local API shows it (state, roles, introduction)."""
    assert r.proxier is not None
    device = sorted(r.proxier.devices(), key=lambda d: d.record.instance)[index]
    return r.proxier.actions.security_detail(device)


async def press(r: Rig, index: int = 0) -> None:
    url = f"{r.lab.base_url}/_lab/{r.lab.devices[index].udn}/press"
    async with aiohttp.ClientSession() as session, session.post(url) as response:
        assert response.status == 200


async def introduce_via_api(r: Rig, dev_id: str, pin: str | None = None) -> int:
    """What `proxier devices introduce ID [--pin PIN]` sends: POST …/introduce {"pin": …}."""
    assert r.proxier is not None
    api = r.proxier.local_api
    point = Endpoint(f"http://127.0.0.1:{api.port}", token=api.token)
    body = {"pin": pin} if pin else {}
    status, _ = await call(point, "POST", f"/api/devices/{dev_id}/introduce", body)
    return status


async def eventually(what: str, predicate: Callable[[], bool], within: float = 20.0) -> None:
    for _ in range(int(within / 0.05)):
        if predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {within} s: {what}")


async def until_waiting(r: Rig, index: int = 0) -> None:
    """Until the proxier says it awaits the button press (its M2D was NACKed)."""
    assert r.proxier is not None
    status = r.proxier.introducer.status
    udn = r.lab.devices[index].udn
    await eventually(
        "awaiting button press", lambda: status.get(udn, "").startswith("awaiting button press")
    )


async def test_issue9_pbc_pressed_within_walk_time_introduced_admin_and_spv_works(
    tmp_path: Path,
) -> None:
    """The device is proxied at once with what it grants (Public) while the run waits for
    the press, and the API says so; the press is evented (SetupReady=1 over GENA): with
    M2D re-checks only every 60 s, the event alone brings the run to Done."""
    async with wps_rig(tmp_path, {"introduction": "pbc"}, walk_time=100.0, poll=60.0) as r:
        dev_id: str = (await r.devices(1))[0]["id"]
        await r.informs(dev_id)
        await until_waiting(r)
        sec = security(r)
        assert sec["state"] == "public", sec
        assert sec["introduction"].startswith("awaiting button press (until "), sec
        await asyncio.sleep(1.0)  # past the initial event of the DP subscription
        await press(r)
        await eventually("Admin after the press", lambda: security(r)["state"] == "admin", 10)
        assert security(r)["introduction"] == "introduced"
        (written,) = await r.session(dev_id, [spv("wps", (TZ, "CET-1", "xsd:string"))])
        ok(written)
        assert r.lab.devices[0].model.value("/BBF/Time/LocalTimeZone") == "CET-1"


async def test_issue9_never_pressed_times_out_no_new_run_until_operator_asks(
    tmp_path: Path,
) -> None:
    async with wps_rig(tmp_path, {"introduction": "pbc"}, walk_time=1.0) as r:
        runs: list[str] = []
        r.lab.devices[0].observers.append(
            lambda short, values: (
                runs.append("run") if short == "DP" and values.get("SetupReady") == "0" else None
            )
        )
        dev_id: str = (await r.devices(1))[0]["id"]
        await r.informs(dev_id)
        failed = "failed: button not pressed within 1 s"
        await eventually("the timeout", lambda: security(r).get("introduction") == failed)
        assert security(r)["state"] == "public"
        await asyncio.sleep(2.0)
        assert len(runs) == 1  # no loop of runs
        (written,) = await r.session(dev_id, [spv("x", (TZ, "CET-1", "xsd:string"))])
        assert fault(written)[0] == 9002  # still no Admin
        # The operator asks again (`proxier devices introduce ID`), and this time presses.
        assert r.proxier is not None
        r.proxier.introducer.walk_time = 20.0
        assert await introduce_via_api(r, dev_id) == 200
        await until_waiting(r)
        await press(r)
        await eventually("introduced", lambda: security(r).get("introduction") == "introduced")
        await eventually("Admin", lambda: security(r)["state"] == "admin")


async def test_issue9_pin_mode_from_dps_pin_entry(tmp_path: Path) -> None:
    dps = {"introduction": "pin", "pin": [{"match": "*", "pin": PIN}]}
    async with wps_rig(tmp_path, dps, pin=PIN) as r:
        dev_id: str = (await r.devices(1))[0]["id"]
        await r.informs(dev_id)
        await eventually("Admin", lambda: security(r)["state"] == "admin")
        assert security(r)["introduction"] == "introduced"
        acl = r.lab.devices[0].protection.acl  # type: ignore[union-attr]
        assert r.proxier is not None
        cp = acl.cps[r.proxier.dp.identity.identity]
        assert cp.introduced and "Admin" in cp.roles


async def test_issue9_wrong_pin_704_nothing_granted(tmp_path: Path) -> None:
    dps = {"introduction": "pin", "pin": [{"match": "*", "pin": "11111115"}]}
    async with wps_rig(tmp_path, dps, pin=PIN) as r:
        dev_id: str = (await r.devices(1))[0]["id"]
        await r.informs(dev_id)
        await eventually("failed", lambda: security(r).get("introduction", "").startswith("failed"))
        sec = security(r)
        assert sec["state"] == "public", sec
        assert sec["introduction"].startswith("failed: device answered 704")
        assert "Config Error 18" in sec["introduction"]
        acl = r.lab.devices[0].protection.acl  # type: ignore[union-attr]
        assert r.proxier is not None
        assert r.proxier.dp.identity.identity not in acl.cps


async def test_issue9_two_devices_in_pbc_at_once_is_overlap_error_12(tmp_path: Path) -> None:
    async with wps_rig(tmp_path, {"introduction": "pbc"}, devices=2, walk_time=3.0) as r:
        found = await r.devices(2, within=30)
        assert len(found) == 2

        def texts() -> list[str]:
            return [security(r, i).get("introduction", "") for i in range(2)]

        # Neither is introduced: the user cannot know which device the proxier would get.
        await eventually(
            "overlap on both",
            lambda: all("PBC overlap" in t and "Configuration Error 12" in t for t in texts()),
        )
        assert all(security(r, i)["state"] == "public" for i in range(2))


async def test_issue9_none_mode_no_run_until_operator_introduces_with_pin(tmp_path: Path) -> None:
    """`introduction = "none"`: nothing runs by itself; `proxier devices introduce ID --pin`
    (local API, PIN in the JSON body) runs one in PIN mode."""
    async with wps_rig(tmp_path, {}, pin=PIN) as r:
        dev_id: str = (await r.devices(1))[0]["id"]
        await r.informs(dev_id)
        assert "introduction" not in security(r) and security(r)["state"] == "public"
        intro = r.lab.devices[0].protection.introduction  # type: ignore[union-attr]
        assert intro is not None and intro.run is None  # no SendSetupMessage at all
        assert await introduce_via_api(r, dev_id, "11111111") == 400  # bad checksum digit
        assert await introduce_via_api(r, dev_id, PIN) == 200
        await eventually("introduced", lambda: security(r).get("introduction") == "introduced")
        assert security(r)["state"] == "admin"


async def test_issue9_another_cps_run_in_progress_gives_708_and_status_says_busy(
    tmp_path: Path,
) -> None:
    settings = DpSettings(state_dir=tmp_path / "lab", pin=PIN)
    async with rig(tmp_path, 1, dps=settings) as r:
        other = Cp(ensure_identity(tmp_path / "other", "other CP"))
        try:
            device = r.lab.devices[0]
            base = device.secure_location.split("/dev/")[0]
            await other.call(  # another control point's run: M1 sent, now in progress
                base,
                device.udn,
                "dp",
                "SendSetupMessage",
                [("ProtocolType", "WPS"), ("InMessage", "")],
            )
            r.description_urls = [device.secure_location]
            r.sections = {"dps": {"introduction": "pin", "pin": [{"pin": PIN}]}}
            await r.start_proxier()
            dev_id: str = (await r.devices(1))[0]["id"]
            await r.informs(dev_id)
            await eventually(
                "failed", lambda: security(r).get("introduction", "").startswith("failed")
            )
            sec = security(r)
            assert sec["introduction"].startswith("failed: 708 Busy"), sec
            assert sec["state"] == "public"
        finally:
            await other.session.close()
