"""MemoryBackend: Annex A semantics of the in-memory Device:2 tree."""

from __future__ import annotations

from pathlib import Path

import pytest

from proxier.cwmp.backend import ValueChange
from proxier.cwmp.memory import MemoryBackend, add_management_server, device2_backend
from proxier.cwmp.rpc import (
    CwmpFaultError,
    DeviceIdStruct,
    ParameterInfoStruct,
    ParameterValueStruct,
    SetParameterAttributesStruct,
    TransferComplete,
)
from proxier.cwmp.store import DeviceStore

DEVICE = DeviceIdStruct("Acme", "00D09E", "Lamp", "SN-1")
MS = "Device.ManagementServer."
HOSTS = "Device.Hosts.Host."


def backend(**kw: object) -> MemoryBackend:
    return device2_backend(DEVICE, acs_url="http://127.0.0.1/acs", **kw)  # type: ignore[arg-type]


async def fault_of(coro: object) -> CwmpFaultError:
    with pytest.raises(CwmpFaultError) as info:
        await coro  # type: ignore[misc]
    return info.value


async def test_gpn_root_next_level_and_subtree() -> None:
    """A.3.2.3: empty path + NextLevel → "Device."; NextLevel false → object and all
    descendants; objects end with a dot; Writable reflects AddObject/SPV ability."""
    b = backend()
    assert await b.get_parameter_names("", True) == [ParameterInfoStruct("Device.", False)]
    top = {p.name for p in await b.get_parameter_names("Device.", True)}
    assert {"Device.DeviceInfo.", "Device.ManagementServer.", "Device.Hosts."} <= top
    assert "Device.DeviceInfo.Manufacturer" not in top
    whole = await b.get_parameter_names("Device.Hosts.", False)
    assert whole[0] == ParameterInfoStruct("Device.Hosts.", False)
    assert ParameterInfoStruct(HOSTS, True) in whole
    everything = await b.get_parameter_names("", False)
    assert ParameterInfoStruct(MS + "URL", True) in everything
    assert ParameterInfoStruct("Device.DeviceInfo.SerialNumber", False) in everything


async def test_gpn_faults() -> None:
    """A.3.2.3: unknown path → 9005; NextLevel true on a parameter → 9003."""
    b = backend()
    assert (await fault_of(b.get_parameter_names("Device.Nope.", False))).fault.fault_code == 9005
    f = await fault_of(b.get_parameter_names("Device.DeviceInfo.SerialNumber", True))
    assert f.fault.fault_code == 9003
    ok = await b.get_parameter_names("Device.DeviceInfo.SerialNumber", False)
    assert ok == [ParameterInfoStruct("Device.DeviceInfo.SerialNumber", False)]


async def test_gpv_partial_path_types_and_hidden_password() -> None:
    """A.3.2.2: partial paths return their subtree with xsi types; TR-181 hidden
    passwords read back empty; unknown names → 9005."""
    b = backend(acs_password="s3cret")
    values = {p.name: p for p in await b.get_parameter_values([MS])}
    assert values[MS + "PeriodicInformInterval"].type == "xsd:unsignedInt"
    assert values[MS + "PeriodicInformEnable"].value == "true"
    assert values[MS + "Password"].value == ""
    f = await fault_of(b.get_parameter_values([MS + "Nope"]))
    assert f.fault.fault_code == 9005


async def test_spv_all_or_nothing_with_per_parameter_faults() -> None:
    """A.3.2.1: one bad parameter → 9003 with a SetParameterValuesFault per bad parameter
    (9005/9006/9007/9008) and nothing applied."""
    b = backend()
    f = await fault_of(
        b.set_parameter_values(
            [
                ParameterValueStruct(MS + "PeriodicInformInterval", "600", "xsd:unsignedInt"),
                ParameterValueStruct(MS + "Nope", "1"),
                ParameterValueStruct(MS + "PeriodicInformEnable", "1", "xsd:int"),
                ParameterValueStruct(MS + "CWMPRetryIntervalMultiplier", "10", "xsd:unsignedInt"),
                ParameterValueStruct("Device.DeviceInfo.SerialNumber", "x"),
            ],
            "k",
        )
    )
    assert f.fault.fault_code == 9003
    assert [(x.parameter_name, x.fault_code) for x in f.fault.set_parameter_values_fault] == [
        (MS + "Nope", 9005),
        (MS + "PeriodicInformEnable", 9006),
        (MS + "CWMPRetryIntervalMultiplier", 9007),
        ("Device.DeviceInfo.SerialNumber", 9008),
    ]
    assert b.value(MS + "PeriodicInformInterval") == "3600"  # nothing applied
    status = await b.set_parameter_values(
        [ParameterValueStruct(MS + "PeriodicInformEnable", "0", "xsd:boolean")], "k"
    )
    assert status == 0 and b.value(MS + "PeriodicInformEnable") == "false"


