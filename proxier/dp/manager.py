"""The proxier's DeviceProtection side: one `DpLink` per DP device, their security states.

How a DP device is reached (upnp-dm.md §6.1): SECURELOCATION (or an https description URL)
gives the secure description; description, SCPDs and every action go over mutual TLS with our
certificate, on one aiohttp session per device (one TLS context, keep-alive, one connection:
a DP login belongs to the TLS session, so all calls share it). After describing, the link
asks GetAssignedRoles, logs in when a `[[dps.login]]` entry matches, and keeps the state.

Eventing (DP:1 leaves GENA alone): DP protects actions; SUBSCRIBE is not an action and the
device's NOTIFY goes to the control point's plain HTTP callback, which DP:1 gives no TLS
form. What events carry is readable with Public Get* actions anyway. So subscriptions go to
the plain LOCATION's eventSubURLs and callbacks stay plain HTTP.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp

from proxier.config import DpsConfig, DpsLogin
from proxier.dp import identity as cp_identity
from proxier.dp.client import DpClient, dp_service
from proxier.dp.pins import PinStore, check_at_handshake
from proxier.dp.security import Security
from proxier.logsafe import get_logger
from proxier.upnp.client import SoapTransport
from proxier.upnp.description import DescribedDevice, DescribeResult, describe
from proxier.upnp.device import UpnpError
from proxier.upnp.tls import client_ssl_context, dp_identity

log = get_logger(__name__)

#: Hook for WPS introduction (issue 9): awaited with the link when a DP device gave the
#: proxier no Admin; it may run SendSetupMessage on `link.dp` / `link.transport.inner`
#: and returns True when the introduction changed the proxier's place in the ACL (roles are
#: then read again and the login, if configured, follows).
IntroduceHook = Callable[["DpLink"], Awaitable[bool]]


class DpManager:
    """Identity, pins, links and security states of every DP device of one proxier."""

    def __init__(
        self,
        config: DpsConfig,
        state_dir: str | Path,
        *,
        action_timeout: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        soap: Callable[..., SoapTransport] = SoapTransport,
    ) -> None:
        self.config = config
        #: makes each device's SOAP transport (the Proxier's times actions for /metrics)
        self.soap = soap
        self.identity = cp_identity.load(config.certificate, config.key, state_dir)
        self.pins = PinStore(Path(state_dir) / "dp" / "pins.json")
        self.action_timeout = action_timeout
        self.clock = clock
        self.states: dict[str, Security] = {}
        self.links: dict[str, DpLink] = {}
        self._secure: dict[str, str] = {}  # LOCATION → SECURELOCATION
        self.device_roots = (Path(config.device_ca),) if config.device_ca else ()
        #: presence probes only (no check: a refused device must still be seen, so that
        #: status can say why); each device's link has its own checked context
        self.context = client_ssl_context(self.identity.files)
        self.introduce: IntroduceHook | None = None  # issue 9 plugs WPS in here
        #: called with (udn, reason) when a device's certificate is refused (the virtual
        #: device manager takes it offline)
        self.on_refused: Callable[[str, str], None] | None = None

    def note_secure_location(self, location: str, secure_location: str) -> None:
        if secure_location:
            self._secure[location] = secure_location

    def secure_url(self, location: str) -> str:
        """The URL to describe a DP device at, or "" when it has no DeviceProtection."""
        if location in self._secure:
            return self._secure[location]
        return location if urlsplit(location).scheme == "https" else ""

    def state(self, udn: str) -> Security:
        return self.states.setdefault(udn, Security(udn))

    def login_for(self, udn: str, friendly_name: str, device_id: str) -> DpsLogin | None:
        keys = {udn, udn.removeprefix("uuid:"), friendly_name, device_id}
        for entry in self.config.login:
            if entry.match in keys:
                return entry
        return next((e for e in self.config.login if e.match == "*"), None)

    def link(self, udn: str, location: str) -> DpLink | None:
        secure = self.secure_url(location)
        if not secure:
            return None
        old = self.links.get(udn)
        if old is not None and old.secure_url == secure:
            return old
        link = DpLink(self, udn, location, secure)
        self.links[udn] = link
        if old is not None:
            old.close_soon()
        return link

    def trust(self, udn: str) -> None:
        """Accept the device's next certificate (`proxier devices trust`)."""
        self.pins.forget(udn)
        self.state(udn).error = ""

    def forget(self, udn: str) -> None:
        self.pins.forget(udn)
        self.states.pop(udn, None)
        link = self.links.pop(udn, None)
        if link is not None:
            link.close_soon()

    def status(self, udns: Sequence[str]) -> dict[str, Any]:
        """The API/status `security_detail` of a device (its `state` is `security`)."""
        for udn in udns:
            if udn in self.states:
                return {**self.states[udn].as_json(), "proxier_identity": self.identity.identity}
        return {"state": "plain", "proxier_identity": self.identity.identity}

    async def close(self) -> None:
        for link in self.links.values():
            await link.close()
        self.links.clear()


