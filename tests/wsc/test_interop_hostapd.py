"""proxier's WSC Registrar against an independent Enrollee: Debian 12 hostapd 2.10 as an
AP Enrollee over WFA UPnP, `driver=none`, AP PIN (issue 9 "Independent checks";
dp-wps.md §5). Runs only inside a test namespace."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.netns.fixtures import MakeLan
from tests.wsc.peers import HOSTAPD_CONTROL, start_hostapd

pytestmark = pytest.mark.usefixtures("wsc_peers")

AP_PIN = "12345670"


async def test_issue9_registrar_vs_hostapd_wrong_pin_nack18_then_pin_reaches_done(
    netns_lan: MakeLan, tmp_path: Path
) -> None:
    lan = netns_lan("ap")
    hostapd = await start_hostapd(lan, "ap", tmp_path, AP_PIN)

    # A wrong second PIN half: hostapd (the Enrollee) refuses R-Hash2 with NACK 18.
    wrong = await lan.python(
        "ap", "tests.netns.wsc_registrar", "--url", HOSTAPD_CONTROL, "--pin", "12340000"
    )
    assert await wrong.exited(30) == 1
    await wrong.stop()
    assert [x for x in wrong.lines if x.startswith(("MSG", "RESULT"))] == [
        "MSG M1",
        "MSG M3",
        "MSG M5",
        "MSG WSC_NACK",
        "RESULT fail 18 peer sent WSC_NACK (Configuration Error 18)",
    ]
    await hostapd.expect(lambda line: "WPS-FAIL msg=10 config_error=18" in line)

    # The right PIN: M1 … M8, then hostapd's WSC_Done.
    right = await lan.python(
        "ap", "tests.netns.wsc_registrar", "--url", HOSTAPD_CONTROL, "--pin", AP_PIN
    )
    assert await right.exited(30) == 0, right.lines
    await right.stop()
    assert [x for x in right.lines if x.startswith(("MSG", "RESULT"))] == [
        "MSG M1",
        "MSG M3",
        "MSG M5",
        "MSG M7",
        "MSG WSC_Done",
        "RESULT ok",
    ]
    # hostapd took the AP Settings our M8 carried (its own words).
    await hostapd.expect(lambda line: "WPS-NEW-AP-SETTINGS" in line)
    await hostapd.expect(lambda line: "Building Message WSC_Done" in line)
