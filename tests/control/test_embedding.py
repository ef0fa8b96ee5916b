"""Issue 11 "Embedding": the public embedding API and examples/agent_plugin.py run as a
user would run it, against the lab ACS and a lab device over real sockets."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

import proxier
from proxier.lab.server import LabServer
from proxier.labacs.server import LabAcs, LabAcsConfig
from tests.control.bench import bench, cli

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agent_plugin.py"


def test_public_names() -> None:
    """Issue 11: `from proxier import Proxier, load_config, config_from_dict`."""
    from proxier import Proxier, config_from_dict, load_config
    from proxier.api import Proxier as ApiProxier
    from proxier.config import from_dict, load

    assert Proxier is ApiProxier and load_config is load and config_from_dict is from_dict
    assert {"Proxier", "load_config", "config_from_dict"} <= set(proxier.__all__)


async def test_agent_plugin_example_runs(tmp_path: Path) -> None:
    """Issue 11: examples/agent_plugin.py: callbacks (device added, online, session done),
    the async event stream (event raised), discovery sources set at run time, clean stop."""
    async with LabAcs(LabAcsConfig(port=0)) as acs, LabServer(1) as lab:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            str(EXAMPLE),
            "--acs",
            acs.url,
            "--device",
            lab.description_urls[0],
            "--state",
            str(tmp_path / "state"),
            "--timeout",
            "30",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out_b, err_b = await proc.communicate()
    out, err = out_b.decode(), err_b.decode()
    assert proc.returncode == 0, out + err
    dev_id = next(line.split()[-1] for line in out.splitlines() if "device added" in line)
    assert f"agent: {dev_id} online (first discovery)" in out
    assert f"agent: event raised '0 BOOTSTRAP' on {dev_id}" in out
    assert f"agent: session done for {dev_id}: ok" in out
    assert f"agent: table row 1: {dev_id} online" in out
    assert out.rstrip().endswith("agent: proxier stopped")
    assert "Traceback" not in err and "Unclosed" not in err, err


async def test_sources_change_at_run_time_and_callbacks_unsubscribe(tmp_path: Path) -> None:
    """Issue 11: change discovery sources at run time: a device whose only source is
    removed goes offline (its state kept); an unsubscribed callback hears nothing more."""
    async with bench(tmp_path) as b:
        (dev_id,) = await b.device_ids(1)
        heard: list[str] = []
        off = b.proxier.on(None, lambda a: heard.append(a.kind))
        offline = asyncio.Event()
        b.proxier.on("offline", lambda a: offline.set())
        await b.proxier.set_discovery(description_urls=())
        await asyncio.wait_for(offline.wait(), 10)
        assert b.proxier.config.upnp.description_urls == ()
        assert [d.online for d in b.proxier.devices()] == [False]
        assert "offline" in heard
        rc, out, err = await cli("status", "--config", str(b.config_file))
        assert rc == 0 and "state          offline (lease expired)" in out, out + err
        off()
        count = len(heard)
        back = asyncio.Event()
        b.proxier.on("online", lambda a: back.set())
        await b.proxier.set_discovery(description_urls=tuple(b.lab.description_urls))
        await asyncio.wait_for(back.wait(), 10)
        assert len(heard) == count
        assert [d.id for d in b.proxier.devices()] == [dev_id]


async def test_refused_sources_keep_the_old_ones(tmp_path: Path) -> None:
    """Issue 11 + network safety: a run-time change to SSDP interfaces in the host network
    namespace is refused (MulticastRefused) before anything stops; the sources that worked
    keep running."""
    from proxier.upnp.netns import MulticastRefused, in_private_netns

    if in_private_netns():
        pytest.skip("inside a private network namespace multicast is allowed: nothing to refuse")
    async with bench(tmp_path) as b:
        (dev_id,) = await b.device_ids(1)
        before = b.proxier.config.upnp
        with pytest.raises(MulticastRefused):
            await b.proxier.set_discovery(interfaces=("lo",))
        assert b.proxier.config.upnp == before
        assert b.proxier.discovery is not None and b.proxier.discovery.config.interfaces == ()
        await asyncio.sleep(1.0)  # several probe intervals: still found, still online
        assert [(d.id, d.online) for d in b.proxier.devices()] == [(dev_id, True)]
