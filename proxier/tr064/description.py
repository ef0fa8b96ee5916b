"""Sans-IO TR-064 descriptions: tr64desc.xml (urn:dslforum-org:device-1-0) and its SCPDs.

A TR-064 root device (FRITZ! guide §5.1, §10.4) nests LANDevice/WANDevice below the
InternetGatewayDevice; every service of the tree is collected with its control and SCPD URL.
Identity per guide §5.1 and issue 10: SerialNumber is the MAC from `serialNumber` (or the
UDN's last part), OUI its first three octets, ProductClass the `modelName`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from lxml import etree

from proxier.upnp.description import DescriptionError, Scpd, parse_scpd
from proxier.xmlsafe import XmlError, local_name, namespace, parse_xml

DEVICE_NS = "urn:dslforum-org:device-1-0"
SERVICE_NS = "urn:dslforum-org:service-1-0"
UPNP_SERVICE_NS = b"urn:schemas-upnp-org:service-1-0"
DEVICE_TYPE_PREFIX = "urn:dslforum-org:device:"
MAX_SERVICES = 64
MAX_DEPTH = 4

#: Device types FRITZ! and other dslforum devices answer M-SEARCH for (TR-064 §3.2.2).
SEARCH_TARGETS = (
    "urn:dslforum-org:device:InternetGatewayDevice:1",
    "urn:dslforum-org:device:LANDevice:1",
    "urn:dslforum-org:device:WANDevice:1",
    "urn:dslforum-org:device:WANConnectionDevice:1",
)


def is_tr064_type(urn: str) -> bool:
    """A dslforum device type (urn:dslforum-org:device:…), as TR-064 devices announce."""
    return urn.startswith(DEVICE_TYPE_PREFIX)


_HEX12 = re.compile(r"^[0-9A-Fa-f]{12}$")


@dataclass(frozen=True, slots=True)
class Tr064Service:
    service_type: str  # urn:dslforum-org:service:WLANConfiguration:1
    service_id: str  # urn:WLANConfiguration-com:serviceId:WLANConfiguration2
    control_url: str  # absolute
    scpd_url: str  # absolute

    @property
    def name(self) -> str:
        """ "WLANConfiguration" from the service type."""
        parts = self.service_type.split(":")
        return parts[-2] if len(parts) >= 2 else self.service_type

    @property
    def instance(self) -> int:
        """The serviceId's trailing number (WLANConfiguration2 → 2), 1 when there is none."""
        tail = self.service_id.rsplit(":", 1)[-1]
        digits = re.search(r"(\d+)$", tail)
        return int(digits.group(1)) if digits else 1

    @property
    def key(self) -> str:
        return f"{self.name}:{self.instance}"


@dataclass(frozen=True, slots=True)
class Tr064Description:
    url: str
    udn: str
    friendly_name: str
    manufacturer: str
    model_name: str
    serial_number: str  # as written in the description (may be empty)
    services: tuple[Tr064Service, ...]

    @property
    def mac(self) -> str:
        """The device MAC, 12 upper-case hex digits, from serialNumber or the UDN (§5.1)."""
        for candidate in (self.serial_number, self.udn.rsplit("-", 1)[-1]):
            compact = candidate.replace(":", "").replace("-", "").strip()
            if _HEX12.match(compact):
                return compact.upper()
        return ""

    @property
    def oui(self) -> str:
        return self.mac[:6]

    def service(self, key: str) -> Tr064Service | None:
        for service in self.services:
            if service.key == key:
                return service
        return None


def is_tr064_root(document: bytes) -> bool:
    """Whether a description document is a TR-064 one (urn:dslforum-org:device-1-0 root)."""
    try:
        root = parse_xml(document, max_bytes=1024 * 1024)
    except XmlError:
        return False
    return local_name(root) == "root" and namespace(root) == DEVICE_NS


def _text(parent: etree._Element, name: str) -> str:
    child = parent.find(f"{{{DEVICE_NS}}}{name}")
    return (child.text or "").strip() if child is not None else ""


def _resolve(base: str, ref: str) -> str:
    url = urljoin(base, ref)
    if (
        urlsplit(url).scheme not in ("http", "https")
        or urlsplit(url).netloc != urlsplit(base).netloc
    ):
        raise DescriptionError(f"service URL {ref[:100]!r} leaves the device")
    return url


def parse_tr64desc(document: bytes, url: str, *, max_bytes: int = 1024 * 1024) -> Tr064Description:
    try:
        root = parse_xml(document, max_bytes=max_bytes)
    except XmlError as exc:
        raise DescriptionError(f"tr64desc: {exc}") from None
    if local_name(root) != "root" or namespace(root) != DEVICE_NS:
        raise DescriptionError(
            f"root is {{{namespace(root)}}}{local_name(root)}, not {{{DEVICE_NS}}}root"
        )
    device = root.find(f"{{{DEVICE_NS}}}device")
    if device is None:
        raise DescriptionError("tr64desc without a device")
    services: list[Tr064Service] = []
    _collect(device, url, services, 0)
    udn = _text(device, "UDN")
    if not udn.startswith("uuid:"):
        raise DescriptionError("root device without a uuid: UDN")
    return Tr064Description(
        url=url,
        udn=udn,
        friendly_name=_text(device, "friendlyName")[:64],
        manufacturer=_text(device, "manufacturer")[:64],
        model_name=_text(device, "modelName")[:64],
        serial_number=_text(device, "serialNumber")[:64],
        services=tuple(services),
    )


def _collect(device: etree._Element, base: str, out: list[Tr064Service], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise DescriptionError("devices nested too deep")
    service_list = device.find(f"{{{DEVICE_NS}}}serviceList")
    for element in service_list if service_list is not None else []:
        if not isinstance(element.tag, str) or local_name(element) != "service":
            continue
        if len(out) >= MAX_SERVICES:
            raise DescriptionError(f"more than {MAX_SERVICES} services")
        service_type = _text(element, "serviceType")
        control, scpd = _text(element, "controlURL"), _text(element, "SCPDURL")
        if not service_type or not control or not scpd:
            continue
        out.append(
            Tr064Service(
                service_type,
                _text(element, "serviceId"),
                _resolve(base, control),
                _resolve(base, scpd),
            )
        )
    device_list = device.find(f"{{{DEVICE_NS}}}deviceList")
    for child in device_list if device_list is not None else []:
        if isinstance(child.tag, str) and local_name(child) == "device":
            _collect(child, base, out, depth + 1)


def parse_tr064_scpd(document: bytes) -> Scpd:
    """A TR-064 SCPD: the UPnP SCPD grammar under the dslforum service namespace, so the
    UPnP parser reads it once the namespace is the one it knows."""
    return parse_scpd(document.replace(SERVICE_NS.encode(), UPNP_SERVICE_NS, 1))


def in_arguments(scpd: Scpd, action: str) -> tuple[str, ...]:
    return tuple(a.name for a in scpd.actions.get(action, ()) if a.direction == "in")


def out_arguments(scpd: Scpd, action: str) -> tuple[str, ...]:
    return tuple(a.name for a in scpd.actions.get(action, ()) if a.direction == "out")


def offered(scpds: Mapping[str, Scpd], key: str, action: str) -> bool:
    scpd = scpds.get(key)
    return scpd is not None and action in scpd.actions
