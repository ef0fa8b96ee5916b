"""The embedding API: one `Proxier` object per process, no globals.

A CPE agent (or `proxier run`) creates a Proxier from a Config, starts it inside its own event
loop, and reads the VirtualDevice table and the proxier's own data model from it.
"""

from __future__ import annotations

import logging
from typing import Any

from proxier.config import Config
from proxier.cwmp.rpc import ParameterValueStruct
from proxier.localapi import LocalApi
from proxier.virtual.registry import Registry

log = logging.getLogger("proxier")


class Proxier:
    """Discovers UPnP DM devices and runs one Virtual CWMP Device for each."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.registry = Registry(config.state.dir)
        self.local_api = LocalApi(self.virtual_devices, self.parameters)

    async def start(self) -> None:
        if self.config.api.enable:
            await self.local_api.start(self.config.api.bind, self.config.api.port)
            log.info("local API on http://%s:%d/api/", self.config.api.bind, self.local_api.port)

    async def stop(self) -> None:
        await self.local_api.stop()
        self.registry.close()

    def virtual_devices(self) -> list[dict[str, Any]]:
        """The VirtualDevice table as plain data (no credentials)."""
        return [
            {
                "instance": rec.instance,
                "id": rec.key.id,
                "manufacturer": rec.manufacturer,
                "oui": rec.key.oui,
                "product_class": rec.key.product_class,
                "serial_number": rec.key.serial_number,
                "udns": list(rec.udns),
                "location": rec.location,
                "online": rec.online,
            }
            for rec in self.registry
        ]

    def parameters(self) -> list[ParameterValueStruct]:
        """The proxier's own data model entries that concern proxying (TR-330 §4.3.1)."""
        return self.registry.parameters()
