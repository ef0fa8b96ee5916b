"""DEBUG-level traces of what goes over the wire: CWMP messages and UPnP actions.

Each message is logged whole up to `LIMIT` characters, on one line, with every credential
masked (proxier.redact): the SOAP envelopes an operator needs to see why an ACS or a device
misbehaves, never a password.
"""

from __future__ import annotations

import logging

from proxier.logsafe import get_logger
from proxier.redact import redact, redact_url

log = get_logger("proxier.wire")

LIMIT = 8192


def _one_line(body: bytes) -> str:
    text = body.decode("utf-8", errors="replace")
    text = " ".join(part.strip() for part in text.splitlines() if part.strip())
    return text if len(text) <= LIMIT else text[:LIMIT] + f"… ({len(text)} chars)"


def soap_out(url: str, body: bytes) -> None:
    if log.isEnabledFor(logging.DEBUG):
        shown = _one_line(body) if body else "(empty POST)"
        log.debug("CWMP → %s: %s", redact_url(url), redact(shown))


def soap_in(url: str, status: int, body: bytes) -> None:
    if log.isEnabledFor(logging.DEBUG):
        shown = _one_line(body) if body.strip() else "(empty)"
        log.debug("CWMP ← %s: HTTP %d %s", redact_url(url), status, redact(shown))


def upnp_action(url: str, action: str, seconds: float, outcome: str) -> None:
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "UPnP %s at %s: %s in %.1f ms", action, redact_url(url), redact(outcome), seconds * 1e3
        )
