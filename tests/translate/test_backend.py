"""UpnpBackend against the lab CMS data model: TR-330 §4.6, RPC by RPC."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import pytest

from proxier.cwmp.backend import ValueChange
from proxier.cwmp.rpc import (
    CwmpFaultError,
    ParameterValueStruct,
    SetParameterAttributesStruct,
)
from proxier.lab.datamodel import DataModel, Obj, Table, load_model_spec
from proxier.lab.local import LocalDmDevice
from proxier.translate.backend import UpnpBackend
from proxier.translate.instances import InstanceStore
from proxier.upnp.device import BmsApi, UpnpError

from .conftest import PROXIER, RecordingBms, lab_device


async def names(backend: UpnpBackend, path: str, next_level: bool) -> dict[str, bool]:
    return {p.name: p.writable for p in await backend.get_parameter_names(path, next_level)}


async def values(backend: UpnpBackend, *paths: str) -> dict[str, tuple[str, str]]:
    return {v.name: (v.value, v.type) for v in await backend.get_parameter_values(paths)}


async def fault_of(awaitable: Any) -> CwmpFaultError:
    with pytest.raises(CwmpFaultError) as info:
        await awaitable
    return info.value


# --- GetParameterNames (TR-330 §4.6.2.1) -------------------------------------------------------


async def test_gpn_parameter(backend: UpnpBackend) -> None:
    """TR-330 §4.6.2.1 example 1: ParameterPath is a parameter → GetAttributes only."""
    got = await names(backend, "Device.Hosts.Host.1.IPAddress", False)
    assert got == {"Device.Hosts.Host.1.IPAddress": False}
    got = await names(backend, "Device.NAT.PortMapping.1.ExternalPort", False)
    assert got == {"Device.NAT.PortMapping.1.ExternalPort": True}


async def test_gpn_parameter_with_next_level_true_is_invalid_arguments(
    backend: UpnpBackend,
) -> None:
    """TR-069 A.3.2.3: NextLevel true with a Parameter name → 9003 (after the name checks)."""
    f = await fault_of(backend.get_parameter_names("Device.Hosts.Host.1.IPAddress", True))
    assert f.fault.fault_code == 9003
    f = await fault_of(backend.get_parameter_names("Device.Hosts.Host.1.NoSuch", True))
    assert f.fault.fault_code == 9005


async def test_gpn_single_instance_object_next_level(backend: UpnpBackend) -> None:
    """TR-330 §4.6.2.1 example 2: GPN(Device.Hosts., true) → HostNumberOfEntries, Host."""
    got = await names(backend, "Device.Hosts.", True)
    assert got == {"Device.Hosts.HostNumberOfEntries": False, "Device.Hosts.Host.": False}


async def test_gpn_multi_instance_object_next_level(backend: UpnpBackend) -> None:
    """TR-330 §4.6.2.1 example 3: the instances of Host (UPnP 0, 2, 5 → CWMP 1, 2, 3)."""
    got = await names(backend, "Device.Hosts.Host.", True)
    assert list(got) == ["Device.Hosts.Host.1.", "Device.Hosts.Host.2.", "Device.Hosts.Host.3."]
    assert not any(got.values())  # Host rows cannot be deleted on this device


async def test_gpn_instance_next_level(backend: UpnpBackend) -> None:
    got = await names(backend, "Device.Hosts.Host.3.", True)
    assert "Device.Hosts.Host.3.HostName" in got
    assert all(n.startswith("Device.Hosts.Host.3.") and not n.endswith(".") for n in got)


async def test_gpn_object_next_level_false(backend: UpnpBackend) -> None:
    """TR-330 §4.6.2.1 example 4 / TR-069 A.3.2.3: the object itself and every node below."""
    got = await names(backend, "Device.Hosts.", False)
    assert list(got)[:4] == [
        "Device.Hosts.",
        "Device.Hosts.HostNumberOfEntries",
        "Device.Hosts.Host.",
        "Device.Hosts.Host.1.",
    ]
    for i in (1, 2, 3):
        assert f"Device.Hosts.Host.{i}." in got
        assert f"Device.Hosts.Host.{i}.IPAddress" in got
    assert "Device.Hosts.Host.4." not in got
    # objects come before their children
    order = list(got)
    assert order.index("Device.Hosts.Host.2.") < order.index("Device.Hosts.Host.2.HostName")


async def test_gpn_writable_from_access(backend: UpnpBackend) -> None:
    """TR-330 §4.6.2.1 step 4 + TR-069 Table 19: Writable from the CMS Access attribute."""
    got = await names(backend, "Device.NAT.", False)
    assert got["Device.NAT.PortMapping."] is True  # AddObject allowed
    assert got["Device.NAT.PortMapping.1."] is True  # DeleteObject allowed
    assert got["Device.NAT.PortMapping.1.Enable"] is True
    assert got["Device.NAT.PortMappingNumberOfEntries"] is False
    assert got["Device.NAT."] is False


async def test_gpn_empty_table_is_listed(backend: UpnpBackend) -> None:
    """TR-069 A.3.2.3: the list includes objects that are currently empty."""
    await backend.delete_object("Device.NAT.PortMapping.1.", "")
    got = await names(backend, "Device.NAT.", False)
    assert "Device.NAT.PortMapping." in got
    assert await names(backend, "Device.NAT.PortMapping.", True) == {}


@pytest.mark.parametrize(
    "path", ["Device.NoSuch.", "Device.Hosts.Host.7.", "Device.Hosts.NoSuch", "Foo.", "Device.."]
)
async def test_gpn_unknown_name_is_9005(backend: UpnpBackend, path: str) -> None:
    """TR-330 §4.6.2.1 step 5: GetAttributes 703 → 9005 (also unknown instances/roots)."""
    f = await fault_of(backend.get_parameter_names(path, True))
    assert f.fault.fault_code == 9005


async def test_gpn_root(backend: UpnpBackend) -> None:
    """TR-069 A.3.2.3: empty path with NextLevel true lists Device. only."""
    assert await names(backend, "", True) == {"Device.": False}
    top = await names(backend, "Device.", True)
    assert {"Device.DeviceInfo.", "Device.Hosts.", "Device.NAT.", "Device.Time."} <= set(top)
    assert "Device.X_UPNP-ORG_DM." in top  # the UPnP DM standard model (roots.toml)
    assert not any(n.count(".") > 2 for n in top)


async def test_gpn_root_next_level_false_inserts_bms_objects(store: InstanceStore) -> None:
    """TR-330 §4.3.2.1 / §4.6.2.1 Figure 7: GPN of the root with NextLevel false lists the
    BMS-backed diagnostics objects among the device's own objects."""
    dev = lab_device(bms=cast(BmsApi, RecordingBms()))
    backend = UpnpBackend(dev, instance_store=store, proxier_info=PROXIER)
    got = await names(backend, "Device.", False)
    assert got["Device."] is False
    for obj in (
        "Device.IP.",
        "Device.IP.Diagnostics.",
        "Device.IP.Diagnostics.IPPing.",
        "Device.IP.Diagnostics.TraceRoute.",
        "Device.DNS.Diagnostics.NSLookupDiagnostics.",
    ):
        assert obj in got
    assert got["Device.IP.Diagnostics.IPPing.Host"] is True
    assert got["Device.IP.Diagnostics.IPPing.SuccessCount"] is False
    assert "Device.Hosts.Host.3.HostName" in got
    assert "Device.X_UPNP-ORG_DM.DeviceInfo.SoftwareVersion" in got
    assert "Device.DeviceInfo.ProxierInfo.ProxyProtocol" in got
    assert "Device.IP.Diagnostics.IPPing." in await names(backend, "Device.IP.Diagnostics.", True)
    dev.close()


