"""Issue 12 #15: Download credentials as NewDUURI userinfo, and stripped before logging."""

from __future__ import annotations

import pytest

from proxier.upnp.userinfo import (
    CredentialsRefused,
    check_credentials,
    strip_userinfo,
    with_credentials,
)


def test_rule15_credentials_become_percent_encoded_userinfo() -> None:
    """RFC 3986 §3.2.1 userinfo, every reserved character percent-encoded; no credentials,
    no change; a password-less Username is `user@`."""
    url = "https://files.example/fw/1.bin?x=1"
    assert with_credentials(url, "", "") == url
    assert (
        with_credentials(url, "u", "a@b:c/d")
        == "https://u:a%40b%3Ac%2Fd@files.example/fw/1.bin?x=1"
    )
    assert with_credentials("http://h:8080/f", "u v", "") == "http://u%20v@h:8080/f"


@pytest.mark.parametrize(("user", "password"), [("a:b", "x"), ("a\nb", "x"), ("a", "x\x7f")])
def test_rule15_credentials_userinfo_cannot_carry_are_refused(user: str, password: str) -> None:
    with pytest.raises(CredentialsRefused) as refused:
        check_credentials(user, password)
    assert password not in str(refused.value)


def test_rule15_userinfo_stripped_from_text_before_logging() -> None:
    text = "HTTP 401 from http://u:s%40cret@127.0.0.1:9/fw.bin, retry ftp://a@b/c"
    assert strip_userinfo(text) == "HTTP 401 from http://127.0.0.1:9/fw.bin, retry ftp://b/c"
