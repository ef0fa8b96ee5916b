"""TR-330 Table 1 driven by real SSDP announcements, inside a private namespace LAN."""

from __future__ import annotations

import json
from typing import Any

from tests.netns.fixtures import MakeLan


def codes(informs: list[list[list[str]]]) -> list[set[tuple[str, str]]]:
    return [{(code, key) for code, key in events} for events in informs]


async def test_table1_rows_over_ssdp(netns_lan: MakeLan) -> None:
    """TR-330 Table 1: first discovery → "0 BOOTSTRAP"+"1 BOOT"; byebye AboutToReboot then
    alive → "1 BOOT"; ACS Reboot → "1 BOOT" + "M Reboot" (CommandKey); byebye
    AboutToBaselineReset then alive → "0 BOOTSTRAP"; a device back on a new port (issue 5)
    is the same virtual device, re-read at its new LOCATION."""
    lan = netns_lan("cp")
    proc = await lan.python("cp", "tests.netns.table1_scenario", "--source", lan.addr("cp"))
    steps: dict[str, dict[str, Any]] = {}
    while True:
        line = await proc.expect(lambda s: s.startswith(("{", "DONE", "Traceback")), within=90)
        if not line.startswith("{"):
            assert line == "DONE", proc.lines[-30:]
            break
        step = json.loads(line)
        steps[step["step"]] = step
    first = codes(steps["first-discovery"]["events"])[0]
    assert {("0 BOOTSTRAP", ""), ("1 BOOT", "")} <= first
    device_reboot = codes(steps["device-reboot"]["events"])
    assert any(("1 BOOT", "") in e for e in device_reboot)
    assert not any(code == "M Reboot" for e in device_reboot for code, _ in e)
    acs_reboot = codes(steps["acs-reboot"]["events"])
    boot = next(e for e in acs_reboot if ("1 BOOT", "") in e)
    assert ("M Reboot", "ck-reboot") in boot
    reset = codes(steps["baseline-reset"]["events"])
    assert any(("0 BOOTSTRAP", "") in e for e in reset)
    moved = steps["relocated"]
    assert moved["location"] == moved["moved"]
    assert moved["serial"] == moved["expected_serial"]
    assert moved["virtual_devices"] == 1
