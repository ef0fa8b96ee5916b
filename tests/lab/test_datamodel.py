"""The lab CMS engine: every ConfigurationManagement:2 action and error code.

Spec clauses: reference upnp-dm.md §2.2 (actions), §2.4 (paths, SearchDepth), §2.5
(attributes), §2.6 (ConfigurationUpdate), §2.7 (701–708); TR-330 Table 1 ("4 VALUE CHANGE"
comes from ConfigurationUpdate after an EventOnChange parameter changed).
"""

from __future__ import annotations

import pytest

from proxier.lab.datamodel import DataModel, ModelChange, ModelError, load_model_spec
from proxier.upnp import cms_xml
from proxier.upnp.device import NodeAttributes, ParameterValue, UpnpError

PV = ParameterValue
HOSTS = "/BBF/Hosts/Host/"
PM = "/BBF/NAT/PortMapping/"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def dm(clock: Clock) -> DataModel:
    return DataModel(
        substitutions={"serial": "LAB0001", "oui": "00D0CA", "index": "1"}, clock=clock
    )


def values(dm: DataModel, *paths: str) -> dict[str, str]:
    return {pv.path: pv.value for pv in dm.get_values(list(paths))}


def code(exc: pytest.ExceptionInfo[UpnpError]) -> int:
    return exc.value.code


# --- model file and identity --------------------------------------------------------------


def test_shipped_model_has_common_objects_and_identity(dm: DataModel) -> None:
    """TR-330 §4.1.1: OUI/ProductClass/SerialNumber come from the DM common objects."""
    got = values(dm, "/UPnP/DM/DeviceInfo/PhysicalDevice/DeviceID/")
    assert got == {
        "/UPnP/DM/DeviceInfo/PhysicalDevice/DeviceID/ManufacturerOUI": "00D0CA",
        "/UPnP/DM/DeviceInfo/PhysicalDevice/DeviceID/ProductClass": "LabDM",
        "/UPnP/DM/DeviceInfo/PhysicalDevice/DeviceID/SerialNumber": "LAB0001",
    }


def test_identity_overrides_survive_baseline_reset(clock: Clock) -> None:
    path = "/UPnP/DM/DeviceInfo/PhysicalDevice/DeviceID/SerialNumber"
    dm = DataModel(overrides={path: "SN-42"}, clock=clock)
    assert dm.value(path) == "SN-42"
    dm.baseline_reset()
    assert dm.value(path) == "SN-42"


def test_supported_data_models_lists_upnp_and_bbf(dm: DataModel) -> None:
    """§2.3 SupportedDataModels: one SubTree per model with URI and Location."""
    models = dm.get_supported_data_models()
    assert {m.location for m in models} == {"/UPnP/DM/", "/BBF/"}
    assert any(m.uri.startswith("urn:broadband-forum-org:tr-181") for m in models)


def test_bad_model_file_is_reported_with_its_position() -> None:
    with pytest.raises(ModelError, match=r"nodes\[1\]"):
        load_model_spec({"nodes": [{"path": "/A/B"}, {"path": "/A/B/C", "type": "float"}]})


# --- GetValues ------------------------------------------------------------------------------


def test_get_values_partial_path_returns_every_leaf_below(dm: DataModel) -> None:
    """§2.3 ContentPathList: a partial path stands for the whole subtree."""
    got = values(dm, "/UPnP/DM/Configuration/Network/")
    assert got["/UPnP/DM/Configuration/Network/HostName"] == "labdm-1"
    assert got["/UPnP/DM/Configuration/Network/IPInterface/0/IPv4/IPAddress"] == "192.0.2.1"
    assert got["/UPnP/DM/Configuration/Network/IPInterfaceNumberOfEntries"] == "1"


