"""Issue 12 #14: TraceRoute and NSLookup diagnostics and the transfer-queue RPCs through a CWMP
session against a lab device: lab ACS ⇄ proxier ⇄ `proxier lab`, all real sockets.

Expectations come from the lab device's documented simulation (`proxier/lab/bms.py`:
loopback hosts answer, `localhost` resolves to 127.0.0.1, nothing is ever sent) and from
TR-069 (A.3.2.8 DelaySeconds, A.4.1.1 GetQueuedTransfers, A.4.1.7 GetAllQueuedTransfers,
A.4.1.8 CancelTransfer, Annex A.2.2.1 TransferState 1 not yet started / 2 in progress).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from proxier.lab.sms import make_image
from tests.virtual.rig import Rig, events_of, rig
from tests.virtual.tasks import gpv, ok, spv, started, values

TRACE = "Device.IP.Diagnostics.TraceRoute."
NSLOOKUP = "Device.DNS.Diagnostics.NSLookupDiagnostics."
FIRMWARE = "1 Firmware Upgrade Image"


def requested(obj: str, key: str, **arguments: str) -> dict[str, Any]:
    """SPV of a diagnostics object's arguments, then DiagnosticsState=Requested."""
    items = [
        (obj + name, value, "xsd:unsignedInt" if value.isdigit() else "xsd:string")
        for name, value in arguments.items()
    ]
    return spv(key, *items, (obj + "DiagnosticsState", "Requested", "xsd:string"))


async def diagnostics_complete(r: Rig, dev_id: str, task: dict[str, Any]) -> dict[str, str]:
    """Run `task` (an SPV with DiagnosticsState=Requested), wait for "8 DIAGNOSTICS COMPLETE"
    and read the object back: name → value."""
    mark = r.last_inform_id(dev_id)
    ok(await r.rpc(dev_id, task))
    done = await r.inform_with(dev_id, "8 DIAGNOSTICS COMPLETE", after=mark)
    assert ("8 DIAGNOSTICS COMPLETE", "") in events_of(done)
    name = task["parameterList"][-1][0].rsplit(".", 1)[0] + "."
    return {n: v for n, (v, _) in values(await r.rpc(dev_id, gpv(name))).items()}


async def test_rule14_traceroute_and_nslookup_end_with_diagnostics_complete_and_results(
    tmp_path: Path,
) -> None:
    """TR-330 §4.5.1 / Table 1 row 8 through a CWMP session: TraceRoute to a loopback host
    (BMS::Traceroute) and NSLookup of `localhost` (BMS::NSLookup) each end in
    "8 DIAGNOSTICS COMPLETE", DiagnosticsState Complete and the device's results as TR-181
    rows (RouteHops.{i}, Result.{i}); the BMS error Statuses become TR-181's DiagnosticsState
    values (Error_CannotResolveHostName, Error_MaxHopCountExceeded with one empty hop per
    unanswered hop, Error_DNSServerNotResolved)."""
    async with rig(tmp_path) as r:
        dev_id = await started(r)
        trace = await diagnostics_complete(
            r, dev_id, requested(TRACE, "trace-1", Host="127.0.0.1", MaxHopCount="5")
        )
        assert trace[TRACE + "DiagnosticsState"] == "Complete"
        assert trace[TRACE + "ResponseTime"] == "1"
        assert trace[TRACE + "RouteHopsNumberOfEntries"] == "1"
        assert trace[TRACE + "RouteHops.1.Host"] == "127.0.0.1"
        assert trace[TRACE + "RouteHops.1.HostAddress"] == "127.0.0.1"
        lookup = await diagnostics_complete(
            r, dev_id, requested(NSLOOKUP, "ns-1", HostName="localhost", NumberOfRepetitions="2")
        )
        assert lookup[NSLOOKUP + "DiagnosticsState"] == "Complete"
        assert lookup[NSLOOKUP + "SuccessCount"] == "2"
        assert lookup[NSLOOKUP + "ResultNumberOfEntries"] == "2"
        for i in (1, 2):
            row = f"{NSLOOKUP}Result.{i}."
            assert lookup[row + "Status"] == "Success"
            assert lookup[row + "HostNameReturned"] == "localhost"
            assert lookup[row + "IPAddresses"] == "127.0.0.1"
        unresolved = await diagnostics_complete(
            r, dev_id, requested(TRACE, "trace-2", Host="nowhere.invalid")
        )
        assert unresolved[TRACE + "DiagnosticsState"] == "Error_CannotResolveHostName"
        assert unresolved[TRACE + "RouteHopsNumberOfEntries"] == "0"
        silent = await diagnostics_complete(  # an address the lab sends nothing to
            r, dev_id, requested(TRACE, "trace-3", Host="192.0.2.1", MaxHopCount="3")
        )
        assert silent[TRACE + "DiagnosticsState"] == "Error_MaxHopCountExceeded"
        assert silent[TRACE + "RouteHopsNumberOfEntries"] == "3"
        assert [silent[f"{TRACE}RouteHops.{i}.Host"] for i in (1, 2, 3)] == ["", "", ""]
        no_server = await diagnostics_complete(
            r, dev_id, requested(NSLOOKUP, "ns-2", HostName="localhost", DNSServer="192.0.2.53")
        )
        assert no_server[NSLOOKUP + "DiagnosticsState"] == "Error_DNSServerNotResolved"
        assert no_server[NSLOOKUP + "ResultNumberOfEntries"] == "0"


