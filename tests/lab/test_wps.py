"""WPS introduction between proxier's control point (`proxier.dp.wps.introduce`) and the
lab device's SendSetupMessage Enrollee, over real mutual TLS (issue 9; dp-wps.md §1, §6).
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import aiohttp
import pytest

from proxier.dp.wps import Result, introduce
from proxier.lab.dp import DpSettings
from proxier.lab.server import LabServer
from proxier.upnp.device import UpnpError
from proxier.upnp.tls import ensure_identity
from proxier.wsc.pbc import PbcSessions
from tests.lab.test_dp import Cp

PIN = "12345670"


@pytest.fixture
async def cp(tmp_path: Path) -> AsyncIterator[Cp]:
    c = Cp(ensure_identity(tmp_path / "cp", "test CP"))
    yield c
    await c.session.close()


async def _lab(tmp_path: Path, devices: int = 1, **kw: object) -> LabServer:
    settings = DpSettings(state_dir=tmp_path / "lab", **kw)  # type: ignore[arg-type]
    lab = LabServer(devices, dps=settings)
    await lab.start()
    return lab


def _secure_base(lab: LabServer, index: int = 0) -> str:
    return lab.devices[index].secure_location.split("/dev/")[0]


def _sender(cp: Cp, lab: LabServer, index: int = 0):  # type: ignore[no-untyped-def]
    udn = lab.devices[index].udn

    async def send(message: bytes) -> bytes:
        out = await cp.call(
            _secure_base(lab, index),
            udn,
            "dp",
            "SendSetupMessage",
            [("ProtocolType", "WPS"), ("InMessage", base64.b64encode(message).decode())],
        )
        return base64.b64decode(out["OutMessage"])

    return send


async def _run(cp: Cp, lab: LabServer, index: int = 0, **kw: object) -> Result:
    device = lab.devices[index]
    assert device.protection is not None
    return await introduce(
        _sender(cp, lab, index),
        cp_identity=cp.identity,
        device_identity=device.protection.device_id,
        **kw,  # type: ignore[arg-type]
    )


async def _roles(cp: Cp, lab: LabServer, index: int = 0) -> str:
    base = _secure_base(lab, index)
    got = await cp.call(base, lab.devices[index].udn, "dp", "GetAssignedRoles")
    return got["RoleList"]


async def test_issue9_pin_mode_introduces_the_cp_with_admin_and_introduced_1(
    tmp_path: Path, cp: Cp
) -> None:
    lab = await _lab(tmp_path, pin=PIN)
    try:
        assert await _roles(cp, lab) == "Public"
        result = await _run(cp, lab, pin=PIN)
        assert result == Result(True, "introduced")
        assert await _roles(cp, lab) == "Public Admin"
        acl = (await cp.call(_secure_base(lab), lab.devices[0].udn, "dp", "GetACLData"))["ACL"]
        assert 'introduced="1"' in acl and cp.identity in acl
    finally:
        await lab.stop()


async def test_issue9_wrong_pin_ends_in_704_and_grants_nothing(tmp_path: Path, cp: Cp) -> None:
    lab = await _lab(tmp_path, pin=PIN)
    try:
        result = await _run(cp, lab, pin="11111115")
        assert not result.ok
        assert result.status.startswith("failed: device answered 704")
        assert "Config Error 18" in result.status
        assert await _roles(cp, lab) == "Public"
    finally:
        await lab.stop()


async def test_issue9_pbc_press_within_walk_time_introduces_and_setup_ready_is_evented(
    tmp_path: Path, cp: Cp
) -> None:
    lab = await _lab(tmp_path)
    try:
        events: list[tuple[str, Mapping[str, str]]] = []
        lab.devices[0].observers.append(lambda short, values: events.append((short, values)))
        statuses: list[str] = []
        waiting = asyncio.Event()

        def on_status(text: str) -> None:
            statuses.append(text)
            waiting.set()

        run = asyncio.create_task(_run(cp, lab, on_status=on_status, walk_time=20.0, poll=0.2))
        await asyncio.wait_for(waiting.wait(), 10)
        assert statuses[0].startswith("awaiting button press (until ")
        assert ("DP", {"SetupReady": "0"}) in events  # a run is in progress
        async with aiohttp.ClientSession() as session:
            url = f"{lab.base_url}/_lab/{lab.devices[0].udn}/press"
            async with session.post(url) as response:
                assert response.status == 200
                assert (await response.json())["valid_for"] == 120.0
        assert ("DP", {"SetupReady": "1"}) in events  # the press, the CP's cue
        assert (await asyncio.wait_for(run, 20)).ok
        assert await _roles(cp, lab) == "Public Admin"
    finally:
        await lab.stop()


async def test_issue9_pbc_never_pressed_times_out_and_frees_the_device(
    tmp_path: Path, cp: Cp
) -> None:
    lab = await _lab(tmp_path)
    try:
        result = await _run(cp, lab, walk_time=0.6, poll=0.2)
        assert result.status == "failed: button not pressed within 1 s"
        intro = lab.devices[0].protection.introduction  # type: ignore[union-attr]
        assert intro is not None and intro.run is None and intro.setup_ready
        assert await _roles(cp, lab) == "Public"
    finally:
        await lab.stop()


async def test_issue9_two_devices_in_pbc_within_walk_time_is_overlap_error_12(
    tmp_path: Path, cp: Cp
) -> None:
    lab = await _lab(tmp_path, devices=2)
    try:
        sessions = PbcSessions()
        first = asyncio.create_task(_run(cp, lab, 0, sessions=sessions, walk_time=5.0, poll=0.2))
        await asyncio.sleep(0.5)
        second = await _run(cp, lab, 1, sessions=sessions, walk_time=5.0, poll=0.2)
        assert second.config_error == 12 and "PBC overlap" in second.status
        # the waiting run sees the overlap at its next check and gives up too
        assert (await asyncio.wait_for(first, 5)).config_error == 12
    finally:
        await lab.stop()


async def test_issue9_a_second_cp_during_a_run_gets_708(tmp_path: Path, cp: Cp) -> None:
    lab = await _lab(tmp_path, pin=PIN)
    other = Cp(ensure_identity(tmp_path / "cp2", "other CP"))
    try:
        assert await _sender(cp, lab)(b"")  # cp's run: M1
        with pytest.raises(UpnpError) as err:
            await _sender(other, lab)(b"")
        assert err.value.code == 708
        result = await _run(other, lab, pin=PIN)
        assert result.status.startswith("failed: 708 Busy")
    finally:
        await other.session.close()
        await lab.stop()


async def test_issue9_message_without_a_run_or_garbage_is_704(tmp_path: Path, cp: Cp) -> None:
    lab = await _lab(tmp_path, pin=PIN)
    try:
        send = _sender(cp, lab)
        with pytest.raises(UpnpError) as err:
            await send(b"\x10\x4a\x00\x01\x10")
        assert err.value.code == 704
        assert await send(b"")
        with pytest.raises(UpnpError) as err:
            await send(b"garbage")
        assert err.value.code == 704
        with pytest.raises(UpnpError) as err:
            await cp.call(
                _secure_base(lab),
                lab.devices[0].udn,
                "dp",
                "SendSetupMessage",
                [("ProtocolType", "NFC"), ("InMessage", "")],
            )
        assert err.value.code == 600
    finally:
        await lab.stop()


async def test_issue9_uuids_are_checked_against_the_tls_identities(tmp_path: Path, cp: Cp) -> None:
    """UUID-R must be the CP's TLS identity (the device refuses with 704, nothing granted);
    UUID-E must be the device's (the CP stops at M1)."""
    lab = await _lab(tmp_path, pin=PIN)
    try:
        device = lab.devices[0]
        assert device.protection is not None
        forged = await introduce(
            _sender(cp, lab),
            cp_identity="00000000-0000-5000-8000-000000000000",
            device_identity=device.protection.device_id,
            pin=PIN,
        )
        assert forged.status.startswith("failed: device answered 704")
        assert "UUID-R" in forged.status
        wrong_device = await introduce(
            _sender(cp, lab),
            cp_identity=cp.identity,
            device_identity="00000000-0000-5000-8000-000000000000",
            pin=PIN,
        )
        assert wrong_device.status == "failed: UUID-E is not the TLS peer's identity"
        assert await _roles(cp, lab) == "Public"
    finally:
        await lab.stop()


