"""The lab TR-064 device's state and action handlers (sans-IO: the clock is passed in).

State changes on its own (uptime, host leases, statistics), transactions time out 45 s
after ConfigurationStarted (guide §9.1), Reboot takes the device down for a while,
FactoryReset restores the defaults, and a firmware update changes SoftwareVersion after a
reboot. `Tr064Fault` carries the UPnP/TR-064 error code the server answers with.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from proxier.lab.tr064.services import SERVICES, LabService

TRANSACTION_TIMEOUT = 45.0


class Tr064Fault(Exception):
    def __init__(self, code: int, description: str | None = None) -> None:
        super().__init__(f"{code} {description or ''}")
        self.code = code
        self.description = description


def _hosts(index: int) -> list[dict[str, str]]:
    base = f"02:00:{index // 256:02X}:{index % 256:02X}"
    return [
        {
            "MACAddress": f"{base}:10:{n:02X}",
            "IPAddress": f"192.168.178.{20 + n}",
            "HostName": name,
            "InterfaceType": kind,
            "AddressSource": "DHCP",
            "Active": "1",
        }
        for n, (name, kind) in enumerate(
            (("laptop", "802.11"), ("printer", "Ethernet"), ("phone", "802.11"))
        )
    ]


def _defaults(index: int, mac: str) -> dict[str, Any]:
    short = mac[-4:]
    return {
        "provisioning_code": "",
        "ntp": ["ntp.fritz.box", "2.europe.pool.ntp.org"],
        "wlan": {
            1: {
                "Enable": "1",
                "SSID": f"FRITZ!Box {short}",
                "Channel": "6",
                "Standard": "n",
                "PreSharedKey": "",
                "KeyPassphrase": f"lab-{short}-secret",
            },
            2: {
                "Enable": "1",
                "SSID": f"FRITZ!Box {short} 5G",
                "Channel": "36",
                "Standard": "ac",
                "PreSharedKey": "",
                "KeyPassphrase": f"lab-{short}-secret",
            },
        },
        "dhcp": {
            "DHCPServerEnable": "1",
            "MinAddress": "192.168.178.20",
            "MaxAddress": "192.168.178.200",
            "SubnetMask": "255.255.255.0",
            "IPRouters": "192.168.178.1",
        },
        "eth_enable": "1",
        "hosts": _hosts(index),
        "password": None,  # SetConfigPassword changes the login password
    }


@dataclass
class Transaction:
    session_id: str
    owner: str
    started: float


@dataclass
class LabTr064Device:
    """One FRITZ!-like device. `second_factor` lists "Service:Action" behind 2FA (§4.3)."""

    index: int
    udn: str
    mac: str
    model: str = "FRITZ!Box 7590 (lab)"
    manufacturer: str = "AVM"
    version: tuple[str, str, str, str] = ("238", "154", "7", "57")
    security_port: int = 0
    reboot_delay: float = 1.0
    second_factor: set[str] = field(default_factory=lambda: {"LANConfigSecurity:SetConfigPassword"})
    fail_actions: set[str] = field(default_factory=set)  # "Service:Action" answering 501
    #: "Service:Action" this firmware lacks: left out of the SCPD, answered 401 (an older
    #: FRITZ!OS, e.g. without UserInterface:X_AVM-DE_DoManualUpdate)
    hidden_actions: set[str] = field(default_factory=set)
    state: dict[str, Any] = field(default_factory=dict)
    booted: float = 0.0
    down_until: float = 0.0
    transaction: Transaction | None = None
    uuids: set[str] = field(default_factory=set)
    pending_version: tuple[str, str, str, str] | None = None
    update_state: str = "Stopped"
    confirmed_2fa: set[str] = field(default_factory=set)
    changes: int = 0
    log: list[str] = field(default_factory=list)
    reboots: int = 0
    resets: int = 0
    description_url: str = ""
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self.state = _defaults(self.index, self.mac)
        self.log.append("System started (lab TR-064 device)")

    # --- SSDP (answers to M-SEARCH only: FRITZ! sends no NOTIFY, guide §2.1.1) -------------

    @property
    def available(self) -> bool:
        return not self.is_down(self.clock())

    @property
    def boot_id(self) -> int | None:
        return None  # FRITZ! answers carry no BOOTID.UPNP.ORG

    @property
    def config_id(self) -> int | None:
        return None

    @property
    def secure_location(self) -> str:
        return ""  # no DeviceProtection: answers carry no SECURELOCATION.UPNP.ORG

    @property
    def ssdp_types(self) -> list[str]:
        devices = sorted({s.device for s in SERVICES})
        return [
            *(f"urn:dslforum-org:device:{d}:1" for d in devices),
            *dict.fromkeys(s.service_type for s in SERVICES),
        ]

    # --- life cycle ----------------------------------------------------------------------

    def is_down(self, now: float) -> bool:
        if self.down_until and now >= self.down_until:
            self.down_until = 0.0
            self.booted = now
            if self.pending_version is not None:
                self.version, self.pending_version = self.pending_version, None
                self.update_state = "Stopped"
                self.log.append(f"Firmware updated to {self.software_version}")
        return self.down_until > now

    def _go_down(self, now: float, why: str) -> None:
        self.log.append(why)
        self.transaction = None
        self.down_until = now + self.reboot_delay

    @property
    def software_version(self) -> str:
        return ".".join(self.version[1:])

    # --- service lookup ------------------------------------------------------------------

    @staticmethod
    def service_at(control: str) -> LabService | None:
        for service in SERVICES:
            if service.control == control:
                return service
        return None

    # --- transactions (guide §9) -----------------------------------------------------------

    def _active(self, now: float) -> Transaction | None:
        if self.transaction and now - self.transaction.started > TRANSACTION_TIMEOUT:
            self.log.append("Configuration session timed out")
            self.transaction = None
        return self.transaction

    def check_transaction(self, owner: str, session: str, now: float, writes: bool) -> None:
        """A write while someone else's transaction runs is refused (TR-064 §6.3)."""
        active = self._active(now)
        if active is None or not writes:
            return
        if active.owner != owner and active.session_id != session:
            raise Tr064Fault(899)

    # --- actions ---------------------------------------------------------------------------

    def invoke(
        self, service: LabService, action: str, args: Mapping[str, str], owner: str, now: float
    ) -> dict[str, str]:
        key = f"{service.name}:{action}"
        spec = service.actions.get(action)
        if spec is None:
            raise Tr064Fault(401)
        expected = {f"New{name}" for name, _ in spec.inputs}
        if set(args) != expected:
            raise Tr064Fault(402)
        if key in self.fail_actions:
            raise Tr064Fault(501)
        handler = _HANDLERS.get(key)
        if handler is None:
            raise Tr064Fault(401)
        plain = {name.removeprefix("New"): value for name, value in args.items()}
        out = handler(self, service, plain, owner, now)
        return {f"New{name}": out.get(name, "") for name, _ in spec.outputs}

    def uptime(self, now: float) -> int:
        return int(now - self.booted)


