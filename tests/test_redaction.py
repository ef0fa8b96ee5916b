"""Secrets never reach logs or output (issue 11 "Logs that help", "Smaller fixes"): a real
daemon at DEBUG level, its ACS and CR credentials, a description URL with a password and a
SetParameterValues of ConnectionRequestPassword run end to end; then the daemon's log is
grepped for every secret. `labacs task --wait` shows the SPV password as `***` and exits
non-zero for a task that is not done."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from tests.daemon_rig import background, lab, labacs, proxier, wait_for, write_config

SECRETS = {
    "acs": "AcsSecret-1",
    "cr": "CrSecret-2",
    "url": "UrlSecret-3",
    "spv": "NewCrSecret-4",
}
CR_PASSWORD = "Device.ManagementServer.ConnectionRequestPassword"


def test_no_secret_in_debug_log_of_a_full_run(tmp_path: Path) -> None:
    log = tmp_path / "err.log"
    acs_args = ("--username", "cpe", "--password", SECRETS["acs"])
    cr_args = ("--cr-username", "acs", "--cr-password", SECRETS["cr"])
    with lab(1) as urls, labacs(*acs_args, *cr_args) as acs:
        secret_urls = [u.replace("http://", f"http://lab:{SECRETS['url']}@") for u in urls]
        cfg = write_config(
            tmp_path / "p.toml",
            acs + "/",
            secret_urls,
            tmp_path / "state",
            acs=f'username = "cpe"\npassword = "{SECRETS["acs"]}"',
            connection_request=f'username = "acs"\npassword = "{SECRETS["cr"]}"',
        )
        cfg.write_text(cfg.read_text().replace('level = "info"', 'level = "debug"'))
        with background("run", "--config", str(cfg), stderr=log) as daemon:
            wait_for(log, "session ok")
            dev = json.loads(proxier("labacs", "devices", "--url", acs).stdout)[0]["id"]
            spv = {
                "name": "SetParameterValues",
                "parameterList": [[CR_PASSWORD, SECRETS["spv"], "xsd:string"]],
                "parameterKey": "k1",
            }
            done = proxier("labacs", "task", dev, json.dumps(spv), "--wait", "30", "--url", acs)
            assert done.returncode == 0, done.stderr
            shown = json.loads(done.stdout)
            assert shown["status"] == "done"
            assert shown["args"]["parameterList"][0][1] == "***"
            # The next Connection Request authenticates with the new password (learnt by the ACS).
            gpv = {"name": "GetParameterValues", "parameterNames": [CR_PASSWORD]}
            again = proxier("labacs", "task", dev, json.dumps(gpv), "--wait", "30", "--url", acs)
            assert again.returncode == 0, again.stderr
            pending = proxier(
                "labacs",
                "task",
                dev,
                json.dumps(gpv),
                "--no-connection-request",
                "--wait",
                "0.5",
                "--url",
                acs,
            )
            assert pending.returncode == 1
            assert "still pending" in pending.stderr
            daemon.send_signal(signal.SIGTERM)
            daemon.wait(20)
    text = log.read_text()
    assert "CWMP → " in text and "CWMP ← " in text  # DEBUG shows SOAP both ways
    assert "SetParameterValues" in text and " ms" in text  # … and UPnP actions with latency
    assert "upnp.description_urls[0]: carries a password in the URL" in text
    assert 'ConnectionRequestPassword</Name><Value xsi:type="xsd:string">***<' in text
    for name, secret in SECRETS.items():
        assert secret not in text, name
    assert "Traceback" not in text
