"""The daemon's start and stop lines: what runs where, never a credential."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxier import __version__
from proxier.cwmp.connreq import format_host
from proxier.redact import redact_url

if TYPE_CHECKING:
    from proxier.api import Proxier


def started_line(proxier: Proxier) -> str:
    """`proxier started: version 0.1.0, ACS …, Connection Requests …, local API …, N
    device(s)` ("proxier started" is what scripts and tests wait for)."""
    cfg = proxier.config
    cr = cfg.connection_request
    api = " and ".join(proxier.local_api.urls) or "off"
    return (
        f"proxier started: version {__version__}, ACS {redact_url(cfg.acs.url)}, "
        f"Connection Requests on {format_host(cr.bind)}:{proxier.connreq.port} (URLs http://"
        f"{format_host(cr.host)}:{proxier.connreq.port}/…), local API {api}, "
        f"{len(proxier.registry)} known virtual device(s)"
    )
