"""proxier.dbfile: every store's file is private and its writes are all-or-nothing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from proxier.dbfile import immediate, open_private_db


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_state_file_and_directory_are_owner_only(tmp_path: Path) -> None:
    """Brief ("state files are private"): a store's directory is 0700 and its file 0600."""
    db = open_private_db(tmp_path / "state" / "x.sqlite")
    db.close()
    assert mode(tmp_path / "state") == 0o700
    assert mode(tmp_path / "state" / "x.sqlite") == 0o600


def test_user_named_file_leaves_its_directory_alone(tmp_path: Path) -> None:
    """A file named on the command line (the lab ACS --db) is private; the user's directory
    keeps its permissions."""
    os.chmod(tmp_path, 0o755)
    db = open_private_db(tmp_path / "acs.sqlite", private_parent=False)
    db.close()
    assert mode(tmp_path) == 0o755
    assert mode(tmp_path / "acs.sqlite") == 0o600


def test_immediate_commits_all_or_nothing(tmp_path: Path) -> None:
    """A failure inside a transaction leaves no partial write behind (kill -9 safety relies
    on the same all-or-nothing commit)."""
    db = open_private_db(tmp_path / "t.sqlite")
    db.execute("CREATE TABLE t (v INTEGER)")
    with immediate(db):
        db.execute("INSERT INTO t VALUES (1)")
    with pytest.raises(RuntimeError), immediate(db):
        db.execute("INSERT INTO t VALUES (2)")
        raise RuntimeError("boom")
    assert [row[0] for row in db.execute("SELECT v FROM t")] == [1]
    db.close()
