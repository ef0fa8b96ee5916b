"""DeviceProtection end to end: lab ACS ⇄ proxier ⇄ `proxier lab --dps`, real sockets (issue 8).

The proxier finds each lab device at its SECURELOCATION URL (an https description URL in
`description_urls`); description, SCPDs and actions go over mutual TLS.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from proxier.dp import certs
from proxier.lab.dp import DpSettings
from proxier.lab.server import default_udn
from proxier.upnp.device import ParameterValue, UpnpError
from proxier.upnp.tls import dp_identity, ensure_identity
from tests.virtual.rig import Rig, rig
from tests.virtual.tasks import add, fault, gpv, ok, spv, values

NAME = "Device.DeviceInfo.X_UPNP-ORG_FriendlyName"
TZ = "Device.Time.LocalTimeZone"


def preloaded(tmp_path: Path, password: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """[dps] with a login as Administrator/`password`, and lab options that preload the
    proxier's (future) generated identity in the device's ACL with Basic."""
    ours = ensure_identity(tmp_path / "state" / "dp" / "identity")
    login = [{"match": "*", "name": "Administrator", "password": password}]
    lab = {"admin_password": "s3cret", "acl_cps": ((dp_identity(ours.leaf_der), "Basic"),)}
    return {"login": login}, lab


@asynccontextmanager
async def dp_rig(tmp_path: Path, dps: dict[str, Any], **lab: Any) -> AsyncIterator[Rig]:
    settings = DpSettings(state_dir=tmp_path / "lab", **lab)
    async with rig(tmp_path, dps=settings) as r:
        r.description_urls = [d.secure_location for d in r.lab.devices]
        r.sections = {"dps": dps}
        yield r


def status_text(port: int) -> str:
    """What `proxier status` prints for the running proxier."""
    import contextlib
    import io

    from proxier.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["status", "--api", f"http://127.0.0.1:{port}"]) == 0
    return out.getvalue()


def security(r: Rig) -> dict[str, Any]:
    """The device's `security_detail` as the local API shows it (state, roles, missing…)."""
    assert r.proxier is not None
    (device,) = r.proxier.devices()
    return r.proxier.actions.security_detail(device)


async def act(r: Rig, action: str, dev_id: str) -> dict[str, Any]:
    """What `proxier devices ACTION ID` runs (POST /api/devices/{id}/{action})."""
    assert r.proxier is not None
    target = r.proxier.target(dev_id)
    assert target is not None, dev_id
    return await r.proxier.actions.run(action, target, {})


async def test_carrier_flow_admin_then_gpv_spv_addobject_reboot_tr330_4_8_1_1(
    tmp_path: Path,
) -> None:
    """TR-330 §4.8.1.1: with a CA-signed proxier certificate, a device that trusts the CA
    grants Admin by itself; GetAssignedRoles confirms it and every RPC works over TLS."""
    made = certs.init(tmp_path / "certs")
    dps = {"certificate": str(made["certificate"]), "key": str(made["key"])}
    async with dp_rig(tmp_path, dps, trust_ca=made["ca"]) as r:
        await r.start_proxier()
        dev_id: str = (await r.devices(1))[0]["id"]
        await r.informs(dev_id)
        sec = security(r)
        assert sec["state"] == "admin" and "Admin" in sec["roles"], sec
        assert sec["device_identity"] == r.lab.devices[0].protection.device_id  # type: ignore[union-attr]
        tasks = await r.session(
            dev_id,
            [
                gpv(TZ),
                spv("carrier", (TZ, "CET-1", "xsd:string")),
                add("Device.NAT.PortMapping."),
                {"name": "Reboot", "commandKey": "dp-reboot"},
            ],
        )
        read, written, added, rebooted = tasks
        assert TZ in values(read)
        ok(written)
        assert r.lab.devices[0].model.value("/BBF/Time/LocalTimeZone") == "CET-1"
        assert ok(added)["instanceNumber"] >= 1
        assert rebooted["status"] == "done", rebooted
        # the protected actions are timed in /metrics like every other UPnP action
        assert r.proxier is not None
        timed = r.proxier.metrics.registry.get_sample_value(
            "proxier_upnp_action_seconds_count", {"action": "SetValues", "result": "ok"}
        )
        assert timed is not None and timed >= 1


