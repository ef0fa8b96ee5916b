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
