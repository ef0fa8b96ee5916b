"""TR-330 §4.4 logs against a lab device over loopback: the VendorLogFile table from BMS
GetLogURIs/GetLogInfo (§4.4.1) and Upload of a vendor log — GET from the device's LogURL,
HTTP PUT to a real receiver with Digest or Basic credentials — ending in TransferComplete
(§4.4.2, Table 1 row 7)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from proxier.cwmp.digest import HttpAuthenticator
from proxier.cwmp.rpc import (
    UNKNOWN_TIME,
    CwmpFaultError,
    ParameterValueStruct,
    TransferComplete,
    Upload,
)
from proxier.lab.bms import LogRecord, log_uri
from proxier.translate.logs import COUNT, TABLE, VendorLogs, internal_name
from proxier.translate.opcommon import MemoryKeyValueStore

from .labnet import Rig, lab_rig


@dataclass
class Receiver:
    """An ACS file server on loopback taking HTTP PUT (TR-069 Upload target)."""

    auth: HttpAuthenticator | None
    status: int = 201
    received: dict[str, bytes] = field(default_factory=dict)
    url: str = ""
    runner: web.AppRunner | None = None

    async def start(self) -> None:
        app = web.Application()
        app.router.add_put("/upload/{name}", self._put)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}/upload/"

    async def _put(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.auth is not None:
            verdict = self.auth.check(
                request.method, request.path_qs, request.headers.get("Authorization"), time.time()
            )
            if not verdict.ok:
                response = web.Response(status=401)
                for challenge in self.auth.challenges(time.time()):
                    response.headers.add("WWW-Authenticate", challenge)
                return response
        self.received[request.match_info["name"]] = body
        return web.Response(status=self.status)


def authenticator(**kwargs: Any) -> HttpAuthenticator:
    return HttpAuthenticator(
        "acs-files", lambda user: "s3cret" if user == "acs" else None, **kwargs
    )


@dataclass
class Setup:
    rig: Rig
    logs: VendorLogs
    receiver: Receiver
    done: asyncio.Queue[TransferComplete]

    async def transfer_complete(self) -> TransferComplete:
        return await asyncio.wait_for(self.done.get(), 10)

    async def value(self, name: str) -> str:
        (v,) = await self.logs.values([name])
        return v.value


@contextlib.asynccontextmanager
async def setup(
    auth: HttpAuthenticator | None = None, store: Any = None, **faults: Any
) -> AsyncIterator[Setup]:
    async with lab_rig(services=(), **faults) as rig:
        receiver = Receiver(auth)
        await receiver.start()
        done: asyncio.Queue[TransferComplete] = asyncio.Queue()
        logs = VendorLogs(
            rig.device,
            rig.session,
            on_transfer_complete=done.put_nowait,
            timeout=5,
            store=store,
            refresh_interval=0,
        )
        try:
            yield Setup(rig, logs, receiver, done)
        finally:
            await logs.close()
            assert receiver.runner is not None
            await receiver.runner.cleanup()


def upload(url: str, file_type: str = "4 Vendor Log File 1", **kw: str) -> Upload:
    return Upload(command_key=kw.pop("key", "up-1"), file_type=file_type, url=url, **kw)


# --- §4.4.1 the VendorLogFile table ----------------------------------------------------------


async def test_vendor_log_file_table_from_bms() -> None:
    """TR-330 §4.4.1: one instance per LogURI; Name an internal path, MaximumSize from
    GetLogInfo MaxSize, Persistent 0 initially."""
    async with setup() as s:
        got = {v.name: (v.value, v.type) for v in await s.logs.values(["Device.DeviceInfo."])}
        assert got[COUNT] == ("2", "xsd:unsignedInt")
        assert got[TABLE + "1.Name"] == ("/upnp-dm/log/1/syslog", "xsd:string")
        assert got[TABLE + "2.Name"] == ("/upnp-dm/log/2/boot", "xsd:string")
        assert got[TABLE + "1.MaximumSize"] == ("65536", "xsd:unsignedInt")
        assert got[TABLE + "2.Persistent"] == ("0", "xsd:boolean")
        names = [(n.name, n.writable) for n in await s.logs.names(TABLE, True)]
        assert names == [(TABLE + "1.", False), (TABLE + "2.", False)]
        sub = [n.name for n in await s.logs.names(TABLE + "2.", False)]
        assert sub == [
            TABLE + "2.",
            TABLE + "2.Name",
            TABLE + "2.MaximumSize",
            TABLE + "2.Persistent",
        ]
        with pytest.raises(CwmpFaultError) as exc:
            await s.logs.names(TABLE + "1.Name", True)
        assert exc.value.fault.fault_code == 9003
        assert await s.logs.names("Device.Hosts.", False) == []


async def test_table_follows_logs_added_and_removed_at_run_time() -> None:
    """TR-330 §4.4.1: "refreshes its data model ... since BMS allows logs to be added and
    removed at run time"; instance numbers stay with their LogURI and are never reused."""
    store = MemoryKeyValueStore()
    async with setup(store=store) as s:
        await s.logs.values([TABLE])
        bms = s.rig.lab_device.bms
        bms.logs["audit"] = LogRecord("audit", max_size=1024)
        del bms.logs["boot"]
        got = {v.name: v.value for v in await s.logs.values([TABLE])}
        assert got[TABLE + "1.Name"].endswith("/syslog")
        assert TABLE + "2.Name" not in got
        assert got[TABLE + "3.MaximumSize"] == "1024"
        bms.logs["boot"] = LogRecord("boot")
        assert await s.value(TABLE + "4.Name") == "/upnp-dm/log/4/boot"
        again = VendorLogs(s.rig.device, s.rig.session, store=store, refresh_interval=0)
        assert {v.name for v in await again.values([TABLE])} == {
            v.name for v in await s.logs.values([TABLE])
        }


