"""Issue 12 item 1 over a real CWMP session: a SetParameterValues whose value is outside the
parameter's XML Schema lexical space or TR-069 range (TR-069 A.2.1 Table 9) is refused with
9003 and one SetParameterValuesFault 9007 per such parameter (A.3.2.1), nothing changes,
and the same parameters still take valid values. Lab ACS → Connection Request → proxier →
lab DM device, every layer real."""

from __future__ import annotations

from pathlib import Path

from tests.virtual.rig import rig
from tests.virtual.tasks import PM, UPNP_PM, fault, gpv, ok, spv, started, values

MS = "Device.ManagementServer."
INTERVAL = MS + "PeriodicInformInterval"
THROTTLE = MS + "DefaultActiveNotificationThrottle"
TIME = MS + "PeriodicInformTime"
PING = "Device.IP.Diagnostics.IPPing."
TRACE = "Device.IP.Diagnostics.TraceRoute."
U, DT = "xsd:unsignedInt", "xsd:dateTime"


async def test_spv_value_outside_its_xsd_type_is_9007_per_parameter(tmp_path: Path) -> None:
    """Issue 12 item 1 rule "one validator per xsd type": non-ASCII digits ('١٢', '𝟙',
    '²') in diagnostics unsignedInts, 4294967296 and a 26-digit number in ManagementServer
    unsignedInts, dateTimes without time, with a space or in basic format, and a value
    forwarded to the device that is not a boolean: each a 9007 for its parameter."""
    big = "1" * 26
    async with rig(tmp_path) as r:
        dev_id = await started(r)
        model = r.lab_device(dev_id).model
        enable = PM + "1.Enable"
        before = model.value(UPNP_PM + "0/Enable")
        tasks = await r.session(
            dev_id,
            [
                spv(
                    "d1", (PING + "NumberOfRepetitions", "١٢", U), (TRACE + "NumberOfTries", "𝟙", U)
                ),
                spv("d2", (PING + "Timeout", "²", U), (PING + "DataBlockSize", "2²", U)),
                spv(
                    "m1", (INTERVAL, "4294967296", U), (THROTTLE, big, U), (TIME, "2024-01-01", DT)
                ),
                spv("m2", (INTERVAL, big, U), (THROTTLE, "4294967296", U)),
                spv("m3", (TIME, "2024-01-01 10:00:00", DT)),
                spv("m4", (TIME, "20240101T100000Z", DT)),
                spv("dev", (enable, "maybe", "xsd:boolean")),
                gpv(INTERVAL, THROTTLE, TIME, PING + "NumberOfRepetitions", PING + "Timeout"),
                spv(
                    "good",
                    (INTERVAL, "4294967295", U),
                    (THROTTLE, "0" * 25 + "7", U),
                    (TIME, "2024-01-01T10:00:00Z", DT),
                ),
                spv("good-diag", (PING + "NumberOfRepetitions", "12", U)),
                gpv(INTERVAL, THROTTLE, TIME, PING + "NumberOfRepetitions"),
            ],
        )
        d1, d2, m1, m2, m3, m4, dev, unchanged, good, good_diag, after = tasks
        assert fault(d1) == (
            9003,
            [(PING + "NumberOfRepetitions", 9007), (TRACE + "NumberOfTries", 9007)],
        )
        assert fault(d2) == (9003, [(PING + "Timeout", 9007), (PING + "DataBlockSize", 9007)])
        assert fault(m1) == (9003, [(INTERVAL, 9007), (THROTTLE, 9007), (TIME, 9007)])
        assert fault(m2) == (9003, [(INTERVAL, 9007), (THROTTLE, 9007)])
        assert fault(m3) == (9003, [(TIME, 9007)])
        assert fault(m4) == (9003, [(TIME, 9007)])
        assert fault(dev) == (9003, [(enable, 9007)])
        assert model.value(UPNP_PM + "0/Enable") == before, "the bad value never reached the device"
        kept = values(unchanged)
        assert kept[INTERVAL][0] != "4294967296" and kept[THROTTLE][0] == "0"
        assert kept[TIME][0] == "0001-01-01T00:00:00Z"
        assert ok(good)["status"] == 0 and ok(good_diag)["status"] == 0
        assert {k: v[0] for k, v in values(after).items()} == {
            INTERVAL: "4294967295",
            THROTTLE: "7",
            TIME: "2024-01-01T10:00:00Z",
            PING + "NumberOfRepetitions": "12",
        }
