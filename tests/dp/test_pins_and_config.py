"""Device certificate pins, expiry, `[dps]`/`[privacy]` config errors (issue 8)."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from proxier.config import ConfigError, from_dict
from proxier.dp import certs
from proxier.dp.pins import PinStore
from proxier.upnp.tls import PinError, dp_identity, ensure_identity


def _der(path: Path) -> bytes:
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return cert.public_bytes(serialization.Encoding.DER)


def test_first_certificate_pinned_then_a_changed_one_refused(tmp_path: Path) -> None:
    a = ensure_identity(tmp_path / "a", "a", server=True)
    b = ensure_identity(tmp_path / "b", "b", server=True)
    store = PinStore(tmp_path / "pins.json")
    store.checker("uuid:d")(a.leaf_der)
    again = PinStore(tmp_path / "pins.json")  # persisted
    assert again.get("uuid:d") == dp_identity(a.leaf_der)
    with pytest.raises(PinError, match="device certificate changed"):
        again.checker("uuid:d")(b.leaf_der)
    again.forget("uuid:d")  # `proxier devices trust`
    again.checker("uuid:d")(b.leaf_der)


def test_expired_device_certificate_refused_even_without_pinning(tmp_path: Path) -> None:
    ca, key = certs.make_ca(tmp_path / "ca")
    old = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=10)
    issued = certs.issue(ca, key, tmp_path / "dev", "dev", server=True, days=1, not_before=old)
    store = PinStore(tmp_path / "pins.json")
    with pytest.raises(PinError, match="expired"):
        store.checker("uuid:d", pinning=False)(_der(issued.chain))
    with pytest.raises(PinError, match="not a TLS connection"):
        store.checker("uuid:d")(None)


@pytest.mark.parametrize(
    ("section", "key"),
    [
        (
            {"dps": {"certificate": "/nonexistent.pem", "key": "/nonexistent.key"}},
            "dps.certificate",
        ),
        ({"dps": {"certificate": "/etc/hostname"}}, "dps.key"),
        ({"dps": {"device_ca": "/nonexistent-ca.pem"}}, "dps.device_ca"),
        ({"dps": {"login": [{"match": "*"}]}}, "dps.login[0].name"),
        ({"privacy": {"mode": "ask"}}, "privacy.mode"),
        ({"upnp": {"client_cert": "/nonexistent.pem", "client_key": "/x"}}, "upnp.client_cert"),
        ({"dps": {"certificate": "/etc/hostname", "key": "/etc/hostname"}}, "dps.certificate"),
    ],
)
def test_bad_dps_or_privacy_config_names_the_key(section: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_dict({"acs": {"url": "http://acs.example/"}, **section})
    assert err.value.key == key


def test_default_privacy_mode_is_approve_and_logins_parse() -> None:
    """TR-330 §2.4: without a [privacy] mode, nothing is proxied before the user approves."""
    config = from_dict(
        {
            "acs": {"url": "http://acs.example/"},
            "dps": {
                "login": [{"match": "*", "name": "Administrator", "password": "hunter2-secret"}]
            },
        }
    )
    assert config.privacy.mode == "approve"
    assert config.dps.login[0].name == "Administrator"
    assert "hunter2" not in repr(config.dps), "passwords never reach logs"


def test_dps_key_must_match_certificate(tmp_path: Path) -> None:
    a = ensure_identity(tmp_path / "a", "a")
    b = ensure_identity(tmp_path / "b", "b")
    with pytest.raises(ConfigError) as err:
        from_dict(
            {
                "acs": {"url": "http://acs.example/"},
                "dps": {"certificate": str(a.chain), "key": str(b.key)},
            }
        )
    assert err.value.key == "dps.key" and "is not the key of" in err.value.problem
    ok = {"certificate": str(a.chain), "key": str(a.key)}
    assert from_dict({"acs": {"url": "http://acs.example/"}, "dps": ok}).dps.key == str(a.key)


async def test_reconnect_resumes_the_tls_session_and_still_checks_the_pin(
    tmp_path: Path,
) -> None:
    """Issue 8 'keep-alive and session reuse': a new connection to the same device resumes
    its TLS session; the device certificate is checked on the resumed session too."""
    import aiohttp

    from proxier.dp.pins import check_at_handshake
    from proxier.lab.dp import DpSettings
    from proxier.lab.server import LabServer
    from proxier.upnp.tls import client_ssl_context

    cp = ensure_identity(tmp_path / "cp", "cp")
    seen: list[bytes | None] = []
    context = client_ssl_context(cp)
    check_at_handshake(context, seen.append)
    reused: list[bool] = []
    async with LabServer(1, dps=DpSettings(state_dir=tmp_path / "lab")) as lab:
        url = lab.devices[0].secure_location
        for _ in range(3):
            async with aiohttp.ClientSession() as session:  # a new connection each time
                async with session.get(url, ssl=context) as response:
                    assert response.status == 200
                    # aiohttp lets go of a small body's connection at once: its protocol stays
                    transport = response._protocol.transport  # type: ignore[attr-defined]
                    reused.append(bool(transport.get_extra_info("ssl_object").session_reused))
                    await response.read()
    assert reused[1:] == [True, True], reused
    assert len(seen) == 3 and all(der for der in seen)
