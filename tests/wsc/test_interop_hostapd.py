"""proxier's WSC Registrar against an independent Enrollee: Debian 12 hostapd 2.10 as an
AP Enrollee over WFA UPnP, `driver=none`, AP PIN (issue 9 "Independent checks";
dp-wps.md §5). Runs only inside a test namespace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from proxier.wsc import crypto, tlv
from tests.netns.fixtures import MakeLan
from tests.wsc.hostapd_dump import hexdumps
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
    record = tmp_path / "run.json"
    mark = len(hostapd.lines)  # hostapd's output of this run starts here
    right = await lan.python(
        "ap",
        "tests.netns.wsc_registrar",
        "--url",
        HOSTAPD_CONTROL,
        "--pin",
        AP_PIN,
        "--record",
        str(record),
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

    # This run's keys, from our side's recorded randomness, equal hostapd's key dump.
    run = json.loads(record.read_text())
    m1, m2 = (tlv.Message(bytes.fromhex(m)) for m in run["messages"][:2])
    exponent = int.from_bytes(bytes.fromhex(run["draws"][1]), "big")  # after the nonce
    dhkey = crypto.DhKey(exponent).dhkey(m1.need(tlv.PUBLIC_KEY))
    keys = crypto.SessionKeys(
        dhkey,
        m1.need(tlv.ENROLLEE_NONCE),
        m1.need(tlv.MAC_ADDRESS),
        m2.need(tlv.REGISTRAR_NONCE),
    )
    dump = hexdumps(hostapd.lines[mark:])
    assert dump["DHKey"] == dhkey
    assert (dump["KDK"], dump["AuthKey"], dump["KeyWrapKey"], dump["EMSK"]) == (
        keys.kdk,
        keys.auth_key,
        keys.key_wrap_key,
        keys.emsk,
    )
