"""Issue 8 GENA callback address: PER_PATH listens only on the local address of the path to
a device (never a wildcard); `upnp.callback_host` names one address instead."""

from __future__ import annotations

import aiohttp
import pytest

from proxier.config import ConfigError, from_dict
from proxier.upnp.gena import PER_PATH, GenaManager


async def test_per_path_listens_on_the_path_address_only_when_needed() -> None:
    async with aiohttp.ClientSession() as session:
        gena = GenaManager(session, host=PER_PATH)
        await gena.start()
        try:
            assert gena._path_ports == {}, "nothing listens before a device needs it"
            await gena._listen_towards("http://127.0.0.1:9/event")
            (address,) = gena._path_ports
            assert address == "127.0.0.1"
            url = gena.callback_url("http://127.0.0.1:9/event")
            assert url == f"http://127.0.0.1:{gena._path_ports[address]}/gena"
            async with session.request("NOTIFY", url) as response:  # it really listens there
                assert response.status in (400, 412)
        finally:
            await gena.stop()


def test_callback_host_must_be_an_address() -> None:
    base = {"acs": {"url": "http://acs.example/"}}
    assert from_dict({**base, "upnp": {"callback_host": "192.0.2.7"}}).upnp.callback_host
    with pytest.raises(ConfigError) as err:
        from_dict({**base, "upnp": {"callback_host": "lan0"}})
    assert err.value.key == "upnp.callback_host"
