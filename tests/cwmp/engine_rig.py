"""One CWMP device (engine + in-memory Device:2 model + sqlite store) on a fake clock, for
tests that drive `CpeEngine` sessions against `ScriptedAcs`; and the kill -9 step those
tests share (a child process runs the engine until it prints its marker, then SIGKILL)."""

from __future__ import annotations

import asyncio
import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path

from proxier.cwmp.engine import CpeEngine, EngineConfig
from proxier.cwmp.memory import MemoryBackend, device2_backend
from proxier.cwmp.rpc import DeviceIdStruct, Inform
from proxier.cwmp.store import DeviceStore
from tests.cwmp.acs_peer import ScriptedAcs

DEVICE = DeviceIdStruct("Acme", "00D09E", "Lamp", "SN-1")
URL = "http://127.0.0.1:7547/acs"
T0 = 1_800_000_000.0
ROOT = Path(__file__).resolve().parents[2]

#: Start of a child script: the same device on the store file named by argv[1].
CHILD_PRELUDE = """
import asyncio, random, sys, time
from proxier.cwmp.engine import CpeEngine, EngineConfig
from proxier.cwmp.memory import device2_backend
from proxier.cwmp.rpc import DeviceIdStruct
from proxier.cwmp.store import DeviceStore
from tests.cwmp.acs_peer import ScriptedAcs

DEVICE = DeviceIdStruct("Acme", "00D09E", "Lamp", "SN-1")
URL = "http://127.0.0.1:7547/acs"
store = DeviceStore(sys.argv[1])
backend = device2_backend(DEVICE, acs_url=URL, persist=store)
engine = CpeEngine(backend, store, EngineConfig(DEVICE, URL), rng=random.Random(1))
"""


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def config(**kw: object) -> EngineConfig:
    return EngineConfig(DEVICE, URL, **kw)  # type: ignore[arg-type]


@dataclass
class Device:
    engine: CpeEngine
    backend: MemoryBackend
    store: DeviceStore
    clock: Clock
    path: Path

    async def session(self, acs: ScriptedAcs) -> Inform:
        result = await self.engine.run_session(acs)
        assert result.ok, result.reason
        await asyncio.sleep(0)  # let simulated transfers finish
        await asyncio.sleep(0)
        return acs.informs()[-1]

    def restart(self) -> Device:
        """A new process on the same store file (this one's store is closed)."""
        self.store.close()
        return make_device(self.path, self.clock, type(self))

    async def killed_in_child(self, script: str, marker: bytes) -> Device:
        """Run CHILD_PRELUDE + `script` on this device's store in another process until it
        prints `marker`, SIGKILL it there, and return the device restarted on what it left."""
        self.store.close()
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            CHILD_PRELUDE + script,
            str(self.path),
            stdout=asyncio.subprocess.PIPE,
            env=dict(os.environ, PYTHONPATH=str(ROOT)),
        )
        assert child.stdout is not None
        line = await asyncio.wait_for(child.stdout.readline(), 60)
        assert line.strip() == marker
        child.kill()  # SIGKILL
        await child.wait()
        return make_device(self.path, self.clock, type(self))


def make_device(path: Path, clock: Clock, kind: type[Device] = Device) -> Device:
    store = DeviceStore(path)
    backend = device2_backend(DEVICE, acs_url=URL, persist=store)
    engine = CpeEngine(backend, store, config(), clock=clock, rng=random.Random(1))
    return kind(engine, backend, store, clock, path)


def codes(inform: Inform) -> set[tuple[str, str]]:
    return {(e.event_code, e.command_key) for e in inform.event}
