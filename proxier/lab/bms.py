"""Sans-IO BasicManagement:2 state of a lab device: diagnostics, logs, status, sequence mode.

The lab never sends a probe anywhere: diagnostics are *simulated* (network safety), with
results that depend only on the arguments, so tests can predict them:

- A host is "reachable" when it is a loopback address (127.0.0.0/8, ::1) or `localhost`.
  Ping to it: Success, every repetition answers in 1 ms. Ping to another IP literal: Success
  with every repetition lost (SuccessCount 0). A name other than `localhost`:
  Error_CannotResolveHostName.
- NSLookup: DNSServer must be empty, `localhost` or a loopback address, else
  Error_DNSServerNotResolved. `localhost` resolves to 127.0.0.1 on every repetition; any other
  name does not resolve (Success, SuccessCount 0). Result (format UNCONFIRMED; PROJECT
  CHOICE): one line per repetition, `Status,AnswerType,HostNameReturned,IPAddresses,
  DNSServerIP,ResponseTime`, e.g. `Success,Authoritative,localhost,127.0.0.1,127.0.0.1,1`
  or `Error_HostNameNotResolved,None,,,127.0.0.1,0`.
- Traceroute: loopback → Success, ResponseTime 1, HopHosts = the host; another IP literal →
  Error_MaxHopCountExceeded with `MaxHopCount` unanswered hops (`*` each, comma-separated);
  other names → Error_CannotResolveHostName.
- SelfTest: Status 1; InterfaceReset: Success with 1 success, 0 failures.

Lists (TestIDs, ActiveTestIDs, LogURIs) are comma-separated (format UNCONFIRMED, reference
§3.1). Unknown TestIDs and results asked for before a test completed are UPnP 600 (reference
§3.2 PROJECT CHOICE: no invented 7xx codes). DeviceStatus is `OK` (format UNCONFIRMED);
a test knob may set anything else.
"""

from __future__ import annotations

import ipaddress
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from proxier.upnp.device import UpnpError

#: how many finished tests stay listed in TestIDs
KEEP_TESTS = 32
LEVELS = (
    "Emergency",
    "Alert",
    "Critical",
    "Error",
    "Warning",
    "Notice",
    "Informational",
    "Debug",
)


@dataclass(slots=True)
class DiagTest:
    test_id: int
    type: str
    args: dict[str, str]
    state: str = "Requested"
    result: dict[str, str] | None = None


