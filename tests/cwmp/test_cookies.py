"""Session cookie rules (TR-069 §3.4.2, RFC 2965 §3.3.4 and §9.1)."""

from __future__ import annotations

from proxier.cwmp.cookies import MAX_COOKIES, SessionCookieJar


def test_netscape_cookie_plain_echo() -> None:
    """Old-style cookies come back as name=value, with Cookie2 advertising RFC 2965."""
    jar = SessionCookieJar()
    jar.update(["session=258672756ec85e04; Path=/; HttpOnly"], [])
    assert jar.headers() == {"Cookie": "session=258672756ec85e04", "Cookie2": '$Version="1"'}


def test_set_cookie2_version_form() -> None:
    """RFC 2965 §3.3.4: $Version first, quoted values, $Path only when the server set it."""
    jar = SessionCookieJar()
    jar.update([], ['Customer="WILE_E_COYOTE"; Version="1"; Path="/acme"'])
    assert jar.headers() == {"Cookie": '$Version="1"; Customer="WILE_E_COYOTE"; $Path="/acme"'}


def test_repeated_cookie_replaces_never_duplicates() -> None:
    """The seed trace's CPE appended the same TR069SessionID on every POST; we must not."""
    jar = SessionCookieJar()
    for _ in range(5):
        jar.update([], ["TR069SessionID=B14B;Version=1;Discard"])
    assert jar.headers()["Cookie"] == '$Version="1"; TR069SessionID="B14B"'


def test_set_cookie2_wins_over_set_cookie() -> None:
    """RFC 2965 §9.1: both headers for one cookie → only the Set-Cookie2 one is kept."""
    jar = SessionCookieJar()
    jar.update(["sid=old"], ['sid="new"; Version=1'])
    assert jar.headers()["Cookie"] == '$Version="1"; sid="new"'
    jar.update([], ['sid="newer"; Version=1'])
    assert len(jar) == 1


def test_rfc2109_version_attribute_is_new_style() -> None:
    """Set-Cookie with a Version attribute (RFC 2109) is echoed in the $Version form."""
    jar = SessionCookieJar()
    jar.update(['JSESSIONID="8CE5"; Version=1; Path=/comserver/'], [])
    assert jar.headers()["Cookie"] == '$Version="1"; JSESSIONID="8CE5"; $Path="/comserver/"'


def test_several_cookies_in_one_set_cookie2() -> None:
    """RFC 2965: Set-Cookie2 carries a comma-separated list (commas inside quotes stay)."""
    jar = SessionCookieJar()
    jar.update([], ['a="1,2"; Version=1, b=3; Version=1; Port="80,8080"'])
    assert jar.headers()["Cookie"] == '$Version="1"; a="1,2"; b="3"; $Port="80,8080"'


def test_deletion_and_malformed() -> None:
    """Max-Age=0 / past Expires delete; nameless or Version-less Set-Cookie2 are ignored."""
    jar = SessionCookieJar()
    jar.update(["a=1", "b=2", "=x", "novalue"], ["c=3"])
    jar.update(["a=gone; Max-Age=0", "b=gone; Expires=Thu, 01 Jan 1970 00:00:00 GMT"], [])
    assert jar.headers() == {}


def test_storage_is_bounded() -> None:
    """§3.4.2 wants ≥ 512 bytes of cookie storage; a hostile ACS cannot grow it forever."""
    jar = SessionCookieJar()
    jar.update([f"c{i}=" + "v" * 100 for i in range(200)], [])
    assert 512 // 100 <= len(jar) <= MAX_COOKIES
    jar.clear()
    assert jar.headers() == {}
