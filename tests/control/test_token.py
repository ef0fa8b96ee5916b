"""Issue 11 "API access": the bearer token file and the non-loopback rule."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from proxier.config import ConfigError, from_dict
from proxier.control.token import authorized, ensure_token


def test_token_created_once_owner_only(tmp_path: Path) -> None:
    """Issue 11: a bearer token from the state dir, file mode 0600, stable across starts."""
    first = ensure_token(tmp_path / "state")
    assert len(first) >= 40
    path = tmp_path / "state" / "api-token"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert ensure_token(tmp_path / "state") == first
    assert authorized(f"Bearer {first}", first)
    assert not authorized(f"Bearer {first[:-1]}", first)
    assert not authorized(first, first)  # the scheme is required


def test_non_loopback_bind_without_token_refused() -> None:
    """Issue 11: a non-loopback API bind without a token is refused, naming the key."""
    with pytest.raises(ConfigError) as err:
        from_dict(
            {"acs": {"url": "http://acs.example"}, "api": {"bind": "0.0.0.0", "token": False}}
        )
    assert err.value.key == "api.token"
    config = from_dict({"acs": {"url": "http://acs.example"}, "api": {"token": False}})
    assert not config.api.token and config.api.bind == "127.0.0.1"
