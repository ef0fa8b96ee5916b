"""Sans-IO SoftwareManagement:2 state of a lab device: DUs, EUs, operations, image checks.

DUID 0 / EUID 0 are the firmware (TR-330 §4.7, reference §4.2 PROJECT CHOICE); DU 1 / EU 1
are a small application so Start/Stop/Uninstall have something to act on. The operation
life cycle follows TR-330 Figure 8: Update returns an OperationID at once (added to
OperationIDs, evented), the driver downloads the image, the DU/EU stop (DUIDs/EUIDs
evented), and on success they run again with the new version while the OperationID leaves
OperationIDs (all three evented). GetOperationInfo keeps answering for finished operations;
a reboot loses the ones still running (TR-330 §4.7.1 exception 2).

Images (the lab's own format): a first line `PROXIER-LAB-IMAGE 1`, then `Key: value` header
lines up to an empty line (`Name`, `Version` required), then any payload. Anything else is
Error_CorruptedFile. `make_image()` builds one. Lists are comma-separated (UNCONFIRMED).
Unknown DUIDs/EUIDs and actions firmware does not allow are UPnP 600 (no SMS 7xx codes are
known, reference §4.2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from proxier.upnp.device import UpnpError

IMAGE_MAGIC = b"PROXIER-LAB-IMAGE 1\n"
MAX_IMAGE_BYTES = 16 * 1024 * 1024
FIRMWARE = 0


def make_image(name: str, version: str, payload: bytes = b"") -> bytes:
    """A lab image that `parse_image` accepts."""
    return IMAGE_MAGIC + f"Name: {name}\nVersion: {version}\n\n".encode() + payload


def parse_image(data: bytes) -> dict[str, str]:
    """Header of a lab image; raises ValueError when the file is not one (CorruptedFile)."""
    if not data.startswith(IMAGE_MAGIC):
        raise ValueError("bad magic")
    head, sep, _ = data[len(IMAGE_MAGIC) :].partition(b"\n\n")
    if not sep:
        raise ValueError("header not terminated")
    headers: dict[str, str] = {}
    for line in head.decode("utf-8", "replace").splitlines():
        key, colon, value = line.partition(":")
        if not colon:
            raise ValueError(f"bad header line {line[:40]!r}")
        headers[key.strip()] = value.strip()
    if not headers.get("Name") or not headers.get("Version"):
        raise ValueError("Name and Version are required")
    return headers


@dataclass(slots=True)
class DeploymentUnit:
    duid: int
    name: str
    version: str
    type: str
    state: str = "Installed"
    uri: str = ""
    euid: int | None = None


@dataclass(slots=True)
class ExecutionUnit:
    euid: int
    name: str
    version: str
    requested: str = "Active"
    running: str = "Running"


@dataclass(slots=True)
class Operation:
    op_id: int
    action: str
    targeted: str  # TargetedIDs
    state: str = "Requested"
    error: str = "Error_None"
    info: str = ""
    uri: str = ""
    duid: int | None = None
    euid: int | None = None
    du_type: str = ""


class SmsCore:
    """SMS state; `publish` receives evented-variable values to NOTIFY."""

    def __init__(
        self,
        firmware_version: str,
        publish: Callable[[dict[str, str]], None] = lambda _v: None,
    ) -> None:
        self.publish = publish
        self.dus: dict[int, DeploymentUnit] = {
            0: DeploymentUnit(0, "firmware", firmware_version, "Firmware", euid=0),
            1: DeploymentUnit(1, "lab-agent", "1.0", "Application", euid=1),
        }
        self.eus: dict[int, ExecutionUnit] = {
            0: ExecutionUnit(0, "firmware", firmware_version),
            1: ExecutionUnit(1, "lab-agent", "1.0"),
        }
        self.ops: dict[int, Operation] = {}
        self._next_op = 1
        self._next_du = 2
        self._next_eu = 2
        #: fault knobs
        self.disk_full = False
        self.max_image_bytes = MAX_IMAGE_BYTES

    # -- evented lists --

    def lists(self) -> dict[str, str]:
        def ids(values: object) -> str:
            return ",".join(str(i) for i in values)  # type: ignore[attr-defined]

        return {
            "OperationIDs": ids(
                o.op_id for o in self.ops.values() if o.state in ("Requested", "InProgress")
            ),
            "DUIDs": ids(sorted(self.dus)),
            "EUIDs": ids(sorted(self.eus)),
            "ActiveEUIDs": ids(e.euid for e in self.eus.values() if e.requested == "Active"),
            "RunningEUIDs": ids(e.euid for e in self.eus.values() if e.running == "Running"),
            "ErrorEUIDs": "",
        }

    def _publish(self, *names: str) -> None:
        current = self.lists()
        self.publish({name: current[name] for name in names})

    # -- requests (the SOAP actions) --

    def _new_op(self, action: str, targeted: str, **kw: object) -> Operation:
        op = Operation(self._next_op, action, targeted, **kw)  # type: ignore[arg-type]
        self._next_op = self._next_op % 0xFFFFFFFF + 1
        busy = any(
            o.state in ("Requested", "InProgress") and o.duid is not None and o.duid == op.duid
            for o in self.ops.values()
        )
        self.ops[op.op_id] = op
        if busy:
            op.state, op.error = "Error", "Error_ConcurrentAccess"
            op.info = "another operation on this DU is running"
        else:
            self._publish("OperationIDs")
        return op

    def install(self, uri: str, du_type: str) -> Operation:
        if du_type == "Firmware":
            raise UpnpError(600, "firmware is updated on DUID 0, not installed")
        return self._new_op("Install", "", uri=uri, du_type=du_type)

    def update(self, duid: int, uri: str) -> Operation:
        du = self._du(duid)
        return self._new_op("Update", f"{du.duid}", uri=uri, duid=du.duid, euid=du.euid)

    def uninstall(self, duid: int) -> Operation:
        du = self._du(duid)
        if duid == FIRMWARE:
            raise UpnpError(600, "firmware (DUID 0) cannot be uninstalled")
        return self._new_op("Uninstall", f"{du.duid}", duid=du.duid, euid=du.euid)

    def start_stop(self, action: str, euid: int) -> Operation:
        eu = self._eu(euid)
        if euid == FIRMWARE:
            raise UpnpError(600, "firmware (EUID 0) cannot be started or stopped")
        return self._new_op(action, f"{eu.euid}", euid=eu.euid)

    def _du(self, duid: int) -> DeploymentUnit:
        if duid not in self.dus:
            raise UpnpError(600, f"no DU {duid}")
        return self.dus[duid]

    def _eu(self, euid: int) -> ExecutionUnit:
        if euid not in self.eus:
            raise UpnpError(600, f"no EU {euid}")
        return self.eus[euid]

    def operation(self, op_id: int) -> Operation:
        if op_id not in self.ops:
            raise UpnpError(600, f"no operation {op_id}")
        return self.ops[op_id]

    def du_info(self, duid: int) -> DeploymentUnit:
        return self._du(duid)

    def eu_info(self, euid: int) -> ExecutionUnit:
        return self._eu(euid)

    # -- progress (called by the driver) --

    def begin(self, op: Operation) -> None:
        if op.state == "Requested":
            op.state = "InProgress"

    def fail(self, op: Operation, error: str, info: str) -> None:
        if op.state not in ("Requested", "InProgress"):
            return
        op.state, op.error, op.info = "Error", error, info
        for du in self.dus.values():
            if du.duid == op.duid and du.state == "Installing":
                du.state = "Installed"
        if op.euid is not None and op.euid in self.eus:
            self.eus[op.euid].running = "Running"
        self._publish("OperationIDs", "DUIDs", "EUIDs")

    def image_received(self, op: Operation, data: bytes) -> dict[str, str] | None:
        """Check a downloaded image; on success the DU/EU stop (evented) and its header returns."""
        if self.disk_full or len(data) > self.max_image_bytes:
            self.fail(op, "Error_DiskFull", f"no room for {len(data)} bytes")
            return None
        try:
            header = parse_image(data)
        except ValueError as exc:
            self.fail(op, "Error_CorruptedFile", f"image rejected: {exc}")
            return None
        if op.duid is not None:
            self.dus[op.duid].state = "Installing"
        if op.euid is not None:
            self.eus[op.euid].running = "Stopped"
        self._publish("DUIDs", "EUIDs")
        return header

    def complete(self, op: Operation, header: dict[str, str] | None = None) -> None:
        """Apply the operation (new version, new DU, stopped EU…) and mark it Completed."""
        if op.state not in ("Requested", "InProgress"):
            return
        if op.action == "Update" and op.duid is not None and header is not None:
            du = self.dus[op.duid]
            du.version, du.state, du.uri = header["Version"], "Installed", op.uri
            if du.euid is not None:
                eu = self.eus[du.euid]
                eu.version, eu.running = header["Version"], "Running"
        elif op.action == "Install" and header is not None:
            duid, euid = self._next_du, self._next_eu
            self._next_du += 1
            self._next_eu += 1
            self.dus[duid] = DeploymentUnit(
                duid, header["Name"], header["Version"], op.du_type, uri=op.uri, euid=euid
            )
            self.eus[euid] = ExecutionUnit(euid, header["Name"], header["Version"])
            op.targeted, op.duid, op.euid = f"{duid},{euid}", duid, euid
        elif op.action == "Uninstall" and op.duid is not None:
            du = self.dus.pop(op.duid)
            if du.euid is not None:
                self.eus.pop(du.euid, None)
        elif op.action in ("Start", "Stop") and op.euid is not None:
            eu = self.eus[op.euid]
            eu.requested = "Active" if op.action == "Start" else "Inactive"
            eu.running = "Running" if op.action == "Start" else "Stopped"
        op.state = "Completed"
        self._publish("OperationIDs", "DUIDs", "EUIDs", "ActiveEUIDs", "RunningEUIDs")

    def reboot(self) -> None:
        """Operations still running are lost (TR-330 §4.7.1 exception 2); units come back."""
        for op_id in [o.op_id for o in self.ops.values() if o.state in ("Requested", "InProgress")]:
            del self.ops[op_id]
        for du in self.dus.values():
            du.state = "Installed"
        for eu in self.eus.values():
            eu.running = "Running" if eu.requested == "Active" else "Stopped"
