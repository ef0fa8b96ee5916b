"""AddObject/DeleteObject and the instance map end to end (TR-330 §4.6.6-§4.6.8; issue 4:
"a device with sparse 0-based instances, and a restart keeping instance numbers stable"):
lab ACS task → Connection Request → CWMP session → proxier → SOAP → lab DM device.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from tests.virtual.rig import rig
from tests.virtual.tasks import (
    ERRORS,
    HOST,
    HOSTS,
    PM,
    SPARSE,
    UPNP_PM,
    add,
    delete,
    fault,
    gpa,
    gpn,
    gpv,
    names,
    ok,
    spa,
    spv,
    started,
    values,
)


def sparse_model() -> dict[str, Any]:
    """The shipped lab model with PortMapping rows at UPnP 0, 2 and 5 (a device that has
    added and deleted rows before the proxier came)."""
    doc: dict[str, Any] = json.loads(
        resources.files("proxier").joinpath("data", "lab-model.json").read_text("utf-8")
    )
    doc["instances"]["/BBF/NAT/PortMapping/"] = [0, 2, 5]
    doc["values"].update(
        {
            "/BBF/NAT/PortMapping/2/Description": "game",
            "/BBF/NAT/PortMapping/2/ExternalPort": "3074",
            "/BBF/NAT/PortMapping/5/Description": "camera",
            "/BBF/NAT/PortMapping/5/ExternalPort": "554",
        }
    )
    return doc


def rows(model: Any) -> list[str]:
    return [p for p in model.get_instances(UPNP_PM, 1) if p.startswith(UPNP_PM)]


async def test_add_delete_sparse_table_alias_and_restart(tmp_path: Path) -> None:
    """TR-330 §4.6.6/§4.6.7: AddObject ⇄ CMS::CreateInstance, DeleteObject ⇄ DeleteInstance
    with Status from ChangesApplied/ChangesCommitted; on a table with sparse 0-based UPnP
    rows (0, 2, 5 → CWMP 1, 2, 3) a new row gets the next CWMP number, a deleted number is
    never handed out again; Alias (§4.6.8) kept by the proxier, settable and usable in paths;
    after a proxier restart every number and alias still names the same row, also when the
    device lost a row meanwhile (issue 4: instance numbers stable across restarts)."""
    async with rig(tmp_path, model=sparse_model()) as r:
        dev_id = await started(r)
        model = r.lab_device(dev_id).model
        tasks = await r.session(
            dev_id,
            [
                gpn(PM, True),
                gpv(PM + "2.Description", PM + "3.Description", PM + "3.Alias"),
                add(PM),
                spv("d", (PM + "4.Description", "ssh", "xsd:string")),
                delete(PM + "2."),
                add(PM),
                gpn(PM, True),
                spv("a", (PM + "1.Alias", "web", "xsd:string")),
                gpv(PM + "[web].Description"),
                spv("a2", (PM + "3.Alias", "web", "xsd:string")),
                spv("a3", (PM + "3.Alias", "9cam", "xsd:string")),
                add("Device.X_UPNP-ORG_DM.Configuration.Network.IPInterface."),
                add(HOST),
                delete(HOST + "1."),
                delete(PM + "2."),
                add(PM + "1."),
                delete(PM),
            ],
        )
        (first, before, added, set_new, deleted, added2, listed, alias, by_alias) = tasks[:9]
        (dup_alias, bad_alias, committed, ro_add, ro_delete, gone, add_inst, del_table) = tasks[9:]
        assert list(names(first)) == [f"{PM}{n}." for n in (1, 2, 3)]
        assert values(before)[PM + "2.Description"][0] == "game"
        assert values(before)[PM + "3.Description"][0] == "camera"
        assert values(before)[PM + "3.Alias"][0] == "cpe-3"
        assert (ok(added)["instanceNumber"], ok(added)["status"]) == (4, 0)
        ok(set_new)
        assert model.value(UPNP_PM + "6/Description") == "ssh", "CWMP 4 is UPnP 6"
        assert ok(deleted)["status"] == 0
        assert UPNP_PM + "2/" not in rows(model)
        assert ok(added2)["instanceNumber"] == 5, "CWMP 2 is not reused"
        assert rows(model) == [UPNP_PM + f"{n}/" for n in (0, 5, 6, 7)]
        assert list(names(listed)) == [f"{PM}{n}." for n in (1, 3, 4, 5)]
        ok(alias)
        assert values(by_alias) == {PM + "1.Description": ("web server", "xsd:string")}
        assert fault(dup_alias) == (9003, [(PM + "3.Alias", 9007)]), "Alias is unique"
        assert fault(bad_alias) == (9003, [(PM + "3.Alias", 9007)]), "Alias starts a letter"
        assert ok(committed)["status"] == 1, "CreateInstance answered ChangesCommitted"
        assert fault(ro_add)[0] == ERRORS.cwmp_fault(706, "AddObject")
        assert fault(ro_delete)[0] == ERRORS.cwmp_fault(706, "DeleteObject")
        assert fault(gone) == (9005, [])
        assert fault(add_inst) == (9005, [])
        assert fault(del_table) == (9005, [])
        (del_committed,) = await r.session(
            dev_id, [delete(f"Device.X_UPNP-ORG_DM.Configuration.Network.IPInterface.{2}.")]
        )
        assert ok(del_committed)["status"] == 1, "DeleteInstance answered ChangesCommitted"

        # Restart; meanwhile another control point deletes UPnP 5 (CWMP 3) on the device.
        await r.stop_proxier()
        model.delete_instance(UPNP_PM + "5/")
        await r.start_proxier()
        after_restart = await r.session(
            dev_id,
            [
                gpn(PM, True),
                gpv(PM + "[web].Description", PM + "4.Description", PM + "4.Alias"),
                gpv(PM + "3.Description"),
                add(PM),
            ],
        )
        relisted, kept, lost, added3 = after_restart
        assert list(names(relisted)) == [f"{PM}{n}." for n in (1, 4, 5)]
        assert values(kept) == {
            PM + "1.Description": ("web server", "xsd:string"),
            PM + "4.Description": ("ssh", "xsd:string"),
            PM + "4.Alias": ("cpe-4", "xsd:string"),
        }
        assert fault(lost) == (9005, [])
        assert ok(added3)["instanceNumber"] == 6, "numbers are never reused, even over restarts"
        assert rows(model)[-1] == UPNP_PM + "8/"


async def test_proxier_alias_is_a_parameter_like_the_others(tmp_path: Path) -> None:
    """TR-330 §4.6.8: the Alias the proxier keeps for each row of a table without one of its
    own is a writable parameter of the row everywhere, as TR-069 wants of any parameter:
    listed by GetParameterNames (A.3.2.3: "all Parameters … that are descendents"), read
    with a partial path (A.3.2.2), and given attributes (A.3.2.4/A.3.2.5)."""
    async with rig(tmp_path) as r:
        dev_id = await started(r)
        alias = PM + "1.Alias"
        tasks = await r.session(
            dev_id,
            [
                gpn(PM + "1.", True),
                gpn(PM, False),
                gpn(alias, False),
                gpn(HOSTS, False),
                gpv(PM + "1."),
                gpv(HOST),
                gpa(alias),
                spa(alias, 1),
                gpa(PM + "1."),
                spv("a", (alias, "web", "xsd:string")),
                gpv(PM),
            ],
        )
        child, branch, itself, hosts, inst, table, attr, set_attr, attrs, set_alias, renamed = tasks
        assert names(child)[alias] is True
        assert names(branch)[alias] is True
        assert names(itself) == {alias: True}
        assert all(names(hosts)[f"{HOST}{n}.Alias"] for n in SPARSE)
        assert values(inst)[alias] == ("cpe-1", "xsd:string")
        assert {n: values(table)[f"{HOST}{n}.Alias"][0] for n in SPARSE} == {
            n: f"cpe-{n}" for n in SPARSE
        }
        assert ok(attr)["parameterList"] == [{"name": alias, "notification": 0, "accessList": []}]
        ok(set_attr)
        assert {p["name"]: p["notification"] for p in ok(attrs)["parameterList"]}[alias] == 1
        ok(set_alias)
        assert values(renamed)[alias] == ("web", "xsd:string")


async def test_empty_table_is_listed_and_reads_empty(tmp_path: Path) -> None:
    """TR-069 Table 18: an empty object is still listed ("This list MUST include any objects
    that are currently empty"), and with NextLevel true it has zero entries; a
    GetParameterValues of it is an empty list, its NumberOfEntries 0; AddObject then gives
    the next number, not the deleted one (TR-330 §4.6.6)."""
    async with rig(tmp_path) as r:
        dev_id = await started(r)
        gone, below, itself, read, count, attrs, added = await r.session(
            dev_id,
            [
                delete(PM + "1."),
                gpn(PM, True),
                gpn("Device.NAT.", False),
                gpv(PM),
                gpv("Device.NAT.PortMappingNumberOfEntries"),
                gpa(PM),
                add(PM),
            ],
        )
        assert ok(gone)["status"] == 0
        assert names(below) == {}
        assert names(itself) == {
            "Device.NAT.": False,
            "Device.NAT.PortMappingNumberOfEntries": False,
            PM: True,
        }
        assert values(read) == {}
        assert values(count) == {"Device.NAT.PortMappingNumberOfEntries": ("0", "xsd:unsignedInt")}
        assert ok(attrs)["parameterList"] == []
        assert ok(added)["instanceNumber"] == 2
