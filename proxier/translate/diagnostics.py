"""TR-330 §4.5 diagnostics: the Device:2 IPPing / TraceRoute / NSLookupDiagnostics objects of
a Virtual CWMP Device, run with UPnP BMS tests, ending with "8 DIAGNOSTICS COMPLETE".

TR-330 §4.3.2.1: the proxier creates these objects only for the BMS actions the device
supports (`mappings/diagnostics.toml` `requires`), holds them itself and inserts them into
GetParameterNames / GetParameterValues answers. §4.5.1 Figure 6: a SetParameterValues of
DiagnosticsState = Requested is recorded; the BMS test (Ping, Traceroute, NSLookup) starts
after the session ends; its TestID is watched in the BMS ActiveTestIDs events (Table 1 row 8)
with GetActiveTestIDs polling as the fallback, confirmed with GetTestInfo (never a result
call on an active test, Figure 6 notes); Get…Result is mapped to the result parameters and
DiagnosticsState, and `on_complete()` reports that an ACS-requested test finished (Table 1
row 8 in `proxier.translate.dmevents` makes it "8 DIAGNOSTICS COMPLETE"). A test that cannot
be started, disappears, or outlives its timer (with retries) ends as Error_Other (Figure 6).

DiagnosticsState rules (reference cwmp-proxy.md §3.5): the ACS may write only Requested or
Canceled (else 9007; Canceled is 9007 too when the device lacks CancelTest); writing any other
input sets None and stops a running test; Requested during a run restarts it; Canceled stops
it, sets None and sends no event. Results stay until the next run (or a proxier restart).

`DiagnosticsModel` is the sans-IO part (parameters, validation, state, result mapping);
`Diagnostics` drives it against the device.

Wired through `proxier.translate.operations.Operations`: the backend inserts `names` /
`values` into its answers, splits SetParameterValues with `owns` (`validate` before the
device write, `apply` after it), and calls `start_pending()` after every CWMP session.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from proxier.cwmp.rpc import (
    ParameterInfoStruct,
    ParameterValueStruct,
    SetParameterValuesFault,
)
from proxier.cwmp.xsdtypes import canonical_value, check_value, parse_integer
from proxier.logsafe import get_logger
from proxier.translate.opcommon import bounded, cwmp_error, parse_ids, supports
from proxier.translate.tables import DiagnosticObject, Tables, default_tables
from proxier.upnp.device import BmsApi, DmDevice, DmEvent, UpnpError
from proxier.xmlsafe import XmlError, local_name, parse_xml

log = get_logger(__name__)

MAX_UINT = 0xFFFF_FFFF
STATE = "DiagnosticsState"
REQUESTED = "Requested"
CANCELED = "Canceled"
NONE = "None"
COMPLETE = "Complete"
ERROR_OTHER = "Error_Other"
#: ACS-writable DiagnosticsState values (reference §3.5).
WRITABLE_STATES = (REQUESTED, CANCELED)

#: The typed BmsApi call behind each `start` / `result` action of mappings/diagnostics.toml.
START_CALLS = {"Ping": "ping", "NSLookup": "nslookup", "Traceroute": "traceroute"}
RESULT_CALLS = {
    "GetPingResult": "get_ping_result",
    "GetNSLookupResult": "get_nslookup_result",
    "GetTracerouteResult": "get_traceroute_result",
}
#: BMS start-action argument → keyword of the BmsApi method (reference upnp-dm.md §3.2).
ARGUMENT_KEYWORDS = {
    "Host": "host",
    "HostName": "host_name",
    "DNSServer": "dns_server",
    "NumberOfRepetitions": "repetitions",
    "Timeout": "timeout_ms",
    "DataBlockSize": "data_block_size",
    "DSCP": "dscp",
    "MaxHopCount": "max_hop_count",
}
STRING_ARGUMENTS = frozenset({"Host", "HostName", "DNSServer"})

#: BMS result Status → DiagnosticsState (reference §3.5: Success → Complete, errors 1:1).
STATUS_TO_STATE = {
    "Ping": {
        "Success": COMPLETE,
        "Error_CannotResolveHostName": "Error_CannotResolveHostName",
        "Error_Internal": "Error_Internal",
        "Error_Other": ERROR_OTHER,
    },
    "Traceroute": {
        "Success": COMPLETE,
        "Error_CannotResolveHostName": "Error_CannotResolveHostName",
        "Error_MaxHopCountExceeded": "Error_MaxHopCountExceeded",
        "Error_Internal": "Error_Internal",
        "Error_Other": ERROR_OTHER,
    },
    "NSLookup": {
        "Success": COMPLETE,
        "Error_DNSServerNotResolved": "Error_DNSServerNotResolved",
        "Error_Internal": "Error_Internal",
        "Error_Other": ERROR_OTHER,
    },
}

#: TR-181 value ranges of the unsignedInt inputs (reference §3.5), by object leaf name.
RANGES: dict[str, dict[str, tuple[int, int]]] = {
    "IPPing": {
        "NumberOfRepetitions": (1, MAX_UINT),
        "Timeout": (1, MAX_UINT),
        "DataBlockSize": (1, 65535),
        "DSCP": (0, 63),
    },
    "TraceRoute": {
        "NumberOfTries": (1, 3),
        "Timeout": (1, MAX_UINT),
        "DataBlockSize": (1, 65535),
        "DSCP": (0, 63),
        "MaxHopCount": (1, 64),
    },
    "NSLookupDiagnostics": {"Timeout": (0, MAX_UINT), "NumberOfRepetitions": (0, MAX_UINT)},
}
MAX_STRING = 256


@dataclass(frozen=True, slots=True)
class RowTable:
    """A result table of a diagnostics object (TraceRoute.RouteHops, NSLookup Result)."""

    name: str  # "RouteHops."
    count: str  # "RouteHopsNumberOfEntries"
    parameters: tuple[tuple[str, str], ...]  # (name, xsi:type)


ROW_TABLES = {
    "Traceroute": RowTable(
        "RouteHops.",
        "RouteHopsNumberOfEntries",
        (
            ("Host", "xsd:string"),
            ("HostAddress", "xsd:string"),
            ("ErrorCode", "xsd:unsignedInt"),
            ("RTTimes", "xsd:string"),
        ),
    ),
    "NSLookup": RowTable(
        "Result.",
        "ResultNumberOfEntries",
        (
            ("Status", "xsd:string"),
            ("AnswerType", "xsd:string"),
            ("HostNameReturned", "xsd:string"),
            ("IPAddresses", "xsd:string"),
            ("DNSServerIP", "xsd:string"),
            ("ResponseTime", "xsd:unsignedInt"),
        ),
    ),
}
NSLOOKUP_STATUSES = frozenset(
    {
        "Success",
        "Error_DNSServerNotAvailable",
        "Error_HostNameNotResolved",
        "Error_Timeout",
        "Error_Other",
    }
)
ANSWER_TYPES = frozenset({"None", "Authoritative", "NonAuthoritative"})


def _snake(name: str) -> str:
    """`AverageResponseTime` → `average_response_time` (BMS output → result field)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _leaf(object_name: str) -> str:
    return object_name.rstrip(".").rsplit(".", 1)[-1]


