"""Run every shell command of one Markdown document, in order, as a reader would.

Used by tests/test_docs_commands.py inside a private network namespace (`unshare -n`), so
the documents' fixed ports (7547, 7548, 7549, 8100) are free and nothing leaves the host.

- ```sh blocks are commands (a trailing backslash joins lines, a trailing `# comment` is
  dropped); `<!-- file: NAME -->` before a fenced block writes that block to NAME in the
  working directory before any command runs (a config the commands use);
  `<!-- not run: REASON -->` before a block skips it, with the reason.
- `make …` runs in the repository, everything else in a fresh working directory, with the
  virtualenv's `proxier` first on PATH.
- Long-running commands (`LONG_RUNNING`) are started in the background, as a reader would in
  another terminal, waited for until they print what says they are ready, and stopped with
  SIGTERM once the document's commands are done; they must then exit 0.
- `NOT_RUN` lists commands no test may run here, each with its reason.
Any other command must exit 0. Output: one line per command; exit status 1 on a failure.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIMEOUT = 120.0

#: command pattern → what its output shows once it is ready (None: give it 3 s).
LONG_RUNNING: dict[str, str | None] = {
    r"^proxier labacs serve\b": "lab ACS:",
    r"^proxier lab\b(?!acs)(?!.*--print-model)": "http://",
    r"^proxier run --config \S+$": "session ok",
    r"^proxier demo\b.*--serve": "next steps",
    r"^make bench\b": None,
}
#: command pattern → why it is not run by this test.
NOT_RUN: dict[str, str] = {
    r"^make test\b": "this test runs inside `make test` (recursion)",
    r"^ip netns exec\b": "needs the namespaces tests/lab/test_ssdp_netns.py creates for SSDP",
}


@dataclass
class Block:
    lang: str
    text: str
    file: str | None = None
    skip: str | None = None
    commands: list[str] = field(default_factory=list)


def blocks(markdown: str) -> list[Block]:
    out: list[Block] = []
    lines = markdown.splitlines()
    pending_file: str | None = None
    pending_skip: str | None = None
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        if m := re.fullmatch(r"<!--\s*file:\s*(\S+)\s*-->", line):
            pending_file = m[1]
        elif m := re.fullmatch(r"<!--\s*not run:\s*(.+?)\s*-->", line):
            pending_skip = m[1]
        elif line.startswith("```"):
            lang = line[3:].strip()
            body = []
            i += 1
            while i < len(lines) and not lines[i].strip().startswith("```"):
                body.append(lines[i])
                i += 1
            out.append(Block(lang, "\n".join(body) + "\n", pending_file, pending_skip))
            pending_file = pending_skip = None
        elif line and not line.startswith("<!--"):
            pending_file = pending_skip = None
        i += 1
    for block in out:
        if block.lang in ("sh", "bash", "shell", "console") and block.file is None:
            joined = block.text.replace("\\\n", " ")
            block.commands = [
                re.sub(r"\s+#\s[^'\"]*$", "", c.strip())
                for c in joined.splitlines()
                if c.strip() and not c.startswith("#")
            ]
    return out


def _match(table: dict[str, object], command: str) -> str | None:
    return next((p for p in table if re.search(p, command)), None)


def _wait_ready(proc: subprocess.Popen[bytes], log: Path, ready: str | None) -> str | None:
    """None when ready, else why not."""
    deadline = time.monotonic() + (3.0 if ready is None else TIMEOUT)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"exited early with {proc.returncode}"
        if ready is not None and ready in log.read_text(errors="replace"):
            return None
        time.sleep(0.1)
    return None if ready is None else f"never printed {ready!r}"


def _stop(entry: tuple[str, subprocess.Popen[bytes], Path], work: Path) -> bool:
    """SIGTERM to the command's process group; it must exit 0 (make: as SIGTERM left it)."""
    command, proc, log = entry
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    ok = proc.returncode == 0 or (command.startswith("make") and proc.returncode in (-15, 2))
    if ok:
        print(f"STOPPED {command}")
    else:
        print(f"FAIL (stop: {proc.returncode}) {command}\n{log.read_text()[-3000:]}")
    return ok


def run(document: Path, work: Path) -> int:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    background: list[tuple[str, subprocess.Popen[bytes], Path]] = []
    failed = 0
    try:
        found = blocks(document.read_text())
        for block in found:  # files first: a command may come before the file it reads
            if block.file:
                (work / block.file).write_text(block.text)
                print(f"FILE {block.file}")
        for block in found:
            for n, command in enumerate(block.commands):
                if block.skip:
                    print(f"NOT RUN ({block.skip}): {command}")
                    continue
                if (why := _match(NOT_RUN, command)) is not None:
                    print(f"NOT RUN ({NOT_RUN[why]}): {command}")
                    continue
                cwd = REPO if command.startswith("make ") else work
                long = _match(LONG_RUNNING, command.rstrip("& "))
                if long is not None or command.endswith("&"):
                    log = work / f"bg-{len(background)}-{n}.log"
                    proc = subprocess.Popen(
                        ["bash", "-c", "exec " + command.rstrip("& ")],
                        cwd=cwd,
                        env=env,
                        stdout=log.open("wb"),
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                    background.append((command, proc, log))
                    problem = _wait_ready(proc, log, LONG_RUNNING.get(long or "", None))
                    if problem:
                        failed += 1
                        print(f"FAIL {command}: {problem}\n{log.read_text()[-3000:]}")
                        return 1
                    print(f"STARTED {command}")
                    if LONG_RUNNING.get(long or "") is None:  # a time-boxed start: stop it now
                        _stop(background.pop(), work)
                    continue
                done = subprocess.run(
                    ["bash", "-c", command],
                    cwd=cwd,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=TIMEOUT,
                )
                if done.returncode != 0:
                    print(
                        f"FAIL ({done.returncode}) {command}\n{(done.stdout + done.stderr)[-3000:]}"
                    )
                    return 1
                print(f"OK {command}")
    finally:
        for entry in reversed(background):
            failed += not _stop(entry, work)
    return 1 if failed else 0


def main() -> int:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True, timeout=20)
    return run(Path(sys.argv[1]), Path(sys.argv[2]))


if __name__ == "__main__":
    sys.exit(main())
