"""Device (DDD) and service (SCPD) descriptions: bounded fetch, safe parse, TR-330 checks.

TR-330 §4.1.1: retrieve the root DDD, see which DM services it offers, retrieve their SCPDs.
Root and embedded devices are separate candidates (TR-330 Figure 5). §4.3.1: check that the
CMS offers the actions the proxy needs. Devices are untrusted: every document is fetched with
`proxier.upnp.http` bounds and parsed with `proxier.xmlsafe`; a device that lies or breaks is
logged and skipped with a precise reason, never an exception out of `describe`.

The parsing half is sans-IO (`parse_device_description`, `parse_scpd`, `check_*`); only
`describe` does I/O.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import aiohttp
from lxml import etree

from proxier.logsafe import get_logger
from proxier.upnp.http import (
    HttpFetchError,
    HttpResult,
    PeerCheck,
    bounded_request,
    check_url,
)
from proxier.xmlsafe import XmlError, local_name, namespace, parse_xml

_LOG = get_logger(__name__)

DEVICE_NS = "urn:schemas-upnp-org:device-1-0"
SERVICE_NS = "urn:schemas-upnp-org:service-1-0"
_XML_CONTENT_TYPES = frozenset({"text/xml", "application/xml"})

MAX_DEVICES = 32  # devices (root + embedded) in one description
MAX_DEPTH = 6  # nesting of embedded devices
MAX_SERVICES = 32  # services per device

CMS = "ConfigurationManagement"
BMS = "BasicManagement"
SMS = "SoftwareManagement"
_DM_PREFIX = "urn:schemas-upnp-org:service:"


class DescriptionError(Exception):
    """A description document is unusable; the message is the precise reason.

    `transient`: it could not be read for now (timeout, refused connection, HTTP 5xx), not
    that it is unusable: the device is read again later (`proxier.virtual.redescribe`)."""

    def __init__(self, message: str, *, transient: bool = False) -> None:
        super().__init__(message)
        self.transient = transient


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds for fetching one device's description and SCPDs."""

    max_bytes: int = 512 * 1024  # per document
    document_time: float = 5.0  # per document
    total_time: float = 15.0  # the DDD and all its SCPDs
    max_redirects: int = 3


@dataclass(frozen=True, slots=True)
class ServiceDescription:
    service_type: str
    service_id: str
    control_url: str  # absolute, resolved against URLBase / the description URL
    event_sub_url: str
    scpd_url: str

    @property
    def dm_kind(self) -> str | None:
        """'CMS', 'BMS' or 'SMS' for a DM service of any version, else None."""
        return dm_kind(self.service_type)

    @property
    def version(self) -> int:
        tail = self.service_type.rsplit(":", 1)[-1]
        return int(tail) if tail.isdigit() else 0


@dataclass(frozen=True, slots=True)
class DeviceCandidate:
    """One root or embedded device of a description (TR-330 §4.1.1: each may be proxied)."""

    udn: str
    device_type: str
    friendly_name: str
    manufacturer: str
    model_name: str
    model_number: str
    serial_number: str
    presentation_url: str
    services: tuple[ServiceDescription, ...]
    description_url: str
    root_udn: str  # == udn for the root device
    problems: tuple[str, ...] = ()  # services dropped while parsing, with reasons

    @property
    def is_root(self) -> bool:
        return self.udn == self.root_udn

    def service(self, kind: str) -> ServiceDescription | None:
        """The highest-version DM service of `kind` ('CMS', 'BMS', 'SMS')."""
        found = [s for s in self.services if s.dm_kind == kind]
        return max(found, key=lambda s: s.version) if found else None


@dataclass(frozen=True, slots=True)
class Argument:
    name: str
    direction: str  # "in" / "out"
    related_state_variable: str


