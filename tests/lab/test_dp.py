"""The lab device's DeviceProtection:1 (upnp-dm.md §6, TR-330 §4.8) over real TLS sockets."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from OpenSSL import SSL

from proxier.dp import certs, pkcs5
from proxier.lab.dp import DP, DP_NS, DpSettings
from proxier.lab.scpd import BMS, CMS
from proxier.lab.server import LabServer
from proxier.upnp.client import SoapTransport
from proxier.upnp.device import UpnpError
from proxier.upnp.ssdp import parse
from proxier.upnp.tls import CertificateFiles, client_ssl_context, dp_identity, ensure_identity


class Cp:
    """A DP control point: its identity and one keep-alive TLS connection (one DP session)."""

    def __init__(self, files: CertificateFiles) -> None:
        self.files = files
        self.identity = dp_identity(files.leaf_der)
        self.context = client_ssl_context(files)
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1))
        self.soap = SoapTransport(self.session, ssl_context=self.context)

    async def call(
        self, base: str, udn: str, svc: str, action: str, args: list[tuple[str, str]] = ()
    ) -> dict[str, str]:
        service = {"dp": DP, "cms": CMS, "bms": BMS}[svc]
        out = [name for name, _ in service.action(action).outs]  # type: ignore[union-attr]
        url = f"{base}/dev/{udn.removeprefix('uuid:')}/{svc}/control"
        return dict(await self.soap.invoke(url, service.service_type, action, args, out))

    async def login(self, base: str, udn: str, name: str, password: str, device_id: str) -> None:
        got = await self.call(
            base, udn, "dp", "GetUserLoginChallenge", [("ProtocolType", "PKCS5"), ("Name", name)]
        )
        stored = pkcs5.stored(name, password, pkcs5.unb64(got["Salt"]))
        challenge = pkcs5.unb64(got["Challenge"])
        auth = pkcs5.authenticator(stored, challenge, device_id, self.identity)
        await self.call(
            base,
            udn,
            "dp",
            "UserLogin",
            [
                ("ProtocolType", "PKCS5"),
                ("Challenge", got["Challenge"]),
                ("Authenticator", pkcs5.b64(auth)),
            ],
        )


def _secure_base(lab: LabServer) -> str:
    return lab.devices[0].secure_location.split("/dev/")[0]


@pytest.fixture
async def cp(tmp_path: Path) -> AsyncIterator[Cp]:
    c = Cp(ensure_identity(tmp_path / "cp", "test CP"))
    yield c
    await c.session.close()


async def _lab(tmp_path: Path, **kw: object) -> LabServer:
    lab = LabServer(1, dps=DpSettings(state_dir=tmp_path / "lab", **kw))  # type: ignore[arg-type]
    await lab.start()
    return lab


async def test_unknown_cp_is_public_and_admin_actions_get_606_dp_6_1(
    tmp_path: Path, cp: Cp
) -> None:
    lab = await _lab(tmp_path)
    try:
        device = lab.devices[0]
        base = _secure_base(lab)
        roles = await cp.call(base, device.udn, "dp", "GetAssignedRoles")
        assert roles["RoleList"] == "Public"
        # reads are Public (reference §6.6 project choice)
        await cp.call(base, device.udn, "cms", "GetSupportedDataModels")
        with pytest.raises(UpnpError) as err:
            await cp.call(base, device.udn, "bms", "Reboot")
        assert err.value.code == 606 and "Admin" in err.value.description
    finally:
        await lab.stop()


async def test_protected_action_over_plain_http_is_606_dp_6_1(tmp_path: Path, cp: Cp) -> None:
    lab = await _lab(tmp_path, acl_cps=((cp.identity, "Admin"),))
    try:
        device = lab.devices[0]
        with pytest.raises(UpnpError) as err:
            await cp.call(lab.base_url, device.udn, "bms", "Reboot")
        assert err.value.code == 606 and "plain HTTP" in err.value.description
        # the same CP over TLS holds Admin (preloaded ACL entry)
        roles = await cp.call(_secure_base(lab), device.udn, "dp", "GetAssignedRoles")
        assert roles["RoleList"] == "Public Admin"
    finally:
        await lab.stop()


async def test_retail_login_with_basic_preload_gives_admin_dp_6_5(tmp_path: Path, cp: Cp) -> None:
    lab = await _lab(tmp_path, acl_cps=((cp.identity, "Basic"),), admin_password="s3cret")
    try:
        device = lab.devices[0]
        assert device.protection is not None
        base = _secure_base(lab)
        with pytest.raises(UpnpError) as err:
            await cp.login(base, device.udn, "Administrator", "wrong", device.protection.device_id)
        assert err.value.code == 701
        await cp.login(base, device.udn, "Administrator", "s3cret", device.protection.device_id)
        roles = await cp.call(base, device.udn, "dp", "GetAssignedRoles")
        assert roles["RoleList"] == "Public Basic Admin"
        await cp.call(base, device.udn, "cms", "SetValues", [("ParameterValueList", _spv())])
    finally:
        await lab.stop()


def _spv() -> str:
    return (
        '<cms:ParameterValueList xmlns:cms="urn:schemas-upnp-org:dm:cms">'
        "<Parameter><ParameterPath>/UPnP/DM/DeviceInfo/FriendlyName</ParameterPath>"
        "<Value>renamed</Value></Parameter></cms:ParameterValueList>"
    )


async def test_public_only_cp_gets_no_challenge_for_admin_account_dp_6_4(
    tmp_path: Path, cp: Cp
) -> None:
    lab = await _lab(tmp_path, acl_cps=((cp.identity, "Public"),), admin_password="s3cret")
    try:
        device = lab.devices[0]
        with pytest.raises(UpnpError) as err:
            await cp.call(
                _secure_base(lab),
                device.udn,
                "dp",
                "GetUserLoginChallenge",
                [("ProtocolType", "PKCS5"), ("Name", "Administrator")],
            )
        assert err.value.code == 606
    finally:
        await lab.stop()


async def test_unknown_cp_cannot_log_in_dp_6_4(tmp_path: Path, cp: Cp) -> None:
    lab = await _lab(tmp_path, admin_password="s3cret")
    try:
        device = lab.devices[0]
        assert device.protection is not None
        with pytest.raises(UpnpError) as err:
            await cp.login(
                _secure_base(lab),
                device.udn,
                "Administrator",
                "s3cret",
                device.protection.device_id,
            )
        assert err.value.code == 606 and "not in the ACL" in err.value.description
    finally:
        await lab.stop()


async def test_ca_signed_cp_gets_admin_carrier_flow_tr330_4_8_1_1(tmp_path: Path) -> None:
    ca, ca_key = certs.make_ca(tmp_path / "ca")
    issued = certs.issue(ca, ca_key, tmp_path / "carrier", "carrier CP")
    files = CertificateFiles(ca, issued.chain, issued.key)
    carrier = Cp(files)
    lab = await _lab(tmp_path, trust_ca=ca)
    try:
        device = lab.devices[0]
        roles = await carrier.call(_secure_base(lab), device.udn, "dp", "GetAssignedRoles")
        assert roles["RoleList"] == "Public Admin"
    finally:
        await lab.stop()
        await carrier.session.close()


async def test_expired_cp_certificate_refused_at_handshake(tmp_path: Path) -> None:
    import datetime

    ca, ca_key = certs.make_ca(tmp_path / "ca")
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=30)
    issued = certs.issue(ca, ca_key, tmp_path / "old", "expired CP", days=1, not_before=old)
    expired = Cp(CertificateFiles(ca, issued.chain, issued.key))
    lab = await _lab(tmp_path, trust_ca=ca)
    try:
        with pytest.raises(UpnpError) as err:
            await expired.call(_secure_base(lab), lab.devices[0].udn, "dp", "GetAssignedRoles")
        assert err.value.code == 0  # no TLS session, nothing proceeds
    finally:
        await lab.stop()
        await expired.session.close()


async def test_acl_persists_and_factory_reset_clears_user_entries_dp_6_4(
    tmp_path: Path, cp: Cp
) -> None:
    admin = Cp(ensure_identity(tmp_path / "admin", "admin CP"))
    lab = await _lab(tmp_path, acl_cps=((admin.identity, "Admin"),))
    identity = (
        f'<Identities xmlns="{DP_NS}"><CP><Name>test CP</Name>'
        f"<ID>{cp.identity}</ID></CP></Identities>"
    )
    one = identity.replace("Identities", "Identity")
    try:
        device = lab.devices[0]
        base = _secure_base(lab)
        await admin.call(base, device.udn, "dp", "AddIdentityList", [("IdentityList", identity)])
        await admin.call(
            base,
            device.udn,
            "dp",
            "AddRolesForIdentity",
            [("Identity", one), ("RoleList", "Basic")],
        )
    finally:
        await lab.stop()
    await admin.session.close()
    lab = await _lab(tmp_path, acl_cps=((admin.identity, "Admin"),))  # restart: same state dir
    try:
        device = lab.devices[0]
        roles = await cp.call(_secure_base(lab), device.udn, "dp", "GetAssignedRoles")
        assert roles["RoleList"] == "Public Basic"
        assert device.protection is not None
        device.protection.factory_reset()
        roles = await cp.call(_secure_base(lab), device.udn, "dp", "GetAssignedRoles")
        assert roles["RoleList"] == "Public"
    finally:
        await lab.stop()


async def test_device_identity_stable_and_description_relative_dp_6_1(tmp_path: Path) -> None:
    lab = await _lab(tmp_path)
    try:
        device = lab.devices[0]
        assert device.protection is not None
        first = device.protection.device_id
        assert device.secure_location.startswith("https://127.0.0.1:")
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        async with aiohttp.ClientSession() as s:
            async with s.get(device.description_url) as r:
                text = await r.text()
        assert "DeviceProtection:1" in text and "URLBase" not in text
        assert "<controlURL>/dev/" in text
    finally:
        await lab.stop()
    lab = await _lab(tmp_path)
    try:
        assert lab.devices[0].protection is not None
        assert lab.devices[0].protection.device_id == first
    finally:
        await lab.stop()


def test_securelocation_in_notify_dp_6_1() -> None:
    from proxier.upnp import ssdp

    packet = ssdp.build_notify(
        "ssdp:byebye",
        "upnp:rootdevice",
        "uuid:x",
        location="http://h/d.xml",
        secure_location="https://h:1/d.xml",
    )
    assert parse(packet).secure_location == "https://h:1/d.xml"


async def test_renegotiation_refused_dp_6_1(tmp_path: Path) -> None:
    """DP §6.1: the device must refuse TLS renegotiation."""
    lab = await _lab(tmp_path)
    files = ensure_identity(tmp_path / "cp", "reneg CP")
    try:
        host, port = "127.0.0.1", lab.devices[0].tls.port  # type: ignore[union-attr]

        def attempt() -> str:
            import select
            import socket

            def step(call: object) -> None:
                for _ in range(50):
                    try:
                        call()  # type: ignore[operator]
                        return
                    except SSL.WantReadError:
                        select.select([sock], [], [], 0.1)
                raise TimeoutError("no answer from the device")

            ctx = SSL.Context(SSL.TLS_CLIENT_METHOD)
            ctx.set_max_proto_version(SSL.TLS1_2_VERSION)  # TLS 1.3 has no renegotiation
            ctx.use_certificate_chain_file(str(files.chain))
            ctx.use_privatekey_file(str(files.key))
            sock = socket.create_connection((host, port), timeout=5)
            sock.setblocking(False)
            conn = SSL.Connection(ctx, sock)
            conn.set_connect_state()
            step(conn.do_handshake)
            conn.renegotiate()
            try:
                step(conn.do_handshake)
                conn.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                step(lambda: conn.recv(100))
            except SSL.Error as exc:
                return f"refused: {exc}"
            finally:
                sock.close()
            return "renegotiated"

        outcome = await asyncio.to_thread(attempt)
        assert outcome.startswith("refused"), outcome
    finally:
        await lab.stop()


async def test_send_setup_message_600_for_other_protocols_and_remove_identity_dp_6_4(
    tmp_path: Path, cp: Cp
) -> None:
    """SendSetupMessage answers 600 for a protocol other than WPS (issue 9 runs WPS, see
    test_wps.py); an Admin CP removes an identity from the ACL with RemoveIdentity."""
    admin = Cp(ensure_identity(tmp_path / "admin", "admin CP"))
    lab = await _lab(tmp_path, acl_cps=((admin.identity, "Admin"), (cp.identity, "Basic")))
    try:
        device = lab.devices[0]
        base = _secure_base(lab)
        with pytest.raises(UpnpError) as err:
            await cp.call(
                base,
                device.udn,
                "dp",
                "SendSetupMessage",
                [("ProtocolType", "NFC"), ("InMessage", "")],
            )
        assert err.value.code == 600
        one = f'<Identity xmlns="{DP_NS}"><CP><ID>{cp.identity}</ID></CP></Identity>'
        with pytest.raises(UpnpError) as err:  # Basic may not remove identities
            await cp.call(base, device.udn, "dp", "RemoveIdentity", [("Identity", one)])
        assert err.value.code == 606
        await admin.call(base, device.udn, "dp", "RemoveIdentity", [("Identity", one)])
        roles = await cp.call(base, device.udn, "dp", "GetAssignedRoles")
        assert roles["RoleList"] == "Public"
    finally:
        await lab.stop()
        await admin.session.close()


def test_lab_dps_flags_parse_and_refuse_bad_values(tmp_path: Path) -> None:
    import argparse

    from proxier.lab.cli import configure, dp_settings

    parser = argparse.ArgumentParser()
    configure(parser)
    args = parser.parse_args(
        [
            "--dps",
            "--admin",
            "Administrator:pw",
            "--acl-cp",
            "abc:Basic,Admin",
            "--action-roles",
            "GetValues:Basic",
            "--state-dir",
            str(tmp_path),
        ]
    )
    settings = dp_settings(args)
    assert settings is not None
    assert settings.acl_cps == (("abc", "Basic Admin"),)
    assert settings.roles_for_dm("GetValues") == frozenset({"Basic"})
    assert settings.roles_for_dm("Reboot") == frozenset({"Admin"})  # reference §6.6 default
    assert dp_settings(parser.parse_args([])) is None
    for bad in (["--dps", "--admin", "nopassword"], ["--dps", "--acl-cp", "noroles"]):
        with pytest.raises(ValueError):
            dp_settings(parser.parse_args(bad))
