"""UpnpBackend over real sockets: the network CMS client against the lab device on loopback.

The in-process tests (test_backend.py) cover the TR-330 §4.6 cases; this one checks that the
same translation holds when every CMS action goes over SOAP/HTTP (XML documents, escaping,
attribute parsing) to the lab server.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp

from proxier.cwmp.rpc import CwmpFaultError, ParameterValueStruct, SetParameterAttributesStruct
from proxier.lab.server import LabServer
from proxier.translate.backend import UpnpBackend
from proxier.translate.instances import InstanceStore
from proxier.upnp.client import CmsClient, NetworkDmDevice, SoapTransport

from .conftest import PROXIER


async def test_rpcs_over_soap(tmp_path: Path) -> None:
    """TR-330 §4.6.2-§4.6.7 over loopback HTTP: names, values and types, an atomic set,
    notification, add and delete, and a Table 2 fault (703 → 9005)."""
    async with LabServer(1) as lab, aiohttp.ClientSession() as session:
        device = lab.devices[0]
        url = f"{device.base_url}{device.base_path}/cms/control"
        network = NetworkDmDevice(device.udn, CmsClient(SoapTransport(session), url))
        store = InstanceStore(tmp_path / "i.sqlite")
        backend = UpnpBackend(network, instance_store=store, proxier_info=PROXIER)
        try:
            names = [p.name for p in await backend.get_parameter_names("Device.Hosts.Host.", True)]
            assert names == ["Device.Hosts.Host.1.", "Device.Hosts.Host.2.", "Device.Hosts.Host.3."]
            got = {
                v.name: (v.value, v.type)
                for v in await backend.get_parameter_values(["Device.Hosts.Host.3."])
            }
            assert got["Device.Hosts.Host.3.HostName"] == ("printer", "xsd:string")
            assert got["Device.Hosts.Host.3.Active"] == ("0", "xsd:boolean")
            pv = ParameterValueStruct("Device.Time.NTPServer1", "ntp.lab.example")
            assert await backend.set_parameter_values([pv], "k") == 1  # ChangesCommitted
            assert device.model.value("/BBF/Time/NTPServer1") == "ntp.lab.example"
            await backend.set_parameter_attributes(
                [SetParameterAttributesStruct("Device.Time.NTPServer1", True, 2, False)]
            )
            (attr,) = await backend.get_parameter_attributes(["Device.Time.NTPServer1"])
            assert attr.notification == 2
            number, status = await backend.add_object("Device.NAT.PortMapping.", "k")
            assert (number, status) == (2, 0)
            assert await backend.delete_object(f"Device.NAT.PortMapping.{number}.", "k") == 0
            try:
                await backend.get_parameter_values(["Device.Time.NoSuch"])
            except CwmpFaultError as exc:
                assert exc.fault.fault_code == 9005
            else:
                raise AssertionError("unknown name accepted")
        finally:
            store.close()
