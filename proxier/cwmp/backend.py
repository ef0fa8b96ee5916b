"""The data-model backend interface the CWMP engine calls for every CPE RPC.

The engine owns CWMP (sessions, events, ParameterKey bookkeeping, retry); a backend owns the
data model. The UPnP DM translation (`proxier.translate`) is one backend, the in-memory tree
(`proxier.cwmp.memory`) another. Backends report errors by raising `CwmpFaultError` with the
CWMP fault code (9005 invalid name, 9003 invalid arguments, …).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from proxier.cwmp.rpc import (
    AutonomousTransferComplete,
    Download,
    DownloadResponse,
    ParameterAttributeStruct,
    ParameterInfoStruct,
    ParameterValueStruct,
    SetParameterAttributesStruct,
    TransferComplete,
    Upload,
    UploadResponse,
)


@dataclass(frozen=True, slots=True)
class ValueChange:
    """A parameter whose value changed for a reason other than the ACS (TR-069 §3.2.1)."""

    name: str
    value: str
    type: str = "xsd:string"
    #: The Notification level the backend reports for it (what GetParameterAttributes
    #: answers), None when the backend leaves it to the ACS-set level (`cwmp.notification`).
    notification: int | None = None


#: Callback a backend calls when values change outside ACS control ("4 VALUE CHANGE").
ValueChangeListener = Callable[[Sequence[ValueChange]], None]

#: Callback a backend calls when an asynchronous transfer finished (→ "7 TRANSFER COMPLETE").
TransferListener = Callable[[TransferComplete], None]

#: Callback a backend calls when a transfer the ACS did not ask for finished (another control
#: point updated the firmware …) → "10 AUTONOMOUS TRANSFER COMPLETE" (TR-069 A.3.3.3).
AutonomousTransferListener = Callable[[AutonomousTransferComplete], None]


class DataModelBackend(Protocol):
    """What a Virtual CWMP Device needs from whatever holds its data model."""

    async def get_parameter_names(
        self, parameter_path: str, next_level: bool
    ) -> list[ParameterInfoStruct]: ...

    async def get_parameter_values(
        self, parameter_names: Sequence[str]
    ) -> list[ParameterValueStruct]: ...

    async def set_parameter_values(
        self, parameter_list: Sequence[ParameterValueStruct], parameter_key: str
    ) -> int:
        """Apply all or nothing; return Status 0 (applied) or 1 (committed, applied later).

        Storing `parameter_key` into ManagementServer.ParameterKey is the engine's job, but a
        backend that exposes that parameter reads it from the engine's store.
        """
        ...

    async def get_parameter_attributes(
        self, parameter_names: Sequence[str]
    ) -> list[ParameterAttributeStruct]: ...

    async def set_parameter_attributes(
        self, parameter_list: Sequence[SetParameterAttributesStruct]
    ) -> None: ...

    async def add_object(self, object_name: str, parameter_key: str) -> tuple[int, int]:
        """Return (InstanceNumber, Status)."""
        ...

    async def delete_object(self, object_name: str, parameter_key: str) -> int:
        """Return Status."""
        ...

    def ensure_can_reboot(self, reset: bool) -> None:
        """Raise the CwmpFaultError for a Reboot (or, with `reset`, a FactoryReset) this
        device cannot carry out at all, while the session that asks is still open."""
        ...

    async def reboot(self, command_key: str) -> None:
        """Reboot the device. Called by the engine after the session that asked ends."""
        ...

    async def factory_reset(self) -> None:
        """Reset the device. Called by the engine after the session that asked ends."""
        ...

    async def download(self, request: Download) -> DownloadResponse: ...

    async def upload(self, request: Upload) -> UploadResponse: ...

    def set_listeners(
        self, on_value_change: ValueChangeListener, on_transfer_complete: TransferListener
    ) -> None:
        """Register the engine's callbacks; a backend calls them from the event loop."""
        ...


@runtime_checkable
class AutonomousTransferNotifier(Protocol):
    """Optional backend capability: reports transfers the ACS did not ask for.

    The engine registers its listener when the backend has this method; it filters what it
    is given by ManagementServer.AutonomousTransferCompletePolicy, so a backend may report
    every autonomous transfer it sees.
    """

    def set_autonomous_listener(self, listener: AutonomousTransferListener) -> None: ...
