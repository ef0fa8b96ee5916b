"""Every shell command in README.md and docs/ works as written (issue 11 "Smaller fixes":
extract, run, check the exit code; long-running ones started, waited for and stopped).

Each document runs in tests/docs_runner.py inside a private network namespace
(`unshare -n`, loopback only): the documents' fixed ports are free there and nothing can
reach another host. The runner's LONG_RUNNING and NOT_RUN tables are the documented
allow-lists; `<!-- not run: REASON -->` before a block skips it with its reason.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.docs_runner import REPO, blocks
from tests.netns.fixtures import _unable
from tests.netns.harness import unavailable

DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]


def test_documents_have_commands() -> None:
    """The extraction finds the commands a reader sees (a broken parser would pass all)."""
    readme = [c for b in blocks((REPO / "README.md").read_text()) for c in b.commands]
    assert "make demo" in readme
    assert "proxier run --config proxier.toml --check" in readme
    lab = blocks((REPO / "docs" / "lab.md").read_text())
    assert any(b.file == "lab.toml" for b in lab)


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda p: p.name)
def test_every_command_runs(document: Path, tmp_path: Path) -> None:
    reason = unavailable() or (None if shutil.which("unshare") else "util-linux unshare missing")
    if reason is not None:
        _unable(reason)
    proc = subprocess.run(
        [
            "unshare",
            "-n",
            "--",
            sys.executable,
            "-m",
            "tests.docs_runner",
            str(document),
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "FAIL" not in proc.stdout