@dataclass(frozen=True, slots=True)
class Scpd:
    actions: Mapping[str, tuple[Argument, ...]]
    state_variables: Mapping[str, tuple[str, bool]]  # name → (dataType, sendEvents)
    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DescribedDevice:
    """A DM candidate with its SCPDs fetched and checked; `actions` is what clients may call."""

    candidate: DeviceCandidate
    scpds: Mapping[str, Scpd]  # by DM kind
    actions: Mapping[str, frozenset[str]]  # by DM kind: actions present with expected args
    problems: tuple[str, ...] = ()  # non-fatal findings (logged)


@dataclass(frozen=True, slots=True)
class DescribeResult:
    devices: tuple[DescribedDevice, ...] = ()
    skipped: tuple[tuple[str, str], ...] = ()  # (udn or URL, reason)
    transient: bool = False  # not read for now (timeout, refused, 5xx): worth another try


def dm_kind(service_type: str) -> str | None:
    if not service_type.startswith(_DM_PREFIX):
        return None
    name = service_type[len(_DM_PREFIX) :].rsplit(":", 1)[0]
    return {CMS: "CMS", BMS: "BMS", SMS: "SMS"}.get(name)


# --- DDD -----------------------------------------------------------------------------------


def _child(parent: etree._Element, name: str, ns: str) -> etree._Element | None:
    for element in parent:
        if isinstance(element.tag, str) and element.tag == f"{{{ns}}}{name}":
            return element
    return None


def _text(parent: etree._Element, name: str, ns: str = DEVICE_NS) -> str:
    element = _child(parent, name, ns)
    if element is None:
        return ""
    if len([c for c in element if isinstance(c.tag, str)]):
        raise DescriptionError(f"<{name}> must be text, not markup")
    return (element.text or "").strip()


def _children(parent: etree._Element, name: str, ns: str) -> list[etree._Element]:
    return [e for e in parent if isinstance(e.tag, str) and e.tag == f"{{{ns}}}{name}"]


def _resolve(base: str, ref: str, what: str) -> str:
    if not ref:
        raise DescriptionError(f"empty {what}")
    try:
        url = urljoin(base, ref)
        check_url(url)
    except (ValueError, HttpFetchError):
        raise DescriptionError(f"{what} {ref[:120]!r} is not a usable http(s) URL") from None
    # UDA: service URLs are relative to the device; another host is a possible SSRF.
    if urlsplit(url).hostname != urlsplit(base).hostname:
        raise DescriptionError(f"{what} {ref[:120]!r} points to another host")
    return url


def _parse_service(element: etree._Element, base: str) -> ServiceDescription:
    service_type = _text(element, "serviceType")
    if not service_type:
        raise DescriptionError("service without serviceType")
    return ServiceDescription(
        service_type=service_type,
        service_id=_text(element, "serviceId"),
        control_url=_resolve(base, _text(element, "controlURL"), f"{service_type} controlURL"),
        event_sub_url=_resolve(base, _text(element, "eventSubURL"), f"{service_type} eventSubURL")
        if _text(element, "eventSubURL")
        else "",
        scpd_url=_resolve(base, _text(element, "SCPDURL"), f"{service_type} SCPDURL"),
    )


