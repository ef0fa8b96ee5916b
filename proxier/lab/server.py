"""`LabServer`: N lab DM devices in one process behind one aiohttp HTTP server.

    async with LabServer(devices=3) as lab:
        url = lab.devices[0].description_url

URL layout (all devices share host:port; `{dev}` is the UDN without `uuid:`):

    GET  /dev/{dev}/description.xml         device description (UDA §2.3)
    GET  /group/description.xml             every device as an embedded ManageableDevice of
                                            one root device (TR-330 Figure 5, right)
    GET  /dev/{dev}/{bms|cms|sms}.xml       SCPDs
    POST /dev/{dev}/{bms|cms|sms}/control   SOAP control (UDA §3)
    SUBSCRIBE/UNSUBSCRIBE /dev/{dev}/{svc}/event   GENA (UDA §4)
    GET  /dev/{dev}/logs/{name}             BMS log files (LogURL)
    GET  /files/{name}                      files hosted by the lab (firmware images)

Control endpoint for tests in other processes (clients on this host only: loopback, or
the listening address itself):

    GET  /_lab/devices                      JSON: udn, serial, description URL, state per device
    GET|POST /_lab/{udn}/faults             read / change the fault knobs (JSON, see Faults)
    POST /_lab/{udn}/set                    JSON {path: value}: a change made by the device
    POST /_lab/set                          JSON {udn: {path: value}}: changes made by many
                                            devices at one moment (a storm); replies its time
    POST /_lab/{udn}/move                   serve the device on a new port (+ ssdp:update)
    POST /_lab/{udn}/press                  press the WPS button (DP introduction, 120 s)
    PUT  /_lab/files/{name}                 host a file at /files/{name}

While a device reboots, or when the `silent` knob is on, its URLs answer 503 and it sends
no SSDP; a moved device answers 404 on its old port. SSDP runs only when `interface` names
an address, and only inside a private network namespace unless `allow_lan_multicast`.

`add_host` serves every device on one more loopback address (by default at the same port), as
a multi-homed device answers on each of its interfaces (TR-330 §4.1.1: same port in LOCATION
or not); `remove_host` takes that address down again (its connections close).
"""

from __future__ import annotations

import ipaddress
import json
import time
import tomllib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp
from aiohttp import web
from lxml import etree

from proxier.lab.announcer import Announcer
from proxier.lab.datamodel import DataModel, ModelError, ModelSpec, load_model_spec
from proxier.lab.device import Faults, LabDevice, SsdpHooks
from proxier.lab.dp import DP, DpSettings, enable_protection, peer_of
from proxier.lab.publisher import GenaRefused
from proxier.lab.scpd import (
    SERVICES,
    DeviceInfo,
    ServiceDef,
    build_description,
    build_scpd,
    services_named,
)
from proxier.logsafe import get_logger
from proxier.upnp import soap
from proxier.upnp.device import UpnpError
from proxier.upnp.http import read_up_to
from proxier.upnp.netns import check_multicast_allowed
from proxier.xmlsafe import local_name, parse_xml

_LOG = get_logger(__name__)
MAX_SOAP_BYTES = 1024 * 1024
MAX_FILE_BYTES = 32 * 1024 * 1024
_SERVICES = {s.short.lower(): s for s in SERVICES}


def _offered(device: LabDevice) -> tuple[ServiceDef, ...]:
    """The DM services the device offers, then DeviceProtection when `--dps` gave it one."""
    return (*device.services, DP) if device.protection is not None else device.services


@dataclass(slots=True)
class DeviceConfig:
    """Per-device settings (from `--config` or Python); empty fields get per-index defaults."""

    udn: str = ""
    friendly_name: str = ""
    serial_number: str = ""
    manufacturer_oui: str = ""
    model: str = ""  # model file for this device (default: the lab's)
    overrides: dict[str, str] = field(default_factory=dict)
    faults: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class LabConfig:
    devices: list[DeviceConfig] = field(default_factory=list)
    seed: str = "proxier-lab"
    max_age: int = 1800


