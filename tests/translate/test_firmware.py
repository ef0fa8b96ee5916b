"""TR-330 §4.7 firmware against a lab device over loopback (SOAP + GENA + HTTP image
download): Download → SMS::Update(DUID 0) → TransferComplete (Table 1 row 7, §4.7.1.1-2),
every Table 3 row, OperationIDs lost in a reboot (§4.7.1 exception 2), a proxier restart,
and AutonomousTransferComplete for other control points' updates (Table 1 row 10,
§4.7.1.3)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from proxier.cwmp.rpc import (
    UNKNOWN_TIME,
    AutonomousTransferComplete,
    CwmpFaultError,
    Download,
    TransferComplete,
)
from proxier.cwmp.store import DeviceStore
from proxier.lab.sms import make_image
from proxier.translate.firmware import FIRMWARE_FILE_TYPE, Firmware, is_firmware_update
from proxier.translate.opcommon import MemoryKeyValueStore
from proxier.translate.tables import default_tables
from proxier.upnp.client import NetworkDmDevice
from proxier.upnp.device import DmEvent, DUInfo, OperationInfo

from ..lab.helpers import call
from .labnet import Rig, lab_rig

#: Table 3, SMS::Update() rows, written out from TR-330 independently of mappings/.
TABLE3_UPDATE = [(701, 9001), (702, 9001), (704, 9001), (705, 9001), (710, 9001)]
#: Table 3, GetOperationInfo ErrorDescription rows ("Error Other" spelled as in SMS:2/SMS:1).
TABLE3_OPERATION = [
    ("Error_None", 0),
    ("Error_ConcurrentAccess", 9001),
    ("Error_MissingDependency", 9001),
    ("Error_Network", 9015),
    ("Error_CorruptedFile", 9018),
    ("Error_DiskFull", 9027),
    ("Error_Other", 9001),
    ("Error_other", 9001),
]


@dataclass
class Setup:
    rig: Rig
    fw: Firmware
    done: asyncio.Queue[TransferComplete] = field(default_factory=asyncio.Queue)
    autonomous: asyncio.Queue[AutonomousTransferComplete] = field(default_factory=asyncio.Queue)

    async def transfer_complete(self) -> TransferComplete:
        return await asyncio.wait_for(self.done.get(), 10)

    async def autonomous_complete(self) -> AutonomousTransferComplete:
        return await asyncio.wait_for(self.autonomous.get(), 10)

    def image(self, version: str = "2.0", name: str = "fw.img") -> str:
        return self.rig.lab.host_file(name, make_image("firmware", version))

    def firmware(self, store: Any, **kwargs: Any) -> Firmware:
        fw = Firmware(
            self.rig.device,
            store=store,
            on_transfer_complete=self.done.put_nowait,
            on_autonomous_complete=self.autonomous.put_nowait,
            timeout=5,
            **kwargs,
        )
        self.rig.sinks.append(fw.handle_event)
        return fw


@contextlib.asynccontextmanager
async def setup(
    store: Any = None, fw: dict[str, Any] | None = None, **faults: Any
) -> AsyncIterator[Setup]:
    async with lab_rig(services=("SMS",), **faults) as rig:
        s = Setup(rig, None)  # type: ignore[arg-type]
        s.fw = s.firmware(store if store is not None else MemoryKeyValueStore(), **(fw or {}))
        try:
            yield s
        finally:
            await s.fw.close()


def download(url: str, key: str = "ck-1", file_type: str = FIRMWARE_FILE_TYPE) -> Download:
    return Download(command_key=key, file_type=file_type, url=url)


async def other_cp_update(rig: Rig, url: str, duid: int = 0) -> str:
    """Another UPnP control point asks the device for SMS::Update (real SOAP)."""
    out = await call(
        rig.session,
        rig.lab_device,
        "SMS",
        "Update",
        [("DUID", str(duid)), ("NewDUURI", url), ("HandleDependencies", "0")],
    )
    return out["OperationID"]


def assert_times(tc: TransferComplete | AutonomousTransferComplete) -> None:
    assert tc.start_time != UNKNOWN_TIME and tc.complete_time != UNKNOWN_TIME
    assert tc.start_time <= tc.complete_time


# --- Download (§4.7.1.1, §4.7.1.2) ----------------------------------------------------------


async def test_download_is_sms_update_on_duid_0_then_transfer_complete() -> None:
    """TR-330 §4.7.1.1 steps 1-4 and §4.7.1.2 / Table 1 row 7: Status 1, SMS::Update(DUID 0,
    NewDUURI = URL), the OperationID leaving OperationIDs gives TransferComplete with the
    Download's CommandKey, FaultCode 0 and both times."""
    async with setup() as s:
        url = s.image("2.0")
        response = await s.fw.download(download(url, "upgrade-42"))
        assert response.status == 1
        tc = await s.transfer_complete()
        assert tc.command_key == "upgrade-42"
        assert (tc.fault_struct.fault_code, tc.fault_struct.fault_string) == (0, "")
        assert_times(tc)
        (op,) = s.rig.lab_device.sms.ops.values()
        assert (op.action, op.duid, op.uri) == ("Update", 0, url)
        assert s.rig.lab_device.sms.dus[0].version == "2.0"
        assert s.fw.operations == {}
        assert s.autonomous.empty()


