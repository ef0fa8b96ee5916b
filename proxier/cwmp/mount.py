"""`MountedBackend`: one data model made of a main backend plus subtrees served elsewhere.

A virtual device's model is the UPnP device's (translated) except `Device.ManagementServer.`,
which is CWMP state the device never holds: the engine's own settings (ACS URL, periodic
inform, Connection Request credentials, ParameterKey). The proxier mounts an in-memory
ManagementServer beside the translation backend, and the engine sees one Device:2 tree.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from proxier.cwmp.backend import (
    AutonomousTransferListener,
    AutonomousTransferNotifier,
    DataModelBackend,
    TransferListener,
    ValueChangeListener,
)
from proxier.cwmp.rpc import (
    Download,
    DownloadResponse,
    ParameterAttributeStruct,
    ParameterInfoStruct,
    ParameterValueStruct,
    SetParameterAttributesStruct,
    Upload,
    UploadResponse,
)


class MountedBackend:
    """Routes each RPC by path: names under a mount prefix go to that mount's backend."""

    def __init__(self, main: DataModelBackend, mounts: dict[str, DataModelBackend]) -> None:
        for prefix in mounts:
            if not prefix.endswith("."):
                raise ValueError(f"mount prefix {prefix!r} must be an object path ending in '.'")
        self.main = main
        self.mounts = dict(mounts)

    # --- routing -----------------------------------------------------------------------------

    def _owner(self, name: str) -> str | None:
        for prefix in self.mounts:
            if name.startswith(prefix):
                return prefix
        return None

    def _mounts_below(self, name: str) -> list[str]:
        """Mounts inside the partial path `name` ("" and "Device." contain everything)."""
        if name and not name.endswith("."):
            return []
        return [p for p in self.mounts if p.startswith(name) and p != name]

    def _split(self, names: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
        main: list[str] = []
        per_mount: dict[str, list[str]] = {}
        prefixes = tuple(self.mounts)  # one startswith per name for the common case
        for name in names:
            owner = self._owner(name) if name.startswith(prefixes) else None
            if owner is not None:
                per_mount.setdefault(owner, []).append(name)
                continue
            main.append(name)
            if name and not name.endswith("."):
                continue  # a parameter: no mount below it
            for prefix in self._mounts_below(name):
                # The mount knows nothing above its prefix: ask it for its whole subtree.
                wanted = per_mount.setdefault(prefix, [])
                if prefix not in wanted:
                    wanted.append(prefix)
        return main, per_mount

    # --- DataModelBackend --------------------------------------------------------------------

    def set_listeners(
        self, on_value_change: ValueChangeListener, on_transfer_complete: TransferListener
    ) -> None:
        self.main.set_listeners(on_value_change, on_transfer_complete)
        for backend in self.mounts.values():
            backend.set_listeners(on_value_change, on_transfer_complete)

    def set_autonomous_listener(self, listener: AutonomousTransferListener) -> None:
        """Autonomous transfers happen on the device: only the main backend reports them."""
        if isinstance(self.main, AutonomousTransferNotifier):
            self.main.set_autonomous_listener(listener)

    def bind_value(self, name: str, getter: Callable[[], str]) -> None:
        """Engine-owned values (ParameterKey, ConnectionRequestURL) live in their mount."""
        owner = self._owner(name)
        target = self.mounts[owner] if owner is not None else self.main
        bind = getattr(target, "bind_value", None)
        if bind is not None:
            bind(name, getter)

    async def get_parameter_names(
        self, parameter_path: str, next_level: bool
    ) -> list[ParameterInfoStruct]:
        owner = self._owner(parameter_path)
        if owner is not None:
            return await self.mounts[owner].get_parameter_names(parameter_path, next_level)
        result = [
            info
            for info in await self.main.get_parameter_names(parameter_path, next_level)
            if self._owner(info.name) is None
        ]
        listed = {info.name for info in result}
        for prefix in self._mounts_below(parameter_path):
            if next_level:
                # Only the mount point itself can be a child of the path asked for.
                if prefix[len(parameter_path) :].count(".") == 1 and prefix not in listed:
                    result.append(ParameterInfoStruct(prefix, False))
                continue
            found = await self.mounts[prefix].get_parameter_names(prefix, False)
            result.extend(i for i in found if i.name not in listed)
        return result

    async def get_parameter_values(
        self, parameter_names: Sequence[str]
    ) -> list[ParameterValueStruct]:
        main, per_mount = self._split(parameter_names)
        result = await self.main.get_parameter_values(main) if main else []
        for prefix, names in per_mount.items():
            found = await self.mounts[prefix].get_parameter_values(names)
            result.extend(p for p in found if p.name.startswith(prefix))
        return result

    async def set_parameter_values(
        self, parameter_list: Sequence[ParameterValueStruct], parameter_key: str
    ) -> int:
        """All or nothing across backends: mounts first, undone if the main backend faults."""
        per_mount: dict[str, list[ParameterValueStruct]] = {}
        main: list[ParameterValueStruct] = []
        for pv in parameter_list:
            owner = self._owner(pv.name)
            (per_mount.setdefault(owner, []) if owner is not None else main).append(pv)
        if not per_mount:
            return await self.main.set_parameter_values(main, parameter_key)
        undo: list[tuple[DataModelBackend, list[ParameterValueStruct]]] = []
        status = 0
        try:
            for prefix, params in per_mount.items():
                backend = self.mounts[prefix]
                before = await backend.get_parameter_values([p.name for p in params])
                status = max(status, await backend.set_parameter_values(params, parameter_key))
                undo.append((backend, before))
            if main:
                status = max(status, await self.main.set_parameter_values(main, parameter_key))
        except BaseException:
            for backend, before in reversed(undo):
                await backend.set_parameter_values(before, parameter_key)
            raise
        return status

    async def get_parameter_attributes(
        self, parameter_names: Sequence[str]
    ) -> list[ParameterAttributeStruct]:
        main, per_mount = self._split(parameter_names)
        result = await self.main.get_parameter_attributes(main) if main else []
        for prefix, names in per_mount.items():
            found = await self.mounts[prefix].get_parameter_attributes(names)
            result.extend(a for a in found if a.name.startswith(prefix))
        return result

    async def set_parameter_attributes(
        self, parameter_list: Sequence[SetParameterAttributesStruct]
    ) -> None:
        per_mount: dict[str, list[SetParameterAttributesStruct]] = {}
        main: list[SetParameterAttributesStruct] = []
        for sa in parameter_list:
            owner = self._owner(sa.name)
            (per_mount.setdefault(owner, []) if owner is not None else main).append(sa)
        for prefix, params in per_mount.items():
            await self.mounts[prefix].set_parameter_attributes(params)
        if main:
            await self.main.set_parameter_attributes(main)

    async def add_object(self, object_name: str, parameter_key: str) -> tuple[int, int]:
        owner = self._owner(object_name)
        backend = self.mounts[owner] if owner is not None else self.main
        return await backend.add_object(object_name, parameter_key)

    async def delete_object(self, object_name: str, parameter_key: str) -> int:
        owner = self._owner(object_name)
        backend = self.mounts[owner] if owner is not None else self.main
        return await backend.delete_object(object_name, parameter_key)

    def ensure_can_reboot(self, reset: bool) -> None:
        self.main.ensure_can_reboot(reset)

    async def reboot(self, command_key: str) -> None:
        await self.main.reboot(command_key)

    async def factory_reset(self) -> None:
        """The device first; only if it accepted, the mounted subtrees go back to defaults."""
        await self.main.factory_reset()
        for backend in self.mounts.values():
            await backend.factory_reset()

    async def download(self, request: Download) -> DownloadResponse:
        return await self.main.download(request)

    async def upload(self, request: Upload) -> UploadResponse:
        return await self.main.upload(request)