def _ancestors(name: str) -> list[str]:
    parts = name.rstrip(".").split(".")
    return [".".join(parts[:i]) + "." for i in range(1, len(parts))]


# --- result parsing --------------------------------------------------------------------------


def parse_hops(hop_hosts: str) -> list[dict[str, str]]:
    """BMS HopHosts → RouteHops rows. The list format is UNCONFIRMED (reference §3.5);
    PROJECT CHOICE: comma- or whitespace-separated hops, `*` for a hop that did not answer.
    An IP literal fills HostAddress too; BMS gives no per-hop times or ICMP codes."""
    rows = []
    for hop in (h for h in re.split(r"[\s,;]+", hop_hosts.strip()) if h):
        host = "" if hop == "*" else hop[:MAX_STRING]
        address = host if _is_ip(host) else ""
        rows.append({"Host": host, "HostAddress": address, "ErrorCode": "0", "RTTimes": ""})
    return rows


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def parse_nslookup(result: str) -> list[dict[str, str]]:
    """BMS NSLookupResult → Result rows. Its schema is UNCONFIRMED (reference §3.5). Accepted:
    an XML document whose elements holding a `Status` child are rows (children named like the
    TR-181 parameters), or PROJECT CHOICE lines `Status,AnswerType,HostNameReturned,
    IPAddresses,DNSServerIP,ResponseTime` (IPAddresses may itself hold commas)."""
    text = result.strip()
    if not text:
        return []
    raw: list[dict[str, str]] = []
    if text.startswith("<"):
        try:
            root = parse_xml(text.encode())
        except XmlError as exc:
            log.info("NSLookup result is not readable XML: %s", exc)
            return []
        for element in root.iter():
            children = {local_name(c): (c.text or "").strip() for c in element}
            if "Status" in children:
                raw.append(children)
    else:
        for line in text.splitlines():
            parts = [p.strip() for p in line.split(",")]
            if len(parts) < 6:
                continue
            raw.append(
                {
                    "Status": parts[0],
                    "AnswerType": parts[1],
                    "HostNameReturned": parts[2],
                    "IPAddresses": ",".join(p for p in parts[3:-2] if p),
                    "DNSServerIP": parts[-2],
                    "ResponseTime": parts[-1],
                }
            )
    rows = []
    for r in raw:
        status = r.get("Status", "")
        answer = r.get("AnswerType", "None")
        rt = r.get("ResponseTime", "0")
        rows.append(
            {
                "Status": status if status in NSLOOKUP_STATUSES else "Error_Other",
                "AnswerType": answer if answer in ANSWER_TYPES else "None",
                "HostNameReturned": r.get("HostNameReturned", "")[:MAX_STRING],
                "IPAddresses": r.get("IPAddresses", ""),
                "DNSServerIP": r.get("DNSServerIP", ""),
                "ResponseTime": rt if not check_value("xsd:unsignedInt", rt) else "0",
            }
        )
    return rows