async def test_attributes_partial_path_and_forced_active() -> None:
    """A.3.2.4/A.3.2.5: SPA on a partial path applies to all parameters below; forced
    active notification parameters stay at 2; Notification > 2 is refused."""
    b = backend()
    await b.set_parameter_attributes(
        [SetParameterAttributesStruct("Device.DeviceInfo.", True, 1, True, ("Subscriber",))]
    )
    attrs = {a.name: a for a in await b.get_parameter_attributes(["Device.DeviceInfo."])}
    assert attrs["Device.DeviceInfo.Manufacturer"].notification == 1
    assert attrs["Device.DeviceInfo.Manufacturer"].access_list == ("Subscriber",)
    assert attrs["Device.DeviceInfo.SoftwareVersion"].notification == 2
    f = await fault_of(
        b.set_parameter_attributes([SetParameterAttributesStruct(MS + "URL", True, 7, False)])
    )
    assert f.fault.fault_code == 9003
    f = await fault_of(b.get_parameter_attributes(["Device.Nope"]))
    assert f.fault.fault_code == 9005


async def test_add_delete_object_instance_numbers() -> None:
    """A.3.2.6/A.3.2.7: new instances get default values, numbers are never reused, a
    deleted instance is gone; bad names → 9005; the table limit → 9004."""
    b = backend()
    n1, status = await b.add_object(HOSTS, "")
    n2, _ = await b.add_object(HOSTS, "")
    assert (n1, n2, status) == (1, 2, 0)
    assert b.value(f"{HOSTS}1.Active") == "false"
    assert b.value("Device.Hosts.HostNumberOfEntries") == "2"
    assert await b.delete_object(f"{HOSTS}1.", "") == 0
    n3, _ = await b.add_object(HOSTS, "")
    assert n3 == 3
    f = await fault_of(b.get_parameter_values([f"{HOSTS}1.Alias"]))
    assert f.fault.fault_code == 9005
    assert (await fault_of(b.delete_object(f"{HOSTS}1.", ""))).fault.fault_code == 9005
    assert (await fault_of(b.add_object("Device.Nope.", ""))).fault.fault_code == 9005
    for _ in range(30):
        await b.add_object(HOSTS, "")
    assert (await fault_of(b.add_object(HOSTS, ""))).fault.fault_code == 9004


async def test_external_changes_notify_acs_changes_do_not() -> None:
    """§3.2.1: changes by the device reach the engine; the ACS's own SPV does not."""
    b = backend()
    seen: list[ValueChange] = []
    b.set_listeners(seen.extend, lambda tc: None)
    await b.set_parameter_values([ParameterValueStruct(MS + "Username", "acs")], "")
    assert seen == []
    b.set_external("Device.DeviceInfo.SoftwareVersion", "2.0")
    assert seen == [ValueChange("Device.DeviceInfo.SoftwareVersion", "2.0", "xsd:string")]


async def test_transfers_complete_later_and_bad_scheme() -> None:
    """A.3.2.8: Download answered Status 1, TransferComplete reported later; an unsupported
    URL scheme → 9013."""
    import asyncio

    from proxier.cwmp.rpc import Download

    b = backend()
    done: list[TransferComplete] = []
    b.set_listeners(lambda changes: None, done.append)
    response = await b.download(Download("k", "1 Firmware Upgrade Image", "http://h/f"))
    assert response.status == 1
    for _ in range(3):
        await asyncio.sleep(0)
    assert [tc.command_key for tc in done] == ["k"]
    f = await fault_of(b.download(Download("k", "1 Firmware Upgrade Image", "tftp://h/f")))
    assert f.fault.fault_code == 9013
    # issue 12: a URL urllib cannot split is a bad argument (9003), not an internal error
    f = await fault_of(b.download(Download("k", "1 Firmware Upgrade Image", "http://[::1/f")))
    assert f.fault.fault_code == 9003


async def test_factory_reset_and_persistence(tmp_path: Path) -> None:
    """A.3.2.1: changes are retained across reboots (persisted); FactoryReset restores the
    defaults."""
    store = DeviceStore(tmp_path / "m.sqlite")
    b = backend(persist=store)
    await b.set_parameter_values([ParameterValueStruct(MS + "Username", "acs")], "")
    await b.add_object(HOSTS, "")
    again = backend(persist=store)
    assert again.value(MS + "Username") == "acs"
    assert again.value("Device.Hosts.HostNumberOfEntries") == "1"
    assert (await again.add_object(HOSTS, ""))[0] == 2
    booted: list[bool] = []
    again.set_boot_listener(lambda: booted.append(True))
    await again.factory_reset()
    assert again.value(MS + "Username") == "" and booted == [True]
    assert again.value("Device.Hosts.HostNumberOfEntries") == "0"
    store.close()


def test_issue13_management_server_trees_share_their_definitions() -> None:
    """Issue 13 (memory): the ManagementServer trees of two virtual devices hold the same
    parameter definition objects and names, except where a device has its own value."""
    trees = []
    for password in ("cr-secret-1", "cr-secret-2"):
        tree = MemoryBackend()
        add_management_server(
            tree, acs_url="http://acs.example/", connection_request_password=password
        )
        trees.append(tree)
    a, b = (t._params for t in trees)
    assert a.keys() == b.keys()
    own = {n for n in a if a[n] is not b[n]}
    assert own == {"Device.ManagementServer.ConnectionRequestPassword"}
    assert all(x is y for x, y in zip(a, b, strict=True))  # one copy of each name
