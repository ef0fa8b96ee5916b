"""`LocalDmDevice`: the `DmDevice` protocol served straight from a lab data model, no network.

Translation unit tests use it to drive a real CMS engine (the same one the lab server
exposes over SOAP) without sockets. Events follow GENA's shape: each `events()` iterator
starts with an initial event carrying every evented variable, then one event per change,
with SEQ counting from 0 per iterator (UDA §4.2).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

from proxier.lab.datamodel import DataModel, ModelChange
from proxier.upnp.device import (
    BmsApi,
    CmsApi,
    DmEvent,
    NodeAttributes,
    ParameterValue,
    SmsApi,
    SupportedDataModel,
)


class LocalCms:
    """CmsApi over a `DataModel` (errors are the model's `UpnpError`s, unchanged)."""

    def __init__(self, model: DataModel) -> None:
        self.model = model

    async def get_supported_data_models(self) -> list[SupportedDataModel]:
        return self.model.get_supported_data_models()

    async def get_supported_parameters(self, starting_node: str, search_depth: int) -> list[str]:
        return self.model.get_supported_parameters(starting_node, search_depth)

    async def get_instances(self, starting_node: str, search_depth: int) -> list[str]:
        return self.model.get_instances(starting_node, search_depth)

    async def get_values(self, paths: Sequence[str]) -> list[ParameterValue]:
        return self.model.get_values(paths)

    async def get_selected_values(self, starting_node: str, filter: str) -> list[ParameterValue]:
        return self.model.get_selected_values(starting_node, filter)

    async def set_values(self, values: Sequence[ParameterValue]) -> str:
        return self.model.set_values(values)

    async def create_instance(
        self, multi_instance_name: str, children: Sequence[ParameterValue]
    ) -> tuple[str, str]:
        return self.model.create_instance(multi_instance_name, children)

    async def delete_instance(self, instance_identifier: str) -> str:
        return self.model.delete_instance(instance_identifier)

    async def get_attributes(self, paths: Sequence[str]) -> list[NodeAttributes]:
        return self.model.get_attributes(paths)

    async def set_attributes(self, nodes: Sequence[NodeAttributes]) -> str:
        return self.model.set_attributes(nodes)

    async def get_configuration_update(self) -> str:
        return self.model.get_configuration_update()

    async def get_current_configuration_version(self) -> int:
        return self.model.get_current_configuration_version()

    async def get_supported_data_models_update(self) -> str:
        return self.model.get_supported_data_models_update()

    async def get_supported_parameters_update(self) -> str:
        return self.model.get_supported_parameters_update()

    async def get_attribute_values_update(self) -> str:
        return self.model.get_attribute_values_update()

    async def get_inconsistent_status(self) -> bool:
        return self.model.get_inconsistent_status()

    async def get_alarms_enabled(self) -> bool:
        return self.model.get_alarms_enabled()

    async def set_alarms_enabled(self, enabled: bool) -> None:
        self.model.set_alarms_enabled(enabled)


_CLOSED = object()


class LocalDmDevice:
    """A `DmDevice` backed by a `DataModel` in this process (CMS; BMS/SMS when given)."""

    def __init__(
        self,
        model: DataModel | None = None,
        *,
        udn: str = "uuid:00000000-0000-4000-8000-000000000000",
        bms: BmsApi | None = None,
        sms: SmsApi | None = None,
    ) -> None:
        self.model = model if model is not None else DataModel()
        self._udn = udn
        self._cms = LocalCms(self.model)
        self._bms = bms
        self._sms = sms
        self._queues: list[asyncio.Queue[object]] = []
        self._closed = False
        self.model.changes.append(self._on_change)

    @property
    def udn(self) -> str:
        return self._udn

    @property
    def cms(self) -> CmsApi:
        return self._cms

    @property
    def bms(self) -> BmsApi | None:
        return self._bms

    @property
    def sms(self) -> SmsApi | None:
        return self._sms

    def publish(self, service: str, variables: dict[str, str]) -> None:
        """Queue an event for every open `events()` iterator (BMS/SMS cores call this)."""
        for queue in self._queues:
            queue.put_nowait((service, dict(variables)))

    def _on_change(self, change: ModelChange) -> None:
        if change.variables:
            self.publish("CMS", change.variables)

    async def events(self) -> AsyncIterator[DmEvent]:
        """Initial event (all CMS evented variables), then every change, until `close()`."""
        queue: asyncio.Queue[object] = asyncio.Queue()
        self._queues.append(queue)
        seq = 0
        try:
            if self._closed:
                return
            yield DmEvent("CMS", self.model.state_variables(), seq)
            while True:
                item = await queue.get()
                if item is _CLOSED:
                    return
                assert isinstance(item, tuple)
                service, variables = item
                seq += 1
                yield DmEvent(service, variables, seq)
        finally:
            self._queues.remove(queue)

    def close(self) -> None:
        """End every `events()` iterator and detach from the model."""
        self._closed = True
        if self._on_change in self.model.changes:
            self.model.changes.remove(self._on_change)
        for queue in self._queues:
            queue.put_nowait(_CLOSED)
