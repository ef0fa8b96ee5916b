"""One Device:2 tree from two backends: the translated model plus the engine's ManagementServer."""

import pytest

from proxier.cwmp.memory import MemoryBackend, ParamSpec, add_management_server
from proxier.cwmp.mount import MountedBackend
from proxier.cwmp.rpc import CwmpFaultError, ParameterValueStruct, SetParameterAttributesStruct

MS = "Device.ManagementServer."


def build() -> tuple[MountedBackend, MemoryBackend, MemoryBackend]:
    main = MemoryBackend()
    main.add_parameter("Device.DeviceInfo.SerialNumber", ParamSpec("SN1"))
    main.add_parameter("Device.DeviceInfo.ProvisioningCode", ParamSpec("", writable=True))
    main.add_table("Device.Hosts.Host.", {"HostName": ParamSpec(writable=True)})
    main.freeze_defaults()
    ms = MemoryBackend()
    add_management_server(ms, acs_url="http://127.0.0.1:7547/")
    ms.freeze_defaults()
    return MountedBackend(main, {MS: ms}), main, ms


async def test_names_merge_both_trees() -> None:
    """TR-069 A.3.2.3 GetParameterNames with NextLevel true on Device. lists both subtrees."""
    b, _, _ = build()
    names = {i.name for i in await b.get_parameter_names("Device.", True)}
    assert {"Device.DeviceInfo.", "Device.Hosts.", MS} <= names
    deep = {i.name for i in await b.get_parameter_names("Device.", False)}
    assert MS + "URL" in deep and "Device.DeviceInfo.SerialNumber" in deep


async def test_partial_path_values_cover_mount() -> None:
    b, _, _ = build()
    values = {p.name: p.value for p in await b.get_parameter_values(["Device."])}
    assert values["Device.DeviceInfo.SerialNumber"] == "SN1"
    assert values[MS + "URL"] == "http://127.0.0.1:7547/"


async def test_mount_only_path_goes_to_mount() -> None:
    b, _, _ = build()
    values = await b.get_parameter_values([MS + "PeriodicInformInterval"])
    assert [p.name for p in values] == [MS + "PeriodicInformInterval"]


async def test_mixed_names_go_to_their_owners() -> None:
    """TR-069 A.3.2.2: parameters of both trees in one request, and the empty path (the whole
    tree) reaching the mount too."""
    b, _, _ = build()
    asked = ["Device.DeviceInfo.SerialNumber", MS + "URL", "Device.DeviceInfo.ProvisioningCode"]
    values = await b.get_parameter_values(asked)
    assert sorted(p.name for p in values) == sorted(asked)
    everything = {p.name for p in await b.get_parameter_values([""])}
    assert {MS + "URL", "Device.DeviceInfo.SerialNumber"} <= everything


async def test_spv_across_backends_is_atomic() -> None:
    """TR-069 A.3.2.1: SetParameterValues is all or nothing, even across the two backends."""
    b, _, ms = build()
    with pytest.raises(CwmpFaultError):
        await b.set_parameter_values(
            [
                ParameterValueStruct(MS + "PeriodicInformInterval", "60", "xsd:unsignedInt"),
                ParameterValueStruct("Device.DeviceInfo.SerialNumber", "X"),  # read-only
            ],
            "k1",
        )
    assert ms.value(MS + "PeriodicInformInterval") == "3600"


async def test_spv_across_backends_applies_both() -> None:
    b, main, ms = build()
    await b.set_parameter_values(
        [
            ParameterValueStruct(MS + "PeriodicInformInterval", "60", "xsd:unsignedInt"),
            ParameterValueStruct("Device.DeviceInfo.ProvisioningCode", "abc"),
        ],
        "k2",
    )
    assert ms.value(MS + "PeriodicInformInterval") == "60"
    assert main.value("Device.DeviceInfo.ProvisioningCode") == "abc"


async def test_add_object_routes_to_owner() -> None:
    b, main, _ = build()
    number, status = await b.add_object("Device.Hosts.Host.", "k3")
    assert status == 0
    assert main.value(f"Device.Hosts.Host.{number}.HostName") == ""


async def test_attributes_route_by_name() -> None:
    b, _, _ = build()
    await b.set_parameter_attributes(
        [SetParameterAttributesStruct(MS + "PeriodicInformInterval", True, 1, False)]
    )
    attrs = await b.get_parameter_attributes([MS + "PeriodicInformInterval"])
    assert attrs[0].notification == 1
