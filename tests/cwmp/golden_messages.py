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
    "GetRPCMethods": Envelope(rpc.GetRPCMethods(), cwmp_id="rpc-1", version="1.0"),
    "GetRPCMethodsResponse": Envelope(
        rpc.GetRPCMethodsResponse(("Inform", "GetRPCMethods", "TransferComplete")),
        cwmp_id="rpc-1",
        version="1.0",
    ),
    "GetParameterNames": Envelope(
        rpc.GetParameterNames("", next_level=True), cwmp_id="gpn-1", version="1.0"
    ),
    "GetParameterNamesResponse": Envelope(
        rpc.GetParameterNamesResponse(
            (
                rpc.ParameterInfoStruct("Device.", writable=False),
                rpc.ParameterInfoStruct("Device.DeviceInfo.ProvisioningCode", writable=True),
            )
        ),
        cwmp_id="gpn-1",
        version="1.0",
    ),
    "GetParameterAttributes": Envelope(
        rpc.GetParameterAttributes(("Device.DeviceInfo.SoftwareVersion",)),
        cwmp_id="gpa-1",
        version="1.1",
    ),
    "GetParameterAttributesResponse": Envelope(
        rpc.GetParameterAttributesResponse(
            (
                rpc.ParameterAttributeStruct("Device.DeviceInfo.SoftwareVersion", 2),
                rpc.ParameterAttributeStruct(
                    "Device.DeviceInfo.ProvisioningCode", 1, ("Subscriber",)
                ),
            )
        ),
        cwmp_id="gpa-1",
        version="1.1",
    ),
    "SetParameterAttributes": Envelope(
        rpc.SetParameterAttributes(
            (
                rpc.SetParameterAttributesStruct(
                    "Device.ManagementServer.ConnectionRequestURL",
                    notification_change=True,
                    notification=2,
                    access_list_change=False,
                ),
            )
        ),
        cwmp_id="spa-1",
        version="1.2",
    ),
    "SetParameterAttributesResponse": Envelope(
        rpc.SetParameterAttributesResponse(), cwmp_id="spa-1", version="1.2"
    ),
    "AddObject": Envelope(
        rpc.AddObject("Device.IP.Interface.", "k1"), cwmp_id="add-1", version="1.2"
    ),
    "AddObjectResponse": Envelope(
        rpc.AddObjectResponse(instance_number=3, status=0), cwmp_id="add-1", version="1.2"
    ),
    "DeleteObject": Envelope(
        rpc.DeleteObject("Device.IP.Interface.3.", "k2"), cwmp_id="del-1", version="1.3"
    ),
    "DeleteObjectResponse": Envelope(rpc.DeleteObjectResponse(0), cwmp_id="del-1", version="1.3"),
    "Reboot": Envelope(rpc.Reboot("reboot-7"), cwmp_id="reboot-1", version="1.3"),
    "RebootResponse": Envelope(rpc.RebootResponse(), cwmp_id="reboot-1", version="1.3"),
    "FactoryReset": Envelope(rpc.FactoryReset(), cwmp_id="fr-1", version="1.4"),
    "FactoryResetResponse": Envelope(rpc.FactoryResetResponse(), cwmp_id="fr-1", version="1.4"),
    "Download": Envelope(
        rpc.Download(
            command_key="dl-42",
            file_type="1 Firmware Upgrade Image",
            url="http://198.51.100.7:7567/fw.bin?a=1&b=2",
            username="fw",
            password="s3cret",
            file_size=1048576,
            target_file_name="fw.bin",
        ),
        cwmp_id="dl-1",
        version="1.0",
    ),
    "DownloadResponse": Envelope(rpc.DownloadResponse(1), cwmp_id="dl-1", version="1.0"),
    "Upload": Envelope(
        rpc.Upload("ul-1", "2 Vendor Log File", "https://198.51.100.7/upload", delay_seconds=30),
        cwmp_id="ul-1",
        version="1.1",
    ),
    "UploadResponse": Envelope(rpc.UploadResponse(0, T0, T1), cwmp_id="ul-1", version="1.1"),
    "ScheduleInform": Envelope(rpc.ScheduleInform(60, "si-1"), cwmp_id="si-1", version="1.1"),
    "ScheduleInformResponse": Envelope(rpc.ScheduleInformResponse(), cwmp_id="si-1", version="1.1"),
    "GetQueuedTransfers": Envelope(rpc.GetQueuedTransfers(), cwmp_id="gqt-1", version="1.0"),
    "GetQueuedTransfersResponse": Envelope(
        rpc.GetQueuedTransfersResponse(
            (rpc.QueuedTransferStruct("dl-42", 2), rpc.QueuedTransferStruct("ul-1", 1))
        ),
        cwmp_id="gqt-1",
        version="1.0",
    ),
    "GetAllQueuedTransfers": Envelope(rpc.GetAllQueuedTransfers(), cwmp_id="gaqt-1", version="1.1"),
    "GetAllQueuedTransfersResponse": Envelope(
        rpc.GetAllQueuedTransfersResponse(
            (
                rpc.AllQueuedTransferStruct(
                    "dl-42", 2, True, "1 Firmware Upgrade Image", 1048576, "fw.bin"
                ),
            )
        ),
        cwmp_id="gaqt-1",
        version="1.1",
    ),
    "CancelTransfer": Envelope(rpc.CancelTransfer("dl-42"), cwmp_id="ct-1", version="1.2"),
    "CancelTransferResponse": Envelope(rpc.CancelTransferResponse(), cwmp_id="ct-1", version="1.2"),
    "ScheduleDownload": Envelope(
        rpc.ScheduleDownload(
            command_key="sd-1",
            file_type="1 Firmware Upgrade Image",
            url="http://198.51.100.7:7567/fw.bin",
            file_size=2048,
            time_window_list=(
                rpc.TimeWindowStruct(0, 3600, "1 At Any Time", "", -1),
                rpc.TimeWindowStruct(7200, 10800, "4 Confirmation Needed", "Update tonight?", 3),
            ),
        ),
        cwmp_id="sd-1",
        version="1.2",
    ),
    "TransferComplete": Envelope(
        rpc.TransferComplete(
            "dl-42", rpc.FaultStruct(9010, "Download failure: checksum mismatch"), T0, T1
        ),
        cwmp_id="tc-1",
        version="1.0",
    ),
    "TransferCompleteResponse": Envelope(
        rpc.TransferCompleteResponse(), cwmp_id="tc-1", version="1.0"
    ),
    "AutonomousTransferComplete": Envelope(
        rpc.AutonomousTransferComplete(
            announce_url="http://lan.example/announce",
            transfer_url="http://lan.example/fw.bin",
            is_download=True,
            file_type="1 Firmware Upgrade Image",
            file_size=4096,
            target_file_name="fw.bin",
            fault_struct=rpc.FaultStruct(),
            start_time=T0,
            complete_time=T1,
        ),
        cwmp_id="atc-1",
        version="1.1",
    ),
    "AutonomousTransferCompleteResponse": Envelope(
        rpc.AutonomousTransferCompleteResponse(), cwmp_id="atc-1", version="1.1"
    ),
}
