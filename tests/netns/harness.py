"""Private test LANs made of network namespaces, for everything that speaks SSDP.

`NetnsLan(("cp", "dev"))` creates a bridge namespace and one namespace per host, each
with an interface `upnp0` at 198.18.0.N/24 (RFC 2544 benchmark range), multicast on and
routes for 239/8 and default pointing at it (see ../shared/tools/upnp-peers/netns.sh, whose
recipe this follows). The veths are created inside the bridge namespace, so the host's
links, routes and firewall are never touched and no packet can leave the machine. Names
are unique per LAN (`upnp-t<pid><rand>-<host>`), so parallel test runs do not collide,
and they keep the `upnp-` prefix the peers' nsguard expects.

Processes are started inside with `spawn` (`ip netns exec NS …`) and stopped, by PID, when
the LAN goes down. Nothing here runs unless the caller is root with `ip`; `unavailable()`
says why not, for a clean pytest skip.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SUBNET = "198.18.0"
SUBNET6 = "2001:db8:18:"
_INDEX = {"cp": 11, "dev": 12, "dev2": 15, "gupnp": 13, "lab": 14}


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True, timeout=20)


@functools.cache
def unavailable() -> str | None:
    """Why namespace tests cannot run here, or None when they can."""
    if sys.platform != "linux":
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root (CI runs as root)"
    if shutil.which("ip") is None:
        return "iproute2 `ip` is not installed"
    probe = f"upnp-probe{os.getpid()}"
    made = _ip("netns", "add", probe, check=False)
    if made.returncode != 0:
        return f"`ip netns add` is not permitted here: {made.stderr.strip()}"
    _ip("netns", "del", probe, check=False)
    return None


def gupnp_unavailable() -> str | None:
    """Why the GUPnP peers cannot run, or None (needs Debian's python3-gi + GUPnP 1.6)."""
    if (reason := unavailable()) is not None:
        return reason
    check = subprocess.run(
        [
            "/usr/bin/python3",
            "-c",
            "import gi; gi.require_version('GUPnP', '1.6'); gi.require_version('GSSDP', '1.6')",
        ],
        capture_output=True,
        text=True,
        timeout=20,
    )
    if check.returncode != 0:
        return "GUPnP 1.6 for /usr/bin/python3 is missing (run tests/peers/install.sh as root)"
    return None


class Proc:
    """A process running inside a namespace, read line by line."""

    def __init__(self, name: str, process: asyncio.subprocess.Process) -> None:
        self.name = name
        self.process = process
        self.lines: list[str] = []

    @property
    def pid(self) -> int:
        return self.process.pid

    async def expect(self, predicate: Callable[[str], bool], within: float = 10.0) -> str:
        """Next output line for which `predicate` holds; fails with everything seen so far."""
        assert self.process.stdout is not None
        try:
            async with asyncio.timeout(within):
                while True:
                    raw = await self.process.stdout.readline()
                    if not raw:
                        raise AssertionError(f"{self.name} exited: {self.lines[-20:]}")
                    line = raw.decode(errors="replace").rstrip("\n")
                    self.lines.append(line)
                    if predicate(line):
                        return line
        except TimeoutError:
            seen = self.lines[-20:]
            raise AssertionError(f"{self.name}: no matching line in {within}s: {seen}") from None

    async def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line.encode() + b"\n")
        await self.process.stdin.drain()

    async def exited(self, within: float = 10.0) -> int:
        """Wait for the process to end by itself; its exit status."""
        await asyncio.wait_for(self.process.wait(), within)
        return int(self.process.returncode or 0)

    async def stop(self, grace: float = 5.0) -> int:
        """SIGTERM, then SIGKILL if it does not exit in time; returns the exit status."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), grace)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
                await self.process.wait()
        rest = await self.process.stdout.read() if self.process.stdout else b""
        self.lines += rest.decode(errors="replace").splitlines()
        return int(self.process.returncode or 0)


class NetnsLan:
    """A bridge namespace plus one namespace per host name, torn down by `down()`."""

    def __init__(self, hosts: Sequence[str] = ("cp", "dev"), *, v6: bool = False) -> None:
        self.v6 = v6
        self.prefix = f"upnp-t{os.getpid() % 100000}{secrets.token_hex(2)}"
        self.lan = f"{self.prefix}-lan"
        self.hosts = list(hosts)
        self._addr: dict[str, str] = {}
        self._procs: list[Proc] = []
        self._made: list[str] = []

    def ns(self, host: str) -> str:
        return f"{self.prefix}-{host}"

    def addr(self, host: str) -> str:
        return self._addr[host]

    def addr6(self, host: str) -> str:
        """The host's global IPv6 address (LAN made with v6=True)."""
        return f"{SUBNET6}:{self._addr[host].rsplit('.', 1)[1]}"

    def up(self) -> NetnsLan:
        try:
            self._add_ns(self.lan)
            _ip("-n", self.lan, "link", "add", "br0", "type", "bridge")
            # No IGMP querier here: snooping would stop flooding 239.255.255.250.
            _ip("-n", self.lan, "link", "set", "br0", "type", "bridge", "mcast_snooping", "0")
            _ip("-n", self.lan, "link", "set", "br0", "up")
            spare = iter(range(20, 250))
            for host in self.hosts:
                self._add_host(host, _INDEX.get(host) or next(spare))
        except BaseException:
            self.down_sync()
            raise
        return self

    def _add_ns(self, name: str) -> None:
        _ip("netns", "add", name)
        self._made.append(name)
        _ip("-n", name, "link", "set", "lo", "up")

    def _add_host(self, host: str, index: int) -> None:
        ns = self.ns(host)
        self._add_ns(ns)
        veth = f"v-{host}"[:15]
        _ip(
            "-n",
            self.lan,
            "link",
            "add",
            veth,
            "type",
            "veth",
            "peer",
            "name",
            "upnp0",
            "netns",
            ns,
        )
        _ip("-n", self.lan, "link", "set", veth, "master", "br0", "up")
        addr = f"{SUBNET}.{index}"
        _ip("-n", ns, "addr", "add", f"{addr}/24", "dev", "upnp0")
        if self.v6:  # nodad: usable at once, no 2 s wait for duplicate detection
            _ip("-n", ns, "addr", "add", f"{SUBNET6}:{index}/64", "dev", "upnp0", "nodad")
        _ip("-n", ns, "link", "set", "upnp0", "up", "multicast", "on")
        _ip("-n", ns, "route", "add", "239.0.0.0/8", "dev", "upnp0")
        # Stacks pick their source address by "connecting" towards the internet; a
        # gateway-less default route makes that pick upnp0. Nothing leaves the bridge.
        _ip("-n", ns, "route", "add", "default", "dev", "upnp0")
        self._addr[host] = addr

    def argv(self, host: str, *argv: str) -> list[str]:
        return ["ip", "netns", "exec", self.ns(host), *argv]

    async def spawn(self, host: str, *argv: str, name: str = "") -> Proc:
        """Start `argv` inside `host`'s namespace (stdout+stderr merged, stdin a pipe)."""
        process = await asyncio.create_subprocess_exec(
            *self.argv(host, *argv),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        proc = Proc(name or f"{host}:{Path(argv[0]).name}", process)
        self._procs.append(proc)
        return proc

    async def python(self, host: str, module: str, *args: str) -> Proc:
        """Run `python -m module args…` (this interpreter, the project importable) inside."""
        return await self.spawn(host, sys.executable, "-m", module, *args, name=f"{host}:{module}")

    async def down(self) -> None:
        for proc in self._procs:
            await proc.stop()
        self._procs.clear()
        self.down_sync()

    def down_sync(self) -> None:
        for name in reversed(self._made):
            # Whatever still runs inside was started by this LAN's test: stop it by PID.
            pids = _ip("netns", "pids", name, check=False).stdout.split()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, ValueError):
                    os.kill(int(pid), 9)
            _ip("netns", "del", name, check=False)
        self._made.clear()
