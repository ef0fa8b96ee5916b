"""Paths of one virtual device (TR-330 §4.1.1 multi-homed devices, several logical devices)."""

from proxier.virtual.paths import Action, Paths, joins_without_common_objects

UDN = "uuid:11111111-2222-3333-4444-555555555555"
OTHER_UDN = "uuid:99999999-2222-3333-4444-555555555555"
LOC_A = "http://10.0.0.7:4000/desc.xml"
LOC_B = "http://10.1.0.7:4000/desc.xml"


def test_first_path_attaches() -> None:
    """TR-330 §4.1.1: the first sighting of a device is where it is read."""
    paths = Paths()
    d = paths.seen(UDN, "10.0.0.7", LOC_A, 1, online=False)
    assert d.action is Action.ATTACH and d.path is not None and d.path.location == LOC_A
    assert paths.current == d.path


def test_second_interface_is_an_alternative_not_a_relocation() -> None:
    """TR-330 §4.1.1 multi-homed: the same UUID announced on another interface neither re-reads
    the device nor moves it; lease refreshes on either interface change nothing."""
    paths = Paths()
    paths.seen(UDN, "10.0.0.7", LOC_A, 1, online=False)
    assert paths.seen(UDN, "10.1.0.7", LOC_B, 1, online=True).action is Action.NOTHING
    for _ in range(3):  # both interfaces keep announcing: no flapping
        assert paths.seen(UDN, "10.0.0.7", LOC_A, 1, online=True).action is Action.NOTHING
        assert paths.seen(UDN, "10.1.0.7", LOC_B, 1, online=True).action is Action.NOTHING
    current = paths.current
    assert current is not None and current.location == LOC_A
    assert len(paths) == 2


def test_current_path_gone_fails_over_without_going_offline() -> None:
    """TR-330 §4.1.1: byebye or lease expiry on one interface while the device is still
    reachable on another → fail over, not offline (Annex J.2.3 offline only when unreachable)."""
    paths = Paths()
    paths.seen(UDN, "10.0.0.7", LOC_A, 1, online=False)
    paths.seen(UDN, "10.1.0.7", LOC_B, 1, online=True)
    d = paths.gone(UDN, "10.0.0.7")
    assert d.action is Action.FAILOVER and d.path is not None and d.path.location == LOC_B
    current = paths.current
    assert current is not None and current.location == LOC_B
    last = paths.gone(UDN, "10.1.0.7")
    assert last.action is Action.OFFLINE and paths.current is None


def test_alternative_gone_changes_nothing() -> None:
    """An interface the proxier does not use goes away: the device stays as it is."""
    paths = Paths()
    paths.seen(UDN, "10.0.0.7", LOC_A, 1, online=False)
    paths.seen(UDN, "10.1.0.7", LOC_B, 1, online=True)
    assert paths.gone(UDN, "10.1.0.7").action is Action.NOTHING
    assert paths.gone(UDN, "10.1.0.7").action is Action.NOTHING  # twice: still nothing
    current = paths.current
    assert current is not None and current.location == LOC_A


def test_new_location_on_current_path_reattaches() -> None:
    """Issue 5: a device back on a new port on the same interface is re-read there."""
    paths = Paths()
    paths.seen(UDN, "10.0.0.7", LOC_A, 1, online=False)
    moved = "http://10.0.0.7:5000/desc.xml"
    d = paths.seen(UDN, "10.0.0.7", moved, 1, online=True)
    assert d.action is Action.ATTACH and d.path is not None and d.path.location == moved


def test_new_bootid_on_any_path_is_a_restart_and_drops_stale_paths() -> None:
    """UDA 2.0 BOOTID / TR-330 Table 1: a new BOOTID from any interface means the device
    restarted: it is re-read there, and paths still carrying the old BOOTID are stale."""
    paths = Paths()
    paths.seen(UDN, "10.0.0.7", LOC_A, 1, online=False)
    paths.seen(UDN, "10.1.0.7", LOC_B, 1, online=True)
    d = paths.seen(UDN, "10.1.0.7", LOC_B, 2, online=True)
    assert d.action is Action.ATTACH and d.path is not None and d.path.location == LOC_B
    assert [p.location for p in paths.live] == [LOC_B]
    # The other interface announces the new BOOTID: one more path, no second restart.
    assert paths.seen(UDN, "10.0.0.7", LOC_A, 2, online=True).action is Action.NOTHING


