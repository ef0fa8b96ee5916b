"""Server-side HTTP authentication (TR-069 §3.4.4, §3.4.5; RFC 7616, RFC 7617)."""

from __future__ import annotations

import base64

import pytest

from proxier.cwmp.digest import HttpAuthenticator, digest_response, parse_auth_params

RFC_KW = dict(
    username="Mufasa",
    realm="http-auth@example.org",
    password="Circle of Life",
    method="GET",
    uri="/dir/index.html",
    nonce="7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
    nc="00000001",
    cnonce="f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
    qop="auth",
)


def test_rfc7616_example_md5_and_sha256() -> None:
    """RFC 7616 §3.9.1: the published request-digests for MD5 and SHA-256."""
    assert digest_response(algorithm="MD5", **RFC_KW) == "8ca523f5e9506fed4657c9700eebdbec"
    assert (
        digest_response(algorithm="SHA-256", **RFC_KW)
        == "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
    )


def test_parse_auth_params_handles_quotes_and_commas() -> None:
    """RFC 7235 §2.1 auth-params, as sent by GenieACS (unquoted nc, qop, algorithm)."""
    params = parse_auth_params(
        'username="a\\"b", realm="x, y", nonce=abc, nc=00000001, qop=auth, algorithm=MD5'
    )
    assert params == {
        "username": 'a"b',
        "realm": "x, y",
        "nonce": "abc",
        "nc": "00000001",
        "qop": "auth",
        "algorithm": "MD5",
    }


def _auth(
    server: HttpAuthenticator,
    now: float,
    *,
    password: str = "secret",
    nc: str = "00000001",
    algorithm: str = "MD5",
    uri: str = "/cr/x",
    nonce: str | None = None,
    username: str = "acs",
) -> str:
    challenge = parse_auth_params(server.challenges(now)[0].partition(" ")[2])
    nonce = nonce or challenge["nonce"]
    response = digest_response(
        algorithm=algorithm,
        username=username,
        realm=challenge["realm"],
        password=password,
        method="GET",
        uri=uri,
        nonce=nonce,
        nc=nc,
        cnonce="c0ffee",
        qop="auth",
    )
    return (
        f'Digest username="{username}", realm="{challenge["realm"]}", nonce="{nonce}", '
        f'uri="{uri}", algorithm={algorithm}, qop=auth, nc={nc}, cnonce="c0ffee", '
        f'opaque="{challenge["opaque"]}", response="{response}"'
    )


def _server(**kw: object) -> HttpAuthenticator:
    users = {"acs": "secret"}
    return HttpAuthenticator(realm="proxier", lookup=users.get, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
def test_digest_accepts_right_password(algorithm: str) -> None:
    """TR-069 §3.4.5: digest with qop=auth; RFC 7616 MD5 and SHA-256."""
    server = _server(algorithms=(algorithm,))
    result = server.check("GET", "/cr/x", _auth(server, 100.0, algorithm=algorithm), 100.0)
    assert result.ok and result.username == "acs"


def test_digest_refuses_wrong_password_unknown_user_and_other_uri() -> None:
    """TR-069 §3.2.2: no session for an unsuccessfully authenticated request."""
    server = _server()
    assert not server.check("GET", "/cr/x", _auth(server, 1.0, password="nope"), 1.0).ok
    assert not server.check("GET", "/cr/x", _auth(server, 1.0, username="eve"), 1.0).ok
    assert not server.check("GET", "/cr/y", _auth(server, 1.0), 1.0).ok
    assert not server.check("GET", "/cr/x", None, 1.0).ok


def test_digest_refuses_replayed_nonce_count() -> None:
    """RFC 7616 §3.4: a nonce-count seen before is a replay."""
    server = _server()
    nonce = parse_auth_params(server.challenges(5.0)[0].partition(" ")[2])["nonce"]
    first = _auth(server, 5.0, nonce=nonce)
    assert server.check("GET", "/cr/x", first, 5.0).ok
    replay = server.check("GET", "/cr/x", first, 6.0)
    assert not replay.ok and "replay" in replay.reason
    assert server.check("GET", "/cr/x", _auth(server, 6.0, nonce=nonce, nc="00000002"), 6.0).ok


def test_digest_expired_nonce_is_stale() -> None:
    """RFC 7616 §3.3: a right answer to an expired nonce gets stale=true, not a hard refusal."""
    server = _server(nonce_lifetime=60.0)
    header = _auth(server, 0.0)
    result = server.check("GET", "/cr/x", header, 61.0)
    assert not result.ok and result.stale
    assert "stale=true" in server.challenges(61.0, stale=True)[0]


def test_digest_refuses_forged_nonce_and_wrong_algorithm() -> None:
    """Nonces we did not mint (or a weaker algorithm than offered) are refused."""
    server = _server(algorithms=("SHA-256",))
    forged = _auth(
        server, 1.0, algorithm="SHA-256", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    )
    assert "nonce" in server.check("GET", "/cr/x", forged, 1.0).reason
    md5 = _auth(server, 1.0, algorithm="MD5")
    assert not server.check("GET", "/cr/x", md5, 1.0).ok


def test_basic_only_when_allowed() -> None:
    """TR-069 §3.4.4: Basic only when the server chooses it (e.g. over TLS)."""
    token = base64.b64encode(b"acs:secret").decode()
    assert not _server().check("POST", "/", f"Basic {token}", 0.0).ok
    basic = _server(basic_only=True)
    assert basic.check("POST", "/", f"Basic {token}", 0.0).ok
    wrong = base64.b64encode(b"acs:nope").decode()
    assert not basic.check("POST", "/", f"Basic {wrong}", 0.0).ok
    assert basic.challenges(0.0) == ['Basic realm="proxier"']


def test_repr_and_reasons_never_hold_the_password() -> None:
    """Secrets never reach logs: neither the authenticator's repr nor a verdict names them."""
    server = _server()
    result = server.check("GET", "/cr/x", _auth(server, 1.0, password="hunter2"), 1.0)
    assert "secret" not in repr(server) and "hunter2" not in repr(result)
