"""Device lifecycle state machine: TR-330 Table 1 triggers and Annex J.2.3 offline handling."""

from proxier.virtual.lifecycle import FAILURES_BEFORE_OFFLINE, Lifecycle

LOC = "http://127.0.0.1:5000/dev/0/description.xml"


def test_first_discovery_is_bootstrap_trigger() -> None:
    """TR-330 Table 1 row "0 BOOTSTRAP": first discovery by ssdp:alive."""
    t = Lifecycle().discovered(LOC, 1)
    assert t.online and t.trigger == "ssdp:alive"
    assert t.conditions == {"first_discovery"}


def test_byebye_about_to_reboot_then_alive() -> None:
    """TR-330 Table 1 row "1 BOOT": AboutToReboot cached at byebye, used at the next alive."""
    lc = Lifecycle(online=True, boot_id=1, location=LOC)
    off = lc.byebye("AboutToReboot")
    assert not off.online and off.changed
    on = lc.alive(LOC, 2)
    assert on.online and on.changed
    assert on.conditions == {"announced:AboutToReboot"}
    # The cache is consumed: a later alive carries nothing.
    assert lc.alive(LOC, 2).conditions == frozenset()


def test_byebye_about_to_baseline_reset_then_alive() -> None:
    """TR-330 Table 1 row "0 BOOTSTRAP": AboutToBaselineReset cached, then ssdp:alive."""
    lc = Lifecycle(online=True, boot_id=1, location=LOC)
    lc.byebye("AboutToBaselineReset")
    assert lc.alive(LOC, 1).conditions == {"announced:AboutToBaselineReset"}


def test_acs_reboot_marks_condition_for_m_reboot() -> None:
    """Table 1 row "1 BOOT": an ACS-originated Reboot adds "M Reboot" (condition acs_reboot)."""
    lc = Lifecycle(online=True, boot_id=1, location=LOC)
    lc.reboot_requested(now=100.0, wait=60.0)
    lc.byebye("AboutToReboot")
    assert lc.alive(LOC, 2).conditions == {"announced:AboutToReboot", "acs_reboot"}


def test_acs_factory_reset_without_header_still_bootstraps() -> None:
    """FactoryReset → BMS::BaselineReset: the alive after it is a BOOTSTRAP trigger even if the
    device's byebye lacked the (optional in practice) announcement header."""
    lc = Lifecycle(online=True, boot_id=1, location=LOC)
    lc.reset_requested(now=0.0, wait=60.0)
    lc.byebye("")
    assert "announced:AboutToBaselineReset" in lc.alive(LOC, 2).conditions


def test_new_bootid_without_announcement_counts_as_boot() -> None:
    """A device that restarted without byebye comes back with a new BOOTID → "1 BOOT"."""
    lc = Lifecycle(online=True, boot_id=1, location=LOC)
    lc.expired()
    assert lc.alive(LOC, 7).conditions == {"announced:AboutToReboot"}


def test_back_online_same_boot_has_no_table1_event() -> None:
    """Annex J.2.3: a device back after an outage resumes; no boot happened, no boot event."""
    lc = Lifecycle(online=True, boot_id=1, location=LOC)
    lc.expired()
    t = lc.alive(LOC, 1)
    assert t.changed and t.online and t.trigger == ""


def test_relocation_is_reported() -> None:
    """Issue 5: a device that comes back on a new address or port is re-read there."""
    lc = Lifecycle(online=True, boot_id=1, location=LOC)
    lc.byebye("AboutToReboot")
    t = lc.alive("http://127.0.0.1:6000/dev/0/description.xml", 2)
    assert t.relocated
    assert lc.location.endswith(":6000/dev/0/description.xml")


def test_failed_actions_take_device_offline() -> None:
    """TR-330 §4.1.1: failed CMS/BMS queries tell the proxier the device is offline."""
    lc = Lifecycle(online=True, boot_id=1, location=LOC)
    for _ in range(FAILURES_BEFORE_OFFLINE - 1):
        assert lc.action_failed().online
    t = lc.action_failed()
    assert not t.online and t.changed


def test_device_that_never_returns_times_out_once() -> None:
    """Issue 5: bounded wait for a rebooted device; logged once, state kept."""
    lc = Lifecycle(online=True, boot_id=1, location=LOC)
    lc.reboot_requested(now=0.0, wait=30.0)
    assert lc.get_timer() == 30.0
    assert lc.handle_timer(10.0) is None
    t = lc.handle_timer(30.0)
    assert t is not None and not t.online
    assert lc.get_timer() is None
    assert lc.acs_reboot  # still expected: "M Reboot" is sent if it ever returns


def test_cached_announcement_survives_restart() -> None:
    """Events survive restarts (TR-069 §3.7.1.5): the cache is persisted with the device."""
    lc = Lifecycle(online=True, boot_id=3, location=LOC)
    lc.reboot_requested(0.0, 60.0)
    lc.byebye("AboutToReboot")
    again = Lifecycle.from_dict(lc.to_dict())
    assert again.alive(LOC, 4).conditions == {"announced:AboutToReboot", "acs_reboot"}


def test_failover_keeps_device_online_without_table1_trigger() -> None:
    """TR-330 §4.1.1 multi-homed: another interface taking over is no boot and no outage: no
    Table 1 trigger, online unchanged, and a pending ACS reboot is still awaited."""
    lc = Lifecycle(online=True, boot_id=1, location=LOC)
    lc.reboot_requested(now=0.0, wait=60.0)
    other = "http://127.0.0.2:5000/dev/0/description.xml"
    t = lc.failed_over(other)
    assert t.online and not t.changed and t.trigger == "" and t.relocated
    assert lc.location == other and lc.acs_reboot
    assert t.hold  # sessions stay held until the device is back from the ACS's reboot
    assert not Lifecycle(online=True, boot_id=1, location=LOC).failed_over(other).hold


def test_ssdp_update_bootid_is_not_a_reboot() -> None:
    """UDA 2.0 §1.2.4: ssdp:update announces NEXTBOOTID (an interface of a multi-homed device
    changed); the alive that carries it is no silent reboot (no "1 BOOT")."""
    lc = Lifecycle(online=True, boot_id=1, location=LOC)
    lc.boot_id_updated(2)
    t = lc.alive(LOC, 2)
    assert t.trigger == "" and t.conditions == frozenset()