def test_ssdp_update_moves_every_path_to_next_bootid() -> None:
    """UDA 2.0 §1.2.4 ssdp:update: a multi-homed device's BOOTID changes without a restart;
    the alives that follow with NEXTBOOTID are no restart."""
    paths = Paths()
    paths.seen(UDN, "10.0.0.7", LOC_A, 1, online=False)
    paths.seen(UDN, "10.1.0.7", LOC_B, 1, online=True)
    paths.boot_id_updated(2)
    assert paths.seen(UDN, "10.0.0.7", LOC_A, 2, online=True).action is Action.NOTHING
    assert paths.seen(UDN, "10.1.0.7", LOC_B, 2, online=True).action is Action.NOTHING
    assert len(paths) == 2


def test_offline_device_reattaches_at_whichever_path_comes_back() -> None:
    """Annex J.2.3: an offline device (e.g. after an announced byebye) is read again wherever
    it is seen next."""
    paths = Paths()
    paths.seen(UDN, "10.0.0.7", LOC_A, 1, online=False)
    paths.seen(UDN, "10.1.0.7", LOC_B, 1, online=True)
    d = paths.seen(UDN, "10.1.0.7", LOC_B, 1, online=False)
    assert d.action is Action.ATTACH and d.path is not None and d.path.location == LOC_B


def test_failover_prefers_the_same_logical_device() -> None:
    """TR-330 Figure 5: several logical devices with the same Common Objects are one virtual
    device; when a path goes, another path of the same UDN is preferred over another UDN."""
    paths = Paths()
    paths.seen(UDN, "10.0.0.7", LOC_A, None, online=False)
    paths.seen(OTHER_UDN, "10.0.0.7", LOC_A, None, online=True)
    paths.seen(UDN, "10.1.0.7", LOC_B, None, online=True)
    d = paths.gone(UDN, "10.0.0.7")
    assert d.action is Action.FAILOVER and d.path is not None
    assert (d.path.udn, d.path.location) == (UDN, LOC_B)
    d = paths.gone(UDN, "10.1.0.7")
    assert d.action is Action.FAILOVER and d.path is not None and d.path.udn == OTHER_UDN


def test_failed_attach_tries_the_next_path() -> None:
    """A path that does not answer when read is dropped and another one is tried."""
    paths = Paths()
    first = paths.seen(UDN, "10.0.0.7", LOC_A, 1, online=False).path
    paths.seen(UDN, "10.1.0.7", LOC_B, 1, online=True)
    assert first is not None
    d = paths.attach_failed(first)
    assert d.action is Action.FAILOVER and d.path is not None and d.path.location == LOC_B


def test_without_common_objects_another_mac_is_another_device() -> None:
    """TR-330 §4.1.1: without OUI/PC/SN, the same UUID behind a different MAC address is a
    different Virtual CWMP Device..."""
    known = [("http://10.0.0.7:4000/d.xml", "00:11:22:00:00:01")]
    assert not joins_without_common_objects(
        UDN, "http://10.1.0.7:5000/d.xml", "00:11:22:00:00:02", known
    )


def test_without_common_objects_same_location_port_joins() -> None:
    """...unless the device uses the same port in LOCATION on each interface (TR-330
    §4.1.1), or the MAC is the same."""
    known = [("http://10.0.0.7:4000/d.xml", "00:11:22:00:00:01")]
    assert joins_without_common_objects(UDN, LOC_B, "00:11:22:00:00:02", known)
    assert joins_without_common_objects(
        UDN, "http://10.1.0.7:5000/d.xml", "00:11:22:00:00:01", known
    )


def test_without_common_objects_unknown_mac_joins() -> None:
    """PROJECT CHOICE: an unknown MAC (IPv6, routed) or nothing to compare with never splits."""
    known = [("http://10.0.0.7:4000/d.xml", "00:11:22:00:00:01")]
    assert joins_without_common_objects(UDN, "http://10.1.0.7:5000/d.xml", None, known)
    assert joins_without_common_objects(UDN, LOC_B, "00:11:22:00:00:02", [])
