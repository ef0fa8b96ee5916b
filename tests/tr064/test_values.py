"""Issue 12 item 1 on the TR-064 side: values forwarded to a TR-064 device, and values it
reports, go through the one xsd validator (`proxier.cwmp.xsdtypes.check_value`)."""

from __future__ import annotations

import pytest

from proxier.tr064.backend import to_cwmp, to_tr064


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("xsd:unsignedInt", "١٢"),
        ("xsd:unsignedInt", "𝟙"),
        ("xsd:unsignedInt", "²"),
        ("xsd:unsignedInt", "4294967296"),
        ("xsd:unsignedInt", "1" * 26),
        ("xsd:int", "2147483648"),
        ("xsd:boolean", "TRUE"),
        ("xsd:boolean", "maybe"),
        ("xsd:dateTime", "2024-01-01 10:00:00"),
    ],
)
def test_value_outside_its_xsd_type_is_never_forwarded_to_a_tr064_device(
    kind: str, value: str
) -> None:
    """Issue 12 item 1 rule: refused (the backend answers 9007 for the parameter)."""
    assert to_tr064(kind, value) is None


def test_valid_values_are_forwarded_in_the_device_form() -> None:
    """Booleans as 0/1 (TR-064), integers without sign or leading zeros."""
    assert to_tr064("xsd:boolean", "true") == "1" and to_tr064("xsd:boolean", "0") == "0"
    assert to_tr064("xsd:unsignedInt", " 0042\n") == "42"
    assert to_tr064("xsd:string", " kept as given ") == " kept as given "


@pytest.mark.parametrize("value", ["²", "١٢", "9" * 5000, "4294967296"])
def test_a_device_number_outside_its_type_is_reported_as_the_default(value: str) -> None:
    """What the device reports must be a value of the type before it reaches the ACS."""
    assert to_cwmp("xsd:unsignedInt", value) == "0"
    assert to_cwmp("xsd:unsignedInt", "007") == "7"
