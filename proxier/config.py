"""The proxier's TOML configuration: typed, validated, with errors that name the key.

Operators and scripts rely on the key names (issue 2 lists the required ones); every other
key has a default so a minimal file works. Unknown keys are errors, because a typo that is
silently ignored is worse on a gateway than a refusal to start.
"""

from __future__ import annotations

import ipaddress
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from proxier.cwmp.ratelimit import DEFAULT_RATE_LIMIT, DEFAULT_RATE_WINDOW
from proxier.wsc.crypto import pin_valid

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


class ConfigError(ValueError):
    """A configuration problem; `key` is the dotted TOML key ("acs.url")."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}" if key else problem)
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class AcsConfig:
    url: str
    username: str = ""
    password: str = field(default="", repr=False)
    ca_file: str = ""
    verify_tls: bool = True
    periodic_inform_enable: bool = True
    periodic_inform_interval: int = 3600
    session_timeout: int = 60
    max_parallel_sessions: int = 16
    #: New sessions per second across all virtual devices; 0 = unlimited (a storm).
    session_rate: float = 0.0
    #: Answer a Basic challenge from an http:// ACS with the password (readable on the wire).
    allow_basic_over_http: bool = False


@dataclass(frozen=True, slots=True)
class ConnectionRequestConfig:
    bind: str = "127.0.0.1"
    port: int = 7548
    host: str = "127.0.0.1"
    #: Initial ConnectionRequestUsername/Password of every virtual device; empty = a random
    #: pair per device (the ACS provisions its own with SetParameterValues, as GenieACS does).
    username: str = ""
    password: str = field(default="", repr=False)
    #: TR-069 §3.2.2 restriction, per device: a token bucket of `rate_limit` requests
    #: refilled over `rate_window` seconds (an ACS may burst; a flood is held to the rate).
    rate_limit: int = DEFAULT_RATE_LIMIT
    rate_window: float = DEFAULT_RATE_WINDOW


@dataclass(frozen=True, slots=True)
class UpnpConfig:
    interfaces: tuple[str, ...] = ()
    search_interval: int = 300
    description_urls: tuple[str, ...] = ()
    #: How often each description URL is fetched, and after how many failures in a row the
    #: device counts as gone (the no-multicast path has no leases or byebye).
    probe_interval: float = 30.0
    probe_failures: int = 3
    allow_lan_multicast: bool = False
    action_timeout: float = 10.0
    #: Seconds a device rebooted or reset by the ACS may stay away before it is reported
    #: offline (its state and pending events are kept for when it returns).
    return_wait: float = 300.0
    client_cert: str = ""
    client_key: str = ""
    #: GENA CALLBACK address; empty: the local address of the path to each device
    callback_host: str = ""
    #: Admission of new LAN identities (`proxier.virtual.admission`): at most this many
    #: virtual devices, this many new ones a minute (token bucket), and offline ones are
    #: forgotten after this many days.
    max_devices: int = 128
    max_new_devices_per_minute: int = 32
    prune_offline_days: float = 30.0


@dataclass(frozen=True, slots=True)
class DpsLogin:
    """One `[[dps.login]]` entry: which devices (`match`: UDN, friendly name, DP device
    identity or "*") get a PKCS5 login with this user Name and password (DP:1 §2.3)."""

    match: str
    name: str
    password: str = field(default="", repr=False)


@dataclass(frozen=True, slots=True)
class DpsPin:
    """One `[[dps.pin]]` entry: the WPS device PIN (from the device's label or screen) of
    the devices `match` names (UDN, friendly name, DP device identity or "*"), matched
    like `[[dps.login]]` (issue 9)."""

    match: str
    pin: str = field(default="", repr=False)


#: `[dps] introduction`: how a DP device that gives us no Admin is introduced (issue 9).
INTRODUCTIONS = ("none", "pbc", "pin")


@dataclass(frozen=True, slots=True)
class DpsConfig:
    """DeviceProtection (TR-330 §2.3, §4.8): our CP identity and how devices are trusted."""

    certificate: str = ""  # PEM chain (leaf + root); empty: generated under state.dir
    key: str = ""
    device_ca: str = ""  # verify device chains against this CA instead of pinning
    login: tuple[DpsLogin, ...] = ()
    introduction: str = "none"
    pin: tuple[DpsPin, ...] = ()


@dataclass(frozen=True, slots=True)
class PrivacyConfig:
    """TR-330 §2.4: "approve" holds a new device back from the ACS until the user says so."""

    mode: str = "approve"  # README: nothing reaches the operator before the user says so


@dataclass(frozen=True, slots=True)
class StateConfig:
    dir: str = "/var/lib/proxier"


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: str = "info"
    #: "text" (one line per record) or "json" (one object per line).
    format: str = "text"
    #: "stderr" (journald, procd and terminals read it) or "syslog" (/dev/log).
    target: str = "stderr"


@dataclass(frozen=True, slots=True)
class ProxierIdentity:
    """The proxier's own DeviceId: named in each virtual device's DeviceInfo.ProxierInfo."""

    manufacturer: str = "proxier"
    oui: str = "00D09E"
    product_class: str = "TR330-Proxier"
    #: Empty: derived from the gateway and kept in the state dir (`proxier.gatewayid`).
    serial_number: str = ""
    #: Serve the proxier's own Device:2 model (VirtualDevice table) over CWMP to the ACS too.
    cwmp: bool = False


@dataclass(frozen=True, slots=True)
class LocalApiConfig:
    """HTTP API for status, control and embedding tools (`proxier status`, docs/api.md)."""

    enable: bool = True
    bind: str = "127.0.0.1"
    port: int = 7549
    #: Also (or, with enable = false, only) serve on this unix socket: its file mode is the auth.
    socket: str = ""
    #: TCP clients need `Authorization: Bearer <state.dir>/api-token`; only a loopback bind
    #: may turn it off.
    token: bool = True
    #: Serve the lab console page at /console/.
    console: bool = False
    #: REST base URL of a `proxier labacs serve` the console may queue RPCs on (lab only).
    lab_acs: str = ""


@dataclass(frozen=True, slots=True)
class Tr064Login:
    """One `[[tr064.login]]` entry: credentials for the TR-064 devices `match` names (UDN,
    friendly name, MAC or "*"); `auth` is "digest", "content" or "auto" (issue 10)."""

    match: str
    user: str = ""
    password: str = field(default="", repr=False)
    auth: str = "auto"


TR064_AUTH = ("digest", "content", "auto")


@dataclass(frozen=True, slots=True)
class Config:
    acs: AcsConfig
    connection_request: ConnectionRequestConfig = ConnectionRequestConfig()
    upnp: UpnpConfig = UpnpConfig()
    state: StateConfig = StateConfig()
    log: LogConfig = LogConfig()
    proxier: ProxierIdentity = ProxierIdentity()
    api: LocalApiConfig = LocalApiConfig()
    dps: DpsConfig = DpsConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    tr064_logins: tuple[Tr064Login, ...] = ()


# --- validation helpers ----------------------------------------------------------------------


class _Section:
    """Reads one TOML table, checking types and remembering which keys were consumed."""

    def __init__(self, name: str, data: object) -> None:
        if not isinstance(data, dict):
            raise ConfigError(name, "must be a table")
        self.name = name
        self.data: dict[str, Any] = data
        self.seen: set[str] = set()

    def key(self, k: str) -> str:
        return f"{self.name}.{k}"

    def _get(self, k: str, default: Any, kinds: tuple[type, ...], what: str) -> Any:
        self.seen.add(k)
        if k not in self.data:
            return default
        value = self.data[k]
        if isinstance(value, bool) and bool not in kinds:
            raise ConfigError(self.key(k), f"must be {what}, not a boolean")
        if not isinstance(value, kinds):
            raise ConfigError(self.key(k), f"must be {what}, got {type(value).__name__}")
        return value

    def text(self, k: str, default: str = "") -> str:
        return str(self._get(k, default, (str,), "a string"))

    def flag(self, k: str, default: bool) -> bool:
        return bool(self._get(k, default, (bool,), "true or false"))

    def integer(self, k: str, default: int, lo: int, hi: int) -> int:
        value = int(self._get(k, default, (int,), "an integer"))
        if not lo <= value <= hi:
            raise ConfigError(self.key(k), f"must be between {lo} and {hi}, got {value}")
        return value

    def number(self, k: str, default: float, lo: float, hi: float) -> float:
        value = float(self._get(k, default, (int, float), "a number"))
        if not lo <= value <= hi:
            raise ConfigError(self.key(k), f"must be between {lo} and {hi}, got {value}")
        return value

    def texts(self, k: str) -> tuple[str, ...]:
        value = self._get(k, [], (list,), "a list of strings")
        if not all(isinstance(v, str) for v in value):
            raise ConfigError(self.key(k), "must be a list of strings")
        return tuple(value)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            raise ConfigError(self.key(unknown[0]), "unknown key")


def _check_url(key: str, url: str, schemes: tuple[str, ...]) -> None:
    parts = urlsplit(url)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(key, f"must be a {'/'.join(schemes)} URL with a host, got {url!r}")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise ConfigError(key, f"has an invalid port: {url!r}") from None


def _check_address(key: str, value: str) -> None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ConfigError(key, f"must be an IP address, got {value!r}") from None


def _check_oui(key: str, value: str) -> None:
    if len(value) != 6 or any(c not in "0123456789ABCDEF" for c in value):
        raise ConfigError(key, f"must be 6 upper-case hex digits, got {value!r}")


def from_dict(data: dict[str, Any]) -> Config:
    """Build a Config from parsed TOML, raising ConfigError on the first problem."""
    known = {"acs", "connection_request", "upnp", "state", "log", "proxier", "api", "tr064"}
    known |= {"dps", "privacy"}
    for top in data:
        if top not in known:
            raise ConfigError(top, "unknown section")
    if "acs" not in data:
        raise ConfigError("acs", "missing section (at least acs.url is required)")

    s = _Section("acs", data["acs"])
    if "url" not in s.data:
        raise ConfigError("acs.url", "missing (the ACS URL every virtual device informs to)")
    acs = AcsConfig(
        url=s.text("url"),
        username=s.text("username"),
        password=s.text("password"),
        ca_file=s.text("ca_file"),
        verify_tls=s.flag("verify_tls", True),
        periodic_inform_enable=s.flag("periodic_inform_enable", True),
        periodic_inform_interval=s.integer("periodic_inform_interval", 3600, 1, 2**31 - 1),
        session_timeout=s.integer("session_timeout", 60, 5, 3600),
        max_parallel_sessions=s.integer("max_parallel_sessions", 16, 1, 1024),
        session_rate=s.number("session_rate", 0.0, 0.0, 100000.0),
        allow_basic_over_http=s.flag("allow_basic_over_http", False),
    )
    s.finish()
    _check_url("acs.url", acs.url, ("http", "https"))
    if acs.ca_file and not Path(acs.ca_file).is_file():
        raise ConfigError("acs.ca_file", f"no such file: {acs.ca_file}")

    s = _Section("connection_request", data.get("connection_request", {}))
    cr = ConnectionRequestConfig(
        bind=s.text("bind", "127.0.0.1"),
        port=s.integer("port", 7548, 0, 65535),
        host=s.text("host", "127.0.0.1"),
        username=s.text("username"),
        password=s.text("password"),
        rate_limit=s.integer("rate_limit", DEFAULT_RATE_LIMIT, 1, 100_000),
        rate_window=s.number("rate_window", DEFAULT_RATE_WINDOW, 1.0, 86400.0),
    )
    s.finish()
    _check_address("connection_request.bind", cr.bind)
    if not cr.host:
        raise ConfigError("connection_request.host", "must not be empty")

    s = _Section("upnp", data.get("upnp", {}))
    upnp = UpnpConfig(
        interfaces=s.texts("interfaces"),
        search_interval=s.integer("search_interval", 300, 5, 86400),
        description_urls=s.texts("description_urls"),
        probe_interval=s.number("probe_interval", 30.0, 0.05, 86400.0),
        probe_failures=s.integer("probe_failures", 3, 1, 100),
        allow_lan_multicast=s.flag("allow_lan_multicast", False),
        action_timeout=s.number("action_timeout", 10.0, 0.1, 300.0),
        return_wait=s.number("return_wait", 300.0, 0.1, 86400.0),
        client_cert=s.text("client_cert"),
        client_key=s.text("client_key"),
        callback_host=s.text("callback_host"),
        max_devices=s.integer("max_devices", 128, 1, 100_000),
        max_new_devices_per_minute=s.integer("max_new_devices_per_minute", 32, 1, 100_000),
        prune_offline_days=s.number("prune_offline_days", 30.0, 0.001, 36500.0),
    )
    s.finish()
    if upnp.callback_host:
        _check_address("upnp.callback_host", upnp.callback_host)
    for i, url in enumerate(upnp.description_urls):
        _check_url(f"upnp.description_urls[{i}]", url, ("http", "https"))

    s = _Section("state", data.get("state", {}))
    state = StateConfig(dir=s.text("dir", "/var/lib/proxier"))
    s.finish()
    if not state.dir:
        raise ConfigError("state.dir", "must not be empty")

    s = _Section("log", data.get("log", {}))
    log = LogConfig(
        level=s.text("level", "info").lower(),
        format=s.text("format", "text"),
        target=s.text("target", "stderr"),
    )
    s.finish()
    if log.level not in LOG_LEVELS:
        raise ConfigError("log.level", f"must be one of {', '.join(LOG_LEVELS)}")
    if log.format not in ("text", "json"):
        raise ConfigError("log.format", 'must be "text" or "json"')
    if log.target not in ("stderr", "syslog"):
        raise ConfigError("log.target", 'must be "stderr" or "syslog"')

    s = _Section("proxier", data.get("proxier", {}))
    base = ProxierIdentity()
    ident = ProxierIdentity(
        manufacturer=s.text("manufacturer", base.manufacturer),
        oui=s.text("oui", base.oui),
        product_class=s.text("product_class", base.product_class),
        serial_number=s.text("serial_number", base.serial_number),
        cwmp=s.flag("cwmp", False),
    )
    s.finish()
    _check_oui("proxier.oui", ident.oui)

    s = _Section("api", data.get("api", {}))
    api = LocalApiConfig(
        enable=s.flag("enable", True),
        bind=s.text("bind", "127.0.0.1"),
        port=s.integer("port", 7549, 0, 65535),
        socket=s.text("socket"),
        token=s.flag("token", True),
        console=s.flag("console", False),
        lab_acs=s.text("lab_acs"),
    )
    s.finish()
    if api.lab_acs:
        _check_url("api.lab_acs", api.lab_acs, ("http", "https"))
    _check_address("api.bind", api.bind)
    if api.enable and not api.token and not ipaddress.ip_address(api.bind).is_loopback:
        raise ConfigError(
            "api.token",
            f"must be true when api.bind ({api.bind}) is not a loopback address: "
            "anyone on the network could control the proxier",
        )

    dps = _dps(data.get("dps", {}), upnp)
    s = _Section("privacy", data.get("privacy", {}))
    privacy = PrivacyConfig(mode=s.text("mode", "approve"))
    s.finish()
    if privacy.mode not in ("approve", "auto"):
        raise ConfigError("privacy.mode", f'must be "approve" or "auto", got {privacy.mode!r}')

    return Config(
        dps=dps,
        privacy=privacy,
        acs=acs,
        connection_request=cr,
        upnp=upnp,
        state=state,
        log=log,
        proxier=ident,
        api=api,
        tr064_logins=_tr064_logins(data.get("tr064", {})),
    )


def _readable(key: str, path: str, kind: str) -> Any:
    """The file exists, is readable and holds a PEM `kind` ("certificate" or "key"): the
    loaded object, for the caller's further checks."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        with open(path, "rb") as f:
            data = f.read(1024 * 1024)
    except OSError as exc:
        raise ConfigError(key, f"cannot read {path}: {exc.strerror}") from None
    try:
        if kind == "key":
            return serialization.load_pem_private_key(data, None)
        return x509.load_pem_x509_certificate(data)
    except (ValueError, TypeError) as exc:
        raise ConfigError(key, f"{path} is not a PEM {kind} (unencrypted): {exc}"[:300]) from None


def _dps(data: object, upnp: UpnpConfig) -> DpsConfig:
    s = _Section("dps", data)
    logins: list[DpsLogin] = []
    raw = s._get("login", [], (list,), "an array of tables ([[dps.login]])")
    for i, entry in enumerate(raw):
        e = _Section(f"dps.login[{i}]", entry)
        login = DpsLogin(e.text("match", "*"), e.text("name"), e.text("password"))
        e.finish()
        if not login.name:
            raise ConfigError(e.key("name"), "must not be empty")
        logins.append(login)
    pins: list[DpsPin] = []
    raw = s._get("pin", [], (list,), "an array of tables ([[dps.pin]])")
    for i, entry in enumerate(raw):
        e = _Section(f"dps.pin[{i}]", entry)
        pin = DpsPin(e.text("match", "*"), e.text("pin"))
        e.finish()
        if not pin_valid(pin.pin):
            raise ConfigError(e.key("pin"), "must be 8 digits with a valid WPS checksum digit")
        pins.append(pin)
    introduction = s.text("introduction", "none")
    if introduction not in INTRODUCTIONS:
        raise ConfigError("dps.introduction", f"must be one of {', '.join(INTRODUCTIONS)}")
    dps = DpsConfig(
        # upnp.client_cert/client_key (documented earlier) are the same identity
        certificate=s.text("certificate") or upnp.client_cert,
        key=s.text("key") or upnp.client_key,
        device_ca=s.text("device_ca"),
        login=tuple(logins),
        introduction=introduction,
        pin=tuple(pins),
    )
    s.finish()
    if bool(dps.certificate) != bool(dps.key):
        raise ConfigError(
            "dps.key" if dps.certificate else "dps.certificate", "set both or neither"
        )
    if dps.certificate:
        legacy = not s.data.get("certificate")  # from upnp.client_cert / client_key
        cert_key, key_key = (
            ("upnp.client_cert", "upnp.client_key") if legacy else ("dps.certificate", "dps.key")
        )
        cert = _readable(cert_key, dps.certificate, "certificate")
        key = _readable(key_key, dps.key, "key")
        if cert.public_key().public_numbers() != key.public_key().public_numbers():
            raise ConfigError(key_key, f"{dps.key} is not the key of {dps.certificate}")
    if dps.device_ca:
        _readable("dps.device_ca", dps.device_ca, "certificate")
    return dps


def _tr064_logins(data: object) -> tuple[Tr064Login, ...]:
    """`[[tr064.login]]` entries, in order (the first whose `match` fits a device wins)."""
    s = _Section("tr064", data)
    entries = s._get("login", [], (list,), "a list of tables ([[tr064.login]])")
    s.finish()
    logins = []
    for i, entry in enumerate(entries):
        e = _Section(f"tr064.login[{i}]", entry)
        login = Tr064Login(
            match=e.text("match", "*"),
            user=e.text("user"),
            password=e.text("password"),
            auth=e.text("auth", "auto").lower(),
        )
        e.finish()
        if login.auth not in TR064_AUTH:
            raise ConfigError(e.key("auth"), f"must be one of {', '.join(TR064_AUTH)}")
        if not login.match:
            raise ConfigError(e.key("match"), 'must not be empty ("*" matches every device)')
        logins.append(login)
    return tuple(logins)


def load(path: str | Path) -> Config:
    """Read and validate a TOML file; every failure is a ConfigError naming the problem."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise ConfigError("", f"cannot read {p}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError("", f"{p} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError("", f"{p} is not valid TOML: {exc}") from None
    return from_dict(data)