async def test_download_validation_faults() -> None:
    """TR-330 §4.7 / Table 1 row 7: only "1 Firmware Upgrade Image" exists in UPnP DM
    (9003 otherwise); a non-http(s) URL is 9013; a device without SMS answers 9000."""
    async with setup() as s:
        for request, code in [
            (download("http://127.0.0.1/x", file_type="3 Vendor Configuration File"), 9003),
            (download("ftp://127.0.0.1/fw.img"), 9013),
            (download("http:///fw.img"), 9003),
        ]:
            with pytest.raises(CwmpFaultError) as exc:
                await s.fw.download(request)
            assert exc.value.fault.fault_code == code
        bare = NetworkDmDevice(s.rig.device.udn, s.rig.device.cms)
        no_sms = Firmware(
            bare,
            store=MemoryKeyValueStore(),
            on_transfer_complete=print,
            on_autonomous_complete=print,
        )
        with pytest.raises(CwmpFaultError) as exc:
            await no_sms.download(download("http://127.0.0.1/fw.img"))
        assert exc.value.fault.fault_code == 9000
        assert s.rig.lab_device.sms.ops == {}


def test_table3_mapping_file_matches_the_guideline() -> None:
    """Table 3: the mapping file holds exactly the rows written out here from TR-330."""
    table = default_tables().firmware
    assert sorted(table.update_errors.items()) == TABLE3_UPDATE
    assert sorted(table.operation_errors.items()) == sorted(TABLE3_OPERATION)


@pytest.mark.parametrize(("upnp", "cwmp"), TABLE3_UPDATE)
async def test_table3_update_errors(upnp: int, cwmp: int) -> None:
    """Table 3, SMS::Update() rows: the UPnP error becomes the TransferComplete FaultCode
    ("Use 9001 since 9003 is not supported by the RPC")."""
    async with setup(errors={"Update": [upnp, "refused"]}) as s:
        assert (await s.fw.download(download(s.image(), "k"))).status == 1
        tc = await s.transfer_complete()
        assert tc.command_key == "k"
        assert tc.fault_struct.fault_code == cwmp
        assert str(upnp) in tc.fault_struct.fault_string


@pytest.mark.parametrize(("upnp", "cwmp"), sorted(default_tables().firmware.update_errors.items()))
async def test_table3_update_rows_from_the_mapping_file(upnp: int, cwmp: int) -> None:
    """Table 3 as loaded from mappings/table3_firmware.toml, each row end to end."""
    async with setup(errors={"Update": [upnp, ""]}) as s:
        await s.fw.download(download(s.image()))
        assert (await s.transfer_complete()).fault_struct.fault_code == cwmp


async def test_update_error_not_in_table3_is_the_unknown_fault() -> None:
    """Table 3 note (mappings `unknown`): an Update error outside the table → 9001."""
    async with setup(errors={"Update": [606, "Action not authorized"]}) as s:
        await s.fw.download(download(s.image()))
        assert (await s.transfer_complete()).fault_struct.fault_code == 9001


async def test_table3_operation_errors_from_the_lab() -> None:
    """Table 3, GetOperationInfo ErrorDescription rows the lab device produces for real:
    Error_Network (file server unreachable), Error_CorruptedFile, Error_DiskFull, with
    AdditionalInfo as FaultString."""
    async with setup() as s:
        cases = [
            ("http://192.0.2.1/fw.img", {}, 9015),  # the lab only fetches from loopback
            (s.rig.lab.host_file("junk.img", b"not an image"), {}, 9018),
            (s.image(), {"disk_full": True}, 9027),
        ]
        for i, (url, knobs, code) in enumerate(cases):
            s.rig.lab_device.faults.update(knobs)
            await s.fw.download(download(url, f"k{i}"))
            tc = await s.transfer_complete()
            assert (tc.command_key, tc.fault_struct.fault_code) == (f"k{i}", code)
            (op,) = [o for o in s.rig.lab_device.sms.ops.values() if o.op_id == i + 1]
            assert tc.fault_struct.fault_string == op.info != ""
            assert_times(tc)


