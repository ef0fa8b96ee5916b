"""Log lines that peers cannot forge: control characters in logged values are escaped.

USNs, LOCATIONs, SERVER headers, friendly names, fault strings and URLs come from LAN
devices and ACSes. Written raw, a newline starts a fake log line and an ESC sequence rewrites
the operator's terminal. `escape` is the one helper that makes such a string printable on
one line; `get_logger` gives a module logger whose records pass every argument through it,
and `install` puts the same filter on the handlers a CLI sets up, so third-party loggers
(aiohttp, async-upnp-client) are covered in the real log output too.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Mapping
from typing import Any

#: Longest value `escape` keeps by default (characters, before escaping).
MAX_VALUE = 512
#: The filter's bound on one record argument: generous, so the DEBUG wire traces
#: (`proxier.wiretap`, up to 8 KiB on one line) stay whole, yet a record stays bounded.
MAX_ARG = 16 * 1024

# C0 controls (newline, CR, ESC …), DEL, C1 controls (CSI 0x9b, NEL 0x85 …), the Unicode
# line/paragraph separators and the bidirectional overrides (which reorder what is shown).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(value: object, limit: int = MAX_VALUE) -> str:
    """`value` as one printable, bounded line: controls become \\n, \\x1b, \\u2028 …"""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = f"{text[:limit]}…[{len(text) - limit} more]"
    return _UNSAFE.sub(_escape_char, text)


def _safe_arg(arg: object) -> object:
    # Numbers keep their type (for %d); everything else is what %s would print, escaped.
    if arg is None or isinstance(arg, int | float):
        return arg
    if isinstance(arg, bytes):
        return escape(repr(arg), MAX_ARG)
    return escape(arg, MAX_ARG)


def _exception_text(exc: BaseException, depth: int = 0) -> str:
    """A traceback as logging would print it, with each exception's message escaped: the
    message is where a peer's string ends up (the frames are our own source lines)."""
    head = ""
    if depth < 8 and exc.__cause__ is not None:
        head = _exception_text(exc.__cause__, depth + 1) + (
            "\n\nThe above exception was the direct cause of the following exception:\n\n"
        )
    elif depth < 8 and exc.__context__ is not None and not exc.__suppress_context__:
        head = _exception_text(exc.__context__, depth + 1) + (
            "\n\nDuring handling of the above exception, another exception occurred:\n\n"
        )
    frames = "".join(traceback.format_tb(exc.__traceback__))
    kind = type(exc).__qualname__
    module = type(exc).__module__
    name = kind if module in ("builtins", "__main__") else f"{module}.{kind}"
    message = escape(exc)
    return f"{head}Traceback (most recent call last):\n{frames}{name}" + (
        f": {message}" if message else ""
    )


class PeerSafeFilter(logging.Filter):
    """Escapes the message, every argument and the exception message of a record (never
    drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_peer_safe", False):
            return True
        record._peer_safe = True
        if not isinstance(record.msg, str) or _UNSAFE.search(record.msg):
            record.msg = escape(record.msg, MAX_ARG)
        args: Any = record.args
        if isinstance(args, Mapping):
            record.args = {key: _safe_arg(value) for key, value in args.items()}
        elif args:
            record.args = tuple(_safe_arg(arg) for arg in args)
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and not record.exc_text:
            record.exc_text = _exception_text(exc)
        return True


_FILTER = PeerSafeFilter()


def get_logger(name: str) -> logging.Logger:
    """`logging.getLogger(name)` whose records have their values escaped."""
    logger = logging.getLogger(name)
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)
    return logger


def protect(handler: logging.Handler) -> logging.Handler:
    """Put the filter on `handler`, so records of any logger it prints are escaped."""
    if _FILTER not in handler.filters:
        handler.addFilter(_FILTER)
    return handler


def install(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of `logger` (default: the root logger)."""
    for handler in (logger or logging.getLogger()).handlers:
        protect(handler)
