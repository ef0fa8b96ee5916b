"""Carrying WSC messages over the WFA UPnP WLANConfig service (test adapter).

hostapd (as an AP Enrollee with an UPnP interface) and wpa_supplicant (as an External
Registrar) speak WSC only over `urn:schemas-wifialliance-org:service:WFAWLANConfig:1`:
GetDeviceInfo returns M1 in NewDeviceInfo, PutMessage carries one message in
NewInMessage and returns the next in NewOutMessage (dp-wps.md §5). This module is the
thin glue between that service and proxier's sans-IO WSC core.
"""

from __future__ import annotations

import base64
from collections.abc import Callable

from proxier.upnp.client import SoapTransport
from proxier.wsc import tlv

SERVICE = "urn:schemas-wifialliance-org:service:WFAWLANConfig:1"
DEVICE = "urn:schemas-wifialliance-org:device:WFADevice:1"


async def get_device_info(soap: SoapTransport, control_url: str) -> bytes:
    out = await soap.invoke(control_url, SERVICE, "GetDeviceInfo", (), ("NewDeviceInfo",))
    return base64.b64decode(out["NewDeviceInfo"])


async def put_message(soap: SoapTransport, control_url: str, message: bytes) -> bytes:
    out = await soap.invoke(
        control_url,
        SERVICE,
        "PutMessage",
        (("NewInMessage", base64.b64encode(message).decode()),),
        ("NewOutMessage",),
    )
    return base64.b64decode(out.get("NewOutMessage", "") or "")


class RecordingRng:
    """An RNG that remembers what it returned (to replay a run in a known-answer test)."""

    def __init__(self, source: Callable[[int], bytes]) -> None:
        self.source = source
        self.draws: list[bytes] = []

    def __call__(self, n: int) -> bytes:
        value = self.source(n)
        self.draws.append(value)
        return value


class ReplayRng:
    """Returns recorded draws in order (fails loudly if the run asks for something else)."""

    def __init__(self, draws: list[bytes]) -> None:
        self.draws = list(draws)

    def __call__(self, n: int) -> bytes:
        value = self.draws.pop(0)
        if len(value) != n:
            raise AssertionError(f"replay asked for {n} octets, recording has {len(value)}")
        return value


#: AP Settings (dp-wps.md §5): hostapd as AP Enrollee needs them in M8, wpa_supplicant's
#: ER needs (dummy) ones in M7. Auth WPA2-Personal, Encr AES.
AUTH_WPA2PSK = 0x0020
ENCR_AES = 0x0008


def ap_settings(ssid: bytes, key: bytes, mac: bytes) -> list[tlv.Attr]:
    return [
        (tlv.SSID, ssid),
        (tlv.AUTH_TYPE, tlv.u16(AUTH_WPA2PSK)),
        (tlv.ENCR_TYPE, tlv.u16(ENCR_AES)),
        (tlv.NETWORK_KEY, key),
        (tlv.MAC_ADDRESS, mac),
    ]


def message_name(message: bytes) -> str:
    try:
        return tlv.MESSAGE_NAMES.get(tlv.Message(message).message_type, "?")
    except tlv.TlvError:
        return "malformed"
