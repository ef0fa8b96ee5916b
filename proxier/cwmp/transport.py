"""The one thing a CWMP session needs from HTTP: POST a body to the ACS, get a reply.

The engine (`proxier.cwmp.engine`) drives a session through this interface; the aiohttp
driver (`proxier.cwmp.http`) implements it with one connection, cookies and auth per
session. Tests can run a session against the lab ACS over loopback with the real driver.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True, slots=True)
class AcsReply:
    """One HTTP response from the ACS: status code and body (b"" when empty)."""

    status: int
    body: bytes
    content_type: str = ""


class TransportError(Exception):
    """The ACS could not be reached or answered outside HTTP (a failed session attempt)."""


class AcsTransport(Protocol):
    """One CWMP session's HTTP connection (TR-069 §3.4)."""

    async def post(self, body: bytes) -> AcsReply:
        """POST `body` (b"" = the empty POST of §3.7.1.2) and return the ACS reply.

        Raises TransportError on connection, TLS, auth or timeout failure.
        """
        ...

    async def close(self) -> None:
        """End the session's connection (and forget its cookies)."""
        ...
