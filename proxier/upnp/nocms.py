"""ConfigurationManagement for a DM device that has none (TR-330 §3.1, §4.1.1).

TR-330 §3.1 lets a UPnP DM device support "at least one of" BMS, CMS or SMS, and §4.1.1 makes
any device with one of them manageable. A device with only BMS or only SMS still becomes a
Virtual CWMP Device: Reboot/FactoryReset, diagnostics and vendor logs (BMS) and firmware
(SMS) work as usual. This object stands in for the missing CMS so the translation needs no
second code path:

- it offers no data model (GetSupportedDataModels is empty), so no `Device.` name maps to the
  device and every device parameter the ACS names is 9005, as TR-069 says for a name the CPE
  does not have;
- it answers the DeviceInfo nodes the proxier can know without CMS (upnp-dm.md §2.8 paths,
  the ones `mappings/deviceinfo.toml` reads through): the identity the virtual device has
  (`identify`, TR-330 §4.1.1 fallback from the description), Manufacturer and FriendlyName
  from the description, SoftwareVersion from SMS GetDUInfo of DU 0 (the firmware, TR-330
  §4.7.1); any other path is CMS 703 "No Such Name" (Table 2 → 9005);
- writes are CMS 706 "Read Only Violation" (Table 2 → 9008: nothing is writable without CMS);
  other actions are UPnP 401 "Invalid Action" (Table 2 → 9001).
"""

from __future__ import annotations

from collections.abc import Sequence

from proxier.upnp.description import DescribedDevice
from proxier.upnp.device import (
    NodeAttributes,
    ParameterValue,
    SmsApi,
    SupportedDataModel,
    UpnpError,
)
from proxier.upnp.identity import OUI_PATH, PRODUCT_CLASS_PATH, SERIAL_NUMBER_PATH

DEVICE_INFO = "/UPnP/DM/DeviceInfo/"
FRIENDLY_NAME = DEVICE_INFO + "FriendlyName"
MANUFACTURER = DEVICE_INFO + "Manufacturer"
SOFTWARE_VERSION = DEVICE_INFO + "SoftwareVersion"
FIRMWARE_DU = 0  # TR-330 §4.7.1: DUID 0 is the firmware


def _no_such_name(path: str) -> UpnpError:
    return UpnpError(703, f"No Such Name: {path[:200]} (the device has no ConfigurationManagement)")


def _invalid_action(action: str) -> UpnpError:
    return UpnpError(401, f"Invalid Action: {action} (the device has no ConfigurationManagement)")


class DescriptionCms:
    """A CmsApi over what a CMS-less device's description and SMS say (module docstring)."""

    def __init__(self, described: DescribedDevice, sms: SmsApi | None) -> None:
        candidate = described.candidate
        self._sms = sms if "GetDUInfo" in described.actions.get("SMS", frozenset()) else None
        self._values: dict[str, str] = {
            MANUFACTURER: candidate.manufacturer,
            FRIENDLY_NAME: candidate.friendly_name,
            PRODUCT_CLASS_PATH: candidate.model_name,
            SERIAL_NUMBER_PATH: candidate.serial_number,
        }

    def identify(self, oui: str, product_class: str, serial_number: str) -> None:
        """The identity the virtual device got (TR-330 §4.1.1): DeviceInfo shows the same
        OUI/ProductClass/SerialNumber as the Inform's DeviceId."""
        self._values.update(
            {OUI_PATH: oui, PRODUCT_CLASS_PATH: product_class, SERIAL_NUMBER_PATH: serial_number}
        )

    async def _value(self, path: str) -> str:
        if path == SOFTWARE_VERSION and self._sms is not None:
            try:
                return (await self._sms.get_du_info(FIRMWARE_DU)).du_version
            except UpnpError as exc:
                if exc.code == 0:
                    raise
                raise _no_such_name(path) from None
        value = self._values.get(path)
        if not value:
            raise _no_such_name(path)
        return value

    # -- what a CMS-less device can answer --

    async def get_supported_data_models(self) -> list[SupportedDataModel]:
        return []

    async def get_supported_parameters(self, starting_node: str, search_depth: int) -> list[str]:
        raise _no_such_name(starting_node)

    async def get_instances(self, starting_node: str, search_depth: int) -> list[str]:
        raise _no_such_name(starting_node)

    async def get_values(self, paths: Sequence[str]) -> list[ParameterValue]:
        return [ParameterValue(path, await self._value(path)) for path in paths]

    async def get_selected_values(self, starting_node: str, filter: str) -> list[ParameterValue]:
        raise _no_such_name(starting_node)

    async def get_attributes(self, paths: Sequence[str]) -> list[NodeAttributes]:
        for path in paths:
            await self._value(path)
        return [
            NodeAttributes(path, access="readOnly", type="string", event_on_change=False)
            for path in paths
        ]

    async def get_configuration_update(self) -> str:
        return "0,0001-01-01T00:00:00Z"

    async def get_current_configuration_version(self) -> int:
        return 0

    async def get_supported_data_models_update(self) -> str:
        return "0,0001-01-01T00:00:00Z"

    async def get_supported_parameters_update(self) -> str:
        return "0,0001-01-01T00:00:00Z"

    async def get_attribute_values_update(self) -> str:
        return "0,0001-01-01T00:00:00Z"

    async def get_inconsistent_status(self) -> bool:
        return False

    async def get_alarms_enabled(self) -> bool:
        return False

    # -- what needs a real CMS --

    async def set_values(self, values: Sequence[ParameterValue]) -> str:
        raise UpnpError(706, "Read Only Violation: the device has no ConfigurationManagement")

    async def create_instance(
        self, multi_instance_name: str, children: Sequence[ParameterValue]
    ) -> tuple[str, str]:
        raise _invalid_action("CreateInstance")

    async def delete_instance(self, instance_identifier: str) -> str:
        raise _invalid_action("DeleteInstance")

    async def set_attributes(self, nodes: Sequence[NodeAttributes]) -> str:
        raise _invalid_action("SetAttributes")

    async def set_alarms_enabled(self, enabled: bool) -> None:
        raise _invalid_action("SetAlarmsEnabled")
