"""CWMP dotted paths ⇄ UPnP CMS slash paths (TR-330 §4.6.1).

TR-330 §4.6.1 lines the two syntaxes up: `Device.Hosts.Host.1.IPAddress` (parameter),
`Device.Hosts.Host.1.` (instance), `Device.Hosts.Host.` (multi-instance object) and
`Device.Hosts.` (single-instance object) are the same nodes as the slash paths with `/`
instead of `.`, under the device's root. Which UPnP node stands for `Device.` comes from
CMS::GetSupportedDataModels (mappings/roots.toml): a TR-181 SubTree at `/BBF/` makes
`/BBF/Hosts/Host/` the table `Device.Hosts.Host.`.

Instance segments are never computed: they go through the device's `InstanceStore`
(1-based CWMP numbers ⇄ 0-based sparse UPnP instances). CWMP 1.3 alias addressing
(`Device.Hosts.Host.[printer].IPAddress`) resolves through the same store.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from proxier.translate.facts import SharedFacts
from proxier.translate.instances import InstanceStore
from proxier.translate.tables import RootRule
from proxier.upnp.device import SupportedDataModel

_CWMP_SEGMENT = re.compile(r"[A-Za-z_][\w-]*|\d+|\[[^.\[\]]+\]")
_CWMP_NAME = re.compile(r"[A-Za-z_][\w-]*")
_UPNP_SEGMENT = re.compile(r"[A-Za-z_][\w]*|\d+")


class PathError(ValueError):
    """Not a path of this device's data model (the ACS sees 9005 Invalid parameter name)."""


class UnknownInstance(LookupError):
    """A CWMP instance (number or [alias]) the instance map does not know (yet).

    The caller refreshes `table` from the device (CMS::GetInstances) and retries; if it is still
    unknown the path is invalid.
    """

    def __init__(self, table: str, segment: str) -> None:
        super().__init__(f"{table}{segment}")
        self.table = table
        self.segment = segment


@dataclass(frozen=True, slots=True)
class Root:
    """One UPnP node that stands for one CWMP object (`/BBF/` ⇄ `Device.`)."""

    upnp: str  # absolute, ends with "/"
    cwmp: str  # ends with "."


def roots_from_models(
    models: Sequence[SupportedDataModel], rules: Sequence[RootRule]
) -> tuple[Root, ...]:
    """The roots a device's SupportedDataModels give, most specific CWMP prefix first."""
    found: dict[str, Root] = {}
    for model in models:
        location = model.location if model.location.endswith("/") else model.location + "/"
        for rule in rules:
            if not model.uri.startswith(rule.uri_prefix):
                continue
            if location.startswith(rule.location_base):
                root = Root(rule.location_base, rule.cwmp)
            else:
                root = Root(location, rule.cwmp)
            found.setdefault(root.cwmp, root)
            break
    return tuple(sorted(found.values(), key=lambda r: len(r.cwmp), reverse=True))


def is_instance(segment: str) -> bool:
    return segment.isdigit()


def is_alias(segment: str) -> bool:
    return segment.startswith("[")


def split_cwmp(path: str) -> tuple[list[str], bool]:
    """Segments of a CWMP path and whether it is partial (ends with '.')."""
    partial = path.endswith(".")
    body = path[:-1] if partial else path
    segments = body.split(".")
    if not body or not all(_CWMP_SEGMENT.fullmatch(s) for s in segments):
        raise PathError(f"malformed parameter name {path!r}")
    return segments, partial


def split_upnp(path: str) -> tuple[list[str], bool]:
    """Segments of an absolute UPnP path and whether it is partial (ends with '/')."""
    if not path.startswith("/"):
        raise PathError(f"not an absolute UPnP path {path!r}")
    partial = path.endswith("/")
    body = path[1:-1] if partial else path[1:]
    segments = body.split("/") if body else []
    if not all(_UPNP_SEGMENT.fullmatch(s) for s in segments):
        raise PathError(f"malformed UPnP path {path!r}")
    return segments, partial