# --- sans-IO model ---------------------------------------------------------------------------


@cache
def _spec_maps(
    spec: DiagnosticObject,
) -> tuple[Mapping[str, str], Mapping[str, str], Mapping[str, bool]]:
    """Defaults, types and writability of a diagnostics object's parameters: one set per
    object kind for every device (never mutated; issue 13, memory)."""
    return (
        {p.name: p.default for p in spec.parameters},
        {p.name: p.type for p in spec.parameters},
        {p.name: p.writable for p in spec.parameters},
    )


@dataclass(slots=True)
class DiagState:
    """One diagnostics object: its parameter values, result rows and run bookkeeping."""

    spec: DiagnosticObject
    #: the spec's defaults, types and writability (`_spec_maps`, shared by every device)
    maps: tuple[Mapping[str, str], Mapping[str, str], Mapping[str, bool]]
    rows: Sequence[dict[str, str]] = ()
    pending_start: bool = False
    test_id: int | None = None  # the device test running for the ACS
    starting: bool = False  # the start action is in flight
    to_cancel: list[int] = field(default_factory=list)  # device tests to stop after the session
    generation: int = 0  # bumped whenever a run is superseded
    #: this device's values once one was written (until then the shared defaults)
    own: dict[str, str] | None = None

    @property
    def values(self) -> Mapping[str, str]:
        return self.own if self.own is not None else self.maps[0]

    @property
    def types(self) -> Mapping[str, str]:
        return self.maps[1]

    @property
    def writable(self) -> Mapping[str, bool]:
        return self.maps[2]

    def set_values(self, values: Mapping[str, str]) -> None:
        if self.own is None:
            self.own = dict(self.maps[0])
        self.own.update(values)

    @property
    def rows_table(self) -> RowTable | None:
        return ROW_TABLES.get(self.spec.start)

    def clear_results(self) -> None:
        if self.own is not None:
            for p in self.spec.parameters:
                if not p.writable:
                    self.own[p.name] = p.default
        self.rows = ()

    def stop(self) -> None:
        """Forget the current run (its device test is cancelled after the session)."""
        self.generation += 1
        self.pending_start = False
        if self.test_id is not None:
            self.to_cancel.append(self.test_id)
            self.test_id = None

    @property
    def running(self) -> bool:
        return self.test_id is not None


