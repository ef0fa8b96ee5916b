"""The expected `Envelope` for every golden file in tests/cwmp/golden/ (hand-written to Annex A)."""

from __future__ import annotations

from datetime import UTC, datetime

from proxier.cwmp import rpc
from proxier.cwmp.rpc import Envelope, ParameterValueStruct

T0 = datetime(2026, 11, 21, 15, 16, 20, tzinfo=UTC)
T1 = datetime(2026, 11, 21, 15, 17, 5, tzinfo=UTC)

GOLDEN: dict[str, Envelope] = {
    "Inform": Envelope(
        rpc.Inform(
            device_id=rpc.DeviceIdStruct("Example & Sons", "00D09E", "MediaBox", "SN-0001"),
            event=(
                rpc.EventStruct("0 BOOTSTRAP"),
                rpc.EventStruct("1 BOOT"),
                rpc.EventStruct("M Reboot", "reboot-7"),
            ),
            max_envelopes=1,
            current_time=T0,
            retry_count=2,
            parameter_list=(
                ParameterValueStruct("Device.RootDataModelVersion", "2.11"),
                ParameterValueStruct("Device.DeviceInfo.SoftwareVersion", "1.0 <beta>"),
                ParameterValueStruct(
                    "Device.ManagementServer.ConnectionRequestURL",
                    "http://192.0.2.1:7548/cr/abc",
                ),
                ParameterValueStruct(
                    "Device.ManagementServer.AliasBasedAddressing", "0", "xsd:boolean"
                ),
            ),
        ),
        cwmp_id="inform-1",
        version="1.2",
        supported_cwmp_versions="1.0,1.1,1.2,1.3,1.4",
    ),
    "InformResponse": Envelope(
        rpc.InformResponse(1), cwmp_id="inform-1", version="1.2", use_cwmp_version="1.2"
    ),
    "GetParameterValues": Envelope(
        rpc.GetParameterValues(
            ("Device.DeviceInfo.", "Device.ManagementServer.PeriodicInformInterval")
        ),
        cwmp_id="gpv-1",
        hold_requests=True,
        version="1.0",
    ),
    "GetParameterValuesResponse": Envelope(
        rpc.GetParameterValuesResponse(
            (
                ParameterValueStruct("Device.DeviceInfo.Manufacturer", "Example"),
                ParameterValueStruct("Device.DeviceInfo.UpTime", "3600", "xsd:unsignedInt"),
                ParameterValueStruct(
                    "Device.ManagementServer.PeriodicInformEnable", "1", "xsd:boolean"
                ),
                ParameterValueStruct(
                    "Device.ManagementServer.PeriodicInformTime",
                    "0001-01-01T00:00:00Z",
                    "xsd:dateTime",
                ),
                ParameterValueStruct("Device.DeviceInfo.Description", ""),
            )
        ),
        cwmp_id="gpv-1",
        version="1.0",
    ),
    "SetParameterValues": Envelope(
        rpc.SetParameterValues(
            (
                ParameterValueStruct(
                    "Device.ManagementServer.PeriodicInformInterval", "300", "xsd:unsignedInt"
                ),
                ParameterValueStruct("Device.DeviceInfo.ProvisioningCode", "TEST-CODE-42"),
            ),
            parameter_key="key-2026",
        ),
        cwmp_id="spv-1",
        version="1.1",
    ),
    "SetParameterValuesResponse": Envelope(
        rpc.SetParameterValuesResponse(1), cwmp_id="spv-1", version="1.1"
    ),
    "Fault": Envelope(
        rpc.Fault(
            9003,
            "Invalid arguments",
            (
                rpc.SetParameterValuesFault(
                    "Device.ManagementServer.PeriodicInformInterval",
                    9007,
                    "Invalid parameter value",
                ),
                rpc.SetParameterValuesFault(
                    "Device.DeviceInfo.Manufacturer",
                    9008,
                    "Attempt to set a non-writable parameter",
                ),
            ),
        ),
        cwmp_id="spv-1",
        version="1.1",
    ),
}
