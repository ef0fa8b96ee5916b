"""TR-330 Table 1 rows as the manager applies them to lifecycle transitions."""

import pytest

from proxier.translate.tables import default_tables
from proxier.virtual.lifecycle import Transition
from proxier.virtual.manager import table1_events


@pytest.mark.parametrize(
    ("conditions", "expected"),
    [
        ({"first_discovery"}, {"0 BOOTSTRAP", "1 BOOT"}),
        ({"announced:AboutToReboot"}, {"1 BOOT"}),
        ({"announced:AboutToReboot", "acs_reboot"}, {"1 BOOT", "M Reboot"}),
        ({"acs_reboot"}, {"1 BOOT", "M Reboot"}),
        ({"announced:AboutToBaselineReset"}, {"0 BOOTSTRAP"}),
    ],
)
def test_table1_alive_rows(conditions: set[str], expected: set[str]) -> None:
    """TR-330 Table 1 rows "0 BOOTSTRAP" and "1 BOOT (M Reboot)" on ssdp:alive."""
    t = Transition(
        online=True, changed=True, trigger="ssdp:alive", conditions=frozenset(conditions)
    )
    assert set(table1_events(default_tables(), t)) == expected


def test_no_trigger_no_event() -> None:
    """A device back after an outage without reboot: no Table 1 event (J.2.3 resume)."""
    t = Transition(online=True, changed=True)
    assert table1_events(default_tables(), t) == ()


def test_failover_and_ssdp_update_raise_no_table1_event() -> None:
    """TR-330 §4.1.1 multi-homed: another interface taking over, or an ssdp:update's
    NEXTBOOTID (UDA 2.0 §1.2.4), is neither a boot nor a bootstrap: no Inform event."""
    from proxier.virtual.lifecycle import Lifecycle

    loc = "http://127.0.0.2:5000/dev/0/description.xml"
    lc = Lifecycle(online=True, boot_id=1, location="http://127.0.0.1:5000/dev/0/description.xml")
    assert table1_events(default_tables(), lc.failed_over(loc)) == ()
    lc.boot_id_updated(2)
    assert table1_events(default_tables(), lc.alive(loc, 2)) == ()
