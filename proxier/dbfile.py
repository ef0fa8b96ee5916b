"""One way to open a private sqlite file: owner-only permissions, WAL, autocommit.

Every store of the proxier (CWMP device state, instance maps, the VirtualDevice registry, the
lab ACS) holds credentials or state that must survive kill -9, so all of them open their file
the same way: directory 0700, file 0600 created before sqlite touches it, WAL journal.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable by the owner only."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def open_private_db(
    path: str | Path, *, synchronous: str = "NORMAL", private_parent: bool = True
) -> sqlite3.Connection:
    """Open (creating it 0600 in a 0700 directory) a WAL sqlite database in autocommit mode.

    WAL with synchronous=NORMAL keeps every committed transaction across a process kill;
    FULL also across power loss. ":memory:" opens a private in-memory database.
    `private_parent=False` leaves the directory alone: a file a user names on the command
    line may sit in their working directory, which is not ours to lock down.
    """
    if str(path) == ":memory:":
        return sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    p = Path(path)
    if private_parent:
        private_dir(p.parent)
    os.close(os.open(p, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(p, 0o600)
    db = sqlite3.connect(p, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    return db


@contextmanager
def immediate(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction on an autocommit connection: all of it commits or none.

    BEGIN IMMEDIATE takes the write lock up front, so two writers never both read and then
    fail to upgrade."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
