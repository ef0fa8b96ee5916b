"""Content-level authentication (FRITZ! TR-064 guide §4.1.2, §10.7): the math and the headers.

The SOAP-header alternative to HTTP digest, after draft-cunnings-salz-soap-auth:
InitChallenge(UserID) → Challenge(Nonce, Realm) + fault 503 → ClientAuth(Nonce, Auth,
UserID, Realm) → NextChallenge(Nonce) for the next call. Auth = MD5(secret ":" nonce) with
secret = hex MD5(uid ":" realm ":" pwd). Sans-IO: the client and the lab device share it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from xml.sax.saxutils import escape

from lxml import etree

from proxier.xmlsafe import XmlError, local_name, parse_xml

AUTH_NS = "http://soap-authentication.org/digest/2001/10/"
SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"


def secret(uid: str, realm: str, pwd: str) -> str:
    return hashlib.md5(f"{uid}:{realm}:{pwd}".encode()).hexdigest()


def auth_response(uid: str, realm: str, pwd: str, nonce: str) -> str:
    """Auth = MD5(MD5(uid:realm:pwd) ":" nonce), lower-case hex (guide §4.1.2)."""
    return hashlib.md5(f"{secret(uid, realm, pwd)}:{nonce}".encode()).hexdigest()


def init_challenge(uid: str) -> str:
    """The s:Header content that starts content-level authentication (§10.7.1)."""
    return (
        f'<h:InitChallenge xmlns:h="{AUTH_NS}" s:mustUnderstand="1">'
        f"<UserID>{escape(uid)}</UserID></h:InitChallenge>"
    )


def client_auth(uid: str, realm: str, pwd: str, nonce: str) -> str:
    """The s:Header content of an authenticated request (§10.7.3)."""
    auth = auth_response(uid, realm, pwd, nonce)
    return (
        f'<h:ClientAuth xmlns:h="{AUTH_NS}" s:mustUnderstand="1">'
        f"<Nonce>{escape(nonce)}</Nonce><Auth>{auth}</Auth>"
        f"<UserID>{escape(uid)}</UserID><Realm>{escape(realm)}</Realm></h:ClientAuth>"
    )


@dataclass(frozen=True, slots=True)
class HeaderAuth:
    """What one SOAP header said about content-level auth (either direction)."""

    element: str  # InitChallenge, Challenge, ClientAuth, NextChallenge
    fields: dict[str, str]

    def get(self, name: str) -> str:
        return self.fields.get(name, "")


def read_header(body: bytes, *, max_bytes: int = 1024 * 1024) -> HeaderAuth | None:
    """The content-level auth element of an envelope's s:Header, or None."""
    try:
        envelope = parse_xml(body, max_bytes=max_bytes)
    except XmlError:
        return None
    return header_of(envelope)


def header_of(envelope: etree._Element) -> HeaderAuth | None:
    header = envelope.find(f"{{{SOAP_ENV}}}Header")
    if header is None:
        return None
    for element in header:
        if not isinstance(element.tag, str):
            continue
        name = local_name(element)
        if name in ("InitChallenge", "Challenge", "ClientAuth", "NextChallenge"):
            fields = {
                local_name(child): (child.text or "").strip()
                for child in element
                if isinstance(child.tag, str)
            }
            return HeaderAuth(name, fields)
    return None
