"""TR-330 Table 1 row 0 (third trigger): "the ACS URL of a Proxied Device has been modified"
→ "0 BOOTSTRAP", sent to the new ACS, over real sockets (lab ACSes ⇄ proxier ⇄ lab device)."""

from __future__ import annotations

from pathlib import Path

from proxier.labacs.client import LabAcsClient
from proxier.labacs.server import LabAcs, LabAcsConfig
from tests.virtual.rig import CR, rig

URL = "Device.ManagementServer.URL"


async def test_acs_sets_new_url_and_device_bootstraps_there(tmp_path: Path) -> None:
    """The ACS moves one virtual device to another ACS with SetParameterValues: that ACS gets
    "0 BOOTSTRAP" from the same device (TR-069 Table 7 BOOTSTRAP: "the ACS URL was changed"),
    the move survives a proxier restart, and the restart sends no second BOOTSTRAP."""
    second = LabAcs(LabAcsConfig(port=0, cr_username=CR[0], cr_password=CR[1]))
    async with second, rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        spv = await r.rpc(
            dev_id,
            {
                "name": "SetParameterValues",
                "parameterList": [[URL, second.url, "xsd:string"]],
                "parameterKey": "move-1",
            },
        )
        assert spv["status"] == "done", spv
        (first,) = await second.wait_informs(dev_id, wait=20.0)
        assert [code for code, _ in first["events"]] == ["0 BOOTSTRAP"]
        mark = int(first["id"])
        await r.stop_proxier()
        await r.start_proxier()
        old_mark = r.last_inform_id(dev_id)
        async with LabAcsClient(second.base_url, timeout=30) as client:
            gpv = await client.run_task(
                dev_id, {"name": "GetParameterValues", "parameterNames": [URL]}, wait=30.0
            )
        assert gpv["status"] == "done", gpv
        assert gpv["result"]["parameterList"][0]["value"] == second.url
        assert r.acs.store.informs(dev_id, after=old_mark) == []  # the old ACS hears nothing
        later = second.store.informs(dev_id, after=mark)
        assert later, "the Connection Request session after the restart"
        codes = {code for inform in later for code, _ in inform["events"]}
        assert not codes & {"0 BOOTSTRAP", "1 BOOT"}, later  # the device did not boot


async def test_operator_changes_configured_acs_url(tmp_path: Path) -> None:
    """The operator points the proxier's config at another ACS and restarts it: every virtual
    device bootstraps to the new ACS (Table 1 row 0), once."""
    second = LabAcs(LabAcsConfig(port=0, cr_username=CR[0], cr_password=CR[1]))
    async with second, rig(tmp_path) as r:
        await r.start_proxier()
        dev_id = (await r.devices(1))[0]["id"]
        # A value the ACS set (writable, persisted) must not pin the old URL.
        spv = await r.rpc(
            dev_id,
            {
                "name": "SetParameterValues",
                "parameterList": [
                    ["Device.ManagementServer.PeriodicInformInterval", "7200", "xsd:unsignedInt"]
                ],
                "parameterKey": "k",
            },
        )
        assert spv["status"] == "done", spv
        await r.stop_proxier()
        r.acs_url = second.url
        await r.start_proxier()
        (first,) = await second.wait_informs(dev_id, wait=20.0)
        codes = {code for code, _ in first["events"]}
        # The rig's Connection Request server takes a fresh port on each start, so the
        # (forced active) ConnectionRequestURL may ride along as "4 VALUE CHANGE".
        assert codes - {"4 VALUE CHANGE"} == {"0 BOOTSTRAP"}, first["events"]