async def test_events_from_a_dp_device_known_by_its_secure_url_arrive_issue8(
    tmp_path: Path,
) -> None:
    """Eventing (proxier/dp/manager.py): SUBSCRIBE to the https eventSubURL goes over TLS
    with our certificate; the NOTIFY comes to the plain HTTP callback and is delivered."""
    async with dp_rig(tmp_path, {}) as r:
        proxier = await r.start_proxier()
        dev_id: str = (await r.devices(1))[0]["id"]
        await r.informs(dev_id)
        device = r.lab.devices[0]
        for _ in range(50):
            if device.publishers["CMS"].subscriptions:
                break
            await asyncio.sleep(0.1)
        (sub,) = device.publishers["CMS"].subscriptions.values()
        assert sub.callbacks[0].startswith("http://127.0.0.1:"), "plain HTTP callback"
        dm = proxier.devices()[0].dm
        assert dm is not None
        events = dm.events()
        device.model.device_set({"/UPnP/DM/DeviceInfo/FriendlyName": "renamed"})
        async with asyncio.timeout(10):
            async for event in events:
                if event.service == "CMS" and not event.resync:
                    break
        assert "ConfigurationUpdate" in event.variables


async def test_no_credentials_reads_work_spv_fault_names_role_status_public_issue8(
    tmp_path: Path,
) -> None:
    """Issue 8 'without Admin': reads as far as the ACL allows; SetParameterValues gets the
    Table 2 fault for 606 (9002) with a fault string naming the missing role; status says
    `public` and which step is missing."""
    async with dp_rig(tmp_path, {}) as r:
        r.sections["api"] = {"enable": True, "port": 0, "token": False}  # loopback
        proxier = await r.start_proxier()
        dev_id: str = (await r.devices(1))[0]["id"]
        await r.informs(dev_id)
        sec = security(r)
        assert sec["state"] == "public" and sec["roles"] == ["Public"], sec
        assert "Admin" in sec["missing"] and sec["proxier_identity"] in sec["missing"]
        shown = await asyncio.to_thread(status_text, proxier.local_api.port)
        assert "public" in shown and "missing: role Admin" in shown
        assert f"proxier DP identity: {sec['proxier_identity']}" in shown
        read, written = await r.session(dev_id, [gpv(TZ), spv("x", (TZ, "CET-1", "xsd:string"))])
        assert TZ in values(read)
        code, _ = fault(written)
        assert code == 9002
        assert "requires role Admin" in written["result"]["faultString"]
        assert r.lab.devices[0].model.value("/BBF/Time/LocalTimeZone") != "CET-1"


async def test_retail_login_with_basic_preload_then_rpcs_dp_6_5(tmp_path: Path) -> None:
    """TR-330 §4.8.1.2 / DP §6.5: the proxier is in the device's ACL with Basic (the user's
    admin tool put it there); a [[dps.login]] entry logs in as Administrator (PKCS5) and the
    proxier holds Admin for its TLS session."""
    dps, lab = preloaded(tmp_path, "s3cret")
    async with dp_rig(tmp_path, dps, **lab) as r:
        await r.start_proxier()
        dev_id: str = (await r.devices(1))[0]["id"]
        await r.informs(dev_id)
        sec = security(r)
        assert sec["state"] == "admin" and sec["login"] == "ok as Administrator", sec
        (written,) = await r.session(dev_id, [spv("retail", (TZ, "CET-1", "xsd:string"))])
        ok(written)
        assert r.lab.devices[0].model.value("/BBF/Time/LocalTimeZone") == "CET-1"
        # The device drops the TLS session (the login belonged to it): the proxier logs in
        # again on the new session and the write still works (issue 8: re-login).
        tls = r.lab.devices[0].tls
        assert tls is not None and tls.peers()
        for peer in tls.peers():
            peer.close()
        await asyncio.sleep(0.2)
        (again,) = await r.session(dev_id, [spv("retail-2", (TZ, "CET-2", "xsd:string"))])
        ok(again)
        assert r.lab.devices[0].model.value("/BBF/Time/LocalTimeZone") == "CET-2"