@dataclass(slots=True)
class LogRecord:
    name: str
    configurable: bool = True
    enabled: bool = True
    level: str = "Informational"
    max_size: int = 65536
    last_change: float = 0.0
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=2000))
    #: kept across a reboot (syslog) or purged by it (boot: this boot's messages only)
    persistent: bool = True

    def content(self) -> bytes:
        data = "".join(line + "\n" for line in self.lines).encode()
        return data[-self.max_size :] if len(data) > self.max_size else data


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def simulate(test: DiagTest) -> dict[str, str]:
    """The result outputs of `test` (Get…Result argument names), by the rules above."""
    a = test.args
    if test.type == "Ping":
        host, reps = a["Host"], max(1, int(a.get("NumberOfRepetitions", "1") or 1))
        if _is_loopback(host):
            return {
                "Status": "Success",
                "AdditionalInfo": "",
                "SuccessCount": str(reps),
                "FailureCount": "0",
                "AverageResponseTime": "1",
                "MinimumResponseTime": "1",
                "MaximumResponseTime": "1",
            }
        if _is_ip(host):
            return {
                "Status": "Success",
                "AdditionalInfo": "no reply (lab devices only reach loopback)",
                "SuccessCount": "0",
                "FailureCount": str(reps),
                "AverageResponseTime": "0",
                "MinimumResponseTime": "0",
                "MaximumResponseTime": "0",
            }
        return {
            "Status": "Error_CannotResolveHostName",
            "AdditionalInfo": f"cannot resolve {host}",
            "SuccessCount": "0",
            "FailureCount": "0",
            "AverageResponseTime": "0",
            "MinimumResponseTime": "0",
            "MaximumResponseTime": "0",
        }
    if test.type == "NSLookup":
        server = a.get("DNSServer", "")
        reps = max(1, int(a.get("NumberOfRepetitions", "1") or 1))
        if server and not _is_loopback(server):
            return {
                "Status": "Error_DNSServerNotResolved",
                "AdditionalInfo": f"DNS server {server} unreachable",
                "SuccessCount": "0",
                "Result": "",
            }
        name = a["HostName"]
        ok = name.lower() == "localhost"
        line = (
            f"Success,Authoritative,{name},127.0.0.1,127.0.0.1,1"
            if ok
            else "Error_HostNameNotResolved,None,,,127.0.0.1,0"
        )
        return {
            "Status": "Success",
            "AdditionalInfo": "",
            "SuccessCount": str(reps if ok else 0),
            "Result": "\n".join([line] * reps),
        }
    if test.type == "Traceroute":
        host = a["Host"]
        if _is_loopback(host):
            return {
                "Status": "Success",
                "AdditionalInfo": "",
                "ResponseTime": "1",
                "HopHosts": host,
            }
        if _is_ip(host):
            hops = max(1, min(64, int(a.get("MaxHopCount", "30") or 30)))
            return {
                "Status": "Error_MaxHopCountExceeded",
                "AdditionalInfo": "no hop answered",
                "ResponseTime": "0",
                "HopHosts": ",".join(["*"] * hops),
            }
        return {
            "Status": "Error_CannotResolveHostName",
            "AdditionalInfo": f"cannot resolve {host}",
            "ResponseTime": "0",
            "HopHosts": "",
        }
    if test.type == "SelfTest":
        return {"Status": "1", "AdditionalInfo": "all self checks passed"}
    if test.type == "InterfaceReset":
        return {
            "Status": "Success",
            "AdditionalInfo": "",
            "NumberOfSuccesses": "1",
            "NumberOfFailures": "0",
        }
    raise UpnpError(501, f"no simulation for {test.type}")