def parse_device_description(
    document: bytes, url: str, *, max_bytes: int = 512 * 1024
) -> tuple[list[DeviceCandidate], list[tuple[str, str]]]:
    """Every device in a DDD as a candidate, plus (udn, reason) for devices left out.

    Raises `DescriptionError` when the document as a whole is unusable.
    """
    try:
        root = parse_xml(document, max_bytes=max_bytes)
    except XmlError as exc:
        raise DescriptionError(f"device description: {exc}") from None
    if local_name(root) != "root" or namespace(root) != DEVICE_NS:
        raise DescriptionError(
            f"device description root is {{{namespace(root)}}}{local_name(root)},"
            f" not {{{DEVICE_NS}}}root"
        )
    url_base = _text(root, "URLBase")
    base = url
    if url_base:
        try:
            check_url(url_base)
        except HttpFetchError:
            raise DescriptionError(f"URLBase {url_base[:120]!r} is not an http(s) URL") from None
        if urlsplit(url_base).hostname != urlsplit(url).hostname:
            raise DescriptionError(f"URLBase {url_base[:120]!r} points to another host")
        base = url_base
    top = _child(root, "device", DEVICE_NS)
    if top is None:
        raise DescriptionError("device description without a <device>")

    candidates: list[DeviceCandidate] = []
    skipped: list[tuple[str, str]] = []
    seen: set[str] = set()
    root_udn = _text(top, "UDN")
    if not root_udn.startswith("uuid:") or len(root_udn) <= 5:
        raise DescriptionError(f"root device UDN {root_udn[:80]!r} is not a uuid: URN")

    def visit(element: etree._Element, depth: int) -> None:
        if len(candidates) + len(skipped) >= MAX_DEVICES:
            raise DescriptionError(f"more than {MAX_DEVICES} devices in one description")
        try:
            candidate = _parse_device(element, base, url, root_udn)
        except DescriptionError as exc:
            skipped.append((_safe_udn(element), str(exc)))
            return
        if candidate.udn in seen:
            skipped.append((candidate.udn, "UDN used twice in one description"))
        else:
            seen.add(candidate.udn)
            candidates.append(candidate)
        device_list = _child(element, "deviceList", DEVICE_NS)
        if device_list is None:
            return
        embedded = _children(device_list, "device", DEVICE_NS)
        if embedded and depth >= MAX_DEPTH:
            raise DescriptionError(f"embedded devices nested deeper than {MAX_DEPTH}")
        for child in embedded:
            visit(child, depth + 1)

    visit(top, 0)
    return candidates, skipped


def _safe_udn(element: etree._Element) -> str:
    try:
        return _text(element, "UDN") or "(no UDN)"
    except DescriptionError:
        return "(bad UDN)"


def _parse_device(element: etree._Element, base: str, url: str, root_udn: str) -> DeviceCandidate:
    udn = _text(element, "UDN")
    if not udn.startswith("uuid:") or len(udn) <= 5:
        raise DescriptionError(f"UDN {udn[:80]!r} is not a uuid: URN")
    device_type = _text(element, "deviceType")
    if not device_type.startswith("urn:"):
        raise DescriptionError(f"{udn}: deviceType {device_type[:80]!r} is not a URN")
    services: list[ServiceDescription] = []
    problems: list[str] = []
    service_list = _child(element, "serviceList", DEVICE_NS)
    entries = _children(service_list, "service", DEVICE_NS) if service_list is not None else []
    if len(entries) > MAX_SERVICES:
        raise DescriptionError(f"{udn}: more than {MAX_SERVICES} services")
    for entry in entries:
        try:
            services.append(_parse_service(entry, base))
        except DescriptionError as exc:
            problems.append(f"service dropped: {exc}")
    presentation = _text(element, "presentationURL")
    try:
        presentation_url = _resolve(base, presentation, "presentationURL") if presentation else ""
    except DescriptionError:
        presentation_url = ""  # informative only; never used to fetch anything
    return DeviceCandidate(
        udn=udn,
        device_type=device_type,
        friendly_name=_text(element, "friendlyName"),
        manufacturer=_text(element, "manufacturer"),
        model_name=_text(element, "modelName"),
        model_number=_text(element, "modelNumber"),
        serial_number=_text(element, "serialNumber"),
        presentation_url=presentation_url,
        services=tuple(services),
        description_url=url,
        root_udn=root_udn,
        problems=tuple(problems),
    )


# --- SCPD ----------------------------------------------------------------------------------


def parse_scpd(document: bytes, *, max_bytes: int = 512 * 1024) -> Scpd:
    """Actions (with arguments) and state variables of a service description.

    Devices of one model serve byte-identical SCPDs: they share one parsed (read-only)
    `Scpd`, which keeps hundreds of virtual devices from holding hundreds of copies."""
    return _parse_scpd_shared(document, max_bytes)


