"""The lab ACS never shows a password it was asked to set (docs/labacs.md: "Passwords in
task arguments are shown as `***`"; issue 11: SetParameterValues values included)."""

from __future__ import annotations

from proxier.labacs.store import redact

CR = "Device.ManagementServer.ConnectionRequestPassword"


def test_spv_password_values_masked_in_both_forms() -> None:
    task = {
        "name": "SetParameterValues",
        "parameterList": [
            [CR, "s1", "xsd:string"],
            {"name": "Device.WiFi.AccessPoint.1.Security.KeyPassphrase", "value": "s2"},
            ["Device.DeviceInfo.ProvisioningCode", "visible"],
        ],
        "password": "s3",
    }
    shown = redact(task)
    assert shown["parameterList"][0] == [CR, "***", "xsd:string"]
    assert shown["parameterList"][1]["value"] == "***"
    assert shown["parameterList"][2] == ["Device.DeviceInfo.ProvisioningCode", "visible"]
    assert shown["password"] == "***"
    assert [CR, "", "xsd:string"] == redact([CR, "", "xsd:string"])  # nothing to hide
