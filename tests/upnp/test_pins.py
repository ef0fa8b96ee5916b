"""The one pin store (`proxier.upnp.pins`): the old TR-064 fingerprint file is taken in once
(issue 10 trust on first use, issue 8 pins) without overriding a pin the store already has."""

from __future__ import annotations

import hashlib
import json
import logging
import stat
from pathlib import Path

import pytest

from proxier.upnp.pins import PinStore
from proxier.upnp.tls import PinError, dp_identity


def test_old_tr064_pins_imported_once_existing_pin_wins(tmp_path: Path) -> None:
    """tr064-pins.json ({UDN: SHA-256 hex of the DER leaf}) becomes DP identities in the
    store (0600) and is removed; the same certificate then passes, another is refused."""
    cert_a, cert_b = b"certificate A", b"certificate B"
    old = tmp_path / "tr064-pins.json"
    old.write_text(
        json.dumps(
            {
                "uuid:a": hashlib.sha256(cert_a).hexdigest(),
                "uuid:both": hashlib.sha256(cert_a).hexdigest(),
            }
        )
    )
    store = PinStore(tmp_path / "dp" / "pins.json")
    store.check("uuid:both", cert_b)  # pinned here already: this one wins
    store.import_sha256(old)
    assert not old.exists()
    assert store.pins == {"uuid:a": dp_identity(cert_a), "uuid:both": dp_identity(cert_b)}
    saved = tmp_path / "dp" / "pins.json"
    assert json.loads(saved.read_text()) == store.pins
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    store.check("uuid:a", cert_a)
    with pytest.raises(PinError, match="device certificate changed"):
        store.check("uuid:a", cert_b)
    store.import_sha256(old)  # gone: nothing to do
    assert len(store.pins) == 2


def test_unreadable_old_pins_left_in_place_with_one_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A broken tr064-pins.json is not lost: one warning line, the file stays."""
    caplog.set_level(logging.WARNING)
    old = tmp_path / "tr064-pins.json"
    old.write_text('{"uuid:a": "not hex"}')
    store = PinStore(tmp_path / "pins.json")
    store.import_sha256(old)
    assert old.exists() and store.pins == {}
    lines = [r.getMessage() for r in caplog.records if "tr064-pins.json" in r.getMessage()]
    assert len(lines) == 1 and "left as it is" in lines[0]
