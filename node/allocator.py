"""Keep freed memory for the next round instead of handing it back to the operating system.

A vectorized round of many feeds allocates numpy temporaries of a few hundred kilobytes each.
glibc's malloc serves blocks above its mmap threshold (128 KiB at first) with fresh `mmap`s
and trims the heap top whenever more than its trim threshold is free, so every round pays
for page faults on memory it just released: about a third of a 1,000-feed round on the
benchmark machine. Raising both thresholds keeps the memory in the heap for reuse; the
process then holds on to at most the trim threshold of free memory.
"""

from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
"""glibc's `mallopt` parameter numbers (malloc.h)."""

MMAP_THRESHOLD = 32 << 20
TRIM_THRESHOLD = 128 << 20


def keep_freed_memory(
    mmap_threshold: int = MMAP_THRESHOLD, trim_threshold: int = TRIM_THRESHOLD
) -> bool:
    """Raise glibc's mmap and trim thresholds; False where the C library has no `mallopt`
    (not glibc), which leaves the allocator as it was."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(
        mallopt(M_TRIM_THRESHOLD, trim_threshold)
    )
