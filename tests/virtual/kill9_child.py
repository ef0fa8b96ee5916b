"""A pre-warmed `proxier run` launcher (a fork server) for tests/virtual/test_kill9.py.

Importing the proxier takes most of a cold start (~0.7 s of CPU on the test machine) and the
test needs 100 restarts on 2 cores. This process imports everything once and never starts an
event loop; for each config path written on stdin it forks a child that runs
`proxier run --config FILE` (`proxier.cli.main`) from nothing but its state directory, and
reports on stdout "pid N" when the child starts and "exit N" once it has been reaped. The test
SIGKILLs children by pid. stdin closing ends the server.
"""

from __future__ import annotations

import os
import sys

import proxier.api
import proxier.daemon
from proxier.cli import main


def serve() -> int:
    assert proxier.api and proxier.daemon  # imported for their cost, before any fork
    out = sys.stdout
    for line in sys.stdin:
        config = line.strip()
        pid = os.fork()
        if pid == 0:
            devnull = os.open(os.devnull, os.O_RDWR)
            os.dup2(devnull, 0)
            os.dup2(devnull, 1)
            os._exit(main(["run", "--config", config]))
        print(f"pid {pid}", file=out, flush=True)
        os.waitpid(pid, 0)
        print(f"exit {pid}", file=out, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(serve())
