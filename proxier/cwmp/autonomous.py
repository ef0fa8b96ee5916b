"""`ManagementServer.AutonomousTransferCompletePolicy.` (TR-181, reference §3.1) as a filter.

The policy decides which transfers the ACS did not ask for are reported with
"10 AUTONOMOUS TRANSFER COMPLETE" and AutonomousTransferComplete (TR-069 A.3.3.3): Enable,
then TransferTypeFilter (Upload/Download/Both), ResultTypeFilter (Success/Failure/Both) and
FileTypeFilter (a comma-separated list of FileType values; an empty list reports nothing).

Defaults: disabled, so an ACS that never configured the policy is never sent a method it
may not expect (TR-330 §4.7.1.3 does not even recommend the feature); once enabled, all
firmware transfers are reported, the only autonomous transfers UPnP DM has (TR-330 §4.7.1.3:
Download only, "1 Firmware Upgrade Image" only).
"""

from __future__ import annotations

from collections.abc import Callable

from proxier.cwmp.rpc import AutonomousTransferComplete

POLICY = "AutonomousTransferCompletePolicy."
ENABLE = POLICY + "Enable"
TRANSFER_TYPE_FILTER = POLICY + "TransferTypeFilter"
RESULT_TYPE_FILTER = POLICY + "ResultTypeFilter"
FILE_TYPE_FILTER = POLICY + "FileTypeFilter"

TRANSFER_TYPES = ("Upload", "Download", "Both")
RESULT_TYPES = ("Success", "Failure", "Both")
FIRMWARE = "1 Firmware Upgrade Image"

#: ManagementServer leaves (relative to "Device.ManagementServer.") and their defaults.
POLICY_DEFAULTS = {
    ENABLE: "false",
    TRANSFER_TYPE_FILTER: "Both",
    RESULT_TYPE_FILTER: "Both",
    FILE_TYPE_FILTER: FIRMWARE,
}


def reported(setting: Callable[[str], str], atc: AutonomousTransferComplete) -> bool:
    """Whether the policy read through `setting(leaf)` lets `atc` reach the ACS."""
    if setting(ENABLE).strip().lower() not in ("1", "true"):
        return False
    transfer = setting(TRANSFER_TYPE_FILTER).strip()
    if transfer != "Both" and transfer != ("Download" if atc.is_download else "Upload"):
        return False
    result = setting(RESULT_TYPE_FILTER).strip()
    success = atc.fault_struct.fault_code == 0
    if result != "Both" and result != ("Success" if success else "Failure"):
        return False
    file_types = {item.strip() for item in setting(FILE_TYPE_FILTER).split(",")} - {""}
    return atc.file_type in file_types
