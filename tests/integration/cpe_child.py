"""A proxier-like child process for the kill -9 test: one virtual device (engine, store,
HTTP transport, Connection Request server on a fixed port) until it is killed. SIGUSR1
makes its device report `AUTONOMOUS` (a firmware update another control point made)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from pathlib import Path

from proxier.cwmp.connreq import ConnectionRequestServer
from proxier.cwmp.rpc import UNKNOWN_TIME, AutonomousTransferComplete, FaultStruct
from tests.integration.harness import make_cpe

AUTONOMOUS = AutonomousTransferComplete(
    "",
    "http://127.0.0.1:9/fw-2.0.bin",
    True,
    "1 Firmware Upgrade Image",
    0,
    "",
    FaultStruct(),
    UNKNOWN_TIME,
    UNKNOWN_TIME,
)


async def main(state: Path, acs_url: str, cr_port: int, booted: bool) -> None:
    async with ConnectionRequestServer(port=cr_port) as crs:
        cpe = make_cpe(state, acs_url, crs)
        cpe.runner.start(booted=booted)
        asyncio.get_running_loop().add_signal_handler(
            signal.SIGUSR1, cpe.backend.autonomous_transfer_external, AUTONOMOUS
        )
        print("ready", flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("state", type=Path)
    parser.add_argument("acs_url")
    parser.add_argument("cr_port", type=int)
    parser.add_argument("--booted", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    asyncio.run(main(args.state, args.acs_url, args.cr_port, args.booted))
