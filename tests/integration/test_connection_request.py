"""Every Connection Request rule of TR-069 §3.2.2, lab ACS → Connection Request server →
engine → session back to the lab ACS, over loopback HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from proxier.cwmp.connreq import ConnectionRequestServer
from proxier.labacs.server import LabAcs
from tests.integration.harness import CR_PASSWORD, CR_USER, VirtualCpe, lab, running_cpe

Stack = tuple[LabAcs, ConnectionRequestServer, VirtualCpe]


@pytest.fixture
async def stack(tmp_path: Path) -> AsyncIterator[Stack]:
    async with lab(tmp_path) as (acs, crs), running_cpe(tmp_path, acs, crs) as cpe:
        yield acs, crs, cpe


async def get(
    url: str, user: str = CR_USER, password: str = CR_PASSWORD, method: str = "GET"
) -> tuple[int, bytes]:
    auth = aiohttp.DigestAuthMiddleware(user, password)
    async with aiohttp.ClientSession(middlewares=(auth,)) as session:
        async with session.request(method, url) as response:
            return response.status, await response.read()


async def test_accepted_request_starts_a_session_with_event_6(stack: Stack) -> None:
    """§3.2.2: an authenticated GET gets 200/204 with an empty body, then (within 30 s) a
    session whose Inform carries "6 CONNECTION REQUEST"."""
    acs, _, cpe = stack
    before = acs.store.informs(cpe.id)[-1]["id"]
    status, body = await get(cpe.cr_url)
    assert status in (200, 204) and body == b""
    informs = await acs.wait_informs(cpe.id, after=before, wait=30.0)
    assert [e[0] for e in informs[0]["events"]] == ["6 CONNECTION REQUEST"]


async def test_lab_acs_sends_digest_connection_request(stack: Stack) -> None:
    """§3.2.2 from the ACS side: the lab ACS GETs the ConnectionRequestURL of the last
    Inform with digest credentials and reports success."""
    acs, _, cpe = stack
    assert acs.store.cr_target(cpe.id)[0] == cpe.cr_url  # type: ignore[index]
    assert await acs.connection_request(cpe.id) == "ok"


async def test_wrong_credentials_never_start_a_session(stack: Stack) -> None:
    """§3.2.2: MUST NOT initiate a connection for an unsuccessfully authenticated request."""
    acs, _, cpe = stack
    before = len(acs.store.sessions(cpe.id))
    assert (await get(cpe.cr_url, password="nope"))[0] == 401
    assert (await get(cpe.cr_url, user="intruder"))[0] == 401
    async with aiohttp.ClientSession() as session, session.get(cpe.cr_url) as response:
        assert response.status == 401  # no credentials at all
    # A good request now: exactly one more session, which is this one's.
    assert (await get(cpe.cr_url))[0] == 200
    await cpe.wait_sessions(2)
    assert len(acs.store.sessions(cpe.id)) == before + 1


async def test_get_only_and_unknown_paths(stack: Stack) -> None:
    """§3.2.2: the Connection Request is an HTTP GET to the URL the CPE designated."""
    _, crs, cpe = stack
    assert (await get(cpe.cr_url, method="POST"))[0] == 405
    assert (await get(f"http://127.0.0.1:{crs.port}/cr/guessed-path"))[0] == 404


async def test_burst_before_session_yields_one_session(stack: Stack) -> None:
    """§3.2.2: several authenticated requests before the session starts each get a
    successful answer, but only one session results."""
    acs, _, cpe = stack
    sessions_before = len(acs.store.sessions(cpe.id))
    await cpe.halt()  # hold the session back while the burst arrives
    statuses = [(await get(cpe.cr_url))[0] for _ in range(4)]
    assert statuses == [200, 200, 200, 200]
    cpe.runner.start()
    await cpe.wait_sessions(2)
    assert len(acs.store.sessions(cpe.id)) == sessions_before + 1
    assert [e[0] for e in acs.store.informs(cpe.id)[-1]["events"]] == ["6 CONNECTION REQUEST"]


async def test_request_during_session_gets_503(stack: Stack) -> None:
    """§3.2.2: a request while the CPE is in a session never cuts it short; proxier
    answers 503 (without Retry-After) and starts no extra session."""
    acs, _, cpe = stack
    acs.hold_inform = lambda inform: True
    before = acs.store.informs(cpe.id)[-1]["id"]
    assert (await get(cpe.cr_url))[0] == 200
    await acs.wait_informs(cpe.id, after=before)  # the session is open, its Inform held
    auth = aiohttp.DigestAuthMiddleware(CR_USER, CR_PASSWORD)
    async with aiohttp.ClientSession(middlewares=(auth,)) as session:
        async with session.get(cpe.cr_url) as response:
            assert response.status == 503
            assert "Retry-After" not in response.headers
    acs.release_held()
    await cpe.wait_sessions(2)
    assert cpe.results[1].ok
    assert len(acs.store.sessions(cpe.id)) == 2


async def test_rate_limit_503(tmp_path: Path) -> None:
    """§3.2.2: the CPE SHOULD restrict Connection Requests per period; over the limit it
    answers 503 (no Retry-After) and starts no session."""
    async with (
        lab(tmp_path) as (acs, crs),
        running_cpe(tmp_path, acs, crs, connection_request_limit=1) as cpe,
    ):
        assert (await get(cpe.cr_url))[0] == 200
        await cpe.wait_sessions(2)
        assert (await get(cpe.cr_url))[0] == 503
        assert len(acs.store.sessions(cpe.id)) == 2


async def test_credentials_set_by_the_acs_apply(stack: Stack) -> None:
    """ConnectionRequestUsername/Password written by the ACS (GenieACS does this on every
    device) protect the next Connection Request; the old ones stop working."""
    acs, _, cpe = stack
    task = await acs.queue_task(
        cpe.id,
        {
            "name": "SetParameterValues",
            "parameterList": [
                ["Device.ManagementServer.ConnectionRequestUsername", "new-user"],
                ["Device.ManagementServer.ConnectionRequestPassword", "new-secret"],
            ],
        },
    )
    done = await acs.wait_task(cpe.id, task["id"], 20.0)
    assert done is not None and done["status"] == "done"
    await cpe.wait_sessions(2)
    assert (await get(cpe.cr_url))[0] == 401
    assert await acs.connection_request(cpe.id) == "ok"  # the lab ACS learnt them
    await cpe.wait_sessions(3)


async def test_rate_limit_token_bucket_lets_an_acs_burst_and_stops_a_flood(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12 item 12 (TR-069 §3.2.2 "SHOULD restrict"): with the default
    `connection_request.rate_limit`/`rate_window` bucket, an ACS that sends one Connection
    Request per task (GenieACS NBI) gets 25 in a row accepted, each a session; a flood past
    the bucket is answered 503 and logged as rate-limited, while requests of one burst still
    make one session."""
    from proxier.cwmp.ratelimit import DEFAULT_RATE_LIMIT

    acs, _, cpe = stack
    auth = aiohttp.DigestAuthMiddleware(CR_USER, CR_PASSWORD)
    async with aiohttp.ClientSession(middlewares=(auth,)) as session:

        async def cr() -> int:
            async with session.get(cpe.cr_url) as response:
                return response.status

        for i in range(25):  # one per task, each waited for, as GenieACS does
            assert await cr() == 200, f"request {i + 1} of an ACS burst refused"
            await cpe.wait_sessions(2 + i)
        sessions = len(acs.store.sessions(cpe.id))
        flood = await asyncio.gather(*(cr() for _ in range(2 * DEFAULT_RATE_LIMIT)))
    await cpe.wait_sessions(27)  # the flood's one session
    await asyncio.sleep(0.3)
    limited = [r for r in caplog.records if "rate-limited" in r.getMessage()]
    accepted = flood.count(200)
    assert accepted <= DEFAULT_RATE_LIMIT - 25 + 1  # what was left in the bucket
    assert flood.count(503) >= 2 * DEFAULT_RATE_LIMIT - accepted
    assert len(limited) >= 2 * DEFAULT_RATE_LIMIT - (DEFAULT_RATE_LIMIT - 25 + 1)
    # one session per burst: 128 requests at once start at most one session
    assert len(acs.store.sessions(cpe.id)) - sessions == 1