@functools.lru_cache(maxsize=32)
def _parse_scpd_shared(document: bytes, max_bytes: int) -> Scpd:
    try:
        root = parse_xml(document, max_bytes=max_bytes)
    except XmlError as exc:
        raise DescriptionError(f"SCPD: {exc}") from None
    if local_name(root) != "scpd" or namespace(root) != SERVICE_NS:
        raise DescriptionError(
            f"SCPD root is {{{namespace(root)}}}{local_name(root)}, not {{{SERVICE_NS}}}scpd"
        )
    problems: list[str] = []
    variables: dict[str, tuple[str, bool]] = {}
    table = _child(root, "serviceStateTable", SERVICE_NS)
    for var in _children(table, "stateVariable", SERVICE_NS) if table is not None else []:
        name = _text(var, "name", SERVICE_NS)
        data_type = _text(var, "dataType", SERVICE_NS)
        if not name or not data_type:
            problems.append("stateVariable without name or dataType ignored")
            continue
        variables[name] = (data_type, var.get("sendEvents", "no").strip().lower() == "yes")
    actions: dict[str, tuple[Argument, ...]] = {}
    action_list = _child(root, "actionList", SERVICE_NS)
    for action in _children(action_list, "action", SERVICE_NS) if action_list is not None else []:
        name = _text(action, "name", SERVICE_NS)
        if not name:
            problems.append("action without a name ignored")
            continue
        arguments: list[Argument] = []
        arg_list = _child(action, "argumentList", SERVICE_NS)
        for arg in _children(arg_list, "argument", SERVICE_NS) if arg_list is not None else []:
            arguments.append(
                Argument(
                    _text(arg, "name", SERVICE_NS),
                    _text(arg, "direction", SERVICE_NS).lower(),
                    _text(arg, "relatedStateVariable", SERVICE_NS),
                )
            )
        actions[name] = tuple(arguments)
    return Scpd(actions, variables, tuple(problems))


# --- TR-330 §4.3.1 checks ----------------------------------------------------------------

