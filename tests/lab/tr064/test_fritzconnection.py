"""Independent check (issue 10): fritzconnection, the FRITZ! client Home Assistant uses,
works against the lab TR-064 device unpatched: discovery by address, every SCPD, digest
calls, GetInfo, the Hosts table, and FRITZ!-formatted UPnPError faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest
from fritzconnection import FritzConnection
from fritzconnection.core.exceptions import (
    FritzActionError,
    FritzAuthorizationError,
    FritzConnectionException,
)
from fritzconnection.lib.fritzhosts import FritzHosts

from proxier.lab.tr064.server import Tr064LabServer

PASSWORD = "lab-secret"


@pytest.fixture
async def lab() -> AsyncIterator[Tr064LabServer]:
    async with Tr064LabServer(1, password=PASSWORD) as server:
        yield server


def _connect(url: str, user: str = "admin", password: str = PASSWORD) -> FritzConnection:
    parts = urlsplit(url)
    return FritzConnection(
        address=parts.hostname, port=parts.port, user=user, password=password, timeout=5
    )


async def test_discovery_by_address_reads_every_scpd_and_identity(lab: Tr064LabServer) -> None:
    """Guide §3.1 manual discovery: /igddesc.xml absent (text/html 404), tr64desc.xml and
    every SCPD parsed; the model name and FRITZ!OS version come from the description."""
    fc = await asyncio.to_thread(_connect, lab.description_urls[0])
    assert fc.modelname == "FRITZ!Box 7590 (lab)"
    assert fc.system_version == "7.57"
    names = set(fc.services)
    assert {
        "DeviceInfo1",
        "DeviceConfig1",
        "Hosts1",
        "WLANConfiguration1",
        "WLANConfiguration2",
        "LANHostConfigManagement1",
        "LANEthernetInterfaceConfig1",
        "ManagementServer1",
        "UserInterface1",
        "LANConfigSecurity1",
        "Time1",
    } <= names
    assert "X_AVM-DE_DoManualUpdate" in fc.services["UserInterface1"].actions


async def test_digest_calls_get_info_and_hosts_table(lab: Tr064LabServer) -> None:
    """Guide §4.1: HTTP digest (MD5) for protected actions; DeviceInfo:GetInfo and the
    Hosts table (GetHostNumberOfEntries + GetGenericHostEntry until 713)."""
    device = lab.devices[0]

    def work() -> tuple[dict[str, object], list[dict[str, object]], dict[str, object]]:
        fc = _connect(lab.description_urls[0])
        info = fc.call_action("DeviceInfo1", "GetInfo")
        hosts = FritzHosts(fc=fc).get_hosts_info()
        port = fc.call_action("DeviceInfo1", "GetSecurityPort")
        return info, hosts, port

    info, hosts, port = await asyncio.to_thread(work)
    assert info["NewSerialNumber"] == device.mac
    assert info["NewManufacturerOUI"] == device.mac[:6]
    assert info["NewSoftwareVersion"] == device.software_version
    assert [h["name"] for h in hosts] == ["laptop", "printer", "phone"]
    assert hosts[0]["status"] is True
    assert port["NewSecurityPort"] == device.security_port


async def test_tls_on_the_security_port(
    lab: Tr064LabServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Guide §4.2: the same services over HTTPS on the port GetSecurityPort names.

    requests lets REQUESTS_CA_BUNDLE/CURL_CA_BUNDLE override the client's verify=False
    (a self-signed FRITZ! certificate), so the test runs without them, as on a desktop.
    """
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    device = lab.devices[0]

    def work() -> dict[str, object]:
        fc = FritzConnection(
            address="127.0.0.1",
            port=device.security_port,
            user="admin",
            password=PASSWORD,
            use_tls=True,
            timeout=5,
        )
        return fc.call_action("DeviceInfo1", "GetInfo")

    info = await asyncio.to_thread(work)
    assert info["NewModelName"] == "FRITZ!Box 7590 (lab)"


async def test_wrong_password_and_missing_right(lab: Tr064LabServer) -> None:
    """§6.1: unauthenticated → 401 (FritzAuthorizationError); authenticated without the
    right → 606, read from the FRITZ!-formatted UPnPError detail."""

    def wrong() -> None:
        _connect(lab.description_urls[0], password="nope").call_action("DeviceInfo1", "GetInfo")

    with pytest.raises(FritzAuthorizationError):
        await asyncio.to_thread(wrong)

    def app_user() -> None:
        _connect(lab.description_urls[0], user="app").call_action("DeviceInfo1", "GetInfo")

    with pytest.raises(FritzConnectionException, match="606"):
        await asyncio.to_thread(app_user)

    def bad_args() -> None:
        fc = _connect(lab.description_urls[0])
        fc.call_action("Hosts1", "GetGenericHostEntry", NewIndex=99)

    with pytest.raises(IndexError):
        await asyncio.to_thread(bad_args)


async def test_writes_change_state(lab: Tr064LabServer) -> None:
    """Set actions change what Get actions report (WLANConfiguration SetSSID / GetSSID)."""

    def work() -> dict[str, object]:
        fc = _connect(lab.description_urls[0])
        fc.call_action("WLANConfiguration1", "SetSSID", NewSSID="lab-net")
        return fc.call_action("WLANConfiguration1", "GetInfo")

    info = await asyncio.to_thread(work)
    assert info["NewSSID"] == "lab-net"


async def test_unknown_action_is_401_and_fault_detail_is_readable(lab: Tr064LabServer) -> None:
    """Guide §6: an unknown action answers 401 inside a UPnPError the client can read."""

    def work() -> None:
        fc = _connect(lab.description_urls[0])
        fc.soaper.execute(fc.services["Hosts1"], "GetHostNumberOfEntriesX", {})

    with pytest.raises((FritzActionError, FritzConnectionException), match="401"):
        await asyncio.to_thread(work)
