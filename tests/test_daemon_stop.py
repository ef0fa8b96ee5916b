"""SIGTERM of a fleet (issue 11 "stopping/stopped", issue 13 scale): `proxier run` with a
few hundred lab devices stops in bounded time, even when every device hangs, and keeps its
state: an event the ACS has not confirmed yet is sent after the restart (TR-069 §3.7.1.5,
Table 7 retry rules), and nothing is bootstrapped twice.

Three real processes (`proxier labacs serve`, `proxier lab`, `proxier run`) on loopback.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.daemon_rig import PY, background, wait_for
from tests.ports import free_port

FLEET = 150
#: SIGTERM → exit, generous for a loaded 2-core machine: the UNSUBSCRIBEs get 0.5 s in all
#: (proxier/upnp/leaving.py); one after the other, to a hung lab, they took 10 s each.
STOP_BOUND = 6.0
EVENT = "X 00D0CA FleetStop"


def config(tmp_path: Path, acs_url: str, urls: list[str], api_port: int) -> Path:
    path = tmp_path / "fleet.toml"
    path.write_text(
        f'[acs]\nurl = "{acs_url}"\nperiodic_inform_interval = 3600\n'
        f"[connection_request]\nport = {free_port()}\n"
        f"[upnp]\ndescription_urls = {json.dumps(urls)}\nprobe_interval = 1800\n"
        f"max_devices = {FLEET}\nmax_new_devices_per_minute = {FLEET}\n"
        f'[state]\ndir = "{tmp_path / "state"}"\n'
        f"[api]\nport = {api_port}\n"
        '[log]\nlevel = "info"\n'
        '[privacy]\nmode = "auto"\n'
    )
    return path


def acs_devices(acs: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{acs}/devices", timeout=10) as r:
        found: list[dict[str, Any]] = json.load(r)
        return found


def acs_informs(acs: str, dev_id: str) -> list[dict[str, Any]]:
    url = f"{acs}/devices/{quote(dev_id, safe='')}/informs?after=0"
    with urllib.request.urlopen(url, timeout=10) as r:
        found: list[dict[str, Any]] = json.load(r)
        return found


def api(tmp_path: Path, port: int, path: str, body: dict[str, Any] | None = None) -> Any:
    token = (tmp_path / "state" / "api-token").read_text().strip()
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as r:
        return json.load(r)


def failed(tmp_path: Path, port: int, dev_id: str) -> bool:
    """A session of `dev_id` failed (the ACS is gone: its event stays undelivered)."""
    path = f"/api/sessions?device={quote(dev_id, safe='')}&since=0"
    sessions = api(tmp_path, port, path)
    return any(not s["ok"] for s in sessions)


def until(check: Any, within: float, what: str) -> Any:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.5)
    raise AssertionError(f"not within {within} s: {what}")


def start_acs(port: int) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [PY, "-m", "proxier", "labacs", "serve", "--port", str(port), "--db", ":memory:"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None and "CWMP" in proc.stdout.readline()
    return proc


def sigterm(proc: subprocess.Popen[str]) -> float:
    """SIGTERM → exit, in seconds; the exit status must be 0."""
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    return time.monotonic() - start


def clean_stop(log: Path) -> str:
    text = log.read_text()
    assert "stopping (SIGTERM)" in text and "stopped (SIGTERM)" in text
    assert " ERROR " not in text and "Traceback" not in text
    return text


def test_fleet_stops_in_bounded_time_and_keeps_undelivered_events_uda_4_1_3(
    tmp_path: Path,
) -> None:
    """Issue 11 (stopping/stopped on SIGTERM, exit 0) with a fleet: the stop is bounded even
    when every device hangs (UDA §4.1.3: expiry is the fallback for a subscription not
    cancelled), and after the restart an event the ACS never confirmed is delivered while
    no device is bootstrapped again (state intact)."""
    acs_port, api_port = free_port(), free_port()
    acs_url = f"http://127.0.0.1:{acs_port}"
    log = tmp_path / "run.log"
    with background("lab", "--devices", str(FLEET)) as lab:
        assert lab.stdout is not None
        urls = [lab.stdout.readline().strip() for _ in range(FLEET)]
        cfg = config(tmp_path, acs_url + "/", urls, api_port)
        acs = start_acs(acs_port)
        try:
            with background("run", "--config", str(cfg), stderr=log) as daemon:
                until(lambda: len(acs_devices(acs_url)) == FLEET, 120, "the fleet bootstrapped")
                ids = [d["id"] for d in api(tmp_path, api_port, "/api/devices")][:3]
                acs.send_signal(signal.SIGTERM)  # the ACS goes away ...
                acs.wait(20)
                for dev_id in ids:  # ... so these events stay undelivered
                    path = f"/api/devices/{quote(dev_id, safe='')}/inform"
                    api(tmp_path, api_port, path, {"event": EVENT})
                for dev_id in ids:
                    until(lambda d=dev_id: failed(tmp_path, api_port, d), 30, "a failed session")
                os.kill(lab.pid, signal.SIGSTOP)  # every device hangs: UNSUBSCRIBE unanswered
                try:
                    hung = sigterm(daemon)
                finally:
                    os.kill(lab.pid, signal.SIGCONT)
            text = clean_stop(log)
            assert hung <= STOP_BOUND, f"{FLEET} hung devices: SIGTERM → exit {hung:.2f} s"
            assert "UNSUBSCRIBEs sent within 0.5 s" in text  # the rest expire (logged)
            acs = start_acs(acs_port)  # a fresh lab ACS on the same URL
            log = tmp_path / "again.log"
            with background("run", "--config", str(cfg), stderr=log) as daemon:
                wait_for(log, " started: ")
                seen = until(
                    lambda: (d := acs_devices(acs_url)) and len(d) >= 3 and d,
                    60,
                    "the 3 devices with an undelivered event informed",
                )
                informs = [i for d in seen for i in acs_informs(acs_url, d["id"])]
                codes = [code for i in informs for code, _ in i["events"]]
                assert codes.count(EVENT) == 3, codes
                assert "0 BOOTSTRAP" not in codes and "1 BOOT" not in codes, codes
                health = until(
                    lambda: (h := api(tmp_path, api_port, "/api/health"))["online"] == FLEET and h,
                    60,
                    "the fleet online again",
                )
                assert health["devices"] == FLEET
                took = sigterm(daemon)
            clean_stop(log)
            assert took <= STOP_BOUND, f"{FLEET} devices: SIGTERM → exit {took:.2f} s"
        finally:
            if acs.poll() is None:
                acs.send_signal(signal.SIGTERM)
                acs.wait(20)