#: Arguments the clients send and read, per action (upnp-dm.md §2.2, §3.2, §4.2).
EXPECTED_ARGUMENTS: dict[str, dict[str, tuple[tuple[str, ...], tuple[str, ...]]]] = {
    "CMS": {
        "GetSupportedDataModels": ((), ("SupportedDataModels",)),
        "GetSupportedParameters": (("StartingNode", "SearchDepth"), ("Result",)),
        "GetInstances": (("StartingNode", "SearchDepth"), ("Result",)),
        "GetValues": (("Parameters",), ("ParameterValueList",)),
        "GetSelectedValues": (("StartingNode", "Filter"), ("ParameterValueList",)),
        "SetValues": (("ParameterValueList",), ("Status",)),
        "CreateInstance": (
            ("MultiInstanceName", "ChildrenInitialization"),
            ("InstanceIdentifier", "Status"),
        ),
        "DeleteInstance": (("InstanceIdentifier",), ("Status",)),
        "GetAttributes": (("Parameters",), ("NodeAttributeValueList",)),
        "SetAttributes": (("NodeAttributeValueList",), ("Status",)),
        "GetInconsistentStatus": ((), ("StateVariableValue",)),
        "GetConfigurationUpdate": ((), ("StateVariableValue",)),
        "GetCurrentConfigurationVersion": ((), ("StateVariableValue",)),
        "GetSupportedDataModelsUpdate": ((), ("StateVariableValue",)),
        "GetSupportedParametersUpdate": ((), ("StateVariableValue",)),
        "GetAttributeValuesUpdate": ((), ("StateVariableValue",)),
        "GetAlarmsEnabled": ((), ("StateVariableValue",)),
        "SetAlarmsEnabled": (("StateVariableValue",), ()),
        "GetACLData": (("StartingNodes",), ("ACL",)),
    },
    "BMS": {
        "Reboot": ((), ("RebootStatus",)),
        "BaselineReset": ((), ()),
        "GetDeviceStatus": ((), ("DeviceStatus",)),
        "SetSequenceMode": (("NewSequenceMode",), ("OldSequenceMode",)),
        "GetSequenceMode": ((), ("SequenceMode",)),
        "Ping": (
            ("Host", "NumberOfRepetitions", "Timeout", "DataBlockSize", "DSCP"),
            ("TestID",),
        ),
        "GetPingResult": (
            ("TestID",),
            (
                "Status",
                "AdditionalInfo",
                "SuccessCount",
                "FailureCount",
                "AverageResponseTime",
                "MinimumResponseTime",
                "MaximumResponseTime",
            ),
        ),
        "NSLookup": (("HostName", "DNSServer", "NumberOfRepetitions", "Timeout"), ("TestID",)),
        "GetNSLookupResult": (
            ("TestID",),
            ("Status", "AdditionalInfo", "SuccessCount", "Result"),
        ),
        "Traceroute": (
            ("Host", "Timeout", "DataBlockSize", "MaxHopCount", "DSCP"),
            ("TestID",),
        ),
        "GetTracerouteResult": (
            ("TestID",),
            ("Status", "AdditionalInfo", "ResponseTime", "HopHosts"),
        ),
        "SelfTest": ((), ("TestID",)),
        "GetSelfTestResult": (("TestID",), ("Status", "AdditionalInfo")),
        "InterfaceReset": (("Interfaces",), ("TestID",)),
        "GetInterfaceResetResult": (
            ("TestID",),
            ("Status", "AdditionalInfo", "NumberOfSuccesses", "NumberOfFailures"),
        ),
        "GetTestIDs": ((), ("TestIDs",)),
        "GetActiveTestIDs": ((), ("TestIDs",)),
        "GetTestInfo": (("TestID",), ("Type", "State")),
        "CancelTest": (("TestID",), ()),
        "GetLogURIs": ((), ("LogURIs",)),
        "SetLogInfo": (("LogURI", "Enabled", "LogLevel"), ()),
        "GetLogInfo": (
            ("LogURI",),
            ("Configurable", "Enabled", "LogLevel", "LogURL", "MaxSize", "LastChange"),
        ),
        "GetACLData": ((), ("ACL",)),
    },
    "SMS": {
        "Install": (("DUURI", "DUType", "HandleDependencies"), ("OperationID",)),
        "Update": (("DUID", "NewDUURI", "HandleDependencies"), ("OperationID",)),
        "Uninstall": (("DUID", "HandleDependencies"), ("OperationID",)),
        "Start": (("EUID", "HandleDependencies"), ("OperationID",)),
        "Stop": (("EUID", "HandleDependencies"), ("OperationID",)),
        "GetDUIDs": ((), ("DUIDs",)),
        "GetEUIDs": ((), ("EUIDs",)),
        "GetActiveEUIDs": ((), ("ActiveEUIDs",)),
        "GetRunningEUIDs": ((), ("RunningEUIDs",)),
        "GetErrorEUIDs": ((), ("ErrorEUIDs",)),
        "GetOperationIDs": ((), ("OperationIDs",)),
        "GetOperationInfo": (
            ("OperationID",),
            ("OperationState", "TargetedIDs", "Action", "ErrorDescription", "AdditionalInfo"),
        ),
        "GetDUInfo": (("DUID",), ("DUName", "DUVersion", "DUType", "DUState", "DUURI")),
        # SMS:1 names the last output EUExecutionState; the client accepts either.
        "GetEUInfo": (("EUID",), ("EUName", "EUVersion", "EURequestedState")),
    },
}

#: CMS actions the proxy cannot work without (required by CMS, used for every CWMP read).
CMS_REQUIRED = (
    "GetSupportedDataModels",
    "GetSupportedParameters",
    "GetInstances",
    "GetValues",
    "GetAttributes",
    "GetConfigurationUpdate",
    "GetCurrentConfigurationVersion",
)


