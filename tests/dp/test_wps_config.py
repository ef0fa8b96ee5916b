"""`[dps] introduction` and `[[dps.pin]]` (issue 9: names are a contract)."""

from __future__ import annotations

from typing import Any

import pytest

from proxier.config import ConfigError, DpsPin, from_dict
from proxier.dp.wps import pin_for

ACS = {"url": "http://acs.example/"}


def _dps(dps: dict[str, Any]) -> Any:
    return from_dict({"acs": ACS, "dps": dps}).dps


def test_issue9_introduction_defaults_to_none_and_accepts_pbc_and_pin() -> None:
    assert _dps({}).introduction == "none"
    assert _dps({"introduction": "pbc"}).introduction == "pbc"
    config = _dps({"introduction": "pin", "pin": [{"match": "lab-1", "pin": "12345670"}]})
    assert config.pin == (DpsPin("lab-1", "12345670"),)


@pytest.mark.parametrize(
    ("dps", "key"),
    [
        ({"introduction": "nfc"}, "dps.introduction"),
        ({"pin": [{"pin": "12345678"}]}, "dps.pin[0].pin"),  # bad checksum digit
        ({"pin": [{"pin": "1234567"}]}, "dps.pin[0].pin"),
        ({"pin": [{"pin": "12345670", "pni": "x"}]}, "dps.pin[0]"),
    ],
)
def test_issue9_bad_introduction_settings_name_the_key(dps: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as err:
        _dps(dps)
    assert key in str(err.value)


def test_issue9_dps_pin_matched_like_dps_login() -> None:
    pins = (DpsPin("*", "11111115"), DpsPin("Lab DM device 0", "12345670"))
    assert pin_for(pins, "uuid:a", "Lab DM device 0", "id") == "12345670"
    assert pin_for(pins, "uuid:b", "other", "id") == "11111115"
    assert pin_for((DpsPin("id-9", "12345670"),), "uuid:b", "other", "id-9") == "12345670"
    assert pin_for((), "uuid:b", "other", "id") is None
