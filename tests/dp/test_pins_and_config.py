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
        ({"dps": {"certificate": "/etc/hostname", "key": "/etc/hostname"}}, "dps.certificate"),
    ],
)
def test_bad_dps_or_privacy_config_names_the_key(section: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        from_dict({"acs": {"url": "http://acs.example/"}, **section})
    assert err.value.key == key


def test_default_privacy_mode_is_auto_and_logins_parse() -> None:
    config = from_dict(
        {
            "acs": {"url": "http://acs.example/"},
            "dps": {
                "login": [{"match": "*", "name": "Administrator", "password": "hunter2-secret"}]
            },
        }
    )
    assert config.privacy.mode == "auto"
    assert config.dps.login[0].name == "Administrator"
    assert "hunter2" not in repr(config.dps), "passwords never reach logs"
