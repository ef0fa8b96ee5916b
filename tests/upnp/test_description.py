"""Descriptions over loopback (TR-330 §4.1.1 discovery steps 2-4, §4.3.1 action checks):
root and embedded devices as candidates, bounded fetches, hostile documents skipped with a
precise reason and never an exception."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import aiohttp
import pytest
from aiohttp import web

from proxier.upnp.description import (
    DescribeResult,
    Limits,
    describe,
    parse_device_description,
    parse_scpd,
    usable_actions,
)

from .goldenfiles import GOLDEN, load
from .peer import serve

DDD = load("ddd/ManageableDevice2.xml")
ROOT_UDN = "uuid:6f1c7c1e-0000-4000-8000-000000000001"
SUB_UDN = "uuid:6f1c7c1e-0000-4000-8000-000000000002"
FAST = Limits(document_time=1.0, total_time=2.0)


def scpd(name: str) -> str:
    return (GOLDEN / "scpd" / f"{name}.xml").read_text()


def xml(text: str | bytes, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=text.encode() if isinstance(text, str) else text,
        content_type="text/xml",
    )


class Device:
    """A loopback description server whose documents a test can replace."""

    def __init__(self) -> None:
        self.docs: dict[str, Callable[[], web.StreamResponse]] = {
            "/desc.xml": lambda: xml(DDD),
            "/scpd/ConfigurationManagement2.xml": lambda: xml(scpd("ConfigurationManagement2")),
            "/scpd/BasicManagement2.xml": lambda: xml(scpd("BasicManagement2")),
            "/scpd/SoftwareManagement2.xml": lambda: xml(scpd("SoftwareManagement2")),
        }
        self.hits: list[str] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.hits.append(request.path)
        make = self.docs.get(request.path)
        return make() if make else web.Response(status=404)


@pytest.fixture
async def device() -> AsyncIterator[tuple[Device, str, aiohttp.ClientSession]]:
    dev = Device()
    async with serve({"/{tail:.*}": dev.handle}) as base, aiohttp.ClientSession() as session:
        yield dev, base, session


async def run(
    device: tuple[Device, str, aiohttp.ClientSession], path: str = "/desc.xml"
) -> DescribeResult:
    _, base, session = device
    return await describe(session, base + path, FAST)


async def test_root_and_embedded_dm_devices_are_separate_candidates(
    device: tuple[Device, str, aiohttp.ClientSession],
) -> None:
    """TR-330 §4.1 Figure 5: root and embedded ManageableDevices are each a candidate; an
    embedded non-DM device is not one; URLs are resolved against the description URL."""
    _, base, _ = device
    result = await run(device)
    assert result.skipped == ()
    assert [d.candidate.udn for d in result.devices] == [ROOT_UDN, SUB_UDN]
    root, sub = result.devices
    assert root.candidate.is_root and not sub.candidate.is_root
    assert sub.candidate.root_udn == ROOT_UDN
    assert root.candidate.friendly_name == "Lab DM device"
    assert root.candidate.serial_number == "SN-0001"
    assert root.candidate.manufacturer == "Example Labs"
    assert root.candidate.model_name == "LabDM"
    assert root.candidate.presentation_url == base + "/"
    cms = root.candidate.service("CMS")
    assert cms is not None
    assert cms.control_url == base + "/ctl/cms"
    assert cms.event_sub_url == base + "/evt/cms"
    assert cms.service_id == "urn:upnp-org:serviceId:ConfigurationManagement"
    assert sub.candidate.service("CMS").control_url == base + "/sub/ctl/cms"  # type: ignore[union-attr]
    assert set(root.actions) == {"CMS", "BMS", "SMS"}
    assert len(root.actions["CMS"]) == 19 and "Reboot" in root.actions["BMS"]
    assert set(sub.actions) == {"CMS"}


async def test_shared_scpd_is_fetched_once(
    device: tuple[Device, str, aiohttp.ClientSession],
) -> None:
    """Embedded devices pointing at the same SCPD URL cost one request."""
    dev, _, _ = device
    await run(device)
    assert dev.hits.count("/scpd/ConfigurationManagement2.xml") == 1


async def test_url_base_is_honoured(device: tuple[Device, str, aiohttp.ClientSession]) -> None:
    """UDA 1.0 URLBase: relative service URLs resolve against it."""
    dev, base, _ = device
    with_base = DDD.replace("<specVersion>", f"<URLBase>{base}/v1/</URLBase><specVersion>", 1)
    with_base = with_base.replace("<SCPDURL>/scpd/", "<SCPDURL>../scpd/").replace(
        "<controlURL>/ctl/cms", "<controlURL>ctl/cms"
    )
    dev.docs["/desc.xml"] = lambda: xml(with_base)
    result = await run(device)
    assert result.devices[0].candidate.service("CMS").control_url == base + "/v1/ctl/cms"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE root [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<root xmlns="urn:schemas-upnp-org:device-1-0"><device><UDN>&x;</UDN></device></root>',
            "DTD",
        ),
        (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
            '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
            '<root xmlns="urn:schemas-upnp-org:device-1-0"><device>&lol3;</device></root>',
            "DTD",
        ),
        ("this is not xml", "well-formed"),
        ('<root xmlns="urn:wrong"><device/></root>', "not {urn:schemas-upnp-org:device-1-0}root"),
        ('<root xmlns="urn:schemas-upnp-org:device-1-0"/>', "without a <device>"),
        (DDD.replace(f"<UDN>{ROOT_UDN}</UDN>", ""), "is not a uuid: URN"),
        (DDD.replace(f"<UDN>{ROOT_UDN}</UDN>", "<UDN><b>x</b></UDN>"), "must be text"),
    ],
    ids=["xxe", "billion-laughs", "not-xml", "wrong-root", "no-device", "no-udn", "markup-udn"],
)
async def test_hostile_description_is_skipped_with_reason(
    device: tuple[Device, str, aiohttp.ClientSession], doc: str, reason: str
) -> None:
    """Hostile DDDs (XXE, billion laughs, wrong types, missing elements) → skipped, reason."""
    dev, base, _ = device
    dev.docs["/desc.xml"] = lambda: xml(doc)
    result = await run(device)
    assert result.devices == ()
    ((where, why),) = result.skipped
    assert where == base + "/desc.xml"
    assert reason in why
    assert not any(h.startswith("/scpd") for h in dev.hits)


async def test_embedded_device_with_bad_type_is_skipped_alone(
    device: tuple[Device, str, aiohttp.ClientSession],
) -> None:
    """One broken embedded device does not take the root down with it."""
    dev, _, _ = device
    broken = DDD.replace(
        "<deviceType>urn:schemas-upnp-org:device:ManageableDevice:2</deviceType>\n"
        "        <friendlyName>Lab DM sub-device",
        "<deviceType>42</deviceType>\n        <friendlyName>Lab DM sub-device",
    )
    assert broken != DDD
    dev.docs["/desc.xml"] = lambda: xml(broken)
    result = await run(device)
    assert [d.candidate.udn for d in result.devices] == [ROOT_UDN]
    assert result.skipped == ((SUB_UDN, f"{SUB_UDN}: deviceType '42' is not a URN"),)


async def test_non_xml_content_type_is_refused(
    device: tuple[Device, str, aiohttp.ClientSession],
) -> None:
    """A description served as text/html is not parsed at all."""
    dev, _, _ = device
    dev.docs["/desc.xml"] = lambda: web.Response(text=DDD, content_type="text/html")
    result = await run(device)
    assert "Content-Type 'text/html' is not XML" in result.skipped[0][1]


async def test_fifty_megabyte_body_stops_reading_early(
    device: tuple[Device, str, aiohttp.ClientSession],
) -> None:
    """A 50 MB chunked body is abandoned once the limit is passed, not read to the end."""
    _, _, session = device
    sent = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal sent
        response = web.StreamResponse(headers={"Content-Type": "text/xml"})
        await response.prepare(request)
        try:
            await response.write(b"<root>")
            while sent < 50 * 1024 * 1024:
                await response.write(b"x" * 65536)
                sent += 65536
        except (ConnectionResetError, RuntimeError):
            pass
        return response

    async with serve({"/big.xml": handler}) as big_base:
        result = await describe(session, big_base + "/big.xml", FAST)
    assert "exceeds the limit" in result.skipped[0][1]
    assert sent < 20 * 1024 * 1024, f"server managed to send {sent} bytes"


async def test_declared_oversize_is_refused_before_reading(
    device: tuple[Device, str, aiohttp.ClientSession],
) -> None:
    """Content-Length above the limit: refused from the headers alone."""
    dev, _, _ = device
    dev.docs["/desc.xml"] = lambda: xml(b"<r>" + b"x" * (600 * 1024) + b"</r>")
    result = await run(device)
    assert "exceeds the limit of 524288" in result.skipped[0][1]


async def test_slow_drip_times_out(device: tuple[Device, str, aiohttp.ClientSession]) -> None:
    """A device dripping its description byte by byte hits the time bound."""
    _, _, session = device
    stop = asyncio.Event()

    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/xml"})
        await response.prepare(request)
        try:
            while not stop.is_set():
                await response.write(b" ")
                await asyncio.sleep(0.05)
        except (ConnectionResetError, RuntimeError):
            pass
        return response

    async with serve({"/drip.xml": drip}) as base:
        result = await describe(session, base + "/drip.xml", Limits(document_time=0.3))
        stop.set()
    assert "took longer than 0.3 s" in result.skipped[0][1]
    assert result.transient  # issue 13: read again with back-off


async def test_redirect_loop_is_bounded(device: tuple[Device, str, aiohttp.ClientSession]) -> None:
    """Redirects are followed at most Limits.max_redirects times."""
    dev, _, _ = device
    dev.docs["/desc.xml"] = lambda: web.Response(status=302, headers={"Location": "/loop.xml"})
    dev.docs["/loop.xml"] = lambda: web.Response(status=302, headers={"Location": "/desc.xml"})
    result = await run(device)
    assert "more than 3 redirects" in result.skipped[0][1]
    assert len(dev.hits) == 4


async def test_redirect_is_followed_and_becomes_the_base(
    device: tuple[Device, str, aiohttp.ClientSession],
) -> None:
    """A same-host redirect is followed; relative URLs resolve against the final URL."""
    dev, base, _ = device
    dev.docs["/old.xml"] = lambda: web.Response(status=301, headers={"Location": "/desc.xml"})
    result = await run(device, "/old.xml")
    assert result.devices[0].candidate.description_url == base + "/desc.xml"


async def test_redirect_to_another_host_is_refused(
    device: tuple[Device, str, aiohttp.ClientSession],
) -> None:
    """No SSRF through redirects: the device may not send us to another host."""
    dev, _, _ = device
    dev.docs["/desc.xml"] = lambda: web.Response(
        status=302, headers={"Location": "http://192.0.2.1/x.xml"}
    )
    result = await run(device)
    assert "another host" in result.skipped[0][1]


async def test_non_http_url_is_refused(device: tuple[Device, str, aiohttp.ClientSession]) -> None:
    """Only http(s) description URLs are fetched."""
    _, _, session = device
    result = await describe(session, "file:///etc/passwd", FAST)
    assert "only http(s)" in result.skipped[0][1]


async def test_service_url_to_another_host_drops_the_service(
    device: tuple[Device, str, aiohttp.ClientSession],
) -> None:
    """A controlURL on another host is refused (SSRF): the service is dropped, and the device
    stays with what is left (BMS and SMS; TR-330 §3.1 allows a device without CMS)."""
    dev, _, _ = device
    evil = DDD.replace(
        "<controlURL>/ctl/cms</controlURL>", "<controlURL>http://192.0.2.1/c</controlURL>"
    )
    dev.docs["/desc.xml"] = lambda: xml(evil)
    result = await run(device)
    root, _sub = result.devices
    assert root.candidate.udn == ROOT_UDN and set(root.actions) == {"BMS", "SMS"}
    assert any("no ConfigurationManagement" in p for p in root.problems)
    assert result.skipped == ()


async def test_cms_without_required_action_is_skipped(
    device: tuple[Device, str, aiohttp.ClientSession],
) -> None:
    """TR-330 §4.3.1: the SCPD must offer the CMS actions the proxy needs."""
    dev, _, _ = device
    lacking = scpd("ConfigurationManagement2").replace(
        "<name>GetValues</name>", "<name>GetValuez</name>"
    )
    dev.docs["/scpd/ConfigurationManagement2.xml"] = lambda: xml(lacking)
    result = await run(device)
    assert result.devices == ()
    assert all("CMS lacks GetValues (TR-330 §4.3.1)" in why for _, why in result.skipped)


async def test_lying_argument_names_disable_the_action(
    device: tuple[Device, str, aiohttp.ClientSession],
) -> None:
    """An SCPD whose Reboot has unexpected arguments: Reboot is not used, and reported."""
    dev, _, _ = device
    lying = scpd("BasicManagement2").replace("<name>RebootStatus</name>", "<name>Whatever</name>")
    dev.docs["/scpd/BasicManagement2.xml"] = lambda: xml(lying)
    result = await run(device)
    root = result.devices[0]
    assert "Reboot" not in root.actions["BMS"]
    assert any("BMS Reboot arguments" in p for p in root.problems)
    assert any("no reboot mechanism" in p for p in root.problems)


async def test_missing_bms_scpd_keeps_the_device(
    device: tuple[Device, str, aiohttp.ClientSession],
) -> None:
    """An optional service whose SCPD fails is dropped with a problem, the device stays."""
    dev, _, _ = device
    del dev.docs["/scpd/BasicManagement2.xml"]
    result = await run(device)
    root = result.devices[0]
    assert "BMS" not in root.actions
    assert any("BMS not used: BMS SCPD: HTTP 404" in p for p in root.problems)


def test_scpd_parser_reads_arguments_in_order() -> None:
    """SCPD argument order is the order the client must send them (UDA §3.2.1)."""
    parsed = parse_scpd(scpd("BasicManagement2").encode())
    assert [a.name for a in parsed.actions["Ping"] if a.direction == "in"] == [
        "Host",
        "NumberOfRepetitions",
        "Timeout",
        "DataBlockSize",
        "DSCP",
    ]
    assert parsed.state_variables["ActiveTestIDs"] == ("string", True)
    usable, problems = usable_actions("BMS", parsed)
    assert problems == [] and "GetSelfTestResult" in usable


def test_too_many_devices_is_refused() -> None:
    """A description with an absurd device tree is refused as a whole."""
    inner = "".join(
        f"<device><deviceType>urn:x:device:X:1</deviceType><UDN>uuid:{i}</UDN></device>"
        for i in range(100)
    )
    doc = (
        '<root xmlns="urn:schemas-upnp-org:device-1-0"><device><deviceType>urn:x:device:X:1'
        f"</deviceType><UDN>uuid:root</UDN><deviceList>{inner}</deviceList></device></root>"
    )
    from proxier.upnp.description import DescriptionError

    with pytest.raises(DescriptionError, match="more than 32 devices"):
        parse_device_description(doc.encode(), "http://127.0.0.1/d.xml")


@pytest.mark.parametrize(
    ("scpd_doc", "reason"),
    [
        (
            '<?xml version="1.0"?><!DOCTYPE scpd [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<scpd xmlns="urn:schemas-upnp-org:service-1-0">&x;</scpd>',
            "DTD",
        ),
        ("<scpd/>", "not {urn:schemas-upnp-org:service-1-0}scpd"),
        ("<<<", "well-formed"),
    ],
    ids=["xxe", "no-namespace", "broken"],
)
async def test_hostile_cms_scpd_skips_the_device(
    device: tuple[Device, str, aiohttp.ClientSession], scpd_doc: str, reason: str
) -> None:
    """A CMS SCPD that is hostile or wrong makes the device unusable: skipped, with reason."""
    dev, _, _ = device
    dev.docs["/scpd/ConfigurationManagement2.xml"] = lambda: xml(scpd_doc)
    result = await run(device)
    assert result.devices == ()
    assert len(result.skipped) == 2  # root and embedded share the SCPD
    assert all(reason in why for _, why in result.skipped)


async def test_scpd_with_garbled_arguments_is_reported(
    device: tuple[Device, str, aiohttp.ClientSession],
) -> None:
    """Wrong argument directions are a lie about the action: it is not used, and said so."""
    dev, _, _ = device
    garbled = scpd("SoftwareManagement2").replace(
        "<name>DUURI</name><direction>in</direction>", "<name>DUURI</name><direction>up</direction>"
    )
    assert garbled != scpd("SoftwareManagement2")
    dev.docs["/scpd/SoftwareManagement2.xml"] = lambda: xml(garbled)
    root = (await run(device)).devices[0]
    assert "Install" not in root.actions["SMS"] and "Update" in root.actions["SMS"]
    assert any(p.startswith("SMS Install arguments") for p in root.problems)


def test_usable_action_sets_are_shared_between_devices_of_a_model() -> None:
    """Memory per virtual device (issue 4, gateway): devices with the same BMS (here two
    SCPD documents differing only in layout) share one set of usable actions; it is the
    right set (TR-330 §4.3.1 actions with the expected arguments)."""
    body = scpd("BasicManagement2")
    first, _ = usable_actions("BMS", parse_scpd(body.encode()))
    second, _ = usable_actions("BMS", parse_scpd((body + "\n").encode()))
    assert "Reboot" in first and "BaselineReset" in first
    assert first == second and first is second


async def test_unreadable_for_now_is_transient_unusable_is_not(
    device: tuple[Device, str, aiohttp.ClientSession],
) -> None:
    """Issue 13 (re-read with back-off): HTTP 5xx from the DDD or from any SCPD, a timeout
    or a refused connection mark the result `transient` (read again later); a 404 or a
    hostile document do not (the device is unusable as it is)."""
    dev, _, session = device
    dev.docs["/desc.xml"] = lambda: xml("busy", status=503)
    assert (await run(device)).transient
    dev.docs["/desc.xml"] = lambda: xml(DDD)
    dev.docs["/scpd/BasicManagement2.xml"] = lambda: xml("busy", status=500)
    result = await run(device)
    assert result.transient and result.devices == ()  # whole device read again, not half
    assert "HTTP 500" in result.skipped[0][1]
    del dev.docs["/scpd/BasicManagement2.xml"]
    assert not (await run(device)).transient  # 404: BMS dropped, device kept
    dev.docs["/desc.xml"] = lambda: xml("<root/>")
    result = await run(device)
    assert not result.transient and result.skipped
    del dev.docs["/desc.xml"]
    assert not (await run(device)).transient  # 404 on the description: not there at all

    async def gone(request: web.Request) -> web.Response:
        return xml(DDD)

    async with serve({"/x": gone}) as other:
        pass  # that port is closed now: connection refused
    refused = await describe(session, other + "/desc.xml", FAST)
    assert refused.transient and "failed" in refused.skipped[0][1]
