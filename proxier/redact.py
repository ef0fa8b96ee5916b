"""The one place that keeps secrets out of what we print or log.

Credentials reach log lines in three shapes: userinfo in URLs (`http://user:pw@acs/`),
`key=value` text (`password=…`), and CWMP/UPnP XML whose parameter names say "Password" or
"Passphrase" (SetParameterValues, ManagementServer GPV answers). `redact()` handles the three;
the logging filter (proxier/logsetup.py) applies it to every record, and callers that build
user-visible text (start-up lines, `--check`) call it directly. `summarise()` turns a library
exception (aiohttp's object reprs run to hundreds of characters) into one short line.
"""

from __future__ import annotations

import os
import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"

#: scheme://user:password@host → scheme://user:***@host (also with no user part).
_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<user>[^/@:\s]*):[^/@\s]*@")
#: password=…, "password": "…", Password: … (query strings, JSON, headers, reprs).
_KEY_VALUE = re.compile(
    r"(?P<key>\b[\w.-]*(?:password|passphrase|passwd|secret|token)\b[\"']?\s*[:=]\s*[\"']?)"
    r"(?P<value>[^\"'\s&,;}<]+)",
    re.IGNORECASE,
)
#: <Name>…Password</Name><Value …>secret</Value> in a CWMP ParameterValueStruct.
_CWMP_VALUE = re.compile(
    r"(?P<head><Name>[^<]*(?:Password|Passphrase|Secret|PreSharedKey)</Name>\s*<Value[^>]*>)"
    r"(?P<value>[^<]*)(?=</Value>)",
    re.IGNORECASE,
)
#: <Password>secret</Password> and similar elements (UPnP action arguments).
_ELEMENT = re.compile(
    r"(?P<head><(?P<tag>[\w:]*(?:Password|Passphrase|Secret))>)(?P<value>[^<]*)(?=</(?P=tag)>)",
    re.IGNORECASE,
)
#: Authorization: Digest/Basic … header values.
_AUTH_HEADER = re.compile(r"(?P<key>\bAuthorization\s*[:=]\s*)(?P<value>[^\r\n]+)", re.I)


def redact_url(url: str) -> str:
    """The URL without its password (user kept: it helps, it is not the secret)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    user = parts.username or ""
    return urlunsplit((parts.scheme, f"{user}:{MASK}@{host}", parts.path, parts.query, ""))


def redact(text: str) -> str:
    """`text` with every credential shape above replaced by `***`."""
    if not text:
        return text
    text = _URL_USERINFO.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    text = _CWMP_VALUE.sub(lambda m: m["head"] + (MASK if m["value"] else ""), text)
    text = _ELEMENT.sub(lambda m: m["head"] + (MASK if m["value"] else ""), text)
    text = _AUTH_HEADER.sub(lambda m: m["key"] + MASK, text)
    return _KEY_VALUE.sub(lambda m: m["key"] + MASK, text)


def has_password(url: str) -> bool:
    """Does this URL carry a password in its userinfo (a `--check` warning)?"""
    try:
        return urlsplit(url).password is not None
    except ValueError:
        return False


def summarise(exc: BaseException, limit: int = 160) -> str:
    """One short line for a library exception: its class and first message line, redacted.

    aiohttp's ClientConnectorError repr embeds the whole ConnectionKey (≈380 characters);
    what an operator needs is "ClientConnectorError: cannot connect to 127.0.0.1:9 (refused)".
    """
    name = type(exc).__name__
    strerror = getattr(exc, "strerror", None)
    os_error = getattr(exc, "os_error", None)
    if os_error is not None and getattr(os_error, "errno", None):
        strerror = os.strerror(os_error.errno)
    host = getattr(exc, "host", None)
    port = getattr(exc, "port", None)
    if host is not None and strerror:
        text = f"cannot connect to {host}:{port} ({strerror})"
    elif strerror:
        text = str(strerror)
        filename = getattr(exc, "filename", None)
        if filename:
            text = f"{text}: {filename}"
    else:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    line = redact(f"{name}: {text}" if text else name)
    return line if len(line) <= limit else line[: limit - 1] + "…"
