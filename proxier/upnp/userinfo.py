"""Download credentials in an SMS URI (issue 12 #15), and keeping them out of logs.

TR-330 §4.7.1.1 step 3: the proxier calls SMS::Update "using the value of the URL argument of
the CWMP Download request as the NewDUURI input argument". SMS:2 Update has no credential
arguments (reference upnp-dm.md §4.2: DUID, NewDUURI, HandleDependencies) and the device has
no standard transfer-credential parameters, so the URI is the only place the Download's
Username/Password can go: its userinfo (RFC 3986 §3.2.1, `user:password@host`), which an
HTTP(S) client turns into Basic/Digest credentials for the file server. TR-069 A.3.2.8 keeps
userinfo out of the ACS's URL, so the proxier adds it here and nowhere else.

Refused (CWMP 9003 Invalid arguments): credentials userinfo cannot carry for an HTTP file
server: a ':' in the Username (RFC 7617: the user-id ends at the first colon) or a control
character in either (RFC 7617 forbids them). Schemes other than http(s) are refused before
this (9013).

Nothing here logs. `strip_userinfo` removes the userinfo of every URL in a text (a device's
error message or DUURI may echo the URI it was given) before it is logged or reported.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit, urlunsplit

#: RFC 3986 unreserved characters only; everything else percent-encoded.
_SAFE = ""
_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^/?#@\s]*@")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class CredentialsRefused(ValueError):
    """The credentials cannot be forwarded in the URI; the message says why (no secret)."""


def check_credentials(username: str, password: str) -> None:
    """Raise CredentialsRefused if the pair cannot go in an HTTP URI's userinfo."""
    if ":" in username:
        raise CredentialsRefused("a ':' in Username cannot be sent as HTTP credentials")
    if _CONTROL.search(username) or _CONTROL.search(password):
        raise CredentialsRefused("control characters in Username/Password")


def with_credentials(url: str, username: str, password: str) -> str:
    """`url` with `username:password@` as its userinfo (percent-encoded); `url` unchanged when
    both are empty. Call `check_credentials` first."""
    if not username and not password:
        return url
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    userinfo = quote(username, safe=_SAFE)
    if password:
        userinfo += ":" + quote(password, safe=_SAFE)
    return urlunsplit(parts._replace(netloc=f"{userinfo}@{host}"))


def strip_userinfo(text: str) -> str:
    """Every `scheme://userinfo@` in `text` without its userinfo."""
    return _USERINFO.sub(r"\1", text)