class DpLink:
    """One DP device: its TLS session, pin check, DP client and security state."""

    def __init__(self, manager: DpManager, udn: str, location: str, secure_url: str) -> None:
        self.manager = manager
        self.udn = udn
        self.location = location
        self.secure_url = secure_url
        self.security = manager.state(udn)
        self.device_der: bytes | None = None
        pinning = not manager.config.device_ca
        checker = manager.pins.checker(udn, pinning=pinning)

        def peer_check(der: bytes | None) -> None:
            try:
                checker(der)
            except Exception as exc:
                self.security.error = str(exc)
                log.warning("%s: device certificate refused: %s", udn, exc)
                if manager.on_refused is not None:
                    manager.on_refused(udn, str(exc))
                raise
            self.device_der = der

        self.peer_check = peer_check
        # One TLS context per device, checking its certificate inside the handshake.
        self.context = client_ssl_context(manager.identity.files, trust=manager.device_roots)
        check_at_handshake(self.context, peer_check)
        connector = aiohttp.TCPConnector(limit=1, ssl=self.context, keepalive_timeout=60)
        self.session = aiohttp.ClientSession(connector=connector)
        self.transport = ProtectedTransport(self)
        self.dp: DpClient | None = None
        self.friendly_name = ""

    @property
    def device_identity(self) -> str:
        return dp_identity(self.device_der) if self.device_der else ""

    async def describe(self) -> DescribeResult:
        result = await describe(
            self.session,
            self.secure_url,
            ssl_context=self.context,
            peer_check=self.peer_check,
        )
        if not result.devices and result.skipped:
            reason = result.skipped[0][1]
            if not self.security.error:
                self.security.error = f"secure description refused: {reason}"[:300]
        return result

    def adapt(self, described: DescribedDevice) -> DescribedDevice:
        """Event subscriptions go to the plain LOCATION (module docstring: GENA and DP:1)."""
        if self.location == self.secure_url:
            return described
        services = []
        for service in described.candidate.services:
            path = urlsplit(service.event_sub_url)
            plain = urljoin(self.location, path.path + (f"?{path.query}" if path.query else ""))
            services.append(
                dataclasses.replace(service, event_sub_url=plain if service.event_sub_url else "")
            )
        candidate = dataclasses.replace(described.candidate, services=tuple(services))
        return dataclasses.replace(described, candidate=candidate)

    async def attach(self, described: DescribedDevice) -> DescribedDevice | None:
        """The described device ready for the DM clients, or None (logged, in the state)."""
        described = self.adapt(described)
        try:
            await self.secure(described)
        except UpnpError as exc:
            self.security.error = f"DeviceProtection: {exc}"[:300]
            log.warning("%s: DeviceProtection setup failed: %s", self.udn, exc)
            return None
        return described

    async def secure(self, described: DescribedDevice) -> None:
        """GetAssignedRoles, then a login when one is configured and Admin is missing."""
        self.security.error = ""
        self.security.device_identity = self.device_identity
        self.friendly_name = described.candidate.friendly_name
        service = dp_service(described.candidate)
        if service is None:
            self.security.state = "plain"
            self.security.missing = "the device lists no DeviceProtection service"
            return
        self.dp = DpClient(self.transport.inner, service)
        await self.refresh()
        introduce = self.manager.introduce
        if self.security.state != "admin" and introduce is not None and await introduce(self):
            await self.refresh()
        if self.security.state != "admin":
            await self.login()

    def _entry(self) -> DpsLogin | None:
        return self.manager.login_for(self.udn, self.friendly_name, self.device_identity)

    async def refresh(self) -> None:
        assert self.dp is not None
        roles = await self.dp.get_assigned_roles()
        self.security.set_roles(
            roles, self.manager.identity.identity, login_configured=self._entry() is not None
        )
        log.info("%s: DP roles %s (%s)", self.udn, " ".join(roles), self.security.state)

    async def login(self) -> bool:
        """One PKCS5 login if an entry matches and the back-off allows; True on success."""
        entry = self._entry()
        if entry is None or self.dp is None:
            return False
        now = self.manager.clock()
        backoff = self.security.backoff
        if not backoff.allowed(now):
            return False
        try:
            await self.dp.login(
                entry.name, entry.password, self.device_identity, self.manager.identity.identity
            )
        except UpnpError as exc:
            if exc.code == 701:
                until = backoff.failed(now)
                self.security.login = (
                    f"failed as {entry.name}: 701 Authentication Failure; "
                    f"next try in {until - now:.0f} s"
                )
                log.warning("%s: DP login as %s refused (701); backing off", self.udn, entry.name)
            elif exc.code == 606:
                self.security.login = (
                    f"refused for {entry.name} (606): the proxier is not in the device's ACL "
                    "with Basic"
                )
                backoff.failed(now)  # nothing will change until the user acts
                log.warning("%s: DP login refused (606): %s", self.udn, exc.description)
            else:
                self.security.login = f"failed as {entry.name}: {exc}"[:200]
                log.warning("%s: DP login failed: %s", self.udn, exc)
            return False
        backoff.succeeded()
        self.security.login = f"ok as {entry.name}"
        await self.refresh()
        return True

    def close_soon(self) -> None:
        import asyncio

        task = asyncio.get_running_loop().create_task(self.close())
        task.add_done_callback(lambda t: None)

    async def close(self) -> None:
        await self.session.close()


