"""systemd's notify protocol against a fake NOTIFY_SOCKET (issue 11 "Deployment"): a real
`proxier run` under `Type=notify` says READY=1 once started, RELOADING=1 then READY=1 around
a SIGHUP reload, and STOPPING=1 on SIGTERM; and the shipped unit uses it."""

from __future__ import annotations

import configparser
import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from proxier import sdnotify
from tests.daemon_rig import wait_for
from tests.ports import free_port

UNIT = Path(__file__).resolve().parents[1] / "contrib" / "systemd" / "proxier.service"


def _receive(sock: socket.socket, want: str, timeout: float = 30.0) -> list[str]:
    """Datagrams until one carries `want`; each datagram as its text."""
    sock.settimeout(timeout)
    seen = []
    while True:
        data = sock.recv(4096).decode()
        seen.append(data)
        if want in data.splitlines():
            return seen


def test_notify_ready_reloading_stopping(tmp_path: Path) -> None:
    """sd_notify(3): READY=1 after start, RELOADING=1 (with MONOTONIC_USEC) and READY=1 on
    SIGHUP, STOPPING=1 on SIGTERM; one datagram per state."""
    path = tmp_path / "notify.sock"
    cfg = tmp_path / "p.toml"
    cfg.write_text(
        "[acs]\nurl = 'http://127.0.0.1:9/'\n[upnp]\ndescription_urls = ['http://127.0.0.1:9/']\n"
        f"[state]\ndir = '{tmp_path / 'state'}'\n[connection_request]\nport = {free_port()}\n"
        f"[api]\nport = {free_port()}\n"
    )
    log = tmp_path / "err.log"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock, open(log, "w") as err:
        sock.bind(str(path))
        env = {**os.environ, "NOTIFY_SOCKET": str(path)}
        proc = subprocess.Popen(
            [sys.executable, "-m", "proxier", "run", "--config", str(cfg)], env=env, stderr=err
        )
        try:
            first = _receive(sock, "READY=1")
            assert first[-1].startswith("READY=1")
            proc.send_signal(signal.SIGHUP)
            (reloading,) = _receive(sock, "RELOADING=1")
            assert any(x.startswith("MONOTONIC_USEC=") for x in reloading.splitlines())
            _receive(sock, "READY=1")
            wait_for(log, "reloaded")
            proc.send_signal(signal.SIGTERM)
            assert _receive(sock, "STOPPING=1") == ["STOPPING=1"]
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_notify_without_socket_and_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not under systemd: nothing is sent. An abstract "@name" socket works too."""
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.ready() is False
    name = f"proxier-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert sdnotify.stopping() is True
        assert sock.recv(100) == b"STOPPING=1"


def test_shipped_unit_is_type_notify_hardened_with_reload() -> None:
    """contrib/systemd/proxier.service: Type=notify, ExecReload as SIGHUP, StateDirectory and
    the hardening options the issue names; `systemd-analyze verify` finds nothing else wrong
    where it is installed."""
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(UNIT)
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["StateDirectory"] == "proxier"
    for key in ("ProtectSystem", "NoNewPrivileges", "ProtectHome", "PrivateTmp"):
        assert service[key] in ("yes", "strict"), key
    analyze = shutil.which("systemd-analyze")
    if analyze:
        out = subprocess.run(
            [analyze, "verify", str(UNIT)], capture_output=True, text=True, timeout=60
        )
        problems = [
            line
            for line in (out.stdout + out.stderr).splitlines()
            if line.strip() and "is not executable" not in line
        ]
        assert problems == []
