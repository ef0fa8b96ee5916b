"""`proxier run` as an operator meets it: real processes, real signals (issue 2, issue 11
"Start-up and lifecycle"). Every start-up failure is one line naming the key and the fix,
with a non-zero exit and no traceback; a running daemon logs started/stopping/stopped,
reloads on SIGHUP and refuses a second instance on the same state dir."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import urllib.request
from pathlib import Path

from tests.daemon_rig import background, lab, labacs, proxier, wait_for, write_config
from tests.ports import free_port


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return proxier(*args)


def one_line_failure(proc: subprocess.CompletedProcess[str], key: str) -> str:
    """Issue 11: one line naming the key, non-zero exit, no traceback."""
    assert proc.returncode != 0, proc
    assert "Traceback" not in proc.stderr
    # INFO log lines written before the failure (e.g. the serial number) are not failures.
    lines = [x for x in proc.stderr.splitlines() if x.strip() and not re.match(r"\d{4}-", x)]
    assert len(lines) == 1, proc.stderr
    assert key in lines[0], proc.stderr
    return lines[0]


def minimal(
    tmp_path: Path,
    *,
    name: str = "p.toml",
    acs: str = "http://127.0.0.1:7547/",
    urls: str = '["http://127.0.0.1:9/d.xml"]',
    upnp: str = "",
    state: Path | None = None,
    cr_port: int | None = None,
    api_port: int | None = None,
) -> Path:
    """A config on loopback with free ports; keyword arguments change one thing each."""
    cfg = tmp_path / name
    cfg.write_text(
        f"[acs]\nurl = '{acs}'\n[upnp]\ndescription_urls = {urls}\n{upnp}\n"
        f"[state]\ndir = '{state or tmp_path / 'state'}'\n"
        f"[connection_request]\nport = {cr_port or free_port()}\n"
        f"[api]\nport = {api_port or free_port()}\n"
        "[privacy]\nmode = 'auto'\n"
    )
    return cfg


def test_bad_config_exits_nonzero_naming_key(tmp_path: Path) -> None:
    cfg = tmp_path / "p.toml"
    cfg.write_text("[acs]\nurl = 'http://127.0.0.1:7547/'\n[connection_request]\nport = 99999\n")
    proc = run("run", "--config", str(cfg))
    assert proc.returncode == 2
    one_line_failure(proc, "connection_request.port")


def test_missing_config_file(tmp_path: Path) -> None:
    proc = run("run", "--config", str(tmp_path / "absent.toml"))
    assert proc.returncode == 2
    assert "cannot read" in one_line_failure(proc, "absent.toml")


def test_check_accepts_valid_config(tmp_path: Path) -> None:
    proc = run("run", "--config", str(minimal(tmp_path)), "--check")
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout


def test_check_refuses_config_without_discovery_source(tmp_path: Path) -> None:
    """Issue 11 `run --check`: at least one discovery source."""
    proc = run("run", "--config", str(minimal(tmp_path, urls="[]")), "--check")
    assert "no discovery source" in one_line_failure(proc, "upnp.interfaces")


def test_check_finds_port_in_use_and_equal_ports(tmp_path: Path) -> None:
    """Issue 11 `run --check`: ports free and distinct."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        cfg = minimal(tmp_path, cr_port=busy.getsockname()[1])
        proc = run("run", "--config", str(cfg), "--check")
        assert "already in use" in one_line_failure(proc, "connection_request.port")
        proc = run("run", "--config", str(cfg))  # the daemon refuses the same way
        assert "already in use" in one_line_failure(proc, "connection_request.port")
    port = free_port()
    proc = run("run", "--config", str(minimal(tmp_path, cr_port=port, api_port=port)), "--check")
    assert "same as connection_request.port" in one_line_failure(proc, "api.port")


def test_check_unwritable_state_dir_and_unreadable_cert(tmp_path: Path) -> None:
    """Issue 11 `run --check`: state dir creatable; certificate and key files readable."""
    blocker = tmp_path / "file"
    blocker.write_text("")
    cfg = minimal(tmp_path, state=blocker / "state")
    proc = run("run", "--config", str(cfg), "--check")
    assert "cannot create" in one_line_failure(proc, "state.dir")
    one_line_failure(run("run", "--config", str(cfg)), "state.dir")
    cert = tmp_path / "absent.pem"
    cfg = minimal(tmp_path, upnp=f"client_cert = '{cert}'\nclient_key = '{cert}'")
    proc = run("run", "--config", str(cfg), "--check")
    assert proc.returncode == 2  # a configured file that cannot be read is a config error
    assert "upnp.client_cert: cannot read" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_warns_remote_acs_with_loopback_cr_host_and_url_password(tmp_path: Path) -> None:
    """Issue 11: remote acs.url + loopback connection_request.host, and a password in the
    URL, are warnings (the config is still valid)."""
    cfg = minimal(tmp_path, acs="https://u:s3cr3t@acs.example/")
    proc = run("run", "--config", str(cfg), "--check")
    assert proc.returncode == 0, proc.stderr
    assert "warning: connection_request.host: is 127.0.0.1 but the ACS" in proc.stderr
    assert "warning: acs.url: carries a password" in proc.stderr
    assert "s3cr3t" not in proc.stderr + proc.stdout


