"""Full-stack fixtures: CpeEngine + MemoryBackend + HttpAcsTransport + the Connection Request
server, against the lab ACS, all over loopback HTTP (no layer of ours is mocked)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from proxier.cwmp.connreq import ConnectionRequestServer
from proxier.cwmp.engine import CpeEngine, EngineConfig, SessionResult
from proxier.cwmp.http import HttpSettings, transport_factory
from proxier.cwmp.memory import MemoryBackend, device2_backend
from proxier.cwmp.rpc import DeviceIdStruct
from proxier.cwmp.runner import DeviceRunner
from proxier.cwmp.store import DeviceStore
from proxier.labacs.server import LabAcs, LabAcsConfig
from proxier.labacs.tasks import device_id

CPE_USER, CPE_PASSWORD = "00D09E-VirtualBox-0001", "cpe-secret"
CR_USER, CR_PASSWORD = "acs", "cr-secret"


@dataclass
class VirtualCpe:
    """One virtual device wired like the daemon wires it."""

    engine: CpeEngine
    runner: DeviceRunner
    store: DeviceStore
    backend: MemoryBackend
    crs: ConnectionRequestServer
    token: str
    results: list[SessionResult] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def id(self) -> str:
        return device_id(self.engine.config.device_id)

    @property
    def cr_url(self) -> str:
        return self.crs.url(self.token)

    def _on_session(self, result: SessionResult) -> None:
        self.results.append(result)
        self.changed.set()

    async def wait_sessions(self, count: int, wait: float = 20.0) -> list[SessionResult]:
        """Wait until `count` sessions have ended (ok or not)."""
        async with asyncio.timeout(wait):
            while len(self.results) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.results

    async def halt(self) -> None:
        """Stop the runner (its state stays in the store)."""
        await self.runner.stop()

    async def stop(self) -> None:
        await self.halt()
        self.crs.unregister(self.token)
        self.store.close()


def make_cpe(
    state: Path,
    acs_url: str,
    crs: ConnectionRequestServer,
    *,
    serial: str = "0001",
    username: str = CPE_USER,
    password: str = CPE_PASSWORD,
    template: HttpSettings | None = None,
    clock: Callable[[], float] | None = None,
    device: DeviceIdStruct | None = None,
    **config: Any,
) -> VirtualCpe:
    """Build (not start) a virtual device keeping its state in `state/`."""
    state.mkdir(parents=True, exist_ok=True, mode=0o700)
    ident = device or DeviceIdStruct("proxier lab", "00D09E", "VirtualBox", serial)
    store = DeviceStore(state / "cwmp.sqlite")
    backend = device2_backend(
        ident,
        acs_url=acs_url,
        acs_username=username,
        acs_password=password,
        connection_request_username=CR_USER,
        connection_request_password=CR_PASSWORD,
        persist=store,
    )
    engine_config = EngineConfig(
        device_id=ident,
        acs_url=acs_url,
        acs_username=username,
        acs_password=password,
        connection_request_username=CR_USER,
        connection_request_password=CR_PASSWORD,
        **config,
    )
    extra = {"clock": clock} if clock is not None else {}
    engine = CpeEngine(backend, store, engine_config, **extra)
    token_file = state / "cr-token"
    token = token_file.read_text() if token_file.exists() else None
    runner_box: list[DeviceRunner] = []
    token = crs.register(
        lambda: runner_box[0].connection_request(),
        engine.connection_request_credentials,
        token=token,
    )
    token_file.write_text(token)
    engine.set_connection_request_url(crs.url(token))
    factory = transport_factory(template)
    cpe_box: list[VirtualCpe] = []
    runner = DeviceRunner(
        engine, factory, on_session=lambda result: cpe_box[0]._on_session(result), **extra
    )
    runner_box.append(runner)
    cpe = VirtualCpe(engine, runner, store, backend, crs, token)
    cpe_box.append(cpe)
    return cpe


@asynccontextmanager
async def lab(
    tmp_path: Path, **acs_config: Any
) -> AsyncIterator[tuple[LabAcs, ConnectionRequestServer]]:
    """A lab ACS (auth on, CR credentials known) and a Connection Request server."""
    settings: dict[str, Any] = {
        "port": 0,
        "db": str(tmp_path / "labacs.sqlite"),
        "username": CPE_USER,
        "password": CPE_PASSWORD,
        "cr_username": CR_USER,
        "cr_password": CR_PASSWORD,
    }
    settings.update(acs_config)
    async with LabAcs(LabAcsConfig(**settings)) as acs, ConnectionRequestServer(port=0) as crs:
        yield acs, crs


@asynccontextmanager
async def running_cpe(
    tmp_path: Path, acs: LabAcs, crs: ConnectionRequestServer, **kw: Any
) -> AsyncIterator[VirtualCpe]:
    """A started virtual device that has finished its first (BOOTSTRAP) session."""
    cpe = make_cpe(tmp_path / "cpe", acs.url, crs, **kw)
    cpe.runner.start(booted=True)
    try:
        await cpe.wait_sessions(1)
        yield cpe
    finally:
        await cpe.stop()
