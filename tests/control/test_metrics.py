"""Issue 11 "/metrics": Prometheus text format from a running proxier, parsed with the
library's own parser (what a Prometheus server reads)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.control.bench import bench


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def scrape(url: str, token: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(url, headers={"Authorization": f"Bearer {token}"}) as resp,
    ):
        assert resp.status == 200
        assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        return samples(await resp.text())


async def test_metrics_count_what_happened(tmp_path: Path) -> None:
    """Issue 11: sessions by result, faults by code (TR-069 A.5 9005 for a bad name),
    events by code, devices by state, Connection Requests by outcome, UPnP action latency
    histogram, pending events."""
    async with bench(tmp_path) as b:
        (dev_id,) = await b.device_ids(1)
        token = (tmp_path / "state" / "api-token").read_text().strip()
        url = b.api_url.removesuffix("/api/") + "/metrics"
        gpv = await b.client.run_task(
            dev_id,
            {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo.NoSuchThing"]},
            wait=20,
        )
        assert gpv["status"] == "fault", gpv
        got = await scrape(url, token)
        for _ in range(50):  # the session ends just after the ACS has its answer
            if got.get(("proxier_sessions_total", (("result", "ok"),)), 0) >= 2:
                break
            await asyncio.sleep(0.1)
            got = await scrape(url, token)
        assert got[("proxier_sessions_total", (("result", "ok"),))] >= 2
        assert got[("proxier_faults_total", (("code", "9005"),))] == 1
        assert got[("proxier_events_total", (("code", "0 BOOTSTRAP"),))] == 1
        assert got[("proxier_events_total", (("code", "6 CONNECTION REQUEST"),))] == 1
        assert got[("proxier_connection_requests_total", (("result", "accepted"),))] == 1
        assert got[("proxier_devices", (("state", "online"),))] == 1
        assert got[("proxier_devices", (("state", "offline"),))] == 0
        assert got[("proxier_pending_events", ())] == 0
        reads = [
            v
            for (name, labels), v in got.items()
            if name == "proxier_upnp_action_seconds_count" and ("result", "ok") in labels
        ]
        assert sum(reads) >= 1
        async with aiohttp.ClientSession() as session, session.get(url) as resp:
            assert resp.status == 401  # metrics need the token like the rest of the API