async def test_concurrent_update_is_error_concurrent_access() -> None:
    """Table 3 Error_ConcurrentAccess → 9001: a second update while one runs."""
    async with setup(operation_delay=0.3) as s:
        url = s.image()
        await s.fw.download(download(url, "first"))
        await s.fw.settled()
        await s.fw.download(download(url, "second"))
        got = {
            tc.command_key: tc for tc in [await s.transfer_complete(), await s.transfer_complete()]
        }
        assert got["second"].fault_struct.fault_code == 9001
        assert got["first"].fault_struct.fault_code == 0


class ScriptedSms:
    """An SMS whose GetOperationInfo answers a given ErrorDescription (for the Table 3 rows
    a lab device cannot produce: MissingDependency, Error_Other, SMS:1 spelling)."""

    def __init__(self, state: str, description: str, info: str) -> None:
        self.answer = OperationInfo(state, "0", "Update", description, info)
        self.updates: list[tuple[int, str, bool]] = []

    async def update(self, du_id: int, new_du_uri: str, handle_dependencies: bool) -> int:
        self.updates.append((du_id, new_du_uri, handle_dependencies))
        return 7

    async def get_operation_ids(self) -> list[int]:
        return []

    async def get_operation_info(self, operation_id: int) -> OperationInfo:
        assert operation_id == 7
        return self.answer

    async def get_du_info(self, du_id: int) -> DUInfo:
        return DUInfo("firmware", "1.0", "Firmware", "Installed", "")


@dataclass
class ScriptedDevice:
    sms: ScriptedSms
    udn: str = "uuid:scripted"
    cms: Any = None
    bms: Any = None

    def events(self) -> AsyncIterator[DmEvent]:
        raise NotImplementedError


@pytest.mark.parametrize(("description", "cwmp"), TABLE3_OPERATION)
async def test_table3_every_error_description(description: str, cwmp: int) -> None:
    """Table 3: every ErrorDescription → FaultCode; AdditionalInfo → FaultString when an
    error occurred, empty FaultString for Error_None (FaultCode 0)."""
    state = "Completed" if cwmp == 0 else "Error"
    sms = ScriptedSms(state, description, "vendor detail")
    done: asyncio.Queue[TransferComplete] = asyncio.Queue()
    fw = Firmware(
        ScriptedDevice(sms),  # type: ignore[arg-type]
        store=MemoryKeyValueStore(),
        on_transfer_complete=done.put_nowait,
        on_autonomous_complete=print,
    )
    try:
        await fw.download(download("https://files.example/fw.img", "sk"))
        tc = await asyncio.wait_for(done.get(), 5)
    finally:
        await fw.close()
    assert sms.updates == [(0, "https://files.example/fw.img", False)]
    assert tc.command_key == "sk"
    assert tc.fault_struct.fault_code == cwmp
    assert tc.fault_struct.fault_string == ("" if cwmp == 0 else "vendor detail")


# --- reboots and restarts (§4.7.1 exception 2) ----------------------------------------------


async def test_operation_lost_in_a_reboot_is_a_fault_at_alive_time() -> None:
    """§4.7.1 exception 2 / §4.7.1.2 CompleteTime: the device rebooted mid-update and forgot
    the OperationID; the version did not change → fault (Table 3 `unknown`), CompleteTime =
    the ssdp:alive time."""
    async with setup(operation_delay=30.0, reboot_delay=0.01) as s:
        await s.fw.download(download(s.image(), "lost"))
        await s.fw.settled()
        assert list(s.fw.operations) == [1]
        await s.rig.lab_device.reboot()
        alive = datetime.now(UTC)
        s.fw.device_alive(alive)
        tc = await s.transfer_complete()
        assert tc.command_key == "lost"
        assert tc.fault_struct.fault_code == 9001
        assert "lost" in tc.fault_struct.fault_string
        assert tc.complete_time == alive


async def test_operation_lost_but_version_changed_is_success() -> None:
    """§4.7.1.2 step 1 note: "might check the version value ... from SMS::GetDUInfo() to
    determine if the update operation succeeded"."""
    async with setup(operation_delay=30.0, reboot_delay=0.01) as s:
        await s.fw.download(download(s.image(), "applied"))
        await s.fw.settled()
        await s.rig.lab_device.reboot()
        s.rig.lab_device.sms.dus[0].version = "2.0"  # the device came back on the new image
        s.fw.device_alive()
        tc = await s.transfer_complete()
        assert (tc.command_key, tc.fault_struct.fault_code) == ("applied", 0)


