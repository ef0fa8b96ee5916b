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
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp

from proxier.config import Config
from proxier.cwmp.connreq import ConnectionRequestServer
from proxier.cwmp.engine import SessionResult
from proxier.cwmp.http import HttpSettings, make_ssl_context, transport_factory
from proxier.cwmp.limit import limited
from proxier.cwmp.rpc import ParameterValueStruct
from proxier.dp.manager import DpManager
from proxier.dp.privacy import PrivacyGate
from proxier.dp.wps import Introducer
from proxier.gatewayid import effective_serial
from proxier.localapi import LocalApi
from proxier.upnp.client import SoapTransport
from proxier.upnp.discovery import Discovery, discovery_config
from proxier.upnp.gena import PER_PATH, GenaManager
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
        serial = effective_serial(
            config.proxier.serial_number, Path(config.state.dir), interfaces=config.upnp.interfaces
        )
        config = replace(config, proxier=replace(config.proxier, serial_number=serial))
        self.config = config
        self.clock = clock
        self.registry = Registry(config.state.dir)
        self.local_api = LocalApi(
            self.virtual_devices, self.parameters, self.device_action, introduce=self.introduce
        )
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
        #: DeviceProtection: our CP identity (generated under state.dir unless configured)
        self.dp = DpManager(config.dps, config.state.dir, action_timeout=config.upnp.action_timeout)
        #: WPS introduction (issue 9): runs when a DP device gives us no Admin
        self.introducer = Introducer(config.dps, self.dp.identity.identity)
        self.dp.introduce = self.introducer
        self.privacy = PrivacyGate(config.privacy.mode, self.registry.state_dir / "privacy.json")

    async def start(self) -> None:
        cfg = self.config
        self._session = aiohttp.ClientSession()
        await self.connreq.start()
        self.gena = GenaManager(
            self._session,
            host=self._gena_host(),
            tls_for=lambda url: self.dp.context if url.startswith("https:") else None,
        )
        await self.gena.start()
        self.introducer.gena = self.gena  # SetupReady events during WPS introduction
        template = HttpSettings(url=cfg.acs.url, ca_file=cfg.acs.ca_file or None)
        factory = transport_factory(template, ssl_context=acs_ssl_context(cfg))
        shared = Shared(
            config=cfg,
            registry=self.registry,
            connreq=self.connreq,
            gena=self.gena,
            transport_factory=limited(factory, asyncio.Semaphore(cfg.acs.max_parallel_sessions)),
            clock=self.clock,
            on_session=self._session_done,
        )
        soap = SoapTransport(self._session, timeout=cfg.upnp.action_timeout)
        self.manager = VirtualDeviceManager(
            shared, self._session, soap, dp=self.dp, privacy=self.privacy
        )
        self.manager.restore()
        if cfg.proxier.cwmp:
            self.own = OwnDevice(cfg, self.registry, self.connreq, shared.transport_factory)
            self.own.start()
            self._watch = asyncio.get_running_loop().create_task(self._watch_table())
        self.discovery = Discovery(
            discovery_config(cfg.upnp),
            self.manager.on_discovery,
            session=self._session,
            probe_ssl=self.dp.context,
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
        """GENA callbacks must reach us from the devices: on the LAN-side local address of
        the path to each device (never a wildcard, which includes the WAN side), unless
        `upnp.callback_host` names one address."""
        return self.config.upnp.callback_host or PER_PATH

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
        await self.dp.close()
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
                    "security": {
                        **self.dp.status(rec.udns),
                        **self.introducer.status_for(rec.udns),
                    },
                }
            )
        return out + self.privacy.pending()

    # -- device actions (issue 8; `proxier devices ACTION ID`, POST /api/devices/{id}/{action})

    def introduce(self, device_id: str, pin: str | None = None) -> bool:
        """`proxier devices introduce ID [--pin PIN]`: start a WPS introduction now."""
        links = [self.dp.links[u] for u in self._udns(device_id) if u in self.dp.links]
        for link in links:
            self.introducer.start(link, pin)
        return bool(links)

    async def device_action(self, action: str, device_id: str) -> bool:
        """The local API's `POST /api/devices/{id}/{action}`."""
        if action == "forget":
            return await self.forget(device_id)
        method: Callable[[str], bool] = {
            "approve": self.approve,
            "deny": self.deny,
            "trust": self.trust,
        }[action]
        return method(device_id)

    def _udns(self, device_id: str) -> tuple[str, ...]:
        """A virtual device id (or instance number), or a UDN (pending devices have no id)."""
        for rec in self.registry:
            if device_id in (rec.key.id, str(rec.instance), *rec.udns):
                return rec.udns
        return (device_id,) if device_id.startswith("uuid:") else ()

    def approve(self, device_id: str) -> bool:
        """TR-330 §2.4: the user acknowledges a pending device; it is proxied from now on."""
        udns = self._udns(device_id)
        for udn in udns:
            self.privacy.approve(udn)
            if self.manager is not None:
                self.manager.replay(udn)
        return bool(udns)

    def deny(self, device_id: str) -> bool:
        """Keep the device out for good (survives restarts)."""
        udns = self._udns(device_id)
        for udn in udns:
            self.privacy.deny(udn)
        return bool(udns)

    def trust(self, device_id: str) -> bool:
        """Accept the device's new certificate (a changed one was refused)."""
        udns = self._udns(device_id)
        for udn in udns:
            self.dp.trust(udn)
            if self.manager is not None:
                self.manager.replay(udn)
        return bool(udns)

    async def forget(self, device_id: str) -> bool:
        """Remove the virtual device and all its state (store, pins, privacy decision)."""
        udns = self._udns(device_id)
        if self.manager is not None:
            device = next((d for d in self.manager if d.record.udns == udns), None)
            if device is not None:
                await self.manager.forget(device)
        for udn in udns:
            self.dp.forget(udn)
            self.privacy.forget(udn)
        return bool(udns)

    def parameters(self) -> list[ParameterValueStruct]:
        """The proxier's own data model entries that concern proxying (TR-330 §4.3.1)."""
        return self.registry.parameters()
