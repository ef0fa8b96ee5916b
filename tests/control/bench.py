"""A running proxier with its local API on, a lab ACS and lab devices (all loopback)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proxier.api import Proxier
from proxier.config import from_dict
from proxier.lab.server import LabServer
from proxier.labacs.client import LabAcsClient
from proxier.labacs.server import LabAcs, LabAcsConfig
from tests.ports import free_port

CR = ("ctl-cr", "ctl-cr-secret")


@dataclass
class Bench:
    acs: LabAcs
    lab: LabServer
    proxier: Proxier
    client: LabAcsClient
    config_file: Path

    @property
    def api_url(self) -> str:
        return self.proxier.local_api.urls[0]

    async def device_ids(self, count: int, within: float = 20.0) -> list[str]:
        found: list[dict[str, Any]] = []
        for _ in range(int(within / 0.1)):
            found = await self.client.devices()
            if len(found) >= count:
                return sorted(d["id"] for d in found)
            await asyncio.sleep(0.1)
        raise AssertionError(f"only {len(found)} of {count} devices reached the ACS")


def config_dict(state: Path, lab: LabServer, acs: LabAcs, **api: Any) -> dict[str, Any]:
    return {
        "acs": {"url": acs.url, "periodic_inform_interval": 3600},
        "connection_request": {"port": 0, "username": CR[0], "password": CR[1]},
        "upnp": {
            "description_urls": list(lab.description_urls),
            "probe_interval": 0.2,
            "probe_failures": 2,
            "action_timeout": 3.0,
        },
        "state": {"dir": str(state)},
        "privacy": {"mode": "auto"},  # proxied at once (default: approve)
        "api": {"port": free_port(), **api},
    }


def toml(data: dict[str, Any]) -> str:
    """Just enough TOML for these configs (tables of strings, numbers, lists, booleans)."""
    out = []
    for section, values in data.items():
        out.append(f"[{section}]")
        for key, value in values.items():
            if isinstance(value, bool):
                text = "true" if value else "false"
            elif isinstance(value, str):
                text = f'"{value}"'
            elif isinstance(value, list):
                text = "[" + ", ".join(f'"{v}"' for v in value) + "]"
            else:
                text = str(value)
            out.append(f"{key} = {text}")
    return "\n".join(out) + "\n"


@asynccontextmanager
async def bench(tmp_path: Path, devices: int = 1, **api: Any) -> AsyncIterator[Bench]:
    acs_config = LabAcsConfig(port=0, cr_username=CR[0], cr_password=CR[1])
    async with LabAcs(acs_config) as acs, LabServer(devices) as lab:
        data = config_dict(tmp_path / "state", lab, acs, **api)
        config_file = tmp_path / "proxier.toml"
        config_file.write_text(toml(data))
        async with (
            Proxier(from_dict(data)) as proxier,
            LabAcsClient(acs.base_url, timeout=30) as client,
        ):
            yield Bench(acs, lab, proxier, client, config_file)


async def cli(*args: str) -> tuple[int, str, str]:
    """`proxier ARGS…` as a user runs it (a real process)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "proxier",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()
