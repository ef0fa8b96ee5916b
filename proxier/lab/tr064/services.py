"""The TR-064 services the lab device offers: actions, arguments and required rights.

Names, arguments and rights follow the FRITZ! TR-064 guide (2025, §6.1) and TR-064 itself;
the argument lists are a faithful subset of what FRITZ!OS offers. An argument is written
`Name` (string) or `Name:type`; the SOAP argument is `New<Name>` and its state variable
`<Name>`, as on the real devices. Rights: C A P N H as in §6.1, "-" for none.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SERVICE_NS = "urn:dslforum-org:service:"
DEVICE_NS = "urn:dslforum-org:device:"


@dataclass(frozen=True, slots=True)
class LabAction:
    inputs: tuple[tuple[str, str], ...]
    outputs: tuple[tuple[str, str], ...]
    rights: str  # "-" or letters out of CAPNH; any one letter suffices


def _args(spec: str) -> tuple[tuple[str, str], ...]:
    out = []
    for word in spec.split():
        name, _, kind = word.partition(":")
        out.append((name, kind or "string"))
    return tuple(out)


def act(inputs: str = "", outputs: str = "", rights: str = "C") -> LabAction:
    return LabAction(_args(inputs), _args(outputs), rights)


@dataclass(frozen=True, slots=True)
class LabService:
    name: str  # DeviceInfo, WLANConfiguration, …
    instance: int  # serviceId suffix and WLANConfiguration:{n}
    control: str
    scpd: str
    actions: dict[str, LabAction] = field(default_factory=dict)
    device: str = "InternetGatewayDevice"

    @property
    def service_type(self) -> str:
        return f"{SERVICE_NS}{self.name}:1"

    @property
    def service_id(self) -> str:
        return f"urn:{self.name}-com:serviceId:{self.name}{self.instance}"

    @property
    def key(self) -> str:
        return f"{self.name}:{self.instance}"


_HOST = (
    "IPAddress AddressSource LeaseTimeRemaining:i4 MACAddress InterfaceType Active:boolean HostName"
)
_WLAN_INFO = (
    "Enable:boolean Status MaxBitRate Channel:ui1 SSID BeaconType "
    "MACAddressControlEnabled:boolean Standard BSSID BasicEncryptionModes "
    "BasicAuthenticationMode MaxCharsSSID:ui1 MinCharsSSID:ui1 AllowedCharsSSID"
)
_KEYS = "WEPKey0 WEPKey1 WEPKey2 WEPKey3 PreSharedKey KeyPassphrase"


def _wlan(n: int) -> LabService:
    return LabService(
        "WLANConfiguration",
        n,
        f"/upnp/control/wlanconfig{n}",
        f"/wlanconfigSCPD{n}.xml" if n > 1 else "/wlanconfigSCPD.xml",
        {
            "GetInfo": act(outputs=_WLAN_INFO, rights="CAP"),
            "GetSSID": act(outputs="SSID", rights="A"),
            "SetSSID": act(inputs="SSID"),
            "SetEnable": act(inputs="Enable:boolean", rights="CA"),
            "GetSecurityKeys": act(outputs=_KEYS, rights="A"),
            "SetSecurityKeys": act(inputs=_KEYS, rights="CA"),
            "GetTotalAssociations": act(outputs="TotalAssociations:ui2", rights="CAP"),
        },
        device="LANDevice",
    )


SERVICES: tuple[LabService, ...] = (
    LabService(
        "DeviceInfo",
        1,
        "/upnp/control/deviceinfo",
        "/deviceinfoSCPD.xml",
        {
            "GetInfo": act(
                outputs="ManufacturerName ManufacturerOUI ModelName Description ProductClass "
                "SerialNumber SoftwareVersion HardwareVersion SpecVersion ProvisioningCode "
                "UpTime:ui4 DeviceLog"
            ),
            "SetProvisioningCode": act(inputs="ProvisioningCode"),
            "GetDeviceLog": act(outputs="DeviceLog"),
            "GetSecurityPort": act(outputs="SecurityPort:ui2", rights="-"),
        },
    ),
    LabService(
        "DeviceConfig",
        1,
        "/upnp/control/deviceconfig",
        "/deviceconfigSCPD.xml",
        {
            "ConfigurationStarted": act(inputs="SessionID:uuid"),
            "ConfigurationFinished": act(outputs="Status"),
            "FactoryReset": act(),
            "Reboot": act(),
            "X_GenerateUUID": act(outputs="UUID:uuid"),
        },
    ),
    LabService(
        "LANConfigSecurity",
        1,
        "/upnp/control/lanconfigsecurity",
        "/lanconfigsecuritySCPD.xml",
        {
            "GetInfo": act(
                outputs="MaxCharsPassword:ui2 MinCharsPassword:ui2 AllowedCharsPassword",
                rights="-",
            ),
            "SetConfigPassword": act(inputs="Password", rights="CAPNH"),
            "X_AVM-DE_GetAnonymousLogin": act(
                outputs="X_AVM-DE_AnonymousLoginEnabled:boolean", rights="-"
            ),
            "X_AVM-DE_GetCurrentUser": act(
                outputs="X_AVM-DE_CurrentUsername X_AVM-DE_CurrentUserRights", rights="CAPNH"
            ),
            "X_AVM-DE_GetUserList": act(outputs="X_AVM-DE_UserList", rights="-"),
        },
    ),
    LabService(
        "ManagementServer",
        1,
        "/upnp/control/mgmsrv",
        "/mgmsrvSCPD.xml",
        {
            "GetInfo": act(
                outputs="URL Username PeriodicInformEnable:boolean PeriodicInformInterval:ui4 "
                "PeriodicInformTime:dateTime ParameterKey ParameterHash ConnectionRequestURL "
                "ConnectionRequestUsername UpgradesManaged:boolean"
            ),
        },
    ),
    LabService(
        "Time",
        1,
        "/upnp/control/time",
        "/timeSCPD.xml",
        {
            "GetInfo": act(
                outputs="NTPServer1 NTPServer2 CurrentLocalTime:dateTime LocalTimeZone "
                "LocalTimeZoneName DaylightSavingsUsed:boolean",
                rights="CAPNH",
            ),
            "SetNTPServers": act(inputs="NTPServer1 NTPServer2"),
        },
    ),
    LabService(
        "UserInterface",
        1,
        "/upnp/control/userif",
        "/userifSCPD.xml",
        {
            "GetInfo": act(
                outputs="UpgradeAvailable:boolean PasswordRequired:boolean "
                "PasswordUserSelectable:boolean WarrantyDate:dateTime X_AVM-DE_Version "
                "X_AVM-DE_DownloadURL X_AVM-DE_InfoURL X_AVM-DE_UpdateState",
                rights="-",
            ),
            "X_AVM-DE_CheckUpdate": act(inputs="X_AVM-DE_LaborVersion"),
            "X_AVM-DE_DoUpdate": act(outputs="UpgradeAvailable:boolean X_AVM-DE_UpdateState"),
            "X_AVM-DE_DoManualUpdate": act(
                inputs="X_AVM-DE_DownloadURL X_AVM-DE_AllowDowngrade:boolean"
            ),
        },
    ),
    _wlan(1),
    _wlan(2),
    LabService(
        "Hosts",
        1,
        "/upnp/control/hosts",
        "/hostsSCPD.xml",
        {
            "GetHostNumberOfEntries": act(outputs="HostNumberOfEntries:ui2", rights="-"),
            "GetGenericHostEntry": act(inputs="Index:ui2", outputs=_HOST, rights="-"),
            "GetSpecificHostEntry": act(
                inputs="MACAddress",
                outputs=" ".join(w for w in _HOST.split() if not w.startswith("MACAddress")),
                rights="-",
            ),
            "X_AVM-DE_GetChangeCounter": act(outputs="X_AVM-DE_GetChangeCounter:ui4", rights="-"),
        },
        device="LANDevice",
    ),
    LabService(
        "LANHostConfigManagement",
        1,
        "/upnp/control/lanhostconfigmgm",
        "/lanhostconfigmgmSCPD.xml",
        {
            "GetInfo": act(
                outputs="DHCPServerConfigurable:boolean DHCPRelay:boolean MinAddress MaxAddress "
                "ReservedAddresses DHCPServerEnable:boolean DNSServers DomainName IPRouters "
                "SubnetMask"
            ),
            "SetDHCPServerEnable": act(inputs="DHCPServerEnable:boolean"),
            "SetAddressRange": act(inputs="MinAddress MaxAddress"),
            "SetSubnetMask": act(inputs="SubnetMask"),
            "SetIPRouter": act(inputs="IPRouters"),
        },
        device="LANDevice",
    ),
    LabService(
        "LANEthernetInterfaceConfig",
        1,
        "/upnp/control/lanethernetifcfg",
        "/ethifconfigSCPD.xml",
        {
            "GetInfo": act(outputs="Enable:boolean Status MACAddress MaxBitRate DuplexMode"),
            "GetStatistics": act(
                outputs="BytesSent:ui4 BytesReceived:ui4 PacketsSent:ui4 PacketsReceived:ui4"
            ),
            "SetEnable": act(inputs="Enable:boolean"),
        },
        device="LANDevice",
    ),
)
