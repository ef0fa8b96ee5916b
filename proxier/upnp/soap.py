"""Sans-IO UPnP SOAP control codec (UDA §3.2): action requests out, responses/faults in.

The typed CMS/BMS/SMS clients build every request and read every response through these two
functions, so the wire format is in one place and golden fixtures test it exactly. Response
bodies are untrusted and parsed with `proxier.xmlsafe`. A SOAP fault with a UPnPError becomes
`UpnpError(code, description)`; anything a device gets wrong at the protocol level (bad
envelope, missing output argument, fault without a code) is `UpnpError(0, …)`, the code the
contract reserves for "no UPnP code, the device is suspect".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from lxml import etree

from proxier.upnp.device import UpnpError
from proxier.xmlsafe import XmlError, local_name, namespace, parse_xml

SOAP_ENV_NS = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP_ENCODING = "http://schemas.xmlsoap.org/soap/encoding/"
CONTROL_NS = "urn:schemas-upnp-org:control-1-0"
TRANSPORT_ERROR = 0
ARGUMENT_VALUE_INVALID = 600

# Characters XML 1.0 cannot carry at all; CR is kept by escaping it as a reference.
_UNREPRESENTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def escape_text(value: str) -> str:
    """Escape a string argument for element content; refuse what XML cannot represent."""
    if _UNREPRESENTABLE.search(value):
        raise UpnpError(ARGUMENT_VALUE_INVALID, "argument holds characters XML cannot carry")
    # Chained replace is much faster than str.translate with a dict on long documents.
    escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return escaped.replace("\r", "&#13;") if "\r" in escaped else escaped


def soap_action_header(service_type: str, action: str) -> str:
    return f'"{service_type}#{action}"'


def build_request(
    service_type: str, action: str, arguments: Sequence[tuple[str, str]]
) -> tuple[dict[str, str], bytes]:
    """Headers and body of an action invocation; `arguments` in SCPD order (UDA §3.2.1)."""
    args = "".join(f"<{name}>{escape_text(value)}</{name}>" for name, value in arguments)
    body = (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP_ENV_NS}" s:encodingStyle="{SOAP_ENCODING}">'
        f'<s:Body><u:{action} xmlns:u="{service_type}">{args}</u:{action}></s:Body>'
        "</s:Envelope>"
    )
    headers = {
        "Content-Type": 'text/xml; charset="utf-8"',
        "SOAPACTION": soap_action_header(service_type, action),
    }
    return headers, body.encode("utf-8")


def build_response(service_type: str, action: str, arguments: Sequence[tuple[str, str]]) -> bytes:
    """The device side of a successful action (used by test peers and golden fixtures)."""
    args = "".join(f"<{name}>{escape_text(value)}</{name}>" for name, value in arguments)
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP_ENV_NS}" s:encodingStyle="{SOAP_ENCODING}">'
        f'<s:Body><u:{action}Response xmlns:u="{service_type}">{args}</u:{action}Response>'
        "</s:Body></s:Envelope>"
    ).encode()


def build_fault(code: int, description: str) -> bytes:
    """The device side of a failed action: SOAP Client fault with a UPnPError (UDA §3.2.2)."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<s:Envelope xmlns:s="{SOAP_ENV_NS}" s:encodingStyle="{SOAP_ENCODING}"><s:Body>'
        "<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring>"
        f'<detail><UPnPError xmlns="{CONTROL_NS}"><errorCode>{code}</errorCode>'
        f"<errorDescription>{escape_text(description)}</errorDescription></UPnPError>"
        "</detail></s:Fault></s:Body></s:Envelope>"
    ).encode()


def _protocol_error(action: str, what: str) -> UpnpError:
    return UpnpError(TRANSPORT_ERROR, f"{action}: {what}")


def _body_child(envelope: etree._Element, action: str) -> etree._Element:
    if local_name(envelope) != "Envelope" or namespace(envelope) != SOAP_ENV_NS:
        raise _protocol_error(action, "response is not a SOAP 1.1 envelope")
    bodies = [c for c in envelope if isinstance(c.tag, str) and local_name(c) == "Body"]
    if len(bodies) != 1:
        raise _protocol_error(action, "SOAP envelope without exactly one Body")
    children = [c for c in bodies[0] if isinstance(c.tag, str)]
    if not children:
        raise _protocol_error(action, "empty SOAP Body")
    return children[0]


def _fault(fault: etree._Element, action: str) -> UpnpError:
    code_text: str | None = None
    description = ""
    for element in fault.iter():
        if not isinstance(element.tag, str):
            continue
        if local_name(element) == "errorCode":
            code_text = (element.text or "").strip()
        elif local_name(element) == "errorDescription":
            description = (element.text or "").strip()
    if code_text is None:
        return _protocol_error(action, "SOAP fault without a UPnPError errorCode")
    try:
        code = int(code_text)
    except ValueError:
        return _protocol_error(action, f"SOAP fault with a bad errorCode {code_text[:40]!r}")
    if not 401 <= code <= 899:
        return _protocol_error(action, f"SOAP fault with out-of-range errorCode {code}")
    return UpnpError(code, description[:500])


def _argument_text(element: etree._Element) -> str:
    """An argument's string value; a document sent as raw child elements is re-serialized."""
    children = [c for c in element if isinstance(c.tag, str)]
    if children:
        return etree.tostring(children[0], encoding="unicode", with_tail=False)
    return element.text or ""


def parse_response(
    action: str,
    status: int,
    body: bytes,
    out_arguments: Sequence[str] = (),
    *,
    max_bytes: int = 4 * 1024 * 1024,
) -> Mapping[str, str]:
    """Return the output arguments of a successful action, or raise `UpnpError`.

    Every name in `out_arguments` must be present; unknown extra arguments are ignored
    (a newer service version may add some).
    """
    try:
        envelope = parse_xml(body, max_bytes=max_bytes)
    except XmlError as exc:
        raise _protocol_error(action, f"HTTP {status} with unusable body: {exc}") from None
    child = _body_child(envelope, action)
    if local_name(child) == "Fault":
        raise _fault(child, action)
    if status != 200:
        raise _protocol_error(action, f"HTTP {status} without a SOAP fault")
    if local_name(child) != f"{action}Response":
        raise _protocol_error(action, f"unexpected response element <{local_name(child)}>")
    values: dict[str, str] = {}
    for element in child:
        if isinstance(element.tag, str):
            values.setdefault(local_name(element), _argument_text(element))
    missing = [name for name in out_arguments if name not in values]
    if missing:
        raise _protocol_error(action, f"response lacks {', '.join(missing)}")
    return values


def parse_request(
    body: bytes, *, max_bytes: int = 4 * 1024 * 1024
) -> tuple[str, str, dict[str, str]]:
    """(serviceType, action, arguments) of an invocation: the device side, for test peers."""
    try:
        envelope = parse_xml(body, max_bytes=max_bytes)
    except XmlError as exc:
        raise UpnpError(402, f"unusable SOAP request: {exc}") from None
    try:
        child = _body_child(envelope, "request")
    except UpnpError as exc:
        raise UpnpError(402, exc.description) from None
    args = {local_name(e): _argument_text(e) for e in child if isinstance(e.tag, str)}
    return namespace(child), local_name(child), args
