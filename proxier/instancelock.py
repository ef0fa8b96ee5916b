"""One proxier per state dir: an exclusive fcntl.flock on `<state.dir>/proxier.lock`.

Two daemons on one state dir would hand the ACS the same Connection Request URLs from two
servers and write the same per-device stores. The lock is released by the kernel when the
process dies (kill -9 included), so a stale file never blocks a restart; the file holds the
holder's pid for the refusal message.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

LOCK_NAME = "proxier.lock"


class InstanceLocked(RuntimeError):
    """Another process holds the state dir."""


class InstanceLock:
    def __init__(self, state_dir: str | Path) -> None:
        self.path = Path(state_dir) / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock or raise InstanceLocked naming the holder's pid."""
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise InstanceLocked(
                f"another proxier (pid {holder}) already runs on {self.path.parent}; "
                "stop it, or give this one its own state.dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd

    @staticmethod
    def holder(state_dir: Path) -> str | None:
        """The pid of the proxier holding this state dir's lock, or None (nothing created)."""
        path = Path(state_dir) / LOCK_NAME
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return os.read(fd, 32).decode(errors="replace").strip() or "?"
        finally:
            os.close(fd)
        return None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
