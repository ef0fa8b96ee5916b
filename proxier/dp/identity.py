"""The proxier's own DP identity (DP:1 §2.3.2; TR-330 §4.8.1.1 for the CA-signed case).

Empty `[dps] certificate`/`key`: generate a self-signed root + leaf (RSA-2048, ~10,000 days)
in a 0700 folder under state.dir, 0600 files, reused across restarts. Configured: a
CA-signed chain for carrier deployments. The DP identity (a UUID from the leaf's hash) is
what a user enters in a device's admin tool, so status shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from proxier.upnp.tls import CertificateFiles, dp_identity, ensure_identity


@dataclass(frozen=True, slots=True)
class CpIdentity:
    files: CertificateFiles
    identity: str  # DP identity (UUID string) of our leaf certificate
    common_name: str
    generated: bool


def load(certificate: str, key: str, state_dir: str | Path) -> CpIdentity:
    """The configured identity, or the generated one under `state_dir/dp/identity`."""
    if certificate and key:
        files = CertificateFiles(Path(certificate), Path(certificate), Path(key))
        generated = False
    else:
        files = ensure_identity(Path(state_dir) / "dp" / "identity")
        generated = True
    leaf = x509.load_pem_x509_certificate(files.chain.read_bytes())
    names = leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    cn = str(names[0].value) if names else ""
    return CpIdentity(files, dp_identity(files.leaf_der), cn, generated)