async def test_gpn_deviceinfo_mixes_device_and_proxier(backend: UpnpBackend) -> None:
    got = await names(backend, "Device.DeviceInfo.", True)
    assert got["Device.DeviceInfo.ProvisioningCode"] is True
    assert "Device.DeviceInfo.SoftwareVersion" in got
    assert "Device.DeviceInfo.ProxierInfo." in got
    assert "Device.DeviceInfo.SupportedDataModel." in got
    proxier = await names(backend, "Device.DeviceInfo.ProxierInfo.", True)
    assert set(proxier) == {
        "Device.DeviceInfo.ProxierInfo." + n
        for n in ("ManufacturerOUI", "ProductClass", "SerialNumber", "ProxyProtocol")
    }


# --- GetParameterValues (TR-330 §4.6.3) --------------------------------------------------------


async def test_gpv_partial_path_and_types(backend: UpnpBackend) -> None:
    """TR-330 §4.6.3.1: GetValues of a partial path; xsi:type from the CMS Type attribute."""
    got = await values(backend, "Device.Hosts.Host.")
    assert got["Device.Hosts.Host.1.HostName"] == ("laptop", "xsd:string")
    assert got["Device.Hosts.Host.3.HostName"] == ("printer", "xsd:string")
    assert got["Device.Hosts.Host.3.Active"] == ("0", "xsd:boolean")
    assert got["Device.Hosts.Host.3.LeaseTimeRemaining"] == ("-1", "xsd:int")
    assert got["Device.Hosts.Host.3.Alias"] == ("cpe-3", "xsd:string")  # §4.6.8, proxier's
    assert len(got) == 21  # 3 rows × (6 device parameters + Alias)
    got = await values(backend, "Device.NAT.PortMapping.1.ExternalPort", "Device.Time.Enable")
    assert got == {
        "Device.NAT.PortMapping.1.ExternalPort": ("8080", "xsd:unsignedInt"),
        "Device.Time.Enable": ("1", "xsd:boolean"),
    }


async def test_gpv_upnp_dm_model(backend: UpnpBackend) -> None:
    got = await values(backend, "Device.X_UPNP-ORG_DM.DeviceInfo.PhysicalDevice.DeviceID.")
    assert got["Device.X_UPNP-ORG_DM.DeviceInfo.PhysicalDevice.DeviceID.SerialNumber"] == (
        "LAB0001",
        "xsd:string",
    )


async def test_gpv_proxier_info_and_supported_data_models(backend: UpnpBackend) -> None:
    """reference cwmp-proxy.md §3.3/§3.4: ProxierInfo names the proxier; SupportedDataModel
    rows come from CMS::GetSupportedDataModels (TR-330 §4.3.1)."""
    got = await values(backend, "Device.DeviceInfo.ProxierInfo.", "Device.DeviceInfo.")
    assert got["Device.DeviceInfo.ProxierInfo.ManufacturerOUI"] == ("00D09E", "xsd:string")
    assert got["Device.DeviceInfo.ProxierInfo.SerialNumber"] == ("PX0001", "xsd:string")
    assert got["Device.DeviceInfo.ProxierInfo.ProxyProtocol"] == ("UPnP-DM", "xsd:string")
    assert got["Device.DeviceInfo.SupportedDataModelNumberOfEntries"] == ("2", "xsd:unsignedInt")
    urns = {got[f"Device.DeviceInfo.SupportedDataModel.{i}.URN"][0] for i in (1, 2)}
    assert urns == {
        "urn:UPnP:Parent Device:1:ConfigurationManagement:2",
        "urn:broadband-forum-org:tr-181-2-11-0",
    }
    assert got["Device.DeviceInfo.SerialNumber"] == ("LAB0001", "xsd:string")


