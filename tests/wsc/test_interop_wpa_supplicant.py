"""proxier's WSC Enrollee against an independent Registrar: Debian 12 wpa_supplicant
2.10's External Registrar (`-D none`) over WFA UPnP, PIN (issue 9 "Independent checks";
dp-wps.md §5). Runs only inside a test namespace."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.netns.fixtures import MakeLan
from tests.wsc.peers import UUID_E, start_er, wpa_cli

pytestmark = pytest.mark.usefixtures("wsc_peers")

PIN = "12345670"
NEW_SSID = b"wsc-new".hex()
NEW_KEY = b"new-passphrase".hex()


async def test_issue9_enrollee_vs_wpa_supplicant_er_wrong_pin_nack18_then_pin_done(
    netns_lan: MakeLan, tmp_path: Path
) -> None:
    lan = netns_lan("er")
    device = await lan.python(
        "er", "tests.netns.wsc_enrollee_device", "--pin", PIN, "--uuid-e", UUID_E.replace("-", "")
    )
    await device.expect(lambda line: line == "READY", within=20)
    wpa, ctrl = await start_er(lan, "er", tmp_path)
    await wpa.expect(lambda line: f"WPS-ER-AP-ADD {UUID_E}" in line, within=20)

    # The ER's PIN is wrong in its second half: our Enrollee refuses R-Hash2 with NACK 18.
    await wpa_cli(
        lan, "er", ctrl, "wps_er_config", UUID_E, "12340000", NEW_SSID, "WPA2PSK", "CCMP", NEW_KEY
    )
    line = await device.expect(lambda x: x.startswith("RESULT"), within=30)
    assert line == "RESULT fail 18 device password half 2 does not match"
    await wpa.expect(lambda x: "Enrollee terminated negotiation with Configuration Error 18" in x)

    # The right PIN: M1 … M8 and our WSC_Done; the ER says it is complete.
    await wpa_cli(
        lan, "er", ctrl, "wps_er_config", UUID_E, PIN, NEW_SSID, "WPA2PSK", "CCMP", NEW_KEY
    )
    line = await device.expect(lambda x: x.startswith("RESULT"), within=30)
    assert line == "RESULT ok"
    await wpa.expect(lambda x: "Negotiation completed successfully" in x, within=10)
    received = [x for x in device.lines if x.startswith("MSG")]
    assert received[-4:] == ["MSG M2", "MSG M4", "MSG M6", "MSG M8"]