def download(key: str, url: str, delay: int = 0) -> dict[str, Any]:
    return {
        "name": "Download",
        "commandKey": key,
        "fileType": FIRMWARE,
        "url": url,
        "fileSize": 0,
        "delaySeconds": delay,
    }


async def test_rule14_queued_transfers_listed_and_queued_download_cancelled_before_it_starts(
    tmp_path: Path,
) -> None:
    """Through CWMP sessions against a lab device: a firmware Download with DelaySeconds is
    queued (TransferState 1) and listed by GetQueuedTransfers and GetAllQueuedTransfers
    (IsDownload, FileType); CancelTransfer removes it before it starts, so the device never
    gets an SMS::Update and the ACS never a TransferComplete for it; an unknown CommandKey
    is 9003; a queued Download whose delay elapses runs by itself; a Download already in
    progress (TransferState 2) cannot be cancelled (9021) and ends with TransferComplete
    FaultCode 0; the queue survives a proxier restart."""
    async with rig(tmp_path) as r:
        dev_id = await started(r)
        device = r.lab_device(dev_id)
        url = r.lab.host_file("fw-9.bin", make_image("lab-fw", "9.0.0", b"z" * 256))
        url10 = r.lab.host_file("fw-10.bin", make_image("lab-fw", "10.0.0", b"z" * 256))
        queued, listed, listed_all, cancel, unknown, after = await r.session(
            dev_id,
            [
                download("later", url, delay=3600),
                {"name": "GetQueuedTransfers"},
                {"name": "GetAllQueuedTransfers"},
                {"name": "CancelTransfer", "commandKey": "later"},
                {"name": "CancelTransfer", "commandKey": "no-such"},
                {"name": "GetAllQueuedTransfers"},
            ],
        )
        assert ok(queued)["status"] == 1
        assert ok(listed)["transferList"] == [{"commandKey": "later", "state": 1}]
        (entry,) = ok(listed_all)["transferList"]
        assert entry["commandKey"] == "later" and entry["state"] == 1
        assert entry["isDownload"] is True and entry["fileType"] == FIRMWARE
        ok(cancel)
        assert unknown["status"] == "fault" and unknown["result"]["faultCode"] == 9003
        assert ok(after)["transferList"] == []
        assert device.sms.du_info(0).version != "9.0.0"

        # A queued Download whose DelaySeconds elapse starts by itself (A.3.2.8).
        mark = r.last_inform_id(dev_id)
        ok(await r.rpc(dev_id, download("soon", url, delay=1)))
        done = await r.inform_with(dev_id, "7 TRANSFER COMPLETE", after=mark)
        assert ("M Download", "soon") in events_of(done)
        assert device.sms.du_info(0).version == "9.0.0"

        # A Download in progress: the device takes its time downloading (operation_delay).
        device.faults.operation_delay = 2.0
        mark = r.last_inform_id(dev_id)
        now, listed_now, cancel_now = await r.session(
            dev_id,
            [
                download("now", url10),
                {"name": "GetQueuedTransfers"},
                {"name": "CancelTransfer", "commandKey": "now"},
            ],
        )
        assert ok(now)["status"] == 1
        assert ok(listed_now)["transferList"] == [{"commandKey": "now", "state": 2}]
        assert cancel_now["status"] == "fault" and cancel_now["result"]["faultCode"] == 9021
        done = await r.inform_with(dev_id, "7 TRANSFER COMPLETE", after=mark)
        assert ("M Download", "now") in events_of(done)
        assert device.sms.du_info(0).version == "10.0.0"
        assert (await r.transfer_complete(dev_id, "now"))["faultStruct"]["faultCode"] == 0
        completes = r.acs.store.cpe_requests(dev_id)
        sent = {c["body"]["commandKey"] for c in completes if c["name"] == "TransferComplete"}
        assert sent == {"soon", "now"}, 'none for the cancelled Download ("later")'

        # The queue is kept across a proxier restart, and still cancellable there.
        ok(await r.rpc(dev_id, download("kept", url, delay=3600)))
        await r.stop_proxier()
        await r.start_proxier()
        kept, cancel_kept, empty = await r.session(
            dev_id,
            [
                {"name": "GetQueuedTransfers"},
                {"name": "CancelTransfer", "commandKey": "kept"},
                {"name": "GetQueuedTransfers"},
            ],
        )
        assert ok(kept)["transferList"] == [{"commandKey": "kept", "state": 1}]
        ok(cancel_kept)
        assert ok(empty)["transferList"] == []
