"""The proxier's own CWMP endpoint: its Device:2 model with the VirtualDevice table.

TR-330 §4.3.1: the proxier lists each Virtual CWMP Device in its own
`Device.ManagementServer.VirtualDevice.{i}` and counts them in
`VirtualDeviceNumberOfEntries`; when notification is set on that count, a device coming or
going is a "4 VALUE CHANGE" of the proxier itself. This module serves that model (when
`[proxier] cwmp = true`) with the same engine every virtual device uses.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from proxier.config import Config
from proxier.cwmp.backend import TransferListener, ValueChangeListener
from proxier.cwmp.connreq import ConnectionRequestServer
from proxier.cwmp.engine import AcsSettings, CpeEngine, EngineConfig
from proxier.cwmp.faults import fault, spv_fault
from proxier.cwmp.memory import MemoryBackend, ParamSpec, device2_backend
from proxier.cwmp.mount import MountedBackend
from proxier.cwmp.rpc import (
    CwmpFaultError,
    DeviceIdStruct,
    Download,
    DownloadResponse,
    ParameterAttributeStruct,
    ParameterInfoStruct,
    ParameterValueStruct,
    SetParameterAttributesStruct,
    Upload,
    UploadResponse,
)
from proxier.cwmp.runner import DeviceRunner
from proxier.cwmp.store import DeviceStore
from proxier.cwmp.transport import AcsTransport
from proxier.dbfile import private_dir
from proxier.logsafe import get_logger
from proxier.virtual.registry import VIRTUAL_DEVICE_TABLE, Registry

log = get_logger(__name__)

COUNT = "Device.ManagementServer.VirtualDeviceNumberOfEntries"
_ROW = re.compile(re.escape(VIRTUAL_DEVICE_TABLE) + r"([0-9]+)\.")


def _err(code: int, detail: str = "") -> CwmpFaultError:
    f = fault(code, detail)
    return CwmpFaultError(f.fault_code, f.fault_string, f.set_parameter_values_fault)


class VirtualDeviceTable:
    """Read-only backend for `Device.ManagementServer.VirtualDevice.{i}.` (TR-181: R table)."""

    def __init__(self, rows: Callable[[], Sequence[ParameterValueStruct]]) -> None:
        self._rows = rows
        self._notification: dict[str, int] = {}

    def _params(self) -> list[ParameterValueStruct]:
        return [p for p in self._rows() if p.name.startswith(VIRTUAL_DEVICE_TABLE)]

    def _objects(self) -> list[str]:
        rows = sorted({m.group(0) for p in self._params() if (m := _ROW.match(p.name))})
        return [VIRTUAL_DEVICE_TABLE, *rows]

    def _match(self, name: str) -> list[ParameterValueStruct]:
        params = self._params()
        if name.endswith(".") or name == "":
            if name and name not in self._objects():
                raise _err(9005, name)
            return [p for p in params if p.name.startswith(name)]
        found = [p for p in params if p.name == name]
        if not found:
            raise _err(9005, name)
        return found

    def set_listeners(
        self, on_value_change: ValueChangeListener, on_transfer_complete: TransferListener
    ) -> None:
        """Nothing here changes by itself; the count lives in the main model."""

    async def get_parameter_names(
        self, parameter_path: str, next_level: bool
    ) -> list[ParameterInfoStruct]:
        objects = self._objects()
        names = objects + [p.name for p in self._params()]
        if parameter_path and parameter_path not in names:
            raise _err(9005, parameter_path)
        if not parameter_path.endswith(".") and parameter_path:
            if next_level:
                raise _err(9003, "NextLevel true needs an object path")
            return [ParameterInfoStruct(parameter_path, False)]
        below = [n for n in names if n.startswith(parameter_path)]
        if next_level:
            depth = parameter_path.count(".")
            below = [n for n in below if n.rstrip(".").count(".") == depth and n != parameter_path]
        return [ParameterInfoStruct(n, False) for n in below]

    async def get_parameter_values(
        self, parameter_names: Sequence[str]
    ) -> list[ParameterValueStruct]:
        out: list[ParameterValueStruct] = []
        for name in parameter_names:
            out.extend(self._match(name))
        return out

    async def set_parameter_values(
        self, parameter_list: Sequence[ParameterValueStruct], parameter_key: str
    ) -> int:
        details = tuple(spv_fault(p.name, 9008) for p in parameter_list)
        f = fault(9003, "the VirtualDevice table is read-only", details)
        raise CwmpFaultError(f.fault_code, f.fault_string, f.set_parameter_values_fault)

    async def get_parameter_attributes(
        self, parameter_names: Sequence[str]
    ) -> list[ParameterAttributeStruct]:
        out: list[ParameterAttributeStruct] = []
        for name in parameter_names:
            for p in self._match(name):
                out.append(ParameterAttributeStruct(p.name, self._notification.get(p.name, 0)))
        return out

    async def set_parameter_attributes(
        self, parameter_list: Sequence[SetParameterAttributesStruct]
    ) -> None:
        updates: dict[str, int] = {}
        for s in parameter_list:
            if s.access_list_change and s.access_list not in ((), ("Subscriber",)):
                raise _err(9003, f"{s.name}: unsupported AccessList")
            for p in self._match(s.name):
                if s.notification_change:
                    updates[p.name] = s.notification
        self._notification.update(updates)

    async def add_object(self, object_name: str, parameter_key: str) -> tuple[int, int]:
        raise _err(9005, f"{object_name} is not a writable table")

    async def delete_object(self, object_name: str, parameter_key: str) -> int:
        raise _err(9005, f"{object_name} is not a writable table")

    def ensure_can_reboot(self, reset: bool) -> None:
        if not reset:
            raise _err(9001)

    async def reboot(self, command_key: str) -> None:
        raise _err(9001)

    async def factory_reset(self) -> None:
        """Nothing of its own to reset: the rows come from the registry."""

    async def download(self, request: Download) -> DownloadResponse:
        raise _err(9001)

    async def upload(self, request: Upload) -> UploadResponse:
        raise _err(9001)


class OwnDevice:
    """The proxier as a CWMP device of its own, informing to the configured ACS."""

    def __init__(
        self,
        config: Config,
        registry: Registry,
        connreq: ConnectionRequestServer,
        transport_factory: Callable[[AcsSettings], AcsTransport],
    ) -> None:
        me = config.proxier
        acs = config.acs
        directory = private_dir(Path(config.state.dir) / "own")
        self.store = DeviceStore(directory / "cwmp.sqlite")
        self.registry = registry
        self.device_id = DeviceIdStruct(me.manufacturer, me.oui, me.product_class, me.serial_number)
        cr = config.connection_request
        self.model: MemoryBackend = device2_backend(
            self.device_id,
            acs_url=acs.url,
            acs_username=acs.username,
            acs_password=acs.password,
            periodic_inform_interval=acs.periodic_inform_interval,
            connection_request_username=cr.username,
            connection_request_password=cr.password,
            persist=self.store,
        )
        self.model.add_parameter(COUNT, ParamSpec(type="xsd:unsignedInt"))
        self.model.bind_value(COUNT, lambda: str(len(self.registry)))
        self._count = len(registry)
        backend = MountedBackend(
            self.model, {VIRTUAL_DEVICE_TABLE: VirtualDeviceTable(registry.parameters)}
        )
        self.engine = CpeEngine(backend, self.store, self._engine_config(config))
        token = self.store.get_meta("own_cr_token")
        self.connreq = connreq
        self.token = connreq.register(
            self.runner_connection_request,
            self.engine.connection_request_credentials,
            token=token or None,
        )
        if not token:
            self.store.set_meta("own_cr_token", self.token)
        self.engine.set_connection_request_url(connreq.url(self.token))
        self.runner = DeviceRunner(self.engine, transport_factory)

    def _engine_config(self, config: Config) -> EngineConfig:
        acs, cr = config.acs, config.connection_request
        return EngineConfig(
            self.device_id,
            acs.url,
            acs.username,
            acs.password,
            periodic_inform_enable=acs.periodic_inform_enable,
            periodic_inform_interval=acs.periodic_inform_interval,
            connection_request_username=cr.username,
            connection_request_password=cr.password,
            connection_request_limit=cr.rate_limit,
            connection_request_window=cr.rate_window,
        )

    def reconfigure(self, config: Config) -> None:
        """A reloaded config (SIGHUP): the engine takes the new ACS settings."""
        self.engine.reconfigure(self._engine_config(config), time.time())

    def runner_connection_request(self) -> bool:
        return self.runner.connection_request()

    def start(self) -> None:
        self.runner.start(booted=True)

    def table_changed(self) -> None:
        """Devices came or went: a value change of VirtualDeviceNumberOfEntries (§4.3.1)."""
        count = len(self.registry)
        if count != self._count:
            self._count = count
            self.model.set_external(COUNT, str(count))

    async def close(self) -> None:
        await self.runner.stop()
        self.connreq.unregister(self.token)
        self.store.close()