async def test_parameters_are_read_only() -> None:
    """Reference §3.4: VendorLogFile parameters are R (9008); unknown names 9005."""
    async with setup() as s:
        await s.logs.values([TABLE])
        faults = s.logs.validate(
            [
                ParameterValueStruct(TABLE + "1.Name", "x"),
                ParameterValueStruct(TABLE + "7.Name", "x"),
                ParameterValueStruct("Device.DeviceInfo.Manufacturer", "x"),
            ]
        )
        assert [(f.parameter_name, f.fault_code) for f in faults] == [
            (TABLE + "1.Name", 9008),
            (TABLE + "7.Name", 9005),
        ]


def test_internal_names_are_unique_and_short() -> None:
    """Reference §3.4: Name is string(64) and unique (the instance number makes it so)."""
    long = "urn:x:" + "y" * 200
    assert len(internal_name(12, long)) == 64
    assert internal_name(1, log_uri("syslog")) != internal_name(2, log_uri("syslog"))
    assert internal_name(3, "") == "/upnp-dm/log/3/log"


# --- §4.4.2 Upload -----------------------------------------------------------------------------


async def test_upload_with_digest_credentials() -> None:
    """TR-330 §4.4.2: Status 1; GetLogInfo → LogURL; the log is fetched from the device and
    PUT to the ACS's URL (Digest credentials); TransferComplete FaultCode 0 with times."""
    async with setup(auth=authenticator()) as s:
        bms = s.rig.lab_device.bms
        bms.log("Error", "disk almost full")
        response = await s.logs.upload(
            upload(s.receiver.url + "syslog.txt", username="acs", password="s3cret", key="log-7")
        )
        assert response.status == 1
        tc = await s.transfer_complete()
        assert (tc.command_key, tc.fault_struct.fault_code) == ("log-7", 0)
        assert tc.start_time != UNKNOWN_TIME and tc.start_time <= tc.complete_time
        body = s.receiver.received["syslog.txt"]
        assert body == bms.logs["syslog"].content()
        assert b"disk almost full" in body


async def test_upload_with_basic_credentials_and_any_log() -> None:
    """TR-069 Upload "2 Vendor Log File" (the first log) to a server asking for Basic."""
    async with setup(auth=authenticator(basic_only=True)) as s:
        await s.logs.upload(
            upload(
                s.receiver.url + "any.txt", "2 Vendor Log File", username="acs", password="s3cret"
            )
        )
        assert (await s.transfer_complete()).fault_struct.fault_code == 0
        assert s.receiver.received["any.txt"] == s.rig.lab_device.bms.logs["syslog"].content()


async def test_upload_of_the_second_log() -> None:
    """ "4 Vendor Log File <i>": <i> is the VendorLogFile instance number (reference §3.4)."""
    async with setup() as s:
        await s.logs.upload(upload(s.receiver.url + "boot.txt", "4 Vendor Log File 2"))
        assert (await s.transfer_complete()).fault_struct.fault_code == 0
        assert s.receiver.received["boot.txt"] == s.rig.lab_device.bms.logs["boot"].content()


async def test_refused_credentials_are_9012() -> None:
    """TR-069 9012 File transfer server authentication failure."""
    async with setup(auth=authenticator()) as s:
        await s.logs.upload(upload(s.receiver.url + "x", username="acs", password="wrong"))
        tc = await s.transfer_complete()
        assert tc.fault_struct.fault_code == 9012
        assert "wrong" not in tc.fault_struct.fault_string
        assert s.receiver.received == {}