class DiagnosticsModel:
    """The proxier-held diagnostics parameters of one device (sans-IO)."""

    def __init__(self, objects: Sequence[DiagnosticObject], *, can_cancel: bool = True) -> None:
        self.can_cancel = can_cancel
        self.objects: dict[str, DiagState] = {}
        for spec in objects:
            self.objects[spec.name] = DiagState(spec, _spec_maps(spec))
        self._prefixes = tuple(self.objects)  # owns() runs once per requested name: keep it cheap

    # -- naming --

    def tree(self) -> list[tuple[str, bool]]:
        """Every object and parameter held, objects before their contents."""
        out: dict[str, bool] = {}
        for name, obj in self.objects.items():
            for anc in _ancestors(name):
                out.setdefault(anc, False)
            out[name] = False
            for p in obj.spec.parameters:
                out[name + p.name] = p.writable
            table = obj.rows_table
            if table is not None:
                out[name + table.name] = False
                for i in range(1, len(obj.rows) + 1):
                    out[f"{name}{table.name}{i}."] = False
                    for pname, _ in table.parameters:
                        out[f"{name}{table.name}{i}.{pname}"] = False
        return list(out.items())

    def owns(self, name: str) -> bool:
        """Whether `name` is a diagnostics object or parameter (not a shared ancestor)."""
        return bool(self._prefixes) and name.startswith(self._prefixes)

    def names(self, path: str, next_level: bool) -> list[ParameterInfoStruct]:
        """Its part of a GetParameterNames answer (TR-069 A.3.2.3 NextLevel semantics)."""
        path = path or "Device."
        tree = self.tree()
        if not path.endswith("."):
            for name, writable in tree:
                if name == path:
                    if next_level:
                        raise cwmp_error(9003, "NextLevel true on a parameter name")
                    return [ParameterInfoStruct(name, writable)]
            return []
        out = []
        for name, writable in tree:
            if name == path:
                if not next_level:
                    out.append(ParameterInfoStruct(name, writable))
                continue
            if not name.startswith(path):
                continue
            rest = name[len(path) :]
            if next_level and rest.rstrip(".").count(".") > 0:
                continue
            out.append(ParameterInfoStruct(name, writable))
        return out

    def parameter_names(self, prefix: str) -> list[str]:
        """Every parameter `prefix` covers (a parameter name or a partial path)."""
        return [
            n
            for n, _ in self.tree()
            if not n.endswith(".")
            and (n == prefix or (prefix.endswith(".") and n.startswith(prefix)))
        ]

    def values(self, names: Sequence[str]) -> list[ParameterValueStruct]:
        """Values of the parameters each name covers (nothing for names it does not hold)."""
        out: list[ParameterValueStruct] = []
        seen: set[str] = set()
        for raw in names:
            for name in self.parameter_names(raw or "Device."):
                if name not in seen:
                    seen.add(name)
                    out.append(self._value(name))
        return out

    def _value(self, name: str) -> ParameterValueStruct:
        for obj_name, obj in self.objects.items():
            if not name.startswith(obj_name):
                continue
            rest = name[len(obj_name) :]
            table = obj.rows_table
            if table is not None:
                if rest == table.count:
                    return ParameterValueStruct(name, str(len(obj.rows)), "xsd:unsignedInt")
                if rest.startswith(table.name):
                    index, _, pname = rest[len(table.name) :].partition(".")
                    row = obj.rows[int(index) - 1]
                    return ParameterValueStruct(name, row[pname], dict(table.parameters)[pname])
            return ParameterValueStruct(name, obj.values[rest], obj.types[rest])
        raise KeyError(name)

    # -- SetParameterValues --

    def _locate(self, name: str) -> tuple[DiagState, str] | None:
        for obj_name, obj in self.objects.items():
            if name.startswith(obj_name):
                return obj, name[len(obj_name) :]
        return None

    def validate(self, params: Sequence[ParameterValueStruct]) -> list[SetParameterValuesFault]:
        """Per-parameter faults for the diagnostics parameters in `params` (others ignored)."""
        from proxier.cwmp.faults import spv_fault

        faults = []
        for pv in params:
            found = self._locate(pv.name)
            if found is None:
                continue
            obj, rest = found
            if rest not in obj.writable:
                if (
                    rest.endswith(".")
                    or rest == ""
                    or not any(n == pv.name for n, _ in self.tree())
                ):
                    faults.append(spv_fault(pv.name, 9005, "no such parameter"))
                else:
                    faults.append(spv_fault(pv.name, 9008))
                continue
            if not obj.writable[rest]:
                faults.append(spv_fault(pv.name, 9008))
                continue
            problem = self._check_value(obj, rest, pv.value)
            if problem:
                faults.append(spv_fault(pv.name, 9007, problem))
        return faults

    def _check_value(self, obj: DiagState, name: str, value: str) -> str:
        if name == STATE:
            if value not in WRITABLE_STATES:
                return f"only {' or '.join(WRITABLE_STATES)} may be written"
            if value == CANCELED and not self.can_cancel:
                return "the device cannot cancel tests (no BMS CancelTest)"
            return ""
        if name == "Interface":
            # A proxied device has no Device.IP.Interface objects to reference.
            return "" if value == "" else "no such interface on this device"
        low, high = RANGES.get(_leaf(obj.spec.name), {}).get(name, (None, None))
        kind = obj.types[name]
        return check_value(kind, value, minimum=low, maximum=high, max_length=MAX_STRING)

    def apply(self, params: Sequence[ParameterValueStruct]) -> None:
        """Apply validated values with the DiagnosticsState rules (reference §3.5)."""
        touched: dict[str, tuple[DiagState, str | None]] = {}
        for pv in params:
            found = self._locate(pv.name)
            if found is None:
                continue
            obj, rest = found
            state = touched.get(obj.spec.name, (obj, None))[1]
            if rest == STATE:
                state = pv.value
            else:
                obj.set_values({rest: canonical_value(obj.types[rest], pv.value)})
            touched[obj.spec.name] = (obj, state)
        for obj, state in touched.values():
            obj.stop()
            obj.clear_results()
            if state == REQUESTED:
                obj.set_values({STATE: REQUESTED})
                obj.pending_start = True
            else:  # Canceled, or an input written without Requested
                obj.set_values({STATE: NONE})

    def finish(
        self, obj: DiagState, state: str, values: dict[str, str], rows: list[dict[str, str]]
    ) -> None:
        obj.set_values({**values, STATE: state})
        obj.rows = rows
        obj.test_id = None


