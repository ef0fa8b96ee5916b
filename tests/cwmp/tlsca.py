"""A throw-away CA and TLS server certificate for test ACS endpoints, made by the product's
own certificate code (proxier.upnp.tls) at test time."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path

from proxier.upnp.tls import ensure_identity


@dataclass(frozen=True)
class TestPki:
    ca_file: Path
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_pki(directory: Path, *, host: str = "127.0.0.1") -> TestPki:
    """CA → server cert valid for `host` (an IP or a DNS name), written as PEM files."""
    files = ensure_identity(directory, host, server=True, hosts=[host])
    return TestPki(files.ca_cert, files.chain, files.key)
