"""The one redaction helper (issue 11 "Logs that help": credentials redacted everywhere,
URLs included; library errors summarised to one line)."""

from __future__ import annotations

import aiohttp

from proxier.redact import has_password, redact, redact_url, summarise
from tests.ports import free_port


def test_url_passwords_masked_user_kept() -> None:
    assert (
        redact_url("https://u:p%40ss@acs.example:7547/x?y=1")
        == "https://u:***@acs.example:7547/x?y=1"
    )
    assert redact_url("http://[::1]:80/") == "http://[::1]:80/"
    assert redact("GET http://a:b@h/ and ftp://:c@h2/") == "GET http://a:***@h/ and ftp://:***@h2/"
    assert has_password("http://a:b@h/") and not has_password("http://a@h/")


def test_key_values_xml_and_headers_masked() -> None:
    text = redact(
        'password=hunter2&x=1 {"cr_password": "s3"} '
        "<Name>Device.ManagementServer.ConnectionRequestPassword</Name>"
        '<Value xsi:type="xsd:string">s4</Value> <NewPassword>s5</NewPassword>\n'
        'Authorization: Digest username="a", response="abc"'
    )
    for secret in ("hunter2", "s3", 'response="abc"', ">s4<", ">s5<"):
        assert secret not in text, secret
    assert "x=1" in text and "ConnectionRequestPassword" in text


async def test_acs_down_error_is_one_short_line() -> None:
    """The 379-character ClientConnectorError repr becomes class + host:port + reason."""
    port = free_port()
    async with aiohttp.ClientSession() as session:
        try:
            await session.get(f"http://127.0.0.1:{port}/")
        except aiohttp.ClientError as exc:
            error = exc
    assert len(repr(error)) > 200
    line = summarise(error)
    assert line == f"ClientConnectorError: cannot connect to 127.0.0.1:{port} (Connection refused)"


def test_parameter_key_is_not_a_secret() -> None:
    """ParameterKey and other *Key names stay readable; PreSharedKey is masked."""
    text = redact(
        "<Name>Device.ManagementServer.ParameterKey</Name><Value>k1</Value>"
        "<Name>Device.WiFi.AccessPoint.1.Security.PreSharedKey</Name><Value>psk</Value>"
    )
    assert ">k1<" in text and ">psk<" not in text