def map_result(
    spec: DiagnosticObject, result: Any
) -> tuple[str, dict[str, str], list[dict[str, str]]]:
    """A Get…Result dataclass → (DiagnosticsState, result parameter values, result rows)."""
    status = str(getattr(result, "status", ""))
    state = STATUS_TO_STATE.get(spec.start, {}).get(status, ERROR_OTHER)
    values = {}
    for p in spec.parameters:
        if p.result:
            raw = getattr(result, _snake(p.result), None)
            if raw is not None:
                values[p.name] = str(raw)
    rows: list[dict[str, str]] = []
    if spec.start == "Traceroute":
        rows = parse_hops(str(getattr(result, "hop_hosts", "")))
    elif spec.start == "NSLookup":
        rows = parse_nslookup(str(getattr(result, "result", "")))
        if state == COMPLETE and int(getattr(result, "success_count", 0) or 0) == 0:
            # reference §3.5: "If every attempt fails, DiagnosticsState should be Error_Other."
            state = ERROR_OTHER
    return state, values, rows


def test_timer(spec: DiagnosticObject, values: Mapping[str, str], slack: float) -> float:
    """Seconds a test may take (Figure 6 "Test timer ... based on the type of test, number
    of repetitions, test parameters"), plus `slack` for the device's own overhead."""

    def num(name: str, default: int) -> int:
        v = values.get(name, "")
        return default if check_value("xsd:unsignedInt", v) else parse_integer(v)

    timeout_s = num("Timeout", 1000) / 1000
    if spec.start == "Traceroute":
        return num("MaxHopCount", 30) * num("NumberOfTries", 3) * timeout_s + slack
    return max(1, num("NumberOfRepetitions", 1)) * timeout_s + slack


# --- the driver ------------------------------------------------------------------------------