def test_get_values_wildcard_expands_sparse_instances(dm: DataModel) -> None:
    """§2.4: '#' in a ContentPath expands to every instance; the baseline is sparse 0, 2, 5."""
    got = dm.get_values([HOSTS + "#/HostName"])
    assert [pv.path for pv in got] == [
        HOSTS + "0/HostName",
        HOSTS + "2/HostName",
        HOSTS + "5/HostName",
    ]
    assert values(dm, "/BBF/Hosts/HostNumberOfEntries") == {"/BBF/Hosts/HostNumberOfEntries": "3"}


def test_get_values_errors(dm: DataModel) -> None:
    """§2.7: 701 for bad syntax, 703 for unknown names and missing instances."""
    for bad in ("BBF/", "/BBF//Hosts/", "/BBF/Ho-sts/", "/BBF/Hosts/Host/#", "/BBF/Hosts/Host/01/"):
        with pytest.raises(UpnpError) as exc:
            dm.get_values([bad])
        assert code(exc) == 701, bad
    for unknown in ("/BBF/Nope", "/BBF/Hosts/Host/1/HostName", "/BBF/Time/Enable/"):
        with pytest.raises(UpnpError) as exc:
            dm.get_values([unknown])
        assert code(exc) == 703, unknown
    with pytest.raises(UpnpError) as exc:
        dm.get_values(["/BBF/DeviceInfo"])  # an object named as a leaf
    assert code(exc) == 703


def test_dynamic_uptime_follows_the_clock(dm: DataModel, clock: Clock) -> None:
    clock.now += 42
    assert dm.value("/UPnP/DM/DeviceInfo/UpTime") == "42"


# --- GetSupportedParameters / GetInstances ------------------------------------------------------


def test_supported_parameters_depth_one_returns_partial_paths(dm: DataModel) -> None:
    """§2.4 SearchDepth N: nodes at the limit as partial paths, tables as …/Name/#/."""
    got = dm.get_supported_parameters("/BBF/Hosts/", 1)
    assert got == ["/BBF/Hosts/HostNumberOfEntries", "/BBF/Hosts/Host/#/"]


def test_supported_parameters_depth_zero_is_every_leaf_in_structure_form(dm: DataModel) -> None:
    """§2.4 SearchDepth 0 = unlimited; instance numbers become '#'."""
    got = dm.get_supported_parameters("/BBF/NAT/", 0)
    assert "/BBF/NAT/PortMapping/#/ExternalPort" in got
    assert all("/0/" not in p for p in got)
    assert dm.get_supported_parameters("/BBF/NAT/PortMapping/#/Enable", 0) == [
        "/BBF/NAT/PortMapping/#/Enable"
    ]


def test_supported_parameters_errors(dm: DataModel) -> None:
    with pytest.raises(UpnpError) as exc:
        dm.get_supported_parameters("/BBF/", -1)
    assert code(exc) == 701
    with pytest.raises(UpnpError) as exc:
        dm.get_supported_parameters("/BBF/Nothing/", 0)
    assert code(exc) == 703


def test_get_instances_depth(dm: DataModel) -> None:
    """§2.2 GetInstances: instance paths below StartingNode, 0 = all levels."""
    assert dm.get_instances(HOSTS, 1) == [HOSTS + "0/", HOSTS + "2/", HOSTS + "5/"]
    assert dm.get_instances("/BBF/", 1) == []
    assert HOSTS + "5/" in dm.get_instances("/BBF/", 2)
    assert HOSTS + "5/" in dm.get_instances("/", 0)
    with pytest.raises(UpnpError) as exc:
        dm.get_instances("/BBF/Hosts", 0)
    assert code(exc) == 701
    with pytest.raises(UpnpError) as exc:
        dm.get_instances("/BBF/Hosts/Host/3/", 0)
    assert code(exc) == 703


# --- GetSelectedValues ------------------------------------------------------------------------


