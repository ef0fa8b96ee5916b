"""The Connection Request server over loopback HTTP (TR-069 §3.2.2)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from proxier.cwmp.connreq import ConnectionRequestServer, format_host
from proxier.cwmp.digest import digest_response, parse_auth_params


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Device:
    """Stands in for an engine: counts requests and says whether it accepts them."""

    def __init__(self) -> None:
        self.calls = 0
        self.accept = True
        self.creds = ("acs-user", "cr-secret")

    def connection_request(self) -> bool:
        self.calls += 1
        return self.accept


@pytest.fixture
async def server() -> AsyncIterator[ConnectionRequestServer]:
    async with ConnectionRequestServer(bind="127.0.0.1", port=0, clock=Clock()) as srv:
        yield srv


def _register(server: ConnectionRequestServer) -> tuple[Device, str]:
    device = Device()
    token = server.register(device.connection_request, lambda: device.creds)
    return device, server.url(token)


async def _get(url: str, user: str, password: str, method: str = "GET") -> aiohttp.ClientResponse:
    auth = aiohttp.DigestAuthMiddleware(user, password)
    async with aiohttp.ClientSession(middlewares=(auth,)) as session:
        async with session.request(method, url) as response:
            await response.read()
            return response


async def test_authenticated_get_gets_empty_200(server: ConnectionRequestServer) -> None:
    """§3.2.2: digest-authenticated GET → 200 with a zero-length body; the device is told."""
    device, url = _register(server)
    response = await _get(url, "acs-user", "cr-secret")
    assert response.status == 200
    assert response.headers["Content-Length"] == "0"
    assert device.calls == 1


async def test_challenge_is_digest_qop_auth(server: ConnectionRequestServer) -> None:
    """§3.2.2/§3.4.5: an unauthenticated GET gets a digest challenge with qop=auth, no session."""
    device, url = _register(server)
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 401
        scheme, _, rest = response.headers["WWW-Authenticate"].partition(" ")
        params = parse_auth_params(rest)
    assert scheme == "Digest" and params["qop"] == "auth" and params["algorithm"] == "MD5"
    assert device.calls == 0


async def test_wrong_password_never_starts_a_session(server: ConnectionRequestServer) -> None:
    """§3.2.2: MUST NOT initiate a connection due to an unsuccessfully authenticated request."""
    device, url = _register(server)
    assert (await _get(url, "acs-user", "wrong")).status == 401
    assert (await _get(url, "someone", "cr-secret")).status == 401
    assert device.calls == 0


async def test_genieacs_style_authorization_header(server: ConnectionRequestServer) -> None:
    """§3.2.2 with GenieACS as the ACS: unquoted algorithm/qop/nc as in the recorded trace."""
    device, url = _register(server)
    path = url[url.index("/cr/") :]
    async with aiohttp.ClientSession() as session:
        async with session.get(url) as challenge:
            params = parse_auth_params(challenge.headers["WWW-Authenticate"].partition(" ")[2])
        response_digest = digest_response(
            algorithm="MD5",
            username="acs-user",
            realm=params["realm"],
            password="cr-secret",
            method="GET",
            uri=path,
            nonce=params["nonce"],
            nc="00000001",
            cnonce="3236efd2559cb569",
            qop="auth",
        )
        header = (
            f'Digest username="acs-user",realm="{params["realm"]}",nonce="{params["nonce"]}",'
            f'uri="{path}",algorithm=MD5,qop=auth,nc=00000001,cnonce="3236efd2559cb569",'
            f'response="{response_digest}"'
        )
        async with session.get(url, headers={"Authorization": header}) as response:
            assert response.status == 200
    assert device.calls == 1


async def test_other_methods_get_405(server: ConnectionRequestServer) -> None:
    """§3.2.2: the Connection Request MUST use an HTTP GET."""
    device, url = _register(server)
    for method in ("POST", "PUT", "DELETE"):
        assert (await _get(url, "acs-user", "cr-secret", method)).status == 405
    assert device.calls == 0


async def test_unknown_path_is_404(server: ConnectionRequestServer) -> None:
    """§3.2.2: the path is random per CPE; any other path names no device."""
    _register(server)
    base = f"http://127.0.0.1:{server.port}"
    assert (await _get(base + "/cr/guess", "acs-user", "cr-secret")).status == 404
    assert (await _get(base + "/", "acs-user", "cr-secret")).status == 404


async def test_paths_are_random_and_unique(server: ConnectionRequestServer) -> None:
    """§3.2.2: the path SHOULD be randomly generated so that it is unique per CPE."""
    urls = {_register(server)[1] for _ in range(50)}
    assert len(urls) == 50
    assert all(len(u.rsplit("/", 1)[1]) >= 20 for u in urls)


async def test_device_busy_gets_503_without_retry_after(server: ConnectionRequestServer) -> None:
    """§3.2.2: a CPE in session (or an offline proxied device, Annex J) rejects with 503."""
    device, url = _register(server)
    device.accept = False
    response = await _get(url, "acs-user", "cr-secret")
    assert response.status == 503
    assert "Retry-After" not in response.headers


async def test_rate_limit_503_then_recovers() -> None:
    """§3.2.2: the CPE SHOULD restrict Connection Requests per period; excess → 503."""
    clock = Clock()
    async with ConnectionRequestServer(rate_limit=2, rate_window=60.0, clock=clock) as server:
        device, url = _register(server)
        assert [(await _get(url, "acs-user", "cr-secret")).status for _ in range(3)] == [
            200,
            200,
            503,
        ]
        assert device.calls == 2
        clock.now += 61.0
        assert (await _get(url, "acs-user", "cr-secret")).status == 200


async def test_credentials_follow_the_data_model(server: ConnectionRequestServer) -> None:
    """ConnectionRequestUsername/Password changed by the ACS apply to the next request."""
    device, url = _register(server)
    device.creds = ("new-user", "new-pass")
    assert (await _get(url, "acs-user", "cr-secret")).status == 401
    assert (await _get(url, "new-user", "new-pass")).status == 200


async def test_unregister_removes_the_url(server: ConnectionRequestServer) -> None:
    """A device that went away no longer answers on its path."""
    device = Device()
    token = server.register(device.connection_request, lambda: device.creds)
    server.unregister(token)
    assert (await _get(server.url(token), "acs-user", "cr-secret")).status == 404


async def test_kept_token_and_async_callback(server: ConnectionRequestServer) -> None:
    """A persisted path is reused; the callback may be a coroutine."""
    calls: list[int] = []

    async def callback() -> bool:
        calls.append(1)
        return True

    token = server.register(callback, lambda: ("u", "p"), token="persisted-token")
    assert server.url(token).endswith("/cr/persisted-token")
    assert (await _get(server.url(token), "u", "p")).status == 200
    assert calls == [1]
    with pytest.raises(ValueError):
        server.register(callback, lambda: ("u", "p"), token="persisted-token")


def test_ipv6_host_is_bracketed() -> None:
    """TR-181 ConnectionRequestURL: an IPv6 literal goes in brackets."""
    assert format_host("::1") == "[::1]"
    assert format_host("192.0.2.1") == "192.0.2.1"
    assert format_host("gw.example") == "gw.example"


async def test_sha256_digest_when_configured() -> None:
    """RFC 7616: the server can demand SHA-256; an MD5 answer is then refused."""
    async with ConnectionRequestServer(algorithms=("SHA-256",), clock=Clock()) as server:
        device, url = _register(server)
        assert (await _get(url, "acs-user", "cr-secret")).status == 200
        assert device.calls == 1
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert "algorithm=SHA-256" in response.headers["WWW-Authenticate"]


async def test_outcomes_reported_for_metrics() -> None:
    """Issue 11 metrics: each answer's outcome (accepted / refused / unauthorized /
    rate_limited, TR-069 §3.2.2); the digest challenge before credentials is not counted."""
    outcomes: list[str] = []
    async with ConnectionRequestServer(rate_limit=2, rate_window=60.0, clock=Clock()) as server:
        server.on_result = outcomes.append
        device, url = _register(server)
        await _get(url, "acs-user", "cr-secret")
        device.accept = False
        await _get(url, "acs-user", "cr-secret")
        await _get(url, "acs-user", "cr-secret")
        await _get(url, "acs-user", "wrong")
        assert (await _get(url + "x", "acs-user", "cr-secret")).status == 404
    assert outcomes == ["accepted", "refused", "rate_limited", "unauthorized"]