@pytest.mark.parametrize("path", ["Device.NoSuch", "Device.Hosts.Host.4.HostName", "Device.X."])
async def test_gpv_unknown_name_is_9005(backend: UpnpBackend, path: str) -> None:
    """TR-330 §4.6.3.1 + Table 2: GetValues 703 → 9005."""
    f = await fault_of(backend.get_parameter_values([path]))
    assert f.fault.fault_code == 9005


# --- GetParameterValues asked again: translations are remembered, answers stay right ------------


async def test_gpv_repeated_across_add_and_delete_object(
    backend: UpnpBackend, device: LocalDmDevice
) -> None:
    """TR-330 §4.6.6/§4.6.7 with §4.6.3.1: names once translated keep meaning the same row;
    a deleted row's names are 9005 the next time they are asked, values are never cached."""
    first = "Device.NAT.PortMapping.1.Description"
    for _ in range(2):
        assert await values(backend, first) == {first: ("web server", "xsd:string")}
    number, _ = await backend.add_object("Device.NAT.PortMapping.", "k")
    added = f"Device.NAT.PortMapping.{number}.Description"
    for _ in range(2):
        got = await values(backend, first, added)
        assert got == {first: ("web server", "xsd:string"), added: ("", "xsd:string")}
    await backend.set_parameter_values([ParameterValueStruct(added, "ssh")], "k")
    assert await values(backend, added) == {added: ("ssh", "xsd:string")}
    assert await backend.delete_object(f"Device.NAT.PortMapping.{number}.", "k") == 0
    assert (await fault_of(backend.get_parameter_values([added]))).fault.fault_code == 9005
    assert await values(backend, first) == {first: ("web server", "xsd:string")}
    again, _ = await backend.add_object("Device.NAT.PortMapping.", "k")
    assert again == number + 1  # CWMP numbers are never reused
    fresh = f"Device.NAT.PortMapping.{again}.Description"
    assert await values(backend, fresh) == {fresh: ("", "xsd:string")}
    assert (await fault_of(backend.get_parameter_values([added]))).fault.fault_code == 9005


async def test_gpv_repeated_after_rows_changed_by_another_control_point(
    backend: UpnpBackend, device: LocalDmDevice
) -> None:
    """Issue 4 (stable instance map): a row deleted on the device by someone else is 9005 once
    the proxier has seen the table again, and the device's new row gets a new CWMP number."""
    number, _ = await backend.add_object("Device.NAT.PortMapping.", "k")
    name = f"Device.NAT.PortMapping.{number}.Protocol"
    assert await values(backend, name) == {name: ("TCP", "xsd:string")}
    device.model.delete_instance("/BBF/NAT/PortMapping/1/")
    device.model.create_instance("/BBF/NAT/PortMapping/", [])
    assert (await fault_of(backend.get_parameter_values([name]))).fault.fault_code == 9005
    rows = await names(backend, "Device.NAT.PortMapping.", True)
    assert list(rows) == ["Device.NAT.PortMapping.1.", f"Device.NAT.PortMapping.{number + 1}."]
    assert (await fault_of(backend.get_parameter_values([name]))).fault.fault_code == 9005
    new = f"Device.NAT.PortMapping.{number + 1}.Protocol"
    assert await values(backend, new) == {new: ("TCP", "xsd:string")}
    got = await values(backend, "Device.NAT.PortMapping.")
    assert {n.split(".")[3] for n in got} == {"1", str(number + 1)}


def reuse_instance_number(device: LocalDmDevice, table: str, number: int) -> None:
    """Make the lab device give its next row of `table` the UPnP instance `number` (real
    devices may reuse a deleted row's number; the lab never does on its own)."""
    node = device.model.root.children
    for seg in table.strip("/").split("/"):
        found = node[seg]
        if isinstance(found, Table):
            assert number not in found.instances
            found.next_id = number
            return
        assert isinstance(found, Obj)
        node = found.children
    raise AssertionError(f"{table} is not a table")


async def test_gpv_repeated_when_the_device_reuses_a_deleted_instance(
    backend: UpnpBackend, device: LocalDmDevice
) -> None:
    """TR-330 §4.6.1 note / §4.6.7: after DeleteObject, a row the device creates at the same
    UPnP instance is a new CWMP instance; the old CWMP name, asked before, stays 9005."""
    number, _ = await backend.add_object("Device.NAT.PortMapping.", "k")
    old = f"Device.NAT.PortMapping.{number}.Description"
    await backend.set_parameter_values([ParameterValueStruct(old, "ssh")], "k")
    assert await values(backend, old) == {old: ("ssh", "xsd:string")}
    assert await backend.delete_object(f"Device.NAT.PortMapping.{number}.", "k") == 0
    reuse_instance_number(device, "/BBF/NAT/PortMapping/", 1)
    again, _ = await backend.add_object("Device.NAT.PortMapping.", "k")
    assert again == number + 1
    assert device.model.get_instances("/BBF/NAT/PortMapping/", 1)[-1] == "/BBF/NAT/PortMapping/1/"
    assert (await fault_of(backend.get_parameter_values([old]))).fault.fault_code == 9005
    new = f"Device.NAT.PortMapping.{again}.Description"
    assert await values(backend, new) == {new: ("", "xsd:string")}


