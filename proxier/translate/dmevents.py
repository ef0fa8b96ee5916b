"""TR-330 §4.2.1 Table 1 rows 4, 7, 8 and 10: what happened on a UPnP DM device → which
Inform events the ACS sees, read from `mappings/table1_events.toml`.

The operation modules only say *what happened*, as a Table 1 trigger and condition (an
`Occurrence`): an SMS operation the ACS started finished (with its TransferComplete),
another control point's firmware operation finished (with its AutonomousTransferComplete),
a BMS test the ACS started finished, a CMS ConfigurationUpdate arrived. `DmEvents` looks the
occurrence up in the table (`EventTable.raised`, the same lookup the lifecycle rows use) and
hands the CWMP engine what the rows ask for:

- events the engine raises itself when given what carries them (`tables.CARRIED_BY`:
  "7 TRANSFER COMPLETE" + "M Download" with the TransferComplete, "10 AUTONOMOUS TRANSFER
  COMPLETE" with the AutonomousTransferComplete, "4 VALUE CHANGE" with the changed values):
  the payload goes to the engine's listener, once; how it is delivered (the TransferComplete
  RPC, Table 7 pairing and retention, AutonomousTransferCompletePolicy, notification
  levels) stays the engine's business;
- any other code a row names: `raise_event(code, command_key)`.

An occurrence the table gives no event is logged and goes no further. Vendor log uploads
("7 TRANSFER COMPLETE" + "M Upload", §4.4.2) are not a Table 1 row and bypass this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from proxier.cwmp.backend import AutonomousTransferListener, TransferListener
from proxier.cwmp.rpc import AutonomousTransferComplete, TransferComplete
from proxier.logsafe import get_logger
from proxier.translate.tables import CARRIED_BY, EventTable

log = get_logger(__name__)

#: Raises one Inform event with its CommandKey (`CpeEngine.raise_event`).
EventRaiser = Callable[[str, str], None]


@dataclass(frozen=True, slots=True)
class Occurrence:
    """Something that happened on the device, in Table 1's words (`on` and `when`)."""

    trigger: str
    condition: str


#: Table 1 row 4: the CMS ConfigurationUpdate state variable evented.
CONFIGURATION_UPDATE = Occurrence("CMS:ConfigurationUpdate", "always")
#: Table 1 row 7: an SMS OperationID the ACS started (Download) left OperationIDs.
ACS_OPERATION_FINISHED = Occurrence("SMS:OperationIDs", "acs_operation_finished")
#: Table 1 row 10: a firmware OperationID another control point started left OperationIDs.
AUTONOMOUS_FIRMWARE_FINISHED = Occurrence("SMS:OperationIDs", "autonomous_firmware_finished")
#: Table 1 row 8: a BMS TestID the ACS started left ActiveTestIDs.
ACS_TEST_FINISHED = Occurrence("BMS:ActiveTestIDs", "acs_test_finished")


def _unheard(what: object, *_: object) -> None:
    """The default listener: nothing may vanish silently before the engine is attached."""
    name = what if isinstance(what, str) else type(what).__name__
    log.warning("%s dropped: no listener yet", name)


class DmEvents:
    """One device's DM occurrences → the Inform events Table 1 gives them (module docstring).

    The listeners are set once the CWMP engine exists (it is built after the backend)."""

    def __init__(self, table: EventTable) -> None:
        self.table = table
        self.raise_event: EventRaiser = _unheard
        self.on_transfer_complete: TransferListener = _unheard
        self.on_autonomous_complete: AutonomousTransferListener = _unheard

    def occurred(self, occurrence: Occurrence, command_key: str = "") -> bool:
        """Raise the events Table 1 gives `occurrence` that need nothing but a CommandKey;
        True when it also gives one the engine raises from a payload (`CARRIED_BY`), which
        the caller then hands over."""
        rows = self.table.raised(occurrence.trigger, (occurrence.condition,))
        if not rows:
            log.info("%s / %s: Table 1 gives no event", occurrence.trigger, occurrence.condition)
        for row in rows:
            if row.event not in CARRIED_BY:
                self.raise_event(row.event, command_key if row.command_key else "")
        return any(row.event in CARRIED_BY for row in rows)

    def operation_finished(self, tc: TransferComplete) -> None:
        """An ACS-started SMS operation (a Download) finished, or SMS::Update refused it."""
        if self.occurred(ACS_OPERATION_FINISHED, tc.command_key):
            self.on_transfer_complete(tc)

    def autonomous_firmware_finished(self, atc: AutonomousTransferComplete) -> None:
        """Another control point's firmware update finished (§4.7.1.3)."""
        if self.occurred(AUTONOMOUS_FIRMWARE_FINISHED):
            self.on_autonomous_complete(atc)

    def test_finished(self) -> None:
        """A diagnostic the ACS requested finished (not a canceled one: §4.5.1)."""
        self.occurred(ACS_TEST_FINISHED)
