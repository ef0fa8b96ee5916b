"""Which keys a SIGHUP applies and which wait for a restart (issue 11: "Document which keys
need a restart"; the README lists the same keys)."""

from __future__ import annotations

from pathlib import Path

from proxier.config import from_dict
from proxier.reload import RESTART_KEYS, effective

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_live_keys_applied_restart_keys_kept_and_named() -> None:
    old = from_dict({"acs": {"url": "http://127.0.0.1:1/"}, "upnp": {"description_urls": []}})
    new = from_dict(
        {
            "acs": {"url": "http://127.0.0.1:2/", "password": "x", "verify_tls": False},
            "upnp": {"description_urls": ["http://127.0.0.1:3/d.xml"], "interfaces": ["lo"]},
            "connection_request": {"port": 1234},
            "log": {"level": "debug"},
        }
    )
    kept, pending = effective(old, new)
    assert kept.acs.url == "http://127.0.0.1:2/" and kept.acs.password == "x"
    assert kept.upnp.description_urls == ("http://127.0.0.1:3/d.xml",)
    assert kept.log.level == "debug"
    assert kept.acs.verify_tls is True and kept.upnp.interfaces == ()
    assert kept.connection_request.port == old.connection_request.port
    assert pending == ["acs.verify_tls", "connection_request.port", "upnp.interfaces"]


def test_readme_names_every_restart_key() -> None:
    section = README[README.index("**Reload (SIGHUP).**") : README.index("**One instance")]
    for key in RESTART_KEYS:
        shown = f"`[{key}]`" if "." not in key else f"`{key}`"
        if key == "upnp.client_key":
            shown = "`upnp.client_cert`/`client_key`"
        assert shown in section.replace("\n", " "), key
