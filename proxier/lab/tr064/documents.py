"""The lab TR-064 device's XML: tr64desc.xml (guide §10.4, §5.1), SCPDs and SOAP answers.

FRITZ! devices indent their XML and put whitespace between the elements of a UPnPError
fault detail; clients such as fritzconnection read the fault that way, so we do the same.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from xml.sax.saxutils import escape

from proxier.lab.tr064.services import DEVICE_NS, LabService

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
AUTH_NS = "http://soap-authentication.org/digest/2001/10/"

#: TR-064 / UPnP error texts the lab uses (UDA §3.2.2, guide §6.1, TR-064 Table 7).
ERROR_TEXT = {
    401: "Invalid Action",
    402: "Invalid Args",
    501: "Action Failed",
    503: "Auth. failed",
    600: "Argument Value Invalid",
    606: "Action not authorized",
    713: "SpecifiedArrayIndexInvalid",
    714: "NoSuchEntryInArray",
    820: "Internal Error",
    866: "second factor authentication required",
    867: "second factor authentication blocked",
    868: "second factor authentication busy",
    899: "Configuration session in progress",
}


@dataclass(frozen=True, slots=True)
class Identity:
    udn: str  # uuid:…-<MAC without colons>
    mac: str  # 12 hex digits, upper case
    model: str
    manufacturer: str
    friendly_name: str
    version: tuple[str, str, str, str]  # HW, Major, Minor, Patch (FRITZ!OS 7.57 → "7","57")


def _service_xml(service: LabService) -> str:
    return (
        "<service>\n"
        f"<serviceType>{service.service_type}</serviceType>\n"
        f"<serviceId>{service.service_id}</serviceId>\n"
        f"<controlURL>{service.control}</controlURL>\n"
        f"<eventSubURL>{service.control}</eventSubURL>\n"
        f"<SCPDURL>{service.scpd}</SCPDURL>\n"
        "</service>\n"
    )


def _device_xml(kind: str, name: str, ident: Identity, udn: str, services: str, sub: str) -> str:
    return (
        "<device>\n"
        f"<deviceType>{DEVICE_NS}{kind}:1</deviceType>\n"
        f"<friendlyName>{escape(name)}</friendlyName>\n"
        f"<manufacturer>{escape(ident.manufacturer)}</manufacturer>\n"
        "<manufacturerURL>https://fritz.com</manufacturerURL>\n"
        f"<modelDescription>{escape(ident.model)}</modelDescription>\n"
        f"<modelName>{escape(ident.model)}</modelName>\n"
        "<modelNumber> - avm</modelNumber>\n"
        "<modelURL>https://fritz.com</modelURL>\n"
        f"<UDN>{udn}</UDN>\n"
        f"<serialNumber>{ident.mac}</serialNumber>\n"
        f"<serviceList>\n{services}</serviceList>\n"
        f"{sub}"
        "</device>\n"
    )


def tr64desc(ident: Identity, services: Iterable[LabService]) -> bytes:
    """The root description: InternetGatewayDevice with a LANDevice below (guide §10.4)."""
    by_device: dict[str, str] = {}
    for service in services:
        by_device[service.device] = by_device.get(service.device, "") + _service_xml(service)
    lan_udn = ident.udn[:-12] + ident.mac[:-1] + "1" if len(ident.udn) > 12 else ident.udn
    lan = _device_xml(
        "LANDevice",
        f"LANDevice - {ident.model}",
        ident,
        lan_udn,
        by_device.get("LANDevice", ""),
        "",
    )
    root = _device_xml(
        "InternetGatewayDevice",
        ident.friendly_name,
        ident,
        ident.udn,
        by_device.get("InternetGatewayDevice", ""),
        f"<deviceList>\n{lan}</deviceList>\n<presentationURL>http://fritz.box</presentationURL>\n",
    )
    hw, major, minor, patch = ident.version
    return (
        '<?xml version="1.0"?>\n'
        '<root xmlns="urn:dslforum-org:device-1-0">\n'
        "<specVersion>\n<major>1</major>\n<minor>0</minor>\n</specVersion>\n"
        "<systemVersion>\n"
        f"<HW>{hw}</HW>\n<Major>{major}</Major>\n<Minor>{minor}</Minor>\n<Patch>{patch}</Patch>\n"
        f"<Buildnumber>1{minor}{patch}</Buildnumber>\n<Display>{major}.{minor}.{patch}</Display>\n"
        "</systemVersion>\n"
        f"{root}</root>\n"
    ).encode()


def scpd(service: LabService) -> bytes:
    """The service's SCPD; state variables named after the arguments (`New` dropped)."""
    actions = []
    variables: dict[str, str] = {}
    for name, action in service.actions.items():
        args = []
        for direction, arguments in (("in", action.inputs), ("out", action.outputs)):
            for arg, kind in arguments:
                variables[arg] = kind
                args.append(
                    "<argument>\n"
                    f"<name>New{arg}</name>\n<direction>{direction}</direction>\n"
                    f"<relatedStateVariable>{arg}</relatedStateVariable>\n"
                    "</argument>\n"
                )
        actions.append(
            f"<action>\n<name>{name}</name>\n<argumentList>\n{''.join(args)}</argumentList>\n"
            "</action>\n"
        )
    table = "".join(
        f'<stateVariable sendEvents="no">\n<name>{var}</name>\n<dataType>{kind}</dataType>\n'
        "</stateVariable>\n"
        for var, kind in variables.items()
    )
    return (
        '<?xml version="1.0"?>\n'
        '<scpd xmlns="urn:dslforum-org:service-1-0">\n'
        "<specVersion>\n<major>1</major>\n<minor>0</minor>\n</specVersion>\n"
        f"<actionList>\n{''.join(actions)}</actionList>\n"
        f"<serviceStateTable>\n{table}</serviceStateTable>\n"
        "</scpd>\n"
    ).encode()


