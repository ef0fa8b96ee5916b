#!/usr/bin/env python3
"""Convert OpenWrt's /etc/config/proxier (UCI) into proxier's TOML config.

    uci2toml.py /etc/config/proxier > /var/etc/proxier.toml

A UCI section's type is the TOML table (`config acs` → `[acs]`), `option` a key, `list` a
list entry. Values are typed from proxier's own config schema (proxier.config), so `1`
becomes `true` for a flag and `3600` an integer; the result is validated like
`proxier run --check` validates a file, and any problem is one line naming the UCI line and
the key, with exit status 2.
"""

from __future__ import annotations

import dataclasses
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from proxier import config as schema

TRUE = ("1", "true", "yes", "on", "enabled")
FALSE = ("0", "false", "no", "off", "disabled")


class UciError(ValueError):
    pass


def _fields() -> dict[str, dict[str, str]]:
    """TOML table → key → its annotated type, read from the Config dataclasses."""
    hints: dict[str, dict[str, str]] = {}
    for section in dataclasses.fields(schema.Config):
        kind = getattr(schema, str(section.type).split(" ")[0], None)
        if kind is None or not dataclasses.is_dataclass(kind):
            continue
        hints[section.name] = {f.name: str(f.type) for f in dataclasses.fields(kind)}
    return hints


def _value(kind: str, text: str, where: str) -> Any:
    if kind == "bool":
        if text.lower() in TRUE:
            return True
        if text.lower() in FALSE:
            return False
        raise UciError(f"{where}: {text!r} is not a boolean (0/1)")
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        raise UciError(f"{where}: {text!r} is not a number") from None
    return text


def parse(text: str) -> dict[str, dict[str, Any]]:
    """UCI text → {table: {key: typed value}}."""
    hints = _fields()
    out: dict[str, dict[str, Any]] = {}
    section: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        try:
            words = shlex.split(raw, comments=True)
        except ValueError as exc:
            raise UciError(f"line {number}: {exc}") from None
        if not words or words[0] == "package":
            continue
        where = f"line {number}"
        if words[0] == "config":
            if len(words) < 2 or words[1] not in hints:
                known = ", ".join(hints)
                raise UciError(f"{where}: section type must be one of {known}")
            section = words[1]
            out.setdefault(section, {})
            continue
        if words[0] not in ("option", "list") or len(words) != 3:
            raise UciError(f"{where}: expected `option KEY 'VALUE'` or `list KEY 'VALUE'`")
        if section is None:
            raise UciError(f"{where}: {words[0]} before any `config` section")
        key, value = words[1], words[2]
        kind = hints[section].get(key)
        if kind is None:
            raise UciError(f"{where}: {section}.{key}: unknown key")
        where = f"{where}: {section}.{key}"
        if kind.startswith("tuple"):
            out[section].setdefault(key, []).append(value)
        elif words[0] == "list":
            raise UciError(f"{where}: is not a list; use `option`")
        else:
            out[section][key] = _value(kind, value, where)
    return out


def to_toml(data: dict[str, dict[str, Any]]) -> str:
    """TOML text (JSON string and number literals are valid TOML)."""
    lines = ["# generated from UCI by uci2toml.py; edit /etc/config/proxier instead"]
    for table, values in data.items():
        lines.append(f"\n[{table}]")
        for key, value in values.items():
            if isinstance(value, bool):
                lines.append(f"{key} = {'true' if value else 'false'}")
            else:
                lines.append(f"{key} = {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: uci2toml.py /etc/config/proxier > proxier.toml", file=sys.stderr)
        return 2
    path = Path(argv[0])
    try:
        data = parse(path.read_text(encoding="utf-8"))
        schema.from_dict(data)
    except OSError as exc:
        print(f"uci2toml: cannot read {path}: {exc.strerror}", file=sys.stderr)
        return 2
    except (UciError, schema.ConfigError) as exc:
        print(f"uci2toml: {path}: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(to_toml(data))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