Handler = Callable[[LabTr064Device, LabService, dict[str, str], str, float], dict[str, str]]
_HANDLERS: dict[str, Handler] = {}


def _on(key: str) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        _HANDLERS[key] = fn
        return fn

    return register


def _bool(value: str) -> str:
    if value not in ("0", "1", "true", "false"):
        raise Tr064Fault(402)
    return "1" if value in ("1", "true") else "0"


@_on("DeviceInfo:GetInfo")
def _device_info(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    return {
        "ManufacturerName": d.manufacturer,
        "ManufacturerOUI": d.mac[:6],
        "ModelName": d.model,
        "Description": f"{d.model} {d.version[0]}.{d.software_version}",
        "ProductClass": "FRITZ!Box",
        "SerialNumber": d.mac,
        "SoftwareVersion": d.software_version,
        "HardwareVersion": d.model,
        "SpecVersion": "1.0",
        "ProvisioningCode": d.state["provisioning_code"],
        "UpTime": str(d.uptime(now)),
        "DeviceLog": "\n".join(d.log),
    }


@_on("DeviceInfo:SetProvisioningCode")
def _set_code(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    if len(a["ProvisioningCode"]) > 64:
        raise Tr064Fault(600)
    d.state["provisioning_code"] = a["ProvisioningCode"]
    return {}


@_on("DeviceInfo:GetDeviceLog")
def _device_log(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    return {"DeviceLog": "\n".join(d.log)}


@_on("DeviceInfo:GetSecurityPort")
def _security_port(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    return {"SecurityPort": str(d.security_port)}


@_on("DeviceConfig:X_GenerateUUID")
def _uuid(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    value = str(uuid.uuid4())
    d.uuids.add(value)
    return {"UUID": value}


@_on("DeviceConfig:ConfigurationStarted")
def _started(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    active = d._active(now)
    if active is not None and active.owner != o:
        raise Tr064Fault(899)
    session = a["SessionID"].removeprefix("uuid:")
    try:
        uuid.UUID(session)
    except ValueError:
        raise Tr064Fault(402) from None
    d.transaction = Transaction(session, o, now)
    return {}


@_on("DeviceConfig:ConfigurationFinished")
def _finished(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    active = d._active(now)
    if active is None or active.owner != o:
        raise Tr064Fault(820, "No configuration session")
    d.transaction = None
    return {"Status": "ChangesApplied"}


@_on("DeviceConfig:Reboot")
def _reboot(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    d.reboots += 1
    d._go_down(now, "Reboot requested via TR-064")
    return {}


@_on("DeviceConfig:FactoryReset")
def _reset(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    d.resets += 1
    d.state = _defaults(d.index, d.mac)
    d.log = ["Factory reset requested via TR-064"]
    d._go_down(now, "Restarting after factory reset")
    return {}


@_on("LANConfigSecurity:GetInfo")
def _sec_info(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    return {
        "MaxCharsPassword": "32",
        "MinCharsPassword": "0",
        "AllowedCharsPassword": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    }


@_on("LANConfigSecurity:SetConfigPassword")
def _set_password(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    d.state["password"] = a["Password"]
    return {}


@_on("LANConfigSecurity:X_AVM-DE_GetAnonymousLogin")
def _anonymous(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    return {"X_AVM-DE_AnonymousLoginEnabled": "0"}


@_on("LANConfigSecurity:X_AVM-DE_GetCurrentUser")
def _current(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    user, _, rights = o.partition("|")
    return {"X_AVM-DE_CurrentUsername": user, "X_AVM-DE_CurrentUserRights": rights}


@_on("LANConfigSecurity:X_AVM-DE_GetUserList")
def _users(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    names = d.state.get("users", [])
    items = "".join(
        f'<Username last_user="{1 if i == 0 else 0}">{n}</Username>' for i, n in enumerate(names)
    )
    return {"X_AVM-DE_UserList": f"<List>{items}</List>"}


@_on("ManagementServer:GetInfo")
def _mgmt(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    return {
        "URL": "https://acs.example.invalid/cwmp",
        "Username": f"fritz{d.mac[-6:]}",
        "PeriodicInformEnable": "1",
        "PeriodicInformInterval": "86400",
        "PeriodicInformTime": "0001-01-01T00:00:00",
        "ParameterKey": "",
        "ParameterHash": "",
        "ConnectionRequestURL": "",
        "ConnectionRequestUsername": "",
        "UpgradesManaged": "0",
    }


@_on("Time:GetInfo")
def _time(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    import time as _t

    stamp = _t.strftime("%Y-%m-%dT%H:%M:%S+00:00", _t.gmtime())
    return {
        "NTPServer1": d.state["ntp"][0],
        "NTPServer2": d.state["ntp"][1],
        "CurrentLocalTime": stamp,
        "LocalTimeZone": "CET-1CEST-2,M3.5.0/02:00,M10.5.0/03:00",
        "LocalTimeZoneName": "CET",
        "DaylightSavingsUsed": "1",
    }


@_on("Time:SetNTPServers")
def _set_ntp(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    d.state["ntp"] = [a["NTPServer1"], a["NTPServer2"]]
    return {}


@_on("UserInterface:GetInfo")
def _ui(d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float) -> dict[str, str]:
    return {
        "UpgradeAvailable": "1",
        "PasswordRequired": "1",
        "PasswordUserSelectable": "1",
        "WarrantyDate": "0001-01-01T00:00:00",
        "X_AVM-DE_Version": d.software_version,
        "X_AVM-DE_DownloadURL": "",
        "X_AVM-DE_InfoURL": "",
        "X_AVM-DE_UpdateState": d.update_state,
    }


def _next_version(d: LabTr064Device) -> tuple[str, str, str, str]:
    hw, major, minor, patch = d.version
    return hw, major, minor, str(int(patch) + 1) if patch.isdigit() else "1"


@_on("UserInterface:X_AVM-DE_CheckUpdate")
def _check(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    return {}


@_on("UserInterface:X_AVM-DE_DoUpdate")
def _do_update(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    d.pending_version = _next_version(d)
    d.update_state = "Started"
    d._go_down(now, "Firmware update started")
    return {"UpgradeAvailable": "1", "X_AVM-DE_UpdateState": "Started"}


@_on("UserInterface:X_AVM-DE_DoManualUpdate")
def _manual_update(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    url = a["X_AVM-DE_DownloadURL"]
    if not url.startswith(("http://", "https://")):
        raise Tr064Fault(600)
    d.state["update_url"] = url  # the server fetches it before the device goes down
    d.pending_version = _next_version(d)
    d.update_state = "Started"
    return {}


def _wlan_state(d: LabTr064Device, s: LabService) -> dict[str, str]:
    wlan: dict[str, str] = d.state["wlan"][s.instance]
    return wlan


@_on("WLANConfiguration:GetInfo")
def _wlan_info(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    w = _wlan_state(d, s)
    return {
        "Enable": w["Enable"],
        "Status": "Up" if w["Enable"] == "1" else "Disabled",
        "MaxBitRate": "Auto",
        "Channel": w["Channel"],
        "SSID": w["SSID"],
        "BeaconType": "11i",
        "MACAddressControlEnabled": "0",
        "Standard": w["Standard"],
        "BSSID": f"{d.mac[:10]}{s.instance:02X}",
        "BasicEncryptionModes": "None",
        "BasicAuthenticationMode": "None",
        "MaxCharsSSID": "32",
        "MinCharsSSID": "1",
        "AllowedCharsSSID": "printable ASCII",
    }


@_on("WLANConfiguration:GetSSID")
def _get_ssid(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    return {"SSID": _wlan_state(d, s)["SSID"]}


@_on("WLANConfiguration:SetSSID")
def _set_ssid(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    if not 1 <= len(a["SSID"]) <= 32:
        raise Tr064Fault(600)
    _wlan_state(d, s)["SSID"] = a["SSID"]
    return {}


@_on("WLANConfiguration:SetEnable")
def _wlan_enable(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    _wlan_state(d, s)["Enable"] = _bool(a["Enable"])
    return {}


@_on("WLANConfiguration:GetSecurityKeys")
def _keys(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    w = _wlan_state(d, s)
    return {"PreSharedKey": w["PreSharedKey"], "KeyPassphrase": w["KeyPassphrase"]}


@_on("WLANConfiguration:SetSecurityKeys")
def _set_keys(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    if a["KeyPassphrase"] and not 8 <= len(a["KeyPassphrase"]) <= 63:
        raise Tr064Fault(600)
    w = _wlan_state(d, s)
    w["PreSharedKey"], w["KeyPassphrase"] = a["PreSharedKey"], a["KeyPassphrase"]
    return {}


@_on("WLANConfiguration:GetTotalAssociations")
def _assoc(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    return {"TotalAssociations": str(sum(h["InterfaceType"] == "802.11" for h in d.state["hosts"]))}


def _host_out(h: Mapping[str, str], now: float) -> dict[str, str]:
    return {**h, "LeaseTimeRemaining": str(max(0, 864000 - int(now) % 864000))}


@_on("Hosts:GetHostNumberOfEntries")
def _host_count(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    return {"HostNumberOfEntries": str(len(d.state["hosts"]))}


@_on("Hosts:GetGenericHostEntry")
def _host_entry(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    try:
        index = int(a["Index"])
    except ValueError:
        raise Tr064Fault(402) from None
    hosts = d.state["hosts"]
    if not 0 <= index < len(hosts):
        raise Tr064Fault(713)
    return _host_out(hosts[index], now)


@_on("Hosts:GetSpecificHostEntry")
def _host_by_mac(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    for host in d.state["hosts"]:
        if host["MACAddress"].lower() == a["MACAddress"].lower():
            return _host_out(host, now)
    raise Tr064Fault(714)


@_on("Hosts:X_AVM-DE_GetChangeCounter")
def _host_changes(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    return {"X_AVM-DE_GetChangeCounter": str(d.changes)}


@_on("LANHostConfigManagement:GetInfo")
def _dhcp(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    p = d.state["dhcp"]
    return {
        **p,
        "DHCPServerConfigurable": "1",
        "DHCPRelay": "0",
        "ReservedAddresses": "",
        "DNSServers": p["IPRouters"],
        "DomainName": "fritz.box",
    }


@_on("LANHostConfigManagement:SetDHCPServerEnable")
def _dhcp_enable(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    d.state["dhcp"]["DHCPServerEnable"] = _bool(a["DHCPServerEnable"])
    return {}


def _ipv4(value: str) -> str:
    parts = value.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        raise Tr064Fault(600)
    return value


@_on("LANHostConfigManagement:SetAddressRange")
def _dhcp_range(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    d.state["dhcp"]["MinAddress"] = _ipv4(a["MinAddress"])
    d.state["dhcp"]["MaxAddress"] = _ipv4(a["MaxAddress"])
    return {}


@_on("LANHostConfigManagement:SetSubnetMask")
def _dhcp_mask(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    d.state["dhcp"]["SubnetMask"] = _ipv4(a["SubnetMask"])
    return {}


@_on("LANHostConfigManagement:SetIPRouter")
def _dhcp_router(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    d.state["dhcp"]["IPRouters"] = _ipv4(a["IPRouters"])
    return {}


@_on("LANEthernetInterfaceConfig:GetInfo")
def _eth(d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float) -> dict[str, str]:
    up = d.state["eth_enable"] == "1"
    return {
        "Enable": d.state["eth_enable"],
        "Status": "Up" if up else "Disabled",
        "MACAddress": ":".join(d.mac[i : i + 2] for i in range(0, 12, 2)),
        "MaxBitRate": "1000",
        "DuplexMode": "Full",
    }


@_on("LANEthernetInterfaceConfig:GetStatistics")
def _eth_stats(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    up = d.uptime(now)
    return {
        "BytesSent": str(1500 * up),
        "BytesReceived": str(3000 * up),
        "PacketsSent": str(10 * up),
        "PacketsReceived": str(20 * up),
    }


@_on("LANEthernetInterfaceConfig:SetEnable")
def _eth_enable(
    d: LabTr064Device, s: LabService, a: dict[str, str], o: str, now: float
) -> dict[str, str]:
    d.state["eth_enable"] = _bool(a["Enable"])
    return {}


#: Actions that change configuration: refused while another client's transaction runs.
WRITES = frozenset(
    key for key in _HANDLERS if key.split(":", 1)[1].startswith(("Set", "X_AVM-DE_Do"))
) | {"DeviceConfig:Reboot", "DeviceConfig:FactoryReset"}