async def test_gpv_by_alias_follows_alias_changes(backend: UpnpBackend) -> None:
    """TR-330 §4.6.8 / TR-069 §3.6.1: `[alias]` addressing names whichever row holds the
    alias now, even when the same name was asked before the alias moved."""
    number, _ = await backend.add_object("Device.NAT.PortMapping.", "k")
    row = f"Device.NAT.PortMapping.{number}."
    await backend.set_parameter_values([ParameterValueStruct(row + "Description", "ssh")], "k")
    await backend.set_parameter_values(
        [ParameterValueStruct("Device.NAT.PortMapping.1.Alias", "web")], "k"
    )
    by_alias = "Device.NAT.PortMapping.[web].Description"
    for _ in range(2):
        got = await values(backend, by_alias)
        assert got == {"Device.NAT.PortMapping.1.Description": ("web server", "xsd:string")}
    await backend.set_parameter_values(
        [ParameterValueStruct("Device.NAT.PortMapping.1.Alias", "old")], "k"
    )
    await backend.set_parameter_values([ParameterValueStruct(row + "Alias", "web")], "k")
    assert await values(backend, by_alias) == {row + "Description": ("ssh", "xsd:string")}


async def test_gpv_repeated_across_restart(tmp_path: Path) -> None:
    """Issue 4: after a restart the same CWMP names read the same rows, and a row the device
    lost meanwhile is 9005 (the translations of the first run are not carried over)."""
    path = tmp_path / "instances.sqlite"
    dev = lab_device()
    store = InstanceStore(path)
    backend = UpnpBackend(dev, instance_store=store, proxier_info=PROXIER)
    asked = ("Device.Hosts.Host.2.HostName", "Device.Hosts.Host.3.HostName")
    for _ in range(2):
        got = await values(backend, *asked)
        assert got[asked[1]] == ("printer", "xsd:string")
    store.close()
    dev.close()
    spec = load_model_spec()
    spec.instances["/BBF/Hosts/Host/"] = [0, 5]
    spec.values = {k: v for k, v in spec.values.items() if "/Host/2/" not in k}
    dev = LocalDmDevice(DataModel(spec, substitutions={"serial": "S", "oui": "0A0B0C"}))
    store2 = InstanceStore(path)
    backend2 = UpnpBackend(dev, instance_store=store2, proxier_info=PROXIER)
    for _ in range(2):
        assert await values(backend2, asked[1]) == {asked[1]: ("printer", "xsd:string")}
        f = await fault_of(backend2.get_parameter_values([asked[0]]))
        assert f.fault.fault_code == 9005
    store2.close()
    dev.close()


# --- SetParameterValues (TR-330 §4.6.4.1) ------------------------------------------------------


async def test_spv_applied_is_status_0(backend: UpnpBackend, device: LocalDmDevice) -> None:
    """TR-330 §4.6.4.1: ChangesApplied → Status 0."""
    pv = ParameterValueStruct("Device.NAT.PortMapping.1.Description", "ssh", "xsd:string")
    assert await backend.set_parameter_values([pv], "key1") == 0
    assert device.model.value("/BBF/NAT/PortMapping/0/Description") == "ssh"


async def test_spv_committed_is_status_1(backend: UpnpBackend, device: LocalDmDevice) -> None:
    """TR-330 §4.6.4.1: ChangesCommitted → Status 1."""
    pv = ParameterValueStruct("Device.Time.NTPServer1", "ntp2.example.net")
    assert await backend.set_parameter_values([pv], "key2") == 1
    assert device.model.value("/BBF/Time/NTPServer1") == "ntp2.example.net"


async def test_spv_read_only_gives_per_parameter_9008(
    backend: UpnpBackend, device: LocalDmDevice
) -> None:
    """TR-069 A.3.2.1: 9003 with a SetParameterValuesFault per parameter in error (706 →
    9008, Table 2), and nothing applied (atomic)."""
    f = await fault_of(
        backend.set_parameter_values(
            [
                ParameterValueStruct("Device.NAT.PortMapping.1.Description", "x"),
                ParameterValueStruct("Device.Hosts.Host.1.HostName", "y"),
            ],
            "k",
        )
    )
    assert f.fault.fault_code == 9003
    assert [(d.parameter_name, d.fault_code) for d in f.fault.set_parameter_values_fault] == [
        ("Device.Hosts.Host.1.HostName", 9008)
    ]
    assert device.model.value("/BBF/NAT/PortMapping/0/Description") == "web server"


async def test_spv_value_outside_its_type_is_9007_before_the_device(
    backend: UpnpBackend, device: LocalDmDevice
) -> None:
    """Issue 12 item 1 (TR-069 A.3.2.1, Table 9): a value outside the parameter's xsd type is
    refused by the proxier with 9007 for that parameter, and nothing reaches the device (all
    or nothing). The device's own 704 → 9006 (Table 2) is test_backend_faults' job."""
    before = device.model.value("/BBF/NAT/PortMapping/0/Description")
    f = await fault_of(
        backend.set_parameter_values(
            [
                ParameterValueStruct("Device.NAT.PortMapping.1.Description", "x"),
                ParameterValueStruct("Device.NAT.PortMapping.1.Enable", "maybe", "xsd:boolean"),
            ],
            "k",
        )
    )
    assert f.fault.fault_code == 9003
    assert [(d.parameter_name, d.fault_code) for d in f.fault.set_parameter_values_fault] == [
        ("Device.NAT.PortMapping.1.Enable", 9007)
    ]
    assert device.model.value("/BBF/NAT/PortMapping/0/Description") == before


