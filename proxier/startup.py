"""The daemon's start and stop lines: what runs where, never a credential."""

from __future__ import annotations

from typing import TYPE_CHECKING

from proxier import __version__
from proxier.cwmp.connreq import format_host
from proxier.redact import redact_url

if TYPE_CHECKING:
    from proxier.api import Proxier


def started_line(proxier: Proxier) -> str:
    """`proxier 0.1.0 started: ACS …, Connection Requests …, local API …, N device(s)`."""
    cfg = proxier.config
    cr = cfg.connection_request
    if cfg.api.enable:
        api = f"http://{format_host(cfg.api.bind)}:{proxier.local_api.port}/api/"
    else:
        api = "off"
    return (
        f"proxier {__version__} started: ACS {redact_url(cfg.acs.url)}, Connection Requests "
        f"on {format_host(cr.bind)}:{proxier.connreq.port} (URLs http://"
        f"{format_host(cr.host)}:{proxier.connreq.port}/…), local API {api}, "
        f"{len(proxier.registry)} known virtual device(s)"
    )
