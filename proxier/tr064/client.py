"""A thin async TR-064 client: describe, security port, authenticated calls, back-off.

After attaching it parses every SCPD (guide §6: arguments change between firmware versions)
and builds each call from the device's own argument list; an action the device lacks is
reported as UPnP 401 without asking. Once DeviceInfo:GetSecurityPort is known, calls go over
HTTPS to that port with the certificate pinned on first use (§4.2). Authentication is HTTP
digest (MD5, §4.1), content level (§4.1.2, `contentauth`) or "auto" (digest unless the
device's 401 offers none). A refused login (401 after our credentials) or 503 throttling
(§4.1.1) blocks further calls for a growing back-off, so a device that refuses is never
hammered.
"""

from __future__ import annotations

import contextlib
import os
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from proxier.cwmp.digest import digest_response, parse_auth_params
from proxier.logsafe import get_logger
from proxier.tr064 import contentauth
from proxier.tr064.description import (
    Tr064Description,
    in_arguments,
    out_arguments,
    parse_tr064_scpd,
    parse_tr64desc,
)
from proxier.tr064.errors import LoginError
from proxier.upnp import soap
from proxier.upnp.description import DescriptionError, Scpd
from proxier.upnp.device import UpnpError
from proxier.upnp.http import HttpFetchError, HttpResult, bounded_request
from proxier.upnp.pins import PinStore
from proxier.upnp.tls import PinError
from proxier.xmlsafe import XmlError, local_name, parse_xml

log = get_logger(__name__)

BACKOFF_MIN = 30.0
BACKOFF_MAX = 900.0


@dataclass(frozen=True, slots=True)
class Login:
    """Credentials for one device (`[[tr064.login]]`); `auth` is digest, content or auto."""

    user: str
    password: str = field(repr=False)
    auth: str = "auto"


@dataclass
class _Digest:
    realm: str
    nonce: str
    opaque: str | None
    nc: int = 0


