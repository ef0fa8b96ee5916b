"""Real processes for daemon tests: `proxier lab`, `proxier labacs serve`, `proxier run`.

Each is started as a user would (`python -m proxier …`), on loopback, and stopped by
signal; the daemon's stderr goes to a file the tests read (and grep for secrets).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.ports import free_port

PY = sys.executable


def proxier(*args: str, timeout: float = 60, **kw: object) -> subprocess.CompletedProcess[str]:
    """Run a short `proxier …` command to its end."""
    return subprocess.run(
        [PY, "-m", "proxier", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,  # type: ignore[call-overload]
    )


@contextmanager
def background(*args: str, stderr: Path | None = None) -> Iterator[subprocess.Popen[str]]:
    """A long-running `proxier …`; SIGTERM (then SIGKILL) when the block ends."""
    err = open(stderr, "w") if stderr else subprocess.DEVNULL
    proc = subprocess.Popen(
        [PY, "-m", "proxier", *args], stdout=subprocess.PIPE, stderr=err, text=True
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()
        if stderr:
            err.close()  # type: ignore[union-attr]


@contextmanager
def lab(devices: int = 1) -> Iterator[list[str]]:
    """`proxier lab --devices N`: its description URLs."""
    with background("lab", "--devices", str(devices)) as proc:
        assert proc.stdout is not None
        yield [proc.stdout.readline().strip() for _ in range(devices)]


@contextmanager
def labacs(*extra: str) -> Iterator[str]:
    """`proxier labacs serve` on an ephemeral port: its REST base URL."""
    with background("labacs", "serve", "--port", "0", "--db", ":memory:", *extra) as proc:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        cwmp = line.split()[3]
        yield cwmp.rstrip("/")


def write_config(path: Path, acs_url: str, urls: list[str], state: Path, **extra: str) -> Path:
    """A minimal daemon config on loopback; `extra` adds raw TOML lines per section."""
    cr = extra.pop("connection_request", "")
    log = extra.pop("log", "")
    path.write_text(
        f'[acs]\nurl = "{acs_url}"\nperiodic_inform_interval = 3600\n{extra.pop("acs", "")}\n'
        f"[connection_request]\nport = {free_port()}\n{cr}\n"
        f"[upnp]\ndescription_urls = {urls!r}\nprobe_interval = 0.5\n"
        f'[state]\ndir = "{state}"\n'
        f"[api]\nport = {free_port()}\n"
        f'[log]\nlevel = "info"\n{log}\n'
        '[privacy]\nmode = "auto"\n'  # these tests are about the daemon, not TR-330 §2.4
    )
    return path


def wait_for(path: Path, text: str, timeout: float = 30.0, after: int = 0) -> str:
    """Wait until `text` appears in the file (past offset `after`); the file's text."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text() if path.exists() else ""
        if text in content[after:]:
            return content
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not in {path}:\n{path.read_text() if path.exists() else ''}")


def kill(proc: subprocess.Popen[str], sig: int) -> None:
    os.kill(proc.pid, sig)
