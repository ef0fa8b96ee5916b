"""Give the C heap's free pages back to the operating system after a burst (issue 13).

A bootstrap or a storm opens hundreds of device databases at once and fetches, parses and
answers hundreds of documents; sqlite and the HTTP/XML layers take that memory from the C
heap, and most of it is free again once the burst is over. glibc gives back on its own only
the free memory at the very top of the heap; the free chunks between memory still in use
stay in the process's RSS for good. Measured with 500 idle virtual devices: 17 MiB of the
heap was free after the bootstrap, and `malloc_trim(0)` returned 13 MiB of it (98 → 72 KiB
RSS per idle device).

`trim()` is cheap (milliseconds for a heap of tens of MiB) but not free, so it runs after a
burst, not on a timer: `proxier.dbfile` calls it once many device databases were released
(a burst is over), on its closer thread, after the closes. Other C libraries (musl, macOS)
have no `malloc_trim`: then `trim()` does nothing.
"""

from __future__ import annotations

import ctypes
import platform
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    if platform.libc_ver()[0] != "glibc":
        return None
    try:
        function = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_size_t]
    function.restype = ctypes.c_int
    trim: Callable[[int], int] = function
    return trim


_TRIM = _malloc_trim()


def available() -> bool:
    return _TRIM is not None


def trim() -> bool:
    """Return the free pages of every malloc arena to the OS; True if any were."""
    return bool(_TRIM(0)) if _TRIM is not None else False
