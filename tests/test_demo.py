"""`proxier demo` as a new user runs it (issue 11 "Smaller fixes"): it prints next steps
and leaves no temporary folder behind, whether it ends by itself or by Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path


def _env(tmp: Path) -> dict[str, str]:
    return {**os.environ, "TMPDIR": str(tmp)}


def test_demo_prints_next_steps_and_removes_its_folder(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "proxier", "demo", "--devices", "1"],
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(tmp_path),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "== next steps" in proc.stdout
    assert "proxier demo --serve" in proc.stdout
    assert list(tmp_path.iterdir()) == []
    assert "Traceback" not in proc.stderr and "Unclosed" not in proc.stderr


def test_demo_serve_interrupted_removes_its_folder(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "proxier", "demo", "--devices", "1", "--serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(tmp_path),
    )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        while "== next steps" not in proc.stdout.readline():
            assert time.monotonic() < deadline and proc.poll() is None
        assert "proxier-demo-" in [p.name[:13] for p in tmp_path.iterdir()]
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout:
            proc.stdout.close()
    assert list(tmp_path.iterdir()) == []
