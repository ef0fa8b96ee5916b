"""The lab device's DeviceProtection:1 service (upnp-dm.md §6): ACL, roles, PKCS5 login.

One `LabProtection` per lab device. Callers are known by their TLS peer (`TlsPeer`, from the
HTTPS endpoint) or are None for plain HTTP. Roles of a call = Public ∪ the ACL roles of the
CP identity ∪ the roles of the user logged in on that TLS session (DP §2.3). The ACL (users,
CPs) persists in a JSON file; factory reset drops everything user-added. With a trusted CA
(TR-330 §4.8.1.1) a control point whose certificate that CA signed is added with Admin on its
first call. SendSetupMessage runs the WPS Enrollee (`lab/wps.py`, issue 9): a control point
that completes it is added with `introduced="1"` and the introduction roles (default Admin).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from lxml import etree

from proxier.dp import pkcs5
from proxier.lab.scpd import Action, ServiceDef, StateVar, check_arguments
from proxier.lab.tls_front import TlsPeer
from proxier.lab.wps import LabIntroduction
from proxier.logsafe import get_logger
from proxier.upnp.device import UpnpError
from proxier.xmlsafe import XmlError, local_name, parse_xml

if TYPE_CHECKING:
    from proxier.lab.device import LabDevice

_LOG = get_logger(__name__)
DP_NS = "urn:schemas-upnp-org:gw:DeviceProtection"
PUBLIC, BASIC, ADMIN = "Public", "Basic", "Admin"
ROLES = (PUBLIC, BASIC, ADMIN, "dm:ThirdPartyAdmin", "dm:UserAdmin")
ADMINISTRATOR = "Administrator"
MAX_LOGIN_FAILURES = 5  # DP: after about five failures the device drops the TLS session

#: upnp-dm.md §6.6 PROJECT CHOICE: DM actions that need Admin; every other DM action is
#: Public. Configurable per lab (`--action-roles`).
DEFAULT_ADMIN_ACTIONS = (
    "SetValues",
    "CreateInstance",
    "DeleteInstance",
    "SetAttributes",
    "SetAlarmsEnabled",
    "Reboot",
    "BaselineReset",
    "InterfaceReset",
    "SetLogInfo",
    "SetSequenceMode",
    "Install",
    "Update",
    "Uninstall",
    "Start",
    "Stop",
)

_B64 = "A_ARG_TYPE_Base64"
_STR = "A_ARG_TYPE_String"
DP = ServiceDef(
    "DP",
    "urn:schemas-upnp-org:service:DeviceProtection:1",
    "urn:upnp-org:serviceId:DeviceProtection1",
    (
        StateVar("SetupReady", "boolean", evented=True, default="1"),
        StateVar("SupportedProtocols"),
        StateVar("A_ARG_TYPE_ACL"),
        StateVar("A_ARG_TYPE_IdentityList"),
        StateVar("A_ARG_TYPE_Identity"),
        StateVar(_B64, "bin.base64"),
        StateVar(_STR),
    ),
    (
        Action(
            "SendSetupMessage",
            (("ProtocolType", _STR), ("InMessage", _B64)),
            (("OutMessage", _B64),),
        ),
        Action("GetSupportedProtocols", (), (("ProtocolList", "SupportedProtocols"),)),
        Action("GetAssignedRoles", (), (("RoleList", _STR),)),
        Action(
            "GetRolesForAction",
            (("DeviceUDN", _STR), ("ServiceId", _STR), ("ActionName", _STR)),
            (("RoleList", _STR), ("RestrictedRoleList", _STR)),
        ),
        Action(
            "GetUserLoginChallenge",
            (("ProtocolType", _STR), ("Name", _STR)),
            (("Salt", _B64), ("Challenge", _B64)),
        ),
        Action(
            "UserLogin",
            (("ProtocolType", _STR), ("Challenge", _B64), ("Authenticator", _B64)),
        ),
        Action("UserLogout"),
        Action("GetACLData", (), (("ACL", "A_ARG_TYPE_ACL"),)),
        Action(
            "AddIdentityList",
            (("IdentityList", "A_ARG_TYPE_IdentityList"),),
            (("IdentityListResult", "A_ARG_TYPE_IdentityList"),),
        ),
        Action("RemoveIdentity", (("Identity", "A_ARG_TYPE_Identity"),)),
        Action(
            "SetUserLoginPassword",
            (("ProtocolType", _STR), ("Name", _STR), ("Stored", _B64), ("Salt", _B64)),
        ),
        Action("AddRolesForIdentity", (("Identity", "A_ARG_TYPE_Identity"), ("RoleList", _STR))),
        Action("RemoveRolesForIdentity", (("Identity", "A_ARG_TYPE_Identity"), ("RoleList", _STR))),
    ),
)

#: DP actions: the roles that may call them (§6.4 recommended RoleList).
_DP_ROLES: Mapping[str, frozenset[str]] = {
    "SendSetupMessage": frozenset({PUBLIC}),
    "GetSupportedProtocols": frozenset({PUBLIC}),
    "GetAssignedRoles": frozenset({PUBLIC}),
    "UserLogout": frozenset({PUBLIC}),
    "GetRolesForAction": frozenset({BASIC, ADMIN}),
    "GetACLData": frozenset({BASIC, ADMIN}),
    "AddIdentityList": frozenset({BASIC, ADMIN}),
    "RemoveIdentity": frozenset({ADMIN}),
    "SetUserLoginPassword": frozenset({ADMIN}),
    "AddRolesForIdentity": frozenset({ADMIN}),
    "RemoveRolesForIdentity": frozenset({ADMIN}),
}


@dataclass(slots=True)
class User:
    roles: set[str]
    salt: bytes = b""
    stored: bytes = b""


@dataclass(slots=True)
class ControlPoint:
    name: str
    roles: set[str]
    introduced: bool = False
    preset: bool = False  # from --acl-cp / --trust-ca: kept across factory reset


@dataclass(slots=True)
class Acl:
    users: dict[str, User] = field(default_factory=dict)
    cps: dict[str, ControlPoint] = field(default_factory=dict)


def _norm(name: str) -> str:
    """DP: runs of whitespace in user names compare as one space."""
    return " ".join(name.split())


def _role_list(text: str) -> set[str]:
    return set(text.split())


def _x(tag: str) -> str:
    return f"{{{DP_NS}}}{tag}"


def _doc(root: etree._Element) -> str:
    return etree.tostring(root, encoding="unicode")


@dataclass(slots=True)
class DpSettings:
    """Lab-wide DP options (`proxier lab --dps …`)."""

    state_dir: Path
    trust_ca: Path | None = None
    admin_password: str = ""
    admin_name: str = ADMINISTRATOR
    acl_cps: tuple[tuple[str, str], ...] = ()  # (CP identity, space-separated roles)
    action_roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: WPS introduction: PIN mode (`--pin`), else push button (`POST /_lab/<udn>/press`)
    pin: str | None = None
    #: roles a control point gets when introduced (TR-330 §4.8.1.2 recommends Admin)
    intro_roles: tuple[str, ...] = (ADMIN,)

    def roles_for_dm(self, action: str) -> frozenset[str]:
        if action in self.action_roles:
            return self.action_roles[action]
        return frozenset({ADMIN}) if action in DEFAULT_ADMIN_ACTIONS else frozenset({PUBLIC})


class LabProtection:
    """DP state of one lab device; `device_id` is the identity of its TLS server certificate."""

    def __init__(self, settings: DpSettings, device_id: str, udn: str, acl_file: Path) -> None:
        self.settings = settings
        self.device_id = device_id
        self.udn = udn
        self.acl_file = acl_file
        self.acl = Acl()
        self.introduction: LabIntroduction | None = None  # set by enable_protection
        self.clock = time.monotonic
        self._trusted_ca: x509.Certificate | None = None
        if settings.trust_ca is not None:
            self._trusted_ca = x509.load_pem_x509_certificate(settings.trust_ca.read_bytes())
        self._load()

    # -- persistence --

    def _defaults(self) -> Acl:
        acl = Acl()
        admin = User({ADMIN})
        if self.settings.admin_password:
            admin.salt = secrets.token_bytes(pkcs5.SALT_BYTES)
            admin.stored = pkcs5.stored(
                self.settings.admin_name, self.settings.admin_password, admin.salt
            )
        acl.users[_norm(self.settings.admin_name)] = admin
        for cp_id, roles in self.settings.acl_cps:
            acl.cps[cp_id.lower()] = ControlPoint("", _role_list(roles) | {PUBLIC}, preset=True)
        return acl

    def _load(self) -> None:
        self.acl = self._defaults()
        try:
            doc = json.loads(self.acl_file.read_text())
        except FileNotFoundError:
            self._save()
            return
        except (OSError, ValueError) as exc:
            _LOG.warning(
                "%s: unreadable ACL %s (%s): starting from defaults", self.udn, self.acl_file, exc
            )
            return
        for name, u in doc.get("users", {}).items():
            if name == _norm(self.settings.admin_name) and self.settings.admin_password:
                continue  # the command line's password wins
            self.acl.users[name] = User(
                set(u["roles"]), bytes.fromhex(u["salt"]), bytes.fromhex(u["stored"])
            )
        for cp_id, c in doc.get("cps", {}).items():
            if cp_id in self.acl.cps:
                self.acl.cps[cp_id].roles |= set(c["roles"])
                continue
            self.acl.cps[cp_id] = ControlPoint(c["name"], set(c["roles"]), c["introduced"])

    def _save(self) -> None:
        doc = {
            "users": {
                n: {"roles": sorted(u.roles), "salt": u.salt.hex(), "stored": u.stored.hex()}
                for n, u in self.acl.users.items()
            },
            "cps": {
                i: {"name": c.name, "roles": sorted(c.roles), "introduced": c.introduced}
                for i, c in self.acl.cps.items()
            },
        }
        self.acl_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.acl_file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump(doc, f)
        os.replace(tmp, self.acl_file)

    def factory_reset(self) -> None:
        """DP: factory reset deletes user-added ACL data (presets stay: they are 'firmware')."""
        self.acl = self._defaults()
        self._save()

    # -- roles --

    def _carrier_admit(self, peer: TlsPeer) -> None:
        """TR-330 §4.8.1.1: a certificate signed by the pre-installed CA gets Admin."""
        if self._trusted_ca is None or peer.identity in self.acl.cps:
            return
        try:
            peer.chain[0].verify_directly_issued_by(self._trusted_ca)
        except (ValueError, TypeError, InvalidSignature):
            return
        self.acl.cps[peer.identity] = ControlPoint(peer.common_name, {PUBLIC, ADMIN})
        self._save()
        _LOG.info("%s: CP %s signed by the trusted CA: Admin", self.udn, peer.identity)

    def roles(self, peer: TlsPeer | None) -> set[str]:
        if peer is None:
            return {PUBLIC}
        self._carrier_admit(peer)
        roles = {PUBLIC}
        cp = self.acl.cps.get(peer.identity)
        if cp is not None:
            roles |= cp.roles
            user = self.acl.users.get(peer.user) if peer.user else None
            if user is not None:
                roles |= user.roles
        return roles

    def check(self, peer: TlsPeer | None, needed: Iterable[str], action: str) -> None:
        """606 unless the caller holds one of `needed` (Admin covers Basic, DP §2.3)."""
        wanted = set(needed)
        if PUBLIC in wanted:
            return
        held = self.roles(peer)
        if ADMIN in held or any(r.endswith("Admin") for r in held):
            held.add(BASIC)
        if held & wanted:
            return
        where = "over plain HTTP" if peer is None else f"with roles {' '.join(sorted(held))}"
        raise UpnpError(
            606, f"{action} requires role {' or '.join(sorted(wanted))}; called {where}"
        )

    def check_dm(self, peer: TlsPeer | None, action: str) -> None:
        self.check(peer, self.settings.roles_for_dm(action), action)

    # -- actions --

    def call(
        self, action_name: str, raw: dict[str, str], peer: TlsPeer | None
    ) -> list[tuple[str, str]]:
        action = DP.action(action_name)
        if action is None:
            raise UpnpError(401, f"no action {action_name} in DeviceProtection")
        args = check_arguments(DP, action, raw)
        needed = _DP_ROLES.get(action_name)
        if needed is not None:
            self.check(peer, needed, action_name)
        handler = getattr(self, f"_{action_name}")
        result: dict[str, str] = handler(args, peer)
        return [(name, result[name]) for name, _ in action.outs]

    def _SendSetupMessage(self, a: dict[str, str], peer: TlsPeer | None) -> dict[str, str]:
        if self.introduction is None:
            raise UpnpError(600, "no setup protocol on this device")
        identity = peer.identity if peer is not None else None
        out, done = self.introduction.message(
            a["ProtocolType"], a["InMessage"], identity, self.clock()
        )
        if done is not None and peer is not None:
            self._introduce(peer)
        return {"OutMessage": out}

    def _introduce(self, peer: TlsPeer) -> None:
        """WPS Done: the control point joins the ACL, introduced, with the intro roles."""
        roles = {PUBLIC, *self.settings.intro_roles}
        cp = self.acl.cps.get(peer.identity)
        if cp is None:
            self.acl.cps[peer.identity] = ControlPoint(peer.common_name, roles, introduced=True)
        else:
            cp.roles |= roles
            cp.introduced = True
        self._save()
        _LOG.info(
            "%s: CP %s (%s) introduced by WPS: %s",
            self.udn,
            peer.identity,
            peer.common_name,
            " ".join(sorted(roles)),
        )

    def _GetSupportedProtocols(self, a: dict[str, str], peer: TlsPeer | None) -> dict[str, str]:
        root = etree.Element(_x("SupportedProtocols"), nsmap={None: DP_NS})  # type: ignore[dict-item]
        etree.SubElement(etree.SubElement(root, _x("Introduction")), _x("Name")).text = "WPS"
        etree.SubElement(etree.SubElement(root, _x("Login")), _x("Name")).text = pkcs5.PROTOCOL
        return {"ProtocolList": _doc(root)}

    def _GetAssignedRoles(self, a: dict[str, str], peer: TlsPeer | None) -> dict[str, str]:
        return {"RoleList": " ".join(r for r in ROLES if r in self.roles(peer))}

    def _GetRolesForAction(self, a: dict[str, str], peer: TlsPeer | None) -> dict[str, str]:
        if a["DeviceUDN"] != self.udn:
            raise UpnpError(600, "unknown DeviceUDN")
        action = a["ActionName"]
        roles = _DP_ROLES.get(action) if "DeviceProtection" in a["ServiceId"] else None
        if roles is None:
            roles = self.settings.roles_for_dm(action)
        return {"RoleList": " ".join(sorted(roles)), "RestrictedRoleList": ""}

    def _in_acl(self, peer: TlsPeer | None, action: str) -> TlsPeer:
        if peer is None or peer.identity not in self.acl.cps:
            raise UpnpError(606, f"{action}: control point is not in the ACL")
        return peer

    def _GetUserLoginChallenge(self, a: dict[str, str], peer: TlsPeer | None) -> dict[str, str]:
        if a["ProtocolType"] != pkcs5.PROTOCOL:
            raise UpnpError(600, "unsupported login protocol")
        peer = self._in_acl(peer, "GetUserLoginChallenge")
        name = _norm(a["Name"])
        user = self.acl.users.get(name)
        if user is None or not user.stored:
            raise UpnpError(600, "unknown Name")
        cp_roles = self.acl.cps[peer.identity].roles
        if ADMIN in user.roles and not cp_roles & {BASIC, ADMIN}:
            # DP §6.4: a Public-only CP gets no challenge for an Admin account.
            raise UpnpError(606, "GetUserLoginChallenge for an Admin account requires role Basic")
        peer.challenge = secrets.token_bytes(pkcs5.CHALLENGE_BYTES)
        peer.challenge_name = name
        return {"Salt": pkcs5.b64(user.salt), "Challenge": pkcs5.b64(peer.challenge)}

    def _UserLogin(self, a: dict[str, str], peer: TlsPeer | None) -> dict[str, str]:
        if a["ProtocolType"] != pkcs5.PROTOCOL:
            raise UpnpError(600, "unsupported login protocol")
        peer = self._in_acl(peer, "UserLogin")
        try:
            challenge = pkcs5.unb64(a["Challenge"])
            sent = pkcs5.unb64(a["Authenticator"])
        except ValueError:
            raise UpnpError(600, "Challenge/Authenticator are not base64") from None
        if not peer.challenge or challenge != peer.challenge:
            raise UpnpError(600, "unknown Challenge")
        user = self.acl.users.get(peer.challenge_name)
        peer.challenge = b""
        if user is None or not pkcs5.verify(
            user.stored, challenge, self.device_id, peer.identity, sent
        ):
            peer.failures += 1
            if peer.failures >= MAX_LOGIN_FAILURES:
                _LOG.info("%s: %d failed logins: dropping the TLS session", self.udn, peer.failures)
                peer.close()
            raise UpnpError(701, "Authentication Failure")
        peer.user = peer.challenge_name  # a second login replaces the first
        peer.failures = 0
        return {}

    def _UserLogout(self, a: dict[str, str], peer: TlsPeer | None) -> dict[str, str]:
        if peer is not None:
            peer.user = ""
        return {}

    def _GetACLData(self, a: dict[str, str], peer: TlsPeer | None) -> dict[str, str]:
        self._in_acl(peer, "GetACLData")
        root = etree.Element(_x("ACL"), nsmap={None: DP_NS})  # type: ignore[dict-item]
        ids = etree.SubElement(root, _x("Identities"))
        for name, user in self.acl.users.items():
            u = etree.SubElement(ids, _x("User"))
            etree.SubElement(u, _x("Name")).text = name
            etree.SubElement(u, _x("RoleList")).text = " ".join(sorted(user.roles))
        for cp_id, cp in self.acl.cps.items():
            c = etree.SubElement(ids, _x("CP"), introduced="1" if cp.introduced else "0")
            etree.SubElement(c, _x("Name")).text = cp.name
            etree.SubElement(c, _x("ID")).text = cp_id
            etree.SubElement(c, _x("RoleList")).text = " ".join(sorted(cp.roles))
        roles = etree.SubElement(root, _x("Roles"))
        for role in ROLES:
            etree.SubElement(etree.SubElement(roles, _x("Role")), _x("Name")).text = role
        return {"ACL": _doc(root)}

    def _identities(self, text: str) -> list[tuple[str, str, str]]:
        """(kind "User"/"CP", Name, ID) of an Identities/Identity document; 600 if malformed."""
        try:
            root = parse_xml(text.encode("utf-8"))
        except XmlError as exc:
            raise UpnpError(600, f"bad identity document: {exc}") from None
        found: list[tuple[str, str, str]] = []
        for element in root.iter():
            if not isinstance(element.tag, str) or local_name(element) not in ("User", "CP"):
                continue
            fields = {
                local_name(c): (c.text or "").strip() for c in element if isinstance(c.tag, str)
            }
            found.append(
                (local_name(element), _norm(fields.get("Name", "")), fields.get("ID", "").lower())
            )
        return found

    def _AddIdentityList(self, a: dict[str, str], peer: TlsPeer | None) -> dict[str, str]:
        added = 0
        for kind, name, cp_id in self._identities(a["IdentityList"]):
            if kind == "User" and name and name not in self.acl.users:
                self.acl.users[name] = User({PUBLIC})
                added += 1
            elif kind == "CP" and cp_id and cp_id not in self.acl.cps:
                self.acl.cps[cp_id] = ControlPoint(name, {PUBLIC})
                added += 1
        if not added and not self._identities(a["IdentityList"]):
            raise UpnpError(600, "no identity in the list")
        self._save()
        root = etree.Element(_x("Identities"), nsmap={None: DP_NS})  # type: ignore[dict-item]
        for cp_id, cp in self.acl.cps.items():
            c = etree.SubElement(root, _x("CP"))
            etree.SubElement(c, _x("Name")).text = cp.name
            etree.SubElement(c, _x("ID")).text = cp_id
        return {"IdentityListResult": _doc(root)}

    def _one(self, text: str) -> tuple[str, str]:
        found = self._identities(text)
        if len(found) != 1:
            raise UpnpError(600, "Identity must hold exactly one User or CP")
        kind, name, cp_id = found[0]
        if kind == "User" and name in self.acl.users:
            return kind, name
        if kind == "CP" and cp_id in self.acl.cps:
            return kind, cp_id
        raise UpnpError(600, "identity is not in the ACL")

    def _RemoveIdentity(self, a: dict[str, str], peer: TlsPeer | None) -> dict[str, str]:
        kind, key = self._one(a["Identity"])
        if kind == "User":
            del self.acl.users[key]
        else:
            del self.acl.cps[key]
        self._save()
        return {}

    def _SetUserLoginPassword(self, a: dict[str, str], peer: TlsPeer | None) -> dict[str, str]:
        name = _norm(a["Name"])
        if a["ProtocolType"] != pkcs5.PROTOCOL or name not in self.acl.users:
            raise UpnpError(600, "unknown Name or protocol")
        try:
            stored, salt = pkcs5.unb64(a["Stored"]), pkcs5.unb64(a["Salt"])
        except ValueError:
            raise UpnpError(600, "Stored/Salt are not base64") from None
        if len(stored) != pkcs5.STORED_BYTES or not salt:
            raise UpnpError(600, "bad Stored or Salt length")
        user = self.acl.users[name]
        user.stored, user.salt = stored, salt
        self._save()
        return {}

    def _change_roles(self, a: dict[str, str], add: bool) -> dict[str, str]:
        kind, key = self._one(a["Identity"])
        roles = _role_list(a["RoleList"])
        if add and not roles <= set(ROLES):
            raise UpnpError(600, "unknown role")
        holder = self.acl.users[key] if kind == "User" else self.acl.cps[key]
        holder.roles = (holder.roles | roles) if add else ((holder.roles - roles) | {PUBLIC})
        self._save()
        return {}

    def _AddRolesForIdentity(self, a: dict[str, str], peer: TlsPeer | None) -> dict[str, str]:
        return self._change_roles(a, True)

    def _RemoveRolesForIdentity(self, a: dict[str, str], peer: TlsPeer | None) -> dict[str, str]:
        return self._change_roles(a, False)


async def enable_protection(device: LabDevice, settings: DpSettings, host: str, port: int) -> None:
    """Give `device` its DP identity (stable: kept under `settings.state_dir`), its ACL and
    its HTTPS endpoint relaying to the plain server at (host, port)."""
    from proxier.dbfile import private_dir
    from proxier.lab.publisher import Publisher
    from proxier.lab.tls_front import TlsFront, server_context
    from proxier.upnp.tls import dp_identity, ensure_identity

    private_dir(settings.state_dir)
    folder = private_dir(settings.state_dir / device.udn.removeprefix("uuid:"))
    files = ensure_identity(folder / "identity", device.friendly_name, server=True, hosts=[host])
    device_id = dp_identity(files.leaf_der)
    protection = LabProtection(settings, device_id, device.udn, folder / "acl.json")
    device.protection = protection

    def publish(ready: bool) -> None:
        device.publish("DP", {"SetupReady": "1" if ready else "0"})
        intro = protection.introduction
        if not ready and intro is not None:  # a run started: a stalled one must time out
            schedule_expiry(intro.run_timeout)

    def schedule_expiry(delay: float) -> None:
        import asyncio

        def check() -> None:
            intro = protection.introduction
            if intro is None or intro.run is None:
                return
            if not intro.expire(time.monotonic()):
                schedule_expiry(max(0.1, intro.last_at + intro.run_timeout - time.monotonic()))

        asyncio.get_running_loop().call_later(delay, check)

    def prompt() -> None:  # the lab console's "press the button" notice
        _LOG.warning(
            "%s: WPS introduction waiting: press the button (POST /_lab/%s/press) within 120 s",
            device.friendly_name,
            device.udn,
        )

    protection.introduction = LabIntroduction(
        device_identity=device_id,
        friendly_name=device.friendly_name,
        pin=settings.pin,
        publish=publish,
        prompt=prompt,
    )
    device.publishers["DP"] = Publisher()
    front = TlsFront(server_context(files.chain, files.key), host, port)
    await front.start()
    device.tls = front


def peer_of(device: LabDevice, peername: object) -> TlsPeer | None:
    """The TLS peer of a request on `device` (None: plain HTTP)."""
    return device.tls.peer_for(peername) if device.tls is not None else None
