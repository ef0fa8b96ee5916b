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


@dataclass(frozen=True, slots=True)
class ConnectionRequestConfig:
    bind: str = "127.0.0.1"
    port: int = 7548
    host: str = "127.0.0.1"
    #: Initial ConnectionRequestUsername/Password of every virtual device; empty = a random
    #: pair per device (the ACS provisions its own with SetParameterValues, as GenieACS does).
    username: str = ""
    password: str = field(default="", repr=False)


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


@dataclass(frozen=True, slots=True)
class StateConfig:
    dir: str = "/var/lib/proxier"


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: str = "info"


@dataclass(frozen=True, slots=True)
class ProxierIdentity:
    """The proxier's own DeviceId: named in each virtual device's DeviceInfo.ProxierInfo."""

    manufacturer: str = "proxier"
    oui: str = "00D09E"
    product_class: str = "TR330-Proxier"
    serial_number: str = "PROXIER-0001"
    #: Serve the proxier's own Device:2 model (VirtualDevice table) over CWMP to the ACS too.
    cwmp: bool = False


@dataclass(frozen=True, slots=True)
class LocalApiConfig:
    """Loopback HTTP API for status and embedding tools (`proxier status`)."""

    enable: bool = True
    bind: str = "127.0.0.1"
    port: int = 7549


@dataclass(frozen=True, slots=True)
class Config:
    acs: AcsConfig
    connection_request: ConnectionRequestConfig = ConnectionRequestConfig()
    upnp: UpnpConfig = UpnpConfig()
    state: StateConfig = StateConfig()
    log: LogConfig = LogConfig()
    proxier: ProxierIdentity = ProxierIdentity()
    api: LocalApiConfig = LocalApiConfig()


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
    known = {"acs", "connection_request", "upnp", "state", "log", "proxier", "api"}
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
    )
    s.finish()
    for i, url in enumerate(upnp.description_urls):
        _check_url(f"upnp.description_urls[{i}]", url, ("http", "https"))

    s = _Section("state", data.get("state", {}))
    state = StateConfig(dir=s.text("dir", "/var/lib/proxier"))
    s.finish()
    if not state.dir:
        raise ConfigError("state.dir", "must not be empty")

    s = _Section("log", data.get("log", {}))
    log = LogConfig(level=s.text("level", "info").lower())
    s.finish()
    if log.level not in LOG_LEVELS:
        raise ConfigError("log.level", f"must be one of {', '.join(LOG_LEVELS)}")

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
    )
    s.finish()
    _check_address("api.bind", api.bind)

    return Config(
        acs=acs,
        connection_request=cr,
        upnp=upnp,
        state=state,
        log=log,
        proxier=ident,
        api=api,
    )


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
