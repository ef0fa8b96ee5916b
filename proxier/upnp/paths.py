"""CMS path syntax (upnp-dm.md §2.4): slash paths, partial paths, '#' structure paths.

`/UPnP/DM/DeviceInfo/` is a partial path (an object, ends with '/'); `/UPnP/DM/DeviceInfo/
SoftwareVersion` is a leaf. Multi-instance tables hold 0-based instance numbers
(`…/IPInterface/0/…`); a structure path puts '#' where the number goes. Node names must not
contain '.', '-' or '/' (CMS:2 §2.3.1.2 grammar as applied by one implementation; evidence
[I:1]). A malformed path is UPnP 701 Invalid Argument Syntax.
"""

from __future__ import annotations

from collections.abc import Sequence

from proxier.upnp.device import UpnpError

INVALID_ARGUMENT_SYNTAX = 701
WILDCARD = "#"
_FORBIDDEN = frozenset(".-/")


class PathSyntaxError(UpnpError):
    """A CMS path breaks the grammar: UPnP 701 Invalid Argument Syntax (§2.7)."""

    def __init__(self, description: str) -> None:
        super().__init__(INVALID_ARGUMENT_SYNTAX, description)


def is_partial(path: str) -> bool:
    """A partial path names an object (a whole subtree) and ends with '/'."""
    return path.endswith("/")


def is_instance_number(node: str) -> bool:
    """A canonical non-negative decimal instance number ("0", "17", not "01" or "+1")."""
    return node.isascii() and node.isdigit() and (node == "0" or not node.startswith("0"))


def split_path(path: str) -> tuple[str, ...]:
    """The node names of an absolute path, without the leading/trailing separators."""
    inner = path.strip("/")
    return tuple(inner.split("/")) if inner else ()


def join_path(nodes: Sequence[str], *, partial: bool) -> str:
    """Inverse of `split_path`: `("A", "B")` → "/A/B/" (partial) or "/A/B" (leaf)."""
    if not nodes:
        return "/"
    body = "/" + "/".join(nodes)
    return body + "/" if partial else body


def check_path(path: str, *, wildcards: bool = False, instances: bool = True) -> str:
    """Return `path` if it is a well-formed absolute CMS path, else raise PathSyntaxError.

    `wildcards` allows '#' in place of instance numbers (structure paths, GetValues
    content paths); `instances` allows concrete instance numbers. A leaf may not be '#'.
    """
    if not path.startswith("/"):
        raise PathSyntaxError(f"path must start with '/': {path[:120]!r}")
    if "//" in path:
        raise PathSyntaxError(f"empty node name in {path[:120]!r}")
    nodes = split_path(path)
    for node in nodes:
        if node == WILDCARD:
            if not wildcards:
                raise PathSyntaxError(f"'#' not allowed here: {path[:120]!r}")
        elif node.isdigit():
            if not instances:
                raise PathSyntaxError(f"instance number not allowed here: {path[:120]!r}")
            if not is_instance_number(node):
                raise PathSyntaxError(f"bad instance number {node!r} in {path[:120]!r}")
        elif not node or any(ch in _FORBIDDEN or ch.isspace() for ch in node):
            raise PathSyntaxError(f"bad node name {node!r} in {path[:120]!r}")
    if nodes and nodes[-1] == WILDCARD and not is_partial(path):
        raise PathSyntaxError(f"a leaf may not be '#': {path[:120]!r}")
    return path


def check_instance_path(path: str) -> str:
    """A concrete path (no '#'), as GetInstances returns and DeleteInstance takes."""
    return check_path(path, wildcards=False, instances=True)


def check_structure_path(path: str) -> str:
    """A structure path ('#' for instance numbers), as GetSupportedParameters takes/returns."""
    return check_path(path, wildcards=True, instances=False)


def structure_of(path: str) -> str:
    """The structure path of an instance path: every instance number becomes '#'."""
    nodes = tuple(WILDCARD if is_instance_number(n) else n for n in split_path(path))
    return join_path(nodes, partial=is_partial(path) or not nodes)


def matches(pattern: str, path: str) -> bool:
    """True when `path` is an instance of `pattern`, where '#' in `pattern` matches a number."""
    if is_partial(pattern) != is_partial(path):
        return False
    want, have = split_path(pattern), split_path(path)
    if len(want) != len(have):
        return False
    return all(
        w == h or (w == WILDCARD and is_instance_number(h)) for w, h in zip(want, have, strict=True)
    )


def is_under(path: str, prefix: str) -> bool:
    """True when `path` is `prefix` itself or lies in the subtree of partial path `prefix`."""
    if not is_partial(prefix):
        return path == prefix
    return path.startswith(prefix)


def parent_of(path: str) -> str:
    """The partial path of the object holding `path` ("/A/B/C" and "/A/B/C/" → "/A/B/")."""
    nodes = split_path(path)
    return join_path(nodes[:-1], partial=True)


def leaf_name(path: str) -> str:
    """The last node name ("/A/B/C" → "C", "/A/B/" → "B")."""
    nodes = split_path(path)
    return nodes[-1] if nodes else ""
