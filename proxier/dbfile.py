"""One way to open a private sqlite file: owner-only permissions, WAL, autocommit.

Every store of the proxier (CWMP device state, instance maps, the VirtualDevice registry, the
lab ACS) holds credentials or state that must survive kill -9, so all of them open their file
the same way: directory 0700, file 0600 created before sqlite touches it, WAL journal.

The proxier runs resident on a home gateway with hundreds of virtual devices, each with its
own database: `lean=True` trades sqlite's per-connection caches (page cache, prepared
statements) for re-reading pages from the OS page cache and re-preparing the rarer
statements. Both stores of one device share one `PrivateDatabase`.

Even lean, an open WAL connection costs ~90 KiB of RSS (the parsed schema, the mmapped
32 KiB -shm WAL index, the statement cache) and three file descriptors (file, -wal, -shm);
with 2,000 idle devices that was half the proxier's memory and 6,000 fds (issue 13). So a
`PrivateDatabase` holds its connection only while it is used: closed `IDLE_RELEASE` seconds
after its last use, the process keeps at most `OPEN_DATABASES` open (least recently used
closed first, never one inside a transaction) and reopens on the next access. Closing
checkpoints the WAL into the file; every committed transaction is on disk either way, so
kill -9 safety is unchanged.

What survives power loss is less (docs/architecture.md, "Durability promised"): a file stays
consistent but may lack its latest commits (synchronous=NORMAL), and a new store whose
switch to WAL was not synced may come back empty.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from proxier import memtrim

#: Prepared statements a lean connection keeps (Python's default is 128, ~3.5 KiB each).
#: A value change and its session run ~20 distinct statements: with 8 every one was
#: prepared again each time (store work per change 0.59 ms CPU, 0.37 ms with 32; issue 13
#: storms). Only open connections hold them: an idle device's is closed (IDLE_RELEASE).
LEAN_CACHED_STATEMENTS = 32

#: Connections of `PrivateDatabase`s a process keeps open at once (the busy devices': a
#: session, an event burst); each open one costs ~90 KiB and 3 fds.
OPEN_DATABASES = 256
#: Seconds a connection stays open after its last use. Reopening costs a connect and, in a
#: burst, the fsync of a new WAL file: a burst of 100 sessions reopening every store took
#: p99 3.3 s instead of 1.2 s with a strict LRU of 64. Idle devices are what must be cheap.
IDLE_RELEASE = 5.0
#: A burst is over when this many connections were released since the last trim and at
#: most `TRIM_BELOW` are still open: then the C heap's free pages go back (`memtrim`).
TRIM_AFTER = 32
TRIM_BELOW = 8
#: sqlite's default WAL auto-checkpoint (pages), restored after a WAL file's first commit.
WAL_AUTOCHECKPOINT = 1000


def _wal_path(path: Path) -> Path:
    return path.with_name(path.name + "-wal")


def private_dir(path: Path) -> Path:
    """Create `path` (and parents) readable by the owner only."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    return path


