"""Logging options and repeated conditions (issue 11: `log.format = "text" | "json"`,
`log.target`; "repeated identical conditions are logged on change, plus a periodic
reminder")."""

from __future__ import annotations

import json
import logging
import signal
import socket
from pathlib import Path

import pytest

from proxier.logsetup import Condition, JsonFormatter, RedactingFormatter, make_handler


def _record(msg: str, *args: object) -> logging.LogRecord:
    return logging.LogRecord("proxier", logging.INFO, __file__, 1, msg, args, None)


def test_json_format_one_object_per_line_redacted() -> None:
    line = JsonFormatter().format(_record("session to %s", "http://u:pw@acs/"))
    data = json.loads(line)
    assert data["level"] == "info" and data["logger"] == "proxier"
    assert data["message"] == "session to http://u:***@acs/"


def test_text_format_redacts_arguments() -> None:
    line = RedactingFormatter("%(message)s").format(_record("password=%s", "hunter2"))
    assert line == "password=***"


def test_syslog_target_without_socket_is_an_error(tmp_path: object) -> None:
    with pytest.raises(OSError, match="no syslog socket"):
        make_handler("text", "syslog", socket_path="/nonexistent/dev-log")


def test_condition_logged_on_change_and_reminded(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    cond = Condition(logging.getLogger("proxier.t"), "ACS", remind=600, clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="proxier.t"):
        for t in range(0, 600, 30):  # every 30 s for 10 minutes: one line, not twenty
            now[0] = float(t)
            cond.report("unreachable")
        assert [r.getMessage() for r in caplog.records] == ["ACS: unreachable"]
        now[0] = 600.0
        cond.report("unreachable")
        now[0] = 610.0
        cond.report("HTTP 500")
        cond.report(None)
    assert [r.getMessage() for r in caplog.records] == [
        "ACS: unreachable",
        "ACS: still unreachable (21 times in 600 s)",
        "ACS: HTTP 500",
        "ACS: back to normal after 0 s",
    ]


def test_syslog_target_sends_redacted_lines(tmp_path: Path) -> None:
    """`log.target = "syslog"`: RFC 3164 datagrams to the syslog socket, credentials masked."""
    path = tmp_path / "log.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        handler = make_handler("text", "syslog", socket_path=str(path))
        try:
            handler.emit(_record("ACS %s", "http://u:hunter2@acs/"))
        finally:
            handler.close()
        server.settimeout(5)
        data = server.recv(4096).decode()
    assert data.startswith("<14>proxier[")  # facility user, severity info
    assert data.rstrip("\x00").endswith("INFO proxier: ACS http://u:***@acs/")


def test_daemon_json_lines(tmp_path: Path) -> None:
    """`log.format = "json"` for a real `proxier run`: every stderr line is one JSON object."""
    from tests.daemon_rig import background, wait_for, write_config

    cfg = write_config(
        tmp_path / "p.toml",
        "http://127.0.0.1:9/",
        ["http://127.0.0.1:9/d.xml"],
        tmp_path / "state",
        log='format = "json"',
    )
    log = tmp_path / "err.log"
    with background("run", "--config", str(cfg), stderr=log) as daemon:
        wait_for(log, " started: ")
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(20) == 0
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records[-1]["message"] == "stopped (SIGTERM)"
    assert {r["level"] for r in records} <= {"info", "warning"}
