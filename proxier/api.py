"""The embedding API: one `Proxier` object per process, no globals.

A CPE agent (or `proxier run`) creates a Proxier from a Config, starts it inside its own event
loop, and reads the VirtualDevice table and the proxier's own data model from it. One process
serves every proxied device: one discovery, one GENA callback server, one Connection Request
server, one aiohttp session, one event loop.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp

from proxier.config import Config, UpnpConfig
from proxier.control.actions import DeviceActions, Sighting
from proxier.control.activity import Activity, ActivityLog, Kind
from proxier.control.metrics import Metrics, TimedSoapTransport
from proxier.control.readings import Readings
from proxier.control.token import ensure_token
from proxier.control.view import identity, mask_url
from proxier.cwmp.connreq import ConnectionRequestServer
from proxier.cwmp.engine import SessionResult
from proxier.cwmp.http import HttpSettings, make_ssl_context, transport_factory
from proxier.cwmp.limit import limited
from proxier.cwmp.rate import SessionPacer
from proxier.cwmp.rpc import CpeRequest, CpeResponse, Fault, ParameterValueStruct
from proxier.dp.actions import DpActions
from proxier.dp.manager import DpManager
from proxier.dp.privacy import PrivacyGate
from proxier.dp.wps import install as install_wps
from proxier.fdlimit import raise_nofile
from proxier.gatewayid import effective_serial
from proxier.localapi import LocalApi
from proxier.logsafe import get_logger
from proxier.sessionlog import SessionLog
from proxier.startup import started_line
from proxier.upnp.discovery import Discovery, discovery_config
from proxier.upnp.gena import PER_PATH, GenaManager
from proxier.upnp.netns import check_multicast_allowed
from proxier.virtual.device import Shared, VirtualDevice
from proxier.virtual.keptout import KeptOutActions
from proxier.virtual.manager import VirtualDeviceManager
from proxier.virtual.own import OwnDevice
from proxier.virtual.registry import Registry

log = get_logger("proxier")


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
        #: What happened lately (status, API, console) and the embedding callbacks/stream.
        self.activity = ActivityLog(clock)
        self.actions = DeviceActions()
        self.actions.register("forget", self._forget_action)
        self.metrics = Metrics(self.devices)
        self.readings = Readings(clock)
        self.activity.on("event", lambda a: self.metrics.event(str(a.detail.get("code", ""))))
        self.local_api = LocalApi(self)
        self._on_session = on_session
        self.session_log = SessionLog()
        self._session: aiohttp.ClientSession | None = None
        self.connreq = ConnectionRequestServer(
            bind=config.connection_request.bind,
            port=config.connection_request.port,
            host=config.connection_request.host,
            rate_limit=config.connection_request.rate_limit,
            rate_window=config.connection_request.rate_window,
        )
        self.gena: GenaManager | None = None
        self.discovery: Discovery | None = None
        self.manager: VirtualDeviceManager | None = None
        self.own: OwnDevice | None = None
        self._watch: asyncio.Task[None] | None = None
        self.connreq.on_result = self.metrics.connection_request
        #: DeviceProtection: our CP identity (generated under state.dir unless configured)
        self.dp = DpManager(
            config.dps,
            config.state.dir,
            action_timeout=config.upnp.action_timeout,
            soap=functools.partial(TimedSoapTransport, metrics=self.metrics),
        )
        self.privacy = PrivacyGate(config.privacy.mode, self.registry.state_dir / "privacy.json")
        DpActions(self).install()  # approve, deny, trust; security state; pending devices
        self.introducer = install_wps(self)  # WPS introduction (issue 9): hook + action
        KeptOutActions(self).install()  # devices over the admission limits (issue 12 item 7)

    async def start(self) -> None:
        """Start everything; a failure stops what had started before it is raised."""
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> None:
        cfg = self.config
        raise_nofile(max(len(self.registry), len(cfg.upnp.description_urls)), what="devices")
        self._session = aiohttp.ClientSession()
        await self.connreq.start()
        self.gena = GenaManager(
            self._session,
            host=self._gena_host(),
            tls_for=lambda url: self.dp.context if url.startswith("https:") else None,
        )
        await self.gena.start()
        self.introducer.gena = self.gena  # SetupReady events during WPS introduction
        template = HttpSettings(
            url=cfg.acs.url,
            ca_file=cfg.acs.ca_file or None,
            allow_basic_over_http=cfg.acs.allow_basic_over_http,
        )
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
            activity=self.activity,
            on_answer=self._answered,
        )
        soap = TimedSoapTransport(
            self._session, timeout=cfg.upnp.action_timeout, metrics=self.metrics
        )
        self.manager = VirtualDeviceManager(
            shared, self._session, soap, dp=self.dp, privacy=self.privacy
        )
        self.manager.restore()
        if cfg.proxier.cwmp:
            self.own = OwnDevice(cfg, self.registry, self.connreq, shared.transport_factory)
            self.own.start()
            self._watch = asyncio.get_running_loop().create_task(self._watch_table())
        await self._start_discovery(cfg.upnp)
        if cfg.api.enable or cfg.api.socket:
            await self.local_api.start(
                bind=cfg.api.bind,
                port=cfg.api.port if cfg.api.enable else None,
                socket_path=cfg.api.socket,
                token=ensure_token(cfg.state.dir) if cfg.api.token else "",
            )
            log.info("local API on %s", " and ".join(self.local_api.urls))
        log.info("%s", started_line(self))

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

    async def _start_discovery(self, upnp: UpnpConfig) -> None:
        assert self.manager is not None and self._session is not None
        self.discovery = Discovery(
            discovery_config(upnp),
            self.manager.on_discovery,
            session=self._session,
            probe_ssl=self.dp.context,  # https description URLs: DP devices
            documents=self.manager.documents,
        )
        self.manager.forget_path = self.discovery.tracker.forget
        await self.discovery.start()

    async def set_discovery(
        self,
        *,
        description_urls: tuple[str, ...] | None = None,
        interfaces: tuple[str, ...] | None = None,
    ) -> None:
        """Change the discovery sources of a running proxier (embedding, reload).

        Virtual devices and their sessions stay; devices seen only through a source that
        is gone expire (offline, state kept) as if that source had stopped answering.
        """
        upnp = self.config.upnp
        upnp = replace(
            upnp,
            description_urls=upnp.description_urls
            if description_urls is None
            else description_urls,
            interfaces=upnp.interfaces if interfaces is None else interfaces,
        )
        if upnp.interfaces:
            check_multicast_allowed(upnp.allow_lan_multicast)  # refuse before stopping anything
        old = self.discovery
        if old is not None and self.manager is not None:
            await old.stop()
            for url in set(old.config.description_urls) - set(upnp.description_urls):
                for event in old.tracker.probe_failed(url, time.monotonic(), limit=1):
                    self.manager.on_discovery(event)
        try:
            await self._start_discovery(upnp)
        except BaseException:
            if self.discovery is not None:
                await self.discovery.stop()
            await self._start_discovery(self.config.upnp)  # keep the sources that worked
            raise
        self.config = replace(self.config, upnp=upnp)
        if self.manager is not None:
            self.manager.shared.config = self.config
        log.info(
            "discovery sources now: description URLs %s, interfaces %s",
            list(upnp.description_urls) or "none",
            list(upnp.interfaces) or "none",
        )

    # --- embedding: callbacks and the event stream -------------------------------------------

    def on(self, kind: Kind | None, callback: Callable[[Activity], None]) -> Callable[[], None]:
        """Call `callback(activity)` for each `kind` ("device_added", "device_removed",
        "online", "offline", "session", "event"; None: all). Returns an unsubscribe."""
        return self.activity.on(kind, callback)

    def events(self) -> AsyncIterator[Activity]:
        """An async stream of every activity from now on (`async for a in p.events()`)."""
        return self.activity.subscribe()

    def device(self, wanted: str) -> VirtualDevice | None:
        """A virtual device by DeviceId string or VirtualDevice table instance number."""
        for device in self.devices():
            if device.id == wanted or str(device.record.instance) == wanted:
                return device
        return None

    def target(self, wanted: str) -> VirtualDevice | Sighting | None:
        """What a device action names: a virtual device (DeviceId or instance), or a device
        the privacy gate holds back (its UDN: it has no DeviceId yet)."""
        device = self.device(wanted)
        if device is not None:
            return device
        return next((s for s in self.actions.sightings() if s.udn == wanted), None)

    async def forget(self, device: VirtualDevice | Sighting) -> None:
        """Drop a virtual device and all its state: CWMP state, readings, DP pin and
        security state, privacy decision. If still there it is discovered anew."""
        udns = device.udns if isinstance(device, Sighting) else device.record.udns
        if isinstance(device, VirtualDevice):
            assert self.manager is not None
            await self.manager.forget(device)
            self.readings.forget(device.id)
        for udn in udns:
            self.dp.forget(udn)
            self.privacy.forget(udn)
            if self.manager is not None:
                self.manager.admission.drop(udn)
            if self.discovery is not None:
                self.discovery.tracker.forget(udn)

    async def _forget_action(
        self, device: VirtualDevice | Sighting, body: dict[str, Any]
    ) -> dict[str, Any]:
        await self.forget(device)
        return {"forgotten": True}

    def _answered(
        self, device: VirtualDevice, request: CpeRequest, answer: CpeResponse | Fault
    ) -> None:
        if isinstance(answer, Fault):
            self.metrics.fault(answer.fault_code)
        self.readings.answered(device.id, request, answer)

    def _session_done(self, device: VirtualDevice, result: SessionResult) -> None:
        self.metrics.session(result.ok)
        self.activity.emit(
            "session",
            device.id,
            ok=result.ok,
            reason=result.reason,
            events=list(result.events),
            rpcs=result.rpcs,
        )
        self.session_log.done(device.id, result)
        if self._on_session is not None:
            self._on_session(device, result)

    async def stop(self) -> None:
        """Stop everything, in reverse order; safe after a failed or partial start."""
        if self._watch is not None:
            self._watch.cancel()
        if self.own is not None:
            await self.own.close()
        if self.discovery is not None:
            await self.discovery.stop()
        if self.manager is not None:
            await self.manager.close()
        await self.introducer.close()
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
        """The VirtualDevice table as plain data (no credentials; the CR URL's path masked)."""
        out = []
        for rec in self.registry:
            device = self.manager.devices.get(rec.instance) if self.manager else None
            url = device.connection_request_url if device else ""
            out.append({**identity(rec), "connection_request_url": mask_url(url)})
        return out

    def parameters(self) -> list[ParameterValueStruct]:
        """The proxier's own data model entries that concern proxying (TR-330 §4.3.1)."""
        return self.registry.parameters()