async def test_retail_login_without_preload_clear_status_no_storm_dp_6_4(tmp_path: Path) -> None:
    """DP §6.4: a CP outside the ACL gets no challenge (606). Status says which step is
    missing, and a refused write does not start a login storm (back-off)."""
    login = [{"match": "*", "name": "Administrator", "password": "s3cret"}]
    async with dp_rig(tmp_path, {"login": login}, admin_password="s3cret") as r:
        await r.start_proxier()
        dev_id: str = (await r.devices(1))[0]["id"]
        await r.informs(dev_id)
        sec = security(r)
        assert sec["state"] == "public"
        assert "not in the device's ACL" in sec["login"], sec
        assert "introduce it or add DP identity" in sec["missing"]
        tasks = await r.session(
            dev_id, [spv(f"s{i}", (TZ, f"X{i}", "xsd:string")) for i in range(3)]
        )
        assert all(fault(t)[0] == 9002 for t in tasks)
        assert r.proxier is not None
        link = r.proxier.dp.links[r.lab.devices[0].udn]
        assert link.security.backoff.failures == 1, "one attempt, then back-off"


async def test_wrong_password_701_backs_off_dp_6_5(tmp_path: Path) -> None:
    """DP §6.5: a wrong password is 701; the proxier logs it, shows it and backs off."""
    dps, lab = preloaded(tmp_path, "wrong")
    async with dp_rig(tmp_path, dps, **lab) as r:
        await r.start_proxier()
        dev_id: str = (await r.devices(1))[0]["id"]
        await r.informs(dev_id)
        sec = security(r)
        assert sec["state"] == "public" and "701" in sec["login"], sec
        (written,) = await r.session(dev_id, [spv("w", (TZ, "CET-1", "xsd:string"))])
        assert fault(written)[0] == 9002
        assert r.proxier is not None
        link = r.proxier.dp.links[r.lab.devices[0].udn]
        assert link.security.backoff.failures == 1


async def test_changed_device_certificate_refused_offline_with_reason_dp_6_1(
    tmp_path: Path,
) -> None:
    """Pinning: a device presenting another certificate than the pinned one is refused; the
    virtual device stays offline and status shows why; `trust` accepts the new one."""
    async with dp_rig(tmp_path, {}) as r:
        await r.start_proxier()
        dev_id: str = (await r.devices(1))[0]["id"]
        await r.informs(dev_id)
        await r.stop_proxier()
        udn = r.lab.devices[0].udn
        pins = (tmp_path / "state" / "dp" / "pins.json").read_text()
        assert udn in pins
        # swap the pin for another identity: the device now "presents another certificate"
        other = ensure_identity(tmp_path / "other", "other")
        (tmp_path / "state" / "dp" / "pins.json").write_text(
            json.dumps({udn: dp_identity(other.leaf_der)})
        )
        proxier = await r.start_proxier()
        for _ in range(100):
            sec = security(r)
            if sec.get("error"):
                break
            await asyncio.sleep(0.1)
        assert "device certificate changed" in sec["error"], sec
        assert not proxier.virtual_devices()[0]["online"]
        assert await act(r, "trust", dev_id) == {"trusted": True}
        for _ in range(100):
            if proxier.virtual_devices()[0]["online"]:
                break
            await asyncio.sleep(0.1)
        assert proxier.virtual_devices()[0]["online"]
        assert security(r)["error"] == ""


async def test_proxier_never_sends_a_dp_device_action_over_plain_http_dp_6_1(
    tmp_path: Path,
) -> None:
    """DP §6.1: protected actions are reachable only over HTTPS; the proxier's transport for
    a DP device refuses an http control URL before anything is sent."""
    from proxier.config import DpsConfig
    from proxier.dp.manager import DpManager
    from proxier.upnp.device import UpnpError

    manager = DpManager(DpsConfig(), tmp_path / "state")
    link = manager.link("uuid:x", "https://127.0.0.1:9/d.xml")
    assert link is not None
    try:
        try:
            await link.transport.invoke("http://127.0.0.1:9/ctl", "urn:x:service:y:1", "Reboot")
        except UpnpError as exc:
            assert exc.code == 606 and "plain HTTP" in exc.description
        else:
            raise AssertionError("an http control URL was accepted for a DP device")
    finally:
        await manager.close()


