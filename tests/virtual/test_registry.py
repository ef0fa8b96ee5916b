"""The VirtualDevice table (TR-069 Annex J.2, TR-181 ManagementServer.VirtualDevice.{i})."""

import os
import stat
from pathlib import Path

from proxier.virtual.registry import DeviceKey, Registry

KEY = DeviceKey("00D09E", "LabBox", "SN0001")


def values(reg: Registry) -> dict[str, str]:
    return {p.name: p.value for p in reg.parameters()}


def test_new_device_gets_row_and_count(tmp_path: Path) -> None:
    """TR-330 §4.3.1: the proxier lists each virtual device and VirtualDeviceNumberOfEntries."""
    reg = Registry(tmp_path)
    rec, created = reg.add(KEY, "ACME", ("uuid:a",), "http://127.0.0.1:1/d.xml")
    assert created and rec.instance == 1
    v = values(reg)
    assert v["Device.ManagementServer.VirtualDeviceNumberOfEntries"] == "1"
    assert v["Device.ManagementServer.VirtualDevice.1.ManufacturerOUI"] == "00D09E"
    assert v["Device.ManagementServer.VirtualDevice.1.ProductClass"] == "LabBox"
    assert v["Device.ManagementServer.VirtualDevice.1.SerialNumber"] == "SN0001"
    assert v["Device.ManagementServer.VirtualDevice.1.ProxyProtocol"] == "UPnP-DM"


def test_same_key_merges_udns_instead_of_new_row(tmp_path: Path) -> None:
    """TR-330 §4.1.1: one physical device seen twice (e.g. two interfaces) is one virtual device."""
    reg = Registry(tmp_path)
    reg.add(KEY, "ACME", ("uuid:a",), "http://127.0.0.1:1/d.xml")
    rec, created = reg.add(KEY, "ACME", ("uuid:b",), "http://127.0.0.1:2/d.xml")
    assert not created
    assert rec.udns == ("uuid:a", "uuid:b")
    assert len(reg) == 1


def test_restart_keeps_instance_credentials_and_path(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    rec, _ = reg.add(KEY, "ACME", ("uuid:a",), "http://127.0.0.1:1/d.xml")
    reg.close()
    again = Registry(tmp_path)
    restored = again.get(KEY)
    assert restored is not None
    assert (restored.instance, restored.cr_token, restored.cr_password) == (
        rec.instance,
        rec.cr_token,
        rec.cr_password,
    )


def test_instance_numbers_never_reused(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    first, _ = reg.add(KEY, "ACME", ("uuid:a",), "")
    reg.remove(first)
    second, _ = reg.add(DeviceKey("00D09E", "LabBox", "SN0002"), "ACME", ("uuid:c",), "")
    assert second.instance == 2


def test_offline_device_keeps_row(tmp_path: Path) -> None:
    reg = Registry(tmp_path)
    rec, _ = reg.add(KEY, "ACME", ("uuid:a",), "")
    reg.update(rec, online=False)
    assert values(reg)["Device.ManagementServer.VirtualDeviceNumberOfEntries"] == "1"
    got = reg.get(KEY)
    assert got is not None and not got.online


def test_state_is_private(tmp_path: Path) -> None:
    """Brief: state files are private (credentials live there)."""
    state = tmp_path / "state"
    reg = Registry(state)
    reg.add(KEY, "ACME", ("uuid:a",), "")
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(state / "registry.sqlite").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(state / "devices").st_mode) == 0o700
    rec = next(iter(reg))
    assert rec.cr_password not in repr(rec)
