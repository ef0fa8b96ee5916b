"""A TR-064 Virtual CWMP Device wired like a DM one, against the lab ACS over loopback:
lab TR-064 device ⇄ Tr064Client ⇄ Tr064Backend (+ the mounted ManagementServer) ⇄
CpeEngine ⇄ HttpAcsTransport ⇄ LabAcs, with the Connection Request server. Nothing of ours
is mocked. A small file server hosts firmware images (GET) and takes uploads (PUT)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from proxier.cwmp.connreq import ConnectionRequestServer
from proxier.cwmp.engine import CpeEngine, EngineConfig
from proxier.cwmp.http import transport_factory
from proxier.cwmp.memory import MemoryBackend, add_management_server
from proxier.cwmp.mount import MountedBackend
from proxier.cwmp.rpc import DeviceIdStruct
from proxier.cwmp.runner import DeviceRunner
from proxier.cwmp.store import DeviceStore
from proxier.lab.tr064.server import Tr064LabServer
from proxier.labacs.server import LabAcs
from proxier.labacs.tasks import device_id
from proxier.tr064.backend import Tr064Backend
from proxier.tr064.client import Login, Tr064Client
from tests.integration.harness import CPE_PASSWORD, CPE_USER, CR_PASSWORD, CR_USER, lab

PASSWORD = "lab-secret"


@dataclass
class Files:
    """GET /files/{name} serves `images`; PUT /upload/{name} lands in `uploads`."""

    base: str = ""
    images: dict[str, bytes] = field(default_factory=dict)
    uploads: dict[str, bytes] = field(default_factory=dict)


@dataclass
class Rig:
    acs: LabAcs
    crs: ConnectionRequestServer
    lab: Tr064LabServer
    client: Tr064Client
    backend: Tr064Backend
    engine: CpeEngine
    runner: DeviceRunner
    files: Files
    session: aiohttp.ClientSession

    @property
    def id(self) -> str:
        return device_id(self.engine.config.device_id)

    async def run(self, task: dict[str, Any], wait: float = 20.0) -> dict[str, Any]:
        """Queue a task between sessions (the lab ACS sends a Connection Request), wait."""
        await self.acs.wait_for(lambda: not self.acs.in_session(self.id), wait)
        queued = await self.acs.queue_task(self.id, task)
        assert queued["connectionRequest"] == "ok", queued
        done = await self.acs.wait_task(self.id, queued["id"], wait)
        assert done is not None and done["status"] in ("done", "fault"), done
        return done

    async def lab_state(self) -> dict[str, Any]:
        url = self.lab.description_urls[0].replace("/tr64desc.xml", "/_lab/state")
        async with self.session.get(url) as response:
            state: dict[str, Any] = await response.json()
            return state

    async def lab_post(self, what: str, body: dict[str, Any]) -> None:
        url = self.lab.description_urls[0].replace("/tr64desc.xml", f"/_lab/{what}")
        async with self.session.post(url, json=body) as response:
            assert response.status == 200

    def informs(self) -> list[dict[str, Any]]:
        return list(self.acs.store.informs(self.id))


@asynccontextmanager
async def files_server() -> AsyncIterator[Files]:
    files = Files()

    async def get(request: web.Request) -> web.Response:
        data = files.images.get(request.match_info["name"])
        return web.Response(body=data) if data is not None else web.Response(status=404)

    async def put(request: web.Request) -> web.Response:
        files.uploads[request.match_info["name"]] = await request.read()
        return web.Response(status=201)

    app = web.Application()
    app.router.add_get("/files/{name}", get)
    app.router.add_put("/upload/{name}", put)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    files.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield files
    finally:
        await runner.cleanup()


@asynccontextmanager
async def tr064_rig(
    tmp_path: Path, *, auth: str = "auto", user: str = "admin", password: str = PASSWORD
) -> AsyncIterator[Rig]:
    """A started TR-064 virtual device that has finished its first (BOOTSTRAP) session."""
    async with (
        lab(tmp_path) as (acs, crs),
        Tr064LabServer(1, password=PASSWORD, reboot_delay=0.5) as tr064,
        files_server() as files,
        aiohttp.ClientSession() as session,
    ):
        client = Tr064Client(session, tr064.description_urls[0], Login(user, password, auth))
        desc = await client.attach()
        state = tmp_path / "cpe"
        state.mkdir(mode=0o700)
        store = DeviceStore(state / "cwmp.sqlite")
        ident = DeviceIdStruct(desc.manufacturer, desc.oui, desc.model_name, desc.mac)
        ms = MemoryBackend(store, persist_key="management_server")
        add_management_server(
            ms,
            acs_url=acs.url,
            acs_username=CPE_USER,
            acs_password=CPE_PASSWORD,
            connection_request_username=CR_USER,
            connection_request_password=CR_PASSWORD,
        )
        engine_box: list[CpeEngine] = []
        backend = Tr064Backend(
            client,
            session,
            store=store,
            on_return=lambda reset: engine_box[0].device_booted(),
            poll_interval=0.2,
            transfer_timeout=15.0,
        )
        config = EngineConfig(
            device_id=ident,
            acs_url=acs.url,
            acs_username=CPE_USER,
            acs_password=CPE_PASSWORD,
            connection_request_username=CR_USER,
            connection_request_password=CR_PASSWORD,
        )
        engine = CpeEngine(MountedBackend(backend, {"Device.ManagementServer.": ms}), store, config)
        engine_box.append(engine)
        runner_box: list[DeviceRunner] = []
        token = crs.register(
            lambda: runner_box[0].connection_request(), engine.connection_request_credentials
        )
        engine.set_connection_request_url(crs.url(token))
        runner = DeviceRunner(engine, transport_factory(None))
        runner_box.append(runner)
        rig = Rig(acs, crs, tr064, client, backend, engine, runner, files, session)
        runner.start(booted=True)
        try:
            await acs.wait_for(
                lambda: acs.store.sessions(rig.id) and not acs.in_session(rig.id), 20.0
            )
            yield rig
        finally:
            await runner.stop()
            await backend.close()
            crs.unregister(token)
            store.close()
