"""Runtime conditions a valid config can still fail on, checked before anything starts.

`proxier run --check` prints every finding; `proxier run` refuses to start on an error, so
an operator sees "connection_request.port: 7548 on 127.0.0.1 is already in use; …" instead
of a raw errno text and a half-started daemon. Each finding names the config key and the fix.
"""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from proxier.config import Config
from proxier.logsetup import SYSLOG_SOCKET
from proxier.redact import has_password, redact_url
from proxier.upnp.netns import in_private_netns


@dataclass(frozen=True, slots=True)
class Finding:
    level: str  # "error" | "warning"
    key: str
    message: str

    def line(self) -> str:
        return f"{self.key}: {self.message}"


def _error(key: str, message: str) -> Finding:
    return Finding("error", key, message)


def _warning(key: str, message: str) -> Finding:
    return Finding("warning", key, message)


def is_loopback_host(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_state_dir(directory: str) -> list[Finding]:
    """The state dir exists and is writable, or its nearest existing parent lets us make it."""
    path = Path(directory)
    if path.exists():
        if not path.is_dir():
            return [_error("state.dir", f"{path} is not a directory; point state.dir elsewhere")]
        if not os.access(path, os.W_OK | os.X_OK):
            return [
                _error("state.dir", f"{path} is not writable by this user; fix its owner or mode")
            ]
        return []
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        return [
            _error(
                "state.dir",
                f"cannot create {path}: {parent} is not writable; create it for this user "
                "or choose another state.dir",
            )
        ]
    return []


def port_in_use(bind: str, port: int) -> str | None:
    """None if (bind, port) can be listened on now, else the reason."""
    family = socket.AF_INET6 if ":" in bind else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((bind, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return "is already in use"
            if exc.errno == errno.EADDRNOTAVAIL:
                return "is not an address of this host"
            if exc.errno == errno.EACCES:
                return "needs privileges (ports below 1024)"
            return exc.strerror or str(exc)
    return None


def _overlap(a: str, b: str) -> bool:
    wildcard = ("0.0.0.0", "::")
    return a == b or a in wildcard or b in wildcard


def check_ports(config: Config, *, free: bool = True) -> list[Finding]:
    cr = config.connection_request
    api = config.api
    out: list[Finding] = []
    if api.enable and cr.port and cr.port == api.port and _overlap(cr.bind, api.bind):
        out.append(
            _error("api.port", f"is the same as connection_request.port ({cr.port}); pick another")
        )
        return out
    listeners = [("connection_request", cr.bind, cr.port)]
    if api.enable:
        listeners.append(("api", api.bind, api.port))
    for section, bind, port in listeners:
        if not port or not free:
            continue
        problem = port_in_use(bind, port)
        if problem == "is not an address of this host":
            out.append(_error(f"{section}.bind", f"{bind} {problem}"))
        elif problem:
            out.append(
                _error(
                    f"{section}.port",
                    f"{port} on {bind} {problem} (another proxier?); stop it or change "
                    f"{section}.port",
                )
            )
    return out


def check_files(config: Config) -> list[Finding]:
    out: list[Finding] = []
    upnp = config.upnp
    if bool(upnp.client_cert) != bool(upnp.client_key):
        out.append(_error("upnp.client_key", "client_cert and client_key go together; set both"))
    for key, name in (
        ("acs.ca_file", config.acs.ca_file),
        ("upnp.client_cert", upnp.client_cert),
        ("upnp.client_key", upnp.client_key),
    ):
        if not name:
            continue
        try:
            with open(name, "rb") as handle:
                handle.read(1)
        except OSError as exc:
            out.append(_error(key, f"cannot read {name}: {exc.strerror}"))
    return out


def check_discovery(config: Config) -> list[Finding]:
    upnp = config.upnp
    if not upnp.interfaces and not upnp.description_urls:
        return [
            _error(
                "upnp.interfaces",
                "no discovery source: set upnp.interfaces (SSDP) or upnp.description_urls",
            )
        ]
    out: list[Finding] = []
    if upnp.interfaces and not upnp.allow_lan_multicast and not in_private_netns():
        out.append(
            _error(
                "upnp.allow_lan_multicast",
                "upnp.interfaces means SSDP multicast on the real LAN; set "
                "upnp.allow_lan_multicast = true to allow it (README: Discovery)",
            )
        )
    for i, name in enumerate(upnp.interfaces):
        if not _interface_usable(name):
            out.append(_error(f"upnp.interfaces[{i}]", f"{name!r} has no IPv4 address here"))
    return out


def _interface_usable(name: str) -> bool:
    from proxier.upnp.discovery import interface_ipv4

    try:
        ipaddress.ip_address(name.split("%")[0])
        return True
    except ValueError:
        pass
    try:
        interface_ipv4(name)
    except ValueError:
        return False
    return True


def check_reachability(config: Config) -> list[Finding]:
    out: list[Finding] = []
    acs_host = urlsplit(config.acs.url).hostname or ""
    cr = config.connection_request
    if not is_loopback_host(acs_host) and is_loopback_host(cr.host):
        out.append(
            _warning(
                "connection_request.host",
                f"is {cr.host} but the ACS ({acs_host}) is remote: it cannot reach Connection "
                "Request URLs on loopback; set the gateway address the ACS sees (and "
                "connection_request.bind)",
            )
        )
    if has_password(config.acs.url):
        out.append(
            _warning(
                "acs.url",
                f"carries a password ({redact_url(config.acs.url)}); use acs.username and "
                "acs.password instead",
            )
        )
    for i, url in enumerate(config.upnp.description_urls):
        if has_password(url):
            out.append(_warning(f"upnp.description_urls[{i}]", "carries a password in the URL"))
    return out


def check_logging(config: Config, socket_path: str = SYSLOG_SOCKET) -> list[Finding]:
    if config.log.target == "syslog" and not os.path.exists(socket_path):
        return [_error("log.target", f'no syslog socket at {socket_path}; use "stderr"')]
    return []


def check(config: Config, *, ports: bool = True) -> list[Finding]:
    """Every runtime finding, errors first (`ports=False`: not whether ports are free)."""
    found = [
        *check_state_dir(config.state.dir),
        *check_ports(config, free=ports),
        *check_files(config),
        *check_discovery(config),
        *check_logging(config),
        *check_reachability(config),
    ]
    return sorted(found, key=lambda f: f.level != "error")
