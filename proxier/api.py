"""The embedding API: one `Proxier` object per process, no globals.

A CPE agent (or `proxier run`) creates a Proxier from a Config, starts it inside its own event
loop, and reads the VirtualDevice table and the proxier's own data model from it. One process
serves every proxied device: one discovery, one GENA callback server, one Connection Request
server, one aiohttp session, one event loop.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable
from typing import Any

import aiohttp

from proxier.config import Config
from proxier.cwmp.connreq import ConnectionRequestServer
from proxier.cwmp.engine import SessionResult
from proxier.cwmp.http import HttpSettings, make_ssl_context, transport_factory
from proxier.cwmp.limit import limited
from proxier.cwmp.rate import SessionPacer
from proxier.cwmp.rpc import ParameterValueStruct
from proxier.fdlimit import raise_nofile
from proxier.localapi import LocalApi
from proxier.upnp.client import SoapTransport
from proxier.upnp.discovery import Discovery, discovery_config
from proxier.upnp.gena import GenaManager
from proxier.virtual.device import Shared, VirtualDevice
from proxier.virtual.manager import VirtualDeviceManager
from proxier.virtual.own import OwnDevice
from proxier.virtual.registry import Registry

log = logging.getLogger("proxier")


def acs_ssl_context(config: Config) -> ssl.SSLContext:
    """Verifying by default; only an explicit `acs.verify_tls = false` turns it off."""
    if config.acs.verify_tls:
        return make_ssl_context(config.acs.ca_file or None)
    log.warning("TLS verification of the ACS is OFF (acs.verify_tls = false)")
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class Proxier:
    """Discovers UPnP DM devices and runs one Virtual CWMP Device for each."""

    def __init__(
        self,
        config: Config,
        *,
        clock: Callable[[], float] = time.time,
        on_session: Callable[[VirtualDevice, SessionResult], None] | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.registry = Registry(config.state.dir)
        self.local_api = LocalApi(self.virtual_devices, self.parameters)
        self._on_session = on_session
        self._session: aiohttp.ClientSession | None = None
        self.connreq = ConnectionRequestServer(
            bind=config.connection_request.bind,
            port=config.connection_request.port,
            host=config.connection_request.host,
        )
        self.gena: GenaManager | None = None
        self.discovery: Discovery | None = None
        self.manager: VirtualDeviceManager | None = None
        self.own: OwnDevice | None = None
        self._watch: asyncio.Task[None] | None = None

    async def start(self) -> None:
        cfg = self.config
        raise_nofile(max(len(self.registry), len(cfg.upnp.description_urls)), what="devices")
        self._session = aiohttp.ClientSession()
        await self.connreq.start()
        self.gena = GenaManager(self._session, host=self._gena_host())
        await self.gena.start()
        template = HttpSettings(url=cfg.acs.url, ca_file=cfg.acs.ca_file or None)
        factory = transport_factory(template, ssl_context=acs_ssl_context(cfg))
        shared = Shared(
            config=cfg,
            registry=self.registry,
            connreq=self.connreq,
            gena=self.gena,
            transport_factory=limited(
                factory,
                asyncio.Semaphore(cfg.acs.max_parallel_sessions),
                SessionPacer(cfg.acs.session_rate) if cfg.acs.session_rate else None,
            ),
            clock=self.clock,
            on_session=self._session_done,
        )
        soap = SoapTransport(self._session, timeout=cfg.upnp.action_timeout)
        self.manager = VirtualDeviceManager(shared, self._session, soap)
        self.manager.restore()
        if cfg.proxier.cwmp:
            self.own = OwnDevice(cfg, self.registry, self.connreq, shared.transport_factory)
            self.own.start()
            self._watch = asyncio.get_running_loop().create_task(self._watch_table())
        self.discovery = Discovery(
            discovery_config(cfg.upnp),
            self.manager.on_discovery,
            session=self._session,
        )
        await self.discovery.start()
        if cfg.api.enable:
            await self.local_api.start(cfg.api.bind, cfg.api.port)
            log.info("local API on http://%s:%d/api/", cfg.api.bind, self.local_api.port)
        log.info(
            "proxier started: ACS %s, connection requests on %s:%d, %d known virtual device(s)",
            cfg.acs.url,
            cfg.connection_request.bind,
            self.connreq.port,
            len(self.registry),
        )

    async def _watch_table(self) -> None:
        """Tell the proxier's own model when the VirtualDevice table changed (§4.3.1)."""
        assert self.manager is not None
        while True:
            await self.manager.changed.wait()
            self.manager.changed.clear()
            if self.own is not None:
                self.own.table_changed()

    def _gena_host(self) -> str:
        """GENA callbacks must reach us from the devices: loopback unless SSDP runs on a LAN."""
        if self.config.upnp.interfaces:
            return "0.0.0.0"
        return "127.0.0.1"

    def _session_done(self, device: VirtualDevice, result: SessionResult) -> None:
        if result.ok:
            log.info(
                "%s: session done, events %s, %d RPC(s)", device.id, result.events, result.rpcs
            )
        else:
            log.warning("%s: session failed: %s", device.id, result.reason)
        if self._on_session is not None:
            self._on_session(device, result)

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
        if self.own is not None:
            await self.own.close()
        if self.discovery is not None:
            await self.discovery.stop()
        if self.manager is not None:
            await self.manager.close()
        if self.gena is not None:
            await self.gena.stop()
        await self.connreq.stop()
        await self.local_api.stop()
        if self._session is not None:
            await self._session.close()
        self.registry.close()

    async def __aenter__(self) -> Proxier:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def devices(self) -> list[VirtualDevice]:
        return list(self.manager) if self.manager is not None else []

    def virtual_devices(self) -> list[dict[str, Any]]:
        """The VirtualDevice table as plain data (no credentials)."""
        out = []
        for rec in self.registry:
            device = self.manager.devices.get(rec.instance) if self.manager else None
            out.append(
                {
                    "instance": rec.instance,
                    "id": rec.key.id,
                    "manufacturer": rec.manufacturer,
                    "oui": rec.key.oui,
                    "product_class": rec.key.product_class,
                    "serial_number": rec.key.serial_number,
                    "udns": list(rec.udns),
                    "location": rec.location,
                    "online": rec.online,
                    "connection_request_url": device.connection_request_url if device else "",
                }
            )
        return out

    def parameters(self) -> list[ParameterValueStruct]:
        """The proxier's own data model entries that concern proxying (TR-330 §4.3.1)."""
        return self.registry.parameters()