def test_get_selected_values_filters_instances(dm: DataModel) -> None:
    got = dm.get_selected_values(HOSTS + "#/", "HostName = 'printer'")
    assert {pv.path for pv in got} >= {HOSTS + "5/IPAddress"}
    assert all(pv.path.startswith(HOSTS + "5/") for pv in got)
    assert len(dm.get_selected_values(HOSTS + "#/", "Active = 1 AND HostName = phone")) == 6
    assert dm.get_selected_values(HOSTS + "#/", "") != []
    with pytest.raises(UpnpError) as exc:
        dm.get_selected_values(HOSTS + "#/", "HostName ~ x")
    assert code(exc) == 701


# --- SetValues ---------------------------------------------------------------------------------


def test_set_values_applies_and_reports_status(dm: DataModel) -> None:
    """§2.1 ChangeStatus: ChangesApplied, or ChangesCommitted for deferred parameters."""
    assert dm.set_values([PV("/BBF/Time/Enable", "false")]) == "ChangesApplied"
    assert dm.value("/BBF/Time/Enable") == "0"
    assert dm.set_values([PV("/BBF/Time/NTPServer1", "ntp.lab")]) == "ChangesCommitted"
    assert dm.value("/BBF/Time/NTPServer1") == "ntp.lab"


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        ("BBF/Time/Enable", "1", 701),
        ("/BBF/Time/", "1", 701),
        ("/BBF/Time/Nope", "1", 703),
        ("/BBF/Time/Enable", "maybe", 704),
        (PM + "0/ExternalPort", "-1", 704),
        (PM + "0/ExternalPort", "²", 704),  # issue 12 item 1: not a crash
        (PM + "0/ExternalPort", "9" * 5000, 704),  # beyond int()'s digit limit
        (PM + "0/ExternalPort", "70000", 705),
        (PM + "0/Protocol", "SCTP", 705),
        ("/BBF/DeviceInfo/SerialNumber", "X", 706),
        (HOSTS + "0/HostName", "x", 706),
    ],
)
def test_set_values_errors(dm: DataModel, path: str, value: str, expected: int) -> None:
    """§2.7: 701 syntax, 703 unknown, 704 type, 705 value, 706 read-only."""
    with pytest.raises(UpnpError) as exc:
        dm.set_values([PV(path, value)])
    assert code(exc) == expected


def test_set_values_is_atomic(dm: DataModel) -> None:
    """One bad value → nothing changes, version unchanged."""
    before = dm.get_current_configuration_version()
    with pytest.raises(UpnpError) as exc:
        dm.set_values([PV("/BBF/Time/Enable", "0"), PV(PM + "0/Protocol", "SCTP")])
    assert code(exc) == 705
    assert dm.value("/BBF/Time/Enable") == "1"
    assert dm.get_current_configuration_version() == before


def test_set_values_multiple_set_is_707(dm: DataModel) -> None:
    with pytest.raises(UpnpError) as exc:
        dm.set_values([PV("/BBF/Time/Enable", "0"), PV("/BBF/Time/Enable", "1")])
    assert code(exc) == 707


def test_busy_knob_answers_708(dm: DataModel) -> None:
    dm.busy = True
    with pytest.raises(UpnpError) as exc:
        dm.get_values(["/BBF/"])
    assert code(exc) == 708


# --- versions and ConfigurationUpdate ---------------------------------------------------------


def test_version_and_configuration_update_on_event_on_change(dm: DataModel, clock: Clock) -> None:
    """TR-330 Table 1 / reference §2.6: EventOnChange parameter changed → ConfigurationUpdate."""
    seen: list[ModelChange] = []
    dm.changes.append(seen.append)
    v0 = dm.get_current_configuration_version()
    dm.set_values([PV("/BBF/Time/Enable", "0")])  # no EventOnChange
    assert dm.get_current_configuration_version() == v0 + 1
    assert seen[-1].variables == {}
    clock.now += 10
    dm.set_values([PV("/UPnP/DM/Configuration/Network/HostName", "renamed")])
    assert dm.get_current_configuration_version() == v0 + 2
    update = cms_xml.parse_configuration_update(seen[-1].variables["ConfigurationUpdate"])
    assert update.version == v0 + 2 and update.alarmed == ()
    assert dm.get_configuration_update() == seen[-1].variables["ConfigurationUpdate"]
    attrs = dm.get_attributes(["/UPnP/DM/Configuration/Network/HostName"])
    assert attrs[0].version == v0 + 2


