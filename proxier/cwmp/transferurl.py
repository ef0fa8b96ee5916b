"""The file URL of a Download/Upload as the CPE first reads it (TR-069 A.3.2.8, A.4.1.5).

urllib raises ValueError for URLs it cannot split ("http://[::1/f", a port past 65535); from
an ACS that is a bad argument (9003), never an internal error with a traceback.
"""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

from proxier.cwmp.rpc import CwmpFaultError


def split_transfer_url(url: str) -> SplitResult:
    """`urlsplit(url)`, or CwmpFaultError 9003 when the URL is not well-formed."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise CwmpFaultError(9003, "Invalid arguments: the file URL is not well-formed") from None
    return parts
