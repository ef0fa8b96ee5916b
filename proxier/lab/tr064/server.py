"""`Tr064LabServer`: N FRITZ!-style TR-064 lab devices, each on its own HTTP + HTTPS port.

Per device (as a FRITZ!Box at :49000 / :49443, guide §3.1, §4.2):

    GET  /tr64desc.xml             root description (urn:dslforum-org:device-1-0)
    GET  /igddesc.xml              404 text/html: this device has no IGD description
    GET  /<scpd>.xml               SCPDs
    POST /upnp/control/<service>   SOAP control: HTTP digest (realm "HTTPS Access") or
                                   content-level auth (§4.1.2), rights (§6.1), 2FA (§4.3)

The security port (DeviceInfo:GetSecurityPort) serves the same over HTTPS with a self-made
certificate. Repeated bad logins from one address get 503 for `lockout` seconds (§4.1.1).

Control endpoint for tests (loopback clients only), on the HTTP port:

    GET  /_lab/state        JSON: version, reboots, resets, wlan, dhcp, transaction, …
    POST /_lab/faults       JSON: second_factor, fail_actions, hidden_actions (left out of
                            the SCPD, answered 401), reboot_delay, max_failures, lockout
    POST /_lab/2fa          JSON {"action": "Service:Action", "state": "confirm|block|busy"}
    POST /_lab/hosts        JSON {"add": {MACAddress, IPAddress, HostName, …}} or
                            {"remove": "<MAC>"}
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import secrets
import shutil
import ssl
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from proxier.cwmp.digest import HttpAuthenticator
from proxier.lab.announcer import Announcer
from proxier.lab.tr064 import documents
from proxier.lab.tr064.device import WRITES, LabTr064Device, Tr064Fault
from proxier.lab.tr064.services import SERVICES, LabService
from proxier.logsafe import get_logger
from proxier.tr064 import contentauth
from proxier.upnp import soap
from proxier.upnp.device import UpnpError
from proxier.upnp.tls import ensure_identity
from proxier.xmlsafe import XmlError, parse_xml

_LOG = get_logger(__name__)
DIGEST_REALM = "HTTPS Access"
CONTENT_REALM = "F!Box SOAP-Auth"
MAX_SOAP = 256 * 1024
_HTML = "text/html"


def _html(status: int, text: str, headers: dict[str, str] | None = None) -> web.Response:
    body = f"<HTML><HEAD><TITLE>{status} {text}</TITLE></HEAD><BODY><H1>{status} {text}</H1>"
    # exactly "text/html", no charset, as FRITZ! sends it (fritzconnection compares it)
    return web.Response(
        status=status,
        body=(body + "</BODY></HTML>").encode(),
        headers={"Content-Type": _HTML, **(headers or {})},
    )


def _xml(body: bytes, status: int = 200) -> web.Response:
    return web.Response(
        status=status, body=body, headers={"Content-Type": 'text/xml; charset="utf-8"'}
    )


@dataclass
class Users:
    """Login table: user → (password, rights letters). Empty: no password configured."""

    table: dict[str, tuple[str, str]] = field(default_factory=dict)

    def password(self, user: str) -> str | None:
        entry = self.table.get(user)
        return entry[0] if entry else None

    def rights(self, user: str) -> str:
        entry = self.table.get(user)
        return entry[1] if entry else ""


@dataclass
class Throttle:
    """Counts bad logins per client address; past `max_failures` the client gets 503."""

    max_failures: int = 5
    lockout: float = 10.0
    failures: dict[str, list[float]] = field(default_factory=dict)
    blocked_until: dict[str, float] = field(default_factory=dict)
    refused: int = 0  # 503 answers given (tests check the client backs off)

    def blocked(self, client: str, now: float) -> bool:
        until = self.blocked_until.get(client, 0.0)
        if until > now:
            self.refused += 1
            return True
        return False

    def failed(self, client: str, now: float) -> None:
        recent = [t for t in self.failures.get(client, []) if now - t < 60.0] + [now]
        self.failures[client] = recent
        if len(recent) >= self.max_failures:
            self.blocked_until[client] = now + self.lockout
            self.failures[client] = []

    def succeeded(self, client: str) -> None:
        self.failures.pop(client, None)


class _DeviceServer:
    """The HTTP and HTTPS endpoints of one lab device."""

    def __init__(
        self,
        device: LabTr064Device,
        users: Users,
        host: str,
        tls: ssl.SSLContext,
        clock: Callable[[], float],
    ) -> None:
        self.device = device
        self.users = users
        self.host = host
        self.tls = tls
        self.clock = clock
        self.digest = HttpAuthenticator(DIGEST_REALM, self._lookup)
        self.throttle = Throttle()
        self.nonces: dict[str, float] = {}
        self.two_factor: dict[str, str] = {}  # "Service:Action" → confirm|block|busy
        self.runners: list[web.AppRunner] = []
        self.port = 0
        self.description_url = ""
        self.session: aiohttp.ClientSession | None = None
        self.tasks: set[asyncio.Task[None]] = set()

    def _lookup(self, user: str) -> str | None:
        return self.users.password(user)

    # --- life cycle --------------------------------------------------------------------------

    async def start(self, port: int = 0) -> None:
        self.session = aiohttp.ClientSession()
        self.port = await self._serve(self._app(control=True), port, None)
        self.device.security_port = await self._serve(self._app(control=False), 0, self.tls)
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.description_url = f"http://{host}:{self.port}/tr64desc.xml"
        self.device.description_url = self.description_url

    async def _serve(self, app: web.Application, port: int, tls: ssl.SSLContext | None) -> int:
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.5)
        await runner.setup()
        site = web.TCPSite(runner, self.host, port, ssl_context=tls, reuse_address=True)
        await site.start()
        self.runners.append(runner)
        server = site._server
        assert server is not None
        return int(server.sockets[0].getsockname()[1])  # type: ignore[attr-defined]

    async def stop(self) -> None:
        for task in list(self.tasks):
            task.cancel()
        for runner in self.runners:
            await runner.cleanup()
        if self.session is not None:
            await self.session.close()

    def _app(self, *, control: bool) -> web.Application:
        app = web.Application(client_max_size=MAX_SOAP)
        app.router.add_get("/tr64desc.xml", self._description)
        app.router.add_get("/igddesc.xml", self._no_igd)
        app.router.add_get("/{name}.xml", self._scpd)
        app.router.add_post("/upnp/control/{svc}", self._control)
        if control:
            app.router.add_get("/_lab/state", self._ctl_state)
            app.router.add_post("/_lab/faults", self._ctl_faults)
            app.router.add_post("/_lab/2fa", self._ctl_2fa)
            app.router.add_post("/_lab/hosts", self._ctl_hosts)
        return app

    # --- descriptions --------------------------------------------------------------------

    def _identity(self) -> documents.Identity:
        d = self.device
        return documents.Identity(
            d.udn,
            d.mac,
            d.model,
            d.manufacturer,
            f"{d.model} {d.version[0]}.{d.software_version}",
            d.version,
        )

    def _down(self, request: web.Request) -> bool:
        """A rebooting device does not answer at all: drop the connection."""
        if not self.device.is_down(self.clock()):
            return False
        if request.transport is not None:
            request.transport.close()
        return True

    async def _description(self, request: web.Request) -> web.Response:
        if self._down(request):
            return _html(503, "Service Unavailable")
        return _xml(documents.tr64desc(self._identity(), SERVICES))

    async def _no_igd(self, request: web.Request) -> web.Response:
        return _html(404, "Not Found")

    async def _scpd(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["name"] + ".xml"
        hidden = self.device.hidden_actions
        for service in SERVICES:
            if service.scpd == path:
                actions = {
                    name: spec
                    for name, spec in service.actions.items()
                    if f"{service.name}:{name}" not in hidden
                }
                return _xml(documents.scpd(dataclasses.replace(service, actions=actions)))
        return _html(404, "Not Found")

    # --- control -------------------------------------------------------------------------

    async def _control(self, request: web.Request) -> web.Response:
        now = self.clock()
        client = request.remote or "?"
        device = self.device
        if self._down(request):
            return _html(503, "Service Unavailable")
        service = device.service_at(request.path)
        if service is None:
            return _html(404, "Not Found")
        body = await request.read()
        try:
            envelope = parse_xml(body, max_bytes=MAX_SOAP)
            service_type, action, args = soap.parse_request(body, max_bytes=MAX_SOAP)
        except (XmlError, UpnpError):
            return _xml(documents.fault(402), 500)
        if service_type != service.service_type:
            return _xml(documents.fault(401), 500)
        spec = service.actions.get(action)
        if f"{service.name}:{action}" in device.hidden_actions:
            return _xml(documents.fault(401), 500)  # Invalid Action: not in this firmware
        header = contentauth.header_of(envelope)
        user, answer, next_header = self._authenticate(
            request, header, spec is not None and spec.rights != "-", client, now
        )
        if answer is not None:
            return answer
        key = f"{service.name}:{action}"
        try:
            if spec is not None and spec.rights != "-" and self.users.table:
                assert user is not None
                if not set(self.users.rights(user)) & set(spec.rights):
                    raise Tr064Fault(606)
            self._second_factor(key)
            owner = f"{user or ''}|{self.users.rights(user or '')}@{client}"
            device.check_transaction(owner, "", now, key in WRITES)
            values = device.invoke(service, action, args, owner, now)
        except Tr064Fault as exc:
            return _xml(documents.fault(exc.code, exc.description, next_header), 500)
        if key == "UserInterface:X_AVM-DE_DoManualUpdate":
            self._spawn(self._fetch_firmware(device.state.get("update_url", "")))
        return _xml(documents.response(service.service_type, action, values, next_header))

    def _second_factor(self, key: str) -> None:
        if key not in self.device.second_factor:
            return
        state = self.two_factor.pop(key, "")
        if state == "confirm":
            return
        if state == "block":
            self.two_factor[key] = state
            raise Tr064Fault(867)
        if state == "busy":
            self.two_factor[key] = state
            raise Tr064Fault(868)
        raise Tr064Fault(866)

    def _authenticate(
        self,
        request: web.Request,
        header: contentauth.HeaderAuth | None,
        needs: bool,
        client: str,
        now: float,
    ) -> tuple[str | None, web.Response | None, str]:
        """(user, early answer, response header): digest or content level (§4.1)."""
        if not self.users.table:
            return None, None, ""  # no password configured: no login at all (§4.1)
        if header is not None and header.element in ("InitChallenge", "ClientAuth"):
            return self._content_auth(header, needs, client, now)
        authorization = request.headers.get("Authorization")
        if not needs and not authorization:
            return None, None, ""
        if self.throttle.blocked(client, now):
            return None, _html(503, "Service Unavailable"), ""
        verdict = self.digest.check(request.method, request.raw_path, authorization, now)
        if verdict.ok:
            self.throttle.succeeded(client)
            return verdict.username, None, ""
        if authorization and not verdict.stale:
            self.throttle.failed(client, now)
        challenges = self.digest.challenges(now, stale=verdict.stale)
        return None, _html(401, "Unauthorized", {"WWW-Authenticate": challenges[0]}), ""

    def _nonce(self, now: float) -> str:
        for old, issued in list(self.nonces.items()):
            if now - issued > 300.0:
                del self.nonces[old]
        nonce = secrets.token_hex(8).upper()
        self.nonces[nonce] = now
        return nonce

    def _content_auth(
        self, header: contentauth.HeaderAuth, needs: bool, client: str, now: float
    ) -> tuple[str | None, web.Response | None, str]:
        if self.throttle.blocked(client, now):
            return None, _html(503, "Service Unavailable"), ""
        user = header.get("UserID")
        if header.element == "ClientAuth":
            nonce = header.get("Nonce")
            password = self.users.password(user)
            good = (
                password is not None
                and nonce in self.nonces
                and header.get("Realm") == CONTENT_REALM
                and secrets.compare_digest(
                    header.get("Auth").lower(),
                    contentauth.auth_response(user, CONTENT_REALM, password, nonce),
                )
            )
            if good:
                self.nonces.pop(nonce, None)
                self.throttle.succeeded(client)
                nxt = documents.challenge(
                    "NextChallenge", "Authenticated", self._nonce(now), CONTENT_REALM
                )
                return user, None, nxt
            self.throttle.failed(client, now)
        elif not needs:
            return None, None, ""
        chal = documents.challenge("Challenge", "Unauthenticated", self._nonce(now), CONTENT_REALM)
        return None, _xml(documents.fault(503, None, chal), 500), ""

    # --- firmware --------------------------------------------------------------------------

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _fetch_firmware(self, url: str) -> None:
        """Fetch the image (a loopback ACS file server in tests), then "install" it."""
        device = self.device
        ok = False
        try:
            assert self.session is not None
            async with self.session.get(url, timeout=aiohttp.ClientTimeout(total=10)) as resp:
                data = await resp.content.read(64 * 1024 * 1024)
                ok = resp.status == 200 and len(data) > 0
        except (aiohttp.ClientError, OSError, TimeoutError, ValueError):
            ok = False
        now = self.clock()
        if not ok:
            device.pending_version = None
            device.update_state = "Failed"
            device.log.append("Firmware download failed")
            return
        device._go_down(now, "Installing firmware")

    # --- control endpoint ------------------------------------------------------------------

    def _local(self, request: web.Request) -> bool:
        try:
            return ipaddress.ip_address(request.remote or "").is_loopback
        except ValueError:
            return False

    async def _ctl_state(self, request: web.Request) -> web.Response:
        if not self._local(request):
            return _html(403, "Forbidden")
        d = self.device
        d.is_down(self.clock())
        return web.json_response(
            {
                "udn": d.udn,
                "mac": d.mac,
                "software_version": d.software_version,
                "reboots": d.reboots,
                "resets": d.resets,
                "down": d.down_until > 0,
                "wlan": d.state["wlan"],
                "dhcp": d.state["dhcp"],
                "eth_enable": d.state["eth_enable"],
                "provisioning_code": d.state["provisioning_code"],
                "ntp": d.state["ntp"],
                "hosts": d.state["hosts"],
                "transaction": d.transaction is not None,
                "update_state": d.update_state,
                "throttled": self.throttle.refused,
                "security_port": d.security_port,
            }
        )

    async def _ctl_faults(self, request: web.Request) -> web.Response:
        if not self._local(request):
            return _html(403, "Forbidden")
        knobs = await _knobs(request)
        try:
            self._apply_knobs(knobs)
        except (TypeError, ValueError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True})

    def _apply_knobs(self, knobs: dict[str, Any]) -> None:
        d = self.device
        if "second_factor" in knobs:
            d.second_factor = set(knobs["second_factor"])
        if "fail_actions" in knobs:
            d.fail_actions = set(knobs["fail_actions"])
        if "hidden_actions" in knobs:
            d.hidden_actions = set(knobs["hidden_actions"])
        if "reboot_delay" in knobs:
            d.reboot_delay = float(knobs["reboot_delay"])
        if "max_failures" in knobs:
            self.throttle.max_failures = int(knobs["max_failures"])
        if "lockout" in knobs:
            self.throttle.lockout = float(knobs["lockout"])

    async def _ctl_2fa(self, request: web.Request) -> web.Response:
        if not self._local(request):
            return _html(403, "Forbidden")
        knobs = await _knobs(request)
        state = str(knobs.get("state", "confirm"))
        if "action" not in knobs or state not in ("confirm", "block", "busy"):
            return web.json_response(
                {"error": "need action and state confirm|block|busy"}, status=400
            )
        self.two_factor[str(knobs["action"])] = state
        return web.json_response({"ok": True})

    async def _ctl_hosts(self, request: web.Request) -> web.Response:
        if not self._local(request):
            return _html(403, "Forbidden")
        knobs = await _knobs(request)
        hosts: list[dict[str, str]] = self.device.state["hosts"]
        if "add" in knobs:
            if not isinstance(knobs["add"], dict) or "MACAddress" not in knobs["add"]:
                return web.json_response({"error": "add needs a MACAddress"}, status=400)
            entry = {
                "AddressSource": "DHCP",
                "InterfaceType": "Ethernet",
                "Active": "1",
                "HostName": "",
                "IPAddress": "",
            }
            entry.update({k: str(v) for k, v in knobs["add"].items()})
            hosts.insert(int(knobs.get("at", 0)), entry)
        if "remove" in knobs:
            mac = str(knobs["remove"]).lower()
            hosts[:] = [h for h in hosts if h["MACAddress"].lower() != mac]
        self.device.changes += 1
        return web.json_response({"ok": True})


async def _knobs(request: web.Request) -> dict[str, Any]:
    """The JSON object of a control request; anything else is a 400 naming the problem."""
    try:
        body = await request.json()
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"expected a JSON object: {exc}") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="expected a JSON object")
    return body


def lab_mac(seed: str, index: int) -> str:
    """A stable locally administered MAC per device (12 upper-case hex digits)."""
    digest = uuid.uuid5(uuid.NAMESPACE_URL, f"{seed}:tr064:{index}").hex.upper()
    return "3A" + digest[:6] + f"{index:04X}"


class Tr064LabServer:
    """Runs the lab TR-064 devices; use as `async with` or `start()`/`stop()`."""

    def __init__(
        self,
        devices: int = 1,
        *,
        host: str = "127.0.0.1",
        user: str = "admin",
        password: str | None = None,
        seed: str = "proxier-lab",
        reboot_delay: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        interface: str | None = None,
        allow_lan_multicast: bool = False,
        ports: Sequence[int] = (),
    ) -> None:
        self.count = devices
        self.host = host
        self.seed = seed
        self.reboot_delay = reboot_delay
        self.clock = clock
        table: dict[str, tuple[str, str]] = {}
        if password:
            table = {user: (password, "CAPNH"), "app": (password, "A")}
        self.users = Users(table)
        self.servers: list[_DeviceServer] = []
        self._tmp: str | None = None
        self.interface = interface
        self.allow_lan_multicast = allow_lan_multicast
        self.responder: Announcer | None = None
        self.ports = tuple(ports)  # HTTP port per device (0 or missing: any free one)

    @property
    def description_urls(self) -> list[str]:
        return [s.description_url for s in self.servers]

    @property
    def devices(self) -> list[LabTr064Device]:
        return [s.device for s in self.servers]

    def server(self, index: int) -> _DeviceServer:
        return self.servers[index]

    def _tls(self) -> ssl.SSLContext:
        self._tmp = tempfile.mkdtemp(prefix="proxier-tr064-lab-")
        identity = ensure_identity(
            Path(self._tmp) / "tls", "FRITZ!Box lab", server=True, hosts=[self.host]
        )
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(certfile=str(identity.chain), keyfile=str(identity.key))
        return context

    async def start(self) -> None:
        try:
            tls = self._tls()
            for index in range(self.count):
                mac = lab_mac(self.seed, index)
                udn = f"uuid:{str(uuid.uuid5(uuid.NAMESPACE_URL, mac))[:24]}{mac}"
                device = LabTr064Device(
                    index, udn, mac, reboot_delay=self.reboot_delay, clock=self.clock
                )
                device.booted = self.clock()
                device.state["users"] = [u for u in self.users.table if u != "app"]
                server = _DeviceServer(device, self.users, self.host, tls, self.clock)
                self.servers.append(server)
                await server.start(self.ports[index] if index < len(self.ports) else 0)
            if self.interface:
                self.responder = Announcer(
                    self.interface,
                    lambda: self.devices,
                    allow_lan_multicast=self.allow_lan_multicast,
                    notify=False,
                )
                await self.responder.start()
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        if self.responder is not None:
            await self.responder.stop()
            self.responder = None
        for server in self.servers:
            await server.stop()
        self.servers = []
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    async def __aenter__(self) -> Tr064LabServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


__all__ = ["LabService", "Tr064LabServer", "lab_mac"]
