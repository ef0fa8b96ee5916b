"""The id an ACS gives a CPE: GenieACS's `OUI-ProductClass-SerialNumber`, escaped.

GenieACS (and our lab ACS, `proxier labacs`) percent-encode every character other than
[A-Za-z0-9_] in each part (UTF-8 bytes, upper-case hex), as TR-069 §3.4.4 does for the CPE
username, so that the three parts can be split at the dashes again; without a ProductClass
the id is `OUI-SerialNumber`. The proxier itself shows the parts raw
(`00040E-FRITZ!Box 7590 (lab)-…`); `proxier.control.ids` accepts both.
"""

from __future__ import annotations


def _escape(text: str) -> str:
    return "".join(c if c.isascii() and (c.isalnum() or c == "_") else _pct(c) for c in text)


def _pct(char: str) -> str:
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))


def acs_device_id(oui: str, product_class: str, serial_number: str) -> str:
    """`OUI-ProductClass-SerialNumber` (`OUI-SerialNumber` without a ProductClass), each part
    escaped as GenieACS does."""
    parts = [oui, product_class, serial_number] if product_class else [oui, serial_number]
    return "-".join(_escape(p) for p in parts)
