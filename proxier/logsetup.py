"""Logging for the daemon: `log.level`, `log.format = text|json`, `log.target = stderr|syslog`.

Every formatter here passes its output through `proxier.redact.redact`, so no handler we
install can print a credential, whatever a module logs. journald reads stderr (text);
`syslog` writes RFC 3164 lines to /dev/log for OpenWrt's logd and classic syslog daemons.
`Condition` keeps repeated identical conditions (an offline device, the ACS down) to one line
on change plus a periodic reminder.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Callable

from proxier.logsafe import protect
from proxier.redact import redact

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
SYSLOG_SOCKET = "/dev/log"
LOG_FORMATS = ("text", "json")
LOG_TARGETS = ("stderr", "syslog")

#: Handlers we installed (replaced on reload, never the embedding application's own).
_OURS: list[logging.Handler] = []


class RedactingFormatter(logging.Formatter):
    """The standard text line, credentials masked (message, arguments and traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message (+ exception), redacted."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        if record.exc_info:
            out["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False)


def make_handler(fmt: str, target: str, socket_path: str = SYSLOG_SOCKET) -> logging.Handler:
    """The handler for one format/target pair; OSError if the syslog socket is missing."""
    handler: logging.Handler
    if target == "syslog":
        if not os.path.exists(socket_path):
            raise OSError(f"no syslog socket at {socket_path}")
        handler = logging.handlers.SysLogHandler(address=socket_path)
        text = "proxier[%(process)d]: %(levelname)s %(name)s: %(message)s"
        handler.setFormatter(JsonFormatter() if fmt == "json" else RedactingFormatter(text))
        return protect(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else RedactingFormatter(TEXT_FORMAT))
    return protect(handler)  # peers' strings escaped in every record, third-party ones too


def setup_logging(level: str, fmt: str = "text", target: str = "stderr") -> None:
    """(Re)configure the root logger: our one handler, the level; called again on SIGHUP."""
    handler = make_handler(fmt, target)
    root = logging.getLogger()
    for old in _OURS:
        root.removeHandler(old)
        old.close()
    _OURS[:] = [handler]
    root.addHandler(handler)
    root.setLevel(getattr(logging, level.upper()))
    # aiohttp's access log repeats what our own lines say, one line per request.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


class Condition:
    """Log a repeated condition once when it starts or changes, then every `remind` seconds.

    `report(state)` with a text means "the condition holds, described so"; `report(None)`
    means it cleared (logged once at INFO if it had been reported).
    """

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        *,
        remind: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._log = logger
        self._what = what
        self._remind = remind
        self._clock = clock
        self._state: str | None = None
        self._since = 0.0
        self._last = 0.0
        self._count = 0

    def report(self, state: str | None, level: int = logging.WARNING) -> None:
        now = self._clock()
        if state is None:
            if self._state is not None:
                self._log.info("%s: back to normal after %.0f s", self._what, now - self._since)
            self._state = None
            return
        if state != self._state:
            self._state, self._since, self._last, self._count = state, now, now, 1
            self._log.log(level, "%s: %s", self._what, state)
            return
        self._count += 1
        if now - self._last >= self._remind:
            self._last = now
            self._log.log(
                level,
                "%s: still %s (%d times in %.0f s)",
                self._what,
                state,
                self._count,
                now - self._since,
            )