class Diagnostics:
    """Diagnostics of one proxied device (see the module docstring for the wiring)."""

    def __init__(
        self,
        device: DmDevice,
        *,
        on_complete: Callable[[], None],
        timeout: float = 10.0,
        tables: Tables | None = None,
        poll_interval: float = 5.0,
        timer_slack: float = 10.0,
        max_test_time: float = 900.0,
        max_retries: int = 2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.device = device
        self.on_complete = on_complete
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.timer_slack = timer_slack
        self.max_test_time = max_test_time
        self.max_retries = max_retries
        self.clock = clock
        tables = tables if tables is not None else default_tables()
        bms = device.bms
        usable = []
        if bms is not None:
            for spec in tables.diagnostics:
                if spec.service != "BMS":
                    continue
                if spec.start not in START_CALLS or spec.result not in RESULT_CALLS:
                    log.warning("no BMS driver for %s (%s); not offered", spec.name, spec.start)
                    continue
                # TR-330 §4.3.2.1: only for the actions the device supports.
                if all(supports(bms, a) for a in spec.requires):
                    usable.append(spec)
        can_cancel = bms is not None and supports(bms, "CancelTest")
        self.model = DiagnosticsModel(usable, can_cancel=can_cancel)
        self._tasks: dict[str, asyncio.Task[None]] = {}  # the current run per object
        self._all: set[asyncio.Task[None]] = set()  # every run not yet over
        self._changed: asyncio.Event | None = None  # made while a test is watched
        self._active: set[int] | None = None  # ActiveTestIDs from the latest BMS event

    # -- data model side (synchronous; called inside the CWMP session) --

    @property
    def objects(self) -> list[str]:
        return list(self.model.objects)

    def owns(self, name: str) -> bool:
        return self.model.owns(name)

    def names(self, path: str, next_level: bool) -> list[ParameterInfoStruct]:
        return self.model.names(path, next_level)

    def parameter_names(self, prefix: str) -> list[str]:
        return self.model.parameter_names(prefix)

    def values(self, names: Sequence[str]) -> list[ParameterValueStruct]:
        return self.model.values(names)

    def validate(self, params: Sequence[ParameterValueStruct]) -> list[SetParameterValuesFault]:
        return self.model.validate(params)

    def apply(self, params: Sequence[ParameterValueStruct]) -> None:
        """Record the request; a running test superseded by it stops watching at once."""
        before = {name: obj.generation for name, obj in self.model.objects.items()}
        self.model.apply(params)
        for name, obj in self.model.objects.items():
            if obj.generation != before[name]:
                task = self._tasks.pop(name, None)
                # A start in flight finishes: its TestID is then cancelled on the device.
                if task is not None and not obj.starting:
                    task.cancel()

    def set_values(self, params: Sequence[ParameterValueStruct]) -> None:
        """Validate then apply, all or nothing (9003 with per-parameter faults)."""
        faults = self.validate(params)
        if faults:
            raise cwmp_error(9003, "", tuple(faults))
        self.apply(params)

    # -- after the session --

    async def start_pending(self) -> None:
        """Stop superseded device tests and start the requested ones (after the session)."""
        bms = self.device.bms
        for name, obj in self.model.objects.items():
            cancels, obj.to_cancel = obj.to_cancel, []
            for test_id in cancels:
                await self._cancel_on_device(bms, test_id)
            if obj.pending_start:
                obj.pending_start = False
                task = asyncio.create_task(self._run(obj, obj.generation))
                self._tasks[name] = task
                self._all.add(task)
                task.add_done_callback(self._all.discard)

    async def _cancel_on_device(self, bms: BmsApi | None, test_id: int) -> None:
        if bms is None or not supports(bms, "CancelTest"):
            return
        try:
            await bounded(bms.cancel_test(test_id), self.timeout)
        except (UpnpError, TimeoutError) as exc:
            log.info("device %s: CancelTest %d: %s", self.device.udn, test_id, exc)

    async def wait_idle(self) -> None:
        """Wait until no test is being watched (tests, shutdown)."""
        while self._all:
            await asyncio.gather(*list(self._all), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._all):
            task.cancel()
        await asyncio.gather(*self._all, return_exceptions=True)
        self._tasks.clear()

    # -- events --

    def handle_event(self, event: DmEvent) -> None:
        """Note BMS ActiveTestIDs (Table 1 row 8) and wake the test watchers."""
        if event.service != "BMS" or "ActiveTestIDs" not in event.variables:
            return
        self._active = parse_ids(event.variables["ActiveTestIDs"])
        changed, self._changed = self._changed, None
        if changed is not None:
            changed.set()

    # -- one run (Figure 6) --

    async def _run(self, obj: DiagState, generation: int) -> None:
        try:
            state, values, rows = await self._execute(obj, generation)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("device %s: %s failed", self.device.udn, obj.spec.name)
            state, values, rows = ERROR_OTHER, {}, []
        if obj.generation != generation:
            return
        self.model.finish(obj, state, values, rows)
        if self._tasks.get(obj.spec.name) is asyncio.current_task():
            del self._tasks[obj.spec.name]
        log.info("device %s: %s finished: %s", self.device.udn, obj.spec.name, state)
        try:
            self.on_complete()
        except Exception:
            log.exception("on_complete for %s failed", obj.spec.name)

    async def _execute(
        self, obj: DiagState, generation: int
    ) -> tuple[str, dict[str, str], list[dict[str, str]]]:
        bms = self.device.bms
        assert bms is not None
        spec = obj.spec
        kwargs: dict[str, Any] = {}
        for p in spec.parameters:
            if p.argument:
                raw = obj.values[p.name]
                kwargs[ARGUMENT_KEYWORDS[p.argument]] = (
                    raw if p.argument in STRING_ARGUMENTS else int(raw or p.default)
                )
        start = getattr(bms, START_CALLS[spec.start])
        obj.starting = True
        try:
            test_id = int(await bounded(start(**kwargs), self.timeout))
        except (UpnpError, TimeoutError) as exc:
            # Figure 6: the service request failed → Error_Other and the event.
            log.info("device %s: %s refused: %s", self.device.udn, spec.start, exc)
            return ERROR_OTHER, {}, []
        finally:
            obj.starting = False
        if obj.generation != generation:
            await self._cancel_on_device(bms, test_id)  # superseded while starting
            return ERROR_OTHER, {}, []
        obj.test_id = test_id
        timer = min(test_timer(spec, obj.values, self.timer_slack), self.max_test_time)
        deadline = self.clock() + timer
        retries = 0
        while True:
            if self._changed is None:
                self._changed = asyncio.Event()
            changed = self._changed
            wait = max(0.0, min(self.poll_interval, deadline - self.clock()))
            woke = False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), wait)
                woke = True
            if woke and self._active is not None:
                gone = test_id not in self._active
            else:
                gone = await self._gone_by_poll(bms, test_id)
            if gone:
                done = await self._finished(bms, spec, test_id)
                if done is not None:
                    return done
            if self.clock() >= deadline:
                retries += 1
                if retries > self.max_retries:
                    log.warning(
                        "device %s: test %d outlived its timer; cancelled", self.device.udn, test_id
                    )
                    await self._cancel_on_device(bms, test_id)
                    return ERROR_OTHER, {}, []
                deadline = self.clock() + timer

    async def _gone_by_poll(self, bms: BmsApi, test_id: int) -> bool:
        try:
            active = await bounded(bms.get_active_test_ids(), self.timeout)
        except (UpnpError, TimeoutError) as exc:
            log.info("device %s: GetActiveTestIDs: %s", self.device.udn, exc)
            return False
        return test_id not in active

    async def _finished(
        self, bms: BmsApi, spec: DiagnosticObject, test_id: int
    ) -> tuple[str, dict[str, str], list[dict[str, str]]] | None:
        """The outcome of a test no longer active, or None if it is still running."""
        try:
            info = await bounded(bms.get_test_info(test_id), self.timeout)
        except TimeoutError:
            return None
        except UpnpError as exc:
            if exc.code == 0:
                return None  # unreachable for now: keep waiting (the timer bounds it)
            log.info("device %s: test %d vanished: %s", self.device.udn, test_id, exc)
            return ERROR_OTHER, {}, []
        if info.state in ("Requested", "InProgress"):
            return None
        if info.state != "Completed":
            return ERROR_OTHER, {}, []  # canceled by someone else
        try:
            result = await bounded(getattr(bms, RESULT_CALLS[spec.result])(test_id), self.timeout)
        except (UpnpError, TimeoutError) as exc:
            log.info("device %s: %s %d: %s", self.device.udn, spec.result, test_id, exc)
            return ERROR_OTHER, {}, []
        return map_result(spec, result)


__all__ = [
    "Diagnostics",
    "DiagnosticsModel",
    "map_result",
    "parse_hops",
    "parse_nslookup",
]
