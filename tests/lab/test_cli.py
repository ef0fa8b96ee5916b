"""`proxier lab` as users run it: URLs on stdout, loopback only, clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp


async def _run_lab(*args: str) -> tuple[asyncio.subprocess.Process, list[str]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "proxier",
        "lab",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    urls = []
    async with asyncio.timeout(30):
        while len(urls) < 2:
            line = (await process.stdout.readline()).decode().strip()
            assert line, (await process.stderr.read()).decode() if process.stderr else "no output"
            urls.append(line)
    return process, urls


async def test_cli_prints_description_urls_and_stops_on_sigterm(tmp_path: Path) -> None:
    """Issue 3: one description URL per line, on 127.0.0.1, exit 0 on SIGTERM."""
    config = tmp_path / "lab.toml"
    config.write_text(
        '[[device]]\nfriendly_name = "Kitchen"\nserial_number = "SN-KITCHEN"\n'
        '[[device]]\nudn = "uuid:11111111-2222-4333-8444-555555555555"\n'
    )
    process, urls = await _run_lab("--devices", "2", "--config", str(config))
    try:
        assert all(url.startswith("http://127.0.0.1:") for url in urls)
        assert "/dev/11111111-2222-4333-8444-555555555555/" in urls[1]
        async with aiohttp.ClientSession() as session:
            async with session.get(urls[0]) as response:
                text = await response.text()
        assert "<friendlyName>Kitchen</friendlyName>" in text
        assert "<serialNumber>SN-KITCHEN</serialNumber>" in text
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0


async def test_cli_rejects_a_bad_config(tmp_path: Path) -> None:
    config = tmp_path / "lab.toml"
    config.write_text('[[device]]\nserial = "x"\n')
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "proxier",
        "lab",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"unknown keys serial" in err and out == b""


async def test_cli_reports_a_missing_model_file(tmp_path: Path) -> None:
    config = tmp_path / "lab.toml"
    config.write_text(f'[[device]]\nmodel = "{tmp_path}/missing.json"\n')
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "proxier",
        "lab",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert b"missing.json" in err and b"Traceback" not in err and out == b""


async def test_cli_refuses_zero_devices() -> None:
    """Issue 11: `lab --devices 0` is refused (a lab with nothing to serve is a mistake)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "proxier",
        "lab",
        "--devices",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert out == b""
    assert err.decode().strip() == "proxier lab: --devices must be between 1 and 1000"