#: The few distinct usable-action sets, one copy each: every device of a model has the same.
_ACTION_SETS: dict[frozenset[str], frozenset[str]] = {}


def usable_actions(kind: str, scpd: Scpd) -> tuple[frozenset[str], list[str]]:
    """Actions of `scpd` whose arguments match what the clients send/read, and the mismatches."""
    expected = EXPECTED_ARGUMENTS.get(kind, {})
    usable: set[str] = set()
    problems: list[str] = []
    for name, arguments in scpd.actions.items():
        if name not in expected:
            continue  # vendor or newer action: not called by the clients
        want_in, want_out = expected[name]
        got_in = tuple(a.name for a in arguments if a.direction == "in")
        got_out = {a.name for a in arguments if a.direction == "out"}
        if got_in != want_in or not set(want_out) <= got_out:
            problems.append(
                f"{kind} {name} arguments in={list(got_in)} out={sorted(got_out)}"
                f" differ from in={list(want_in)} out={list(want_out)}; action not used"
            )
            continue
        usable.add(name)
    found = frozenset(usable)
    if len(_ACTION_SETS) < 64 or found in _ACTION_SETS:  # bounded: devices choose these
        found = _ACTION_SETS.setdefault(found, found)
    return found, problems


def check_cms_actions(
    actions: frozenset[str], *, writable_parameters: bool = False, writable_tables: bool = False
) -> list[str]:
    """TR-330 §4.3.1: required CMS actions; SetValues if anything is writable;
    CreateInstance/DeleteInstance if a multi-instance object is writable."""
    missing = [name for name in CMS_REQUIRED if name not in actions]
    if writable_parameters and "SetValues" not in actions:
        missing.append("SetValues")
    if writable_tables:
        missing.extend(n for n in ("CreateInstance", "DeleteInstance") if n not in actions)
    return [f"CMS lacks {name} (TR-330 §4.3.1)" for name in missing]


# --- I/O -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Tls:
    ssl_context: ssl.SSLContext | None = None
    peer_check: PeerCheck | None = None


async def _fetch_xml(
    session: aiohttp.ClientSession,
    url: str,
    limits: Limits,
    what: str,
    tls: _Tls,
    fetched: HttpResult | None = None,
) -> tuple[bytes, str]:
    """GET `url` (bounded); `fetched` is the answer discovery just got from it (`fresh`),
    used when it is within this fetch's bounds (else fetched again: same errors as ever)."""
    if fetched is not None and fetched.status == 200 and len(fetched.body) <= limits.max_bytes:
        result = fetched
    else:
        try:
            result = await bounded_request(
                session,
                "GET",
                url,
                time_limit=limits.document_time,
                max_bytes=limits.max_bytes,
                max_redirects=limits.max_redirects,
                ssl_context=tls.ssl_context,
                peer_check=tls.peer_check,
            )
        except HttpFetchError as exc:
            raise DescriptionError(f"{what}: {exc}", transient=exc.transient) from None
    if result.status != 200:
        raise DescriptionError(
            f"{what}: HTTP {result.status} from {url[:200]}", transient=result.status >= 500
        )
    content_type = result.content_type
    if content_type and not (content_type in _XML_CONTENT_TYPES or content_type.endswith("+xml")):
        raise DescriptionError(f"{what}: Content-Type {content_type!r} is not XML")
    return result.body, result.url