def test_alarmed_parameters_ride_in_configuration_update(dm: DataModel) -> None:
    """§2.6: with AlarmsEnabled, alarmed parameters' values are appended as XML."""
    cpu = "/UPnP/DM/Monitoring/OperatingSystem/CPUUsage"
    dm.device_set({cpu: "50"})
    assert cms_xml.parse_configuration_update(dm.get_configuration_update()).alarmed == ()
    dm.set_alarms_enabled(True)
    assert dm.get_alarms_enabled() is True
    dm.device_set({cpu: "60"})
    update = cms_xml.parse_configuration_update(dm.get_configuration_update())
    assert update.alarmed == (PV(cpu, "60"),)


def test_update_strings_are_version_stamps(dm: DataModel) -> None:
    for text in (
        dm.get_supported_data_models_update(),
        dm.get_supported_parameters_update(),
        dm.get_attribute_values_update(),
    ):
        assert cms_xml.parse_version_stamp(text).version >= 1
    assert dm.get_inconsistent_status() is False


# --- Create/DeleteInstance ---------------------------------------------------------------------


def test_create_instance_numbers_are_never_reused(dm: DataModel) -> None:
    """§2.4: instances are 0-based; a deleted number is not handed out again."""
    path, status = dm.create_instance(PM, [PV("Description", "ssh"), PV("ExternalPort", "22")])
    assert (path, status) == (PM + "1/", "ChangesApplied")
    assert values(dm, PM + "1/Description", PM + "1/ExternalPort", PM + "1/Protocol") == {
        PM + "1/Description": "ssh",
        PM + "1/ExternalPort": "22",
        PM + "1/Protocol": "TCP",
    }
    assert dm.delete_instance(PM + "1/") == "ChangesApplied"
    path2, _ = dm.create_instance(PM + "#/", [PV(PM + "#/Enable", "1")])
    assert path2 == PM + "2/"
    assert dm.value(PM + "2/Enable") == "1"
    assert dm.value("/BBF/NAT/PortMappingNumberOfEntries") == "2"


def test_table_marked_commit_answers_changes_committed(dm: DataModel) -> None:
    """CMS Status: a table whose rows take effect later (model `commit`, the shipped
    IPInterface) answers ChangesCommitted to CreateInstance and DeleteInstance."""
    table = "/UPnP/DM/Configuration/Network/IPInterface/"
    path, status = dm.create_instance(table, [])
    assert (path, status) == (table + "1/", "ChangesCommitted")
    assert dm.delete_instance(path) == "ChangesCommitted"


def test_create_instance_is_atomic_and_checks_children(dm: DataModel) -> None:
    for children, expected in (
        ([PV("Nope", "1")], 703),
        ([PV("ExternalPort", "x")], 704),
        ([PV("Protocol", "SCTP")], 705),
        ([PV("Enable", "1"), PV("Enable", "0")], 707),
        ([PV("/BBF/Time/Enable", "1")], 703),
    ):
        with pytest.raises(UpnpError) as exc:
            dm.create_instance(PM, children)
        assert code(exc) == expected, children
    assert dm.get_instances(PM, 1) == [PM + "0/"]


