"""proxier.dbfile: every store's file is private and its writes are all-or-nothing."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from proxier import dbfile
from proxier.dbfile import PrivateDatabase, immediate, open_private_db


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


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_idle_databases_release_their_connections_and_reopen_with_their_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13 (memory, fds): past OPEN_DATABASES the least recently used connections close;
    the next use reopens them and every committed row is still there."""
    monkeypatch.setattr(dbfile.OPEN, "limit", 4)
    fds = open_fds()
    databases = [PrivateDatabase(tmp_path / f"{i}" / "db.sqlite") for i in range(20)]
    for i, database in enumerate(databases):
        with database.transaction():
            database.connection.execute("CREATE TABLE t (v INTEGER)")
            database.connection.execute("INSERT INTO t VALUES (?)", (i,))
    assert len(dbfile.OPEN) == 4
    dbfile.wait_released()  # released ones close off the loop
    assert open_fds() - fds <= 4 * 3  # file, -wal, -shm of the open ones only
    for i, database in enumerate(databases):
        assert database.connection.execute("SELECT v FROM t").fetchall() == [(i,)]
    for database in databases:
        database.close()
    assert len(dbfile.OPEN) == 0


def test_a_connection_inside_a_transaction_is_never_released(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13: opening other databases mid-transaction must not close (and so roll back)
    the one whose transaction is running; it commits whole."""
    monkeypatch.setattr(dbfile.OPEN, "limit", 1)
    busy = PrivateDatabase(tmp_path / "busy.sqlite")
    others = [PrivateDatabase(tmp_path / f"o{i}.sqlite") for i in range(3)]
    with busy.transaction():
        busy.connection.execute("CREATE TABLE t (v INTEGER)")
        for other in others:
            other.connection.execute("SELECT 1")
        busy.connection.execute("INSERT INTO t VALUES (1)")
    busy.release()
    assert busy.connection.execute("SELECT v FROM t").fetchall() == [(1,)]
    for database in (busy, *others):
        database.close()


async def test_connections_close_once_idle_on_one_shared_timer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 13 (idle memory): a connection unused for IDLE_RELEASE seconds is closed by
    the process's one sweep timer, with no further database activity; its data stays."""
    import asyncio

    monkeypatch.setattr(dbfile.OPEN, "idle", 0.05)
    database = PrivateDatabase(tmp_path / "idle.sqlite")
    with database.transaction():
        database.connection.execute("CREATE TABLE t (v INTEGER)")
        database.connection.execute("INSERT INTO t VALUES (7)")
    assert len(dbfile.OPEN) == 1
    for _ in range(100):
        await asyncio.sleep(0.02)
        if len(dbfile.OPEN) == 0:
            break
    assert len(dbfile.OPEN) == 0
    assert database.connection.execute("SELECT v FROM t").fetchall() == [(7,)]
    database.close()


def _sync_settings(db: PrivateDatabase) -> tuple[int, int]:
    connection = db.connection
    return (
        connection.execute("PRAGMA synchronous").fetchone()[0],
        connection.execute("PRAGMA wal_autocheckpoint").fetchone()[0],
    )


def test_a_new_wal_file_takes_its_first_commit_unsynced_then_normal(tmp_path: Path) -> None:
    """Issue 13 (bootstrap): the first commit into a WAL file the connection creates skips
    the header and directory fsyncs (synchronous=OFF, no checkpoint meanwhile); once the
    WAL holds frames the connection is back at synchronous=NORMAL, so the documented power
    loss promise (docs/architecture.md, "Durability promised") is unchanged."""
    path = tmp_path / "s" / "store.sqlite"
    db = PrivateDatabase(path)
    assert _sync_settings(db) == (0, 0)  # OFF, no auto-checkpoint: the WAL file is new
    with db.transaction():
        db.connection.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT, v TEXT)")
        db.connection.execute("INSERT INTO kv VALUES ('a', '1')")
    assert _sync_settings(db) == (1, dbfile.WAL_AUTOCHECKPOINT)  # NORMAL again
    db.release()
    dbfile.wait_released()
    assert not (tmp_path / "s" / "store.sqlite-wal").exists()  # checkpointed on close
    assert _sync_settings(db) == (0, 0)  # reopened: a new WAL file again
    db.connection.execute("INSERT INTO kv VALUES ('b', '2')")  # autocommit, unsynced
    db.close()  # settles first: the close's checkpoint syncs as ever
    again = PrivateDatabase(path)
    rows = again.connection.execute("SELECT k, v FROM kv ORDER BY k").fetchall()
    assert rows == [("a", "1"), ("b", "2")]
    assert again.connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    again.close()


def test_a_transaction_without_writes_keeps_the_new_wal_unsynced(tmp_path: Path) -> None:
    """A store opened on an existing file whose schema is all there commits nothing: the
    first frames (and the header fsync they would cost) come with the first real write."""
    path = tmp_path / "s" / "store.sqlite"
    db = PrivateDatabase(path)
    with db.transaction():
        db.connection.execute("CREATE TABLE t (x)")
    db.close()
    db = PrivateDatabase(path)
    with db.transaction():
        db.connection.execute("CREATE TABLE IF NOT EXISTS t (x)")  # nothing to write
    assert _sync_settings(db) == (0, 0)
    with db.transaction():
        db.connection.execute("INSERT INTO t VALUES (1)")
    assert _sync_settings(db)[0] == 1
    db.close()
