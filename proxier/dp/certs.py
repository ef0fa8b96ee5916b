"""Development certificates for both DP flows (`proxier certs init DIR`, `make certs`).

Carrier flow (TR-330 §4.8.1.1): a development CA signs the proxier's DP identity, and lab
devices started with `--trust-ca DIR/ca.pem` grant it Admin. The chain stays DP-shaped (root +
leaf, upnp-dm.md §6.1). Retail flow: no CA; the proxier generates its own self-signed identity
under state.dir. Private keys are written 0600 in 0700 folders and never committed.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from proxier.upnp.tls import (
    KEY_BITS,
    VALIDITY_DAYS,
    _write_private,
    dp_identity,
    subject_alt_names,
)

_PEM = serialization.Encoding.PEM


@dataclass(frozen=True, slots=True)
class Issued:
    chain: Path  # leaf + CA, PEM
    key: Path
    identity: str  # DP identity of the leaf


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn[:64])])


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)


def _save_key(path: Path, key: rsa.RSAPrivateKey) -> None:
    _write_private(
        path,
        key.private_bytes(_PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )


def make_ca(directory: Path, cn: str = "proxier development CA") -> tuple[Path, Path]:
    """A self-signed CA (ca.pem, ca-key.pem); reused when present."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    cert_path, key_path = directory / "ca.pem", directory / "ca-key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = _key()
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(_name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALIDITY_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _save_key(key_path, key)
    _write_private(cert_path, cert.public_bytes(_PEM))
    return cert_path, key_path


def issue(
    ca_cert: Path,
    ca_key: Path,
    out: Path,
    cn: str,
    *,
    server: bool = False,
    hosts: tuple[str, ...] = (),
    days: int = VALIDITY_DAYS,
    not_before: datetime.datetime | None = None,
) -> Issued:
    """A leaf signed by the CA, as out/chain.pem (leaf + CA), out/key.pem and out/ca.pem
    (the layout of `proxier.upnp.tls.ensure_identity`, so a lab device reuses it).

    `days`/`not_before` exist so tests can make an expired certificate."""
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    ca = x509.load_pem_x509_certificate(ca_cert.read_bytes())
    signer = serialization.load_pem_private_key(ca_key.read_bytes(), None)
    assert isinstance(signer, rsa.RSAPrivateKey)
    key = _key()
    start = not_before or datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(cn))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer.public_key()), critical=False
        )
    )
    if hosts:
        leaf = leaf.add_extension(subject_alt_names(hosts), critical=False)
    signed = leaf.sign(signer, hashes.SHA256())
    _write_private(out / "ca.pem", ca.public_bytes(_PEM))
    chain, key_path = out / "chain.pem", out / "key.pem"
    _save_key(key_path, key)
    _write_private(chain, signed.public_bytes(_PEM) + ca.public_bytes(_PEM))
    return Issued(chain, key_path, dp_identity(signed.public_bytes(serialization.Encoding.DER)))


def init(directory: Path) -> dict[str, Path]:
    """`proxier certs init DIR`: dev CA + CA-signed proxier identity (carrier flow)."""
    ca_cert, ca_key = make_ca(directory)
    proxier = directory / "proxier"
    if (proxier / "chain.pem").exists() and (proxier / "key.pem").exists():
        chain, key = proxier / "chain.pem", proxier / "key.pem"
    else:
        issued = issue(ca_cert, ca_key, proxier, "proxier CPE Proxier (carrier)")
        chain, key = issued.chain, issued.key
    return {"ca": ca_cert, "certificate": chain, "key": key}