async def test_upload_target_failures_are_9011() -> None:
    """TR-069 9011 Upload failure: the file server answers an error, or cannot be reached."""
    async with setup() as s:
        s.receiver.status = 500
        await s.logs.upload(upload(s.receiver.url + "x", key="a"))
        assert (await s.transfer_complete()).fault_struct.fault_code == 9011
        assert s.receiver.runner is not None
        url = s.receiver.url
        await s.receiver.runner.cleanup()
        s.receiver.runner = None
        await s.logs.upload(upload(url + "y", key="b"))
        tc = await s.transfer_complete()
        assert (tc.command_key, tc.fault_struct.fault_code) == ("b", 9011)
        s.receiver.runner = web.AppRunner(web.Application())
        await s.receiver.runner.setup()


async def test_log_not_fetched_from_device_is_9011() -> None:
    """TR-330 §4.4.2: "If failed when downloading the log file from the UPnP device, use 9011
    as fault code value in the CWMP TransferComplete RPC"."""
    async with setup() as s:
        await s.logs.values([TABLE])  # the table as last read
        s.rig.lab_device.faults.update({"errors": {"GetLogInfo": [501, "log subsystem down"]}})
        assert (await s.logs.upload(upload(s.receiver.url + "x"))).status == 1
        tc = await s.transfer_complete()
        assert tc.fault_struct.fault_code == 9011
        assert s.receiver.received == {}


@pytest.mark.parametrize(
    ("file_type", "url", "code"),
    [
        ("1 Vendor Configuration File", "http://127.0.0.1:9/x", 9011),
        ("3 Vendor Configuration File 1", "http://127.0.0.1:9/x", 9011),
        ("4 Vendor Log File 9", "http://127.0.0.1:9/x", 9011),
        ("4 Vendor Log File x", "http://127.0.0.1:9/x", 9011),
        ("4 Vendor Log File 1", "ftp://127.0.0.1/x", 9013),
    ],
)
async def test_upload_verification(file_type: str, url: str, code: int) -> None:
    """TR-330 §4.4.2: "Verify RPC Method is correct, if not return error 9011 and exit"
    (configuration files do not exist in UPnP DM, Table 1 row 7); a non-http(s) URL is
    TR-069 9013."""
    async with setup() as s:
        with pytest.raises(CwmpFaultError) as exc:
            await s.logs.upload(upload(url, file_type))
        assert exc.value.fault.fault_code == code
        await s.logs.settled()
        assert s.done.empty()


async def test_log_url_on_another_host_is_never_fetched() -> None:
    """Issue 12 item 6 (never follow a device's URL to another host): a LogURL naming a host
    other than the device's is refused (TransferComplete 9011, TR-330 §4.4.2) and that
    host gets no request."""
    seen: list[str] = []

    async def count(request: web.Request) -> web.Response:
        seen.append(request.path)
        return web.Response(body=b"log")

    app = web.Application()
    app.router.add_get("/{tail:.*}", count)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.2", 0).start()
    elsewhere = f"http://127.0.0.2:{runner.addresses[0][1]}"
    try:
        async with setup() as s:
            s.rig.lab_device.log_url = lambda name: f"{elsewhere}/logs/{name}"  # type: ignore[method-assign]
            assert (await s.logs.upload(upload(s.receiver.url + "x"))).status == 1
            tc = await s.transfer_complete()
            assert tc.fault_struct.fault_code == 9011
            assert "another host" in tc.fault_struct.fault_string
            assert seen == [] and s.receiver.received == {}
    finally:
        await runner.cleanup()


# --- §4.4.1 Persistent marks, issue 13 bootstrap ---------------------------------------------


async def test_first_discovery_lists_the_logs_once_and_marks_them() -> None:
    """A device attached and rebooted at once (first discovery: "1 BOOT", TR-330 Table 1)
    is observed once: one BMS GetLogURIs, every log marked for its Persistent verdict."""
    from proxier.translate.logpersist import MARK

    store = MemoryKeyValueStore()
    async with setup(store=store) as s:
        bms = s.rig.device.bms
        assert bms is not None
        listed = 0
        real = bms.get_log_uris

        async def counting() -> list[str]:
            nonlocal listed
            listed += 1
            return await real()

        bms.get_log_uris = counting  # type: ignore[method-assign]
        s.logs.attached()
        s.logs.device_rebooted()
        await s.logs.settled()
        uris = await real()
    assert listed == 1
    assert uris and all(store.kv_get(MARK + uri) for uri in uris)