def open_private_db(
    path: str | Path,
    *,
    synchronous: str = "NORMAL",
    private_parent: bool = True,
    lean: bool = False,
) -> sqlite3.Connection:
    """Open (creating it 0600 in a 0700 directory) a WAL sqlite database in autocommit mode.

    WAL with synchronous=NORMAL keeps every committed transaction across a process kill;
    FULL also across power loss. ":memory:" opens a private in-memory database.
    `private_parent=False` leaves the directory alone: a file a user names on the command
    line may sit in their working directory, which is not ours to lock down.
    `lean=True`: no page cache beyond the pages a statement is using (set before the first
    read, so sqlite never allocates the default one) and a small statement cache; same
    durability, the pages come from the OS page cache instead.
    """
    statements = LEAN_CACHED_STATEMENTS if lean else 128
    if str(path) == ":memory:":
        return sqlite3.connect(
            ":memory:", isolation_level=None, check_same_thread=False, cached_statements=statements
        )
    p = Path(path)
    if private_parent:
        private_dir(p.parent)
    os.close(os.open(p, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(p, 0o600)
    fresh = p.stat().st_size == 0
    db = sqlite3.connect(
        p, isolation_level=None, check_same_thread=False, cached_statements=statements
    )
    if lean:
        db.execute("PRAGMA cache_size=0")
    if fresh:
        # Switching a new, empty file to WAL goes through a rollback journal: at sqlite's
        # default synchronous=FULL that is 4 fsyncs (journal twice, its directory, the file)
        # per new device, on the event loop during a bootstrap (issue 13). The file holds no
        # data yet: the OS has the header after a process kill; see the module docstring for
        # power loss.
        db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    return db


def _start_unsynced(db: sqlite3.Connection) -> None:
    """The connection is about to create its WAL file: no fsync until its first commit.

    sqlite syncs a new WAL file's header and its directory at the first commit into it
    (synchronous=NORMAL), ~2 fsyncs on the event loop for every new device store and
    every reopened one (issue 13). They guard a WAL file being reused over older frames; a
    file just created holds none. So the first commit runs at synchronous=OFF, with no
    checkpoint possible meanwhile (`wal_autocheckpoint=0`); `_settle` restores NORMAL
    before anything else can checkpoint. Power loss before the first checkpoint loses the
    WAL's commits, which synchronous=NORMAL never synced either: the file stays consistent.
    """
    db.execute("PRAGMA synchronous=OFF")
    db.execute("PRAGMA wal_autocheckpoint=0")


def _settle(db: sqlite3.Connection) -> None:
    """Back to the durable settings of `open_private_db` (see `_start_unsynced`)."""
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT}")


def _reopen(path: Path, lean: bool) -> sqlite3.Connection:
    """`open_private_db` again on a file it made: permissions and WAL mode persist."""
    statements = LEAN_CACHED_STATEMENTS if lean else 128
    db = sqlite3.connect(
        path, isolation_level=None, check_same_thread=False, cached_statements=statements
    )
    if lean:
        db.execute("PRAGMA cache_size=0")
    db.execute("PRAGMA synchronous=NORMAL")
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


class _OpenConnections:
    """The process's open `PrivateDatabase` connections, least recently used first.

    Released when unused for `idle` seconds (one process-wide timer on the running event
    loop, none per device) or, beyond `limit`, least recently used first."""

    def __init__(self, limit: int, idle: float) -> None:
        self.limit = limit
        self.idle = idle
        self._open: OrderedDict[int, tuple[PrivateDatabase, float]] = OrderedDict()
        self._timer: asyncio.TimerHandle | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.released = 0  # since the last trim

    def __len__(self) -> int:
        return len(self._open)

    def used(self, database: PrivateDatabase) -> None:
        key = id(database)
        now = time.monotonic()
        self._open[key] = (database, now)
        self._open.move_to_end(key)
        if len(self._open) > self.limit:
            for other, _ in list(self._open.values()):
                if len(self._open) <= self.limit:
                    break
                if other is not database and other.releasable:
                    other.release()
        if self._timer is None or self._loop is not asyncio._get_running_loop():
            self._arm()  # (the check first: this runs on every statement outside a transaction)

    def closed(self, database: PrivateDatabase) -> None:
        if self._open.pop(id(database), None) is not None:
            self.released += 1

    def sweep(self, now: float) -> None:
        """Release every connection unused since `now - idle`; after a burst, trim."""
        for other, last in list(self._open.values()):
            if last > now - self.idle:
                break  # the rest are newer
            if other.releasable:
                other.release()
        if self.released >= TRIM_AFTER and len(self._open) <= TRIM_BELOW:
            self.released = 0
            _CLOSER.submit(memtrim.trim)  # after the closes queued there

    def _arm(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a script, a test): only the limit applies
        if self._timer is not None and self._loop is loop:
            return
        self._loop = loop  # a timer of an earlier loop (closed) never fires: replaced
        self._timer = loop.call_later(self.idle, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        self.sweep(time.monotonic())
        if self._open:
            self._arm()


#: One per process: the cap is about the process's memory and file descriptors.
OPEN = _OpenConnections(OPEN_DATABASES, IDLE_RELEASE)
#: Released connections are closed here, one at a time, off the event loop.
_CLOSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="proxier-db-close")


def wait_released() -> None:
    """Block until every released connection is closed (tests, shutdown)."""
    _CLOSER.submit(lambda: None).result()


class PrivateDatabase:
    """One private WAL database that several stores of one owner share (one connection).

    `transaction()` nests: inner ones join the outermost, so writes of different stores
    (the CWMP engine's events, the instance map, the notification baseline) commit together
    or not at all. Stores that cache rows in memory register `on_rollback` to reload them
    when an outer transaction they joined is rolled back.

    The connection is opened on first use and may be closed between uses (see the module
    docstring): read `connection` each time, never keep it.
    """

    __slots__ = ("_connection", "_depth", "_lean", "_opened", "_reloads", "_unsynced", "path")

    def __init__(self, path: str | Path, *, lean: bool = True) -> None:
        self.path = Path(path)
        self._lean = lean
        self._connection: sqlite3.Connection | None = None
        #: the file exists, private and in WAL mode (persistent): a reopen skips all that
        self._opened = False
        self._depth = 0
        self._reloads: list[Callable[[], None]] = []
        self._unsynced = False  # the open connection's WAL file is new (`_start_unsynced`)
        _ = self.connection  # create the file now (0600), so a bad path fails here

    @property
    def connection(self) -> sqlite3.Connection:
        """The open connection (opened again if it was released)."""
        if self._connection is None:
            new_wal = str(self.path) != ":memory:" and not _wal_path(self.path).exists()
            self._connection = (
                _reopen(self.path, self._lean)
                if self._opened
                else open_private_db(self.path, lean=self._lean)
            )
            self._opened = True
            if new_wal:
                _start_unsynced(self._connection)
                self._unsynced = True
        if not self._depth:  # inside a transaction: touched once, when it ends
            OPEN.used(self)
        return self._connection

    @property
    def releasable(self) -> bool:
        """Not inside a transaction, and on a file (":memory:" would lose its contents)."""
        return self._depth == 0 and str(self.path) != ":memory:"

    def release(self) -> None:
        """Close the connection until the next use (nothing is lost: autocommit).

        The close runs on the closer thread: it checkpoints the WAL into the file with an
        fsync, milliseconds the event loop of 2,000 devices should not wait for."""
        connection, self._connection = self._connection, None
        OPEN.closed(self)
        if connection is not None:
            self._durable(connection)  # the close checkpoints: synced as ever
            _CLOSER.submit(connection.close)

    def close(self) -> None:
        """The owner is done with it: closed on the closer thread like a release (a stopping
        fleet's checkpoints do not hold up the event loop); `wait_released()` waits for it."""
        self.release()

    def _durable(self, connection: sqlite3.Connection) -> None:
        if self._unsynced:
            self._unsynced = False
            _settle(connection)

    def on_rollback(self, reload: Callable[[], None]) -> None:
        self._reloads.append(reload)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All writes inside commit together or not at all (nesting joins the outer one)."""
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        connection = self.connection
        self._depth = 1
        try:
            with immediate(connection):
                yield
        except BaseException:
            for reload in self._reloads:
                reload()
            raise
        finally:
            self._depth = 0
            if self._connection is not None:  # (not closed inside the transaction)
                OPEN.used(self)  # its last use: released IDLE_RELEASE after this
        if self._unsynced and _wal_path(self.path).stat().st_size:
            self._durable(connection)  # the WAL file's first frames are in: NORMAL again