async def describe(
    session: aiohttp.ClientSession,
    url: str,
    limits: Limits | None = None,
    *,
    ssl_context: ssl.SSLContext | None = None,
    peer_check: PeerCheck | None = None,
    fetched: HttpResult | None = None,
) -> DescribeResult:
    """Fetch and check the description at `url`; never raises for anything the device does.

    For a DeviceProtection device pass its SECURELOCATION URL with our client
    `ssl_context` (and a `peer_check` to pin it), see `proxier.upnp.tls`. `fetched`: the
    description discovery has just read from `url` (`proxier.upnp.fresh`), not read again.
    """
    limits = limits or Limits()
    tls = _Tls(ssl_context, peer_check)
    transient = True
    try:
        async with asyncio.timeout(limits.total_time):
            return await _describe(session, url, limits, tls, fetched)
    except TimeoutError:
        reason = f"description and SCPDs took longer than {limits.total_time:g} s in total"
    except DescriptionError as exc:
        reason, transient = str(exc), exc.transient
    # a transient failure is the caller's to log, once per device (`proxier.virtual.redescribe`)
    _LOG.log(
        logging.DEBUG if transient else logging.WARNING,
        "skipping device at %s: %s",
        url[:200],
        reason,
    )
    return DescribeResult(skipped=((url, reason),), transient=transient)


async def _describe(
    session: aiohttp.ClientSession,
    url: str,
    limits: Limits,
    tls: _Tls,
    fetched: HttpResult | None = None,
) -> DescribeResult:
    body, final_url = await _fetch_xml(session, url, limits, "device description", tls, fetched)
    candidates, skipped = parse_device_description(body, final_url, max_bytes=limits.max_bytes)
    scpd_cache: dict[str, Scpd | str] = {}
    devices: list[DescribedDevice] = []
    for candidate in candidates:
        kinds = {s.dm_kind for s in candidate.services} - {None}
        if not kinds:
            continue  # not a DM device (e.g. an embedded media server)
        described = await _describe_candidate(session, candidate, limits, scpd_cache, tls)
        if isinstance(described, str):
            skipped.append((candidate.udn, described))
        else:
            devices.append(described)
    for udn, reason in skipped:
        _LOG.warning("skipping device %s at %s: %s", udn, url[:200], reason)
    for device in devices:
        for problem in device.problems:
            _LOG.info("device %s: %s", device.candidate.udn, problem)
    return DescribeResult(tuple(devices), tuple(skipped))


async def _describe_candidate(
    session: aiohttp.ClientSession,
    candidate: DeviceCandidate,
    limits: Limits,
    cache: dict[str, Scpd | str],
    tls: _Tls,
) -> DescribedDevice | str:
    """The checked device, or the reason it cannot be proxied."""
    problems = list(candidate.problems)
    scpds: dict[str, Scpd] = {}
    actions: dict[str, frozenset[str]] = {}
    for kind in ("CMS", "BMS", "SMS"):
        service = candidate.service(kind)
        if service is None:
            continue
        if service.scpd_url not in cache:
            try:
                body, _ = await _fetch_xml(session, service.scpd_url, limits, f"{kind} SCPD", tls)
                cache[service.scpd_url] = parse_scpd(body, max_bytes=limits.max_bytes)
            except DescriptionError as exc:
                if exc.transient:
                    raise  # the whole device is read again later, not half of it
                cache[service.scpd_url] = str(exc)
        scpd = cache[service.scpd_url]
        if isinstance(scpd, str):
            if kind == "CMS":
                return scpd
            problems.append(f"{kind} not used: {scpd}")
            continue
        usable, mismatches = usable_actions(kind, scpd)
        problems.extend(mismatches)
        problems.extend(f"{kind} SCPD: {p}" for p in scpd.problems)
        scpds[kind] = scpd
        actions[kind] = usable
    if not scpds:
        return "no usable BMS, CMS or SMS service (TR-330 §3.1: at least one)"
    if "CMS" in scpds:
        missing = check_cms_actions(actions["CMS"])
        if missing:
            return "; ".join(missing)
    else:
        offered = "/".join(sorted(scpds))
        problems.append(f"no ConfigurationManagement: only {offered} proxied (TR-330 §3.1)")
    if "BMS" in actions and "Reboot" not in actions["BMS"]:
        problems.append("BMS lacks Reboot: no reboot mechanism (TR-069 Annex J virtual device)")
    return DescribedDevice(candidate, scpds, actions, tuple(problems))