def load_config(path: str | Path) -> LabConfig:
    """Read a lab config file (TOML or JSON): `[[device]]` tables with DeviceConfig fields."""
    p = Path(path)
    try:
        raw = p.read_bytes()
        doc: Any = json.loads(raw) if p.suffix == ".json" else tomllib.loads(raw.decode())
    except (OSError, ValueError) as exc:
        raise ModelError(f"{p}: {exc}") from None
    if not isinstance(doc, dict):
        raise ModelError(f"{p}: expected a table")
    entries: Any = doc.get("device", doc.get("devices", []))
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ModelError(f"{p}: 'device' must be a list of tables")
    devices: list[DeviceConfig] = []
    names = set(DeviceConfig.__dataclass_fields__)
    for i, entry in enumerate(entries):
        unknown = set(entry) - names
        if unknown:
            raise ModelError(f"{p}: device {i}: unknown keys {', '.join(sorted(unknown))}")
        devices.append(DeviceConfig(**entry))
    return LabConfig(devices, str(doc.get("seed", "proxier-lab")), int(doc.get("max_age", 1800)))


def default_udn(seed: str, index: int) -> str:
    """The UDN of lab device `index` when the config names none (stable per seed)."""
    return f"uuid:{uuid.uuid5(uuid.NAMESPACE_URL, f'{seed}:{index}')}"


def _is_local(request: web.Request) -> bool:
    """The client runs on this host: loopback, or the very address the server listens on."""
    remote = request.remote
    try:
        if remote is None:
            return False
        if ipaddress.ip_address(remote).is_loopback:
            return True
    except ValueError:
        return False
    local = request.transport.get_extra_info("sockname") if request.transport else None
    return local is not None and local[0] == remote


