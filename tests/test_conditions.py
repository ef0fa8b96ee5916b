"""Repeated identical conditions are logged on change, not on every probe or retry
(issue 11 "Logs that help"): a real daemon whose ACS is down and whose second description
URL never answers, probed every 0.2 s; library errors come out as one short line."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

from tests.daemon_rig import background, lab, wait_for, write_config
from tests.ports import free_port


def test_acs_down_and_offline_url_logged_once(tmp_path: Path) -> None:
    log = tmp_path / "err.log"
    dead_acs = f"http://127.0.0.1:{free_port()}/"
    dead_url = f"http://127.0.0.1:{free_port()}/description.xml"
    with lab(1) as urls:
        cfg = write_config(tmp_path / "p.toml", dead_acs, [*urls, dead_url], tmp_path / "state")
        cfg.write_text(cfg.read_text().replace("probe_interval = 0.5", "probe_interval = 0.2"))
        with background("run", "--config", str(cfg), stderr=log) as daemon:
            wait_for(log, "ACS: sessions fail")
            time.sleep(3)  # ≈15 more probes of the dead URL
            daemon.send_signal(signal.SIGTERM)
            assert daemon.wait(20) == 0
    lines = log.read_text().splitlines()
    probe_lines = [x for x in lines if dead_url.split("//")[1] in x]
    assert len(probe_lines) == 1, probe_lines
    assert probe_lines[0].endswith(
        "failed: ClientConnectorError: cannot connect to 127.0.0.1:"
        + dead_url.split(":")[2].split("/")[0]
        + " (Connection refused)"
    )
    acs_lines = [x for x in lines if "ACS: " in x]
    assert len(acs_lines) == 1, acs_lines
    # One short line naming the cause, not aiohttp's ConnectionKey repr.
    assert re.search(r"cannot connect to 127\.0\.0\.1:\d+ \(Connection refused\)", acs_lines[0])
    assert "ConnectionKey" not in acs_lines[0] and len(acs_lines[0]) < 220
    assert "Traceback" not in "\n".join(lines)
