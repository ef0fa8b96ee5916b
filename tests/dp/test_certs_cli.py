"""`proxier certs init DIR` (issue 8 certs/): dev CA, CA-signed proxier identity, lab ids."""

from __future__ import annotations

import stat
from pathlib import Path

from cryptography import x509

from proxier.cli import main


def test_certs_init_makes_ca_signed_identity_private_and_reusable(tmp_path: Path) -> None:
    out = tmp_path / "dev"
    assert main(["certs", "init", str(out), "--lab-devices", "1"]) == 0
    ca = x509.load_pem_x509_certificate((out / "ca.pem").read_bytes())
    leaf = x509.load_pem_x509_certificate((out / "proxier" / "chain.pem").read_bytes())
    leaf.verify_directly_issued_by(ca)  # the carrier flow's CA-signed proxier certificate
    for key in (out / "ca-key.pem", out / "proxier" / "key.pem"):
        assert stat.S_IMODE(key.stat().st_mode) == 0o600
    for folder in (out, out / "proxier", out / "lab"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    (lab,) = list((out / "lab").iterdir())
    assert (lab / "identity" / "key.pem").exists()
    before = (out / "proxier" / "chain.pem").read_bytes()
    assert main(["certs", "init", str(out), "--lab-devices", "1"]) == 0
    assert (out / "proxier" / "chain.pem").read_bytes() == before, "reused, not replaced"
