"""kill -9 of a proxier-like process in the middle of a session, then a restart: the
pending events reach the ACS exactly as TR-069 Table 7 requires (§3.7.1.5)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from proxier.cwmp.rpc import Inform
from tests.integration.harness import lab
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
DEVICE = "00D09E-VirtualBox-0001"


async def spawn(
    state: Path, acs_url: str, cr_port: int, booted: bool
) -> asyncio.subprocess.Process:
    """Start the child; its log goes to `<state>.log` so a failed start explains itself."""
    args = [str(state), acs_url, str(cr_port)] + (["--booted"] if booted else [])
    log_path = state.with_suffix(".log")
    with log_path.open("ab") as log_file:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.integration.cpe_child",
            *args,
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=log_file,
        )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 30)
    assert line == b"ready\n", log_path.read_text(errors="replace")[-3000:]
    return proc


async def test_kill9_mid_session_then_restart(tmp_path: Path) -> None:
    """Table 7: "1 BOOT" and "M Reboot" (with its CommandKey) are kept until an
    InformResponse confirms them. The process dies (SIGKILL) after sending that Inform but
    before the InformResponse; after a restart the next Inform carries exactly those two
    events, the session completes, and later Informs do not repeat them."""
    state = tmp_path / "device"
    cr_port = free_port()
    async with lab(tmp_path) as (acs, _):
        child = await spawn(state, acs.url, cr_port, booted=True)
        try:
            (boot,) = await acs.wait_informs(DEVICE, wait=20.0)
            assert boot["events"] == [["0 BOOTSTRAP", ""], ["1 BOOT", ""]]
            await acs.wait_for(lambda: not acs.in_session(DEVICE), 20.0)

            def after_reboot(inform: Inform) -> bool:
                return any(e.event_code == "M Reboot" for e in inform.event)

            acs.hold_inform = after_reboot
            task = await acs.queue_task(DEVICE, {"name": "Reboot", "commandKey": "rk-9"})
            assert task["connectionRequest"] == "ok"
            informs = await acs.wait_informs(DEVICE, after=boot["id"], count=2, wait=20.0)
            held = informs[1]
            assert sorted(held["events"]) == [["1 BOOT", ""], ["M Reboot", "rk-9"]]
            os.kill(child.pid, signal.SIGKILL)
            assert await child.wait() == -signal.SIGKILL
        finally:
            if child.returncode is None:
                child.kill()
                await child.wait()
        acs.release_held()

        child = await spawn(state, acs.url, cr_port, booted=False)
        try:
            (again,) = await acs.wait_informs(DEVICE, after=held["id"], wait=20.0)
            assert sorted(again["events"]) == [["1 BOOT", ""], ["M Reboot", "rk-9"]]
            await acs.wait_for(
                lambda: acs.store.sessions(DEVICE)[-1]["outcome"] == "completed", 20.0
            )
            assert acs.store.sessions(DEVICE)[-1]["outcome"] == "completed"
            task = await acs.queue_task(
                DEVICE,
                {"name": "GetParameterValues", "parameterNames": ["Device.DeviceInfo.UpTime"]},
            )
            done = await acs.wait_task(DEVICE, task["id"], 20.0)
            assert done is not None and done["status"] == "done"
            last = acs.store.informs(DEVICE)[-1]
            assert last["events"] == [["6 CONNECTION REQUEST", ""]]
        finally:
            child.kill()
            await child.wait()
