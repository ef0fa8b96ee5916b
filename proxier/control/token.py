"""The local API's bearer token: one random secret in the state dir, readable by its owner.

`proxier status --config FILE` reads the same file, so whoever may read the state dir may
use the API; nobody else can, even on a shared host.
"""

from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path

from proxier.dbfile import private_dir

TOKEN_FILE = "api-token"


def token_path(state_dir: str | Path) -> Path:
    return Path(state_dir) / TOKEN_FILE


def ensure_token(state_dir: str | Path) -> str:
    """The token, created (0600, atomically) on first use."""
    path = token_path(state_dir)
    try:
        return read_token(path)
    except FileNotFoundError:
        pass
    private_dir(path.parent)
    token = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(token + "\n")
    return token


def read_token(path: str | Path) -> str:
    return Path(path).read_text().strip()


def authorized(header: str, token: str) -> bool:
    """Is `header` ("Bearer <token>") the right token? (constant-time comparison)"""
    scheme, _, given = header.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip(), token)
