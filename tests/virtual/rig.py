"""An end-to-end rig on loopback: lab ACS ⇄ proxier ⇄ lab DM devices, all real sockets.

Devices are found through `description_urls` (no multicast), probed fast so outages show up
in a fraction of a second. The proxier can be stopped and started again on the same state
directory to test restarts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from proxier.api import Proxier
from proxier.config import Config, from_dict
from proxier.lab.server import LabServer
from proxier.labacs.client import LabAcsClient
from proxier.labacs.server import LabAcs, LabAcsConfig

CR = ("rig-cr", "rig-cr-secret")


class Rig:
    def __init__(self, acs: LabAcs, lab: LabServer, state: Path) -> None:
        self.own_cwmp = False
        self.acs_url = acs.url  # [acs] url of the proxier's config (an operator may change it)
        self.upnp: dict[str, Any] = {}  # extra [upnp] keys
        self.sections: dict[str, Any] = {}  # extra top-level sections ([dps], [privacy])
        self.acs = acs
        self.lab = lab
        self.state = state
        self.proxier: Proxier | None = None
        self.description_urls: list[str] | None = None  # default: the lab's, one per device
        self.client = LabAcsClient(acs.base_url, timeout=60)

    def config(self) -> Config:
        return from_dict(
            {
                "acs": {"url": self.acs_url, "periodic_inform_interval": 3600},
                "connection_request": {"port": 0, "username": CR[0], "password": CR[1]},
                "upnp": {
                    "description_urls": list(
                        self.lab.description_urls
                        if self.description_urls is None
                        else self.description_urls
                    ),
                    "probe_interval": 0.2,
                    "probe_failures": 2,
                    "action_timeout": 3.0,
                    **self.upnp,
                },
                "state": {"dir": str(self.state)},
                "api": {"enable": False},
                "proxier": {"cwmp": self.own_cwmp},
                "privacy": {"mode": "auto"},  # rigs proxy at once (default: approve)
                **self.sections,
            }
        )

    async def start_proxier(self) -> Proxier:
        self.proxier = Proxier(self.config())
        await self.proxier.start()
        return self.proxier

    async def stop_proxier(self) -> None:
        if self.proxier is not None:
            await self.proxier.stop()
            self.proxier = None

    async def devices(self, count: int, within: float = 20.0) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for _ in range(int(within / 0.1)):
            found = await self.client.devices()
            if len(found) >= count:
                return found
            await asyncio.sleep(0.1)
        raise AssertionError(f"only {len(found)} of {count} devices reached the ACS")

    async def informs(
        self, dev_id: str, *, after: int = 0, count: int = 1, wait: float = 20.0
    ) -> list[dict[str, Any]]:
        got = await self.acs.wait_informs(dev_id, after=after, count=count, wait=wait)
        assert len(got) >= count, f"expected {count} Inform(s) after #{after}, got {got}"
        return got

    async def inform_with(
        self, dev_id: str, code: str, *, after: int = 0, wait: float = 30.0
    ) -> dict[str, Any]:
        """The first Inform after #`after` carrying event `code` (whatever came before it)."""
        seen = after
        for _ in range(int(wait / 0.1)):
            for inform in self.acs.store.informs(dev_id, after=after):
                seen = max(seen, int(inform["id"]))
                if any(c == code for c, _ in inform["events"]):
                    return inform
            await asyncio.sleep(0.1)
        raise AssertionError(
            f"no Inform with {code!r} after #{after}: {self.acs.store.informs(dev_id, after=after)}"
        )

    async def transfer_complete(self, dev_id: str, key: str, wait: float = 20.0) -> dict[str, Any]:
        """The TransferComplete the CPE sent for CommandKey `key` (recorded just after the
        Inform that announced it)."""
        for _ in range(int(wait / 0.1)):
            for request in self.acs.store.cpe_requests(dev_id):
                body: Any = request["body"]
                if request["name"] == "TransferComplete" and body["commandKey"] == key:
                    return dict(body)
            await asyncio.sleep(0.1)
        raise AssertionError(f"no TransferComplete for {key!r}")

    def last_inform_id(self, dev_id: str) -> int:
        informs = self.acs.store.informs(dev_id)
        return int(informs[-1]["id"]) if informs else 0

    async def rpc(self, dev_id: str, task: dict[str, Any], wait: float = 30.0) -> dict[str, Any]:
        result = await self.client.run_task(dev_id, task, wait=wait)
        return result

    async def session(
        self, dev_id: str, tasks: list[dict[str, Any]], wait: float = 30.0
    ) -> list[dict[str, Any]]:
        """Queue `tasks` and run them all in ONE session (one Connection Request), in order,
        as an ACS with several pending tasks does. The virtual device accepts only so many
        Connection Requests a minute (TR-069 §3.2.2), so tests that need many RPCs batch."""
        ids = [
            int((await self.client.add_task(dev_id, task, connection_request=False))["id"])
            for task in tasks
        ]
        # If it does not get through (e.g. the proxier restarted on a new port and has not
        # told the ACS yet), the tasks wait for the device's next session.
        outcome = await self.client.connection_request(dev_id)
        done = [await self.client.task(dev_id, i, wait=wait) for i in ids]
        waiting = [t["args"] for t in done if t["status"] in ("pending", "sent")]
        assert not waiting, f"not run (Connection Request: {outcome}): {waiting}"
        return done

    def lab_device(self, dev_id: str) -> Any:
        serial = dev_id.rsplit("-", 1)[-1]
        for device in self.lab.devices:
            if device.serial_number == serial:
                return device
        raise KeyError(dev_id)


def events_of(inform: dict[str, Any]) -> set[tuple[str, str]]:
    return {(code, key) for code, key in inform["events"]}


@asynccontextmanager
async def rig(tmp_path: Path, devices: int = 1, **lab_options: Any) -> AsyncIterator[Rig]:
    acs_config = LabAcsConfig(port=0, cr_username=CR[0], cr_password=CR[1])
    async with LabAcs(acs_config) as acs, LabServer(devices, **lab_options) as lab:
        r = Rig(acs, lab, tmp_path / "state")
        try:
            yield r
        finally:
            await r.stop_proxier()
            await r.client.close()
