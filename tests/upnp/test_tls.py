"""DeviceProtection TLS hooks (upnp-dm.md §6.1-6.2, DP:1): our CP certificate, mutual TLS
through SoapTransport over loopback, device pinning, and the DP identity algorithm."""

from __future__ import annotations

import hashlib
import stat
import uuid
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from proxier.upnp.client import CmsClient, SoapTransport
from proxier.upnp.device import ParameterValue, UpnpError
from proxier.upnp.tls import (
    CertificateFiles,
    client_ssl_context,
    dp_identity,
    ensure_identity,
    pin_check,
    server_ssl_context,
)

from .peer import MiniCms, serve

PATH = "/UPnP/DM/DeviceInfo/SoftwareVersion"


@pytest.fixture(scope="module")
def identities(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[CertificateFiles, CertificateFiles]:
    base = tmp_path_factory.mktemp("dp")
    cp = ensure_identity(base / "cp", "proxier test CP")
    device = ensure_identity(base / "dev", "Lab DM device", server=True, hosts=["127.0.0.1"])
    return cp, device


def test_identity_files_are_private_and_reused(tmp_path: Path) -> None:
    """Secrets at rest: key 0600 in a 0700 directory; a second call keeps the identity
    (DP identity = certificate hash, so regenerating would break ACLs)."""
    files = ensure_identity(tmp_path / "id", "cp")
    assert stat.S_IMODE((tmp_path / "id").stat().st_mode) == 0o700
    assert stat.S_IMODE(files.key.stat().st_mode) == 0o600
    again = ensure_identity(tmp_path / "id", "other name")
    assert again.leaf_der == files.leaf_der


def test_certificate_follows_dp_profile(
    identities: tuple[CertificateFiles, CertificateFiles],
) -> None:
    """DP §6.1: chain of two (self-signed root + leaf), X.509 v3, RSA 2048, CN names the CP."""
    cp, _ = identities
    certs = x509.load_pem_x509_certificates(cp.chain.read_bytes())
    assert len(certs) == 2
    leaf, root = certs
    assert leaf.version == x509.Version.v3 and root.version == x509.Version.v3
    assert leaf.issuer == root.subject and root.issuer == root.subject
    key = leaf.public_key()
    assert isinstance(key, rsa.RSAPublicKey) and key.key_size == 2048
    cn = leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    assert cn == "proxier test CP"
    assert (leaf.not_valid_after_utc - leaf.not_valid_before_utc).days >= 9999


def test_dp_identity_algorithm() -> None:
    """DP §6.2: UUID from the first 16 bytes of SHA-256(DER), version nibble 5, RFC 4122
    variant, lowercase 8-4-4-4-12 without 'uuid:'."""
    der = b"any certificate bytes"
    b = bytearray(hashlib.sha256(der).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x50
    b[8] = (b[8] & 0x3F) | 0x80
    assert dp_identity(der) == str(uuid.UUID(bytes=bytes(b)))
    assert dp_identity(der) == dp_identity(der).lower() and not dp_identity(der).startswith("uuid")


async def test_mutual_tls_call_presents_our_certificate(
    identities: tuple[CertificateFiles, CertificateFiles],
) -> None:
    """DP §6.1: mutual TLS; the device verifies our client certificate, we verify its one."""
    cp, dev = identities
    cms_device = MiniCms({PATH: "2.1.0"})
    seen: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("ssl_object").getpeercert(binary_form=True)  # type: ignore[union-attr]
        seen.append(dp_identity(peer))
        return await cms_device.handle(request)

    server = server_ssl_context(dev, client_roots=[cp.ca_cert])
    client = client_ssl_context(cp, trust=[dev.ca_cert])
    async with serve({"/ctl": handler}, ssl_context=server) as base, aiohttp.ClientSession() as s:
        assert base.startswith("https://")
        cms = CmsClient(SoapTransport(s, ssl_context=client), base + "/ctl")
        assert await cms.get_values([PATH]) == [ParameterValue(PATH, "2.1.0")]
    assert seen == [dp_identity(cp.leaf_der)]


async def test_pinned_device_is_accepted_and_other_is_refused(
    identities: tuple[CertificateFiles, CertificateFiles],
) -> None:
    """Pinning instead of a trust anchor: the device's DP identity must match the pin."""
    cp, dev = identities
    cms_device = MiniCms({PATH: "2.1.0"})
    server = server_ssl_context(dev, client_roots=[cp.ca_cert])
    client = client_ssl_context(cp)  # no trust anchor: pinning decides
    async with serve({"/ctl": cms_device.handle}, ssl_context=server) as base:
        async with aiohttp.ClientSession() as s:
            good = SoapTransport(
                s, ssl_context=client, peer_check=pin_check([dp_identity(dev.leaf_der)])
            )
            assert await CmsClient(good, base + "/ctl").get_values([PATH])
            fingerprint = hashlib.sha256(dev.leaf_der).hexdigest()
            by_hash = SoapTransport(s, ssl_context=client, peer_check=pin_check([fingerprint]))
            assert await CmsClient(by_hash, base + "/ctl").get_values([PATH])
            bad = SoapTransport(s, ssl_context=client, peer_check=pin_check([dp_identity(b"x")]))
            with pytest.raises(UpnpError) as info:
                await CmsClient(bad, base + "/ctl").get_values([PATH])
    assert info.value.code == 0 and "not pinned" in info.value.description


async def test_device_with_untrusted_certificate_is_refused(
    identities: tuple[CertificateFiles, CertificateFiles], tmp_path: Path
) -> None:
    """With a trust anchor set, a device certificate from another root fails the handshake."""
    cp, dev = identities
    stranger = ensure_identity(tmp_path / "stranger", "someone else")
    server = server_ssl_context(dev, client_roots=[cp.ca_cert])
    client = client_ssl_context(cp, trust=[stranger.ca_cert])
    async with serve({"/ctl": MiniCms({}).handle}, ssl_context=server) as base:
        async with aiohttp.ClientSession() as s:
            with pytest.raises(UpnpError) as info:
                await CmsClient(SoapTransport(s, ssl_context=client), base + "/ctl").get_values(
                    [PATH]
                )
    assert info.value.code == 0


async def test_client_without_certificate_is_refused_by_mutual_tls_device(
    identities: tuple[CertificateFiles, CertificateFiles],
) -> None:
    """A DP device requiring client certificates refuses an anonymous control point."""
    cp, dev = identities
    server = server_ssl_context(dev, client_roots=[cp.ca_cert])
    client = client_ssl_context(None, trust=[dev.ca_cert])
    async with serve({"/ctl": MiniCms({}).handle}, ssl_context=server) as base:
        async with aiohttp.ClientSession() as s:
            with pytest.raises(UpnpError) as info:
                await CmsClient(SoapTransport(s, ssl_context=client), base + "/ctl").get_values(
                    [PATH]
                )
    assert info.value.code == 0


async def test_description_over_secure_location(
    identities: tuple[CertificateFiles, CertificateFiles],
) -> None:
    """DP §6.1 SECURELOCATION: the description and SCPDs come over mutual TLS, and the
    relative control URLs resolve to https on the same port."""
    from proxier.upnp.description import describe

    from .goldenfiles import GOLDEN, load

    cp, dev = identities
    docs = {"/desc.xml": load("ddd/ManageableDevice2.xml").encode()}
    for name in ("ConfigurationManagement2", "BasicManagement2", "SoftwareManagement2"):
        docs[f"/scpd/{name}.xml"] = (GOLDEN / "scpd" / f"{name}.xml").read_bytes()

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=docs[request.path], content_type="text/xml")

    server = server_ssl_context(dev, client_roots=[cp.ca_cert])
    async with serve({"/{tail:.*}": handler}, ssl_context=server) as base:
        async with aiohttp.ClientSession() as s:
            result = await describe(
                s,
                base + "/desc.xml",
                ssl_context=client_ssl_context(cp),
                peer_check=pin_check([dp_identity(dev.leaf_der)]),
            )
            refused = await describe(
                s,
                base + "/desc.xml",
                ssl_context=client_ssl_context(cp),
                peer_check=pin_check([dp_identity(b"other")]),
            )
    assert result.skipped == ()
    cms = result.devices[0].candidate.service("CMS")
    assert cms is not None and cms.control_url == base + "/ctl/cms"
    assert refused.devices == () and "not pinned" in refused.skipped[0][1]
