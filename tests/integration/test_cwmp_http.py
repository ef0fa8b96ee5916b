"""Engine ⇄ lab ACS HTTP rules end to end (TR-069 §3.3, §3.4): authentication, TLS,
session cookies (incl. RFC 2965 `$Version`), connection changes, redirects, chunked bodies."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from proxier.cwmp.http import HttpSettings
from proxier.sessionlog import SessionLog
from tests.cwmp.tlsca import make_pki
from tests.integration.harness import lab, make_cpe


async def bootstrap(
    tmp_path: Path, acs_config: dict[str, Any], *, url: str | None = None, **cpe_kw: Any
) -> tuple[list[Any], list[dict[str, Any]], list[dict[str, Any]]]:
    """Run one device's first session against a lab ACS built from `acs_config`;
    return (session results, the ACS's Inform history, its session log)."""
    async with lab(tmp_path, **acs_config) as (acs, crs):
        cpe = make_cpe(tmp_path / "cpe", url or acs.url, crs, **cpe_kw)
        cpe.runner.start(booted=True)
        try:
            results = await cpe.wait_sessions(1)
            informs = acs.store.informs(cpe.id)
            sessions = acs.store.sessions(cpe.id)
        finally:
            await cpe.stop()
    return results, informs, sessions


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
async def test_digest_auth(tmp_path: Path, algorithm: str) -> None:
    """§3.4.4/§3.4.5: the ACS authenticates the CPE by digest (qop=auth; MD5, SHA-256)."""
    results, informs, sessions = await bootstrap(tmp_path, {"digest_algorithms": (algorithm,)})
    assert results[0].ok and len(informs) == 1
    assert sessions[0]["outcome"] == "completed"


async def test_wrong_password_fails_the_session(tmp_path: Path) -> None:
    """§3.4.4: with a wrong password the ACS never sees an Inform; the CPE counts a failed
    session (and will retry, §3.2.1.1)."""
    results, informs, _ = await bootstrap(tmp_path, {}, password="wrong")
    assert not results[0].ok and "401" in results[0].reason
    assert informs == []


async def test_basic_auth_over_tls(tmp_path: Path) -> None:
    """§3.4.4 + §3.3: over TLS the ACS may use Basic; the CPE verifies the ACS certificate
    against the configured CA."""
    pki = make_pki(tmp_path)
    results, informs, _ = await bootstrap(
        tmp_path,
        {"auth": "basic", "ssl_context": pki.server_context()},
        template=HttpSettings("https://unused/", ca_file=str(pki.ca_file)),
    )
    assert results[0].ok and informs[0]["events"] == [["0 BOOTSTRAP", ""], ["1 BOOT", ""]]


async def test_untrusted_acs_certificate_fails(tmp_path: Path) -> None:
    """§3.3: certificate verification is on by default: an ACS whose certificate does not
    chain to a trusted CA gets no Inform."""
    pki = make_pki(tmp_path)
    results, informs, _ = await bootstrap(tmp_path, {"ssl_context": pki.server_context()})
    assert not results[0].ok and "TLS" in results[0].reason
    assert informs == []


@pytest.mark.parametrize("style", ["netscape", "rfc2965"])
async def test_session_cookie_across_new_connections(tmp_path: Path, style: str) -> None:
    """§3.4.2: when the ACS closes the TCP connection after each response the CPE carries
    on in a new one, returning the session cookie (old-style, or RFC 2965 with
    `$Version="1"` as in the seed trace); the ACS sees one session, completed."""
    async with lab(tmp_path, cookie_style=style, close_connections=True) as (acs, crs):
        cpe = make_cpe(tmp_path / "cpe", acs.url, crs)
        cpe.runner.start(booted=True)
        try:
            await cpe.wait_sessions(1)
            task = await acs.queue_task(
                cpe.id, {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo."]}
            )
            done = await acs.wait_task(cpe.id, task["id"], 20.0)
            assert done is not None and done["status"] == "done"
            assert [s["outcome"] for s in acs.store.sessions(cpe.id)] == ["completed"] * 2
        finally:
            await cpe.stop()


async def test_chunked_acs_responses(tmp_path: Path) -> None:
    """HTTP/1.1 chunked transfer coding from the ACS (as in the seed trace)."""
    async with lab(tmp_path, chunked=True) as (acs, crs):
        cpe = make_cpe(tmp_path / "cpe", acs.url, crs)
        cpe.runner.start(booted=True)
        try:
            await cpe.wait_sessions(1)
            task = await acs.queue_task(cpe.id, {"name": "GetRPCMethods"})
            done = await acs.wait_task(cpe.id, task["id"], 20.0)
            assert done is not None and done["status"] == "done"
        finally:
            await cpe.stop()


async def test_redirect_applies_to_the_session_only(tmp_path: Path) -> None:
    """§3.4.2: a 307 (or 302) from the configured ACS URL sends the same POST to the new
    URL for the rest of the session; the next session starts at the configured URL."""
    hits: list[str] = []
    async with lab(tmp_path) as (acs, crs):

        async def redirect(request: web.Request) -> web.StreamResponse:
            hits.append(request.method)
            await request.read()
            status = 307 if len(hits) % 2 else 302
            return web.Response(status=status, headers={"Location": acs.url})

        app = web.Application()
        app.router.add_route("*", "/", redirect)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        front = f"http://127.0.0.1:{runner.addresses[0][1]}/"
        cpe = make_cpe(tmp_path / "cpe", front, crs)
        cpe.runner.start(booted=True)
        try:
            await cpe.wait_sessions(1)
            task = await acs.queue_task(cpe.id, {"name": "GetRPCMethods"})
            done = await acs.wait_task(cpe.id, task["id"], 20.0)
            assert done is not None and done["status"] == "done"
            await cpe.wait_sessions(2)
            assert [r.ok for r in cpe.results] == [True, True]
            assert hits == ["POST", "POST"]  # one Inform POST redirected per session
            assert len(acs.store.informs(cpe.id)) == 2
        finally:
            await cpe.stop()
            await runner.cleanup()


async def test_basic_over_plain_http_refused_unless_allowed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 12 item 9: after a Basic challenge from an http:// lab ACS the CPE does not send
    the password; the session fails naming `acs.allow_basic_over_http`, in one log line.
    With the setting on, the same ACS gets its Inform."""
    for sub in ("refused", "allowed"):
        (tmp_path / sub).mkdir()
    results, informs, _ = await bootstrap(tmp_path / "refused", {"auth": "basic"})
    assert not results[0].ok and "acs.allow_basic_over_http" in results[0].reason
    assert informs == []
    SessionLog().done("CPE", results[0])  # what the daemon logs for each finished session
    lines = [r for r in caplog.records if "allow_basic_over_http" in r.getMessage()]
    assert len(lines) == 1 and r"\n" not in lines[0].getMessage()
    template = HttpSettings("http://unused/", allow_basic_over_http=True)
    results, informs, _ = await bootstrap(
        tmp_path / "allowed", {"auth": "basic"}, template=template
    )
    assert results[0].ok and len(informs) == 1
