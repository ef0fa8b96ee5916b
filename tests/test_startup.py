"""A failed start closes everything it opened (issue 11: "Failed starts clean up everything
they opened"; no "Unclosed client session" noise), and the "started" line names what runs
where without credentials."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.ports import free_port

SCRIPT = textwrap.dedent(
    """
    import asyncio, gc, sys, warnings
    warnings.simplefilter("always")
    from proxier.api import Proxier
    from proxier.config import from_dict

    async def main() -> None:
        config = from_dict({
            "acs": {"url": "http://127.0.0.1:9/"},
            "connection_request": {"port": int(sys.argv[2])},
            "upnp": {"description_urls": ["http://127.0.0.1:9/d.xml"]},
            "state": {"dir": sys.argv[1]},
            "api": {"port": 0},
        })
        proxier = Proxier(config)
        try:
            await proxier.start()
        except OSError as exc:
            print("start failed:", exc.errno)
        gc.collect()
        await asyncio.sleep(0.1)

    asyncio.run(main())
    gc.collect()
    """
)


def test_failed_start_leaves_nothing_open(tmp_path: Path) -> None:
    """The Connection Request port is taken: start() raises, and no aiohttp session,
    socket or sqlite file is left for the garbage collector to complain about."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", free_port()))
        busy.listen()
        proc = subprocess.run(
            [
                sys.executable,
                "-X",
                "dev",
                "-c",
                SCRIPT,
                str(tmp_path / "s"),
                str(busy.getsockname()[1]),
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "start failed: 98"
    assert "Unclosed" not in proc.stderr
    assert "ResourceWarning" not in proc.stderr, proc.stderr