async def test_spv_invalid_value_single_parameter(backend: UpnpBackend) -> None:
    """Table 2: 705 → 9007 for the parameter."""
    f = await fault_of(
        backend.set_parameter_values(
            [ParameterValueStruct("Device.NAT.PortMapping.1.Protocol", "SCTP")], "k"
        )
    )
    assert f.fault.fault_code == 9003
    assert f.fault.set_parameter_values_fault[0].fault_code == 9007


async def test_spv_invalid_value_unknown_culprit(backend: UpnpBackend) -> None:
    """TR-330 §4.6.4 note: when the failing parameter cannot be told, fail without details."""
    f = await fault_of(
        backend.set_parameter_values(
            [
                ParameterValueStruct("Device.NAT.PortMapping.1.Protocol", "SCTP"),
                ParameterValueStruct("Device.NAT.PortMapping.1.Description", "x"),
            ],
            "k",
        )
    )
    assert f.fault.fault_code == 9007
    assert f.fault.set_parameter_values_fault == ()


async def test_spv_unknown_name_and_object(backend: UpnpBackend) -> None:
    f = await fault_of(
        backend.set_parameter_values(
            [
                ParameterValueStruct("Device.NAT.PortMapping.9.Enable", "1"),
                ParameterValueStruct("Device.NAT.", "1"),
                ParameterValueStruct("Device.DeviceInfo.ProxierInfo.SerialNumber", "1"),
            ],
            "k",
        )
    )
    assert f.fault.fault_code == 9003
    assert [d.fault_code for d in f.fault.set_parameter_values_fault] == [9005, 9005, 9008]


async def test_spv_duplicate_name_is_9003(backend: UpnpBackend) -> None:
    pv = ParameterValueStruct("Device.Time.Enable", "1")
    f = await fault_of(backend.set_parameter_values([pv, pv], "k"))
    assert f.fault.fault_code == 9003


# --- attributes (TR-330 §4.6.5) ----------------------------------------------------------------


async def test_gpa_maps_event_on_change(backend: UpnpBackend) -> None:
    """TR-330 §4.6.5.1.1: EventOnChange → Notification, AccessList always empty; a partial
    path covers every parameter below it."""
    got = {a.name: a for a in await backend.get_parameter_attributes(["Device.Hosts.Host.1."])}
    assert len(got) == 7  # 6 device parameters + the proxier's Alias (§4.6.8)
    assert got["Device.Hosts.Host.1.Alias"].notification == 0
    assert got["Device.Hosts.Host.1.Active"].notification == 1  # EventOnChange in the model
    assert got["Device.Hosts.Host.1.HostName"].notification == 0
    assert all(a.access_list == () for a in got.values())


async def test_spa_sets_event_on_change(backend: UpnpBackend, device: LocalDmDevice) -> None:
    """TR-330 §4.6.5.2.1: Notification → EventOnChange via SetAttributes (partial path too);
    GetParameterAttributes then reports the level the ACS asked for."""
    await backend.set_parameter_attributes(
        [SetParameterAttributesStruct("Device.NAT.PortMapping.1.", True, 2, False)]
    )
    attrs = device.model.get_attributes(["/BBF/NAT/PortMapping/0/Description"])
    assert attrs[0].event_on_change is True
    got = await backend.get_parameter_attributes(["Device.NAT.PortMapping.1.Description"])
    assert got[0].notification == 2
    await backend.set_parameter_attributes(
        [SetParameterAttributesStruct("Device.NAT.PortMapping.1.Description", True, 0, False)]
    )
    attrs = device.model.get_attributes(["/BBF/NAT/PortMapping/0/Description"])
    assert attrs[0].event_on_change is False


async def test_spa_access_list_is_9003(backend: UpnpBackend) -> None:
    """TR-330 §4.6.5.2.1: an attempt to set AccessList → 9003."""
    f = await fault_of(
        backend.set_parameter_attributes(
            [SetParameterAttributesStruct("Device.Time.Enable", False, 0, True, ("Subscriber",))]
        )
    )
    assert f.fault.fault_code == 9003


async def test_spa_failure_rolls_back(store: InstanceStore) -> None:
    """TR-330 §4.6.5.2.1: if one SetAttributes fails, reset the others from the cache."""
    dev = lab_device()
    faulty = FaultyDevice(dev, "set_attributes", UpnpError(708), after=1)
    backend = UpnpBackend(faulty, instance_store=store, proxier_info=PROXIER)
    f = await fault_of(
        backend.set_parameter_attributes(
            [
                SetParameterAttributesStruct("Device.Time.Enable", True, 1, False),
                SetParameterAttributesStruct("Device.Time.NTPServer1", True, 1, False),
            ]
        )
    )
    assert f.fault.fault_code == 9004  # Table 2: 708
    attrs = dev.model.get_attributes(["/BBF/Time/Enable", "/BBF/Time/NTPServer1"])
    assert [a.event_on_change for a in attrs] == [False, False]
    dev.close()


# --- AddObject / DeleteObject (TR-330 §4.6.6, §4.6.7) ------------------------------------------


async def test_add_and_delete_object(backend: UpnpBackend, device: LocalDmDevice) -> None:
    """CreateInstance's InstanceIdentifier → the next CWMP number; numbers never reused."""
    number, status = await backend.add_object("Device.NAT.PortMapping.", "k")
    assert (number, status) == (2, 0)  # existing UPnP 0 is 1; new UPnP 1 is 2
    got = await values(backend, f"Device.NAT.PortMapping.{number}.Protocol")
    assert got == {f"Device.NAT.PortMapping.{number}.Protocol": ("TCP", "xsd:string")}
    assert await backend.delete_object(f"Device.NAT.PortMapping.{number}.", "k") == 0
    assert device.model.get_instances("/BBF/NAT/PortMapping/", 1) == ["/BBF/NAT/PortMapping/0/"]
    number2, _ = await backend.add_object("Device.NAT.PortMapping.", "k")
    assert number2 == 3