class Tr064Client:
    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        login: Login | None,
        *,
        pins: PinStore | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 10.0,
        use_tls: bool = True,
    ) -> None:
        self.session = session
        self.url = url
        self.login = login
        self.pins = pins or PinStore()
        self.clock = clock
        self.timeout = timeout
        self.use_tls = use_tls
        self.description: Tr064Description | None = None
        self.scpds: dict[str, Scpd] = {}
        self.security_port: int | None = None
        self.scheme = (login.auth if login else "auto").lower()
        self._digest: _Digest | None = None
        self._content_nonce: tuple[str, str] | None = None  # (nonce, realm)
        self.blocked_until = 0.0
        self._backoff = BACKOFF_MIN
        self.requests = 0  # requests sent (tests check there is no storm)
        #: told (UDN, why) when the HTTPS side presents another certificate than the pinned
        #: one (proxier.tr064.virtual takes the device offline, as DP does)
        self.on_refused: Callable[[str, str], None] | None = None
        self._tls = ssl.create_default_context()
        self._tls.check_hostname = False
        self._tls.verify_mode = ssl.CERT_NONE  # self-signed: pinned on first use instead

    def set_login(self, login: Login | None) -> None:
        """Credentials chosen once the description told who the device is."""
        self.login = login
        self.scheme = (login.auth if login else "auto").lower()
        self._digest = self._content_nonce = None

    # --- attach --------------------------------------------------------------------------

    async def attach(self) -> Tr064Description:
        """Fetch tr64desc.xml and every SCPD, then learn the security port."""
        result = await self._get(self.url)
        if result.status != 200:
            raise DescriptionError(f"GET {self.url} answered HTTP {result.status}")
        description = parse_tr64desc(result.body, result.url)
        scpds: dict[str, Scpd] = {}
        for service in description.services:
            scpd = await self._get(service.scpd_url)
            if scpd.status != 200:
                raise DescriptionError(f"SCPD {service.scpd_url} answered HTTP {scpd.status}")
            scpds[service.key] = parse_tr064_scpd(scpd.body)
        self.description, self.scpds = description, scpds
        if self.use_tls and self.offers("DeviceInfo:1", "GetSecurityPort"):
            try:
                port = (await self.call("DeviceInfo:1", "GetSecurityPort"))["NewSecurityPort"]
                self.security_port = int(port) if 0 < int(port) < 65536 else None
            except (UpnpError, ValueError) as exc:
                log.info("%s: no security port (%s); staying on HTTP", description.udn, exc)
        return description

    async def certificate_refusal(self) -> str:
        """After `attach`: why the HTTPS side's certificate is refused (another one than the
        pinned one), or "" (accepted, pinned now on first contact, or no HTTPS side). The
        description is plain HTTP: only a handshake on the security port shows a change."""
        if self.security_port is None or self.description is None:
            return ""
        refused: list[str] = []
        check = self._peer_check(self.description.udn)

        def noted(der: bytes | None) -> None:
            try:
                check(der)
            except PinError as exc:
                refused.append(str(exc))
                raise

        with contextlib.suppress(HttpFetchError):  # the HTTP answer itself does not matter
            await bounded_request(
                self.session,
                "GET",
                self._control_url(self.url),
                time_limit=self.timeout,
                ssl_context=self._tls,
                peer_check=noted,
            )
        return refused[0] if refused else ""

    def _peer_check(self, udn: str) -> Callable[[bytes | None], None]:
        def check(der: bytes | None) -> None:
            try:
                self.pins.check(udn, der)
            except PinError as exc:
                if self.on_refused is not None:
                    self.on_refused(udn, str(exc))
                raise

        return check

    async def _get(self, url: str) -> HttpResult:
        try:
            return await bounded_request(self.session, "GET", url, time_limit=self.timeout)
        except HttpFetchError as exc:
            raise DescriptionError(str(exc)) from None

    def offers(self, key: str, action: str) -> bool:
        scpd = self.scpds.get(key)
        return scpd is not None and action in scpd.actions

    # --- calls ---------------------------------------------------------------------------

    def _control_url(self, url: str) -> str:
        if self.security_port is None:
            return url
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = f"[{host}]:{self.security_port}" if ":" in host else f"{host}:{self.security_port}"
        return urlunsplit(("https", netloc, parts.path, parts.query, ""))

    async def call(
        self, key: str, action: str, arguments: Mapping[str, str] | None = None
    ) -> dict[str, str]:
        """Invoke `action` of service `key` ("WLANConfiguration:2"); raise `UpnpError`."""
        assert self.description is not None, "attach() first"
        service = self.description.service(key)
        scpd = self.scpds.get(key)
        if service is None or scpd is None or action not in scpd.actions:
            raise UpnpError(401, f"{key} offers no {action}")
        now = self.clock()
        if now < self.blocked_until:
            raise LoginError(
                True,
                f"the device refused our login; not asking again for "
                f"{self.blocked_until - now:.0f} s (check [[tr064.login]])",
            )
        given = dict(arguments or {})
        args = [(name, given.get(name, "")) for name in in_arguments(scpd, action)]
        headers, body = soap.build_request(service.service_type, action, args)
        url = self._control_url(service.control_url)
        answer = await self._authenticated(url, headers, body, action)
        values = soap.parse_response(action, answer.status, answer.body)
        wanted = out_arguments(scpd, action)
        return {name: values.get(name, "") for name in wanted} | dict(values)

    async def _post(self, url: str, headers: Mapping[str, str], body: bytes) -> HttpResult:
        self.requests += 1
        tls = url.startswith("https:")
        udn = self.description.udn if self.description else url
        try:
            return await bounded_request(
                self.session,
                "POST",
                url,
                headers=headers,
                data=body,
                time_limit=self.timeout,
                ssl_context=self._tls if tls else None,
                peer_check=self._peer_check(udn) if tls else None,
            )
        except HttpFetchError as exc:
            raise UpnpError(0, str(exc)) from None

    def _refused(self, throttled: bool, why: str) -> LoginError:
        now = self.clock()
        self.blocked_until = now + self._backoff
        self._backoff = min(self._backoff * 2, BACKOFF_MAX)
        log.warning(
            "%s: %s; backing off %.0f s",
            self.description.udn if self.description else self.url,
            why,
            self.blocked_until - now,
        )
        return LoginError(
            throttled, f"{why}; not asking again for {self.blocked_until - now:.0f} s"
        )

    async def _authenticated(
        self, url: str, headers: Mapping[str, str], body: bytes, action: str
    ) -> HttpResult:
        if self.scheme == "content" and self.login is not None:
            return await self._content(url, headers, body)
        answer = await self._post(url, self._with_digest(url, headers), body)
        if answer.status == 401 and self.login is not None:
            challenge = answer.headers.get("www-authenticate", "")
            if not challenge.lower().startswith("digest"):
                if self.scheme == "auto":
                    self.scheme = "content"  # the device's answer chooses (issue 10)
                    return await self._content(url, headers, body)
                raise self._refused(False, "the device offers no HTTP digest login")
            # a fresh challenge (first call, or our cached nonce expired): one try decides
            params = parse_auth_params(challenge.partition(" ")[2])
            self._digest = _Digest(
                params.get("realm", ""), params.get("nonce", ""), params.get("opaque")
            )
            answer = await self._post(url, self._with_digest(url, headers), body)
        self._check_http(answer)
        return answer

    def _check_http(self, answer: HttpResult) -> None:
        if answer.status == 503 and not _is_soap(answer):
            raise self._refused(True, "the device throttles logins (HTTP 503)")
        if answer.status == 401:
            if self.login is None:
                raise self._refused(False, "the device wants a login; configure [[tr064.login]]")
            raise self._refused(False, "the device refused our user or password (HTTP 401)")
        self._backoff = BACKOFF_MIN

    def _with_digest(self, url: str, headers: Mapping[str, str]) -> dict[str, str]:
        out = dict(headers)
        if self.login is None or self._digest is None:
            return out
        d = self._digest
        d.nc += 1
        nc = f"{d.nc:08x}"
        cnonce = os.urandom(8).hex()
        parts = urlsplit(url)
        uri = parts.path + (f"?{parts.query}" if parts.query else "")
        response = digest_response(
            algorithm="MD5",
            username=self.login.user,
            realm=d.realm,
            password=self.login.password,
            method="POST",
            uri=uri,
            nonce=d.nonce,
            nc=nc,
            cnonce=cnonce,
            qop="auth",
        )
        value = (
            f'Digest username="{_q(self.login.user)}", realm="{_q(d.realm)}", '
            f'nonce="{_q(d.nonce)}", uri="{_q(uri)}", response="{response}", '
            f'algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}"'
        )
        if d.opaque is not None:
            value += f', opaque="{_q(d.opaque)}"'
        out["Authorization"] = value
        return out

    async def _content(self, url: str, headers: Mapping[str, str], body: bytes) -> HttpResult:
        """Content-level authentication (§4.1.2, §10.7): at most one fresh challenge."""
        assert self.login is not None
        user, password = self.login.user, self.login.password
        for attempt in range(2):
            if self._content_nonce is None:
                answer = await self._post(
                    url, headers, _with_header(body, contentauth.init_challenge(user))
                )
            else:
                nonce, realm = self._content_nonce
                header = contentauth.client_auth(user, realm, password, nonce)
                answer = await self._post(url, headers, _with_header(body, header))
            self._check_http(answer)
            auth = contentauth.read_header(answer.body)
            if auth is not None and auth.get("Nonce"):
                self._content_nonce = (auth.get("Nonce"), auth.get("Realm"))
            if auth is None or auth.element == "NextChallenge":
                return answer
            if attempt == 1:  # a second Challenge: the password is wrong
                raise self._refused(False, "the device refused our user or password (content)")
        return answer


def _q(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _is_soap(answer: HttpResult) -> bool:
    try:
        root = parse_xml(answer.body, max_bytes=1024 * 1024)
    except XmlError:
        return False
    return local_name(root) == "Envelope"


def _with_header(body: bytes, header: str) -> bytes:
    """Insert an s:Header before s:Body of an envelope built by `soap.build_request`."""
    return body.replace(b"<s:Body>", f"<s:Header>{header}</s:Header><s:Body>".encode(), 1)
