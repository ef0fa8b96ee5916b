"""Reading hostapd's `-dd -K` key dump ("WPS: <label> - hexdump(len=N): xx xx …")."""

from __future__ import annotations

import re
from collections.abc import Iterable

_HEXDUMP = re.compile(r"^WPS: (?P<label>.+?) - hexdump\(len=(?P<len>\d+)\):(?P<hex>[ 0-9a-f]*)$")

#: The labels the known-answer test keeps (first occurrence of each).
LABELS = (
    "Enrollee Nonce",
    "DH Private Key",
    "DHKey",
    "KDK",
    "AuthKey",
    "KeyWrapKey",
    "EMSK",
    "PSK1",
    "PSK2",
    "E-S1",
    "E-S2",
    "E-Hash1",
    "E-Hash2",
    "R-Hash1",
    "R-Hash2",
    "R-SNonce1",
    "R-SNonce2",
    "Plaintext AP Settings",
)


def hexdumps(lines: Iterable[str]) -> dict[str, bytes]:
    """Label → value of the first hexdump of each label in LABELS."""
    found: dict[str, bytes] = {}
    for line in lines:
        m = _HEXDUMP.match(line.strip())
        if m and m["label"] in LABELS and m["label"] not in found:
            value = bytes.fromhex(m["hex"].replace(" ", ""))
            if len(value) == int(m["len"]):
                found[m["label"]] = value
    return found