async def test_add_object_faults(backend: UpnpBackend) -> None:
    """Table 2 for AddObject: 706 (read-only table) → 9001; not a table → 9005."""
    assert (await fault_of(backend.add_object("Device.Hosts.Host.", ""))).fault.fault_code == 9001
    assert (await fault_of(backend.add_object("Device.NoSuch.", ""))).fault.fault_code == 9005
    f = await fault_of(backend.add_object("Device.NAT.PortMapping.1.", ""))
    assert f.fault.fault_code == 9005


async def test_delete_object_faults(backend: UpnpBackend) -> None:
    f = await fault_of(backend.delete_object("Device.NAT.PortMapping.7.", ""))
    assert f.fault.fault_code == 9005
    f = await fault_of(backend.delete_object("Device.Hosts.Host.1.", ""))
    assert f.fault.fault_code == 9001  # 706 → 9001 for DeleteObject


# --- instances: sparse, stable, alias ----------------------------------------------------------


async def test_sparse_instances_stable_across_restart(tmp_path: Path) -> None:
    """Issue 4: UPnP 0, 2, 5 → CWMP 1, 2, 3, and the same after a proxier restart even when
    the device lists its rows differently."""
    path = tmp_path / "instances.sqlite"
    dev = lab_device()
    store = InstanceStore(path)
    backend = UpnpBackend(dev, instance_store=store, proxier_info=PROXIER)
    assert list(await names(backend, "Device.Hosts.Host.", True)) == [
        "Device.Hosts.Host.1.",
        "Device.Hosts.Host.2.",
        "Device.Hosts.Host.3.",
    ]
    store.close()
    dev.close()
    # After the restart the device has lost row UPnP 2: CWMP 3 still names UPnP 5.
    spec = load_model_spec()
    spec.instances["/BBF/Hosts/Host/"] = [0, 5]
    spec.values = {k: v for k, v in spec.values.items() if "/Host/2/" not in k}
    dev = LocalDmDevice(DataModel(spec, substitutions={"serial": "S", "oui": "0A0B0C"}))
    store2 = InstanceStore(path)
    backend2 = UpnpBackend(dev, instance_store=store2, proxier_info=PROXIER)
    got = await values(backend2, "Device.Hosts.Host.3.HostName")
    assert got == {"Device.Hosts.Host.3.HostName": ("printer", "xsd:string")}
    assert list(await names(backend2, "Device.Hosts.Host.", True)) == [
        "Device.Hosts.Host.1.",
        "Device.Hosts.Host.3.",
    ]
    store2.close()
    dev.close()


async def test_alias_kept_by_the_proxier(backend: UpnpBackend) -> None:
    """TR-330 §4.6.8: the proxier keeps instance aliases (the device has no Alias)."""
    await names(backend, "Device.NAT.PortMapping.", True)
    got = await values(backend, "Device.NAT.PortMapping.1.Alias")
    assert got == {"Device.NAT.PortMapping.1.Alias": ("cpe-1", "xsd:string")}
    pv = ParameterValueStruct("Device.NAT.PortMapping.1.Alias", "web")
    assert await backend.set_parameter_values([pv], "k") == 0
    got = await values(backend, "Device.NAT.PortMapping.[web].Description")
    assert got == {"Device.NAT.PortMapping.1.Description": ("web server", "xsd:string")}
    bad = ParameterValueStruct("Device.NAT.PortMapping.1.Alias", "9lives")
    f = await fault_of(backend.set_parameter_values([bad], "k"))
    assert f.fault.set_parameter_values_fault[0].fault_code == 9007


# --- value change (TR-330 Table 1 row 4) -------------------------------------------------------


async def config_update(backend: UpnpBackend, events: Any) -> list[ValueChange]:
    """Feed events to the backend up to the next ConfigurationUpdate; its result."""
    while True:
        event = await anext(events)
        result = await backend.handle_event(event)
        if "ConfigurationUpdate" in event.variables:
            return result


async def test_value_change_reports_only_real_changes(
    backend: UpnpBackend, device: LocalDmDevice
) -> None:
    """TR-330 §4.2.1 "4 VALUE CHANGE": on ConfigurationUpdate re-read the notified
    parameters, report changed ones, skip what the ACS itself just set."""
    seen: list[Sequence[ValueChange]] = []
    backend.set_listeners(seen.append, lambda _tc: None)
    events = device.events()
    await backend.handle_event(await anext(events))  # initial event
    await backend.set_parameter_attributes(
        [
            SetParameterAttributesStruct("Device.Hosts.Host.1.HostName", True, 2, False),
            SetParameterAttributesStruct("Device.NAT.PortMapping.1.Description", True, 1, False),
        ]
    )
    device.model.device_set({"/BBF/Hosts/Host/0/HostName": "laptop2"})
    assert await config_update(backend, events) == [
        ValueChange("Device.Hosts.Host.1.HostName", "laptop2", "xsd:string", 1)
    ]
    assert seen == [[ValueChange("Device.Hosts.Host.1.HostName", "laptop2", "xsd:string", 1)]]
    # The ACS's own change raises ConfigurationUpdate too, but is not reported back.
    pv = ParameterValueStruct("Device.NAT.PortMapping.1.Description", "acs")
    await backend.set_parameter_values([pv], "k")
    assert await config_update(backend, events) == []
    # Only notified parameters are reported: Active has EventOnChange set in the device's
    # own model (found at the initial event), HostName of row 2 has no notification.
    device.model.device_set(
        {"/BBF/Hosts/Host/2/HostName": "phone2", "/BBF/Hosts/Host/0/Active": "0"}
    )
    assert await config_update(backend, events) == [
        ValueChange("Device.Hosts.Host.1.Active", "0", "xsd:boolean", 1)
    ]
    assert len(seen) == 2


