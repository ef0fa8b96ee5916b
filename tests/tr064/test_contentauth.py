"""Content-level authentication (FRITZ! TR-064 guide §4.1.2, §10.7)."""

from __future__ import annotations

from proxier.tr064 import contentauth

ENVELOPE = b"""<?xml version="1.0" encoding="utf-8"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">
<s:Header><h:NextChallenge xmlns:h="http://soap-authentication.org/digest/2001/10/"
 s:mustUnderstand="1"><Status>Authenticated</Status><Nonce>0B9813494DD27C93</Nonce>
<Realm>F!Box SOAP-Auth</Realm></h:NextChallenge></s:Header><s:Body/></s:Envelope>"""


def test_section_10_7_worked_example() -> None:
    """§10.7: admin / gurkensalat / "F!Box SOAP-Auth" / nonce F758BE72FB999CEA gives
    Auth b4f67585f22b0af7c4615db5a18faa14 = MD5(MD5(uid:realm:pwd):nonce)."""
    auth = contentauth.auth_response("admin", "F!Box SOAP-Auth", "gurkensalat", "F758BE72FB999CEA")
    assert auth == "b4f67585f22b0af7c4615db5a18faa14"
    header = contentauth.client_auth("admin", "F!Box SOAP-Auth", "gurkensalat", "F758BE72FB999CEA")
    assert "<Auth>b4f67585f22b0af7c4615db5a18faa14</Auth>" in header


def test_next_challenge_read_from_the_header() -> None:
    """§10.7.4: the server's NextChallenge carries the nonce for the next request."""
    auth = contentauth.read_header(ENVELOPE)
    assert auth is not None and auth.element == "NextChallenge"
    assert auth.get("Nonce") == "0B9813494DD27C93" and auth.get("Realm") == "F!Box SOAP-Auth"
    assert contentauth.read_header(b"not xml") is None
