"""Reader for the recorded GenieACS 1.2.16 session (shared/fixtures/genieacs-1.2.16-session.yaml).

The file is a YAML stream of flat records (scalars, one `headers` mapping, a `>-` folded
body). PyYAML is not a project dependency, so this reads exactly that subset.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

FIXTURE = Path("/work/shared/fixtures/genieacs-1.2.16-session.yaml")
REPO_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "genieacs-1.2.16-session.yaml"


@dataclass
class Record:
    event: str
    fields: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None

    @property
    def status(self) -> int:
        return int(self.fields["statusCode"])


def _scalar(text: str) -> str | None:
    text = text.strip()
    if text == "null":
        return None
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('\\"', '"')
    return text


def _fold(lines: list[str]) -> str:
    """YAML folded scalar (`>-`): line breaks become spaces, empty lines become newlines."""
    out: list[str] = []
    pending_newlines = 0
    for line in lines:
        if not line.strip():
            pending_newlines += 1
            continue
        if out:
            out.append("\n" * pending_newlines if pending_newlines else " ")
        out.append(line)
        pending_newlines = 0
    return "".join(out)


def read_trace(path: Path | None = None) -> list[Record]:
    path = path or (REPO_FIXTURE if REPO_FIXTURE.exists() else FIXTURE)
    records: list[Record] = []
    for chunk in path.read_text(encoding="utf-8").split("\n---\n"):
        lines = chunk.strip("\n").split("\n")
        lines = [line for line in lines if line != "---"]
        record = Record(event="")
        i = 0
        while i < len(lines):
            line = lines[i]
            key, _, value = line.partition(":")
            if key == "headers":
                i += 1
                while i < len(lines) and lines[i].startswith("  "):
                    h, _, v = lines[i].strip().partition(":")
                    record.headers[h] = _scalar(v) or ""
                    i += 1
                continue
            if key == "body":
                if value.strip() in (">-", ">", "|", "|-"):
                    block: list[str] = []
                    i += 1
                    while i < len(lines) and (lines[i].startswith("  ") or not lines[i].strip()):
                        block.append(lines[i][2:])
                        i += 1
                    record.body = _fold(block)
                    continue
                record.body = _scalar(value)
            elif key == "event":
                record.event = value.strip()
            else:
                record.fields[key] = _scalar(value) or ""
            i += 1
        if record.event:
            records.append(record)
    return records


def sessions(records: list[Record]) -> list[list[Record]]:
    """The CWMP sessions: from each Inform POST up to and including the ACS's 204."""
    out: list[list[Record]] = []
    current: list[Record] | None = None
    for record in records:
        if record.event == "incoming HTTP request" and "<cwmp:Inform>" in (record.body or ""):
            current = []
        if current is None or (
            record.event.endswith("HTTP request") and record.event.startswith("outgoing")
        ):
            continue
        if record.event in ("incoming HTTP request", "outgoing HTTP response"):
            current.append(record)
            if record.event == "outgoing HTTP response" and record.status == 204:
                out.append(current)
                current = None
    return out