class PathTranslator:
    """Translates paths of one device, given its roots and its instance map."""

    def __init__(self, roots: Sequence[Root], instances: InstanceStore) -> None:
        self.roots = tuple(sorted(roots, key=lambda r: len(r.cwmp), reverse=True))
        self._by_upnp = tuple(sorted(roots, key=lambda r: len(r.upnp), reverse=True))
        self.instances = instances
        # Translations already made; valid while no mapping went away (store generation).
        self._generation = instances.generation
        self._upnp_of: SharedFacts[str, str] = SharedFacts()  # shared between devices
        self._cwmp_of: SharedFacts[str, str] = SharedFacts()

    def _fresh(self) -> None:
        if self._generation != self.instances.generation:
            self._generation = self.instances.generation
            self._upnp_of.clear()
            self._cwmp_of.clear()

    def root_for_cwmp(self, path: str) -> Root | None:
        for root in self.roots:
            if path.startswith(root.cwmp):
                return root
        return None

    def root_for_upnp(self, path: str) -> Root | None:
        for root in self._by_upnp:
            if path.startswith(root.upnp):
                return root
        return None

    def to_upnp(self, path: str) -> str:
        """The UPnP path of a CWMP path; raises PathError or UnknownInstance."""
        self._fresh()
        known = self._upnp_of.get(path)
        if known is not None:
            return known
        upnp = self._to_upnp(path)
        if len(self._upnp_of) < 100_000:
            self._upnp_of[path] = upnp
        return upnp

    def _to_upnp(self, path: str) -> str:
        root = self.root_for_cwmp(path)
        if root is None:
            raise PathError(f"{path!r} is not in the device's data model")
        rest = path[len(root.cwmp) :]
        if not rest:
            return root.upnp
        segments, partial = split_cwmp(rest)
        for prev, seg in zip([".", *segments], segments, strict=False):
            if (is_instance(seg) or is_alias(seg)) and not _CWMP_NAME.fullmatch(prev):
                raise PathError(f"instance segment in the wrong place in {path!r}")
        out: list[str] = []
        for seg in segments:
            if is_instance(seg) or is_alias(seg):
                table = root.upnp + "/".join(out) + "/"
                if is_alias(seg):
                    number = self.instances.by_alias(table, seg[1:-1])
                else:
                    number = int(seg)
                upnp = None if number is None else self.instances.upnp_for(table, number)
                if upnp is None:
                    raise UnknownInstance(table, seg)
                out.append(str(upnp))
            else:
                out.append(seg)
        # Interned: devices of one model translate the same names (caches share them).
        return sys.intern(root.upnp + "/".join(out) + ("/" if partial else ""))

    def to_cwmp(self, path: str) -> str:
        """The CWMP path of a UPnP path, giving new instances the next CWMP numbers."""
        return self.to_cwmp_many([path])[0]

    def to_cwmp_many(self, paths: Iterable[str]) -> list[str]:
        """Translate many UPnP paths; new instances are numbered in ascending UPnP order."""
        self._fresh()
        paths = list(paths)
        cached = [self._cwmp_of.get(p) for p in paths]
        if all(c is not None for c in cached):
            return [c for c in cached if c is not None]
        out = self._to_cwmp_many(paths)
        if len(self._cwmp_of) < 100_000:
            self._cwmp_of.update(zip(paths, out, strict=True))
        return out

    def _to_cwmp_many(self, paths: Sequence[str]) -> list[str]:
        parsed: list[tuple[Root, list[str], bool]] = []
        new: dict[str, set[int]] = {}
        for path in paths:
            root = self.root_for_upnp(path)
            if root is None:
                raise PathError(f"{path!r} is outside the device's data models")
            segments, partial = split_upnp("/" + path[len(root.upnp) :])
            parsed.append((root, segments, partial))
            for i, seg in enumerate(segments):
                if is_instance(seg):
                    table = root.upnp + "".join(s + "/" for s in segments[:i])
                    if self.instances.cwmp_for(table, int(seg)) is None:
                        new.setdefault(table, set()).add(int(seg))
        # Parents before children, so nested tables are keyed by mapped parent rows.
        for table in sorted(new, key=len):
            self.instances.allocate(table, new[table])
        out = []
        for root, segments, partial in parsed:
            cw: list[str] = []
            for i, seg in enumerate(segments):
                if is_instance(seg):
                    table = root.upnp + "".join(s + "/" for s in segments[:i])
                    number = self.instances.cwmp_for(table, int(seg))
                    assert number is not None
                    cw.append(str(number))
                else:
                    cw.append(seg)
            tail = ".".join(cw)
            if tail and partial:
                tail += "."
            out.append(sys.intern(root.cwmp + tail))  # shared across devices (see _to_upnp)
        return out


def table_of(upnp_instance_path: str) -> tuple[str, int]:
    """Split `/BBF/Hosts/Host/3/` (or without the slash) into (`/BBF/Hosts/Host/`, 3)."""
    body = upnp_instance_path.rstrip("/")
    table, _, number = body.rpartition("/")
    if not number.isdigit():
        raise PathError(f"{upnp_instance_path!r} is not an instance path")
    return table + "/", int(number)