# --- device-level, identity, robustness --------------------------------------------------------


async def test_reboot_and_factory_reset_use_bms(store: InstanceStore) -> None:
    """TR-330 Table 1 rows 0/1: Reboot → BMS::Reboot, FactoryReset → BMS::BaselineReset."""
    bms = RecordingBms()
    dev = lab_device(bms=cast(BmsApi, bms))
    backend = UpnpBackend(dev, instance_store=store, proxier_info=PROXIER)
    await backend.reboot("ck")
    await backend.factory_reset()
    assert bms.calls == ["Reboot", "BaselineReset"]
    dev.close()


async def test_device_identity(backend: UpnpBackend) -> None:
    """Inform DeviceId and Forced Inform parameters from the device's DeviceInfo nodes."""
    device_id, forced = await backend.device_identity()
    assert (device_id.manufacturer, device_id.oui, device_id.product_class) == (
        "proxier lab",
        "0A0B0C",
        "LabDM",
    )
    assert device_id.serial_number == "LAB0001"
    assert {p.name: p.value for p in forced} == {
        "Device.DeviceInfo.HardwareVersion": "LabHW-2",
        "Device.DeviceInfo.SoftwareVersion": "1.0.0",
        "Device.DeviceInfo.ProvisioningCode": "",
    }


async def test_slow_device_gives_9002(
    store: InstanceStore, caplog: pytest.LogCaptureFixture
) -> None:
    """A device that never answers does not hang the session: 9002 after the timeout."""
    dev = lab_device()
    slow = FaultyDevice(dev, "get_values", None)
    backend = UpnpBackend(slow, instance_store=store, proxier_info=PROXIER, timeout=0.05)
    f = await fault_of(backend.get_parameter_values(["Device.Time.Enable"]))
    assert f.fault.fault_code == 9002
    assert "timed out" in caplog.text
    dev.close()


# --- fault injection (device side) -------------------------------------------------------------


class FaultyCms:
    """The lab CMS with one action answering a UPnP error (or never, when error is None)."""

    def __init__(self, inner: Any, action: str, error: UpnpError | None, after: int) -> None:
        self._inner = inner
        self._action = action
        self._error = error
        self._after = after
        self._failures = 1  # then the action works again
        self._never = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        real = getattr(self._inner, name)
        if name != self._action:
            return real

        async def call(*args: Any) -> Any:
            if self._after > 0 or self._failures == 0:
                self._after -= 1
                return await real(*args)
            self._failures -= 1
            if self._error is None:
                await self._never.wait()
            raise cast(UpnpError, self._error)

        return call


class FaultyDevice:
    def __init__(
        self, inner: LocalDmDevice, action: str, error: UpnpError | None, after: int = 0
    ) -> None:
        self._inner = inner
        self.cms = FaultyCms(inner.cms, action, error, after)
        self.udn = inner.udn
        self.bms = inner.bms
        self.sms = inner.sms

    def events(self) -> Any:
        return self._inner.events()


async def test_notification_level_survives_restart(tmp_path: Path) -> None:
    """CMS keeps only a boolean EventOnChange: the active/passive level the ACS chose is the
    proxier's to keep, across restarts (TR-330 §4.6.5.2.1 "keeps a cached copy")."""
    path = tmp_path / "state.sqlite"
    dev = lab_device()
    store = InstanceStore(path)
    backend = UpnpBackend(dev, instance_store=store, proxier_info=PROXIER)
    await backend.set_parameter_attributes(
        [SetParameterAttributesStruct("Device.Time.NTPServer1", True, 2, False)]
    )
    store.close()
    store2 = InstanceStore(path)
    backend2 = UpnpBackend(dev, instance_store=store2, proxier_info=PROXIER)
    got = await backend2.get_parameter_attributes(["Device.Time.NTPServer1", "Device.Time.Enable"])
    assert [(a.name, a.notification) for a in got] == [
        ("Device.Time.NTPServer1", 2),
        ("Device.Time.Enable", 0),
    ]
    store2.close()
    dev.close()


def reference_model() -> dict[str, Any]:
    """A TR-181-like model with a path-reference parameter."""
    return {
        "supported_data_models": [
            {"uri": "urn:broadband-forum-org:tr-181-2-11-0", "location": "/BBF/"}
        ],
        "nodes": [
            {"path": "/BBF/IP/Interface/#/", "access": "readWrite"},
            {"path": "/BBF/IP/Interface/#/Name", "type": "string", "default": "eth"},
            {
                "path": "/BBF/Routing/Interface",
                "type": "string",
                "access": "readWrite",
                "default": "/BBF/IP/Interface/4/",
            },
        ],
        "instances": {"/BBF/IP/Interface/": [1, 4]},
    }


