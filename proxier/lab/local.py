"""`LocalDmDevice`: the `DmDevice` protocol served straight from a lab data model, no network.

Translation unit tests use it to drive a real CMS engine (the same one the lab server
exposes over SOAP) without sockets. `LocalDmDevice.simulated()` adds BMS and SMS backed by a
`LabDevice` (the lab server's own action handlers, argument checks and state machines), so
diagnostics, reboot and firmware operations behave as over the network, minus HTTP.
Events follow GENA's shape: each `events()` iterator starts with an initial event per
service carrying every evented variable, then one event per change, with SEQ counting from
0 per service and iterator (UDA §4.2).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from proxier.lab.datamodel import DataModel, ModelChange
from proxier.lab.device import LabDevice
from proxier.lab.scpd import BMS, SMS, ServiceDef
from proxier.upnp.device import (
    BmsApi,
    CmsApi,
    DmEvent,
    DUInfo,
    LogInfo,
    NodeAttributes,
    NSLookupResult,
    OperationInfo,
    ParameterValue,
    PingResult,
    SmsApi,
    SupportedDataModel,
    TestInfo,
    TracerouteResult,
)


class LocalCms:
    """CmsApi over a `DataModel` (errors are the model's `UpnpError`s, unchanged)."""

    def __init__(self, model: DataModel) -> None:
        self.model = model

    async def get_supported_data_models(self) -> list[SupportedDataModel]:
        return self.model.get_supported_data_models()

    async def get_supported_parameters(self, starting_node: str, search_depth: int) -> list[str]:
        return self.model.get_supported_parameters(starting_node, search_depth)

    async def get_instances(self, starting_node: str, search_depth: int) -> list[str]:
        return self.model.get_instances(starting_node, search_depth)

    async def get_values(self, paths: Sequence[str]) -> list[ParameterValue]:
        return self.model.get_values(paths)

    async def get_selected_values(self, starting_node: str, filter: str) -> list[ParameterValue]:
        return self.model.get_selected_values(starting_node, filter)

    async def set_values(self, values: Sequence[ParameterValue]) -> str:
        return self.model.set_values(values)

    async def create_instance(
        self, multi_instance_name: str, children: Sequence[ParameterValue]
    ) -> tuple[str, str]:
        return self.model.create_instance(multi_instance_name, children)

    async def delete_instance(self, instance_identifier: str) -> str:
        return self.model.delete_instance(instance_identifier)

    async def get_attributes(self, paths: Sequence[str]) -> list[NodeAttributes]:
        return self.model.get_attributes(paths)

    async def set_attributes(self, nodes: Sequence[NodeAttributes]) -> str:
        return self.model.set_attributes(nodes)

    async def get_configuration_update(self) -> str:
        return self.model.get_configuration_update()

    async def get_current_configuration_version(self) -> int:
        return self.model.get_current_configuration_version()

    async def get_supported_data_models_update(self) -> str:
        return self.model.get_supported_data_models_update()

    async def get_supported_parameters_update(self) -> str:
        return self.model.get_supported_parameters_update()

    async def get_attribute_values_update(self) -> str:
        return self.model.get_attribute_values_update()

    async def get_inconsistent_status(self) -> bool:
        return self.model.get_inconsistent_status()

    async def get_alarms_enabled(self) -> bool:
        return self.model.get_alarms_enabled()

    async def set_alarms_enabled(self, enabled: bool) -> None:
        self.model.set_alarms_enabled(enabled)


async def _call(lab: LabDevice, service: ServiceDef, action: str, **args: str) -> dict[str, str]:
    result = await lab.call(service, action, args)
    if result.after is not None:
        result.after()
    return dict(result.outputs)


def _ids(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _flag(value: bool) -> str:
    return "1" if value else "0"


class LocalBms:
    """BmsApi over a `LabDevice` (same handlers as the SOAP server)."""

    def __init__(self, lab: LabDevice) -> None:
        self.lab = lab

    async def _c(self, action: str, **args: str) -> dict[str, str]:
        return await _call(self.lab, BMS, action, **args)

    async def reboot(self) -> str:
        return (await self._c("Reboot"))["RebootStatus"]

    async def baseline_reset(self) -> None:
        await self._c("BaselineReset")

    async def get_device_status(self) -> str:
        return (await self._c("GetDeviceStatus"))["DeviceStatus"]

    async def ping(
        self, host: str, repetitions: int, timeout_ms: int, data_block_size: int, dscp: int
    ) -> int:
        out = await self._c(
            "Ping",
            Host=host,
            NumberOfRepetitions=str(repetitions),
            Timeout=str(timeout_ms),
            DataBlockSize=str(data_block_size),
            DSCP=str(dscp),
        )
        return int(out["TestID"])

    async def get_ping_result(self, test_id: int) -> PingResult:
        out = await self._c("GetPingResult", TestID=str(test_id))
        return PingResult(
            out["Status"],
            out["AdditionalInfo"],
            int(out["SuccessCount"]),
            int(out["FailureCount"]),
            int(out["AverageResponseTime"]),
            int(out["MinimumResponseTime"]),
            int(out["MaximumResponseTime"]),
        )

    async def nslookup(
        self, host_name: str, dns_server: str, repetitions: int, timeout_ms: int
    ) -> int:
        out = await self._c(
            "NSLookup",
            HostName=host_name,
            DNSServer=dns_server,
            NumberOfRepetitions=str(repetitions),
            Timeout=str(timeout_ms),
        )
        return int(out["TestID"])

    async def get_nslookup_result(self, test_id: int) -> NSLookupResult:
        out = await self._c("GetNSLookupResult", TestID=str(test_id))
        return NSLookupResult(
            out["Status"], out["AdditionalInfo"], int(out["SuccessCount"]), out["Result"]
        )

    async def traceroute(
        self, host: str, timeout_ms: int, data_block_size: int, max_hop_count: int, dscp: int
    ) -> int:
        out = await self._c(
            "Traceroute",
            Host=host,
            Timeout=str(timeout_ms),
            DataBlockSize=str(data_block_size),
            MaxHopCount=str(max_hop_count),
            DSCP=str(dscp),
        )
        return int(out["TestID"])

    async def get_traceroute_result(self, test_id: int) -> TracerouteResult:
        out = await self._c("GetTracerouteResult", TestID=str(test_id))
        return TracerouteResult(
            out["Status"], out["AdditionalInfo"], int(out["ResponseTime"]), out["HopHosts"]
        )

    async def get_test_ids(self) -> list[int]:
        return _ids((await self._c("GetTestIDs"))["TestIDs"])

    async def get_active_test_ids(self) -> list[int]:
        return _ids((await self._c("GetActiveTestIDs"))["TestIDs"])

    async def get_test_info(self, test_id: int) -> TestInfo:
        out = await self._c("GetTestInfo", TestID=str(test_id))
        return TestInfo(out["Type"], out["State"])

    async def cancel_test(self, test_id: int) -> None:
        await self._c("CancelTest", TestID=str(test_id))

    async def get_log_uris(self) -> list[str]:
        return [u for u in (await self._c("GetLogURIs"))["LogURIs"].split(",") if u]

    async def set_log_info(self, log_uri: str, enabled: bool, log_level: str) -> None:
        await self._c("SetLogInfo", LogURI=log_uri, Enabled=_flag(enabled), LogLevel=log_level)

    async def get_log_info(self, log_uri: str) -> LogInfo:
        out = await self._c("GetLogInfo", LogURI=log_uri)
        return LogInfo(
            out["Configurable"] == "1",
            out["Enabled"] == "1",
            out["LogLevel"],
            out["LogURL"],
            int(out["MaxSize"]),
            out["LastChange"],
        )


class LocalSms:
    """SmsApi over a `LabDevice`; Install/Update download over HTTP (loopback) as the lab does."""

    def __init__(self, lab: LabDevice) -> None:
        self.lab = lab

    async def _c(self, action: str, **args: str) -> dict[str, str]:
        return await _call(self.lab, SMS, action, **args)

    async def install(self, du_uri: str, du_type: str, handle_dependencies: bool) -> int:
        out = await self._c(
            "Install", DUURI=du_uri, DUType=du_type, HandleDependencies=_flag(handle_dependencies)
        )
        return int(out["OperationID"])

    async def update(self, du_id: int, new_du_uri: str, handle_dependencies: bool) -> int:
        out = await self._c(
            "Update",
            DUID=str(du_id),
            NewDUURI=new_du_uri,
            HandleDependencies=_flag(handle_dependencies),
        )
        return int(out["OperationID"])

    async def uninstall(self, du_id: int, handle_dependencies: bool) -> int:
        out = await self._c(
            "Uninstall", DUID=str(du_id), HandleDependencies=_flag(handle_dependencies)
        )
        return int(out["OperationID"])

    async def get_du_ids(self) -> list[int]:
        return _ids((await self._c("GetDUIDs"))["DUIDs"])

    async def get_operation_ids(self) -> list[int]:
        return _ids((await self._c("GetOperationIDs"))["OperationIDs"])

    async def get_operation_info(self, operation_id: int) -> OperationInfo:
        out = await self._c("GetOperationInfo", OperationID=str(operation_id))
        return OperationInfo(
            out["OperationState"],
            out["TargetedIDs"],
            out["Action"],
            out["ErrorDescription"],
            out["AdditionalInfo"],
        )

    async def get_du_info(self, du_id: int) -> DUInfo:
        out = await self._c("GetDUInfo", DUID=str(du_id))
        return DUInfo(out["DUName"], out["DUVersion"], out["DUType"], out["DUState"], out["DUURI"])


_CLOSED = object()


class LocalDmDevice:
    """A `DmDevice` backed by a `DataModel` in this process (CMS; BMS/SMS when given)."""

    def __init__(
        self,
        model: DataModel | None = None,
        *,
        udn: str = "uuid:00000000-0000-4000-8000-000000000000",
        bms: BmsApi | None = None,
        sms: SmsApi | None = None,
    ) -> None:
        self.model = model if model is not None else DataModel()
        self._udn = udn
        self._cms = LocalCms(self.model)
        self._bms = bms
        self._sms = sms
        self._queues: list[asyncio.Queue[object]] = []
        self._closed = False
        self.lab: LabDevice | None = None
        self.model.changes.append(self._on_change)

    @classmethod
    def simulated(
        cls,
        model: DataModel | None = None,
        *,
        udn: str = "uuid:00000000-0000-4000-8000-000000000000",
    ) -> LocalDmDevice:
        """CMS, BMS and SMS, all simulated in process by a `LabDevice` (see module doc)."""
        lab = LabDevice(0, udn, model if model is not None else DataModel())
        device = cls(lab.model, udn=udn, bms=LocalBms(lab), sms=LocalSms(lab))
        device.lab = lab
        lab.observers.append(device._on_lab_event)
        return device

    def _on_lab_event(self, service: str, variables: dict[str, str]) -> None:
        if service != "CMS":  # CMS changes arrive through the model hook already
            self.publish(service, variables)

    @property
    def udn(self) -> str:
        return self._udn

    @property
    def cms(self) -> CmsApi:
        return self._cms

    @property
    def bms(self) -> BmsApi | None:
        return self._bms

    @property
    def sms(self) -> SmsApi | None:
        return self._sms

    def publish(self, service: str, variables: dict[str, str]) -> None:
        """Queue an event for every open `events()` iterator (BMS/SMS cores call this)."""
        for queue in self._queues:
            queue.put_nowait((service, dict(variables)))

    def _on_change(self, change: ModelChange) -> None:
        if change.variables:
            self.publish("CMS", change.variables)

    async def events(self) -> AsyncIterator[DmEvent]:
        """Initial events (every evented variable, SEQ 0 per service), then every change with
        SEQ counting per service as GENA does, until `close()`."""
        queue: asyncio.Queue[object] = asyncio.Queue()
        self._queues.append(queue)
        seqs: dict[str, int] = {}
        try:
            if self._closed:
                return
            yield DmEvent("CMS", self.model.state_variables(), 0)
            seqs["CMS"] = 0
            if self.lab is not None:
                for service in ("BMS", "SMS"):
                    yield DmEvent(service, self.lab.state_variables(service), 0)
                    seqs[service] = 0
            while True:
                item = await queue.get()
                if item is _CLOSED:
                    return
                assert isinstance(item, tuple)
                service, variables = item
                seqs[service] = seqs.get(service, -1) + 1
                yield DmEvent(service, variables, seqs[service])
        finally:
            self._queues.remove(queue)

    def close(self) -> None:
        """End every `events()` iterator and detach from the model."""
        self._closed = True
        if self.lab is not None and self._on_lab_event in self.lab.observers:
            self.lab.observers.remove(self._on_lab_event)
        if self._on_change in self.model.changes:
            self.model.changes.remove(self._on_change)
        for queue in self._queues:
            queue.put_nowait(_CLOSED)