def _header(header: str) -> str:
    return f"<s:Header>\n{header}</s:Header>\n" if header else ""


def response(service_type: str, action: str, values: Mapping[str, str], header: str = "") -> bytes:
    args = "".join(f"<{k}>{escape(v)}</{k}>\n" for k, v in values.items())
    return (
        '<?xml version="1.0"?>\n'
        f'<s:Envelope xmlns:s="{SOAP_ENV}" s:encodingStyle="{SOAP_ENC}">\n'
        f"{_header(header)}<s:Body>\n"
        f'<u:{action}Response xmlns:u="{service_type}">\n{args}</u:{action}Response>\n'
        "</s:Body>\n</s:Envelope>\n"
    ).encode()


def fault(code: int, description: str | None = None, header: str = "") -> bytes:
    text = escape(description or ERROR_TEXT.get(code, "Action Failed"))
    return (
        '<?xml version="1.0"?>\n'
        f'<s:Envelope xmlns:s="{SOAP_ENV}" s:encodingStyle="{SOAP_ENC}">\n'
        f"{_header(header)}<s:Body>\n<s:Fault>\n<faultcode>s:Client</faultcode>\n"
        "<faultstring>UPnPError</faultstring>\n<detail>\n"
        '<UPnPError xmlns="urn:dslforum-org:control-1-0">\n'
        f"<errorCode>{code}</errorCode>\n<errorDescription>{text}</errorDescription>\n"
        "</UPnPError>\n</detail>\n</s:Fault>\n</s:Body>\n</s:Envelope>\n"
    ).encode()


def challenge(element: str, status: str, nonce: str, realm: str) -> str:
    """A content-level auth header element (guide §10.7.2 Challenge, §10.7.4 NextChallenge)."""
    return (
        f'<h:{element} xmlns:h="{AUTH_NS}" s:mustUnderstand="1">\n'
        f"<Status>{status}</Status>\n<Nonce>{nonce}</Nonce>\n"
        f"<Realm>{escape(realm)}</Realm>\n</h:{element}>\n"
    )
