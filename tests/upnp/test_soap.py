"""Sans-IO SOAP control codec (UDA §3.2.1 request, §3.2.2 response and UPnPError fault)."""

from __future__ import annotations

import pytest

from proxier.upnp import soap
from proxier.upnp.device import UpnpError

CMS = "urn:schemas-upnp-org:service:ConfigurationManagement:2"
ENV = f'<s:Envelope xmlns:s="{soap.SOAP_ENV_NS}">'


def test_request_headers_and_envelope() -> None:
    """UDA §3.2.1: SOAPACTION "type#action", text/xml; arguments in the given order."""
    headers, body = soap.build_request(
        CMS, "GetInstances", [("StartingNode", "/A/"), ("SearchDepth", "0")]
    )
    assert headers["SOAPACTION"] == f'"{CMS}#GetInstances"'
    assert headers["Content-Type"].startswith("text/xml")
    service_type, action, args = soap.parse_request(body)
    assert (service_type, action, list(args.items())) == (
        CMS,
        "GetInstances",
        [("StartingNode", "/A/"), ("SearchDepth", "0")],
    )


def test_unrepresentable_argument_is_600() -> None:
    """A value XML cannot carry is refused before sending (UDA 600 Argument Value Invalid)."""
    with pytest.raises(UpnpError) as info:
        soap.build_request(CMS, "DeleteInstance", [("InstanceIdentifier", "/A/\x00/")])
    assert info.value.code == 600


def test_markup_and_carriage_return_survive() -> None:
    """Markup characters are escaped; CR is sent as a character reference so it survives."""
    _, body = soap.build_request(CMS, "X", [("A", "a\r\n<b>&amp;")])
    assert soap.parse_request(body)[2]["A"] == "a\r\n<b>&amp;"


def test_fault_is_read_even_with_http_200() -> None:
    """Some devices send the fault with 200; the UPnPError still wins."""
    with pytest.raises(UpnpError) as info:
        soap.parse_response("GetValues", 200, soap.build_fault(708, "busy"))
    assert (info.value.code, info.value.description) == (708, "busy")


def test_extra_output_arguments_are_ignored() -> None:
    """A newer service version may add outputs; required ones must be present."""
    body = soap.build_response(CMS, "SetValues", [("Status", "ChangesApplied"), ("New", "x")])
    assert soap.parse_response("SetValues", 200, body, ("Status",))["Status"] == "ChangesApplied"


def test_response_namespace_version_is_tolerated() -> None:
    """A CMS:1 response namespace on a CMS:2 call still decodes (matched by local name)."""
    body = soap.build_response(CMS.replace(":2", ":1"), "SetValues", [("Status", "ChangesApplied")])
    assert soap.parse_response("SetValues", 200, body, ("Status",))


@pytest.mark.parametrize(
    ("status", "body", "why"),
    [
        (200, b"<a/>", "not a SOAP 1.1 envelope"),
        (200, f'<s:Envelope xmlns:s="{soap.SOAP_ENV_NS}"/>'.encode(), "exactly one Body"),
        (200, f'<s:Envelope xmlns:s="{soap.SOAP_ENV_NS}"><s:Body/></s:Envelope>'.encode(), "empty"),
        (500, soap.build_fault(399, "x"), "out-of-range"),
        (
            500,
            (ENV + "<s:Body><s:Fault/></s:Body></s:Envelope>").encode(),
            "without a UPnPError",
        ),
    ],
)
def test_protocol_violations_are_code_0(status: int, body: bytes, why: str) -> None:
    """Contract: a device breaking SOAP gives UpnpError(0), never a parser exception."""
    with pytest.raises(UpnpError) as info:
        soap.parse_response("SetValues", status, body, ("Status",))
    assert info.value.code == 0 and why in info.value.description


def test_bad_request_body_is_402() -> None:
    """Device side: an unusable SOAP request is 402 Invalid Args."""
    with pytest.raises(UpnpError) as info:
        soap.parse_request(b"<nope")
    assert info.value.code == 402
