"""The TOML configuration: the keys operators rely on (issue 2) and errors naming the key."""

from pathlib import Path

import pytest

from proxier.config import ConfigError, load

FULL = """
[acs]
url = "https://acs.example.net:7547/"
username = "cpe"
password = "s3cret"
periodic_inform_interval = 3600
[connection_request]
bind = "0.0.0.0"
port = 7548
host = "192.0.2.1"
[upnp]
interfaces = ["br-lan"]
search_interval = 300
description_urls = ["http://127.0.0.1:50000/dev/0/description.xml"]
[state]
dir = "/var/lib/proxier"
[log]
level = "info"
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "proxier.toml"
    p.write_text(text)
    return p


def test_documented_keys_load(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, FULL))
    assert cfg.acs.url == "https://acs.example.net:7547/"
    assert cfg.acs.username == "cpe"
    assert cfg.acs.verify_tls is True  # verification is on by default
    assert cfg.connection_request.port == 7548
    assert cfg.connection_request.host == "192.0.2.1"
    assert cfg.upnp.interfaces == ("br-lan",)
    assert cfg.upnp.description_urls == ("http://127.0.0.1:50000/dev/0/description.xml",)
    assert cfg.state.dir == "/var/lib/proxier"
    assert cfg.log.level == "info"


def test_password_not_in_repr(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, FULL))
    assert "s3cret" not in repr(cfg)


def test_minimal_config_uses_safe_defaults(tmp_path: Path) -> None:
    cfg = load(write(tmp_path, '[acs]\nurl = "http://127.0.0.1:7547/"\n'))
    assert cfg.connection_request.bind == "127.0.0.1"
    assert cfg.upnp.interfaces == ()  # no multicast unless asked for
    assert cfg.upnp.allow_lan_multicast is False


@pytest.mark.parametrize(
    ("text", "key", "fragment"),
    [
        ("[log]\nlevel='info'\n", "acs", "missing section"),
        ("[acs]\nusername='x'\n", "acs.url", "missing"),
        ("[acs]\nurl='ftp://x/'\n", "acs.url", "http/https URL"),
        (
            "[acs]\nurl='http://x/'\nperiodic_inform_interval='60'\n",
            "acs.periodic_inform_interval",
            "integer",
        ),
        (
            "[acs]\nurl='http://x/'\nperiodic_inform_interval=0\n",
            "acs.periodic_inform_interval",
            "between",
        ),
        (
            "[acs]\nurl='http://x/'\n[connection_request]\nport=70000\n",
            "connection_request.port",
            "between",
        ),
        (
            "[acs]\nurl='http://x/'\n[connection_request]\nbind='lan'\n",
            "connection_request.bind",
            "IP address",
        ),
        ("[acs]\nurl='http://x/'\n[upnp]\ninterfaces='br-lan'\n", "upnp.interfaces", "list"),
        (
            "[acs]\nurl='http://x/'\n[upnp]\nsearch_intervall=5\n",
            "upnp.search_intervall",
            "unknown key",
        ),
        ("[acs]\nurl='http://x/'\n[upnp]\nreturn_wait=0\n", "upnp.return_wait", "between"),
        ("[acs]\nurl='http://x/'\n[log]\nlevel='loud'\n", "log.level", "one of"),
        ("[acs]\nurl='http://x/'\n[acs2]\n", "acs2", "unknown section"),
        ("[acs]\nurl='http://x/'\nca_file='/nonexistent/ca.pem'\n", "acs.ca_file", "no such file"),
        ("[acs]\nurl='http://x/'\n[proxier]\noui='00d09e'\n", "proxier.oui", "hex"),
    ],
)
def test_bad_config_names_key(tmp_path: Path, text: str, key: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as exc:
        load(write(tmp_path, text))
    assert exc.value.key == key
    assert fragment in str(exc.value)


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(write(tmp_path, "[acs\nurl="))


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "nope.toml")


def test_session_rate_defaults_to_unlimited_and_takes_a_number(tmp_path: Path) -> None:
    """Issue 13: acs.session_rate (sessions per second) is 0 = unlimited unless set."""
    assert load(write(tmp_path, FULL)).acs.session_rate == 0.0
    shaped = FULL.replace("[acs]\n", "[acs]\nsession_rate = 2.5\nmax_parallel_sessions = 4\n")
    cfg = load(write(tmp_path, shaped))
    assert cfg.acs.session_rate == 2.5
    assert cfg.acs.max_parallel_sessions == 4


@pytest.mark.parametrize("value", ["-1", '"fast"', "true"])
def test_bad_session_rate_names_the_key(tmp_path: Path, value: str) -> None:
    with pytest.raises(ConfigError) as err:
        load(write(tmp_path, FULL.replace("[acs]\n", f"[acs]\nsession_rate = {value}\n")))
    assert err.value.key == "acs.session_rate"


@pytest.mark.parametrize(
    ("section", "line", "key"),
    [
        ("connection_request", "rate_limit=0", "connection_request.rate_limit"),
        ("connection_request", "rate_window=0.5", "connection_request.rate_window"),
        ("acs", "allow_basic_over_http='yes'", "acs.allow_basic_over_http"),
        ("upnp", "max_devices=0", "upnp.max_devices"),
        ("upnp", "max_new_devices_per_minute=-1", "upnp.max_new_devices_per_minute"),
        ("upnp", "prune_offline_days=0", "upnp.prune_offline_days"),
    ],
)
def test_issue12_limits_validated_by_key(tmp_path: Path, section: str, line: str, key: str) -> None:
    """Issue 12 items 7, 9, 12: each new safety key is validated, the error naming it."""
    table = "" if section == "acs" else f"[{section}]\n"
    with pytest.raises(ConfigError) as exc:
        load(write(tmp_path, f"[acs]\nurl='http://x/'\n{table}{line}\n"))
    assert exc.value.key == key
