"""`proxier lab` as users run it: URLs on stdout, loopback only, clean stop on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import aiohttp


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "proxier",
        "lab",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def _run_lab(*args: str) -> tuple[asyncio.subprocess.Process, list[str]]:
    process = await _spawn(*args)
    assert process.stdout is not None
    urls = []
    async with asyncio.timeout(30):
        while len(urls) < 2:
            line = (await process.stdout.readline()).decode().strip()
            assert line, (await process.stderr.read()).decode() if process.stderr else "no output"
            urls.append(line)
    return process, urls


async def _lab_usage_error(*args: str) -> bytes:
    """Run `proxier lab ARGS` that must stop at once with exit 2 and nothing on stdout;
    its stderr."""
    process = await _spawn(*args)
    out, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2 and out == b"", err
    return err


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
    assert b"unknown keys serial" in await _lab_usage_error("--config", str(config))


async def test_cli_reports_a_missing_model_file(tmp_path: Path) -> None:
    config = tmp_path / "lab.toml"
    config.write_text(f'[[device]]\nmodel = "{tmp_path}/missing.json"\n')
    err = await _lab_usage_error("--config", str(config))
    assert b"missing.json" in err and b"Traceback" not in err


async def test_rule13_cli_services_flag_serves_only_bms_or_only_sms() -> None:
    """Issue 12 #13 (TR-330 §3.1: a DM device may support any one of BMS, CMS, SMS):
    `--services bms` describes and serves BasicManagement only; CMS answers 404; an unknown
    service name is a usage error (exit 2)."""
    process, urls = await _run_lab("--devices", "2", "--services", "bms")
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(urls[0]) as response:
                text = await response.text()
            base = urls[0].rsplit("/", 1)[0]
            async with session.get(f"{base}/cms.xml") as cms, session.get(f"{base}/bms.xml") as bms:
                assert (cms.status, bms.status) == (404, 200)
        assert "service:BasicManagement:2" in text
        assert "ConfigurationManagement" not in text and "SoftwareManagement" not in text
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    assert b"XYZ" in await _lab_usage_error("--services", "bms,xyz")


async def test_cli_refuses_zero_devices() -> None:
    """Issue 11: `lab --devices 0` is refused (a lab with nothing to serve is a mistake)."""
    err = await _lab_usage_error("--devices", "0")
    assert err.decode().strip() == "proxier lab: --devices must be between 1 and 10000"