async def test_certificate_change_while_online_takes_device_offline_dp_6_1(
    tmp_path: Path,
) -> None:
    """A device whose certificate changes while it is online (checked on every response)
    goes offline with the reason in status; nothing is sent on; `trust` brings it back."""
    async with dp_rig(tmp_path, {}) as r:
        proxier = await r.start_proxier()
        dev_id: str = (await r.devices(1))[0]["id"]
        await r.informs(dev_id)
        udn = r.lab.devices[0].udn
        other = ensure_identity(tmp_path / "other", "other")
        proxier.dp.pins._pins[udn] = dp_identity(other.leaf_der)  # as if the device changed
        tls = r.lab.devices[0].tls
        assert tls is not None
        for peer in tls.peers():  # the next call makes a new TLS handshake
            peer.close()
        await asyncio.sleep(0.3)  # the client sees the close and drops the kept-alive socket
        dm = proxier.devices()[0].dm
        assert dm is not None
        with pytest.raises(UpnpError) as err:
            await dm.cms.set_values([ParameterValue("/BBF/Time/LocalTimeZone", "EVIL")])
        assert err.value.code == 0 and "certificate changed" in err.value.description
        # refused inside the handshake: the request never reached the device
        assert r.lab.devices[0].model.value("/BBF/Time/LocalTimeZone") != "EVIL"
        for _ in range(50):
            if not proxier.virtual_devices()[0]["online"]:
                break
            await asyncio.sleep(0.1)
        row = proxier.virtual_devices()[0]
        assert not row["online"] and "device certificate changed" in security(r)["error"]
        assert await act(r, "trust", dev_id) == {"trusted": True}
        for _ in range(100):
            if proxier.virtual_devices()[0]["online"]:
                break
            await asyncio.sleep(0.1)
        assert proxier.virtual_devices()[0]["online"]


async def test_device_ca_mode_verifies_chains_instead_of_pinning_dp_6_1(tmp_path: Path) -> None:
    """`[dps] device_ca`: a device whose certificate that CA signed is accepted (no pin is
    stored); a self-signed one is refused at the handshake and never proxied."""
    from proxier.cli import main

    assert main(["certs", "init", str(tmp_path / "certs"), "--lab-devices", "1"]) == 0
    ca = tmp_path / "certs" / "ca.pem"
    proxier_id = tmp_path / "certs" / "proxier"
    dps = {
        "certificate": str(proxier_id / "chain.pem"),
        "key": str(proxier_id / "key.pem"),
        "device_ca": str(ca),
    }
    settings = DpSettings(state_dir=tmp_path / "certs" / "lab", trust_ca=ca)
    async with rig(tmp_path, dps=settings) as r:
        r.description_urls = [d.secure_location for d in r.lab.devices]
        r.sections = {"dps": dps}
        await r.start_proxier()
        dev_id: str = (await r.devices(1))[0]["id"]
        await r.informs(dev_id)
        assert security(r)["state"] == "admin"
        assert not (tmp_path / "state" / "dp" / "pins.json").exists(), "verified, not pinned"
    async with dp_rig(tmp_path / "selfsigned", dps) as r:  # the lab's own self-signed ids
        proxier = await r.start_proxier()
        for _ in range(100):
            rows = proxier.virtual_devices()
            udn = r.lab.devices[0].udn
            sec = proxier.dp.status([udn])
            if sec.get("error"):
                break
            await asyncio.sleep(0.1)
        assert "refused" in str(sec.get("error")), sec
        assert rows == [] and await r.client.devices() == []


async def test_expired_device_certificate_refused_nothing_proxied_dp_6_1(tmp_path: Path) -> None:
    """A device presenting an expired certificate is refused at the handshake (pinning mode
    checks validity itself) and never reaches the ACS; status says why."""
    import datetime

    ca, ca_key = certs.make_ca(tmp_path / "ca")
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
    udn = default_udn("proxier-lab", 0)
    folder = tmp_path / "lab" / udn.removeprefix("uuid:") / "identity"
    certs.issue(ca, ca_key, folder, "expired device", server=True, days=1, not_before=old)
    async with dp_rig(tmp_path, {}) as r:
        proxier = await r.start_proxier()
        for _ in range(100):
            sec = proxier.dp.status([udn])
            if sec.get("error"):
                break
            await asyncio.sleep(0.1)
        assert "expired" in str(sec.get("error")), sec
        assert proxier.virtual_devices() == [] and await r.client.devices() == []
