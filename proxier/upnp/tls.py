"""TLS hooks for DeviceProtection (DP:1, upnp-dm.md §6.1-6.2): our control-point certificate,
client SSL contexts, device pinning and the DP identity of a certificate.

DP wants mutual TLS with a chain of exactly two: a self-signed root and a leaf, X.509 v3,
RSA 2048 (1024 is refused by modern OpenSSL), long-lived because the identity is the hash of
the leaf. The CN names the control point; a DP ACL `<Name>` must equal it. Keys are stored
0600 in a 0700 directory and reused, so our CP identity stays stable across restarts.
PROJECT CHOICE (DP names no cipher suites): TLS 1.2 or newer, renegotiation off.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import os
import socket
import ssl
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

VALIDITY_DAYS = 10_000  # DP recommendation: expiry would change identities in ACLs
KEY_BITS = 2048


class PinError(Exception):
    """The peer's certificate is not one we were told to trust."""


@dataclass(frozen=True, slots=True)
class CertificateFiles:
    """PEM files of one identity: the self-signed root, the leaf (+root) chain, the key."""

    ca_cert: Path
    chain: Path  # leaf certificate followed by the root
    key: Path  # leaf private key, mode 0600

    @property
    def leaf_der(self) -> bytes:
        leaf = x509.load_pem_x509_certificate(self.chain.read_bytes())
        return leaf.public_bytes(serialization.Encoding.DER)


def dp_identity(der: bytes) -> str:
    """DP §2.3.2 identity: first 16 bytes of SHA-256(DER leaf), version 5 / RFC 4122 bits."""
    return str(uuid.UUID(bytes=hashlib.sha256(der).digest()[:16], version=5))


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def subject_alt_names(hosts: Collection[str]) -> x509.SubjectAlternativeName:
    """The SAN of a server certificate: IP literals as IP addresses, the rest as DNS names."""
    names: list[x509.GeneralName] = []
    for host in hosts:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return x509.SubjectAlternativeName(names)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name[:64])])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def default_common_name() -> str:
    return f"proxier CPE Proxier on {socket.gethostname()}"[:64]


def ensure_identity(
    directory: Path,
    common_name: str | None = None,
    *,
    server: bool = False,
    hosts: Collection[str] = (),
) -> CertificateFiles:
    """Load the identity stored in `directory`, or create it (root + leaf, 0600/0700).

    `server=True` makes a TLS server leaf (for the lab device's DP endpoint) with `hosts`
    (IP addresses or names) as subjectAltName; otherwise a client leaf for our CP.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    files = CertificateFiles(directory / "ca.pem", directory / "chain.pem", directory / "key.pem")
    if files.ca_cert.exists() and files.chain.exists() and files.key.exists():
        return files
    cn = common_name or default_common_name()
    now = datetime.datetime.now(datetime.UTC)
    not_before = now - datetime.timedelta(minutes=5)
    not_after = now + datetime.timedelta(days=VALIDITY_DAYS)

    ca_key = _key()
    ca_name = _name(f"{cn} root"[:64])
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )

    leaf_key = _key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca_name)
        .public_key(leaf_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
        # Key identifiers: OpenSSL's strict verification (Python 3.13+ default) wants them.
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
    )
    if hosts:
        builder = builder.add_extension(subject_alt_names(hosts), critical=False)
    leaf = builder.sign(ca_key, hashes.SHA256())

    pem = serialization.Encoding.PEM
    _write_private(
        files.key,
        leaf_key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
    )
    _write_private(files.ca_cert, ca_cert.public_bytes(pem))
    _write_private(files.chain, leaf.public_bytes(pem) + ca_cert.public_bytes(pem))
    return files


def _base_context(purpose: ssl.Purpose) -> ssl.SSLContext:
    context = ssl.create_default_context(purpose)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_RENEGOTIATION
    return context


def client_ssl_context(
    identity: CertificateFiles | None,
    *,
    trust: Collection[Path] = (),
) -> ssl.SSLContext:
    """A client context presenting our DP certificate.

    With `trust` (the devices' self-signed roots) the device certificate is verified
    (CERT_REQUIRED; no host name check, since DP certificates name devices, not addresses).
    Without it, verification is off and the caller must pin the device (`pin_check`).
    """
    context = _base_context(ssl.Purpose.SERVER_AUTH)
    context.check_hostname = False
    if trust:
        context.verify_mode = ssl.CERT_REQUIRED
        for path in trust:
            context.load_verify_locations(cafile=str(path))
    else:
        context.verify_mode = ssl.CERT_NONE
    if identity is not None:
        context.load_cert_chain(certfile=str(identity.chain), keyfile=str(identity.key))
    return context


def server_ssl_context(
    identity: CertificateFiles, *, client_roots: Collection[Path] = (), require_client: bool = True
) -> ssl.SSLContext:
    """A server context for a DP endpoint (lab device): mutual TLS when `require_client`."""
    context = _base_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certfile=str(identity.chain), keyfile=str(identity.key))
    for path in client_roots:
        context.load_verify_locations(cafile=str(path))
    context.verify_mode = ssl.CERT_REQUIRED if require_client else ssl.CERT_OPTIONAL
    return context


def pin_check(pins: Collection[str]) -> Callable[[bytes | None], None]:
    """A peer check accepting only leaf certificates whose DP identity or SHA-256 hex
    fingerprint is in `pins`; for `SoapTransport(peer_check=…)`."""
    wanted = {p.strip().lower().replace(":", "") for p in pins}
    wanted |= {p.strip().lower() for p in pins}

    def check(der: bytes | None) -> None:
        if der is None:
            raise PinError("no peer certificate (not a TLS connection?)")
        fingerprint = hashlib.sha256(der).hexdigest()
        if fingerprint not in wanted and dp_identity(der) not in wanted:
            raise PinError(f"peer certificate {dp_identity(der)} is not pinned")

    return check
