"""Process tuning for a server that reads many small socket messages.

asyncio reads a socket with ``recv(256 KiB)``: CPython allocates a 256 KiB buffer and
shrinks it to the few bytes an AGI answer has. With glibc's default allocator settings a
block that size comes from ``mmap`` and goes through ``mremap`` and ``munmap``: three
system calls per read, about a fifth of a FastAGI server's CPU per call
(``pln123 bench agi``). glibc raises its threshold by itself only after a large block
is freed, which depends on what the process happened to import. Setting the thresholds
once makes the cost go away for good, and the benchmark gives the same setting to the
bare handler it compares with.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging

log = logging.getLogger(__name__)

#: glibc's ``mallopt`` parameters (malloc.h).
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
#: Blocks below this come from the heap, not from their own mmap.
MMAP_THRESHOLD = 1024 * 1024
#: Free memory at the top of the heap kept rather than given back at once.
TRIM_THRESHOLD = 4 * 1024 * 1024


def tune_allocator() -> bool:
    """Set glibc's mmap and trim thresholds; False where there is no glibc."""
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    if not done:
        log.info("allocator thresholds left at their defaults (mallopt refused)")
    return done
