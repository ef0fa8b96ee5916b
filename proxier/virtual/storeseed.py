"""A new virtual device's store file starts as a copy of an empty one (issue 13, bootstrap).

Every new virtual device gets its own private sqlite file (`DeviceStore` + the instance map
in it). Creating one from nothing runs some twenty CREATE TABLE/INDEX statements, a journal
mode switch and the first WAL commits: ~3.9 ms of CPU per device, a tenth of a fleet's
bootstrap. Every new file is the same empty schema, so the process builds one such file
once (the real `DeviceStore` and `InstanceStore` code, in a scratch directory), keeps its
bytes, and writes them as each new device's file; the stores then open it as an existing
file (their CREATE … IF NOT EXISTS find everything there): ~1 ms.

Durability is the same as a store created in place (docs/architecture.md, "Durability
promised"): the bytes are in the file before any state is written to it, so a kill -9 finds
a complete file; after a power loss a new file that was never synced may come back empty,
and an empty file is a new store again. Never used on an existing file.
"""

from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

from proxier.cwmp.store import DeviceStore
from proxier.dbfile import private_dir
from proxier.translate.instances import InstanceStore


@functools.cache
def empty_store() -> bytes:
    """The bytes of a freshly created, closed device store (schema only, WAL mode)."""
    with tempfile.TemporaryDirectory(prefix="proxier-store-") as scratch:
        path = Path(scratch) / "cwmp.sqlite"
        store = DeviceStore(path)
        InstanceStore(store.database)
        store.close()  # checkpoints: everything is in the main file
        return path.read_bytes()


def seed(path: Path) -> None:
    """Create `path` (0600, in a 0700 directory) as an empty device store, unless it exists."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return
    try:
        data = memoryview(empty_store())
        while data:
            data = data[os.write(fd, data) :]
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)  # never leave a half-written store behind
        raise
    os.close(fd)