def test_create_and_delete_errors(dm: DataModel) -> None:
    with pytest.raises(UpnpError) as exc:
        dm.create_instance(HOSTS, [])
    assert code(exc) == 706
    with pytest.raises(UpnpError) as exc:
        dm.create_instance("/BBF/Time/", [])
    assert code(exc) == 703
    with pytest.raises(UpnpError) as exc:
        dm.create_instance("/BBF/NAT/PortMapping", [])
    assert code(exc) == 701
    with pytest.raises(UpnpError) as exc:
        dm.delete_instance(HOSTS + "2/")
    assert code(exc) == 706
    with pytest.raises(UpnpError) as exc:
        dm.delete_instance(PM + "7/")
    assert code(exc) == 703
    with pytest.raises(UpnpError) as exc:
        dm.delete_instance(PM)
    assert code(exc) == 701


def test_table_max_entries_is_709(clock: Clock) -> None:
    """TR-330 Table 2: 709 Resources Exceeded when a table is full."""
    dm = DataModel(
        load_model_spec({"nodes": [{"path": "/T/#/", "access": "readWrite", "maxEntries": 1}]}),
        clock=clock,
    )
    assert dm.create_instance("/T/", []) == ("/T/0/", "ChangesApplied")
    with pytest.raises(UpnpError) as exc:
        dm.create_instance("/T/", [])
    assert code(exc) == 709


# --- attributes ---------------------------------------------------------------------------------


def test_get_attributes_of_leaf_table_and_instance(dm: DataModel) -> None:
    """§2.5: Access, Type, EventOnChange, AlarmOnChange, Version; tables MultiInstance."""
    (leaf,) = dm.get_attributes(["/UPnP/DM/Configuration/Network/HostName"])
    assert (leaf.access, leaf.type, leaf.event_on_change, leaf.alarm_on_change) == (
        "readWrite",
        "string",
        True,
        False,
    )
    nodes = {na.path: na for na in dm.get_attributes([PM])}
    assert nodes[PM].type == "MultiInstance" and nodes[PM].access == "readWrite"
    assert nodes[PM + "0/"].type == "Instance"
    assert nodes[PM + "0/ExternalPort"].type == "unsignedInt"
    (inst,) = [na for na in dm.get_attributes([HOSTS + "2/"]) if na.path == HOSTS + "2/"]
    assert inst.access == "readOnly"


def test_set_attributes_only_notification_attributes(dm: DataModel) -> None:
    """§2.5: only EventOnChange/AlarmOnChange are writable (706 otherwise), 703 unknown."""
    seen: list[ModelChange] = []
    dm.changes.append(seen.append)
    host = "/BBF/Time/Enable"
    assert dm.set_attributes([NodeAttributes(host, event_on_change=True)]) == "ChangesApplied"
    assert dm.get_attributes([host])[0].event_on_change is True
    assert "AttributeValuesUpdate" in seen[-1].variables
    dm.set_values([PV(host, "0")])
    assert "ConfigurationUpdate" in seen[-1].variables
    dm.set_attributes([NodeAttributes("/BBF/Hosts/", alarm_on_change=True)])
    assert all(na.alarm_on_change for na in dm.get_attributes([HOSTS + "#/HostName"]))
    with pytest.raises(UpnpError) as exc:
        dm.set_attributes([NodeAttributes(host, access="readOnly")])
    assert code(exc) == 706
    with pytest.raises(UpnpError) as exc:
        dm.set_attributes([NodeAttributes("/BBF/Nope", event_on_change=True)])
    assert code(exc) == 703


# --- baseline reset ---------------------------------------------------------------------------


def test_baseline_reset_restores_defaults_but_keeps_versions_rising(dm: DataModel) -> None:
    dm.set_values([PV("/UPnP/DM/Configuration/Network/HostName", "changed")])
    dm.create_instance(PM, [])
    dm.set_alarms_enabled(True)
    version = dm.get_current_configuration_version()
    dm.baseline_reset()
    assert dm.value("/UPnP/DM/Configuration/Network/HostName") == "labdm-1"
    assert dm.get_instances(PM, 1) == [PM + "0/"]
    assert dm.get_alarms_enabled() is False
    assert dm.get_current_configuration_version() > version
