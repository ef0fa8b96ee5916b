"""`proxier labacs serve` and its client commands, as a user runs them."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from proxier.cwmp import rpc
from proxier.cwmp.http import HttpSettings
from tests.labacs.cpe import DEVICE_ID, run_session


async def _run(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "proxier",
        "labacs",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[str]:
    db = tmp_path / "acs.sqlite"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "proxier",
        "labacs",
        "serve",
        "--port",
        "0",
        "--db",
        str(db),
        "--username",
        "cpe",
        "--password",
        "pw",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
    url = line.split()[3]
    try:
        yield url
    finally:
        proc.terminate()
        await proc.wait()
    assert db.stat().st_mode & 0o777 == 0o600


async def test_serve_and_drive(served: str) -> None:
    """The CLI lists devices, shows one, and queues a task against a running lab ACS."""
    base = served.rstrip("/")
    assert served.startswith("http://127.0.0.1:")
    code, out, _ = await _run("devices", "--url", base)
    assert code == 0 and json.loads(out) == []
    await run_session(HttpSettings(served, "cpe", "pw"), lambda request: None)
    code, out, _ = await _run("device", "--url", base, DEVICE_ID)
    assert code == 0 and json.loads(out)["lastInform"]["events"] == [["1 BOOT", ""]]
    task = json.dumps({"name": "Reboot", "commandKey": "cli"})
    code, out, _ = await _run("task", "--url", base, DEVICE_ID, task)
    assert code == 0
    queued = json.loads(out)
    assert queued["status"] == "pending" and queued["name"] == "Reboot"
    received = await run_session(HttpSettings(served, "cpe", "pw"), lambda r: rpc.RebootResponse())
    assert received[1] == rpc.Reboot("cli")
    code, out, _ = await _run("tasks", "--url", base, DEVICE_ID)
    assert [t["status"] for t in json.loads(out)] == ["done"]


async def test_cli_errors_are_one_line(served: str) -> None:
    """Bad input: a clear message and a non-zero exit, no traceback."""
    base = served.rstrip("/")
    code, _, err = await _run("device", "--url", base, "nobody")
    assert code == 1 and "404" in err and "Traceback" not in err
    code, _, err = await _run("task", "--url", base, "x", "{not json")
    assert code == 2 and "bad task" in err
    code, _, err = await _run("devices", "--url", "http://127.0.0.1:9")
    assert code == 1 and "cannot reach" in err and "Traceback" not in err
