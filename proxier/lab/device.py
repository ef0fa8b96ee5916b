"""One lab ManageableDevice:2 at run time: its action handlers, events, reboot and fault knobs.

The sans-IO cores (`DataModel`, `BmsCore`, `SmsCore`, `Publisher`) hold the state; this
module wires them to asyncio: it runs diagnostics and software operations as tasks, sends
GENA NOTIFYs in SEQ order, goes down and up again on Reboot/BaselineReset, and applies the
fault knobs tests set from Python or over the lab's control endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import aiohttp

from proxier.lab.bms import BmsCore, log_uri
from proxier.lab.datamodel import DataModel, ModelChange, iso_time
from proxier.lab.publisher import GenaRefused, Publisher, Subscription, build_propertyset
from proxier.lab.scpd import SERVICES, ServiceDef, check_arguments
from proxier.lab.sms import FIRMWARE, Operation, SmsCore
from proxier.logsafe import get_logger
from proxier.upnp import cms_xml
from proxier.upnp.device import UpnpError
from proxier.upnp.http import HttpFetchError, bounded_request

if TYPE_CHECKING:
    from proxier.lab.dp import LabProtection
    from proxier.lab.tls_front import TlsFront

_LOG = get_logger(__name__)

SOFTWARE_VERSION_PATHS = (
    "/UPnP/DM/DeviceInfo/SoftwareVersion",
    "/BBF/DeviceInfo/SoftwareVersion",
)
#: Pause between a SUBSCRIBE answer and its initial event (see `send_initial_event`).
INITIAL_EVENT_DELAY = 0.1
NOTIFY_TIMEOUT = 5.0
DOWNLOAD_TIMEOUT = 10.0


@dataclass(slots=True)
class Faults:
    """Per-device fault-injection knobs (all off by default)."""

    latency: float = 0.0  # seconds added to every action
    action_latency: dict[str, float] = field(default_factory=dict)
    errors: dict[str, tuple[int, str]] = field(default_factory=dict)  # action → UPnP error
    #: action → N: its `errors` entry is answered once, by the Nth call from now, then dropped
    #: (e.g. the second SetAttributes of one SetParameterAttributes fails, the rollback works)
    error_at: dict[str, int] = field(default_factory=dict)
    refuse_subscriptions: bool = False  # SUBSCRIBE → 503
    drop_events: bool = False  # subscriptions accepted, NOTIFYs lost (their SEQ is used up)
    silent: bool = False  # gone: no HTTP answers (503), no SSDP, no byebye
    #: SCPDs answer 503 (overloaded during bootstrap: the description reads, its SCPDs do not)
    scpd_unavailable: bool = False
    busy: bool = False  # CMS answers 708
    disk_full: bool = False  # SMS downloads fail with Error_DiskFull
    reboot_delay: float = 2.0  # seconds down during Reboot/BaselineReset
    test_duration: float = 0.05  # seconds a diagnostic runs
    operation_delay: float = 0.05  # seconds an SMS operation waits before its work
    reboot_after_update: bool = False  # firmware update ends with a reboot

    def to_json(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["errors"] = {k: list(v) for k, v in self.errors.items()}
        return out

    def update(self, changes: Mapping[str, Any]) -> None:
        """Apply a JSON-shaped change set; unknown names or wrong types raise ValueError."""
        names = {f.name: f for f in fields(self)}
        for key, value in changes.items():
            if key not in names:
                raise ValueError(f"unknown fault {key!r}")
            current = getattr(self, key)
            if key == "errors":
                if not isinstance(value, dict):
                    raise ValueError("errors must map action names to [code, description]")
                parsed: dict[str, tuple[int, str]] = {}
                for action, spec in value.items():
                    if isinstance(spec, int):
                        spec = [spec, ""]
                    if not isinstance(spec, list | tuple) or not 1 <= len(spec) <= 2:
                        raise ValueError(f"errors[{action!r}] must be [code, description]")
                    parsed[str(action)] = (int(spec[0]), str(spec[1]) if len(spec) > 1 else "")
                value = parsed
            elif key == "error_at":
                if not isinstance(value, dict) or not all(
                    isinstance(n, int) and not isinstance(n, bool) and n >= 1
                    for n in value.values()
                ):
                    raise ValueError("error_at must map action names to call numbers >= 1")
                value = {str(k): int(n) for k, n in value.items()}
            elif key == "action_latency":
                if not isinstance(value, dict):
                    raise ValueError("action_latency must map action names to seconds")
                value = {str(k): float(v) for k, v in value.items()}
            elif isinstance(current, bool):
                if not isinstance(value, bool):
                    raise ValueError(f"{key} must be true or false")
            elif isinstance(current, float):
                if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                    raise ValueError(f"{key} must be a non-negative number")
                value = float(value)
            setattr(self, key, value)


@dataclass(frozen=True, slots=True)
class CallResult:
    outputs: list[tuple[str, str]]
    after: Callable[[], object] | None = None  # run once the SOAP response is on the wire


class SsdpHooks:
    """What a device asks of the SSDP announcer (no-op when the lab does not multicast)."""

    def alive(self, device: LabDevice) -> None: ...
    def byebye(self, device: LabDevice, announcement: str = "") -> None: ...
    def update(self, device: LabDevice, next_boot_id: int) -> None: ...


class LabDevice:
    """A lab DM device: identity, data model, BMS/SMS state, GENA and life cycle."""

    def __init__(
        self,
        index: int,
        udn: str,
        model: DataModel,
        *,
        friendly_name: str = "",
        clock: Callable[[], float] = time.time,
        services: tuple[ServiceDef, ...] = SERVICES,
    ) -> None:
        self.index = index
        #: the DM services this device offers (`proxier lab --services`, TR-330 §3.1)
        self.services = services
        self.udn = udn
        self.model = model
        self.clock = clock
        self.friendly_name = friendly_name or _value_or(
            model, "/UPnP/DM/DeviceInfo/FriendlyName", f"Lab DM device {index}"
        )
        self.serial_number = _value_or(
            model, "/UPnP/DM/DeviceInfo/PhysicalDevice/DeviceID/SerialNumber", f"LAB{index:06d}"
        )
        self.faults = Faults()
        self.bms = BmsCore(lambda v: self.publish("BMS", v), clock=clock)
        self.sms = SmsCore(
            _value_or(model, SOFTWARE_VERSION_PATHS[0], "1.0.0"), lambda v: self.publish("SMS", v)
        )
        self.publishers: dict[str, Publisher] = {s.short: Publisher() for s in SERVICES}
        self.boot_id = 1
        self.config_id = 1
        self.state = "up"  # "up", "rebooting", "stopped"
        self.base_url = ""  # "http://host:port", set by the server
        #: DeviceProtection (`proxier lab --dps`): the DP service and the HTTPS endpoint
        self.protection: LabProtection | None = None
        self.tls: TlsFront | None = None
        self.ssdp = SsdpHooks()
        self.session: aiohttp.ClientSession | None = None
        #: every published (service, variables), for in-process observers (tests, LocalDmDevice)
        self.observers: list[Callable[[str, dict[str, str]], None]] = []
        self._tasks: set[asyncio.Task[Any]] = set()
        self._notify_queue: asyncio.Queue[tuple[Subscription, dict[str, str]]] | None = None
        self._notifier: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        model.changes.append(self._on_model_change)
        self.bms.log("Notice", f"boot {self.boot_id}")

    # -- identity and URLs --

    @property
    def base_path(self) -> str:
        return f"/dev/{self.udn.removeprefix('uuid:')}"

    @property
    def description_url(self) -> str:
        return f"{self.base_url}{self.base_path}/description.xml"

    @property
    def secure_location(self) -> str:
        """SECURELOCATION.UPNP.ORG (DP §6.1): the same description path on the TLS port."""
        if self.tls is None or not self.tls.port:
            return ""
        host = urlsplit(self.base_url).hostname or ""
        netloc = f"[{host}]:{self.tls.port}" if ":" in host else f"{host}:{self.tls.port}"
        return f"https://{netloc}{self.base_path}/description.xml"

    @property
    def available(self) -> bool:
        return self.state == "up" and not self.faults.silent

    def log_url(self, name: str) -> str:
        return f"{self.base_url}{self.base_path}/logs/{name}"

    # -- life cycle --

    def start(self, session: aiohttp.ClientSession) -> None:
        self.session = session
        self._notify_queue = asyncio.Queue()
        self._notifier = asyncio.create_task(self._notify_worker())

    async def stop(self) -> None:
        """Byebye (unless silent) and cancel everything this device runs."""
        if self.state == "up" and not self.faults.silent:
            self.ssdp.byebye(self)
        self.state = "stopped"
        self._stopping.set()
        tasks = [*self._tasks, *([self._notifier] if self._notifier else [])]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        self._notifier = None

    def spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def reboot(self, announcement: str = "AboutToReboot") -> None:
        """Byebye with the DM announcement, forget volatile state, come back with BOOTID+1."""
        if self.state != "up":
            return
        if not self.faults.silent:
            self.ssdp.byebye(self, announcement)
        self.state = "rebooting"
        self.bms.log("Notice", f"{announcement}: going down")
        for publisher in self.publishers.values():
            publisher.clear()
        if self._notify_queue is not None:
            while not self._notify_queue.empty():
                self._notify_queue.get_nowait()
        self.sms.reboot()
        self.bms.forget_tests()
        await asyncio.sleep(self.faults.reboot_delay)
        if self.state != "rebooting":
            return
        self.model.boot_time = self.clock()
        self.boot_id += 1
        self.bms.reboot_logs()
        self.state = "up"
        self.bms.log("Notice", f"boot {self.boot_id}")
        if not self.faults.silent:
            self.ssdp.alive(self)

    def set_silent(self, silent: bool) -> None:
        """Vanish without byebye (or come back, announcing alive)."""
        was = self.faults.silent
        self.faults.silent = silent
        if was and not silent and self.state == "up":
            self.ssdp.alive(self)

    # -- events --

    def _on_model_change(self, change: ModelChange) -> None:
        if change.variables:
            self.publish("CMS", change.variables)

    def state_variables(self, short: str) -> dict[str, str]:
        if short == "CMS":
            return self.model.state_variables()
        if short == "BMS":
            return self.bms.state_variables()
        if short == "DP":
            intro = self.protection.introduction if self.protection else None
            return intro.state_variables() if intro else {"SetupReady": "1"}
        return self.sms.lists()

    def publish(self, short: str, variables: Mapping[str, str]) -> None:
        """Send `variables` to every subscriber of service `short` (and in-process observers)."""
        values = dict(variables)
        for observer in list(self.observers):
            observer(short, values)
        if self.state != "up" or self.faults.silent or self._notify_queue is None:
            return
        publisher = self.publishers[short]
        publisher.expire(self.clock())
        for sub in list(publisher.subscriptions.values()):
            if not sub.started:
                continue  # its initial event, still to come, will carry the new values
            if self.faults.drop_events:
                sub.next_seq()  # lost on the way: the subscriber sees a SEQ gap
            else:
                self._notify_queue.put_nowait((sub, values))

    def subscribe(
        self, short: str, callback: str | None, timeout: str | None, subscriber_ip: str
    ) -> Subscription:
        if self.faults.refuse_subscriptions:
            raise GenaRefused(503, "subscriptions refused (fault knob)")
        return self.publishers[short].subscribe(callback, timeout, subscriber_ip, self.clock())

    def send_initial_event(self, short: str, sub: Subscription) -> None:
        """Queue the initial event (SEQ 0) a moment after the SUBSCRIBE answer went out.

        A subscriber may handle our NOTIFY before its own SUBSCRIBE answer: GUPnP then
        answers 200 and silently drops the event (it has no SID yet), so no retry can help;
        the short pause lets its answer arrive first."""
        if self.faults.drop_events:
            sub.started = True
            sub.next_seq()  # lost on the way: the subscriber sees a SEQ gap
            return
        loop = asyncio.get_running_loop()
        loop.call_later(INITIAL_EVENT_DELAY, self._start_subscription, short, sub)

    def _start_subscription(self, short: str, sub: Subscription) -> None:
        sub.started = True
        if self.publishers[short].subscriptions.get(sub.sid) is not sub:
            return  # unsubscribed (or the device rebooted) in the meantime
        if self._notify_queue is not None:
            self._notify_queue.put_nowait((sub, self.state_variables(short)))

    async def _notify_worker(self) -> None:
        assert self._notify_queue is not None
        while True:
            sub, variables = await self._notify_queue.get()
            await self._send_notify(sub, variables)

    async def _send_notify(self, sub: Subscription, variables: dict[str, str]) -> None:
        if self.session is None:
            return
        seq = sub.next_seq()
        body = build_propertyset(variables)
        for url in sub.callbacks:
            host = urlsplit(url).netloc
            headers = {
                "HOST": host,
                "CONTENT-TYPE": 'text/xml; charset="utf-8"',
                "NT": "upnp:event",
                "NTS": "upnp:propchange",
                "SID": sub.sid,
                "SEQ": str(seq),
            }
            # The initial event can overtake our SUBSCRIBE answer at the subscriber, which then
            # does not know the SID yet and answers 412 (GUPnP does): retry it a few times.
            for attempt in range(4 if seq == 0 else 1):
                if attempt:
                    await asyncio.sleep(0.2 * attempt)
                try:
                    result = await bounded_request(
                        self.session,
                        "NOTIFY",
                        url,
                        headers=headers,
                        data=body,
                        time_limit=NOTIFY_TIMEOUT,
                        max_bytes=4096,
                    )
                except HttpFetchError as exc:
                    _LOG.warning("NOTIFY %s SEQ %d to %s failed: %s", sub.sid, seq, url, exc)
                    break
                if result.status == 200:
                    return
                _LOG.warning("NOTIFY %s SEQ %d to %s answered %s", sub.sid, seq, url, result.status)
                if result.status != 412:
                    break

    # -- actions --

    async def call(self, service: ServiceDef, action_name: str, raw: dict[str, str]) -> CallResult:
        """Run one SOAP action: checks, fault knobs, handler; raises UpnpError."""
        action = service.action(action_name)
        if action is None:
            raise UpnpError(401, f"no action {action_name} in {service.short}")
        delay = self.faults.latency + self.faults.action_latency.get(action_name, 0.0)
        if delay > 0:
            try:
                await asyncio.wait_for(self._stopping.wait(), delay)
            except TimeoutError:
                pass
            else:
                raise UpnpError(501, "device stopping")
        forced = self.faults.errors.get(action_name)
        countdown = self.faults.error_at.get(action_name)
        if forced is not None and countdown is not None:
            if countdown > 1:
                self.faults.error_at[action_name] = countdown - 1
                forced = None
            else:
                del self.faults.error_at[action_name]
                del self.faults.errors[action_name]
        if forced is not None:
            raise UpnpError(forced[0], forced[1] or "forced error (fault knob)")
        args = check_arguments(service, action, raw)
        handler: Callable[[dict[str, str]], dict[str, str] | CallResult] | None = getattr(
            self, f"_{service.short.lower()}_{action_name}", None
        )
        if handler is None:
            raise UpnpError(602, f"{action_name} is not implemented by the lab device")
        self.model.busy = self.faults.busy
        if self.faults.busy and service.short == "CMS":
            raise UpnpError(708, "resource temporarily unavailable (fault knob)")
        result = handler(args)
        if isinstance(result, CallResult):
            return result
        return CallResult([(name, result[name]) for name, _ in action.outs])

    # CMS

    def _cms_GetSupportedDataModels(self, a: dict[str, str]) -> dict[str, str]:
        models = self.model.get_supported_data_models()
        return {"SupportedDataModels": cms_xml.build_supported_data_models(models)}

    def _cms_GetSupportedParameters(self, a: dict[str, str]) -> dict[str, str]:
        paths = self.model.get_supported_parameters(a["StartingNode"], int(a["SearchDepth"]))
        return {"Result": cms_xml.build_structure_path_list(paths)}

    def _cms_GetInstances(self, a: dict[str, str]) -> dict[str, str]:
        paths = self.model.get_instances(a["StartingNode"], int(a["SearchDepth"]))
        return {"Result": cms_xml.build_instance_path_list(paths)}

    def _cms_GetValues(self, a: dict[str, str]) -> dict[str, str]:
        paths = cms_xml.parse_content_path_list(a["Parameters"])
        values = self.model.get_values(paths)
        return {"ParameterValueList": cms_xml.build_parameter_value_list(values)}

    def _cms_GetSelectedValues(self, a: dict[str, str]) -> dict[str, str]:
        values = self.model.get_selected_values(a["StartingNode"], a["Filter"])
        return {"ParameterValueList": cms_xml.build_parameter_value_list(values)}

    def _cms_SetValues(self, a: dict[str, str]) -> dict[str, str]:
        values = cms_xml.parse_parameter_value_list(a["ParameterValueList"])
        return {"Status": self.model.set_values(values)}

    def _cms_CreateInstance(self, a: dict[str, str]) -> dict[str, str]:
        text = a["ChildrenInitialization"]
        children = cms_xml.parse_parameter_initial_value_list(text) if text.strip() else []
        path, status = self.model.create_instance(a["MultiInstanceName"], children)
        return {"InstanceIdentifier": path, "Status": status}

    def _cms_DeleteInstance(self, a: dict[str, str]) -> dict[str, str]:
        return {"Status": self.model.delete_instance(a["InstanceIdentifier"])}

    def _cms_GetAttributes(self, a: dict[str, str]) -> dict[str, str]:
        paths = cms_xml.parse_node_attribute_path_list(a["Parameters"])
        nodes = self.model.get_attributes(paths)
        return {"NodeAttributeValueList": cms_xml.build_node_attribute_value_list(nodes)}

    def _cms_SetAttributes(self, a: dict[str, str]) -> dict[str, str]:
        nodes = cms_xml.parse_node_attribute_value_list(a["NodeAttributeValueList"])
        return {"Status": self.model.set_attributes(nodes)}

    def _cms_GetInconsistentStatus(self, a: dict[str, str]) -> dict[str, str]:
        return {"StateVariableValue": "1" if self.model.get_inconsistent_status() else "0"}

    def _cms_GetConfigurationUpdate(self, a: dict[str, str]) -> dict[str, str]:
        return {"StateVariableValue": self.model.get_configuration_update()}

    def _cms_GetCurrentConfigurationVersion(self, a: dict[str, str]) -> dict[str, str]:
        return {"StateVariableValue": str(self.model.get_current_configuration_version())}

    def _cms_GetSupportedDataModelsUpdate(self, a: dict[str, str]) -> dict[str, str]:
        return {"StateVariableValue": self.model.get_supported_data_models_update()}

    def _cms_GetSupportedParametersUpdate(self, a: dict[str, str]) -> dict[str, str]:
        return {"StateVariableValue": self.model.get_supported_parameters_update()}

    def _cms_GetAttributeValuesUpdate(self, a: dict[str, str]) -> dict[str, str]:
        return {"StateVariableValue": self.model.get_attribute_values_update()}

    def _cms_GetAlarmsEnabled(self, a: dict[str, str]) -> dict[str, str]:
        return {"StateVariableValue": "1" if self.model.get_alarms_enabled() else "0"}

    def _cms_SetAlarmsEnabled(self, a: dict[str, str]) -> dict[str, str]:
        self.model.set_alarms_enabled(a["StateVariableValue"] == "1")
        return {}

    # BMS

    def _bms_Reboot(self, a: dict[str, str]) -> CallResult:
        self.bms.log("Notice", "Reboot requested")
        return CallResult([("RebootStatus", "RebootNow")], after=lambda: self.spawn(self.reboot()))

    def _bms_BaselineReset(self, a: dict[str, str]) -> CallResult:
        self.bms.log("Notice", "BaselineReset requested")

        async def reset() -> None:
            self.model.baseline_reset()
            await self.reboot("AboutToBaselineReset")

        return CallResult([], after=lambda: self.spawn(reset()))

    def _bms_GetDeviceStatus(self, a: dict[str, str]) -> dict[str, str]:
        return {"DeviceStatus": self.bms.device_status}

    def _bms_SetSequenceMode(self, a: dict[str, str]) -> dict[str, str]:
        old = self.bms.set_sequence_mode(a["NewSequenceMode"] == "1")
        return {"OldSequenceMode": "1" if old else "0"}

    def _bms_GetSequenceMode(self, a: dict[str, str]) -> dict[str, str]:
        return {"SequenceMode": "1" if self.bms.sequence_mode else "0"}

    def _start_test(self, test_type: str, a: dict[str, str]) -> dict[str, str]:
        test = self.bms.start(test_type, a)
        self.spawn(self._run_tests())
        return {"TestID": str(test.test_id)}

    async def _run_tests(self) -> None:
        """Run the tests that may begin now (all, or the oldest one in SequenceMode), then
        look again: in SequenceMode the next test starts when this one ends."""
        while self.state == "up":
            ready = [
                t
                for t in sorted(self.bms.tests.values(), key=lambda t: t.test_id)
                if self.bms.may_begin(t)
            ]
            if not ready:
                return
            if self.bms.sequence_mode:
                ready = ready[:1]
            for test in ready:
                self.bms.begin(test)
            await asyncio.sleep(self.faults.test_duration)
            for test in ready:
                self.bms.finish(test)

    def _bms_Ping(self, a: dict[str, str]) -> dict[str, str]:
        return self._start_test("Ping", a)

    def _bms_NSLookup(self, a: dict[str, str]) -> dict[str, str]:
        return self._start_test("NSLookup", a)

    def _bms_Traceroute(self, a: dict[str, str]) -> dict[str, str]:
        return self._start_test("Traceroute", a)

    def _bms_SelfTest(self, a: dict[str, str]) -> dict[str, str]:
        return self._start_test("SelfTest", a)

    def _bms_InterfaceReset(self, a: dict[str, str]) -> dict[str, str]:
        return self._start_test("InterfaceReset", a)

    def _bms_GetPingResult(self, a: dict[str, str]) -> dict[str, str]:
        return self.bms.result(int(a["TestID"]), "Ping")

    def _bms_GetNSLookupResult(self, a: dict[str, str]) -> dict[str, str]:
        return self.bms.result(int(a["TestID"]), "NSLookup")

    def _bms_GetTracerouteResult(self, a: dict[str, str]) -> dict[str, str]:
        return self.bms.result(int(a["TestID"]), "Traceroute")

    def _bms_GetSelfTestResult(self, a: dict[str, str]) -> dict[str, str]:
        return self.bms.result(int(a["TestID"]), "SelfTest")

    def _bms_GetInterfaceResetResult(self, a: dict[str, str]) -> dict[str, str]:
        return self.bms.result(int(a["TestID"]), "InterfaceReset")

    def _bms_GetTestIDs(self, a: dict[str, str]) -> dict[str, str]:
        return {"TestIDs": self.bms.test_ids()}

    def _bms_GetActiveTestIDs(self, a: dict[str, str]) -> dict[str, str]:
        return {"TestIDs": self.bms.active_test_ids()}

    def _bms_GetTestInfo(self, a: dict[str, str]) -> dict[str, str]:
        test = self.bms.get(int(a["TestID"]))
        return {"Type": test.type, "State": test.state}

    def _bms_CancelTest(self, a: dict[str, str]) -> dict[str, str]:
        self.bms.cancel(int(a["TestID"]))
        return {}

    def _bms_GetLogURIs(self, a: dict[str, str]) -> dict[str, str]:
        return {"LogURIs": self.bms.log_uris()}

    def _bms_SetLogInfo(self, a: dict[str, str]) -> dict[str, str]:
        self.bms.set_log_info(a["LogURI"], a["Enabled"] == "1", a["LogLevel"])
        return {}

    def _bms_GetLogInfo(self, a: dict[str, str]) -> dict[str, str]:
        record = self.bms.log_record(a["LogURI"])
        return {
            "Configurable": "1" if record.configurable else "0",
            "Enabled": "1" if record.enabled else "0",
            "LogLevel": record.level,
            "LogURL": self.log_url(record.name),
            "MaxSize": str(record.max_size),
            "LastChange": iso_time(record.last_change),
        }

    # SMS

    def _start_operation(self, op: Operation) -> dict[str, str]:
        if op.state == "Requested":
            self.spawn(self._run_operation(op))
        return {"OperationID": str(op.op_id)}

    def _sms_Install(self, a: dict[str, str]) -> dict[str, str]:
        return self._start_operation(self.sms.install(a["DUURI"], a["DUType"]))

    def _sms_Update(self, a: dict[str, str]) -> dict[str, str]:
        return self._start_operation(self.sms.update(int(a["DUID"]), a["NewDUURI"]))

    def _sms_Uninstall(self, a: dict[str, str]) -> dict[str, str]:
        return self._start_operation(self.sms.uninstall(int(a["DUID"])))

    def _sms_Start(self, a: dict[str, str]) -> dict[str, str]:
        return self._start_operation(self.sms.start_stop("Start", int(a["EUID"])))

    def _sms_Stop(self, a: dict[str, str]) -> dict[str, str]:
        return self._start_operation(self.sms.start_stop("Stop", int(a["EUID"])))

    def _sms_GetOperationInfo(self, a: dict[str, str]) -> dict[str, str]:
        op = self.sms.operation(int(a["OperationID"]))
        return {
            "OperationState": op.state,
            "TargetedIDs": op.targeted,
            "Action": op.action,
            "ErrorDescription": op.error,
            "AdditionalInfo": op.info,
        }

    def _sms_GetDUInfo(self, a: dict[str, str]) -> dict[str, str]:
        du = self.sms.du_info(int(a["DUID"]))
        return {
            "DUName": du.name,
            "DUVersion": du.version,
            "DUType": du.type,
            "DUState": du.state,
            "DUURI": du.uri,
        }

    def _sms_GetEUInfo(self, a: dict[str, str]) -> dict[str, str]:
        eu = self.sms.eu_info(int(a["EUID"]))
        return {
            "EUName": eu.name,
            "EUVersion": eu.version,
            "EURequestedState": eu.requested,
            "EURunningState": eu.running,
        }

    def _sms_list(self, name: str) -> dict[str, str]:
        return {name: self.sms.lists()[name]}

    def _sms_GetOperationIDs(self, a: dict[str, str]) -> dict[str, str]:
        return self._sms_list("OperationIDs")

    def _sms_GetDUIDs(self, a: dict[str, str]) -> dict[str, str]:
        return self._sms_list("DUIDs")

    def _sms_GetEUIDs(self, a: dict[str, str]) -> dict[str, str]:
        return self._sms_list("EUIDs")

    def _sms_GetActiveEUIDs(self, a: dict[str, str]) -> dict[str, str]:
        return self._sms_list("ActiveEUIDs")

    def _sms_GetRunningEUIDs(self, a: dict[str, str]) -> dict[str, str]:
        return self._sms_list("RunningEUIDs")

    def _sms_GetErrorEUIDs(self, a: dict[str, str]) -> dict[str, str]:
        return self._sms_list("ErrorEUIDs")

    async def _run_operation(self, op: Operation) -> None:
        """Requested → InProgress → (download, check) → Completed or Error (TR-330 Fig. 8)."""
        await asyncio.sleep(self.faults.operation_delay)
        if self.state != "up" or op.op_id not in self.sms.ops:
            return
        self.sms.begin(op)
        self.sms.disk_full = self.faults.disk_full
        header: dict[str, str] | None = None
        if op.action in ("Install", "Update"):
            data = await self._download(op)
            if data is None or self.state != "up" or op.op_id not in self.sms.ops:
                return
            header = self.sms.image_received(op, data)
            if header is None:
                self.bms.log("Error", f"operation {op.op_id} failed: {op.error}")
                return
            await asyncio.sleep(self.faults.operation_delay)
            if self.state != "up" or op.op_id not in self.sms.ops:
                return  # rebooted meanwhile: the operation is lost
        self.sms.complete(op, header)
        self.bms.log("Notice", f"operation {op.op_id} ({op.action}) completed")
        if op.action == "Update" and op.duid == FIRMWARE and header is not None:
            present = [p for p in SOFTWARE_VERSION_PATHS if _value_or(self.model, p, None)]
            self.model.device_set({p: header["Version"] for p in present})
            if self.faults.reboot_after_update:
                self.spawn(self.reboot())

    async def _download(self, op: Operation) -> bytes | None:
        """GET the image: http(s) on loopback only (network safety), bounded size and time."""
        host = urlsplit(op.uri).hostname or ""
        if not _loopback_host(host):
            self.sms.fail(op, "Error_Network", f"lab devices only download from loopback: {host}")
            return None
        if self.session is None:
            self.sms.fail(op, "Error_Network", "no HTTP session")
            return None
        try:
            result = await bounded_request(
                self.session,
                "GET",
                op.uri,
                time_limit=DOWNLOAD_TIMEOUT,
                max_bytes=self.sms.max_image_bytes + 1,
                max_redirects=2,
            )
        except HttpFetchError as exc:
            self.sms.fail(op, "Error_Network", str(exc)[:200])
            return None
        if result.status != 200:
            self.sms.fail(op, "Error_Network", f"HTTP {result.status} from {op.uri[:200]}")
            return None
        return result.body


def _value_or(model: DataModel, path: str, default: str | None) -> Any:
    """A parameter of the model, or `default` when this model does not have it."""
    try:
        return model.value(path)
    except UpnpError:
        return default


def _loopback_host(host: str) -> bool:
    import ipaddress

    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


__all__ = ["CallResult", "Faults", "LabDevice", "SsdpHooks", "log_uri"]