class ProtectedTransport(SoapTransport):
    """The DM services' transport for a DP device: TLS only, one re-login on 606, and a 606
    that names the missing role (its fault string reaches the ACS through Table 2)."""

    def __init__(self, link: DpLink) -> None:
        super().__init__(
            link.session,
            timeout=link.manager.action_timeout,
            ssl_context=link.context,
            peer_check=link.peer_check,
        )
        self.link = link
        self.inner = link.manager.soap(
            link.session,
            timeout=link.manager.action_timeout,
            ssl_context=link.context,
            peer_check=link.peer_check,
        )

    async def invoke(
        self,
        control_url: str,
        service_type: str,
        action: str,
        arguments: Sequence[tuple[str, str]] = (),
        out: Sequence[str] = (),
        *,
        time_limit: float | None = None,
    ) -> Mapping[str, str]:
        if urlsplit(control_url).scheme != "https":
            raise UpnpError(606, f"{action}: a DP device's actions are never sent over plain HTTP")
        first: UpnpError | None = None
        for attempt in range(2):
            # A 606 may mean a new TLS session (reconnect): the login belonged to the old one.
            if attempt and not await self.link.login():
                break
            try:
                return await self.inner.invoke(
                    control_url, service_type, action, arguments, out, time_limit=time_limit
                )
            except UpnpError as exc:
                if exc.code != 606:
                    raise
                first = exc
        assert first is not None
        security = self.link.security
        held = " ".join(security.roles) or "Public"
        raise UpnpError(
            606,
            f"{action} requires role Admin; the proxier holds {held}"
            + (f" (missing {security.missing})" if security.missing else "")
            + (f" [device: {first.description}]" if first.description else ""),
        )