class LabServer:
    """Runs the lab devices; use as `async with` or `start()`/`stop()`."""

    def __init__(
        self,
        devices: int = 1,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        model: str | Path | Mapping[str, Any] | None = None,
        config: LabConfig | None = None,
        interface: str | None = None,
        allow_lan_multicast: bool = False,
        faults: Mapping[str, Any] | None = None,
        dps: DpSettings | None = None,
        services: Iterable[str] = ("bms", "cms", "sms"),
    ) -> None:
        self.dps = dps  # DeviceProtection on every device (`proxier lab --dps`)
        self.count = max(devices, len(config.devices) if config else 0)
        #: what every device offers (`--services`; ValueError for an unknown or empty list)
        self.services = services_named(services)
        self.host = host
        self.port = port
        self.config = config or LabConfig()
        self.interface = interface
        self.allow_lan_multicast = allow_lan_multicast
        self.default_faults = dict(faults or {})
        self._spec: ModelSpec = load_model_spec(model)
        self.devices: list[LabDevice] = []
        self._by_udn: dict[str, LabDevice] = {}  # UDN without "uuid:" → device (see device())
        self.files: dict[str, bytes] = {}
        self.announcer: Announcer | None = None
        self._runner: web.AppRunner | None = None
        self._sites: list[web.TCPSite] = []
        self._hosts: dict[str, web.AppRunner] = {}
        self._host_ports: dict[str, int] = {}
        self._session: aiohttp.ClientSession | None = None
        self.base_url = ""

    # -- building --

    def _make_device(self, index: int) -> LabDevice:
        cfg = self.config.devices[index] if index < len(self.config.devices) else DeviceConfig()
        udn = cfg.udn or default_udn(self.config.seed, index)
        if not udn.startswith("uuid:"):
            udn = "uuid:" + udn
        serial = cfg.serial_number or f"LAB{uuid.UUID(udn[5:]).hex[:4].upper()}{index:06d}"
        spec = load_model_spec(cfg.model) if cfg.model else self._spec
        model = DataModel(
            spec,
            substitutions={
                "serial": serial,
                "oui": cfg.manufacturer_oui or "00D0CA",
                "index": str(index),
            },
            overrides=cfg.overrides,
        )
        if cfg.friendly_name:
            model.set_identity({"/UPnP/DM/DeviceInfo/FriendlyName": cfg.friendly_name})
        device = LabDevice(index, udn, model, services=self.services)
        device.faults.update({**self.default_faults, **cfg.faults})
        return device

    def device(self, udn: str) -> LabDevice:
        """The device with this UDN (with or without `uuid:`); KeyError if none."""
        if len(self._by_udn) != len(self.devices):
            # every request looks its device up: a scan cost ~0.4 ms per request in a lab
            # of 2,000 (issue 13); UDNs never change, the list only when the lab starts
            self._by_udn = {d.udn.removeprefix("uuid:"): d for d in self.devices}
        device = self._by_udn.get(udn.removeprefix("uuid:"))
        if device is None:
            raise KeyError(udn)
        return device

    # -- life cycle --

    async def start(self) -> None:
        """Build the devices, listen, then (if asked) start SSDP; clean up on any failure."""
        if self.interface:
            check_multicast_allowed(self.allow_lan_multicast)
        try:
            await self._start()
        except BaseException:
            await self.stop()
            raise

    def _app(self) -> web.Application:
        app = web.Application(client_max_size=MAX_FILE_BYTES)
        app.router.add_get("/dev/{dev}/description.xml", self._description)
        app.router.add_get("/group/description.xml", self._group_description)
        app.router.add_get("/dev/{dev}/logs/{name}", self._log)
        app.router.add_get("/dev/{dev}/{svc}.xml", self._scpd)
        app.router.add_post("/dev/{dev}/{svc}/control", self._control)
        app.router.add_route("SUBSCRIBE", "/dev/{dev}/{svc}/event", self._subscribe)
        app.router.add_route("UNSUBSCRIBE", "/dev/{dev}/{svc}/event", self._unsubscribe)
        app.router.add_get("/files/{name}", self._file)
        app.router.add_get("/_lab/devices", self._ctl_devices)
        app.router.add_route("*", "/_lab/{dev}/faults", self._ctl_faults)
        app.router.add_post("/_lab/{dev}/set", self._ctl_set)
        app.router.add_post("/_lab/set", self._ctl_set_many)
        app.router.add_post("/_lab/{dev}/move", self._ctl_move)
        app.router.add_post("/_lab/{dev}/press", self._ctl_press)
        app.router.add_put("/_lab/files/{name}", self._ctl_file)
        return app

    async def _start(self) -> None:
        self.devices = [self._make_device(i) for i in range(self.count)]
        self._runner = web.AppRunner(
            self._app(), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await self._runner.setup()
        await self._add_site(self.port)
        if self.dps is not None:
            for device in self.devices:
                await enable_protection(device, self.dps, self.host, self.port)
        self._session = aiohttp.ClientSession()
        hooks: SsdpHooks = SsdpHooks()
        if self.interface:
            self.announcer = Announcer(
                self.interface,
                lambda: self.devices,
                max_age=self.config.max_age,
                allow_lan_multicast=self.allow_lan_multicast,
            )
            await self.announcer.start()
            hooks = self.announcer
        for device in self.devices:
            device.base_url = self.base_url
            device.ssdp = hooks
            device.start(self._session)
            if device.available:
                hooks.alive(device)

    async def _add_site(self, port: int) -> int:
        assert self._runner is not None
        site = web.TCPSite(self._runner, self.host, port, reuse_address=True)
        await site.start()
        self._sites.append(site)
        server = site._server  # the asyncio Server: the only place the bound port shows
        assert server is not None
        bound = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        if not self.base_url:
            self.port = bound
            self.base_url = _url(self.host, bound)
        return bound

    async def add_host(self, host: str, port: int | None = None) -> int:
        """Serve every device on `host` too (a second interface), at the same port unless
        `port` says otherwise (0: any); returns the port."""
        if host in self._hosts or host == self.host:
            raise ValueError(f"already serving on {host}")
        runner = web.AppRunner(
            self._app(), access_log=None, handle_signals=False, shutdown_timeout=1.0
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, self.port if port is None else port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._hosts[host] = runner
        server = site._server  # the asyncio Server: the only place the bound port shows
        assert server is not None
        bound = int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]
        self._host_ports[host] = bound
        return bound

    async def remove_host(self, host: str) -> None:
        """Take `host` down: refused connections from now on, open ones closed."""
        runner = self._hosts.pop(host, None)
        self._host_ports.pop(host, None)
        if runner is not None:
            await runner.cleanup()

    def description_urls_on(self, host: str) -> list[str]:
        """`description_urls` as served on `host` (see `add_host`)."""
        port = self._host_ports.get(host, self.port)
        return [_on_host(url, host, port) for url in self.description_urls]

    @property
    def group_description_url(self) -> str:
        """All devices as embedded devices of one root device (TR-330 Figure 5)."""
        return f"{self.base_url}/group/description.xml"

    async def stop(self) -> None:
        """Byebye for every device, then close sockets and the server."""
        for host in list(self._hosts):
            await self.remove_host(host)
        for device in self.devices:
            await device.stop()
            if device.tls is not None:
                await device.tls.stop()
        if self.announcer is not None:
            await self.announcer.stop()
            self.announcer = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        self._sites.clear()

    async def __aenter__(self) -> LabServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def description_urls(self) -> list[str]:
        return [d.description_url for d in self.devices]

    def host_file(self, name: str, data: bytes) -> str:
        """Serve `data` at /files/{name}; returns its URL (e.g. a firmware image)."""
        self.files[name] = data
        return f"{self.base_url}/files/{name}"

    async def move(self, device: LabDevice) -> str:
        """Serve `device` on a fresh port (its old one answers 404): ssdp:update + alive."""
        port = await self._add_site(0)
        device.ssdp.update(device, device.boot_id + 1)
        device.boot_id += 1
        device.base_url = _url(self.host, port)
        if device.available:
            device.ssdp.alive(device)
        return device.description_url

    # -- request plumbing --

    def _device_for(self, request: web.Request) -> LabDevice:
        try:
            device = self.device(request.match_info["dev"])
        except KeyError:
            raise web.HTTPNotFound(text="no such device") from None
        local = request.transport.get_extra_info("sockname") if request.transport else None
        if (
            local is not None
            and local[0] not in self._hosts  # extra hosts serve every device on their port
            and device.base_url
            and not device.base_url.endswith(f":{local[1]}")
        ):
            raise web.HTTPNotFound(text="device is not served on this port")
        if not device.available:
            raise web.HTTPServiceUnavailable(text="device unavailable")
        return device

    async def _description(self, request: web.Request) -> web.Response:
        device = self._device_for(request)
        info = DeviceInfo(device.udn, device.friendly_name, device.serial_number)
        body = build_description(info, device.base_path, device.config_id, _offered(device))
        return web.Response(body=body, content_type="text/xml", charset="utf-8")

    async def _group_description(self, request: web.Request) -> web.Response:
        """One root device (no services) with each available device embedded (TR-330 §4.1:
        a physical device holding several logical ManageableDevices)."""
        root: etree._Element | None = None
        holder: etree._Element | None = None
        for device in self.devices:
            if not device.available:
                continue
            info = DeviceInfo(device.udn, device.friendly_name, device.serial_number)
            doc = parse_xml(
                build_description(info, device.base_path, device.config_id, device.services)
            )
            element = next(c for c in doc if local_name(c) == "device")
            if root is None:
                root = doc
                ns = etree.QName(element).namespace
                group = uuid.uuid5(uuid.NAMESPACE_URL, f"{self.config.seed}:group")
                outer = etree.SubElement(root, f"{{{ns}}}device")
                for name, text in (
                    ("deviceType", "urn:schemas-upnp-org:device:Basic:1"),
                    ("friendlyName", "proxier lab physical device"),
                    ("manufacturer", "proxier lab"),
                    ("modelName", "LabBox"),
                    ("UDN", f"uuid:{group}"),
                ):
                    etree.SubElement(outer, f"{{{ns}}}{name}").text = text
                holder = etree.SubElement(outer, f"{{{ns}}}deviceList")
            assert holder is not None
            holder.append(element)  # moves it out of its own root
        if root is None:
            raise web.HTTPServiceUnavailable(text="no device available")
        body = etree.tostring(root, xml_declaration=True, encoding="utf-8")
        return web.Response(body=body, content_type="text/xml", charset="utf-8")

    @staticmethod
    def _service_for(device: LabDevice, request: web.Request) -> ServiceDef:
        """The service named in the URL, if this device offers it (else 404)."""
        name = request.match_info["svc"]
        service = DP if name == "dp" else _SERVICES.get(name)
        if service is None or service not in _offered(device):
            raise web.HTTPNotFound()
        return service

    async def _scpd(self, request: web.Request) -> web.Response:
        device = self._device_for(request)
        if device.faults.scpd_unavailable:
            raise web.HTTPServiceUnavailable(text="SCPD unavailable (lab fault)")
        service = self._service_for(device, request)
        return web.Response(body=build_scpd(service), content_type="text/xml", charset="utf-8")

    async def _log(self, request: web.Request) -> web.Response:
        device = self._device_for(request)
        record = device.bms.logs.get(request.match_info["name"])
        if record is None:
            raise web.HTTPNotFound()
        return web.Response(body=record.content(), content_type="text/plain", charset="utf-8")

    async def _file(self, request: web.Request) -> web.Response:
        data = self.files.get(request.match_info["name"])
        if data is None:
            raise web.HTTPNotFound()
        return web.Response(body=data, content_type="application/octet-stream")

    async def _control(self, request: web.Request) -> web.StreamResponse:
        device = self._device_for(request)
        service = self._service_for(device, request)
        if request.content_length is not None and request.content_length > MAX_SOAP_BYTES:
            return _fault(402, "request too large")
        body = await read_up_to(request.content, MAX_SOAP_BYTES)
        if body is None:
            return _fault(402, "request too large")
        try:
            service_type, action, args = soap.parse_request(body, max_bytes=MAX_SOAP_BYTES)
            if service_type != service.service_type:
                raise UpnpError(401, f"{service_type[:80]} is not served here")
            header = request.headers.get("SOAPACTION", "").strip('"')
            if header and header != f"{service_type}#{action}":
                raise UpnpError(401, "SOAPACTION header does not match the body")
            if device.protection is not None:
                peer = peer_of(
                    device, request.transport and request.transport.get_extra_info("peername")
                )
                if service is DP:
                    outputs = device.protection.call(action, args, peer)
                    body = soap.build_response(service_type, action, outputs)
                    return web.Response(body=body, content_type="text/xml", charset="utf-8")
                device.protection.check_dm(peer, action)
            result = await device.call(service, action, args)
            if device.protection is not None and action == "BaselineReset":
                device.protection.factory_reset()
            body = soap.build_response(service_type, action, result.outputs)
        except UpnpError as exc:
            device.bms.log("Warning", f"{service.short} action failed: {exc}")
            return _fault(exc.code, exc.description or str(exc))
        except Exception:  # a handler bug must not kill the lab: report it as 501
            _LOG.exception("%s %s failed", service.short, request.path)
            return _fault(501, "Action Failed")
        response = web.Response(
            body=body,
            content_type="text/xml",
            charset="utf-8",
            headers={"EXT": ""},
        )
        if result.after is None:
            return response
        await response.prepare(request)
        await response.write_eof()
        result.after()
        return response

    async def _subscribe(self, request: web.Request) -> web.StreamResponse:
        device = self._device_for(request)
        short = self._service_for(device, request).short
        sid = request.headers.get("SID")
        try:
            if sid is not None:
                if "CALLBACK" in request.headers or "NT" in request.headers:
                    raise GenaRefused(400, "SID together with CALLBACK/NT")
                sub = device.publishers[short].renew(
                    sid, request.headers.get("TIMEOUT"), time.time()
                )
                return _gena_ok(sub.sid, sub.timeout)
            if request.headers.get("NT") != "upnp:event":
                raise GenaRefused(412, "NT must be upnp:event")
            sub = device.subscribe(
                short,
                request.headers.get("CALLBACK"),
                request.headers.get("TIMEOUT"),
                request.remote or "",
            )
        except GenaRefused as exc:
            return web.Response(status=exc.status, text=exc.reason)
        response = _gena_ok(sub.sid, sub.timeout)
        await response.prepare(request)
        await response.write_eof()
        device.send_initial_event(short, sub)
        return response

    async def _unsubscribe(self, request: web.Request) -> web.Response:
        device = self._device_for(request)
        short = self._service_for(device, request).short
        try:
            if "CALLBACK" in request.headers or "NT" in request.headers:
                raise GenaRefused(400, "UNSUBSCRIBE with CALLBACK/NT")
            device.publishers[short].unsubscribe(request.headers.get("SID"), time.time())
        except GenaRefused as exc:
            return web.Response(status=exc.status, text=exc.reason)
        return web.Response(status=200)

    # -- control endpoint --

    def _ctl_device(self, request: web.Request) -> LabDevice:
        if not _is_local(request):
            raise web.HTTPForbidden(text="the lab control endpoint answers local clients only")
        try:
            return self.device(request.match_info["dev"])
        except KeyError:
            raise web.HTTPNotFound(text="no such device") from None

    async def _ctl_devices(self, request: web.Request) -> web.Response:
        if not _is_local(request):
            raise web.HTTPForbidden()
        return web.json_response(
            [
                {
                    "udn": d.udn,
                    "serial_number": d.serial_number,
                    "description_url": d.description_url,
                    "state": d.state,
                    "available": d.available,
                    "boot_id": d.boot_id,
                }
                for d in self.devices
            ]
        )

    async def _ctl_faults(self, request: web.Request) -> web.Response:
        device = self._ctl_device(request)
        if request.method == "POST":
            try:
                changes = await request.json()
                if not isinstance(changes, dict):
                    raise ValueError("expected a JSON object")
                silent = changes.pop("silent", None)
                device.faults.update(changes)
                if silent is not None:
                    if not isinstance(silent, bool):
                        raise ValueError("silent must be true or false")
                    device.set_silent(silent)
            except ValueError as exc:
                raise web.HTTPBadRequest(text=str(exc)) from None
        elif request.method != "GET":
            raise web.HTTPMethodNotAllowed(request.method, ["GET", "POST"])
        return web.json_response(device.faults.to_json())

    async def _ctl_set(self, request: web.Request) -> web.Response:
        device = self._ctl_device(request)
        try:
            changes = await request.json()
            if not isinstance(changes, dict):
                raise ValueError("expected a JSON object of path: value")
            device.model.device_set({str(k): str(v) for k, v in changes.items()})
        except UpnpError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        except ValueError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        return web.json_response({"version": device.model.version})

    async def _ctl_set_many(self, request: web.Request) -> web.Response:
        """Device-side changes on many devices in one loop step (issue 13's storms): all are
        checked first (400/404 changes nothing), then applied back to back; the reply's `time`
        (time.time(), taken just before) lets another process time what follows."""
        if not _is_local(request):
            raise web.HTTPForbidden(text="the lab control endpoint answers local clients only")
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("expected a JSON object of udn: {path: value}")
            staged = []
            for udn, changes in body.items():
                try:
                    device = self.device(str(udn))
                except KeyError:
                    raise web.HTTPNotFound(text=f"no such device: {str(udn)[:80]}") from None
                if not isinstance(changes, dict):
                    raise ValueError(f"{str(udn)[:80]}: expected a JSON object of path: value")
                staged.append(device.model.stage({str(k): str(v) for k, v in changes.items()}))
        except (UpnpError, ValueError) as exc:
            raise web.HTTPBadRequest(text=str(exc)) from None
        at = time.time()
        for apply in staged:
            apply()
        return web.json_response({"time": at, "devices": len(staged)})

    async def _ctl_press(self, request: web.Request) -> web.Response:
        """The user presses the device's WPS button (issue 9): valid for the walk time."""
        device = self._ctl_device(request)
        intro = device.protection.introduction if device.protection else None
        if intro is None:
            raise web.HTTPConflict(text="the device has no DeviceProtection (run with --dps)")
        now = time.monotonic()
        until = intro.press(now)
        return web.json_response({"pressed": True, "valid_for": round(until - now, 1)})

    async def _ctl_move(self, request: web.Request) -> web.Response:
        device = self._ctl_device(request)
        return web.json_response({"description_url": await self.move(device)})

    async def _ctl_file(self, request: web.Request) -> web.Response:
        if not _is_local(request):
            raise web.HTTPForbidden()
        url = self.host_file(request.match_info["name"], await request.read())
        return web.json_response({"url": url})


def _on_host(url: str, host: str, port: int) -> str:
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return urlunsplit(urlsplit(url)._replace(netloc=netloc))


def _url(host: str, port: int) -> str:
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _fault(code: int, description: str) -> web.Response:
    return web.Response(
        status=500,
        body=soap.build_fault(code, description[:300]),
        content_type="text/xml",
        charset="utf-8",
        headers={"EXT": ""},
    )


def _gena_ok(sid: str, timeout: int) -> web.Response:
    return web.Response(
        status=200,
        headers={
            "SID": sid,
            "TIMEOUT": f"Second-{timeout}",
            "SERVER": "Linux UPnP/2.0 proxier-lab/0.1",
        },
    )


__all__ = [
    "DeviceConfig",
    "Faults",
    "LabConfig",
    "LabServer",
    "load_config",
]
