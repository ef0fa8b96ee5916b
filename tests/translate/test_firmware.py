"""Firmware Download → SMS::Update → TransferComplete (TR-330 §4.7.1, Table 3), against the
lab device's SMS core."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import cast

import pytest

from proxier.cwmp.rpc import CwmpFaultError, Download, TransferComplete
from proxier.lab.sms import SmsCore, make_image
from proxier.translate.backend import UpnpBackend
from proxier.translate.instances import InstanceStore
from proxier.upnp.device import DmEvent, DUInfo, OperationInfo, SmsApi, UpnpError

from .conftest import PROXIER, lab_device

FW = "1 Firmware Upgrade Image"


class LabSms:
    """SmsApi over the lab's sans-IO SMS core (the lab server wraps the same core)."""

    def __init__(self, core: SmsCore) -> None:
        self.core = core
        self.update_error: UpnpError | None = None
        self.calls: list[tuple[int, str, bool]] = []

    async def update(self, du_id: int, new_du_uri: str, handle_dependencies: bool) -> int:
        self.calls.append((du_id, new_du_uri, handle_dependencies))
        if self.update_error is not None:
            raise self.update_error
        return self.core.update(du_id, new_du_uri).op_id

    async def get_operation_info(self, operation_id: int) -> OperationInfo:
        op = self.core.operation(operation_id)
        return OperationInfo(op.state, op.targeted, op.action, op.error, op.info)

    async def get_du_info(self, du_id: int) -> DUInfo:
        du = self.core.du_info(du_id)
        return DUInfo(du.name, du.version, du.type, du.state, du.uri)


class Setup:
    def __init__(self, tmp_path: Path) -> None:
        self.device = lab_device()
        self.core = SmsCore("1.0.0", publish=self.publish)
        self.sms = LabSms(self.core)
        self.device._sms = cast(SmsApi, self.sms)
        self.store = InstanceStore(tmp_path / "i.sqlite")
        self.backend = UpnpBackend(self.device, instance_store=self.store, proxier_info=PROXIER)
        self.done: list[TransferComplete] = []
        self.finished = asyncio.Event()
        self.backend.set_listeners(lambda _c: None, self.on_complete)
        self.events: list[DmEvent] = []

    def publish(self, variables: dict[str, str]) -> None:
        self.events.append(DmEvent("SMS", variables))

    def on_complete(self, tc: TransferComplete) -> None:
        self.done.append(tc)
        self.finished.set()

    async def deliver(self) -> None:
        for event in self.events:
            await self.backend.handle_event(event)
        self.events.clear()

    async def result(self) -> TransferComplete:
        await self.deliver()
        await asyncio.wait_for(self.finished.wait(), 5)
        return self.done[-1]

    async def close(self) -> None:
        await self.backend.firmware.close()
        self.store.close()
        self.device.close()


@pytest.fixture
async def fw(tmp_path: Path):  # type: ignore[no-untyped-def]
    s = Setup(tmp_path)
    yield s
    await s.close()


async def test_successful_update(fw: Setup) -> None:
    """§4.7.1.1: Update(DUID 0, URL, HandleDependencies 0), Status 1; §4.7.1.2: the
    TransferComplete carries the CommandKey and FaultCode 0 (Error_None)."""
    response = await fw.backend.download(Download("ck-7", FW, "http://files.example/fw.img"))
    assert response.status == 1
    assert fw.sms.calls == [(0, "http://files.example/fw.img", False)]
    op = fw.core.ops[1]
    fw.core.begin(op)
    fw.core.complete(op, fw.core.image_received(op, make_image("firmware", "2.0.0")))
    tc = await fw.result()
    assert tc.command_key == "ck-7"
    assert (tc.fault_struct.fault_code, tc.fault_struct.fault_string) == (0, "")
    assert tc.start_time <= tc.complete_time


async def test_corrupted_image_is_9018(fw: Setup) -> None:
    """Table 3: ErrorDescription Error_CorruptedFile → 9018, AdditionalInfo → FaultString."""
    await fw.backend.download(Download("ck", FW, "http://files.example/bad.img"))
    op = fw.core.ops[1]
    fw.core.image_received(op, b"not an image")
    tc = await fw.result()
    assert tc.fault_struct.fault_code == 9018
    assert tc.fault_struct.fault_string == op.info != ""


async def test_disk_full_is_9027(fw: Setup) -> None:
    """Table 3: Error_DiskFull → 9027."""
    fw.core.disk_full = True
    await fw.backend.download(Download("ck", FW, "http://files.example/fw.img"))
    fw.core.image_received(fw.core.ops[1], make_image("firmware", "2.0.0"))
    assert (await fw.result()).fault_struct.fault_code == 9027


async def test_reboot_forgets_operation_version_decides(fw: Setup) -> None:
    """§4.7.1 exception 2: the operation is lost in the reboot; a new firmware version
    means success."""
    await fw.backend.download(Download("ck", FW, "http://files.example/fw.img"))
    fw.core.dus[0].version = "2.0.0"
    fw.core.reboot()
    fw.publish({"OperationIDs": ""})
    tc = await fw.result()
    assert tc.fault_struct.fault_code == 0


@pytest.mark.parametrize("code", [701, 702, 704, 705, 710])
async def test_update_errors_are_9001(fw: Setup, code: int) -> None:
    """Table 3: SMS::Update errors → 9001 ("9003 is not supported by the RPC")."""
    fw.sms.update_error = UpnpError(code)
    with pytest.raises(CwmpFaultError) as info:
        await fw.backend.download(Download("ck", FW, "http://files.example/fw.img"))
    assert info.value.fault.fault_code == 9001


async def test_other_file_types_are_refused(fw: Setup) -> None:
    """§4.7: only firmware is proxied (configuration files are not in UPnP DM)."""
    with pytest.raises(CwmpFaultError) as info:
        await fw.backend.download(Download("ck", "3 Vendor Configuration File", "http://x/c"))
    assert info.value.fault.fault_code == 9001
    assert fw.sms.calls == []