def test_issue9_lab_pin_and_intro_roles_flags() -> None:
    import argparse

    from proxier.lab.cli import configure, dp_settings

    parser = argparse.ArgumentParser()
    configure(parser)
    settings = dp_settings(parser.parse_args(["--dps", "--pin", PIN, "--intro-roles", "Basic"]))
    assert settings is not None
    assert settings.pin == PIN and settings.intro_roles == ("Basic",)
    default = dp_settings(parser.parse_args(["--dps"]))
    assert default is not None and default.pin is None and default.intro_roles == ("Admin",)
    with pytest.raises(ValueError, match="--pin"):
        dp_settings(parser.parse_args(["--dps", "--pin", "12345678"]))


async def test_issue9_a_stalled_run_times_out_setup_ready_back_and_others_may_start(
    tmp_path: Path, cp: Cp
) -> None:
    lab = await _lab(tmp_path, pin=PIN)
    other = Cp(ensure_identity(tmp_path / "cp2", "other CP"))
    try:
        device = lab.devices[0]
        intro = device.protection.introduction  # type: ignore[union-attr]
        assert intro is not None
        intro.run_timeout = 0.5  # 120 s on a real device
        ready = asyncio.Event()
        device.observers.append(
            lambda short, values: ready.set() if values.get("SetupReady") == "1" else None
        )
        assert await _sender(cp, lab)(b"")  # a run starts (SetupReady=0), then nothing
        await asyncio.wait_for(ready.wait(), 5)  # the timeout events SetupReady=1
        assert intro.run is None
        assert await _sender(other, lab)(b"")  # no 708 for the next control point
    finally:
        await other.session.close()
        await lab.stop()
