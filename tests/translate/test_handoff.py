"""Forced Inform values read with a value change (proxier.translate.handoff, issue 13 storms):
the backend over the lab device model. They save the Inform a GetValues, but never stand in
for the device once they may be stale (TR-069 A.3.3.1: an Inform's forced values are the
device's)."""

from __future__ import annotations

from typing import Any

from proxier.cwmp.rpc import CwmpFaultError, ParameterValueStruct, SetParameterAttributesStruct
from proxier.lab.local import LocalDmDevice
from proxier.translate.backend import UpnpBackend
from proxier.translate.handoff import ReadHandoff
from proxier.translate.instances import InstanceStore
from proxier.upnp.device import ParameterValue

from .conftest import PROXIER

CODE = "Device.DeviceInfo.ProvisioningCode"
UPNP = "/BBF/DeviceInfo/ProvisioningCode"
FORCED = [
    "Device.DeviceInfo.HardwareVersion",
    "Device.DeviceInfo.SoftwareVersion",
    CODE,
]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def notified_backend(device: LocalDmDevice, store: InstanceStore, clock: Clock) -> Any:
    """A backend past its initial event, ProvisioningCode notified, forced values read once
    (as the bootstrap Inform does); returns (backend, event stream)."""
    backend = UpnpBackend(device, instance_store=store, proxier_info=PROXIER, clock=clock)
    backend.set_listeners(lambda _changes: None, lambda _tc: None)
    events = device.events()
    await backend.handle_event(await anext(events))  # initial event
    await backend.set_parameter_attributes([SetParameterAttributesStruct(CODE, True, 2, False)])
    await backend.get_parameter_values(FORCED)
    return backend, events


async def change(backend: UpnpBackend, events: Any, device: LocalDmDevice, value: str) -> None:
    device.model.device_set({UPNP: value})
    while "ConfigurationUpdate" not in (event := await anext(events)).variables:
        await backend.handle_event(event)
    assert [c.value for c in await backend.handle_event(event)] == [value]


def code_of(values: list[ParameterValueStruct]) -> str:
    return next(pv.value for pv in values if pv.name == CODE)


async def test_acs_set_after_a_change_read_is_read_from_the_device(
    device: LocalDmDevice, store: InstanceStore
) -> None:
    """Issue 13 (storms): once another action went to the device (the ACS's SetParameterValues)
    the values read with a change are dropped: the next forced read asks the device."""
    backend, events = await notified_backend(device, store, Clock())
    await change(backend, events, device, "device-1")
    await backend.set_parameter_values([ParameterValueStruct(CODE, "acs-1")], "k")
    assert code_of(await backend.get_parameter_values(FORCED)) == "acs-1"


async def test_a_read_during_a_session_is_not_kept_for_the_next_one(
    device: LocalDmDevice, store: InstanceStore
) -> None:
    """Issue 13 (storms): values read with a change while a session runs are dropped when
    it ends (anything may have happened in it): the next Inform reads the device."""
    backend, events = await notified_backend(device, store, Clock())
    await change(backend, events, device, "device-1")
    await backend.after_session()
    device.model.device_set({UPNP: "device-2"})  # its event not consumed: no new read
    assert code_of(await backend.get_parameter_values(FORCED)) == "device-2"


async def test_handed_over_values_are_used_once_and_expire(
    device: LocalDmDevice, store: InstanceStore
) -> None:
    """Issue 13 (storms): the forced values read with a change serve the next read of them
    within HANDOFF_TTL only, and only once; later reads ask the device."""
    clock = Clock()
    backend, events = await notified_backend(device, store, clock)
    await change(backend, events, device, "device-1")
    assert code_of(await backend.get_parameter_values(FORCED)) == "device-1"
    device.model.device_set({UPNP: "device-2"})  # its event not consumed: no new read
    assert code_of(await backend.get_parameter_values(FORCED)) == "device-2"  # used once
    await change(backend, events, device, "device-3")
    clock.now += 2.5  # past HANDOFF_TTL
    device.model.device_set({UPNP: "device-4"})
    assert code_of(await backend.get_parameter_values(FORCED)) == "device-4"


async def test_a_refused_combined_read_still_reads_the_change() -> None:
    """Issue 13 (storms): a device that refuses a forced path in the combined read (9005)
    still has its change read, and is read without the extra paths from then on."""
    asked: list[list[str]] = []

    async def get(paths: Any) -> list[ParameterValue]:
        asked.append(list(paths))
        if "/X/Forced" in paths:
            raise CwmpFaultError(9005, "no such node")
        return [ParameterValue(p, "v") for p in paths]

    handoff = ReadHandoff()
    got = await handoff.read(["/X/Watched"], ["/X/Forced"], get, 0.0)
    assert [pv.path for pv in got] == ["/X/Watched"]
    await handoff.read(["/X/Watched"], ["/X/Forced"], get, 1.0)
    assert asked == [["/X/Watched", "/X/Forced"], ["/X/Watched"], ["/X/Watched"]]