async def test_path_reference_values_are_translated(store: InstanceStore) -> None:
    """TR-181 path references inside values follow the same path and instance map as names
    (TR-330 §4.6.1): `/BBF/IP/Interface/4/` reads as `Device.IP.Interface.2.`, and the ACS
    writes CWMP paths back."""
    dev = LocalDmDevice(DataModel(load_model_spec(reference_model())))
    backend = UpnpBackend(dev, instance_store=store, proxier_info=PROXIER)
    await names(backend, "Device.IP.Interface.", True)  # UPnP 1, 4 → CWMP 1, 2
    got = await values(backend, "Device.Routing.Interface")
    assert got == {"Device.Routing.Interface": ("Device.IP.Interface.2.", "xsd:string")}
    pv = ParameterValueStruct("Device.Routing.Interface", "Device.IP.Interface.1.")
    assert await backend.set_parameter_values([pv], "k") == 0
    assert dev.model.value("/BBF/Routing/Interface") == "/BBF/IP/Interface/1/"
    got = await values(backend, "Device.Routing.Interface")  # asked again: the new value
    assert got == {"Device.Routing.Interface": ("Device.IP.Interface.1.", "xsd:string")}
    # The row the reference names is deleted and the device reuses its UPnP instance for a
    # new row: the unchanged value now names the new CWMP instance.
    pv = ParameterValueStruct("Device.Routing.Interface", "Device.IP.Interface.2.")
    assert await backend.set_parameter_values([pv], "k") == 0
    got = await values(backend, "Device.Routing.Interface")
    assert got == {"Device.Routing.Interface": ("Device.IP.Interface.2.", "xsd:string")}
    assert await backend.delete_object("Device.IP.Interface.2.", "k") == 0
    reuse_instance_number(dev, "/BBF/IP/Interface/", 4)
    assert await backend.add_object("Device.IP.Interface.", "k") == (3, 0)
    assert dev.model.value("/BBF/Routing/Interface") == "/BBF/IP/Interface/4/"
    got = await values(backend, "Device.Routing.Interface")
    assert got == {"Device.Routing.Interface": ("Device.IP.Interface.3.", "xsd:string")}
    bad = ParameterValueStruct("Device.Routing.Interface", "Device.IP.Interface.9.")
    f = await fault_of(backend.set_parameter_values([bad], "k"))
    assert [(d.parameter_name, d.fault_code) for d in f.fault.set_parameter_values_fault] == [
        ("Device.Routing.Interface", 9007)
    ]
    dev.close()


async def test_upnp_dm_only_device_gets_device_info(store: InstanceStore) -> None:
    """A device with only the UPnP DM model (no TR-181 SubTree): Device.DeviceInfo identity
    and Forced Inform parameters come from its /UPnP/DM/DeviceInfo nodes
    (mappings/deviceinfo.toml), the rest of its model under Device.X_UPNP-ORG_DM."""
    spec = load_model_spec()
    spec.supported = [s for s in spec.supported if s.location == "/UPnP/DM/"]
    dev = LocalDmDevice(DataModel(spec, substitutions={"serial": "U1", "oui": "0A0B0C"}))
    backend = UpnpBackend(dev, instance_store=store, proxier_info=PROXIER)
    top = await names(backend, "Device.", True)
    assert {"Device.DeviceInfo.", "Device.X_UPNP-ORG_DM."} <= set(top)
    assert "Device.Hosts." not in top
    got = await values(backend, "Device.DeviceInfo.SoftwareVersion", "Device.DeviceInfo.")
    assert got["Device.DeviceInfo.SoftwareVersion"] == ("1.0.0", "xsd:string")
    assert got["Device.DeviceInfo.SerialNumber"] == ("U1", "xsd:string")
    assert got["Device.DeviceInfo.ProxierInfo.ProxyProtocol"] == ("UPnP-DM", "xsd:string")
    pv = ParameterValueStruct("Device.DeviceInfo.ProvisioningCode", "PC-7")
    assert await backend.set_parameter_values([pv], "k") == 0
    assert dev.model.value("/UPnP/DM/DeviceInfo/ProvisioningCode") == "PC-7"
    everything = await names(backend, "Device.", False)
    assert "Device.X_UPNP-ORG_DM.Configuration.Network.IPInterface.1.IPv4.IPAddress" in everything
    assert everything["Device.DeviceInfo.ProvisioningCode"] is True
    dev.close()


async def test_instance_list_read_across_an_add_object_is_read_again(
    backend: UpnpBackend, device: LocalDmDevice
) -> None:
    """TR-330 §4.6.6 with issue 4 (stable instance map): a GetInstances answer that was in
    flight while AddObject created a row (the §4.6.5 scan beside a session) is stale: it is
    read again instead of dropping the new row, whose name keeps working."""
    first = "Device.NAT.PortMapping.1.Description"
    assert await values(backend, first) == {first: ("web server", "xsd:string")}  # ready
    entered, gate = asyncio.Event(), asyncio.Event()
    original = device.cms.get_instances

    async def answered_before_the_add(*args: Any, **kwargs: Any) -> Any:
        result = await original(*args, **kwargs)
        # the first listing of the tree holding the table: read now, delivered after the add
        if not entered.is_set() and "/BBF/NAT/".startswith(str(args[0])):
            entered.set()
            await gate.wait()
        return result

    device.cms.get_instances = answered_before_the_add  # type: ignore[method-assign]
    listing = asyncio.create_task(backend.discover_notified())  # the §4.6.5 scan
    await asyncio.wait_for(entered.wait(), 5)
    number, _ = await asyncio.wait_for(backend.add_object("Device.NAT.PortMapping.", "k"), 5)
    gate.set()
    await asyncio.wait_for(listing, 5)
    added = f"Device.NAT.PortMapping.{number}.Description"
    assert await values(backend, added) == {added: ("", "xsd:string")}
