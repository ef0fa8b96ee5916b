"""GC policy of the resident daemon (proxier.gcpolicy, issue 13 storms): full collections
walk only what is new, and cyclic garbage among frozen objects is still collected."""

from __future__ import annotations

import asyncio
import gc
import weakref

from proxier.gcpolicy import GcFreezer


class Node:
    """A cycle: freed only by the cyclic GC, never by reference counting."""

    def __init__(self) -> None:
        self.me = self


async def test_full_collection_freezes_its_survivors_until_the_refresh() -> None:
    """Issue 13 (storms): after a full pass the survivors are frozen (later passes skip
    them); after `refresh` seconds they are unfrozen, so garbage among them is collected."""
    freezer = GcFreezer(refresh=0.2)
    try:
        node = Node()
        alive = weakref.ref(node)
        gc.collect()
        assert gc.get_freeze_count() > 0
        del node  # cyclic garbage now, but frozen: full passes leave it alone
        gc.collect()
        assert alive() is not None
        await asyncio.sleep(0.3)  # the refresh unfreezes
        gc.collect()
        assert alive() is None
        assert gc.get_freeze_count() > 0  # that pass froze its survivors again
    finally:
        freezer.close()
    assert gc.get_freeze_count() == 0
    gc.collect()
    assert gc.get_freeze_count() == 0  # closed: nothing frozen any more