def test_gateway_interfaces_without_allow_lan_multicast(tmp_path: Path) -> None:
    """Issue 11: the README's gateway config (`interfaces = ["br-lan"]`) on the host network
    is one line naming upnp.allow_lan_multicast, not a MulticastRefused traceback."""
    cfg = minimal(tmp_path, urls="[]", upnp="interfaces = ['lo']")
    proc = run("run", "--config", str(cfg))
    assert "allow_lan_multicast = true" in one_line_failure(proc, "upnp.allow_lan_multicast")


def test_stop_lines_on_sigterm_and_second_instance_refused(tmp_path: Path) -> None:
    """Issue 11: "started" (version, ACS without credentials, CR endpoint, API), a second
    instance on the same state dir refused with a clear message, "stopping"/"stopped" with
    the reason on SIGTERM, exit 0."""
    log = tmp_path / "err.log"
    cfg = minimal(tmp_path, acs="http://cpe:pw-one@127.0.0.1:7547/")
    with background("run", "--config", str(cfg), stderr=log) as first:
        text = wait_for(log, " started: ")
        started = next(x for x in text.splitlines() if " started: " in x)
        assert "proxier started: version 0.1.0, ACS http://cpe:***@127.0.0.1:7547/" in started
        assert "Connection Requests on 127.0.0.1:" in started
        assert "local API http://127.0.0.1:" in started
        second_cfg = minimal(tmp_path, name="second.toml")
        second = run("run", "--config", str(second_cfg))
        line = one_line_failure(second, "state.dir")
        assert f"another proxier (pid {first.pid}) already runs on" in line
        # Checking the running daemon's own config (before a reload) is not an error.
        again = run("run", "--config", str(cfg), "--check")
        assert again.returncode == 0, again.stderr
        assert f"state.dir: a proxier (pid {first.pid}) runs on it; ports not checked" in (
            again.stderr
        )
        first.send_signal(signal.SIGTERM)
        assert first.wait(20) == 0
    text = log.read_text()
    assert "stopping (SIGTERM)" in text and "stopped (SIGTERM)" in text
    assert "pw-one" not in text
    assert "Unclosed" not in text and "Traceback" not in text


def _devices(base: str) -> list[dict[str, object]]:
    with urllib.request.urlopen(base + "/devices", timeout=10) as resp:
        data: list[dict[str, object]] = json.load(resp)
        return data


def test_sighup_reload_sends_next_session_to_new_acs(tmp_path: Path) -> None:
    """Issue 11: SIGHUP applies a changed acs.url without dropping the virtual device (the
    next session, "0 BOOTSTRAP" for the new URL, goes to the new ACS) and a new log level
    (DEBUG wire lines appear); an invalid new config is refused and the running one kept;
    a removed description URL takes its device offline; restart-only keys are named."""
    log = tmp_path / "err.log"
    with lab(1) as urls, labacs() as first, labacs() as second:
        cfg = write_config(tmp_path / "p.toml", first + "/", urls, tmp_path / "state")
        with background("run", "--config", str(cfg), stderr=log) as daemon:
            wait_for(log, "session ok")
            (device,) = _devices(first)
            text = cfg.read_text().replace(first + "/", second + "/")
            cfg.write_text(text.replace('level = "info"', 'level = "debug"'))
            daemon.send_signal(signal.SIGHUP)
            mark = wait_for(log, "reloaded").index("reloaded")
            wait_for(log, "session ok", after=mark)
            assert [d["id"] for d in _devices(second)] == [device["id"]]
            text = log.read_text()
            assert text.count("new virtual device") == 1
            assert "events 0 BOOTSTRAP;" in text[mark:]
            assert f"CWMP → {second}/" in text[mark:]
            cfg.write_text("[acs\n")
            daemon.send_signal(signal.SIGHUP)
            wait_for(log, "the running config is kept")
            assert daemon.poll() is None
            cfg.write_text("[acs]\nurl = 'http://127.0.0.1:1/'\n[state]\ndir = '/elsewhere'\n")
            daemon.send_signal(signal.SIGHUP)
            wait_for(log, "state.dir changed but need a restart")
            wait_for(log, f"{device['id']}: offline")
            assert daemon.poll() is None
    assert "Traceback" not in log.read_text()


def test_damaged_state_file_is_one_line(tmp_path: Path) -> None:
    """Issue 11: a failure inside start-up (here a registry that is not sqlite) is one line
    naming state.dir, exit 1, no traceback, no unclosed-session noise."""
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "registry.sqlite").write_text("not a database, not at all\n")
    proc = run("run", "--config", str(minimal(tmp_path, state=state)))
    assert proc.returncode == 1
    line = one_line_failure(proc, "state.dir")
    assert "file is not a database" in line
