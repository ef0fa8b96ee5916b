"""Loader for the recorded GenieACS 1.2.16 session (../shared/fixtures/*.yaml), stdlib only.

The file is a stream of YAML documents in one simple shape: top-level `key: value` pairs,
one nested mapping (`headers`), double-quoted or plain scalars, `null`, and bodies as folded
block scalars (`>-`). This reads exactly that subset and fails loudly on anything else, so
PyYAML is not needed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

FIXTURE = Path("/work/shared/fixtures/genieacs-1.2.16-session.yaml")


@dataclass
class TraceEvent:
    """One recorded HTTP message as GenieACS logged it."""

    event: str  # "incoming HTTP request", "outgoing HTTP response", …
    fields: dict[str, str | None] = field(default_factory=dict)
    headers: dict[str, str | None] = field(default_factory=dict)
    body: str | None = None

    @property
    def from_cpe(self) -> bool:
        """A POST from the CPE to the ACS (CWMP session traffic)."""
        return self.event == "incoming HTTP request"

    @property
    def from_acs(self) -> bool:
        """The ACS's HTTP response to a CPE POST (Connection Requests are "outgoing HTTP
        request" / "incoming HTTP response" and belong to neither side here)."""
        return self.event == "outgoing HTTP response"


def _scalar(text: str) -> str | None:
    text = text.strip()
    if text == "null":
        return None
    if text.startswith('"'):
        value = json.loads(text)  # YAML double-quoted escapes used here are JSON's
        if not isinstance(value, str):
            raise ValueError(f"unexpected scalar {text!r}")
        return value
    if text.startswith(("'", ">", "|", "{", "[", "&", "*", "!")):
        raise ValueError(f"unsupported YAML scalar {text!r}")
    return text


def _fold(lines: list[str]) -> str:
    """A `>-` block: line breaks between text lines become spaces, each empty line a newline,
    final line break stripped."""
    out = ""
    pending_newlines = 0
    for index, line in enumerate(lines):
        if line == "":
            pending_newlines += 1
            continue
        if index and out:
            out += "\n" * pending_newlines if pending_newlines else " "
        pending_newlines = 0
        out += line
    return out


def load_trace(path: Path = FIXTURE) -> list[TraceEvent]:
    events: list[TraceEvent] = []
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    current: TraceEvent | None = None
    while i < len(lines):
        line = lines[i]
        if line == "---":
            current = TraceEvent(event="")
            events.append(current)
            i += 1
            continue
        if line.strip() == "":
            i += 1
            continue
        if current is None or line.startswith(" ") or ":" not in line:
            raise ValueError(f"line {i + 1}: unexpected {line!r}")
        key, _, rest = line.partition(":")
        rest = rest.strip()
        i += 1
        if rest == ">-":
            block: list[str] = []
            while i < len(lines) and (lines[i].startswith("  ") or lines[i] == ""):
                if lines[i].startswith("   "):
                    raise ValueError(f"line {i + 1}: more-indented folded lines unsupported")
                block.append(lines[i][2:])
                i += 1
            while block and block[-1] == "":
                block.pop()
            current.body = _fold(block)
        elif rest == "":
            while i < len(lines) and lines[i].startswith("  "):
                hkey, _, hvalue = lines[i].strip().partition(":")
                current.headers[hkey] = _scalar(hvalue)
                i += 1
        elif key == "event":
            current.event = _scalar(rest) or ""
        elif key == "body":
            current.body = _scalar(rest)
        else:
            current.fields[key] = _scalar(rest)
    return events