async def test_restart_keeps_tracking_the_operation(tmp_path: Path) -> None:
    """§4.7.1.1 step 4 (OperationID ↔ CommandKey cached) kept in the device's state store:
    a restarted proxier still reports the TransferComplete with the right CommandKey."""
    store = DeviceStore(tmp_path / "dev.sqlite")
    try:
        async with setup(store=store, operation_delay=0.3) as s:
            await s.fw.download(download(s.image("3.1"), "across-restart"))
            await s.fw.settled()
            await s.fw.close()
            s.rig.sinks.clear()
            again = s.firmware(DeviceStore(tmp_path / "dev.sqlite"), poll_interval=0.2)
            assert list(again.operations) == [1]
            again.device_alive()
            tc = await s.transfer_complete()
            await again.close()
            assert (tc.command_key, tc.fault_struct.fault_code) == ("across-restart", 0)
            assert store.kv_items("tr330.firmware.") == {}
    finally:
        store.close()


async def test_polling_fallback_without_events() -> None:
    """§4.7.1.2 step 1: "(or by polling the SMS::GetOperationIDs() action)"."""
    async with lab_rig(services=()) as rig:
        done: asyncio.Queue[TransferComplete] = asyncio.Queue()
        fw = Firmware(
            rig.device,
            store=MemoryKeyValueStore(),
            on_transfer_complete=done.put_nowait,
            on_autonomous_complete=print,
            poll_interval=0.05,
        )
        url = rig.lab.host_file("fw.img", make_image("firmware", "4.0"))
        await fw.download(download(url, "polled"))
        tc = await asyncio.wait_for(done.get(), 10)
        await fw.close()
        assert (tc.command_key, tc.fault_struct.fault_code) == ("polled", 0)


# --- autonomous updates (§4.7.1.3, Table 1 row 10) ------------------------------------------


async def test_other_control_points_firmware_update_is_autonomous_transfer_complete() -> None:
    """§4.7.1.3 / Table 1 row 10: an Update on DUID 0 by another control point gives
    AutonomousTransferComplete (AnnounceURL "", TransferURL = DUURI, IsDownload 1, FileType
    firmware, FileSize 0, TargetFileName "", FaultStruct per Table 3); a non-firmware
    operation is not reported."""
    async with setup() as s:
        app = s.rig.lab.host_file("app.img", make_image("lab-agent", "1.1"))
        await other_cp_update(s.rig, app, duid=1)
        url = s.image("5.0")
        await other_cp_update(s.rig, url)
        atc = await s.autonomous_complete()
        assert (atc.announce_url, atc.transfer_url) == ("", url)
        assert (atc.is_download, atc.file_type) == (True, FIRMWARE_FILE_TYPE)
        assert (atc.file_size, atc.target_file_name) == (0, "")
        assert atc.fault_struct.fault_code == 0
        assert_times(atc)
        assert s.autonomous.empty() and s.done.empty()


async def test_failed_autonomous_update_carries_the_table3_fault() -> None:
    """§4.7.1.3 step 7: FaultStruct "same as discussed in section 4.7.1.2 (Table 3)"."""
    async with setup() as s:
        await other_cp_update(s.rig, s.rig.lab.host_file("bad.img", b"garbage"))
        atc = await s.autonomous_complete()
        assert atc.fault_struct.fault_code == 9018


def test_firmware_operation_recognition() -> None:
    """§4.7.1.3 step 2: Action "Update" and the first TargetedIDs entry 0."""
    assert is_firmware_update("Update", "0")
    assert is_firmware_update("Update", "0,0")
    assert not is_firmware_update("Update", "1,0")
    assert not is_firmware_update("Install", "0")
    assert not is_firmware_update("Update", "")


async def test_backend_download_goes_through_firmware(tmp_path: Path) -> None:
    """TR-330 §4.7.1.1-2 through `UpnpBackend.download` as the engine calls it: Status 1,
    then the backend's transfer listener gets the TransferComplete ("7 TRANSFER COMPLETE")."""
    from proxier.translate.backend import UpnpBackend
    from proxier.translate.instances import InstanceStore

    from .conftest import PROXIER

    async with lab_rig(services=("SMS",)) as rig:
        store = InstanceStore(tmp_path / "i.sqlite")
        backend = UpnpBackend(rig.device, instance_store=store, proxier_info=PROXIER, timeout=5)
        done: asyncio.Queue[TransferComplete] = asyncio.Queue()
        backend.set_listeners(lambda _c: None, done.put_nowait)
        rig.sinks.append(lambda e: asyncio.ensure_future(backend.handle_event(e)))
        url = rig.lab.host_file("fw.img", make_image("firmware", "7.0"))
        try:
            assert (await backend.download(download(url, "via-backend"))).status == 1
            tc = await asyncio.wait_for(done.get(), 10)
        finally:
            await backend.close()
            store.close()
        assert (tc.command_key, tc.fault_struct.fault_code) == ("via-backend", 0)
        assert rig.lab_device.sms.dus[0].version == "7.0"