class BmsCore:
    """BMS state; `publish` receives evented-variable changes (GENA turns them into NOTIFYs)."""

    def __init__(
        self,
        publish: Callable[[dict[str, str]], None] = lambda _v: None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.publish = publish
        self.clock = clock
        self.tests: dict[int, DiagTest] = {}
        self._next_id = 1
        self.sequence_mode = False
        self.device_status = "OK"
        self.logs: dict[str, LogRecord] = {
            "syslog": LogRecord("syslog", last_change=clock()),
            "boot": LogRecord(
                "boot", configurable=False, level="Notice", last_change=clock(), persistent=False
            ),
        }

    # -- evented variables --

    def test_ids(self) -> str:
        return ",".join(str(t) for t in sorted(self.tests))

    def active_test_ids(self) -> str:
        return ",".join(
            str(t.test_id)
            for t in sorted(self.tests.values(), key=lambda t: t.test_id)
            if t.state in ("Requested", "InProgress")
        )

    def log_uris(self) -> str:
        return ",".join(log_uri(name) for name in self.logs)

    def state_variables(self) -> dict[str, str]:
        return {
            "DeviceStatus": self.device_status,
            "SequenceMode": "1" if self.sequence_mode else "0",
            "TestIDs": self.test_ids(),
            "ActiveTestIDs": self.active_test_ids(),
            "LogURIs": self.log_uris(),
        }

    def set_device_status(self, status: str) -> None:
        self.device_status = status
        self.publish({"DeviceStatus": status})

    def set_sequence_mode(self, enabled: bool) -> bool:
        old = self.sequence_mode
        self.sequence_mode = enabled
        if old != enabled:
            self.publish({"SequenceMode": "1" if enabled else "0"})
        return old

    # -- diagnostics --

    def start(self, test_type: str, args: dict[str, str]) -> DiagTest:
        """Record a new test in state Requested (the driver runs it)."""
        if test_type in ("Ping", "Traceroute") and not args.get("Host", "").strip():
            raise UpnpError(600, "Host must not be empty")
        if test_type == "NSLookup" and not args.get("HostName", "").strip():
            raise UpnpError(600, "HostName must not be empty")
        if test_type == "Ping" and args.get("NumberOfRepetitions") == "0":
            raise UpnpError(601, "NumberOfRepetitions must be at least 1")
        test = DiagTest(self._next_id, test_type, dict(args))
        self._next_id = self._next_id % 0xFFFFFFFF + 1
        self.tests[test.test_id] = test
        finished = [t for t in self.tests.values() if t.state in ("Completed", "Canceled")]
        for old in finished[: max(0, len(self.tests) - KEEP_TESTS)]:
            del self.tests[old.test_id]
        self.log("Informational", f"{test_type} test {test.test_id} requested")
        self.publish({"TestIDs": self.test_ids(), "ActiveTestIDs": self.active_test_ids()})
        return test

    def may_begin(self, test: DiagTest) -> bool:
        """In SequenceMode only the oldest pending test runs, and only when none is running."""
        if test.state != "Requested":
            return False
        if not self.sequence_mode:
            return True
        pending = [t for t in self.tests.values() if t.state in ("Requested", "InProgress")]
        first = min(pending, key=lambda t: t.test_id)
        return first is test

    def begin(self, test: DiagTest) -> None:
        test.state = "InProgress"

    def finish(self, test: DiagTest) -> None:
        if test.state not in ("Requested", "InProgress"):
            return
        test.result = simulate(test)
        test.state = "Completed"
        self.log("Informational", f"{test.type} test {test.test_id} completed")
        self.publish({"ActiveTestIDs": self.active_test_ids()})

    def get(self, test_id: int) -> DiagTest:
        test = self.tests.get(test_id)
        if test is None:
            raise UpnpError(600, f"no test {test_id}")
        return test

    def cancel(self, test_id: int) -> None:
        test = self.get(test_id)
        if test.state in ("Requested", "InProgress"):
            test.state = "Canceled"
            self.publish({"ActiveTestIDs": self.active_test_ids()})

    def result(self, test_id: int, test_type: str) -> dict[str, str]:
        test = self.get(test_id)
        if test.type != test_type:
            raise UpnpError(600, f"test {test_id} is a {test.type} test")
        if test.state != "Completed" or test.result is None:
            raise UpnpError(600, f"test {test_id} is {test.state}")
        return test.result

    def forget_tests(self) -> None:
        """A reboot loses every test."""
        self.tests.clear()

    # -- logs --

    def log(self, level: str, message: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.clock()))
        for record in self.logs.values():
            if record.enabled and LEVELS.index(level) <= LEVELS.index(record.level):
                record.lines.append(f"{stamp} {level} {message}")

    def reboot_logs(self) -> None:
        """A reboot purges the logs that are not persistent."""
        for record in self.logs.values():
            if not record.persistent:
                record.lines.clear()
                record.last_change = self.clock()

    def log_record(self, uri: str) -> LogRecord:
        for name, record in self.logs.items():
            if log_uri(name) == uri:
                return record
        raise UpnpError(600, f"unknown LogURI {uri[:80]!r}")

    def set_log_info(self, uri: str, enabled: bool, level: str) -> None:
        record = self.log_record(uri)
        if not record.configurable:
            raise UpnpError(600, f"{uri} is not configurable")
        record.enabled = enabled
        record.level = level
        record.last_change = self.clock()


def log_uri(name: str) -> str:
    """A log's identifier (stable across ports and reboots); its URL comes from GetLogInfo."""
    return f"urn:proxier-lab:log:{name}"
