"""`SharedFacts`: a per-device cache of device facts (parameter types, access, EventOnChange,
path translations) whose settled content is shared by every device with the same content.

A fleet of devices of one model learns the same facts: with one dict per device they were
~9 KiB of each idle virtual device (issue 13). A `SharedFacts` keeps what it learns in a
small dict of its own; shortly afterwards (one process-wide timer, `SEAL_DELAY`) that is
merged into an immutable dict interned by content, so identical devices end up holding one
dict between them. A later write goes to the device's own dict again (copy on write), so
each device still sees exactly its own facts.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Hashable, Iterator, MutableMapping
from typing import Any, Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V", bound=Hashable)

#: Seconds between a write and the merge into the shared content (writes come in bursts:
#: one GetAttributes answer, one bootstrap).
SEAL_DELAY = 2.0


class _Frozen(dict):  # type: ignore[type-arg]
    """An interned content: never mutated once in the pool (weakly referenced by it)."""

    __slots__ = ("__weakref__",)


_EMPTY: _Frozen = _Frozen()
#: content → the one dict holding it, while some `SharedFacts` uses it
_POOL: weakref.WeakValueDictionary[frozenset[tuple[object, object]], _Frozen] = (
    weakref.WeakValueDictionary()
)


def _intern(content: dict[K, V]) -> dict[K, V]:
    if not content:
        return _EMPTY
    key = frozenset(content.items())
    shared = _POOL.get(key)
    if shared is None:
        shared = _Frozen(content)
        _POOL[key] = shared
    return shared


class _Sealer:
    """The maps written since the last sweep, and the one timer that seals them."""

    def __init__(self) -> None:
        # by id: a Mapping compares (and would hash) by content
        self.dirty: dict[int, SharedFacts[Any, Any]] = {}
        self._timer: asyncio.TimerHandle | None = None

    def mark(self, facts: SharedFacts[Any, Any]) -> None:
        self.dirty[id(facts)] = facts
        if self._timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop (a script, a test): sealed by `seal_all()` or not at all
        self._timer = loop.call_later(SEAL_DELAY, self.sweep)

    def sweep(self) -> None:
        self._timer = None
        dirty, self.dirty = self.dirty, {}
        for facts in dirty.values():
            facts.seal()


_SEALER = _Sealer()


def seal_all() -> None:
    """Seal every map written since the last sweep now (tests, tools)."""
    _SEALER.sweep()


class SharedFacts(MutableMapping[K, V], Generic[K, V]):
    """A dict-like cache; settled content is shared between equal maps (module docstring)."""

    __slots__ = ("__weakref__", "_base", "_own")

    def __init__(self) -> None:
        self._base: dict[K, V] = _EMPTY  # interned, shared: never written
        self._own: dict[K, V] | None = None  # written since the last seal

    @property
    def shared(self) -> bool:
        """True when everything is in the interned content (nothing of its own)."""
        return self._own is None

    def seal(self) -> None:
        own, self._own = self._own, None
        if own:
            self._base = _intern({**self._base, **own})

    def __getitem__(self, key: K) -> V:
        own = self._own
        if own is not None and key in own:
            return own[key]
        return self._base[key]

    def get(self, key: K, default: V | None = None) -> V | None:  # type: ignore[override]
        own = self._own
        if own is not None and key in own:
            return own[key]
        return self._base.get(key, default)

    def __contains__(self, key: object) -> bool:
        own = self._own
        return key in self._base or (own is not None and key in own)

    def __setitem__(self, key: K, value: V) -> None:
        own = self._own
        if own is None:
            if self._base.get(key, _MISSING) == value:
                return  # already so
            own = self._own = {}
            _SEALER.mark(self)
        own[key] = value

    def __delitem__(self, key: K) -> None:
        own = self._own
        if key in self._base:
            # copy on write: this map no longer shares its content
            if own is None:
                _SEALER.mark(self)
            own = self._own = {**self._base, **(own or {})}
            self._base = _EMPTY
        if own is None:
            raise KeyError(key)
        del own[key]

    def __iter__(self) -> Iterator[K]:
        if self._own is None:
            return iter(self._base)
        return iter({**self._base, **self._own})

    def __len__(self) -> int:
        own = self._own
        if own is None:
            return len(self._base)
        return len(self._base) + sum(1 for key in own if key not in self._base)

    def clear(self) -> None:
        self._base = _EMPTY
        self._own = None


_MISSING = object()
